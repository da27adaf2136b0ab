"""Driscoll-Kraay and two-way clustered errors of the pooled panel OLS against linearmodels
PanelOLS, their equality with Fama-MacBeth where the two coincide, and the premia table's pooled
columns rebuilt from the stored weekly gammas and X'X rows."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.estimators.fama_macbeth import (
    cross_section_gammas,
    fama_macbeth,
    pooled_from_cross_sections,
    pooled_ols,
)
from cryptofactor_assets.estimators.hac import long_run_covariance
from cryptofactor_assets.estimators.panels import long_regression_panel
from cryptofactor_assets.factors.compute_fama_macbeth import compute_fm_premia, format_xtx_row, parse_xtx_rows
from cryptofactor_assets_tests.factors.test_factors_fama_macbeth import _panel


def _panel_ols(y, x):
    from linearmodels import PanelOLS

    yy, xx = long_regression_panel(y, x, names=("coin", "t"), y_name="y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing rows dropped
        return PanelOLS(yy, xx)


def _fit(mod, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mod.fit(**kw)


@pytest.mark.parametrize("lags", [0, 2, 5])
@pytest.mark.parametrize("debiased", [False, True])
def test_driscoll_kraay_equals_linearmodels_panel_ols_kernel(lags, debiased):
    y, x = _panel()
    lm = _fit(_panel_ols(y, x), cov_type="kernel", kernel="bartlett", bandwidth=lags, debiased=debiased)
    ours = pooled_ols(y, x, lags=lags, debiased=debiased)
    np.testing.assert_allclose(ours.params, lm.params.to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.se, lm.std_errors.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.tstat, lm.tstats.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.pvalue, lm.pvalues.to_numpy(), rtol=1e-8, atol=1e-14)
    assert ours.nobs == lm.nobs and ours.lags == lags and ours.cov_type == "driscoll_kraay"


def test_default_lag_is_linearmodels_default_bandwidth():
    y, x = _panel(t=150)
    lm = _fit(_panel_ols(y, x), cov_type="kernel", debiased=False)
    ours = pooled_ols(y, x)
    assert ours.lags == 4 and ours.lag_rule == "4t100"  # floor(4 (150/100)^(2/9))
    np.testing.assert_allclose(ours.se, lm.std_errors.to_numpy(), rtol=1e-10)


@pytest.mark.parametrize("debiased", [False, True])
def test_two_way_clustered_equals_linearmodels(debiased):
    y, x = _panel(1)
    lm = _fit(_panel_ols(y, x), cov_type="clustered", cluster_entity=True, cluster_time=True,
              group_debias=False, debiased=debiased)
    ours = pooled_ols(y, x, cov_type="two_way", debiased=debiased)
    np.testing.assert_allclose(ours.se, lm.std_errors.to_numpy(), rtol=1e-10)
    assert ours.lags is None and ours.cov_type == "two_way"
    with pytest.raises(ValueError, match="cov_type"):
        pooled_ols(y, x, cov_type="kernel")


def test_hand_computed_two_periods_three_coins():
    """y on [1, x] for 2 periods x 3 coins, Driscoll-Kraay with 1 lag written out."""
    x = np.array([[[0.0], [1.0], [2.0]], [[1.0], [0.0], [3.0]]])
    y = np.array([[1.0, 2.0, 2.5], [0.5, 1.5, 4.0]])
    z = np.column_stack([np.ones(6), x.reshape(6)])
    b = np.linalg.solve(z.T @ z, z.T @ y.reshape(6))
    e = y.reshape(6) - z @ b
    h = np.array([z[:3].T @ e[:3], z[3:].T @ e[3:]])  # per-period score sums
    meat = h[0][:, None] * h[0] + h[1][:, None] * h[1] + 0.5 * (np.outer(h[1], h[0]) + np.outer(h[0], h[1]))
    a_inv = np.linalg.inv(z.T @ z)
    ours = pooled_ols(y, x, lags=1)
    np.testing.assert_allclose(ours.params, b, rtol=1e-12)
    np.testing.assert_allclose(ours.cov, a_inv @ meat @ a_inv, rtol=1e-10, atol=1e-15)
    # the scores of a regression with a constant sum to zero over the sample
    np.testing.assert_allclose(h.sum(axis=0), 0, atol=1e-12)


def _balanced_fixed_regressors(seed: int = 3, t: int = 120, n: int = 30):
    """Every coin in every period with regressors that never change (full-sample betas)."""
    rng = np.random.default_rng(seed)
    x = np.repeat(rng.normal(size=(1, n, 2)), t, axis=0)
    common = rng.normal(0, 0.05, size=(t, 1))
    common[1:] += 0.5 * common[:-1]  # serially correlated common shocks
    y = 0.01 + x @ np.array([0.02, -0.01]) + common * (1 + x[..., 0]) + rng.normal(0, 0.1, size=(t, n))
    return y, x


@pytest.mark.parametrize("lags", [0, 3])
def test_fama_macbeth_coincides_with_driscoll_kraay_on_a_balanced_panel_with_fixed_regressors(lags):
    """gamma_t - mean = (X'X)^-1 h_t: the FM mean is the pooled coefficient and the FM kernel
    covariance S / T^2 (debiased=False) is Driscoll-Kraay's, equal to linearmodels PanelOLS."""
    y, x = _balanced_fixed_regressors()
    fm = fama_macbeth(y, x, lags=lags, debiased=False, driscoll_kraay=True)
    dk = pooled_ols(y, x, lags=lags)
    lm = _fit(_panel_ols(y, x), cov_type="kernel", bandwidth=lags, debiased=False)
    np.testing.assert_allclose(fm.mean, dk.params, rtol=1e-12)
    np.testing.assert_allclose(fm.nw_cov, dk.cov, rtol=1e-10)
    np.testing.assert_allclose(fm.nw_se, lm.std_errors.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(fm.pooled.cov, dk.cov, rtol=1e-10)
    # linearmodels' default FM (debiased: S / (T (T - 1))) is larger by exactly T / (T - 1)
    fm_deb = fama_macbeth(y, x, lags=lags)
    np.testing.assert_allclose(fm_deb.nw_cov, dk.cov * 120 / 119, rtol=1e-10)


def test_fama_macbeth_and_pooled_differ_when_the_panel_is_unbalanced():
    """Coins entering late and regressors that move: FM weights periods equally, the pooled
    estimate by their X'X; ``fama_macbeth(driscoll_kraay=True).pooled`` is the pooled OLS over the
    coin-periods FM uses, with the Newey-West lags."""
    y, x = _panel(2, missing=0.2)
    fm = fama_macbeth(y, x, lags=3, driscoll_kraay=True)
    used = fm.used
    keep = used[:, None] & np.isfinite(y) & np.all(np.isfinite(x), axis=2)
    dk = pooled_ols(np.where(keep, y, np.nan), np.where(keep[..., None], x, np.nan), lags=3)
    np.testing.assert_allclose(fm.pooled.params, dk.params, rtol=1e-10)
    np.testing.assert_allclose(fm.pooled.cov, dk.cov, rtol=1e-9)
    assert fm.pooled.lags == fm.nw_lags == 3
    assert np.max(np.abs(fm.mean - dk.params)) > 1e-4
    summ = fm.summary()
    np.testing.assert_allclose(summ["dk_t"], dk.tstat, rtol=1e-9)
    assert "dk_se" not in fama_macbeth(y, x, lags=3).summary()


def test_pooled_from_cross_sections_is_the_pooled_ols():
    y, x = _panel(4)
    cs = cross_section_gammas(y, x, True, 4, 1e-10)
    u = cs["used"]
    res = pooled_from_cross_sections(cs["gammas"][u], cs["xtx"][u], lags=2, nobs=int(cs["n"][u].sum()))
    keep = u[:, None] & np.isfinite(y) & np.all(np.isfinite(x), axis=2)
    dk = pooled_ols(np.where(keep, y, np.nan), np.where(keep[..., None], x, np.nan), lags=2)
    np.testing.assert_allclose(res.params, dk.params, rtol=1e-10)
    np.testing.assert_allclose(res.cov, dk.cov, rtol=1e-9)
    assert res.nobs == dk.nobs
    # h_t = A_t (gamma_t - b) by hand
    a = cs["xtx"][u]
    h = np.einsum("tpq,tq->tp", a, cs["gammas"][u] - res.params)
    a_inv = np.linalg.inv(a.sum(axis=0))
    np.testing.assert_allclose(res.cov, a_inv @ long_run_covariance(h, 2) @ a_inv, rtol=1e-10)
    gam = cs["gammas"][u].copy()
    gam[3, 1] = np.nan  # an unused period's gamma
    with pytest.raises(ValueError, match="finite"):
        pooled_from_cross_sections(gam, cs["xtx"][u], lags=2)


def test_premia_pooled_columns_from_stored_rows_and_old_rows_without_them():
    """compute_fm_premia rebuilds the pooled Driscoll-Kraay estimate from the long gammas rows
    (gamma + xtx_row per week and coefficient) exactly as pooled_from_cross_sections; rows stored
    before xtx_row existed give NaN, not an error."""
    y, x = _panel(5, t=60)
    cs = cross_section_gammas(y, x, True, 4, 1e-10)
    weeks = pd.date_range("2024-01-01", periods=60, freq="W-MON")
    coefs = ["const", "x0", "x1"]
    rows = []
    for t in np.flatnonzero(cs["used"]):
        for j, c in enumerate(coefs):
            rows.append({"week_start": weeks[t], "spec": "characteristics", "coefficient": c,
                         "gamma": cs["gammas"][t, j], "cs_r2": cs["r2"][t], "n_coins": int(cs["n"][t]),
                         "regressors": "x0,x1", "xtx_row": format_xtx_row(cs["xtx"][t, j])})
    gammas = pd.DataFrame(rows)
    out = compute_fm_premia(gammas, None, lag_rule=3).set_index("coefficient").loc[coefs]
    u = cs["used"]
    exp = pooled_from_cross_sections(cs["gammas"][u], cs["xtx"][u], lags=3)
    np.testing.assert_allclose(out["pooled_coef"], exp.params, rtol=1e-12)
    np.testing.assert_allclose(out["dk_se"], exp.se, rtol=1e-12)
    np.testing.assert_allclose(out["dk_t"], exp.tstat, rtol=1e-12)
    assert (out["pooled_n_obs"] == cs["n"][u].sum()).all() and (out["nw_lags"] == 3).all()
    np.testing.assert_array_equal(parse_xtx_rows([format_xtx_row(r) for r in cs["xtx"][7]]), cs["xtx"][7])
    old = compute_fm_premia(gammas.drop(columns="xtx_row"), None, lag_rule=3)
    assert old["dk_se"].isna().all() and old["t"].notna().all()
    partly = gammas.assign(xtx_row=gammas["xtx_row"].where(gammas.index > 5))
    assert compute_fm_premia(partly, None, lag_rule=3)["dk_t"].isna().all()
