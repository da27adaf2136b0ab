"""Grid search, learning curves, beta statistics, forecast comparison and beta-sorted portfolios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cryptofactor_assets.neural.baseline import rolling_ols_betas
from cryptofactor_assets.neural.beta_net import ACTIVATIONS, NetConfig
from cryptofactor_assets.neural.grid import (
    JOINT,
    config_grid,
    demo_grid,
    grid_search,
    grid_targets,
    learning_curves_png,
)
from cryptofactor_assets.neural.portfolios import assign_groups, beta_sorted_portfolios, portfolio_summary
from cryptofactor_assets.neural.simulation import simulate_cross_asset
from cryptofactor_assets.neural.stats import (
    annual_mean_betas,
    describe_betas,
    forecast_comparison,
    switch_adaptation,
)


@pytest.fixture(scope="module")
def sim():
    return simulate_cross_asset(n_months=96, seed=21, ff_loading_scale=1.0)


def test_full_grid_is_36_configs():
    g = config_grid()
    assert len(g) == 36 and len({(c.hidden, c.learning_rate, c.activation) for c in g}) == 36
    assert {c.activation for c in g} == set(ACTIVATIONS) and {c.hidden for c in g} == {4, 8, 16}
    assert {c.learning_rate for c in g} == {0.001, 0.01, 0.1}
    base = NetConfig(l2=0.5, epochs=7, n_seeds=2)
    assert all((c.l2, c.epochs, c.n_seeds) == (0.5, 7, 2) for c in config_grid(base=base))
    assert len(demo_grid()) == 6


def test_targets_are_the_markets_the_seeds_combinations_and_joint():
    names = [n for n, _ in grid_targets(["FIAT", "EQUITY", "GOLD", "ENERGY"])]
    assert names == ["FIAT", "EQUITY", "GOLD", "ENERGY", "FIAT+EQUITY", "FIAT+GOLD", JOINT]
    assert dict(grid_targets(["EQUITY", "GOLD"]))[JOINT] == ("EQUITY", "GOLD")
    assert [n for n, _ in grid_targets(["FIAT", "EQUITY"])] == ["FIAT", "EQUITY", "FIAT+EQUITY"]  # = JOINT
    assert grid_targets(["GOLD"]) == [("GOLD", ("GOLD",))]


def test_small_grid_search_and_learning_curves(sim):
    grid = config_grid((4,), (0.01,), ("identity", "tanh"), NetConfig(epochs=40, n_seeds=2))
    kw = dict(markets=["EQUITY", "GOLD"], grid=grid)
    res = grid_search(sim.coin_returns, sim.market_returns, **kw)
    assert len(res.table) == 2 * 3 and set(res.table["market"]) == {"EQUITY", "GOLD", JOINT}
    for mk, cfg in res.best.items():
        sub = res.table[res.table["market"] == mk]
        best_row = sub.loc[sub["val_rmse"].idxmin()]
        assert (cfg.hidden, cfg.activation) == (best_row["hidden"], best_row["activation"])
        assert best_row["is_best"] and best_row["rank"] == 1
    assert (res.table[["val_rmse", "test_rmse"]] > 0).all().all()
    again = grid_search(sim.coin_returns, sim.market_returns, **kw)
    pd.testing.assert_frame_equal(res.table, again.table)  # deterministic
    c = res.curves["EQUITY"]
    assert len(c.train_mse) == 40 and np.isfinite(c.val_mse).all()
    assert c.train_mse[-1] < c.train_mse[0]  # training reduces its own loss
    png = learning_curves_png(res.curves)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_describe_and_annual_means_match_oracles(sim):
    p = rolling_ols_betas(sim.coin_returns, sim.market_returns)
    d = describe_betas(p)
    s = p.frame("EQUITY")["ETH"].dropna()
    row = d.loc[("ETH", "EQUITY")]
    assert row["N"] == len(s)
    assert row["mean"] == pytest.approx(s.mean(), rel=1e-12)
    assert row["std"] == pytest.approx(np.std(s.to_numpy(), ddof=1), rel=1e-12)
    assert row["skew"] == pytest.approx(sps.skew(s.to_numpy(), bias=False), rel=1e-10)
    assert row["excess_kurtosis"] == pytest.approx(sps.kurtosis(s.to_numpy(), bias=False), rel=1e-10)
    assert row["kurtosis"] == pytest.approx(sps.kurtosis(s.to_numpy(), fisher=False, bias=False), rel=1e-10)
    assert (row["min"], row["max"]) == (s.min(), s.max())
    a = annual_mean_betas(p)
    assert a.loc[2016, ("ETH", "EQUITY")] == pytest.approx(s[s.index.year == 2016].mean(), rel=1e-12)


def test_forecast_comparison_with_and_without_ff(sim):
    ols = rolling_ols_betas(sim.coin_returns, sim.market_returns, window=12)
    ols24 = rolling_ols_betas(sim.coin_returns, sim.market_returns, window=24)
    out = forecast_comparison(sim.coin_returns, sim.market_returns, {"ols12": ols, "ols24": ols24},
                              ff5=sim.ff5, ff_window=24)
    assert set(out["market"]) == set(sim.markets) and set(out["ff5"]) == {False, True}
    # Hand check of one cell: EQUITY, no FF, common months.
    y = sim.coin_returns.to_numpy()
    f = sim.market_returns["EQUITY"].to_numpy()
    pa = ols.alphas[:, :, 1] + ols.betas[:, :, 1] * f[:, None]
    pb = ols24.alphas[:, :, 1] + ols24.betas[:, :, 1] * f[:, None]
    common = np.isfinite(pa) & np.isfinite(pb)
    cell = out[(out.model == "ols12") & (out.market == "EQUITY") & (~out.ff5)].iloc[0]
    assert cell["n"] == common.sum()
    assert cell["rmse"] == pytest.approx(np.sqrt(np.mean((y - pa)[common] ** 2)), rel=1e-12)
    # Coins load on SMB/HML/RMW/CMA in the simulation: adding FF5 must lower the forecast error.
    for mk in ("EQUITY", "GOLD"):
        base = out[(out.model == "ols24") & (out.market == mk) & (~out.ff5)]["rmse"].iloc[0]
        with_ff = out[(out.model == "ols24") & (out.market == mk) & (out.ff5)]["rmse"].iloc[0]
        assert with_ff < base


def test_switch_adaptation_hand_case():
    planted = np.zeros((10, 1, 1))
    planted[5:] = 2.0
    est = np.zeros((10, 1, 1))
    est[5:] = [[[0.5]], [[1.5]], [[2.0]], [[2.0]], [[2.0]]]
    a = switch_adaptation(est, planted, [5], horizon=3)
    assert a["cross"].iloc[0] == 1.0  # first above the midpoint 1.0 at h = 1
    assert a["mae"].iloc[0] == pytest.approx((1.5 + 0.5 + 0.0) / 3)
    assert switch_adaptation(est, planted, [9], horizon=3).empty  # no full horizon


def test_assign_groups_few_coins_and_ties():
    g = assign_groups(np.array([[0.3, 0.1, 0.2, 0.4, np.nan], [1.0, 1.0, 1.0, 1.0, 1.0],
                                [0.5, np.nan, 0.1, np.nan, np.nan]]), 4)
    assert g[0].tolist() == [2, 0, 1, 3, -1]
    assert g[1].tolist() == [0, 0, 1, 2, 3]  # ties: column order (stable)
    assert g[2].tolist() == [2, -1, 0, -1, -1]  # two coins: groups 1 and 3 of 4, the rest empty


def test_beta_sorted_portfolios():
    months = pd.date_range("2020-01-01", periods=3, freq="MS", name="month")
    betas = pd.DataFrame([[0.1, 0.4, 0.2, 0.3, 0.5], [0.5, 0.4, 0.3, 0.2, 0.1], [1, 2, np.nan, np.nan, np.nan]],
                         index=months, columns=list("ABCDE"))
    rets = pd.DataFrame([[0.01, 0.04, 0.02, 0.03, 0.05], [0.1, 0.2, 0.3, 0.4, 0.5], [0.0] * 5],
                        index=months, columns=list("ABCDE"))
    out = beta_sorted_portfolios(betas, rets, n_groups=4, min_coins=4)
    assert set(out["month"]) == set(months[:2])  # month 3 has only two coins: skipped
    m1 = out[out.month == months[0]].set_index("group")
    # Five coins in four groups: floor(rank * 4 / 5) -> ranks 0, 1 in group 1, rank 4 alone in group 4.
    assert m1["n_coins"].tolist() == [2, 1, 1, 1]
    assert m1.loc[1, "mean_beta"] == pytest.approx(0.15)
    assert m1.loc[1, "mean_excess_return"] == pytest.approx(0.015)
    assert m1.loc[4, "mean_excess_return"] == pytest.approx(0.05)
    summ = portfolio_summary(out)
    assert summ.loc["H-L", "mean_excess_return"] == pytest.approx(((0.05 - 0.015) + (0.1 - 0.45)) / 2)
    assert summ.loc[1, "months"] == 2
