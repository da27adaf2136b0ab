"""Newey-West lag rules, HAC OLS and GRS against statsmodels, Stata (via statsmodels' stored
results), linearmodels and hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from cryptofactor_assets.estimators.hac import (
    bartlett_weights,
    grs_test,
    grs_test_from_returns,
    long_run_covariance,
    newey_west_cov_mean,
    nw1994_bandwidth,
    nw_lag,
    ols_hac,
)


def _ar1_panel(seed: int, t: int = 300, k: int = 2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(t, k))
    e = np.zeros(t)
    u = rng.normal(size=t)
    for i in range(1, t):  # AR(1) errors so the lags matter
        e[i] = 0.6 * e[i - 1] + u[i]
    y = 0.3 + x @ np.arange(1, k + 1) * 0.5 + e * (1 + np.abs(x[:, 0]))
    return y, x


def test_lag_rules_by_hand():
    assert nw_lag(100, "t14") == 3  # 100^(1/4) = 3.16
    assert nw_lag(81, "t14") == 3  # exact power: no 2.999 rounding down
    assert nw_lag(16, "t14") == 2
    assert nw_lag(100, "4t100") == 4  # 4 * 1^(2/9)
    assert nw_lag(819, "4t100") == int(np.floor(4 * 8.19 ** (2 / 9)))  # = 6
    assert nw_lag(819, "4t100") == 6
    assert nw_lag(50, 7) == 7
    with pytest.raises(ValueError):
        nw_lag(50, "bogus")
    with pytest.raises(ValueError):
        nw_lag(50, "nw1994")  # needs the series
    np.testing.assert_allclose(bartlett_weights(3), [1, 0.75, 0.5, 0.25])


def test_nw1994_equals_linearmodels_kernel_optimal_bandwidth():
    from linearmodels.iv.covariance import kernel_optimal_bandwidth

    rng = np.random.default_rng(3)
    for t in (8, 50, 333, 2000):
        u = rng.normal(size=t)
        x = np.convolve(u, [1, 0.8, 0.5], mode="same")
        assert nw1994_bandwidth(x) == kernel_optimal_bandwidth(x, "bartlett")
        assert nw_lag(t, "nw1994", series=x) == kernel_optimal_bandwidth(x, "bartlett")


def test_long_run_covariance_by_hand():
    z = np.array([[1.0], [-2.0], [0.5], [3.0]])
    # one lag, Bartlett weight 1 - 1/2: S = sum z^2 + 2 * 0.5 * sum z_t z_{t-1}
    s0 = 1 + 4 + 0.25 + 9
    s1 = 1 * -2 + -2 * 0.5 + 0.5 * 3
    assert long_run_covariance(z, 1)[0, 0] == pytest.approx(s0 + 2 * 0.5 * s1, rel=1e-14)
    assert long_run_covariance(z, 1)[0, 0] == pytest.approx(12.75, rel=1e-14)
    # two lags: weights 2/3 and 1/3
    s2 = 1 * 0.5 + -2 * 3
    assert long_run_covariance(z, 2)[0, 0] == pytest.approx(s0 + 2 * (2 / 3) * s1 + 2 * (1 / 3) * s2)


@pytest.mark.parametrize("lags", [0, 1, 4, 9])
@pytest.mark.parametrize("use_correction", [False, True])
def test_ols_hac_equals_statsmodels(lags, use_correction):
    y, x = _ar1_panel(1)
    ours = ols_hac(y, x, lags, add_constant=True, use_correction=use_correction)
    sm_res = sm.OLS(y, sm.add_constant(x)).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": use_correction}
    )
    np.testing.assert_allclose(ours.params, sm_res.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.cov, sm_res.cov_params(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ours.bse, sm_res.bse, rtol=1e-10)
    np.testing.assert_allclose(ours.tvalues, sm_res.tvalues, rtol=1e-10)
    np.testing.assert_allclose(ours.pvalues, sm_res.pvalues, rtol=1e-8, atol=1e-300)
    assert ours.r2 == pytest.approx(sm_res.rsquared, rel=1e-12)
    assert ours.nobs == sm_res.nobs and ours.lags == lags


def test_ols_hac_default_statsmodels_settings_and_missing_rows():
    """statsmodels' HAC default is use_correction=False and normal p-values; NaN rows dropped."""
    y, x = _ar1_panel(2)
    y[[5, 17]] = np.nan
    x[40, 1] = np.nan
    ok = np.isfinite(y) & np.isfinite(x).all(axis=1)
    sm_res = sm.OLS(y[ok], sm.add_constant(x[ok])).fit(cov_type="HAC", cov_kwds={"maxlags": 5})
    assert sm_res.cov_kwds["use_correction"] is False and sm_res.use_t is False
    ours = ols_hac(y, x, 5, add_constant=True)
    assert ours.nobs == ok.sum()
    np.testing.assert_allclose(ours.bse, sm_res.bse, rtol=1e-10)
    np.testing.assert_allclose(ours.pvalues, sm_res.pvalues, rtol=1e-8)


def test_ols_hac_equals_stata_newey_lag4_on_macrodata():
    """Outside oracle: Stata ``newey g_realinv g_realgdp L.realint, lag(4)`` stored in
    statsmodels' test results (results_macro_ols_robust.results_newey4)."""
    from statsmodels.datasets import macrodata
    from statsmodels.regression.tests.results import results_macro_ols_robust as stata

    d = macrodata.load_pandas().data
    g_gdp = 400 * np.diff(np.log(d["realgdp"].to_numpy()))
    g_inv = 400 * np.diff(np.log(d["realinv"].to_numpy()))
    x = np.column_stack([g_gdp, d["realint"].to_numpy()[:-1]])  # Stata orders _cons last
    ours = ols_hac(g_inv, np.column_stack([x, np.ones(len(x))]), 4, use_correction=True, use_t=True)
    table = stata.results_newey4.params_table
    np.testing.assert_allclose(ours.params, table[:, 0], rtol=1e-10)
    np.testing.assert_allclose(ours.bse, table[:, 1], rtol=1e-9)
    np.testing.assert_allclose(ours.tvalues, table[:, 2], rtol=1e-9)
    np.testing.assert_allclose(ours.pvalues, table[:, 3], rtol=1e-7)
    np.testing.assert_allclose(ours.cov, stata.results_newey4.cov.reshape(3, 3), rtol=1e-9)
    assert ours.df_resid == 199


def test_ols_hac_nw1994_bandwidth_equals_linearmodels_iv_kernel():
    from linearmodels.iv import IV2SLS

    y, x = _ar1_panel(4, t=500)
    z = sm.add_constant(x)
    lm = IV2SLS(y, z, None, None).fit(cov_type="kernel", kernel="bartlett", debiased=False)
    ours = ols_hac(y, z, "nw1994")
    assert ours.lags == lm.cov_config["bandwidth"]
    # linearmodels' non-debiased kernel covariance is statsmodels' HAC without correction
    np.testing.assert_allclose(ours.cov, np.asarray(lm.cov), rtol=1e-10)


def test_newey_west_cov_mean_equals_ols_on_constant():
    y, _ = _ar1_panel(5)
    for lags in (0, 3, 8):
        sm_res = sm.OLS(y, np.ones_like(y)).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
        assert newey_west_cov_mean(y, lags)[0, 0] == pytest.approx(sm_res.cov_params()[0, 0], rel=1e-12)
    # ddof=1 with zero lags is the classic var / T with the unbiased variance
    assert newey_west_cov_mean(y, 0, ddof=1)[0, 0] == pytest.approx(y.var(ddof=1) / len(y), rel=1e-12)


def _french_18_ff3():
    from linearmodels.datasets import french

    d = french.load()
    ports = [c for c in d.columns if c[0] == "S" and c[2] in "VM"]
    r = d[ports].to_numpy() - d[["RF"]].to_numpy()
    f = d[["MktRF", "SMB", "HML"]].to_numpy()
    return r, f


def test_grs_on_french_18_portfolios_matches_published_value():
    r, f = _french_18_ff3()
    assert r.shape == (819, 18)
    res = grs_test_from_returns(r, f)
    assert round(res.f_stat, 4) == 8.6148
    assert (res.df1, res.df2) == (18, 819 - 18 - 3)
    assert res.pvalue < 1e-15


def test_grs_by_hand_formula():
    """GRS = (T/N) ((T-N-K)/(T-K-1)) a' S^-1 a / (1 + m' W^-1 m), S = e'e/(T-K-1), W ddof 1."""
    r, f = _french_18_ff3()
    t, n = r.shape
    k = f.shape[1]
    res = grs_test_from_returns(r, f)
    z = np.column_stack([np.ones(t), f])
    coef = np.linalg.lstsq(z, r, rcond=None)[0]
    e = r - z @ coef
    m = f.mean(0)
    s_unb = e.T @ e / (t - k - 1)
    w_unb = np.cov(f, rowvar=False, ddof=1)
    quad = coef[0] @ np.linalg.inv(s_unb) @ coef[0]
    by_hand = (t / n) * ((t - n - k) / (t - k - 1)) * quad / (1 + m @ np.linalg.inv(w_unb) @ m)
    assert res.f_stat == pytest.approx(by_hand, rel=1e-10)
    np.testing.assert_allclose(res.alphas, coef[0], rtol=1e-12)


def test_grs_size_under_the_null():
    """Normal returns with zero alphas: GRS is exactly F(N, T-N-K); the 5 % test rejects ~5 %."""
    rng = np.random.default_rng(11)
    t, n, k, sims = 60, 5, 2, 400
    rejections = 0
    for _ in range(sims):
        f = 0.01 + 0.05 * rng.normal(size=(t, k))
        r = f @ rng.normal(1, 0.3, size=(k, n)) + 0.03 * rng.normal(size=(t, n))
        rejections += grs_test_from_returns(r, f).pvalue < 0.05
    assert 0.025 <= rejections / sims <= 0.08


def test_grs_rejects_unbalanced_and_small_t():
    r, f = _french_18_ff3()
    e = r.copy()
    e[3, 2] = np.nan
    with pytest.raises(ValueError, match="balanced"):
        grs_test(np.zeros(18), e, f)
    with pytest.raises(ValueError, match="T > N"):
        grs_test(np.zeros(18), r[:20], f[:20])
