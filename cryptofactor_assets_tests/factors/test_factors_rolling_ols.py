"""Rolling betas against statsmodels RollingOLS(missing="drop") and per-window lstsq."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from statsmodels.regression.rolling import RollingOLS

from cryptofactor_assets.estimators.rolling_ols import rolling_ols, windowed_sum


def _panel(seed: int = 0, t: int = 360, n: int = 8, k: int = 3):
    """Coins with random gaps, a late listing, a delisting, a coin that never trades, and
    factor rows with NaN."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.001, 0.03, size=(t, k))
    x[[40, 41, t - 12]] = np.nan
    x[min(150, t - 3), k - 1] = np.nan
    b = rng.normal(1, 0.5, size=(k, n))
    y = np.nan_to_num(x) @ b + 0.002 + rng.normal(0, 0.05, size=(t, n)) * rng.uniform(0.5, 2, n)
    y[rng.random((t, n)) < 0.08] = np.nan  # gaps
    y[: min(130, t // 3), 1] = np.nan  # late listing
    y[int(0.7 * t) :, 2] = np.nan  # delisting
    y[100:112, 3] = np.nan  # a two-week outage
    y[:, 4] = np.nan  # never trades
    return y, x


def _statsmodels(y_i, x, window, min_obs, const=True):
    exog = sm.add_constant(x, has_constant="add") if const else x
    mod = RollingOLS(y_i, exog, window=window, min_nobs=min_obs, missing="drop", expanding=True)
    return mod.fit()


@pytest.mark.parametrize("window,min_obs", [(90, 60), (30, 10), (20, 20)])
def test_equals_statsmodels_rolling_ols_drop(window, min_obs):
    y, x = _panel()
    res = rolling_ols(y, x, window=window, min_obs=min_obs)
    assert res.params.shape == (y.shape[0], y.shape[1], 4)
    compared = 0
    for i in range(y.shape[1]):
        if not np.isfinite(y[:, i]).any():
            assert np.isnan(res.params[:, i]).all() and (res.n_obs[:, i] == 0).all()
            continue
        sm_res = _statsmodels(y[:, i], x, window, min_obs)
        p = np.asarray(sm_res.params)
        est = np.isfinite(p).all(axis=1)
        np.testing.assert_array_equal(est, np.isfinite(res.params[:, i]).all(axis=1))
        np.testing.assert_allclose(res.params[est, i], p[est], rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.bse[est, i], np.asarray(sm_res.bse)[est], rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.r2[est, i], np.asarray(sm_res.rsquared)[est], rtol=0, atol=1e-10)
        vol = np.sqrt(np.asarray(sm_res.mse_resid))
        np.testing.assert_allclose(res.resid_vol[est, i], vol[est], rtol=0, atol=1e-10)
        np.testing.assert_array_equal(res.n_obs[est, i], np.asarray(sm_res.nobs)[est])
        compared += est.sum()
    assert compared > 100


def test_expanding_false_statsmodels_agrees_after_first_full_window():
    y, x = _panel(1)
    res = rolling_ols(y, x, window=90, min_obs=60)
    sm_res = RollingOLS(y[:, 0], sm.add_constant(x), window=90, min_nobs=60, missing="drop").fit()
    p = np.asarray(sm_res.params)
    est = np.isfinite(p).all(axis=1)
    assert not est[:89].any() and est[89:].any()
    np.testing.assert_allclose(res.params[est, 0], p[est], rtol=0, atol=1e-10)


def test_equals_per_window_lstsq_and_counts_by_brute_force():
    y, x = _panel(2, t=200, n=5)
    window, min_obs = 50, 30
    res = rolling_ols(y, x, window=window, min_obs=min_obs)
    fx = np.isfinite(x).all(axis=1)
    for i in range(y.shape[1]):
        for t in range(y.shape[0]):
            lo = max(0, t - window + 1)
            use = np.isfinite(y[lo : t + 1, i]) & fx[lo : t + 1]
            assert res.n_obs[t, i] == use.sum()
            if use.sum() < min_obs:
                assert np.isnan(res.params[t, i]).all() and np.isnan(res.resid_vol[t, i])
                continue
            z = np.column_stack([np.ones(use.sum()), x[lo : t + 1][use]])
            yy = y[lo : t + 1, i][use]
            coef, ssr, *_ = np.linalg.lstsq(z, yy, rcond=None)
            np.testing.assert_allclose(res.params[t, i], coef, rtol=0, atol=1e-10)
            e = yy - z @ coef
            assert res.resid_vol[t, i] == pytest.approx(np.sqrt(e @ e / (len(yy) - 4)), abs=1e-12)
            assert res.r2[t, i] == pytest.approx(1 - e @ e / ((yy - yy.mean()) ** 2).sum(), abs=1e-10)


def test_window_is_never_shrunk_and_min_obs_enforced():
    """A coin listed at row 100 gets its first estimate only once min_obs rows are in the
    window, and its windows never reach back past `window` rows."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 1))
    y = 2 * x[:, 0] + rng.normal(size=300) * 0.1
    y[:100] = np.nan
    res = rolling_ols(y, x, window=60, min_obs=40)
    first = np.flatnonzero(np.isfinite(res.params[:, 0, 1]))[0]
    assert first == 100 + 40 - 1
    assert res.n_obs[first, 0] == 40
    assert res.n_obs[:, 0].max() == 60  # never more than the window


def test_no_constant_equals_statsmodels():
    y, x = _panel(4)
    res = rolling_ols(y, x, window=60, min_obs=40, add_constant=False)
    assert res.params.shape[-1] == 3 and res.param_names == ("beta_0", "beta_1", "beta_2")
    for i in (0, 1, 3):
        sm_res = _statsmodels(y[:, i], x, 60, 40, const=False)
        p = np.asarray(sm_res.params)
        est = np.isfinite(p).all(axis=1)
        np.testing.assert_allclose(res.params[est, i], p[est], rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.bse[est, i], np.asarray(sm_res.bse)[est], rtol=0, atol=1e-10)
        # statsmodels uses the uncentred R² without a constant
        np.testing.assert_allclose(res.r2[est, i], np.asarray(sm_res.rsquared)[est], rtol=0, atol=1e-10)


def test_singular_windows_are_nan_not_garbage():
    rng = np.random.default_rng(5)
    t = 200
    x = rng.normal(size=(t, 2))
    x[60:130, 0] = 0.37  # a regressor constant for 70 rows
    x[150:, 1] = 2.0 * x[150:, 0] + 1.0  # collinear regressors at the end
    y = x @ np.array([1.0, -0.5]) + rng.normal(size=t)
    res = rolling_ols(y, x, window=40, min_obs=30)
    # windows fully inside the constant stretch: (t-40, t] within [60, 130)
    assert np.isnan(res.params[99:130, 0]).all()
    assert np.isnan(res.r2[99:130, 0]).all() and np.isnan(res.bse[99:130, 0]).all()
    # windows fully inside the collinear stretch
    assert np.isnan(res.params[189:, 0]).all()
    # windows with variation are estimated, and equal lstsq
    t0 = 50
    z = np.column_stack([np.ones(40), x[t0 - 39 : t0 + 1]])
    np.testing.assert_allclose(res.params[t0, 0], np.linalg.lstsq(z, y[t0 - 39 : t0 + 1], rcond=None)[0], atol=1e-10)
    # a window that contains only a few non-constant rows is still exactly solved
    t1 = 70  # rows 31..70: 29 varying rows of x0 then 11 constant
    z = np.column_stack([np.ones(40), x[t1 - 39 : t1 + 1]])
    np.testing.assert_allclose(res.params[t1, 0], np.linalg.lstsq(z, y[t1 - 39 : t1 + 1], rcond=None)[0], atol=1e-10)


def test_numerically_stable_with_large_means_and_long_history():
    """Regressors with a mean 10^4 times their spread and 20,000 rows: the block sums and the
    causal shift keep ~1e-9 relative accuracy where cumsum-differences on raw data do not."""
    rng = np.random.default_rng(6)
    t = 20_000
    x = 100.0 + 0.01 * rng.normal(size=(t, 1))
    y = 5000.0 + 3.0 * x[:, 0] + 0.01 * rng.normal(size=t)
    res = rolling_ols(y, x, window=50, min_obs=50)
    for t0 in (49, 7_777, t - 1):
        z = np.column_stack([np.ones(50), x[t0 - 49 : t0 + 1, 0]])
        coef = np.linalg.lstsq(z, y[t0 - 49 : t0 + 1], rcond=None)[0]
        np.testing.assert_allclose(res.params[t0, 0], coef, rtol=1e-8)
    # the naive approach loses the slope entirely
    c = np.cumsum(np.column_stack([x[:, 0], x[:, 0] ** 2]), axis=0)
    sxx = c[-1, 1] - c[-51, 1]
    sx = c[-1, 0] - c[-51, 0]
    naive_var = sxx - sx * sx / 50
    true_var = ((x[-50:, 0] - x[-50:, 0].mean()) ** 2).sum()
    assert abs(naive_var / true_var - 1) > 1e-6


def test_no_look_ahead_exact():
    y, x = _panel(7)
    base = rolling_ols(y, x, window=60, min_obs=40)
    t0 = 222
    y2, x2 = y.copy(), x.copy()
    rng = np.random.default_rng(8)
    y2[t0 + 1 :] = rng.normal(size=y2[t0 + 1 :].shape) * 10
    x2[t0 + 1 :] = rng.normal(size=x2[t0 + 1 :].shape) * 10
    pert = rolling_ols(y2, x2, window=60, min_obs=40)
    for a, b in [(base.params, pert.params), (base.bse, pert.bse), (base.r2, pert.r2),
                 (base.resid_vol, pert.resid_vol), (base.n_obs, pert.n_obs)]:
        np.testing.assert_array_equal(a[: t0 + 1], b[: t0 + 1])
    assert not np.allclose(base.params[t0 + 60 :], pert.params[t0 + 60 :], equal_nan=True)


def test_chunking_and_threads_do_not_change_results():
    y, x = _panel(9, n=13)
    a = rolling_ols(y, x, window=45, min_obs=30, chunk_size=13, n_threads=1)
    b = rolling_ols(y, x, window=45, min_obs=30, chunk_size=2, n_threads=3)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.bse, b.bse)
    c = rolling_ols(y, x, window=45, min_obs=30, compute_bse=False)
    assert c.bse is None
    np.testing.assert_array_equal(a.params, c.params)


def test_window_longer_than_sample_and_validation():
    y, x = _panel(10, t=50, n=5)
    res = rolling_ols(y, x, window=80, min_obs=20)
    t = 49
    use = np.isfinite(y[:, 0]) & np.isfinite(x).all(axis=1)
    z = np.column_stack([np.ones(use.sum()), x[use]])
    np.testing.assert_allclose(res.params[t, 0], np.linalg.lstsq(z, y[use, 0], rcond=None)[0], atol=1e-10)
    with pytest.raises(ValueError, match="min_obs"):
        rolling_ols(y, x, window=30, min_obs=4)  # 4 params need >= 5 rows
    with pytest.raises(ValueError, match="min_obs"):
        rolling_ols(y, x, window=30, min_obs=31)
    assert rolling_ols(y, x, window=90).min_obs == 60


def test_windowed_sum_matches_direct_sum():
    rng = np.random.default_rng(11)
    a = rng.normal(size=(103, 4))
    for w in (1, 2, 7, 10, 103, 500):
        direct = np.array([a[max(0, t - w + 1) : t + 1].sum(axis=0) for t in range(103)])
        np.testing.assert_allclose(windowed_sum(a, w), direct, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(windowed_sum(a.T, w, axis=1), direct.T, rtol=1e-13, atol=1e-13)


def test_planted_betas_recovered_within_standard_errors():
    """Non-overlapping windows: (beta_hat - beta) / se is ~ t(n - 4); 95 % within 1.96-ish."""
    rng = np.random.default_rng(12)
    t, n, k, w = 1800, 60, 3, 90
    x = rng.normal(0.001, 0.03, size=(t, k))
    beta = rng.normal(1, 0.5, size=(k, n))
    y = 0.001 + x @ beta + rng.normal(0, 0.04, size=(t, n))
    y[rng.random((t, n)) < 0.05] = np.nan
    res = rolling_ols(y, x, window=w, min_obs=60)
    ends = np.arange(w - 1, t, w)  # non-overlapping windows: independent estimates
    z = (res.betas[ends] - beta.T[None]) / res.bse[ends][..., 1:]
    inside = np.mean(np.abs(z) < 1.99)  # t(80) 95 % quantile
    assert 0.93 <= inside <= 0.97
    za = (res.alpha[ends] - 0.001) / res.bse[ends][..., 0]
    assert 0.93 <= np.mean(np.abs(za) < 1.99) <= 0.97


@pytest.mark.parametrize("k", [1, 2, 4, 5])
def test_other_numbers_of_factors_equal_statsmodels(k):
    """Closed-form inverses (K <= 3) and the batched np.linalg.inv path (K > 3)."""
    y, x = _panel(13, t=240, n=5, k=k)
    res = rolling_ols(y, x, window=60, min_obs=45)
    assert res.params.shape[-1] == k + 1
    for i in (0, 1, 3):
        sm_res = _statsmodels(y[:, i], x, 60, 45)
        p = np.asarray(sm_res.params)
        est = np.isfinite(p).all(axis=1)
        assert est.sum() > 50
        np.testing.assert_array_equal(est, np.isfinite(res.params[:, i]).all(axis=1))
        np.testing.assert_allclose(res.params[est, i], p[est], rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.bse[est, i], np.asarray(sm_res.bse)[est], rtol=0, atol=1e-10)
