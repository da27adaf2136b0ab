"""Estimators for the walk-forward study: running sufficient statistics for OLS / Ridge, and thin,
explicit wrappers around scikit-learn for Lasso, Elastic Net and logistic regression.

Standardisation everywhere matches ``sklearn.preprocessing.StandardScaler`` fitted on the training
window only: ``z = (x - mean) / sd`` with the population sd (ddof = 0) and ``sd := 1`` for constant
columns. Intercepts are never penalised.

Penalty scaling (per observation, so one grid serves windows of any length):

* Ridge: ``min_b (1/n) ||y - a - Z b||^2 + lam ||b||^2``  ==  ``sklearn.linear_model.Ridge(alpha=lam * n)``.
* Lasso / Elastic Net: scikit-learn's own ``(1/2n) ||y - a - Z b||^2 + alpha (r ||b||_1 + (1-r)/2 ||b||^2)``
  (glmnet's ``lambda`` is the same ``alpha``; glmnet standardises ``y`` too, hence the mapping
  ``L1 = lambda * r``, ``L2 = lambda * (1 - r) / sd(y)`` noted in methodology.md).
* Logistic: ``C = 1 / (lam * n)``, i.e. ``min (1/n) sum logloss + lam * pen(b)`` with sklearn's
  ``pen = ||b||^2 / 2`` (L2) or ``||b||_1`` (L1).

Running sufficient statistics (the Ridge fast path): with the augmented row ``a_i = [1, x_i - c, y_i - c_y]``
the per-period Gram matrices ``G_t = sum_{i in t} a_i a_i'`` hold ``n_t``, the sums, ``X'X``, ``X'y`` and
``y'y`` at once. Their cumulative sum over periods gives any window's Gram by one subtraction, and
everything a fold needs follows from that (q x q) matrix:
the standardiser (``mean = sx / n``, ``var = diag(Sxx_c) / n``), the centred normal equations, and even
the sum of squared residuals of any linear forecast on any window: ``SSE = c' G c`` with
``c = [-a, -b, 1]``. ``c`` (the shift) is the first period's mean, so the centring identities
``Sxx_c = Sxx - sx sx' / n`` lose no precision; it uses past data only, and results are invariant to it.

Standard errors of the fitted conditional mean (``fitted_mean_se``): ``se(yhat_i) = sqrt(x_i' V x_i)`` with
``x_i = [1, z_i]`` on the training window's standardised scale and ``V`` the coefficient covariance from
the training window. The scaler centres ``Z`` on the window, so ``[1, Z]'[1, Z] = diag(n, Z'Z)`` and the
intercept's variance ``s^2 / n`` separates from the slopes': ``se^2 = s^2 (1/n + z' M z)`` with

* OLS: ``M = (Z'Z)^-1`` (a pseudo-inverse on a rank-deficient window), ``df = 1 + rank``;
* Ridge: the sandwich ``M = A^-1 Z'Z A^-1``, ``A = Z'Z + lam n I_p`` (the intercept unpenalised),
  ``df = tr(H) = 1 + sum_j w_j / (w_j + lam n)`` over the eigenvalues ``w_j`` of ``Z'Z``
  (Hoerl & Kennard 1970; Hastie, Tibshirani & Friedman 2009, eq. 3.50);
* Lasso / Elastic Net: OLS on the active set (post-selection OLS, Belloni & Chernozhukov 2013). It treats
  the selected set as fixed, ignoring the selection step, so it is optimistic (too small): a scale for
  sizing, not a basis for inference (Berk et al. 2013, "Valid post-selection inference").

and ``s^2 = SSE / (n - df)`` of the same fit (for the active-set OLS: of the OLS refit on that set).

Calibrated direction probabilities (``calibrate_logit``): scikit-learn's ``CalibratedClassifierCV`` on
time-ordered (train, calibration) splits of the training window only, see its docstring.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

# scikit-learn is imported inside the fitting functions (a cached lookup after the first call): the code
# location, and so every run worker, starts without paying for scikit-learn and scipy.stats.

#: Relative threshold under which a feature's sd counts as zero (then sd := 1, as StandardScaler).
_ZERO_SD = 1e-12
#: Eigenvalues of Z'Z below this share of the largest count as zero (the pseudo-inverse's cut-off).
_RANK_RTOL = 1e-10
#: Probability calibration methods of ``CalibratedClassifierCV`` offered (``temperature`` is the
#: one-parameter special case of ``sigmoid`` for a binary target).
CALIBRATION_METHODS = ("sigmoid", "isotonic")


def standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sd) of the columns of ``X`` exactly as ``StandardScaler`` (ddof 0, sd 1 when constant)."""
    mean = X.mean(axis=0)
    sd = X.std(axis=0)
    return mean, _fix_scale(sd, mean)


def _fix_scale(sd: np.ndarray, mean: np.ndarray) -> np.ndarray:
    sd = np.array(sd, dtype=float, copy=True)
    sd[sd <= _ZERO_SD * np.maximum(1.0, np.abs(mean))] = 1.0
    return sd


# --------------------------------------------------------------------------------------------------
# Running sufficient statistics
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodGrams:
    """Cumulative augmented Gram matrices over periods.

    ``cum[t]`` = sum of ``a_i a_i'`` over all rows of periods ``< t`` (so ``cum[0] = 0`` and a window of
    periods ``[s, e)`` has Gram ``cum[e] - cum[s]``); ``a_i = [1, x_i - shift_x, y_i - shift_y]``.
    """

    cum: np.ndarray  # (T + 1, p + 2, p + 2)
    shift_x: np.ndarray  # (p,)
    shift_y: float

    @property
    def n_features(self) -> int:
        return int(self.shift_x.size)

    def window(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Gram of the period windows ``[start, end)`` (vectorised over windows): (W, p + 2, p + 2)."""
        return self.cum[np.asarray(end)] - self.cum[np.asarray(start)]


def period_grams(X: np.ndarray, y: np.ndarray, codes: np.ndarray, n_periods: int) -> PeriodGrams:
    """Per-period augmented Grams, accumulated over periods.

    Vectorised: rows are scattered into a zero-padded (T, n_max, p + 2) array (padding rows are all
    zero, including the constant, so they add nothing) and one batched matmul forms every ``G_t``.
    ``codes`` are integer period positions in ``[0, n_periods)``.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    codes = np.asarray(codes, dtype=np.int64)
    n, p = X.shape
    first = codes == codes.min() if n else np.zeros(0, bool)
    shift_x = X[first].mean(axis=0) if n else np.zeros(p)
    shift_y = float(y[first].mean()) if n else 0.0
    order = np.argsort(codes, kind="stable")
    c_sorted = codes[order]
    counts = np.bincount(c_sorted, minlength=n_periods)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    slot = np.arange(n) - starts[c_sorted]  # position of each row inside its period
    n_max = int(counts.max()) if n else 0
    A = np.zeros((n_periods, n_max, p + 2))
    A[c_sorted, slot, 0] = 1.0
    A[c_sorted, slot, 1:p + 1] = X[order] - shift_x
    A[c_sorted, slot, p + 1] = y[order] - shift_y
    G = np.matmul(A.transpose(0, 2, 1), A)
    cum = np.zeros((n_periods + 1, p + 2, p + 2))
    np.cumsum(G, axis=0, out=cum[1:])
    return PeriodGrams(cum=cum, shift_x=shift_x, shift_y=shift_y)


@dataclass(frozen=True)
class CenteredSystem:
    """Standardised normal equations of a batch of windows (W of them)."""

    n: np.ndarray  # (W,)
    mean_x: np.ndarray  # (W, p) in shifted coordinates
    mean_y: np.ndarray  # (W,) in shifted coordinates
    scale: np.ndarray  # (W, p) StandardScaler sd
    zz: np.ndarray  # (W, p, p) Z'Z
    zy: np.ndarray  # (W, p)    Z'(y - ybar)
    syy: np.ndarray  # (W,)     sum (y - ybar)^2


def centered_system(G: np.ndarray) -> CenteredSystem:
    """From window Grams (W, q, q) to the standardised, centred normal equations."""
    p = G.shape[-1] - 2
    n = G[:, 0, 0]
    sx = G[:, 0, 1:p + 1]
    sy = G[:, 0, p + 1]
    mx = sx / n[:, None]
    my = sy / n
    sxx = G[:, 1:p + 1, 1:p + 1] - n[:, None, None] * mx[:, :, None] * mx[:, None, :]
    sxy = G[:, 1:p + 1, p + 1] - n[:, None] * mx * my[:, None]
    syy = G[:, p + 1, p + 1] - n * my * my
    var = np.clip(np.diagonal(sxx, axis1=1, axis2=2) / n[:, None], 0.0, None)
    scale = np.sqrt(var)
    # shifted means are O(sd), so an absolute test is the analogue of StandardScaler's constant check
    scale = np.where(scale <= _ZERO_SD, 1.0, scale)
    zz = sxx / (scale[:, :, None] * scale[:, None, :])
    zy = sxy / scale
    return CenteredSystem(n=n, mean_x=mx, mean_y=my, scale=scale, zz=zz, zy=zy, syy=syy)


def ridge_solve(system: CenteredSystem, lam: np.ndarray | float) -> np.ndarray:
    """Standardised Ridge coefficients ``(Z'Z + lam n I)^-1 Z'y`` for every window: (W, p)."""
    lam = np.broadcast_to(np.asarray(lam, dtype=float), system.n.shape)
    p = system.zz.shape[-1]
    lhs = system.zz + (lam * system.n)[:, None, None] * np.eye(p)
    return np.linalg.solve(lhs, system.zy[:, :, None])[:, :, 0]


def ridge_path(system: CenteredSystem, lams: np.ndarray) -> np.ndarray:
    """Ridge coefficients for every window and every penalty at once: (W, L, p).

    One batched eigendecomposition ``Z'Z = V diag(w) V'`` per window, then
    ``b(lam) = V diag(1 / (w + lam n)) V' Z'y`` is a cheap rescaling for each ``lam``.
    """
    w, V = np.linalg.eigh(system.zz)
    vty = np.einsum("wji,wj->wi", V, system.zy)
    denom = w[:, None, :] + np.asarray(lams)[None, :, None] * system.n[:, None, None]
    return np.einsum("wij,wlj->wli", V, vty[:, None, :] / denom)


def window_sse(G: np.ndarray, system: CenteredSystem, b_std: np.ndarray) -> np.ndarray:
    """Sum of squared residuals, on windows with Grams ``G`` (W, q, q), of the linear forecasts fitted on
    the windows described by ``system`` with standardised coefficients ``b_std`` (W, ..., p).

    The forecast is ``yhat = ybar + ((x - xbar) / sd)' b``; with ``c = [-(ybar - xbar'b/sd), -b/sd, 1]`` the
    residual of an augmented row is ``c'a`` and ``SSE = c' G c``. Extra middle axes of ``b_std`` (e.g.
    a penalty grid) are broadcast. Both Grams must come from the same ``PeriodGrams`` (same shift).
    """
    beta = b_std / system.scale.reshape(system.scale.shape[:1] + (1,) * (b_std.ndim - 2) + (-1,))
    extra = (1,) * (b_std.ndim - 2)
    a0 = system.mean_y.reshape(-1, *extra) - np.einsum("w...p,wp->w...", beta, system.mean_x)
    c = np.concatenate([-a0[..., None], -beta, np.ones(beta.shape[:-1] + (1,))], axis=-1)
    return np.einsum("w...i,wij,w...j->w...", c, G, c)


def to_raw_scale(system: CenteredSystem, b_std: np.ndarray, shift_x: np.ndarray,
                 shift_y: float) -> tuple[np.ndarray, np.ndarray]:
    """Original-scale slopes and intercepts: ``beta = b / sd``, ``a = ybar - xbar' beta`` (unshifted)."""
    beta = b_std / system.scale
    xbar = system.mean_x + shift_x
    ybar = system.mean_y + shift_y
    return beta, ybar - np.einsum("wp,wp->w", xbar, beta)


# --------------------------------------------------------------------------------------------------
# Standard errors of the fitted conditional mean (see the module docstring)
# --------------------------------------------------------------------------------------------------


def slope_covariance_factor(zz: np.ndarray, n: np.ndarray | float,
                            lam: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``M = A^-1 Z'Z A^-1`` with ``A = Z'Z + lam n I`` and ``df_slopes = tr(A^-1 Z'Z)``, batched over
    windows: ``zz`` (W, p, p) centred Grams, ``n`` and ``lam`` (W,) or scalars.

    One eigendecomposition ``Z'Z = V diag(w) V'`` gives both: ``M = V diag(w / (w + lam n)^2) V'`` and
    ``df = sum w / (w + lam n)``. With ``lam = 0`` this is OLS: ``M = (Z'Z)^+`` (eigenvalues under
    ``_RANK_RTOL`` times the largest are dropped, like ``pinv``) and ``df`` = the rank.
    """
    zz = np.asarray(zz, dtype=float)
    W, p = zz.shape[0], zz.shape[-1]
    if p == 0:
        return np.zeros((W, 0, 0)), np.zeros(W)
    w, V = np.linalg.eigh(zz)
    ridge = np.broadcast_to(np.asarray(lam, dtype=float) * np.asarray(n, dtype=float), (W,))[:, None]
    keep = w > _RANK_RTOL * np.maximum(w.max(axis=-1, keepdims=True), 0.0)
    w_safe = np.where(keep, w, 1.0)
    d = np.where(keep, w_safe / (w_safe + ridge) ** 2, 0.0)
    df = np.where(keep, w_safe / (w_safe + ridge), 0.0).sum(axis=-1)
    return np.einsum("wij,wj,wkj->wik", V, d, V), df


def fitted_mean_se(z: np.ndarray, M: np.ndarray, s2: float, n: float) -> np.ndarray:
    """``se(yhat_i) = sqrt(s2 (1/n + z_i' M z_i))`` for the rows ``z`` (standardised with the training
    window's scaler, so the intercept's variance ``s2 / n`` is uncorrelated with the slopes')."""
    quad = np.einsum("ij,jk,ik->i", z, M, z) if z.shape[1] else np.zeros(len(z))
    return np.sqrt(s2 * (1.0 / n + quad))


def ols_mean_se(z_train: np.ndarray, y: np.ndarray, z_new: np.ndarray) -> np.ndarray:
    """Classical OLS (with intercept) standard errors of the fitted mean at the rows ``z_new``:
    ``sqrt(x' s^2 (X'X)^+ x)``, ``x = [1, z]``, ``s^2 = SSE / (n - 1 - rank)``: statsmodels'
    ``OLS(y, add_constant(z_train)).fit().get_prediction(add_constant(z_new)).se_mean``.

    ``z_train`` is centred here (a no-op for features standardised on the same rows), which keeps the
    intercept block separate; zero columns give the intercept-only model ``s^2 = sum (y - ybar)^2 / (n - 1)``.
    """
    n = len(y)
    zbar = z_train.mean(axis=0)
    zc = z_train - zbar
    yc = y - y.mean()
    M, df = slope_covariance_factor((zc.T @ zc)[None], n)
    beta = M[0] @ (zc.T @ yc)
    resid_df = n - 1.0 - df[0]
    s2 = float(np.sum((yc - zc @ beta) ** 2) / resid_df) if resid_df > 0 else float("nan")
    return fitted_mean_se(z_new - zbar, M[0], s2, n)


# --------------------------------------------------------------------------------------------------
# scikit-learn based estimators (generic path; one fit per fold)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearFit:
    """A fitted linear forecaster on standardised features (``yhat = intercept + z' coef``)."""

    coef: np.ndarray  # standardised-scale slopes (p,)
    intercept: float
    penalty: float  # per-observation penalty (NaN for OLS)
    mean: np.ndarray  # scaler mean (training window)
    scale: np.ndarray  # scaler sd (training window)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.intercept + ((X - self.mean) / self.scale) @ self.coef

    @property
    def raw_coef(self) -> np.ndarray:
        return self.coef / self.scale

    @property
    def raw_intercept(self) -> float:
        return float(self.intercept - self.mean @ self.raw_coef)


def fit_ols(X: np.ndarray, y: np.ndarray) -> LinearFit:
    """OLS with intercept on the standardised training window (slopes equal statsmodels OLS / sd)."""
    from sklearn.linear_model import LinearRegression

    mean, scale = standardizer(X)
    m = LinearRegression().fit((X - mean) / scale, y)
    return LinearFit(m.coef_.copy(), float(m.intercept_), float("nan"), mean, scale)


def enet_grid(X: np.ndarray, y: np.ndarray, l1_ratio: float, n_alphas: int, eps: float) -> np.ndarray:
    """Descending log grid ``alpha_max * logspace(0, log10 eps)``, ``alpha_max = max|Z'yc| / (n r)``
    (the smallest penalty that zeroes every coefficient, as in glmnet / sklearn), from training data."""
    mean, scale = standardizer(X)
    z = (X - mean) / scale
    amax = np.max(np.abs(z.T @ (y - y.mean()))) / (len(y) * max(l1_ratio, 1e-3))
    amax = amax if amax > 0 else 1.0
    return amax * np.logspace(0.0, np.log10(eps), n_alphas)


def _enet_cv(X, y, splits, grid, l1_ratio, tol):
    """Pooled validation MSE of the elastic-net path for each alpha over the inner splits."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import enet_path

    sse = np.zeros(grid.size)
    nval = 0
    for tr, va in splits:
        mean, scale = standardizer(X[tr])
        z = (X[tr] - mean) / scale
        ybar = y[tr].mean()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, coefs, _ = enet_path(z, y[tr] - ybar, l1_ratio=l1_ratio, alphas=grid, tol=tol)
        pred = ybar + ((X[va] - mean) / scale) @ coefs  # (n_val, A)
        sse += ((y[va][:, None] - pred) ** 2).sum(axis=0)
        nval += len(va)
    return sse / max(nval, 1)


def fit_enet_cv(X: np.ndarray, y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]],
                l1_ratio: float, n_alphas: int = 20, eps: float = 1e-3,
                tol: float = 1e-7) -> tuple[LinearFit, np.ndarray, np.ndarray]:
    """Elastic net (``l1_ratio = 1``: Lasso) with alpha chosen by the inner time-series splits.

    ``splits`` index rows of ``X`` (the outer training window); each split refits its own scaler. Ties
    go to the larger penalty. Returns the final fit on the whole window, the grid and the CV MSE.
    """
    grid = enet_grid(X, y, l1_ratio, n_alphas, eps)
    cv = _enet_cv(X, y, splits, grid, l1_ratio, tol)
    alpha = float(grid[int(np.nanargmin(cv))])
    return fit_enet(X, y, alpha, l1_ratio, tol), grid, cv


def fit_enet(X: np.ndarray, y: np.ndarray, alpha: float, l1_ratio: float, tol: float = 1e-7) -> LinearFit:
    """``sklearn.linear_model.ElasticNet`` on the standardised window with a given penalty."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet

    mean, scale = standardizer(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=tol, max_iter=100_000).fit((X - mean) / scale, y)
    return LinearFit(m.coef_.copy(), float(m.intercept_), alpha, mean, scale)


@dataclass(frozen=True)
class LogitFit:
    """A fitted direction model: ``P(up) = 1 / (1 + exp(-(intercept + z' coef)))``."""

    coef: np.ndarray
    intercept: float
    penalty: float
    mean: np.ndarray
    scale: np.ndarray

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        eta = self.intercept + ((X - self.mean) / self.scale) @ self.coef
        return 1.0 / (1.0 + np.exp(-eta))


def logit_estimator(lam: float, n: int, l1: bool, tol: float = 1e-6) -> LogisticRegression:
    """The scikit-learn estimator for per-observation penalty ``lam`` on ``n`` rows (``C = 1/(lam n)``).

    L1 uses ``saga`` (does not penalise the intercept, unlike ``liblinear``), L2 uses ``newton-cholesky``.
    """
    from sklearn.linear_model import LogisticRegression

    if l1:
        return LogisticRegression(C=1.0 / (lam * n), l1_ratio=1.0, solver="saga", tol=tol, max_iter=5000,
                                  random_state=0)  # saga visits rows in random order: fix it
    return LogisticRegression(C=1.0 / (lam * n), l1_ratio=0.0, solver="newton-cholesky", tol=tol, max_iter=5000)


def _fit_logit_raw(z, yb, lam, l1, tol):
    if yb.min() == yb.max():  # one class only: the MLE is the base rate, no slopes
        p = float(np.clip(yb.mean(), 1e-6, 1 - 1e-6))
        return np.zeros(z.shape[1]), float(np.log(p / (1 - p)))
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = logit_estimator(lam, len(yb), l1, tol).fit(z, yb)
    return m.coef_[0].copy(), float(m.intercept_[0])


def fit_logit(X: np.ndarray, y_up: np.ndarray, lam: float, l1: bool, tol: float = 1e-6) -> LogitFit:
    mean, scale = standardizer(X)
    coef, b0 = _fit_logit_raw((X - mean) / scale, y_up.astype(int), lam, l1, tol)
    return LogitFit(coef, b0, lam, mean, scale)


def fit_logit_cv(X: np.ndarray, y_up: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]],
                 lams: np.ndarray, l1: bool, tol: float = 1e-6) -> tuple[LogitFit, np.ndarray]:
    """Logistic regression with the penalty chosen by pooled validation log loss over inner splits
    (each split with its own scaler); ties go to the larger penalty."""
    lams = np.sort(np.asarray(lams, dtype=float))[::-1]
    loss = np.zeros(lams.size)
    yb = y_up.astype(int)
    for tr, va in splits:
        mean, scale = standardizer(X[tr])
        z = (X[tr] - mean) / scale
        zv = (X[va] - mean) / scale
        for k, lam in enumerate(lams):
            coef, b0 = _fit_logit_raw(z, yb[tr], lam, l1, tol)
            p = np.clip(1.0 / (1.0 + np.exp(-(b0 + zv @ coef))), 1e-12, 1 - 1e-12)
            loss[k] -= np.sum(yb[va] * np.log(p) + (1 - yb[va]) * np.log(1 - p))
    lam = float(lams[int(np.argmin(loss))])
    return fit_logit(X, y_up, lam, l1, tol), loss


@dataclass(frozen=True)
class CalibratedLogit:
    """Calibrated ``P(up)`` of one training window: scikit-learn's ``CalibratedClassifierCV`` fitted on the
    window's time-ordered (train, calibration) splits, or the raw fit when no split could be used."""

    raw: LogitFit
    method: str
    splits: tuple[tuple[np.ndarray, np.ndarray], ...]  # the splits used (row positions in the window)
    model: object | None  # the fitted ``CalibratedClassifierCV``; None: no usable split

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if self.model is None:
            return self.raw.predict_proba(X)
        return self.model.predict_proba(X)[:, 1]


def usable_calibration_splits(y_up: np.ndarray, splits) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The splits whose training and calibration parts both hold both classes (a one-class part can fit
    no logistic regression, and an isotonic map calibrated on one class is the constant 0 or 1)."""
    yb = np.asarray(y_up).astype(int)
    both = lambda rows: rows.size > 0 and yb[rows].min() != yb[rows].max()  # noqa: E731
    return tuple((tr, ca) for tr, ca in splits if both(tr) and both(ca))


def calibrate_logit(fit: LogitFit, X: np.ndarray, y_up: np.ndarray, splits, l1: bool, method: str = "sigmoid",
                    tol: float = 1e-6) -> CalibratedLogit:
    """Calibrate the fold's logistic model inside its training window ``X`` only (Niculescu-Mizil &
    Caruana 2005, "Predicting good probabilities with supervised learning", ICML).

    ``CalibratedClassifierCV(Pipeline(StandardScaler(), logit_estimator(fit.penalty, n, l1)),
    cv=splits, method=method, ensemble=True)``: for each time-ordered split ``(train, calibration)`` (row
    positions of ``X``; the fold's forward-chaining inner splits, never a shuffled K-fold) a copy of the
    fold's estimator is fitted on the training part (its scaler too) and a map from its logit
    ``eta = b0 + z'b`` to ``P(up)`` on the calibration part, which lies after it in time:

    * ``sigmoid`` (Platt 1999, "Probabilistic outputs for support vector machines"):
      ``P = 1 / (1 + exp(a eta + b))``, two parameters fitted by maximum likelihood on Platt's smoothed
      targets (``(n+ + 1) / (n+ + 2)``, ``1 / (n- + 2)``);
    * ``isotonic`` (Zadrozny & Elkan 2002, KDD): the non-decreasing step function of ``eta`` of least
      squares (pool-adjacent-violators), clipped outside the calibration range.

    The calibrated probability is the average over the splits of their calibrated models. The estimator
    is the fold's own (``C = 1 / (lam n)``, ``n`` the window's rows), so on an inner training part of
    ``m < n`` rows the per-observation penalty is ``lam n / m``: the calibrator learns, and undoes, the
    shrinkage of exactly the estimators it is applied to. Splits with a one-class part are skipped
    (``usable_calibration_splits``); with none left the raw probabilities are returned unchanged.
    """
    if method not in CALIBRATION_METHODS:
        raise ValueError(f"calibration method must be one of {CALIBRATION_METHODS}, not {method!r}")
    yb = np.asarray(y_up).astype(int)
    used = usable_calibration_splits(yb, splits)
    if not used:
        return CalibratedLogit(fit, method, (), None)
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    estimator = make_pipeline(StandardScaler(), logit_estimator(fit.penalty, len(yb), l1, tol))
    model = CalibratedClassifierCV(estimator, method=method, cv=list(used), ensemble=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, yb)
    if method == "sigmoid":
        # scikit-learn stops its L-BFGS at gtol 1e-6: inputs equal to the last bits (one sum in another order)
        # could stop it one iteration apart, 2.5e-9 apart in P(up) (the DuckLake demo against the file's).
        # Newton's method from there reaches the maximum of the same likelihood to machine precision.
        for calibrated, (_, cal) in zip(model.calibrated_classifiers_, used, strict=True):
            sigmoid = calibrated.calibrators[0]
            eta = calibrated.estimator.decision_function(X[cal])
            sigmoid.a_, sigmoid.b_ = platt_newton(eta, yb[cal], sigmoid.a_, sigmoid.b_)
    return CalibratedLogit(fit, method, used, model)


def platt_newton(eta: np.ndarray, y: np.ndarray, a: float, b: float, max_iter: int = 50) -> tuple[float, float]:
    """Platt's ``P = 1 / (1 + exp(a eta + b))`` fitted by maximum likelihood on his smoothed targets
    ``T = (n+ + 1) / (n+ + 2)`` for ups and ``1 / (n- + 2)`` for downs (Platt 1999; Lin, Lin & Weng 2007,
    "A note on Platt's probabilistic outputs"), by Newton's method from ``(a, b)``.

    With ``z = a eta + b`` the negative log-likelihood ``sum T log(1 + e^z) + (1 - T) log(1 + e^-z)`` has
    gradient ``sum (T - P) (eta, 1)`` and Hessian ``sum P (1 - P) (eta, 1)(eta, 1)'``: convex, so Newton
    (halving a large step that does not lower it) converges quadratically; it stops when a step no longer
    moves the parameters beyond rounding."""
    eta = np.asarray(eta, dtype=float)
    up = np.asarray(y).astype(bool)
    n_up = int(up.sum())
    t = np.where(up, (n_up + 1.0) / (n_up + 2.0), 1.0 / (up.size - n_up + 2.0))

    def loss(a_: float, b_: float) -> float:
        z = a_ * eta + b_
        return float(np.sum(t * np.logaddexp(0.0, z) + (1.0 - t) * np.logaddexp(0.0, -z)))

    ab, current = np.array([a, b], dtype=float), loss(a, b)
    for _ in range(max_iter):
        p = 0.5 * (1.0 - np.tanh(0.5 * (ab[0] * eta + ab[1])))  # 1 / (1 + e^z) without overflow
        r, w = t - p, p * (1.0 - p)
        grad = np.array([r @ eta, r.sum()])
        hess = np.array([[w @ (eta * eta), w @ eta], [w @ eta, w.sum()]])
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        scale, trial, value = 1.0, ab - step, current
        # near the maximum a step changes the loss below its rounding: taken whole (Newton's own region)
        if np.any(np.abs(step) > 1e-6 * np.maximum(1.0, np.abs(ab))):
            while scale > 1e-8:
                trial = ab - scale * step
                value = loss(*trial)
                if value <= current:
                    break
                scale *= 0.5
            else:
                break
        moved = np.abs(trial - ab) > 4 * np.finfo(float).eps * np.maximum(1.0, np.abs(ab))
        ab, current = trial, value
        if not moved.any():
            break
    return float(ab[0]), float(ab[1])


def glmnet_to_sklearn(lam: float, alpha: float, sd_y: float) -> tuple[float, float]:
    """Map glmnet's gaussian ``(lambda, alpha)`` to scikit-learn ``ElasticNet(alpha=a, l1_ratio=r)``.

    glmnet penalises ``lambda * (alpha ||b||_1 + (1 - alpha) / 2 ||b||^2)`` but computes the ridge part on
    ``y`` scaled to unit (population, 1/n) variance, so on the original ``y`` the L2 weight is divided by
    ``sd(y)``: ``a r = lambda alpha`` and ``a (1 - r) = lambda (1 - alpha) / sd_y`` (methodology.md).
    ``r = 0`` (pure ridge) equals ``Ridge(alpha=n * a)``.
    """
    a = lam * alpha + lam * (1.0 - alpha) / sd_y
    return a, lam * alpha / a
