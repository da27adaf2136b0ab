"""Fama-MacBeth, Shanken and two-pass against linearmodels and hand computations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cryptofactor_assets.estimators.fama_macbeth import (
    fama_macbeth,
    shanken_adjust_fm_cov,
    shanken_correction,
    two_pass,
)
from cryptofactor_assets.estimators.panels import long_regression_panel


def _panel(seed: int = 0, t: int = 150, n: int = 40, k: int = 2, missing: float = 0.1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(t, n, k)) + rng.normal(size=(1, n, k))  # persistent characteristics
    prem = np.array([0.02, -0.01, 0.005][:k])
    common = rng.normal(0, 0.05, size=(t, 1))
    y = 0.01 + common + x @ prem + rng.normal(0, 0.1, size=(t, n))
    y[rng.random((t, n)) < missing] = np.nan
    x[rng.random((t, n, k)) < missing / 2] = np.nan
    y[:, :3] = np.where(np.arange(t)[:, None] < 30, np.nan, y[:, :3])  # late listings
    return y, x


def _linearmodels_fm(y, x):
    from linearmodels import FamaMacBeth

    yy, xx = long_regression_panel(y, x, names=("coin", "t"), y_name="y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FamaMacBeth(yy, xx)


@pytest.mark.parametrize("lags", [None, 0, 2, 6])
def test_equals_linearmodels_kernel(lags):
    y, x = _panel()
    mod = _linearmodels_fm(y, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lm = mod.fit(cov_type="kernel", bandwidth=lags)
    ours = fama_macbeth(y, x, lags=lags, min_coins=3)  # linearmodels needs only n >= P
    np.testing.assert_allclose(ours.mean, lm.params.to_numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.nw_se, lm.std_errors.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(ours.nw_tstat, lm.tstats.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(ours.nw_pvalue, lm.pvalues.to_numpy(), rtol=1e-7, atol=1e-14)
    # per-period gammas and the average cross-sectional R²
    all_params = lm.all_params.to_numpy()
    np.testing.assert_allclose(ours.gammas, all_params, rtol=0, atol=1e-10)
    assert ours.avg_r2 == pytest.approx(lm.avg_rsquared, abs=1e-10)
    assert ours.n_periods == np.isfinite(all_params).all(axis=1).sum()
    if lags is not None:
        assert ours.nw_lags == lags and ours.lag_rule == "fixed"


def test_automatic_lag_is_linearmodels_bandwidth():
    y, x = _panel(1, t=400)
    ours = fama_macbeth(y, x, lag_rule="nw1994", min_coins=3)
    assert ours.lag_rule == "nw1994"
    mod = _linearmodels_fm(y, x)
    auto = mod.fit(cov_type="kernel")
    fixed = mod.fit(cov_type="kernel", bandwidth=ours.nw_lags)
    other = mod.fit(cov_type="kernel", bandwidth=ours.nw_lags + 3)
    np.testing.assert_allclose(auto.std_errors.to_numpy(), fixed.std_errors.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.nw_se, auto.std_errors.to_numpy(), rtol=1e-8)
    assert not np.allclose(other.std_errors.to_numpy(), auto.std_errors.to_numpy(), rtol=1e-6)


def test_unadjusted_equals_linearmodels_and_sd_over_sqrt_t():
    y, x = _panel(2)
    lm = _linearmodels_fm(y, x).fit()
    ours = fama_macbeth(y, x, lags=0, min_coins=3)
    np.testing.assert_allclose(ours.se, lm.std_errors.to_numpy(), rtol=1e-8)
    g = ours.gammas[ours.used]
    np.testing.assert_allclose(ours.se, g.std(axis=0, ddof=1) / np.sqrt(len(g)), rtol=1e-12)
    np.testing.assert_allclose(ours.nw_se, ours.se, rtol=1e-12)  # zero lags, debiased


def test_lag_rules_and_annualisation_stored():
    y, x = _panel(3, t=300)
    res = fama_macbeth(y, x, lag_rule="t14", periods_per_year=52)
    assert res.nw_lags == int(np.floor(res.n_periods**0.25)) and res.lag_rule == "t14"
    np.testing.assert_allclose(res.annualised, res.mean * 52)
    res2 = fama_macbeth(y, x, lag_rule="4t100")
    assert res2.nw_lags == int(np.floor(4 * (res2.n_periods / 100) ** (2 / 9)))
    assert np.isnan(res2.annualised).all()
    summ = res.summary()
    assert list(summ.index) == ["const", "x0", "x1"]
    assert {"mean", "std", "t", "nw_t", "n_periods", "nw_lags", "annualised"} <= set(summ.columns)


def test_time_series_regressor_rejected_with_clear_message():
    y, x = _panel(4)
    factor = np.random.default_rng(0).normal(size=(y.shape[0], 1))
    x_bad = np.concatenate([x, np.broadcast_to(factor[:, None, :], (y.shape[0], y.shape[1], 1))], axis=2)
    with pytest.raises(ValueError, match="no cross-sectional variation"):
        fama_macbeth(y, x_bad, names=["a", "b", "mkt"])
    with pytest.raises(ValueError, match="mkt"):
        fama_macbeth(y, {"mkt": np.broadcast_to(factor, y.shape)})


def test_skipped_periods_are_counted():
    y, x = _panel(5, t=60, n=12)
    y[10, 3:] = np.nan  # period 10 has at most 3 coins
    x[20, :, 1] = 1.5  # period 20: x1 constant across coins -> singular
    x[21, :, 1] = 2 * x[21, :, 0]  # period 21: collinear
    res = fama_macbeth(y, x, min_coins=5)
    assert not res.used[[10, 20, 21]].any()
    assert res.n_skipped_few >= 1 and res.n_skipped_singular == 2
    assert res.n_periods + res.n_skipped_few + res.n_skipped_singular == 60
    assert np.isnan(res.gammas[[10, 20, 21]]).all()
    np.testing.assert_array_equal(res.n_obs, (np.isfinite(y) & np.isfinite(x).all(axis=2)).sum(axis=1))


def test_per_period_gammas_equal_lstsq():
    y, x = _panel(6, t=20)
    res = fama_macbeth(y, x)
    for t in range(20):
        m = np.isfinite(y[t]) & np.isfinite(x[t]).all(axis=1)
        z = np.column_stack([np.ones(m.sum()), x[t, m]])
        coef, *_ = np.linalg.lstsq(z, y[t, m], rcond=None)
        np.testing.assert_allclose(res.gammas[t], coef, atol=1e-12)
        e = y[t, m] - z @ coef
        yc = y[t, m] - y[t, m].mean()
        assert res.r2[t] == pytest.approx(1 - e @ e / (yc @ yc), abs=1e-12)


def test_no_constant_variant():
    y, x = _panel(7, t=40)
    res = fama_macbeth(y, x, add_constant=False, lags=1)
    assert res.names == ("x0", "x1")
    m = np.isfinite(y[5]) & np.isfinite(x[5]).all(axis=1)
    coef = np.linalg.lstsq(x[5, m], y[5, m], rcond=None)[0]
    np.testing.assert_allclose(res.gammas[5], coef, atol=1e-12)


def test_planted_premium_found_and_null_rejected_at_nominal_rate():
    # planted: characteristic 0 earns +2 % per period per unit, characteristic 1 nothing
    y, x = _panel(8, t=300, n=60, k=2)
    rng = np.random.default_rng(9)
    y = 0.01 + x @ np.array([0.02, 0.0]) + rng.normal(0, 0.1, size=y.shape)
    res = fama_macbeth(y, x, lags=4)
    assert res.nw_tstat[1] > 5 and abs(res.mean[1] - 0.02) < 4 * res.nw_se[1]
    # null market: no premium on either characteristic; the 5 % NW test rejects ~5 %
    rej = 0
    sims = 300
    for s in range(sims):
        r = np.random.default_rng(100 + s)
        xs = r.normal(size=(60, 30, 2))
        ys = r.normal(0, 0.1, size=(60, 30)) + r.normal(0, 0.05, size=(60, 1))
        rej += fama_macbeth(ys, xs, lags=2).nw_pvalue[1:].__lt__(0.05).sum()
    assert 0.025 <= rej / (2 * sims) <= 0.085


# --------------------------------------------------------------------------- Shanken


def test_shanken_one_factor_hand_computation():
    """K = 1, no constant: Var = (1/T)[b'Σb/(b'b)^2 (1 + λ²/σ²) + σ²]."""
    b = np.array([0.5, 1.0, 1.5, 2.0])
    sig_e = np.array(
        [[0.04, 0.01, 0.00, 0.00], [0.01, 0.05, 0.01, 0.00], [0.00, 0.01, 0.06, 0.02], [0.00, 0.00, 0.02, 0.08]]
    )
    s2f, lam, t = 0.0025, 0.01, 120
    res = shanken_correction(b, sig_e, np.array([[s2f]]), np.array([lam]), t, add_constant=False)
    btb = 0.25 + 1 + 2.25 + 4  # 7.5
    bsb = float(b @ sig_e @ b)
    c = lam**2 / s2f  # 0.04
    expected = (bsb / btb**2 * (1 + c) + s2f) / t
    assert res.c == pytest.approx(0.04, rel=1e-12)
    assert res.cov[0, 0] == pytest.approx(expected, rel=1e-12)
    # the 1 + c multiplies the variance (not the SE)
    no_eiv = (bsb / btb**2 + s2f) / t
    assert res.cov[0, 0] - s2f / t == pytest.approx((1 + c) * (no_eiv - s2f / t), rel=1e-12)
    assert res.se[0] != pytest.approx(np.sqrt(1 + c) * np.sqrt(no_eiv - s2f / t) + np.sqrt(s2f / t))


def test_shanken_with_constant_hand_computation():
    b = np.array([[0.8, 0.1], [1.0, -0.3], [1.2, 0.4], [0.9, 0.0], [1.4, 0.2]])
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5, 5))
    sig_e = a @ a.T / 50 + np.eye(5) * 0.01
    sig_f = np.array([[0.0020, 0.0003], [0.0003, 0.0010]])
    lam = np.array([0.006, 0.002])
    t = 200
    res = shanken_correction(b, sig_e, sig_f, lam, t)
    xmat = np.column_stack([np.ones(5), b])
    xtx_inv = np.linalg.inv(xmat.T @ xmat)
    c = lam @ np.linalg.inv(sig_f) @ lam
    border = np.zeros((3, 3))
    border[1:, 1:] = sig_f
    expected = (xtx_inv @ xmat.T @ sig_e @ xmat @ xtx_inv * (1 + c) + border) / t
    np.testing.assert_allclose(res.cov, expected, rtol=1e-12)
    assert res.c == pytest.approx(c, rel=1e-12)
    # adjusted-FM form: (1 + c)(V - Σf*/T) + Σf*/T
    v = np.diag([1e-4, 2e-5, 3e-5])
    adj = shanken_adjust_fm_cov(v, sig_f, lam, t)
    np.testing.assert_allclose(adj.cov, (1 + c) * (v - border / t) + border / t, rtol=1e-12)


# --------------------------------------------------------------------------- two-pass


def _french():
    from linearmodels.datasets import french

    d = french.load()
    ports = [c for c in d.columns if c[0] == "S" and c[2] in "VM"]
    r = d[ports].to_numpy() - d[["RF"]].to_numpy()
    f = d[["MktRF", "SMB", "HML"]]
    return r, f


@pytest.mark.parametrize("with_constant", [True, False])
def test_two_pass_premia_equal_linearmodels_linear_factor_model(with_constant):
    """Two-pass OLS point estimates coincide with LinearFactorModel's risk premia
    (risk_free=True estimates the zero-beta rate = our intercept)."""
    from linearmodels.asset_pricing import LinearFactorModel

    r, f = _french()
    lf = LinearFactorModel(r, f.to_numpy(), risk_free=with_constant).fit()
    tp = two_pass(r, f, add_constant=with_constant, lags=0)
    np.testing.assert_allclose(tp.premia, lf.risk_premia.to_numpy(), rtol=1e-10, atol=1e-13)
    # betas equal the first pass of linearmodels
    np.testing.assert_allclose(tp.betas, lf.betas.to_numpy(), rtol=1e-10, atol=1e-13)
    assert tp.fm.names[-3:] == ("MktRF", "SMB", "HML")
    assert tp.fm.n_periods == 819
    # sanity: Shanken and linearmodels' GMM-based t-stats tell the same story
    lm_t = lf.risk_premia_tstats.to_numpy()
    assert np.all(np.sign(tp.shanken_tstat) == np.sign(lm_t))
    np.testing.assert_allclose(tp.shanken_tstat, lm_t, rtol=0.35)


def test_two_pass_balanced_second_pass_is_ols_on_mean_returns_and_shanken_by_hand():
    r, f = _french()
    fv = f.to_numpy()
    tp = two_pass(r, fv, lags=3)
    t, n = r.shape
    z = np.column_stack([np.ones(t), fv])
    coef = np.linalg.lstsq(z, r, rcond=None)[0]
    b = coef[1:].T
    xmat = np.column_stack([np.ones(n), b])
    lam = np.linalg.lstsq(xmat, r.mean(axis=0), rcond=None)[0]
    np.testing.assert_allclose(tp.premia, lam, rtol=1e-10)
    e = r - z @ coef
    sig_e = e.T @ e / (t - 4)
    sig_f = np.cov(fv, rowvar=False, ddof=1)
    np.testing.assert_allclose(tp.resid_cov, sig_e, rtol=1e-10)
    by_hand = shanken_correction(b, sig_e, sig_f, lam[1:], t)
    np.testing.assert_allclose(tp.shanken_se, by_hand.se, rtol=1e-10)
    assert tp.fm.nw_lags == 3
    # the EIV correction inflates the slope variances (c > 0)
    assert tp.shanken_c > 0
    no_eiv = shanken_correction(b, sig_e, sig_f, np.zeros(3), t)
    assert no_eiv.c == 0
    assert np.all(tp.shanken_se > no_eiv.se)


def test_two_pass_rolling_betas_no_look_ahead():
    rng = np.random.default_rng(3)
    t, n = 400, 30
    f = rng.normal(0.001, 0.03, size=(t, 2))
    beta = rng.normal(1, 0.4, size=(2, n))
    r = f @ beta + rng.normal(0, 0.03, size=(t, n))
    r[rng.random((t, n)) < 0.05] = np.nan
    base = two_pass(r, f, beta_window=60, beta_min_obs=40, lags=2)
    assert base.betas.shape == (t, n, 2)
    t0 = 250
    r2 = r.copy()
    r2[t0:] += rng.normal(size=r2[t0:].shape)
    pert = two_pass(r2, f, beta_window=60, beta_min_obs=40, lags=2)
    np.testing.assert_array_equal(base.fm.gammas[:t0], pert.fm.gammas[:t0])
    np.testing.assert_array_equal(base.betas[: t0 + 1], pert.betas[: t0 + 1])  # betas as of t-1
    assert not np.allclose(base.fm.gammas[t0:], pert.fm.gammas[t0:], equal_nan=True)
    # rolling Shanken uses the adjusted-FM form
    adj = shanken_adjust_fm_cov(base.fm.cov, base.factor_cov, base.premia[1:], base.fm.n_periods)
    np.testing.assert_allclose(base.shanken_se, adj.se, rtol=1e-12)
