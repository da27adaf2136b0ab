"""What the walk-forward hands to the strategies: calibrated P(up) and standard errors of the return forecasts.

Oracles: statsmodels ``get_prediction().se_mean`` (OLS, OLS on the Lasso / Elastic Net active set), a
hand-built numpy sandwich (Ridge), a plain ``CalibratedClassifierCV`` refitted on each training window
(the calibrated probabilities), scikit-learn's ``log_loss`` and ``calibration_curve`` (the metrics). No
leakage: labels of a test block and everything after a fold leave that fold's outputs bitwise unchanged.
A planted miscalibration (a heavily shrunk logistic fit) is repaired out of sample.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cryptofactor_assets.prediction import metrics as M
from cryptofactor_assets.prediction import models as mdl
from cryptofactor_assets.prediction.walk_forward import (
    WalkForwardConfig,
    make_folds,
    make_panel,
    ridge_walk_forward,
    run_walk_forward,
)

# the walk-forward tests' simulated panel; its fixtures (panel, result) are in conftest.py
from cryptofactor_assets_tests.prediction.test_prediction_walk_forward import (
    FEATURES,
    LOCS,
    SDS,
    SMALL,
    _rows,
    sim_panel,
)


def _fold_predictions(result, name, fold):
    p = result.runs[name].predictions
    return p[p["fold"] == fold]


def _with_constant(X):
    return sm.add_constant(X, has_constant="add")


# ---------------------------------------------------------------- standard errors of the return forecasts


def test_ols_forecast_se_equals_statsmodels(panel, result):
    for f in result.folds[::3]:
        tr, te = _rows(panel, *f.train), _rows(panel, *f.test)
        fit = sm.OLS(panel.y[tr], _with_constant(panel.X[tr])).fit()
        expected = fit.get_prediction(_with_constant(panel.X[te])).se_mean
        got = _fold_predictions(result, "ols", f.index)["forecast_se"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=0)


def _ridge_sandwich_se(X, y, X_new, lam):
    """The Ridge fitted-mean se by hand: augmented design [1, Z], penalty n lam on the slopes only."""
    n, p = X.shape
    mean, sd = X.mean(axis=0), X.std(axis=0)
    X1 = np.column_stack([np.ones(n), (X - mean) / sd])
    X1_new = np.column_stack([np.ones(len(X_new)), (X_new - mean) / sd])
    A = X1.T @ X1 + n * lam * np.diag([0.0] + [1.0] * p)
    A_inv = np.linalg.inv(A)
    b = A_inv @ X1.T @ y
    hat = X1 @ A_inv @ X1.T
    df = np.trace(hat)
    s2 = np.sum((y - X1 @ b) ** 2) / (n - df)
    V = s2 * A_inv @ (X1.T @ X1) @ A_inv
    return np.sqrt(np.einsum("ij,jk,ik->i", X1_new, V, X1_new)), df


def test_ridge_forecast_se_equals_a_hand_computed_sandwich(panel, result):
    run = result.runs["ridge"]
    penalties = run.fold_metrics.set_index("fold")["penalty"]
    rf = ridge_walk_forward(panel, result.folds, result.config.ridge_lambdas)
    for i, f in enumerate(result.folds):
        tr, te = _rows(panel, *f.train), _rows(panel, *f.test)
        expected, df = _ridge_sandwich_se(panel.X[tr], panel.y[tr], panel.X[te], penalties.loc[f.index])
        got = _fold_predictions(result, "ridge", f.index)["forecast_se"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=0)
        np.testing.assert_allclose(rf.df[i], df, rtol=1e-9)
        assert 1 < rf.df[i] < 1 + len(FEATURES)  # shrinkage costs fewer than p + 1 degrees of freedom


def test_ridge_se_without_penalty_is_the_ols_se(panel, result):
    """The Gram (sufficient statistics) path at lambda = 0 reproduces statsmodels' classical OLS se."""
    rf = ridge_walk_forward(panel, result.folds, 0.0)
    for k in range(0, len(result.folds), 4):
        f = result.folds[k]
        tr, te = _rows(panel, *f.train), _rows(panel, *f.test)
        Z = (panel.X[te] - rf.mean[k]) / rf.scale[k]
        expected = sm.OLS(panel.y[tr], _with_constant(panel.X[tr])).fit().get_prediction(
            _with_constant(panel.X[te])).se_mean
        np.testing.assert_allclose(rf.forecast_se(k, Z), expected, rtol=1e-8, atol=0)
        assert rf.df[k] == pytest.approx(1 + len(FEATURES), rel=1e-12)


@pytest.mark.parametrize("name", ["lasso", "elastic_net"])
def test_sparse_forecast_se_equals_statsmodels_ols_on_the_active_set(panel, result, name):
    run = result.runs[name]
    sizes = set()
    for f in result.folds:
        tr, te = _rows(panel, *f.train), _rows(panel, *f.test)
        active = run.coefs.loc[f.index].to_numpy() != 0
        sizes.add(int(active.sum()))
        fit = sm.OLS(panel.y[tr], _with_constant(panel.X[tr][:, active])).fit()
        expected = fit.get_prediction(_with_constant(panel.X[te][:, active])).se_mean
        got = _fold_predictions(result, name, f.index)["forecast_se"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=0)
    assert min(sizes) < len(FEATURES)  # the active set is a strict subset somewhere (the test can fail)


def test_empty_active_set_gives_the_intercept_only_se():
    rng = np.random.default_rng(5)
    y = rng.standard_normal(40)
    se = mdl.ols_mean_se(np.zeros((40, 0)), y, np.zeros((3, 0)))
    np.testing.assert_allclose(se, np.full(3, y.std(ddof=1) / np.sqrt(40)), rtol=1e-12)
    # ... and the walk-forward uses it when the Lasso drops every feature (a null panel)
    df = sim_panel(T=60, N=20, beta=np.zeros(5), seed=21)
    pan = make_panel(df, FEATURES)
    res = run_walk_forward(pan, WalkForwardConfig(**SMALL), models=("lasso",))
    run = res.runs["lasso"]
    empty = [f for f in res.folds if not run.coefs.loc[f.index].any()]
    assert empty, "no fold with an empty active set"
    for f in empty:
        tr = _rows(pan, *f.train)
        got = _fold_predictions(res, "lasso", f.index)["forecast_se"].to_numpy()
        np.testing.assert_allclose(got, pan.y[tr].std(ddof=1) / np.sqrt(tr.size), rtol=1e-10)


def test_se_grows_with_the_distance_from_the_training_mean(panel, result):
    """se^2 = s^2 (1/n + z'Mz): smallest at the training mean, where it equals s / sqrt(n)."""
    f = result.folds[-1]
    run = result.runs["ols"]
    tr = _rows(panel, *f.train)
    mean = run.scaler_mean.loc[f.index].to_numpy()
    scale = run.scaler_scale.loc[f.index].to_numpy()
    z_tr = (panel.X[tr] - mean) / scale
    probe = np.vstack([np.zeros(len(FEATURES)), np.eye(len(FEATURES))[0] * 3])
    se = mdl.ols_mean_se(z_tr, panel.y[tr], probe)
    s = np.sqrt(sm.OLS(panel.y[tr], _with_constant(panel.X[tr])).fit().scale)
    assert se[0] == pytest.approx(s / np.sqrt(tr.size), rel=1e-9) and se[1] > se[0]


def test_direction_rows_have_no_se_and_return_rows_no_calibrated_probability(result):
    for name, run in result.runs.items():
        cols = set(run.predictions.columns)
        if name.startswith("logit"):
            assert "p_up_calibrated" in cols and "forecast_se" not in cols
        else:
            assert "forecast_se" in cols and "p_up_calibrated" not in cols
            assert (run.predictions["forecast_se"] > 0).all() and np.isfinite(run.predictions["forecast_se"]).all()


# ---------------------------------------------------------------- calibrated probabilities


def _platt_glm(eta: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt's (a, b) as statsmodels' GLM (binomial, logit link, IRLS) on his smoothed targets: an exact
    maximum-likelihood oracle independent of scikit-learn's L-BFGS and of ``models.platt_newton``."""
    n_up = int(y.sum())
    t = np.where(y > 0, (n_up + 1.0) / (n_up + 2.0), 1.0 / (y.size - n_up + 2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fractional targets: statsmodels warns, the likelihood is the same
        fit = sm.GLM(t, np.column_stack([eta, np.ones_like(eta)]), family=sm.families.Binomial()).fit(tol=1e-15)
    return -float(fit.params[0]), -float(fit.params[1])  # P = 1 / (1 + exp(a eta + b)) = expit(-(a eta + b))


def _sklearn_calibrated(panel, f, lam, l1, method, exact_platt=False):
    """A plain CalibratedClassifierCV on fold f's window: the fold's estimator, cv = its inner splits.
    ``exact_platt``: each split's sigmoid refitted to the exact maximum likelihood (``_platt_glm``)."""
    tr, te = _rows(panel, *f.train), _rows(panel, *f.test)
    splits = [(_rows(panel, a, b) - tr[0], _rows(panel, c, d) - tr[0]) for (a, b), (c, d) in f.inner]
    for t, c in splits:  # time-ordered: every calibration row lies after every inner training row
        assert panel.codes[tr[t]].max() < panel.codes[tr[c]].min() and c.max() < tr.size
    solver = dict(l1_ratio=1.0, solver="saga", random_state=0) if l1 else dict(l1_ratio=0.0, solver="newton-cholesky")
    est = make_pipeline(StandardScaler(), LogisticRegression(C=1.0 / (lam * tr.size), tol=1e-6, max_iter=5000,
                                                             **solver))
    X, y = panel.X[tr], (panel.y[tr] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = CalibratedClassifierCV(estimator=est, cv=splits, method=method).fit(X, y)
    if exact_platt:
        for calibrated, (_, rows) in zip(cal.calibrated_classifiers_, splits, strict=True):
            sigmoid = calibrated.calibrators[0]
            sigmoid.a_, sigmoid.b_ = _platt_glm(calibrated.estimator.decision_function(X[rows]), y[rows])
    return cal.predict_proba(panel.X[te])[:, 1]


@pytest.mark.parametrize("name,l1", [("logit_l1", True), ("logit_l2", False)])
def test_calibrated_fold_equals_a_plain_calibrated_classifier_cv(panel, result, name, l1):
    run = result.runs[name]
    fm = run.fold_metrics.set_index("fold")
    for f in result.folds[::3]:
        got = _fold_predictions(result, name, f.index)["p_up_calibrated"].to_numpy()
        lam = fm.loc[f.index, "penalty"]
        # the sigmoid at its exact maximum likelihood (models.platt_newton, checked against statsmodels' IRLS)
        np.testing.assert_allclose(got, _sklearn_calibrated(panel, f, lam, l1, "sigmoid", exact_platt=True),
                                   rtol=0, atol=1e-10)
        # scikit-learn's own sigmoid stops its L-BFGS at gtol 1e-6: equal within that
        np.testing.assert_allclose(got, _sklearn_calibrated(panel, f, lam, l1, "sigmoid"), rtol=0, atol=1e-6)
        assert fm.loc[f.index, "n_calibration_splits"] == len(f.inner)


@pytest.mark.parametrize("scale,n", [(2.0, 300), (0.1, 50), (5.0, 2000), (30.0, 40)])
def test_platt_newton_reaches_the_exact_maximum_likelihood(scale, n):
    from sklearn.calibration import _SigmoidCalibration

    rng = np.random.default_rng(n)
    eta = scale * rng.standard_normal(n)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(0.8 * eta + 0.3)))).astype(int)
    exact = _platt_glm(eta, y)
    start = _SigmoidCalibration().fit(eta, y)  # where calibrate_logit starts it: scikit-learn's L-BFGS
    for a0, b0 in ((start.a_, start.b_), (0.0, 0.0)):  # and from a cold start
        np.testing.assert_allclose(mdl.platt_newton(eta, y, a0, b0), exact, rtol=1e-12, atol=1e-14)


def test_isotonic_calibration_equals_a_plain_calibrated_classifier_cv(panel):
    res = run_walk_forward(panel, WalkForwardConfig(**{**SMALL, "calibration_method": "isotonic"}),
                           models=("logit_l2",))
    run = res.runs["logit_l2"]
    fm = run.fold_metrics.set_index("fold")
    for f in res.folds[::2]:
        got = _fold_predictions(res, "logit_l2", f.index)["p_up_calibrated"].to_numpy()
        expected = _sklearn_calibrated(panel, f, fm.loc[f.index, "penalty"], False, "isotonic")
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def test_unknown_calibration_method_is_refused():
    with pytest.raises(ValueError, match="calibration_method"):
        WalkForwardConfig(calibration_method="beta")


def test_one_class_splits_are_skipped_and_none_left_means_raw():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2))
    y = (rng.random(60) < 0.5).astype(int)
    y[:20] = 1  # the first split's training part holds one class only
    splits = [(np.arange(0, 20), np.arange(20, 40)), (np.arange(0, 40), np.arange(40, 60))]
    assert [len(t) for t, _ in mdl.usable_calibration_splits(y, splits)] == [40]
    fit = mdl.fit_logit(X, y, 0.01, l1=False)
    cal = mdl.calibrate_logit(fit, X, y, splits, l1=False)
    assert len(cal.splits) == 1
    raw = mdl.calibrate_logit(fit, X, y, splits[:1], l1=False)
    assert raw.model is None
    np.testing.assert_array_equal(raw.predict_proba(X), fit.predict_proba(X))


# ---------------------------------------------------------------- no leakage


@pytest.fixture(scope="module")
def small_df():
    return sim_panel(T=70, N=20, seed=3)


SMALL_CFG = WalkForwardConfig(**{**SMALL, "min_train_periods": 30, "test_periods": 5})
_NEW = {"logit_l1": "p_up_calibrated", "logit_l2": "p_up_calibrated", "ols": "forecast_se", "ridge": "forecast_se",
        "lasso": "forecast_se", "elastic_net": "forecast_se"}


@pytest.fixture(scope="module")
def small_base(small_df):
    return run_walk_forward(make_panel(small_df, FEATURES), SMALL_CFG)


def test_test_block_labels_do_not_reach_their_own_calibration(small_df, small_base):
    k = 2
    f = small_base.folds[k]
    weeks = np.sort(small_df["week_start"].unique())
    bad = small_df.copy()
    block = (bad["week_start"] >= weeks[f.test[0]]) & (bad["week_start"] < weeks[f.test[1]])
    bad.loc[block, "y_next"] = -bad.loc[block, "y_next"] * 4 + 0.3  # flips the block's up / down labels
    new = run_walk_forward(make_panel(bad, FEATURES), SMALL_CFG)
    for name, col in _NEW.items():
        old_p, new_p = small_base.runs[name].predictions, new.runs[name].predictions
        upto = old_p["fold"] <= k
        np.testing.assert_array_equal(old_p.loc[upto, col].to_numpy(), new_p.loc[upto, col].to_numpy(), err_msg=name)
        # later folds train on the block: they do change (so this test can fail)
        assert not np.allclose(old_p.loc[~upto, col].to_numpy(), new_p.loc[~upto, col].to_numpy()), name


def test_data_after_a_fold_leave_its_calibration_and_se_unchanged(small_df, small_base):
    k = 2
    f = small_base.folds[k]
    weeks = np.sort(small_df["week_start"].unique())
    rng = np.random.default_rng(9)
    bad = small_df.copy()
    fut_y = bad["week_start"] >= weeks[f.test[0]]
    bad.loc[fut_y, "y_next"] = rng.permutation(bad.loc[fut_y, "y_next"].to_numpy()) * 3 + 0.05
    fut_x = bad["week_start"] >= weeks[f.test[1]]
    bad.loc[fut_x, FEATURES] = rng.standard_normal((int(fut_x.sum()), len(FEATURES))) * 10
    new = run_walk_forward(make_panel(bad, FEATURES), SMALL_CFG)
    for name, col in _NEW.items():
        old_p, new_p = small_base.runs[name].predictions, new.runs[name].predictions
        past = old_p["fold"] <= k
        np.testing.assert_array_equal(old_p.loc[past, col].to_numpy(), new_p.loc[past, col].to_numpy(), err_msg=name)
        assert not np.allclose(old_p.loc[~past, col].to_numpy(), new_p.loc[~past, col].to_numpy()), name
    old_fm = small_base.runs["logit_l2"].fold_metrics.set_index("fold")
    new_fm = new.runs["logit_l2"].fold_metrics.set_index("fold")
    # fold k's own score reads its (perturbed) test labels: the folds before it are unchanged
    np.testing.assert_array_equal(old_fm.loc[:k - 1, "brier_calibrated"], new_fm.loc[:k - 1, "brier_calibrated"])


# ---------------------------------------------------------------- planted miscalibration


def planted_direction_panel(T=110, N=40, beta=(0.9, -0.7, 0.5, 0.0, 0.0), seed=31):
    """y_next = +-|e| with P(up) = sigmoid(eta), eta = z'beta (z standardised features, independent rows)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((T, N, len(FEATURES)))
    p_true = 1.0 / (1.0 + np.exp(-(z @ np.asarray(beta))))
    up = rng.random((T, N)) < p_true
    y = np.where(up, 1.0, -1.0) * (0.01 + rng.exponential(0.05, (T, N)))
    weeks = pd.date_range("2020-01-06", periods=T, freq="7D")
    df = pd.DataFrame({"symbol": np.tile([f"C{i:02d}" for i in range(N)], T), "week_start": np.repeat(weeks, N)})
    X = LOCS + SDS * z
    for j, name in enumerate(FEATURES):
        df[name] = X[:, :, j].ravel()
    df["y_next"] = y.ravel()
    return df


@pytest.fixture(scope="module")
def shrunk():
    """A heavy L2 penalty (lam = 0.3 per observation) shrinks P(up) towards 0.5: under-confident."""
    cfg = WalkForwardConfig(min_train_periods=40, test_periods=10, n_inner_splits=3, logit_lambdas=(0.3,))
    return run_walk_forward(make_panel(planted_direction_panel(), FEATURES), cfg, models=("logit_l2",))


def _ece(table):
    return float(np.sum(table["n"] * np.abs(table["mean_predicted"] - table["realised_freq"])) / table["n"].sum())


def test_planted_miscalibration_is_repaired_out_of_sample(shrunk):
    run = shrunk.runs["logit_l2"]
    s = run.summary
    pr = run.predictions
    assert pr["p_up"].std() < 0.5 * pr["p_up_calibrated"].std()  # the raw fit is squeezed towards 0.5
    assert s.brier_calibrated < s.brier - 0.005
    assert s.log_loss_calibrated < s.log_loss - 0.01
    fm = run.fold_metrics
    assert (fm["brier_calibrated"] < fm["brier"]).mean() >= 0.8  # fold by fold too
    # recomputed from the stored forecasts
    y = pr["y_next"].to_numpy() > 0
    assert s.brier_calibrated == pytest.approx(np.mean((pr["p_up_calibrated"] - y) ** 2), rel=1e-12)
    assert s.log_loss == pytest.approx(log_loss(y, pr["p_up"]), rel=1e-10)
    rel = shrunk.calibration_table()
    assert _ece(rel[rel["kind"] == "calibrated"]) < 0.5 * _ece(rel[rel["kind"] == "raw"])


def test_reliability_table_counts_bins_and_means(shrunk):
    run = shrunk.runs["logit_l2"]
    rel = shrunk.calibration_table()
    assert list(rel.columns) == ["model", "kind", "bin", "bin_lower", "bin_upper", "mean_predicted", "realised_freq",
                                 "n"]
    pr = run.predictions
    for kind, col in (("raw", "p_up"), ("calibrated", "p_up_calibrated")):
        t = rel[rel["kind"] == kind]
        assert t["n"].sum() == len(pr) == run.summary.n_test
        assert t["bin"].is_monotonic_increasing and t["bin"].is_unique
        np.testing.assert_allclose(t["bin_lower"], t["bin"] / 10, rtol=0, atol=1e-15)
        np.testing.assert_allclose(t["bin_upper"], (t["bin"] + 1) / 10, rtol=0, atol=1e-15)
        assert ((t["bin_lower"] <= t["mean_predicted"]) & (t["mean_predicted"] <= t["bin_upper"])).all()
        assert t["realised_freq"].between(0, 1).all()
        # the pooled mean of the table equals the mean forecast and the realised frequency overall
        assert np.sum(t["n"] * t["mean_predicted"]) / t["n"].sum() == pytest.approx(pr[col].mean(), rel=1e-12)
        assert np.sum(t["n"] * t["realised_freq"]) / t["n"].sum() == pytest.approx((pr["y_next"] > 0).mean())


# ---------------------------------------------------------------- metrics against scikit-learn


def test_log_loss_and_reliability_table_equal_sklearn():
    rng = np.random.default_rng(2)
    p = rng.beta(2, 2, 500)
    y = (rng.random(500) < p).astype(int)
    assert M.log_loss(y, p) == pytest.approx(log_loss(y, p), rel=1e-12)
    assert M.log_loss(np.array([1, 0]), np.array([1.0, 0.0])) == pytest.approx(-np.log(1 - 1e-12))  # clipped
    t = M.reliability_table(y, p, n_bins=10)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(t["realised_freq"], prob_true, rtol=1e-12)
    np.testing.assert_allclose(t["mean_predicted"], prob_pred, rtol=1e-12)
    # edges: 0 in the first bin, 1 in the last, an inner edge opens its upper bin
    edge = M.reliability_table(np.array([0, 1, 1]), np.array([0.0, 1.0, 0.5]), n_bins=10)
    assert edge["bin"].tolist() == [0, 5, 9] and edge["n"].tolist() == [1, 1, 1]


def test_make_folds_unchanged_by_calibration_settings():
    a = make_folds(80, WalkForwardConfig(min_train_periods=30))
    b = make_folds(80, WalkForwardConfig(min_train_periods=30, calibration_method="isotonic", calibration_bins=5))
    assert a == b
