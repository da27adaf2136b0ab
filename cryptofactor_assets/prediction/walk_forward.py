"""Walk-forward (out-of-sample) evaluation of next-week return forecasts on a coin-week panel.

Input: the ``feature_matrix`` in long format, one row per (``symbol``, ``week_start``) with feature
columns known at the end of that week and the target ``y_next`` (next week's excess return). The
direction target is derived here as ``y_up = 1{y_next > 0}`` so both targets always agree.

Folds are cut on *periods* (weeks), never on rows, so a week's cross-section is never split:

* test block = ``test_periods`` consecutive weeks ``[s, s + test_periods)``, blocks do not overlap;
* training window = weeks ``[0, s - embargo)`` (``expanding``) or ``[s - embargo - window_periods,
  s - embargo)`` (``rolling``). Row ``t`` carries the return of week ``t + 1``, so with ``embargo = 0``
  the last training label is the return of week ``s``, known when the week-``s`` forecast is made;
  the default ``embargo = 1`` leaves one more week out as a safety margin (Lopez de Prado 2018,
  "Advances in Financial Machine Learning", ch. 7);
* penalties: forward-chaining blocked CV *inside* the training window only: the window is cut into
  ``n_inner_splits + 1`` contiguous blocks; split ``j`` trains on the blocks before ``j`` (minus the
  embargo) and validates on block ``j``; the penalty with the lowest pooled validation loss wins
  (ties: the larger penalty). Every inner fit standardises with its own inner-training rows;
* standardisation of the final fit: mean / sd of the training window only (``StandardScaler``).

Models: ``ols``, ``ridge`` (running sufficient statistics, vectorised over all folds, identical to
``Pipeline(StandardScaler(), Ridge(alpha=lam * n))`` per fold), ``lasso`` and ``elastic_net``
(scikit-learn coordinate descent), ``logit_l1`` / ``logit_l2`` for the direction. Penalty scalings are
documented in ``models.py``. Metrics are documented in ``metrics.py``.

What the forecasts carry for trading (sizing by significance, probability thresholds):

* return models: ``forecast_se``, the standard error of the fitted conditional mean of each test row from
  the fold's training window (``models.fitted_mean_se``: classical OLS, the Ridge sandwich with the
  hat-matrix degrees of freedom, post-selection OLS on the Lasso / Elastic Net active set);
* direction models: the raw ``p_up`` and ``p_up_calibrated``, calibrated by ``CalibratedClassifierCV`` on
  the fold's forward-chaining inner splits, so inside the training window only
  (``models.calibrate_logit``); Brier score and log-loss of both, and a reliability table of both over
  the pooled test rows (``metrics.reliability_table``, ``WalkForwardResult.calibration_table``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cryptofactor_assets.prediction import metrics as M
from cryptofactor_assets.prediction import models as mdl

ALL_MODELS: tuple[str, ...] = ("ols", "ridge", "lasso", "elastic_net", "logit_l1", "logit_l2")
_REGRESSION = {"ols", "ridge", "lasso", "elastic_net"}
_RELIABILITY_COLUMNS = ("bin", "bin_lower", "bin_upper", "mean_predicted", "realised_freq", "n")


# --------------------------------------------------------------------------------------------------
# Panel and folds
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """Rows sorted by (period, symbol); ``codes`` are period positions into ``periods``."""

    periods: np.ndarray
    codes: np.ndarray
    symbols: np.ndarray
    X: np.ndarray
    y: np.ndarray
    features: tuple[str, ...]
    n_dropped: int

    @property
    def y_up(self) -> np.ndarray:
        return (self.y > 0).astype(int)

    @property
    def row_bounds(self) -> np.ndarray:
        """``row_bounds[t]`` = first row of period ``t`` (length T + 1), rows being period-sorted."""
        return np.searchsorted(self.codes, np.arange(self.periods.size + 1))


def make_panel(frame: pd.DataFrame, features: Sequence[str], target: str = "y_next",
               period_col: str = "week_start", symbol_col: str = "symbol") -> Panel:
    """Long frame -> ``Panel``; rows with a missing feature or target are dropped (and counted)."""
    cols = [symbol_col, period_col, *features, target]
    df = frame[cols].dropna()
    n_dropped = len(frame) - len(df)
    df = df.sort_values([period_col, symbol_col], kind="stable")
    periods, codes = np.unique(df[period_col].to_numpy(), return_inverse=True)
    return Panel(periods=periods, codes=codes.astype(np.int64), symbols=df[symbol_col].to_numpy(),
                 X=df[list(features)].to_numpy(dtype=float), y=df[target].to_numpy(dtype=float),
                 features=tuple(features), n_dropped=int(n_dropped))


@dataclass(frozen=True)
class WalkForwardConfig:
    """Fold and penalty settings (stored with every result)."""

    scheme: str = "expanding"  # or "rolling"
    min_train_periods: int = 52  # expanding: first training window length
    window_periods: int = 104  # rolling: training window length
    embargo: int = 1  # periods left out between train and test (and inside the inner CV)
    test_periods: int = 4  # length of each test block (= refit step)
    n_inner_splits: int = 3
    ridge_lambdas: tuple[float, ...] = tuple(np.logspace(-4, 2, 25).tolist())
    enet_l1_ratio: float = 0.5
    n_alphas: int = 20
    alpha_eps: float = 1e-3
    logit_lambdas: tuple[float, ...] = tuple(np.logspace(-4, 0, 9).tolist())
    solver_tol: float = 1e-7
    max_folds: int | None = None  # keep only the last ``max_folds`` folds
    # Probability calibration of the direction models (``models.calibrate_logit``). Platt's sigmoid by
    # default: a window of 50-100 weeks x ~40 coins (2,000-4,000 rows) gives each inner calibration
    # block 500-1,000 rows, where isotonic regression overfits and Platt scaling does as well or better
    # (Niculescu-Mizil & Caruana 2005: below about 1,000 calibration cases Platt beats isotonic);
    # weekly up / down is weakly predictable (P(up) within a few points of 0.5), so an isotonic step
    # function is mostly noise, ties coins the strategies rank and can reach exactly 0 or 1; and a
    # penalised logistic model's miscalibration (shrinkage, i.e. under-confidence; a drifting base rate)
    # is a slope and a shift of its logit, which are exactly Platt's two parameters.
    calibration_method: str = "sigmoid"  # or "isotonic" (long windows)
    calibration_bins: int = 10  # equal-width bins of the reliability table

    def __post_init__(self):
        if self.calibration_method not in mdl.CALIBRATION_METHODS:
            raise ValueError(f"calibration_method must be one of {mdl.CALIBRATION_METHODS}, "
                             f"not {self.calibration_method!r}")


@dataclass(frozen=True)
class Fold:
    """Period positions (half-open ``[start, end)``) of one fold and its inner CV splits."""

    index: int
    train: tuple[int, int]
    test: tuple[int, int]
    inner: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = field(default=())


def make_folds(n_periods: int, config: WalkForwardConfig) -> tuple[Fold, ...]:
    """Cut ``n_periods`` periods into walk-forward folds (see the module docstring)."""
    if config.scheme not in {"expanding", "rolling"}:
        raise ValueError(f"scheme must be 'expanding' or 'rolling', not {config.scheme!r}")
    first_len = config.min_train_periods if config.scheme == "expanding" else config.window_periods
    k = config.n_inner_splits
    if first_len < (k + 1) * (1 + config.embargo) + 1:
        raise ValueError(f"a training window of {first_len} periods is too short for {k} inner splits "
                         f"with embargo {config.embargo}")
    folds = []
    s = first_len + config.embargo
    while s < n_periods:
        e = min(s + config.test_periods, n_periods)
        tr_end = s - config.embargo
        tr_start = 0 if config.scheme == "expanding" else tr_end - config.window_periods
        edges = np.linspace(tr_start, tr_end, k + 2).round().astype(int)
        inner = tuple(((tr_start, int(edges[j]) - config.embargo), (int(edges[j]), int(edges[j + 1])))
                      for j in range(1, k + 1))
        folds.append(Fold(len(folds), (tr_start, tr_end), (s, e), inner))
        s = e
    if config.max_folds is not None:
        folds = [Fold(i, f.train, f.test, f.inner) for i, f in enumerate(folds[-config.max_folds:])]
    if not folds:
        raise ValueError(f"{n_periods} periods leave no test block after {first_len} training periods")
    return tuple(folds)


# --------------------------------------------------------------------------------------------------
# Ridge via running sufficient statistics (vectorised over folds)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RidgeFolds:
    """Ridge fits of every fold: standardised and raw coefficients, scaler, penalty, in-sample SSEs."""

    lam: np.ndarray  # (F,) chosen per-observation penalty (sklearn alpha = lam * n_train)
    alpha: np.ndarray  # (F,) the equivalent sklearn ``Ridge(alpha=...)``
    coef: np.ndarray  # (F, p) standardised
    intercept: np.ndarray  # (F,) standardised model's intercept (= training mean of y)
    raw_coef: np.ndarray  # (F, p)
    raw_intercept: np.ndarray  # (F,)
    mean: np.ndarray  # (F, p) scaler means
    scale: np.ndarray  # (F, p) scaler sds
    n_train: np.ndarray  # (F,)
    is_sse: np.ndarray  # (F,)
    is_sst_mean: np.ndarray  # (F,)
    is_sst_zero: np.ndarray  # (F,)
    cv_mse: np.ndarray  # (F, L) pooled inner validation MSE, lambdas in descending order
    lambdas: np.ndarray  # (L,) descending
    #: (F, p, p) ``A^-1 Z'Z A^-1``, ``A = Z'Z + lam n I``: the slopes' covariance is ``sigma2 * slope_cov``
    slope_cov: np.ndarray
    df: np.ndarray  # (F,) degrees of freedom of the fit, tr(H) = 1 + tr(A^-1 Z'Z)
    sigma2: np.ndarray  # (F,) residual variance SSE / (n - df)

    def forecast_se(self, i: int, Z: np.ndarray) -> np.ndarray:
        """Standard errors of fold ``i``'s fitted mean at the standardised rows ``Z`` (the sandwich)."""
        return mdl.fitted_mean_se(Z, self.slope_cov[i], self.sigma2[i], self.n_train[i])


def ridge_walk_forward(panel: Panel, folds: Sequence[Fold], lambdas: Sequence[float] | float,
                       grams: mdl.PeriodGrams | None = None) -> RidgeFolds:
    """All folds' Ridge fits from one pass over the data (the per-period Grams).

    With a single ``lambdas`` value no CV is run; otherwise every fold's inner splits are solved for the
    whole grid at once (batched eigendecompositions), their validation SSEs computed from Grams, and the
    final fits solved in one batched ``solve``. No Python loop runs over folds or penalties.
    """
    T = panel.periods.size
    g = grams if grams is not None else mdl.period_grams(panel.X, panel.y, panel.codes, T)
    lams = np.sort(np.atleast_1d(np.asarray(lambdas, dtype=float)))[::-1]
    F = len(folds)
    if lams.size > 1:
        pairs = [(i, tr, va) for i, f in enumerate(folds) for tr, va in f.inner]
        fid = np.array([i for i, _, _ in pairs])
        tr = np.array([t for _, t, _ in pairs])
        va = np.array([v for _, _, v in pairs])
        sys_in = mdl.centered_system(g.window(tr[:, 0], tr[:, 1]))
        path = mdl.ridge_path(sys_in, lams)  # (S, L, p)
        sse = mdl.window_sse(g.window(va[:, 0], va[:, 1]), sys_in, path)  # (S, L)
        nval = g.window(va[:, 0], va[:, 1])[:, 0, 0]
        tot = np.zeros((F, lams.size))
        np.add.at(tot, fid, sse)
        cnt = np.bincount(fid, weights=nval, minlength=F)
        cv = tot / cnt[:, None]
        choice = np.argmin(cv, axis=1)  # first minimum = largest lambda on ties
    else:
        cv = np.full((F, 1), np.nan)
        choice = np.zeros(F, dtype=int)
    lam = lams[choice]
    bounds = np.array([f.train for f in folds])
    G = g.window(bounds[:, 0], bounds[:, 1])
    sys_out = mdl.centered_system(G)
    coef = mdl.ridge_solve(sys_out, lam)
    raw, raw0 = mdl.to_raw_scale(sys_out, coef, g.shift_x, g.shift_y)
    p = panel.X.shape[1]
    sy, c = g.shift_y, G[:, 0, :]
    sst_zero = G[:, p + 1, p + 1] + 2 * sy * c[:, p + 1] + sy * sy * c[:, 0]  # sum y^2, unshifted
    sse = mdl.window_sse(G, sys_out, coef)
    # the sandwich from the same sufficient statistics: Z'Z of every window is already in sys_out
    slope_cov, df_slopes = mdl.slope_covariance_factor(sys_out.zz, sys_out.n, lam)
    df = 1.0 + df_slopes
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma2 = np.where(sys_out.n > df, sse / (sys_out.n - df), np.nan)
    return RidgeFolds(lam=lam, alpha=lam * sys_out.n, coef=coef, intercept=sys_out.mean_y + g.shift_y,
                      raw_coef=raw, raw_intercept=raw0, mean=sys_out.mean_x + g.shift_x,
                      scale=sys_out.scale, n_train=sys_out.n, is_sse=sse,
                      is_sst_mean=sys_out.syy, is_sst_zero=sst_zero, cv_mse=cv, lambdas=lams,
                      slope_cov=slope_cov, df=df, sigma2=sigma2)


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSummary:
    """Overall figures of one model (pooled over all test rows unless stated)."""

    model: str
    is_r2: float  # mean over folds of the in-sample R^2 (against the training mean)
    is_r2_zero: float  # mean over folds of the in-sample R^2 against a zero forecast
    oos_r2_zero: float  # 1 - SSE / sum y^2 over all test rows
    oos_r2_mean: float  # 1 - SSE / sum (y - training mean)^2 over all test rows
    direction_accuracy: float
    brier: float  # direction models only (raw p_up)
    brier_calibrated: float  # direction models only (p_up_calibrated)
    log_loss: float  # direction models only (raw p_up)
    log_loss_calibrated: float  # direction models only (p_up_calibrated)
    sparsity: float  # mean over folds of the share of zero slopes
    sign_consistency: float  # mean over features of the per-feature sign consistency
    ic_mean: float
    ic_t: float
    n_folds: int
    n_test: int


@dataclass(frozen=True)
class ModelRun:
    """Everything recorded for one model. ``coefs`` are standardised slopes (fold x feature)."""

    name: str
    summary: ModelSummary
    fold_metrics: pd.DataFrame
    coefs: pd.DataFrame
    raw_coefs: pd.DataFrame  # original-scale slopes plus ``intercept``
    scaler_mean: pd.DataFrame
    scaler_scale: pd.DataFrame
    predictions: pd.DataFrame  # + forecast_se (return models) or p_up_calibrated (direction models)
    stability: pd.DataFrame
    #: reliability table of the pooled test rows (direction models: ``kind`` raw | calibrated; else empty)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class WalkForwardResult:
    config: WalkForwardConfig
    features: tuple[str, ...]
    folds: tuple[Fold, ...]
    fold_table: pd.DataFrame  # dates of every fold's train / test / inner windows
    runs: dict[str, ModelRun]
    lasso_path: pd.DataFrame  # alpha, feature, coef on the last training window
    selected_features: pd.DataFrame  # feature, selected_last, selection_freq (Lasso)
    #: scikit-learn ConvergenceWarnings of the Lasso path (caught and counted, not shown)
    convergence_warnings: int = 0

    def model_comparison(self) -> pd.DataFrame:
        return model_comparison(self)

    def calibration_table(self) -> pd.DataFrame:
        """The reliability tables of every direction model: ``model``, ``kind`` (raw | calibrated), then
        ``metrics.reliability_table``'s columns (empty without direction models)."""
        parts = [r.calibration.assign(model=m) for m, r in self.runs.items() if len(r.calibration)]
        if not parts:
            return pd.DataFrame(columns=["model", "kind", *_RELIABILITY_COLUMNS])
        return pd.concat(parts, ignore_index=True)[["model", "kind", *_RELIABILITY_COLUMNS]]


@dataclass
class _Acc:
    """Mutable per-model accumulator used while looping (not part of the public results)."""

    coef: list = field(default_factory=list)
    b0: list = field(default_factory=list)
    raw: list = field(default_factory=list)
    raw0: list = field(default_factory=list)
    mean: list = field(default_factory=list)
    scale: list = field(default_factory=list)
    pen: list = field(default_factory=list)
    is_r2: list = field(default_factory=list)
    is_r2z: list = field(default_factory=list)
    fc: list = field(default_factory=list)
    bench: list = field(default_factory=list)
    se: list = field(default_factory=list)  # return models: standard errors of the forecasts
    fc_cal: list = field(default_factory=list)  # direction models: calibrated P(up)
    n_cal: list = field(default_factory=list)  # direction models: calibration splits used


def _fit_generic(name: str, Xtr, ytr, inner_rows, cfg: WalkForwardConfig):
    if name == "ols":
        return mdl.fit_ols(Xtr, ytr)
    if name in {"lasso", "elastic_net"}:
        r = 1.0 if name == "lasso" else cfg.enet_l1_ratio
        return mdl.fit_enet_cv(Xtr, ytr, inner_rows, r, cfg.n_alphas, cfg.alpha_eps, cfg.solver_tol)[0]
    if name in {"logit_l1", "logit_l2"}:
        return mdl.fit_logit_cv(Xtr, (ytr > 0).astype(int), inner_rows, np.asarray(cfg.logit_lambdas),
                                l1=name == "logit_l1", tol=max(cfg.solver_tol, 1e-6))[0]
    raise ValueError(f"unknown model {name!r}; choose from {ALL_MODELS}")


def run_walk_forward(panel: Panel, config: WalkForwardConfig | None = None,
                     models: Sequence[str] = ALL_MODELS,
                     progress: Callable[[int, int], None] | None = None) -> WalkForwardResult:
    """Fit every model on every fold and collect forecasts, coefficients and metrics.

    ``progress(done, total)`` (optional, e.g. a ``cryptofactor_assets.progress.Progress``) is called
    after every refit: ``total`` = folds x models; the vectorised Ridge counts its folds at once."""
    cfg = config or WalkForwardConfig()
    T = panel.periods.size
    folds = make_folds(T, cfg)
    n_refits, refits_done = len(folds) * len(models), 0
    rb = panel.row_bounds
    accs = {m: _Acc() for m in models}
    test_rows = [np.arange(rb[f.test[0]], rb[f.test[1]]) for f in folds]
    train_rows = [np.arange(rb[f.train[0]], rb[f.train[1]]) for f in folds]

    if "ridge" in models:
        rf = ridge_walk_forward(panel, folds, cfg.ridge_lambdas)
        a = accs["ridge"]
        for i, rows in enumerate(test_rows):
            Z = (panel.X[rows] - rf.mean[i]) / rf.scale[i]
            a.fc.append(rf.intercept[i] + Z @ rf.coef[i])
            a.bench.append(np.full(rows.size, rf.intercept[i]))
            a.se.append(rf.forecast_se(i, Z))
        a.coef, a.b0, a.raw, a.raw0 = list(rf.coef), list(rf.intercept), list(rf.raw_coef), list(rf.raw_intercept)
        a.mean, a.scale, a.pen = list(rf.mean), list(rf.scale), list(rf.lam)
        a.is_r2 = list(1 - rf.is_sse / rf.is_sst_mean)
        a.is_r2z = list(1 - rf.is_sse / rf.is_sst_zero)
        refits_done += len(folds)
        if progress is not None:
            progress(refits_done, n_refits)

    for name in [m for m in models if m != "ridge"]:
        a = accs[name]
        for f, tr, te in zip(folds, train_rows, test_rows, strict=True):
            base = rb[f.train[0]]
            inner = [(np.arange(rb[i0], rb[i1]) - base, np.arange(rb[v0], rb[v1]) - base)
                     for (i0, i1), (v0, v1) in f.inner]
            Xtr, ytr = panel.X[tr], panel.y[tr]
            fit = _fit_generic(name, Xtr, ytr, inner, cfg)
            a.coef.append(fit.coef)
            a.b0.append(fit.intercept)
            a.raw.append(fit.coef / fit.scale)
            a.raw0.append(fit.intercept - fit.mean @ (fit.coef / fit.scale))
            a.mean.append(fit.mean)
            a.scale.append(fit.scale)
            a.pen.append(fit.penalty)
            ybar = float(ytr.mean())
            if name in _REGRESSION:
                fit_is = fit.predict(Xtr)
                a.is_r2.append(M.r2_against(ytr, fit_is, ybar))
                a.is_r2z.append(M.r2_against(ytr, fit_is, 0.0))
                a.fc.append(fit.predict(panel.X[te]))
                a.bench.append(np.full(te.size, ybar))
                # OLS: all slopes; Lasso / Elastic Net: OLS on the active set (post-selection, optimistic)
                active = np.ones(fit.coef.size, bool) if name == "ols" else fit.coef != 0
                a.se.append(mdl.ols_mean_se(((Xtr - fit.mean) / fit.scale)[:, active], ytr,
                                            ((panel.X[te] - fit.mean) / fit.scale)[:, active]))
            else:
                a.is_r2.append(np.nan)
                a.is_r2z.append(np.nan)
                a.fc.append(fit.predict_proba(panel.X[te]))
                a.bench.append(np.full(te.size, float((ytr > 0).mean())))
                # calibrated on the fold's inner splits (training rows only), the fold's chosen penalty
                cal = mdl.calibrate_logit(fit, Xtr, ytr > 0, inner, l1=name == "logit_l1",
                                          method=cfg.calibration_method, tol=max(cfg.solver_tol, 1e-6))
                a.fc_cal.append(cal.predict_proba(panel.X[te]))
                a.n_cal.append(len(cal.splits))
            refits_done += 1
            if progress is not None:
                progress(refits_done, n_refits)

    runs = {m: _collect(m, accs[m], panel, folds, train_rows, test_rows, cfg.calibration_bins) for m in models}
    lasso_path, selected, n_conv = _lasso_outputs(panel, folds, train_rows, runs.get("lasso"), cfg)
    return WalkForwardResult(cfg, panel.features, folds, _fold_table(panel, folds), runs, lasso_path, selected,
                             n_conv)


def walk_forward(frame: pd.DataFrame, features: Sequence[str], config: WalkForwardConfig | None = None,
                 models: Sequence[str] = ALL_MODELS, target: str = "y_next",
                 progress: Callable[[int, int], None] | None = None) -> WalkForwardResult:
    """``run_walk_forward(make_panel(frame, features, target), config, models, progress)``."""
    return run_walk_forward(make_panel(frame, features, target), config, models, progress)


def _fold_table(panel: Panel, folds: Sequence[Fold]) -> pd.DataFrame:
    P = panel.periods
    rows = []
    for f in folds:
        rows.append({"fold": f.index, "train_start": P[f.train[0]], "train_end": P[f.train[1] - 1],
                     "test_start": P[f.test[0]], "test_end": P[f.test[1] - 1],
                     "n_train_periods": f.train[1] - f.train[0], "n_test_periods": f.test[1] - f.test[0],
                     "inner_splits": ";".join(f"{P[a]}..{P[b - 1]}|{P[c]}..{P[d - 1]}"
                                              for (a, b), (c, d) in f.inner)})
    return pd.DataFrame(rows)


def _probability_scores(y: np.ndarray, p: np.ndarray | None) -> tuple[float, float]:
    """(Brier score, log-loss) of ``P(up)`` forecasts ``p`` of the returns ``y``; NaN without forecasts."""
    if p is None:
        return np.nan, np.nan
    return M.brier_score(y > 0, p), M.log_loss(y > 0, p)


def _collect(name: str, a: _Acc, panel: Panel, folds, train_rows, test_rows, n_bins: int = 10) -> ModelRun:
    feats = list(panel.features)
    is_dir = name not in _REGRESSION
    fold_rows = []
    for i, (f, te) in enumerate(zip(folds, test_rows, strict=True)):
        y, fc, bench = panel.y[te], a.fc[i], a.bench[i]
        ic = M.spearman_ic(panel.codes[te], y, fc)
        brier, loss = _probability_scores(y, fc if is_dir else None)
        brier_cal, loss_cal = _probability_scores(y, a.fc_cal[i] if is_dir else None)
        fold_rows.append({
            "fold": f.index, "n_train": train_rows[i].size, "n_test": te.size, "penalty": a.pen[i],
            "is_r2": a.is_r2[i], "is_r2_zero": a.is_r2z[i],
            "oos_r2_zero": np.nan if is_dir else M.r2_against(y, fc, 0.0),
            "oos_r2_mean": np.nan if is_dir else M.r2_against(y, fc, bench),
            "ic_mean": ic.mean,
            "direction_accuracy": M.direction_accuracy(y, fc - 0.5 if is_dir else fc),
            "brier": brier,
            "sparsity": float(np.mean(np.asarray(a.coef[i]) == 0)),
            "brier_calibrated": brier_cal, "log_loss": loss, "log_loss_calibrated": loss_cal,
            "n_calibration_splits": a.n_cal[i] if is_dir else np.nan,
        })
    fm = pd.DataFrame(fold_rows)
    all_te = np.concatenate(test_rows)
    fc = np.concatenate(a.fc)
    bench = np.concatenate(a.bench)
    y = panel.y[all_te]
    fold_id = np.concatenate([np.full(te.size, f.index) for f, te in zip(folds, test_rows, strict=True)])
    preds = pd.DataFrame({"symbol": panel.symbols[all_te], "week_start": panel.periods[panel.codes[all_te]],
                          "fold": fold_id, "y_next": y,
                          ("p_up" if is_dir else "forecast"): fc, "benchmark": bench})
    if is_dir:
        fc_cal = np.concatenate(a.fc_cal)
        preds["p_up_calibrated"] = fc_cal
        calibration = pd.concat([M.reliability_table(y > 0, p, n_bins).assign(kind=kind)
                                 for kind, p in (("raw", fc), ("calibrated", fc_cal))], ignore_index=True)
    else:
        fc_cal = None
        preds["forecast_se"] = np.concatenate(a.se)
        calibration = pd.DataFrame()
    brier, loss = _probability_scores(y, fc if is_dir else None)
    brier_cal, loss_cal = _probability_scores(y, fc_cal)
    coef = np.vstack(a.coef)
    stab = M.coefficient_stability(coef, feats)
    ic = M.spearman_ic(panel.codes[all_te], y, fc)
    idx = pd.Index([f.index for f in folds], name="fold")
    raw = pd.DataFrame(np.vstack(a.raw), index=idx, columns=feats)
    raw["intercept"] = a.raw0
    summary = ModelSummary(
        model=name, is_r2=float(np.nanmean(a.is_r2)) if not is_dir else np.nan,
        is_r2_zero=float(np.nanmean(a.is_r2z)) if not is_dir else np.nan,
        oos_r2_zero=np.nan if is_dir else M.r2_against(y, fc, 0.0),
        oos_r2_mean=np.nan if is_dir else M.r2_against(y, fc, bench),
        direction_accuracy=M.direction_accuracy(y, fc - 0.5 if is_dir else fc),
        brier=brier, brier_calibrated=brier_cal, log_loss=loss, log_loss_calibrated=loss_cal,
        sparsity=float(np.mean(coef == 0)), sign_consistency=float(stab["sign_consistency"].mean()),
        ic_mean=ic.mean, ic_t=ic.t, n_folds=len(folds), n_test=int(y.size))
    return ModelRun(name=name, summary=summary, fold_metrics=fm,
                    coefs=pd.DataFrame(coef, index=idx, columns=feats), raw_coefs=raw,
                    scaler_mean=pd.DataFrame(np.vstack(a.mean), index=idx, columns=feats),
                    scaler_scale=pd.DataFrame(np.vstack(a.scale), index=idx, columns=feats),
                    predictions=preds, stability=stab, calibration=calibration)


def _lasso_outputs(panel: Panel, folds, train_rows, lasso: ModelRun | None, cfg: WalkForwardConfig):
    """Lasso path (coef vs alpha) on the last training window, the selected features, and the number of
    ConvergenceWarnings of the path (its smallest penalties may stop at max_iter; counted, not shown)."""
    from sklearn.exceptions import ConvergenceWarning  # on first use (see models.py)
    from sklearn.linear_model import enet_path

    tr = train_rows[-1]
    X, y = panel.X[tr], panel.y[tr]
    mean, scale = mdl.standardizer(X)
    grid = mdl.enet_grid(X, y, 1.0, cfg.n_alphas, cfg.alpha_eps)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        _, coefs, _ = enet_path((X - mean) / scale, y - y.mean(), l1_ratio=1.0, alphas=grid, tol=cfg.solver_tol)
    n_conv = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    path = pd.DataFrame({"alpha": np.repeat(grid, len(panel.features)),
                         "feature": np.tile(panel.features, grid.size),
                         "coef": coefs.T.ravel()})
    if lasso is None:
        return path, pd.DataFrame(columns=["feature", "selected_last", "coef_last", "selection_freq"]), n_conv
    last = lasso.coefs.iloc[-1]
    sel = pd.DataFrame({"feature": list(panel.features), "selected_last": (last != 0).to_numpy(),
                        "coef_last": last.to_numpy(),
                        "selection_freq": (lasso.coefs != 0).mean(axis=0).to_numpy()})
    return path, sel.sort_values(["selection_freq", "feature"], ascending=[False, True]).reset_index(drop=True), n_conv


def model_comparison(result: WalkForwardResult) -> pd.DataFrame:
    """One row per model in the shape of the chapter's comparison table (Section 9).

    Columns: ``model``, ``is_r2`` (in-sample, against the training mean), ``oos_r2_zero``, ``oos_r2_mean``
    (out-of-sample against the zero forecast / the historical training mean), ``direction_accuracy``,
    ``brier``, ``brier_calibrated``, ``log_loss``, ``log_loss_calibrated`` (direction models: raw and
    calibrated P(up)), ``sparsity`` (share of zero slopes), ``sign_consistency`` (stability of
    coefficient signs across folds), ``ic_mean`` / ``ic_t`` (Spearman IC), ``n_folds``, ``n_test``.
    """
    rows = [vars(r.summary) for r in result.runs.values()]
    return pd.DataFrame(rows)
