"""Neural-beta assets materialised on a temporary DuckDB: keys, determinism, no look-ahead,
equality with the pure walk-forward, planted-beta recovery, the real-data (recorded files) path."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.neural import assets as na
from cryptofactor_assets.neural import assets_summary as ns
from cryptofactor_assets.neural import compute as nc
from cryptofactor_assets.neural import cross_asset as xa
from cryptofactor_assets.neural import loaders as ld
from cryptofactor_assets.neural import tables as nt
from cryptofactor_assets.neural.baseline import rolling_ols_betas
from cryptofactor_assets.neural.neural_beta import NetConfig, walk_forward_neural_betas
from cryptofactor_assets.neural.portfolios import beta_sorted_portfolios
from cryptofactor_assets.neural.resources import CROSS_ASSET_SOURCE, CrossAssetSourceResource
from cryptofactor_assets.neural.simulation import MARKETS
from cryptofactor_assets_tests.conftest import query

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "neural"
SEED = 7
FIRST, LAST = "2023-01-01", "2023-06-01"
MONTHLY = [na.cross_asset_monthly, na.neural_betas, na.beta_quartile_portfolios]
#: A small grid and short curves keep the test fast (the asset's default grid is in the demo).
GRID_RUN_CONFIG = {"ops": {nt.NEURAL_BETA_GRID: {"config": {"hidden": [4], "activations": ["identity", "tanh"],
                                                            "epochs": 5}}}}


def _run(assets, db: str, first: str | None = FIRST, last: str | None = LAST, run_config=None,
         cross_config: dict | None = None) -> dg.ExecuteInProcessResult:
    cfg = dict(run_config or {})
    if cross_config is not None:
        cfg.setdefault("ops", {})[nt.CROSS_ASSET_MONTHLY] = {"config": cross_config}
    tags = {} if first is None else {"dagster/asset_partition_range_start": first,
                                     "dagster/asset_partition_range_end": last}
    result = dg.materialize(assets, resources={"duckdb": DuckDBResource(database=db),
                                                CROSS_ASSET_SOURCE: CrossAssetSourceResource()}, tags=tags,
                            run_config=cfg or None, raise_on_error=True)
    assert result.success
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """2023-01..2023-06 of the monthly assets, then the grid and the stats, for a fixed seed."""
    db = str(tmp_path_factory.mktemp("neural") / "a.duckdb")
    res = _run(MONTHLY, db, cross_config={"seed": SEED})
    summary = _run([ns.neural_beta_grid, ns.neural_beta_stats], db, None, None, GRID_RUN_CONFIG)
    return db, res, summary


def _table(db: str, name: str, order: str) -> pd.DataFrame:
    return query(db, f"SELECT * FROM {name} ORDER BY {order}")


BETA_KEY = "month_start, coin, market, model, method"


def test_checks_pass_and_keys_unique(built):
    db, res, summary = built
    evals = [*res.get_asset_check_evaluations(), *summary.get_asset_check_evaluations()]
    assert len(evals) == 12 and all(e.passed for e in evals), [(e.check_name, e.passed) for e in evals]
    for table, key in [(nt.CROSS_ASSET_MONTHLY, "month_start, series"),
                       (nt.CROSS_ASSET_TRUTH, "month_start, coin, market"),
                       (nt.NEURAL_BETAS, BETA_KEY),
                       (nt.BETA_QUARTILE_PORTFOLIOS, "month_start, method, model, market, quartile"),
                       (nt.NEURAL_BETA_GRID, "market, hidden, learning_rate, activation"),
                       (nt.NEURAL_BETA_STATS, "method, model, coin, market")]:
        dup = query(db, f"SELECT count(*) AS n FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)")
        assert dup["n"].iloc[0] == 0, table
    betas = _table(db, nt.NEURAL_BETAS, BETA_KEY)
    # (neural_mlp, rolling_ols) x (single, joint), and neural_implied (single): 6 months x 12 coins x 4 markets
    assert len(betas) == 6 * 12 * 4 * 5
    assert set(betas["method"]) == {nc.NEURAL, nc.IMPLIED, nc.OLS} and set(betas["model"]) == {"single", "joint"}
    nn = betas[betas["method"] == nc.NEURAL]
    assert (nn["refit_month"] == pd.Timestamp("2023-01-01")).all()  # January/July refit grid
    assert (nn["hidden"] == 8).all() and (nn["window_months"] == 12).all()
    assert (betas["train_start"] == pd.Timestamp(xa.SIM_START)).all()


def test_cross_asset_is_the_sliced_fixed_calendar(built, tmp_path):
    db = built[0]
    rows = _table(db, nt.CROSS_ASSET_MONTHLY, "month_start, series")
    # History from 2015-01 was written with the window (12 coins + 4 markets + 6 factors per month).
    assert rows["month_start"].min() == pd.Timestamp("2015-01-01")
    assert rows["month_start"].max() == pd.Timestamp("2023-06-01")
    assert len(rows) == (8 * 12 + 6) * (12 + 4 + 6)
    sim = xa.simulation(SEED)
    btc = rows[rows["series"] == "BTC"].set_index("month_start")["ret"]
    np.testing.assert_array_equal(btc.to_numpy(), sim.coin_returns.loc[:"2023-06-01", "BTC"].to_numpy())
    # Another range (with a different history start) gives the same numbers for the common months.
    db2 = str(tmp_path / "b.duckdb")
    _run([na.cross_asset_monthly], db2, "2023-04-01", "2023-09-01", cross_config={"seed": SEED,
                                                                             "history_start": "2020-01-01"})
    other = _table(db2, nt.CROSS_ASSET_MONTHLY, "month_start, series")
    assert other["month_start"].min() == pd.Timestamp("2020-01-01")
    both = rows.merge(other, on=["month_start", "series"])
    assert len(both) == 42 * 22
    np.testing.assert_array_equal(both["ret_x"].to_numpy(), both["ret_y"].to_numpy())
    truth = _table(db, nt.CROSS_ASSET_TRUTH, "month_start, coin, market")
    t = truth[(truth["coin"] == "ETH") & (truth["market"] == "GOLD")]
    np.testing.assert_array_equal(t["beta"].to_numpy(), sim.beta_path("ETH", "GOLD").loc[:"2023-06-01"])
    np.testing.assert_array_equal(t["univariate_beta"].to_numpy(),
                                  sim.beta_path("ETH", "GOLD", univariate=True).loc[:"2023-06-01"])


def test_neural_betas_equal_the_pure_walk_forward_and_rolling_ols(built):
    db = built[0]
    betas = _table(db, nt.NEURAL_BETAS, BETA_KEY)
    sim = xa.simulation(SEED)
    # The asset's coins come out of DuckDB in alphabetical order; the pooled network's stacking (and so
    # its mini-batch order) follows the column order, so the oracle gets the same order.
    cr, mr = sim.coin_returns.loc[:"2023-03-01"].sort_index(axis=1), sim.market_returns
    # Oracle: the pure walk-forward whose first refit is 2023-01 (index 96 = 12 + 84), through 2023-03.
    wf = walk_forward_neural_betas(cr, mr, markets=list(MARKETS), min_train=84, refit_every=6,
                                   config=NetConfig())
    got = betas[(betas["method"] == nc.NEURAL) & (betas["model"] == "single")
                & (betas["month_start"] <= pd.Timestamp("2023-03-01"))]
    want = wf.long().rename(columns={"month": "month_start"})
    m = got.merge(want, on=["month_start", "coin", "market"])
    assert len(m) == len(got) == 3 * 12 * 4
    np.testing.assert_allclose(m["beta_x"], m["beta_y"], rtol=0, atol=1e-12)
    ols = rolling_ols_betas(sim.coin_returns.loc[:"2023-06-01"], mr, window=12, joint=True)
    want = ols.long().rename(columns={"month": "month_start"})
    got = betas[(betas["method"] == nc.OLS) & (betas["model"] == "joint")]
    m = got.merge(want, on=["month_start", "coin", "market"])
    assert len(m) == len(got) == 6 * 12 * 4
    np.testing.assert_allclose(m["beta_x"], m["beta_y"], rtol=0, atol=1e-12)


def test_deterministic_and_independent_of_the_requested_range(built, tmp_path):
    db = built[0]
    db2 = str(tmp_path / "again.duckdb")
    # 2023-02..2023-04 only: the January refit still trains on months < 2023-01 whatever the range.
    _run(MONTHLY, db2, "2023-02-01", "2023-04-01", cross_config={"seed": SEED})
    a = _table(db, nt.NEURAL_BETAS, BETA_KEY)
    a = a[(a["month_start"] >= pd.Timestamp("2023-02-01")) & (a["month_start"] <= pd.Timestamp("2023-04-01"))]
    b = _table(db2, nt.NEURAL_BETAS, BETA_KEY)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    pa = _table(db, nt.BETA_QUARTILE_PORTFOLIOS, "month_start, method, model, market, quartile")
    pb = _table(db2, nt.BETA_QUARTILE_PORTFOLIOS, "month_start, method, model, market, quartile")
    pa = pa[(pa["month_start"] >= pd.Timestamp("2023-02-01")) & (pa["month_start"] <= pd.Timestamp("2023-04-01"))]
    pd.testing.assert_frame_equal(pa.reset_index(drop=True), pb.reset_index(drop=True))


def test_neural_betas_read_only_months_before_the_target(tmp_path):
    db = str(tmp_path / "la.duckdb")
    _run([na.cross_asset_monthly], db, FIRST, LAST, cross_config={"seed": SEED})
    _run([na.neural_betas], db, "2023-01-01", "2023-03-01")
    before = _table(db, nt.NEURAL_BETAS, BETA_KEY)
    con = duckdb.connect(db)
    try:  # perturb every stored value from 2023-03 on (the month of the last target and later)
        con.execute("UPDATE cross_asset_monthly SET ret = ret * 7 + 0.3 WHERE month_start >= DATE '2023-03-01'")
    finally:
        con.close()
    _run([na.neural_betas], db, "2023-01-01", "2023-03-01")
    after = _table(db, nt.NEURAL_BETAS, BETA_KEY)
    pd.testing.assert_frame_equal(before, after)
    # The test can fail: perturbing 2023-02 moves the 2023-03 betas (their window ends in 2023-02) but
    # not those of 2023-01 and 2023-02.
    con = duckdb.connect(db)
    try:
        con.execute("UPDATE cross_asset_monthly SET ret = ret * 7 + 0.3 WHERE month_start = DATE '2023-02-01'")
    finally:
        con.close()
    _run([na.neural_betas], db, "2023-01-01", "2023-03-01")
    moved = _table(db, nt.NEURAL_BETAS, BETA_KEY)
    early = before["month_start"] < pd.Timestamp("2023-03-01")
    np.testing.assert_array_equal(before.loc[early, "beta"], moved.loc[early, "beta"])
    assert not np.allclose(before.loc[~early, "beta"], moved.loc[~early, "beta"])


def test_quartiles_match_the_pure_sort_on_stored_rows(built):
    db = built[0]
    betas = _table(db, nt.NEURAL_BETAS, BETA_KEY)
    port = _table(db, nt.BETA_QUARTILE_PORTFOLIOS, "month_start, method, model, market, quartile")
    sim = xa.simulation(SEED)
    excess = sim.excess_returns().loc[FIRST:LAST]
    sel = betas[(betas["method"] == nc.NEURAL) & (betas["model"] == "single") & (betas["market"] == "EQUITY")]
    wide = sel.pivot(index="month_start", columns="coin", values="beta")
    want = beta_sorted_portfolios(wide, excess)
    got = port[(port["method"] == nc.NEURAL) & (port["model"] == "single") & (port["market"] == "EQUITY")]
    assert len(got) == 6 * 4 and (got["n_coins"] == 3).all() and (got["rf_source"] == "ff5").all()
    np.testing.assert_allclose(got["mean_beta"], want["mean_beta"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["mean_excess_return"], want["mean_excess_return"], rtol=0, atol=1e-12)
    # Hand check of one cell: the top EQUITY-beta quartile of 2023-03 holds the 3 largest betas.
    m = pd.Timestamp("2023-03-01")
    top = wide.loc[m].nlargest(3)
    cell = got[(got["month_start"] == m) & (got["quartile"] == 4)].iloc[0]
    assert cell["mean_beta"] == pytest.approx(top.mean(), abs=1e-12)
    assert cell["mean_excess_return"] == pytest.approx(excess.loc[m, top.index].mean(), abs=1e-12)


def test_grid_and_stats_tables(built):
    db, _, summary = built
    grid = _table(db, nt.NEURAL_BETA_GRID, "market, rank")
    assert set(grid["market"]) == {"FIAT", "EQUITY", "GOLD", "ENERGY", "FIAT+EQUITY", "FIAT+GOLD", "JOINT"}
    assert len(grid) == 14
    best = grid[grid["is_best"]]
    assert len(best) == 7 and (best["rank"] == 1).all()
    assert (best.set_index("market")["val_rmse"] == grid.groupby("market")["val_rmse"].min()).all()
    curves = _table(db, nt.NEURAL_BETA_LEARNING_CURVES, "market, epoch")
    assert len(curves) == 7 * 5 and curves["val_mse"].notna().all()
    meta = summary.asset_materializations_for_node(nt.NEURAL_BETA_GRID)[0].metadata
    assert "data:image/png;base64," in meta["learning_curves"].value

    stats = _table(db, nt.NEURAL_BETA_STATS, "method, model, coin, market")
    betas = _table(db, nt.NEURAL_BETAS, BETA_KEY)
    # Oracle: pandas over the stored rows.
    g = betas.groupby(["method", "model", "coin", "market"])["beta"]
    want = pd.DataFrame({"o_n": g.count(), "o_mean": g.mean(), "o_std": g.std(), "o_skew": g.skew(),
                         "o_kurt": g.apply(lambda s: s.kurt()), "o_min": g.min(), "o_max": g.max()}).reset_index()
    m = stats.merge(want, on=["method", "model", "coin", "market"])
    assert len(m) == len(stats) == 5 * 12 * 4
    for a, b in [("n_months", "n"), ("mean_beta", "mean"), ("std_beta", "std"), ("skew", "skew"),
                 ("excess_kurtosis", "kurt"), ("min_beta", "min"), ("max_beta", "max")]:
        np.testing.assert_allclose(m[a].astype(float), m[f"o_{b}"].astype(float), rtol=1e-10, atol=1e-12)
    # Recovery of the planted betas: both methods track them within a stated bound (beta units, RMSE
    # over coins and months; planted univariate EQUITY betas range from about 0.5 to 4).
    rec = stats[stats["model"] == "single"].groupby(["method", "market"])["truth_rmse"].mean()
    assert rec.notna().all()
    assert rec[(nc.NEURAL, "EQUITY")] < 2.0 and rec[(nc.OLS, "EQUITY")] < 2.0
    fc = _table(db, nt.NEURAL_BETA_FORECASTS, "model, market, ff5, method")
    assert set(fc["method"]) == {nc.NEURAL, nc.OLS} and set(fc["market"]) == {*MARKETS, "JOINT"}
    # Same coin-months for every method of a (market, ff5) group.
    assert (fc.groupby(["model", "market", "ff5"])["n"].nunique() == 1).all()
    plain = fc[~fc["ff5"]]
    assert (plain["n"] == 6 * 12).all() and plain["rmse"].notna().all()
    annual = _table(db, nt.NEURAL_BETA_ANNUAL, "method, model, coin, market, year")
    assert (annual["year"] == 2023).all() and len(annual) == len(stats)
    m = annual.merge(stats, on=["method", "model", "coin", "market"])
    np.testing.assert_allclose(m["mean_beta_x"], m["mean_beta_y"], rtol=1e-12)


def test_refit_month_is_calendar_anchored():
    assert nc.refit_month(pd.Timestamp("2023-05-01"), 6) == pd.Timestamp("2023-01-01")
    assert nc.refit_month(pd.Timestamp("2023-07-01"), 6) == pd.Timestamp("2023-07-01")
    assert nc.refit_month(pd.Timestamp("2023-12-01"), 12) == pd.Timestamp("2023-01-01")
    assert nc.refit_month(pd.Timestamp("2023-05-01"), 1) == pd.Timestamp("2023-05-01")
    assert nc.refit_month(pd.Timestamp("2023-05-01"), 3) == pd.Timestamp("2023-04-01")


def test_real_files_path_with_recorded_fixtures(tmp_path):
    """yfinance CSV and two French vintages through the asset: the stored rows equal the loaders'."""
    db = str(tmp_path / "real.duckdb")
    ff = os.pathsep.join(str(FIX / f"F-F_Research_Data_5_Factors_2x3_vintage2024{v}.CSV") for v in ("01", "02"))
    cfg = {"prices_csv": str(FIX / "yfinance_download_daily.csv"),
           "tickers": "BTC=BTC-USD,ETH=ETH-USD,EQUITY=^GSPC", "ff5_csv": ff, "history_start": "2020-01-01"}
    res = _run([na.cross_asset_monthly], db, "2020-12-01", "2023-12-01", cross_config=cfg)
    assert all(e.passed for e in res.get_asset_check_evaluations())
    rows = _table(db, nt.CROSS_ASSET_MONTHLY, "month_start, series")
    assert set(rows["source"]) == {"yfinance_csv", "french_csv"} and rows["seed"].isna().all()
    assert len(query(db, "SELECT * FROM cross_asset_truth")) == 0
    prices = ld.yfinance_monthly_returns(ld.read_yfinance_csv(FIX / "yfinance_download_daily.csv"),
                                         {"BTC": "BTC-USD", "ETH": "ETH-USD", "EQUITY": "^GSPC"})
    eth = rows[rows["series"] == "ETH"].set_index("month_start")["ret"]
    want = prices["ETH"].dropna()
    np.testing.assert_array_equal(eth.index, want.index)  # the March/April gap has no rows
    np.testing.assert_allclose(eth.to_numpy(), want.to_numpy(), rtol=0, atol=1e-15)
    assert set(rows.loc[rows["asset_class"] == "market", "series"]) == {"EQUITY"}
    ff5 = rows[rows["asset_class"] == "factor"].pivot(index="month_start", columns="series", values="ret")
    assert ff5.loc[pd.Timestamp("2023-11-01"), "Mkt-RF"] == pytest.approx(0.0884)  # later vintage wins
    assert ff5.loc[pd.Timestamp("2023-12-01"), "CMA"] == pytest.approx(0.0131)  # filled by the later file
    assert pd.Timestamp("2023-06-01") not in ff5.index  # missing month stays missing
    assert ff5.index.max() == pd.Timestamp("2023-12-01")  # 2024-01 is outside the window


def test_real_default_tickers_and_linearmodels_factors():
    coins, markets, ff5, src, ff_src = xa.load_real_cross_asset(
        str(FIX / "yfinance_download_daily.csv"), None, "linearmodels")
    assert list(coins.columns) == ["BTC", "ETH"] and list(markets.columns) == ["EQUITY"]
    assert ff_src == "linearmodels_french" and ff5["RMW"].isna().all()
    assert ff5.index[-1] == pd.Timestamp("2017-03-01")
    with pytest.raises(KeyError):
        xa.load_real_cross_asset(str(FIX / "yfinance_download_daily.csv"), "GOLD=GC=F,BTC=BTC-USD", None)
    assert xa.parse_tickers("GOLD=GC=F, BTC=BTC-USD") == {"GOLD": "GC=F", "BTC": "BTC-USD"}
    with pytest.raises(ValueError):
        xa.parse_tickers("BTC")


def test_compute_neural_betas_with_gaps_and_a_missing_market():
    """Real-data shapes: a coin with a gap, a late-listed coin, no GOLD series; NaN never stored."""
    sim = xa.simulation(SEED)
    coins = sim.coin_returns.loc[:"2021-03-01", ["BTC", "ETH", "LTC", "XRP"]].copy()
    coins.loc["2019-02-01":"2019-04-01", "ETH"] = np.nan  # a gap in the training months
    coins.loc[:"2019-06-01", "XRP"] = np.nan  # listed late: too little history for min_train
    markets = sim.market_returns.loc[:"2021-03-01"].drop(columns="GOLD")
    targets = pd.date_range("2021-01-01", "2021-03-01", freq="MS")
    cfg = NetConfig(epochs=20)
    out = nc.compute_neural_betas(coins, markets, targets, cfg, joint=False)
    assert out["beta"].notna().all() and set(out["market"]) == {"FIAT", "EQUITY", "ENERGY"}
    nn = out[out["method"] == nc.NEURAL]
    assert "XRP" not in set(nn["coin"])  # 18 usable months < min_train = 36
    eth = nn[nn["coin"] == "ETH"]
    assert len(eth) == 3 * 3  # the gap is older than the windows of 2021-01..03, training skips it
    gap = nc.compute_neural_betas(coins, markets, pd.date_range("2020-01-01", periods=2, freq="MS"), cfg,
                                  joint=False)
    # 2020-01 and 2020-02: their 12-month windows contain the gap, so ETH has no neural beta there.
    assert "ETH" not in set(gap.loc[gap["method"] == nc.NEURAL, "coin"])
    assert {"BTC", "LTC"} <= set(gap.loc[gap["method"] == nc.NEURAL, "coin"])
    ols = out[out["method"] == nc.OLS]
    assert set(ols["coin"]) == {"BTC", "ETH", "LTC", "XRP"}
    # Rolling OLS rows equal the pure baseline on the same frames.
    want = rolling_ols_betas(coins, markets, markets=["FIAT", "EQUITY", "ENERGY"], window=12).long()
    want = want[want["month"].isin(targets)].rename(columns={"month": "month_start"})
    ols = ols.assign(month_start=pd.to_datetime(ols["month_start"]))
    m = ols[ols["model"] == "single"].merge(want, on=["month_start", "coin", "market"])
    assert len(m) == len(want) == len(ols[ols["model"] == "single"])
    np.testing.assert_allclose(m["beta_x"], m["beta_y"], rtol=0, atol=1e-12)
    # Targets before enough history at the refit month: no neural rows at all.
    early = nc.compute_neural_betas(coins, markets, pd.date_range("2017-01-01", periods=2, freq="MS"), cfg,
                                    joint=False)
    assert (early["method"] == nc.OLS).all()


def test_cross_asset_source_resource_fills_what_the_run_config_leaves_out(monkeypatch, tmp_path):
    """A run config value wins; None takes the resource's; empty there too: simulate, default seed."""
    res = CrossAssetSourceResource(prices_csv="p.csv", ff5_csv="linearmodels", seed="11")
    assert res.resolve(None, None, None, None, xa.DEFAULT_SEED) == ("p.csv", None, "linearmodels", 11)
    assert res.resolve("q.csv", "BTC=BTC-USD", "", 3, xa.DEFAULT_SEED) == ("q.csv", "BTC=BTC-USD", "", 3)
    assert CrossAssetSourceResource().resolve(None, None, None, None, 5) == (None, None, None, 5)
    monkeypatch.setenv("CRYPTOFACTOR_CROSS_ASSET_CSV", "x.csv")
    monkeypatch.setenv("CRYPTOFACTOR_SIM_SEED", "9")
    monkeypatch.delenv("CRYPTOFACTOR_FF5_CSV", raising=False)
    monkeypatch.delenv("CRYPTOFACTOR_CROSS_ASSET_TICKERS", raising=False)
    env = CrossAssetSourceResource.from_settings()
    assert (env.prices_csv, env.tickers, env.ff5_csv, env.seed) == ("x.csv", "", "", "9")
    # Through the asset: the resource's seed is the simulation's.
    db = str(tmp_path / "seed.duckdb")
    dg.materialize([na.cross_asset_monthly], resources={"duckdb": DuckDBResource(database=db),
                                                        CROSS_ASSET_SOURCE: CrossAssetSourceResource(seed="7")},
                   tags={"dagster/asset_partition_range_start": FIRST, "dagster/asset_partition_range_end": FIRST},
                   run_config={"ops": {nt.CROSS_ASSET_MONTHLY: {"config": {"history_start": FIRST}}}})
    assert set(query(db, "SELECT DISTINCT seed FROM cross_asset_monthly")["seed"]) == {SEED}
