"""Walk-forward prediction: estimator equality with scikit-learn / statsmodels, no leakage, planted signal."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge, enet_path
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cryptofactor_assets.prediction import models as mdl
from cryptofactor_assets.prediction.walk_forward import (
    WalkForwardConfig,
    make_folds,
    make_panel,
    model_comparison,
    ridge_walk_forward,
    run_walk_forward,
)

FEATURES = [f"f{j}" for j in range(5)]
LOCS = np.array([0.0, 5.0, 1.0, 0.0, 20.0])  # non-zero means (e.g. log market cap) test the centring
SDS = np.array([1.0, 2.0, 0.5, 1.0, 3.0])


def sim_panel(T=90, N=30, beta=(0.03, 0.0, 0.0, -0.02, 0.0), sigma=0.1, seed=0, missing=0.1):
    """Coin-week panel with y_next = z' beta + noise (z = standardised features), some rows missing."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((T, N, len(FEATURES)))
    y = z @ np.asarray(beta) + sigma * rng.standard_normal((T, N))
    weeks = pd.date_range("2021-01-04", periods=T, freq="7D")
    df = pd.DataFrame({"symbol": np.tile([f"C{i:02d}" for i in range(N)], T), "week_start": np.repeat(weeks, N)})
    X = LOCS + SDS * z
    for j, f in enumerate(FEATURES):
        df[f] = X[:, :, j].ravel()
    df["y_next"] = y.ravel()
    keep = rng.random(len(df)) >= missing
    return df[keep].reset_index(drop=True)


SMALL = dict(min_train_periods=30, test_periods=6, n_inner_splits=3, n_alphas=8,
             logit_lambdas=(1e-3, 1e-2, 1e-1), ridge_lambdas=tuple(np.logspace(-4, 1, 11)))


def _rows(panel, start, end):
    return np.flatnonzero((panel.codes >= start) & (panel.codes < end))


# ---------------------------------------------------------------- folds


@pytest.mark.parametrize("scheme", ["expanding", "rolling"])
@pytest.mark.parametrize("embargo", [0, 1, 3])
def test_folds_respect_embargo_and_stay_inside_training(scheme, embargo):
    cfg = WalkForwardConfig(scheme=scheme, min_train_periods=30, window_periods=25, embargo=embargo,
                            test_periods=5, n_inner_splits=3)
    folds = make_folds(100, cfg)
    prev_end = None
    for f in folds:
        assert f.train[1] + embargo == f.test[0]
        assert f.train[0] == (0 if scheme == "expanding" else f.train[1] - 25)
        assert prev_end is None or prev_end == f.test[0]  # contiguous, non-overlapping test blocks
        prev_end = f.test[1]
        for (a, b), (c, d) in f.inner:
            assert f.train[0] <= a < b and b + embargo == c and c < d <= f.train[1]
    assert folds[-1].test[1] == 100


def test_too_short_window_raises():
    with pytest.raises(ValueError, match="too short"):
        make_folds(100, WalkForwardConfig(min_train_periods=5, n_inner_splits=3, embargo=1))


# ---------------------------------------------------------------- estimators against oracles


@pytest.mark.parametrize("scheme", ["expanding", "rolling"])
def test_ridge_sufficient_statistics_equal_sklearn_each_fold(panel, scheme):
    cfg = WalkForwardConfig(scheme=scheme, min_train_periods=30, window_periods=30, test_periods=3)
    folds = make_folds(panel.periods.size, cfg)
    rf = ridge_walk_forward(panel, folds, 0.05)
    for i, f in enumerate(folds):
        tr = _rows(panel, *f.train)
        pipe = make_pipeline(StandardScaler(), Ridge(alpha=0.05 * tr.size)).fit(panel.X[tr], panel.y[tr])
        np.testing.assert_allclose(rf.coef[i], pipe[-1].coef_, rtol=0, atol=1e-8)
        np.testing.assert_allclose(rf.intercept[i], pipe[-1].intercept_, rtol=0, atol=1e-10)
        np.testing.assert_allclose(rf.mean[i], pipe[0].mean_, rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(rf.scale[i], pipe[0].scale_, rtol=1e-10)
        te = _rows(panel, *f.test)
        ours = panel.X[te] @ rf.raw_coef[i] + rf.raw_intercept[i]
        np.testing.assert_allclose(ours, pipe.predict(panel.X[te]), rtol=0, atol=1e-10)
        pred_is = pipe.predict(panel.X[tr])
        np.testing.assert_allclose(rf.is_sse[i], np.sum((panel.y[tr] - pred_is) ** 2), rtol=1e-8)


def test_ridge_cv_penalty_equals_brute_force_sklearn(panel, result):
    """The Gram-based inner CV picks the same penalty as refitting sklearn on every inner split."""
    rf = ridge_walk_forward(panel, result.folds, WalkForwardConfig(**SMALL).ridge_lambdas)
    for i in [0, len(result.folds) // 2, len(result.folds) - 1]:
        f = result.folds[i]
        mse = []
        for lam in rf.lambdas:
            sse = n = 0
            for (a, b), (c, d) in f.inner:
                tr, va = _rows(panel, a, b), _rows(panel, c, d)
                pipe = make_pipeline(StandardScaler(), Ridge(alpha=lam * tr.size)).fit(panel.X[tr], panel.y[tr])
                sse += np.sum((panel.y[va] - pipe.predict(panel.X[va])) ** 2)
                n += va.size
            mse.append(sse / n)
        np.testing.assert_allclose(rf.cv_mse[i], mse, rtol=1e-9)
        assert rf.lam[i] == rf.lambdas[int(np.argmin(mse))]
    assert np.array_equal(result.runs["ridge"].coefs.to_numpy(), rf.coef)


def test_ols_equals_statsmodels(panel, result):
    run = result.runs["ols"]
    for f in result.folds[::3]:
        tr = _rows(panel, *f.train)
        sm_fit = sm.OLS(panel.y[tr], sm.add_constant(panel.X[tr])).fit()
        raw = run.raw_coefs.loc[f.index]
        np.testing.assert_allclose(raw[FEATURES].to_numpy(), sm_fit.params[1:], rtol=0, atol=1e-8)
        np.testing.assert_allclose(raw["intercept"], sm_fit.params[0], rtol=0, atol=1e-8)


@pytest.mark.parametrize("name,l1_ratio", [("lasso", 1.0), ("elastic_net", 0.5)])
def test_enet_equals_sklearn_and_cv_choice(panel, result, name, l1_ratio):
    run = result.runs[name]
    cfg = result.config
    for f in result.folds[::4]:
        tr = _rows(panel, *f.train)
        alpha = run.fold_metrics.set_index("fold").loc[f.index, "penalty"]
        pipe = make_pipeline(StandardScaler(), ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-10,
                                                          max_iter=100_000)).fit(panel.X[tr], panel.y[tr])
        np.testing.assert_allclose(run.coefs.loc[f.index].to_numpy(), pipe[-1].coef_, atol=1e-6)
        # the chosen alpha minimises the pooled inner-validation MSE of independently fitted ElasticNets
        grid = mdl.enet_grid(panel.X[tr], panel.y[tr], l1_ratio, cfg.n_alphas, cfg.alpha_eps)
        mse = []
        for a in grid:
            sse = n = 0
            for (i0, i1), (v0, v1) in f.inner:
                itr, va = _rows(panel, i0, i1), _rows(panel, v0, v1)
                p = make_pipeline(StandardScaler(), ElasticNet(alpha=a, l1_ratio=l1_ratio, tol=1e-10,
                                                               max_iter=100_000)).fit(panel.X[itr], panel.y[itr])
                sse += np.sum((panel.y[va] - p.predict(panel.X[va])) ** 2)
                n += va.size
            mse.append(sse / n)
        mse = np.array(mse)
        chosen = int(np.flatnonzero(np.isclose(grid, alpha, rtol=1e-12))[0])
        assert mse[chosen] <= mse.min() * (1 + 1e-6)


@pytest.mark.parametrize("name,l1", [("logit_l1", True), ("logit_l2", False)])
def test_logit_equals_sklearn(panel, result, name, l1):
    run = result.runs[name]
    for f in result.folds[::4]:
        tr = _rows(panel, *f.train)
        lam = run.fold_metrics.set_index("fold").loc[f.index, "penalty"]
        z = StandardScaler().fit_transform(panel.X[tr])
        solver = dict(l1_ratio=1.0, solver="saga") if l1 else dict(l1_ratio=0.0, solver="lbfgs")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = LogisticRegression(C=1 / (lam * tr.size), tol=1e-10, max_iter=100_000, **solver).fit(
                z, (panel.y[tr] > 0).astype(int))
        np.testing.assert_allclose(run.coefs.loc[f.index].to_numpy(), m.coef_[0], atol=2e-4)
        p = run.predictions[run.predictions["fold"] == f.index]["p_up"].to_numpy()
        te = _rows(panel, *f.test)
        z_te = (panel.X[te] - run.scaler_mean.loc[f.index].to_numpy()) / run.scaler_scale.loc[f.index].to_numpy()
        np.testing.assert_allclose(p, m.predict_proba(z_te)[:, 1], atol=1e-4)


def test_glmnet_outside_oracle_penalty_mapping():
    """R glmnet elastic-net fits shipped with statsmodels reproduce with our (lambda, alpha) mapping."""
    res = pytest.importorskip("statsmodels.regression.tests.results.glmnet_r_results")
    data = np.loadtxt(Path(res.__file__).parent / "lasso_data.csv", delimiter=",")
    checked = 0
    for name in [x for x in dir(res) if x.startswith("rslt_")]:
        v = getattr(res, name)
        n, p, al, lam, params = int(v[0]), int(v[1]), float(v[2]), float(v[3]), v[4:]
        y, X = data[:n, 0], data[:n, 1:p + 1]
        y = (y - y.mean()) / y.std(ddof=1)
        X = (X - X.mean(0)) / X.std(0, ddof=1)
        a, r = mdl.glmnet_to_sklearn(lam, al, y.std())
        if r == 0:
            b = Ridge(alpha=n * a, fit_intercept=False).fit(X, y).coef_
        else:
            b = ElasticNet(alpha=a, l1_ratio=r, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y).coef_
        np.testing.assert_allclose(b, params, atol=2e-5)  # R printed 7 significant digits
        checked += 1
    assert checked == 81


def test_lasso_path_and_selected_features(panel, result):
    path = result.lasso_path
    assert set(path["feature"]) == set(FEATURES)
    alphas = np.sort(path["alpha"].unique())[::-1]
    top = path[path["alpha"] == alphas[0]]
    assert np.all(top["coef"] == 0)  # alpha_max zeroes everything
    tr = _rows(panel, *result.folds[-1].train)
    z = StandardScaler().fit_transform(panel.X[tr])
    _, coefs, _ = enet_path(z, panel.y[tr] - panel.y[tr].mean(), l1_ratio=1.0, alphas=alphas, tol=1e-7)
    np.testing.assert_allclose(path.pivot(index="alpha", columns="feature", values="coef")
                               .loc[alphas, FEATURES].to_numpy(), coefs.T, atol=1e-8)
    sel = result.selected_features.set_index("feature")
    assert sel.loc["f0", "selection_freq"] == 1.0 and sel.loc["f3", "selection_freq"] == 1.0


def test_model_comparison_table(result):
    tab = model_comparison(result)
    assert list(tab["model"]) == ["ols", "ridge", "lasso", "elastic_net", "logit_l1", "logit_l2"]
    for col in ["is_r2", "oos_r2_zero", "oos_r2_mean", "direction_accuracy", "sparsity", "sign_consistency",
                "ic_mean", "ic_t"]:
        assert col in tab
    reg = tab.set_index("model").loc[["ols", "ridge", "lasso", "elastic_net"]]
    assert (reg["oos_r2_zero"] > 0.05).all()  # strong planted signal
    assert tab.set_index("model").loc["ols", "sparsity"] == 0
    assert tab.set_index("model").loc["lasso", "sparsity"] > 0  # three null features get dropped
    assert tab["brier"].notna().sum() == 2
    # pooled OOS R^2 recomputed from the stored predictions
    pr = result.runs["ridge"].predictions
    sse = np.sum((pr["y_next"] - pr["forecast"]) ** 2)
    np.testing.assert_allclose(tab.set_index("model").loc["ridge", "oos_r2_zero"], 1 - sse / np.sum(pr["y_next"] ** 2))
    np.testing.assert_allclose(tab.set_index("model").loc["ridge", "oos_r2_mean"],
                               1 - sse / np.sum((pr["y_next"] - pr["benchmark"]) ** 2))


# ---------------------------------------------------------------- no leakage


def test_scalers_and_benchmarks_use_training_rows_only(panel, result):
    for name, run in result.runs.items():
        for f in result.folds:
            tr = _rows(panel, *f.train)
            np.testing.assert_allclose(run.scaler_mean.loc[f.index].to_numpy(), panel.X[tr].mean(0), rtol=1e-12,
                                       atol=1e-11, err_msg=name)
            np.testing.assert_allclose(run.scaler_scale.loc[f.index].to_numpy(), panel.X[tr].std(0), rtol=1e-10)
        bench = run.predictions.groupby("fold")["benchmark"].first()
        for f in result.folds:
            tr = _rows(panel, *f.train)
            target = panel.y[tr].mean() if name in {"ols", "ridge", "lasso", "elastic_net"} else (panel.y[tr] > 0).mean()
            np.testing.assert_allclose(bench.loc[f.index], target, rtol=1e-12)
    ft = result.fold_table
    assert (ft["train_end"] < ft["test_start"]).all()


@pytest.mark.parametrize("embargo", [0, 1])
def test_perturbing_the_future_leaves_past_predictions_unchanged(embargo):
    df = sim_panel(T=70, N=20, seed=3)
    cfg = WalkForwardConfig(**{**SMALL, "min_train_periods": 30, "test_periods": 5, "embargo": embargo})
    base = run_walk_forward(make_panel(df, FEATURES), cfg)
    k = 2
    f = base.folds[k]
    weeks = np.sort(df["week_start"].unique())
    cut_y, cut_x = weeks[f.test[0]], weeks[f.test[1]]  # targets from fold k's test start, features after it
    rng = np.random.default_rng(9)
    bad = df.copy()
    fut_y = bad["week_start"] >= cut_y
    bad.loc[fut_y, "y_next"] = rng.permutation(bad.loc[fut_y, "y_next"].to_numpy()) * 3 + 0.05
    fut_x = bad["week_start"] >= cut_x
    bad.loc[fut_x, FEATURES] = rng.standard_normal((int(fut_x.sum()), len(FEATURES))) * 10
    new = run_walk_forward(make_panel(bad, FEATURES), cfg)
    for name in base.runs:
        col = "p_up" if name.startswith("logit") else "forecast"
        old_p, new_p = base.runs[name].predictions, new.runs[name].predictions
        past = old_p["fold"] <= k
        np.testing.assert_array_equal(old_p.loc[past, col].to_numpy(), new_p.loc[past, col].to_numpy(), err_msg=name)
        np.testing.assert_array_equal(base.runs[name].fold_metrics["penalty"].to_numpy()[: k + 1],
                                      new.runs[name].fold_metrics["penalty"].to_numpy()[: k + 1])
        # ...and the perturbation does reach later folds (so this test can fail)
        assert not np.allclose(old_p.loc[~past, col].to_numpy(), new_p.loc[~past, col].to_numpy())


def test_embargoed_period_is_not_used():
    """With embargo 1, the target of the week just before the test block must not matter."""
    df = sim_panel(T=60, N=20, seed=4)
    cfg = WalkForwardConfig(**{**SMALL, "embargo": 1})
    base = run_walk_forward(make_panel(df, FEATURES), cfg, models=("ridge", "lasso"))
    f = base.folds[0]
    weeks = np.sort(df["week_start"].unique())
    bad = df.copy()
    bad.loc[bad["week_start"] == weeks[f.test[0] - 1], "y_next"] += 5.0
    new = run_walk_forward(make_panel(bad, FEATURES), cfg, models=("ridge", "lasso"))
    for name in ("ridge", "lasso"):
        a, b = base.runs[name].predictions, new.runs[name].predictions
        np.testing.assert_array_equal(a.loc[a["fold"] == 0, "forecast"], b.loc[b["fold"] == 0, "forecast"])
    # without the embargo the same change does move fold 0
    cfg0 = WalkForwardConfig(**{**SMALL, "embargo": 0, "min_train_periods": 31})
    a = run_walk_forward(make_panel(df, FEATURES), cfg0, models=("ridge",)).runs["ridge"].predictions
    b = run_walk_forward(make_panel(bad, FEATURES), cfg0, models=("ridge",)).runs["ridge"].predictions
    assert not np.allclose(a.loc[a["fold"] == 0, "forecast"], b.loc[b["fold"] == 0, "forecast"])


# ---------------------------------------------------------------- planted signal


def _theory_oos_r2(beta_sq, sigma2, p, n_train, n_test):
    """E[OOS R^2] of OLS with intercept, x ~ N(0, I_p), y = x'beta + e (ratio of expectations).

    Forecast error variance: sigma^2 (1 + 1/n + p / (n - p - 2)) since E[(Xc'Xc)^-1] = I / (n - p - 2)
    (inverse Wishart with n - 1 degrees of freedom). E[y^2] = beta'beta + sigma^2 and
    E[(y - ybar_train)^2] = (beta'beta + sigma^2)(1 + 1/n). Pooled over folds: weights n_test.
    """
    n = np.asarray(n_train, float)
    mse = sigma2 * (1 + 1 / n + p / (n - p - 2))
    w = np.asarray(n_test, float)
    ey2 = beta_sq + sigma2
    r2z = 1 - np.sum(w * mse) / np.sum(w * ey2)
    r2m = 1 - np.sum(w * mse) / np.sum(w * ey2 * (1 + 1 / n))
    return r2z, r2m


def _r2_se(y, f, b):
    """Delta-method standard error of 1 - sum L / sum B for independent rows."""
    L, B = (y - f) ** 2, (y - b) ** 2
    r = 1 - L.sum() / B.sum()
    return np.std(L - (1 - r) * B, ddof=1) * np.sqrt(y.size) / B.sum()


@pytest.mark.parametrize("signal", [True, False])
def test_planted_signal_oos_r2_matches_theory(signal):
    beta = np.array([0.12, -0.1, 0.08, 0.0, 0.1]) if signal else np.zeros(5)
    df = sim_panel(T=150, N=60, beta=beta, sigma=1.0, seed=11 if signal else 12, missing=0.0)
    cfg = WalkForwardConfig(min_train_periods=40, test_periods=10, n_inner_splits=2)
    res = run_walk_forward(make_panel(df, FEATURES), cfg, models=("ols", "ridge"))
    pr = res.runs["ols"].predictions
    fm = res.runs["ols"].fold_metrics
    r2z_th, r2m_th = _theory_oos_r2(beta @ beta, 1.0, 5, fm["n_train"], fm["n_test"])
    y, f, b = pr["y_next"].to_numpy(), pr["forecast"].to_numpy(), pr["benchmark"].to_numpy()
    s = res.runs["ols"].summary
    se_z, se_m = _r2_se(y, f, 0.0), _r2_se(y, f, b)
    assert abs(s.oos_r2_zero - r2z_th) < 4 * se_z
    assert abs(s.oos_r2_mean - r2m_th) < 4 * se_m
    if signal:
        assert r2z_th > 0.03 and s.oos_r2_zero > 4 * se_z  # significantly positive
        assert res.runs["ridge"].summary.oos_r2_zero > 4 * se_z
    else:
        assert r2z_th < 0 and s.oos_r2_zero < 2 * se_z  # not significantly positive
        assert res.runs["ridge"].summary.oos_r2_zero < 2 * se_z
