"""Rolling-OLS baseline against statsmodels RollingOLS(missing="drop") and per-window lstsq."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.regression.rolling import RollingOLS

from cryptofactor_assets.neural.baseline import rolling_ols, rolling_ols_betas
from cryptofactor_assets.neural.simulation import simulate_cross_asset


@pytest.fixture(scope="module")
def sim():
    return simulate_cross_asset(n_months=60, seed=7)


def test_univariate_matches_statsmodels_drop_with_gaps(sim):
    y = sim.coin_returns.to_numpy().copy()
    y[10, 0] = np.nan  # a gap inside some windows
    y[30:32, 1] = np.nan
    x = sim.market_returns["EQUITY"].to_numpy()
    res = rolling_ols(y, x, window=12, min_obs=10, ex_ante=False)
    for i in range(2):
        exog = np.column_stack([np.ones(len(x)), x])
        ref = RollingOLS(y[:, i], exog, window=12, min_nobs=10, missing="drop").fit().params
        np.testing.assert_allclose(res.params[:, i], ref, rtol=1e-10, atol=1e-12, equal_nan=True)


def test_joint_matches_per_window_lstsq_and_ex_ante_shift(sim):
    y = sim.coin_returns.to_numpy()
    x = sim.market_returns.to_numpy()
    w = 15
    res = rolling_ols(y, x, window=w, ex_ante=True)
    assert np.isnan(res.params[:w]).all()  # first ex-ante beta needs w completed months before it
    for t in (w, 33, len(y) - 1):
        z = np.column_stack([np.ones(w), x[t - w : t]])  # months t-w .. t-1 only
        for i in range(y.shape[1]):
            ref = np.linalg.lstsq(z, y[t - w : t, i], rcond=None)[0]
            np.testing.assert_allclose(res.params[t, i], ref, rtol=1e-10, atol=1e-12)


def test_rank_deficient_window_is_nan():
    y = np.random.default_rng(0).normal(size=(20, 1))
    x = np.ones(20)  # collinear with the intercept
    assert np.isnan(rolling_ols(y, x, window=10, ex_ante=False).params[9:]).all()


def test_panel_no_look_ahead_and_forecast(sim):
    a = rolling_ols_betas(sim.coin_returns, sim.market_returns, window=12)
    cr = sim.coin_returns.copy()
    cr.iloc[40:] = cr.iloc[40:] * 3 + 1  # change the future
    b = rolling_ols_betas(cr, sim.market_returns, window=12)
    np.testing.assert_array_equal(a.betas[:41], b.betas[:41])  # beta for month 40 uses <= 39
    assert not np.allclose(a.betas[42:], b.betas[42:], equal_nan=True)
    fc = a.forecast(sim.market_returns)
    f = sim.market_returns.to_numpy()
    np.testing.assert_allclose(fc[30, 2, 1], a.alphas[30, 2, 1] + a.betas[30, 2, 1] * f[30, 1])
    long = a.long()
    assert set(long.columns) >= {"month", "coin", "market", "beta"}
    assert len(long) == np.isfinite(a.betas).sum()
    assert isinstance(a.frame("GOLD"), pd.DataFrame)
