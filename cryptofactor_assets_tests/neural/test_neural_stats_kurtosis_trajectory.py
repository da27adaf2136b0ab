"""Plain and excess kurtosis of the beta statistics (scipy oracles), the annual mean-beta trajectories
(a pandas groupby by hand) and their one-PNG figure on the materialised `neural_beta_stats` asset."""

from __future__ import annotations

import base64
import io
import re

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource
from PIL import Image
from scipy import stats as sps

from cryptofactor_assets.neural import assets as na
from cryptofactor_assets.neural import assets_summary as ns
from cryptofactor_assets.neural import compute as nc
from cryptofactor_assets.neural import tables as nt
from cryptofactor_assets.neural.baseline import BetaPanel, rolling_ols_betas
from cryptofactor_assets.neural.resources import CROSS_ASSET_SOURCE, CrossAssetSourceResource
from cryptofactor_assets.neural.simulation import MARKETS, simulate_cross_asset
from cryptofactor_assets.neural.stats import annual_trajectories, describe_betas, trajectory_png
from cryptofactor_assets_tests.conftest import query

SEED = 7
#: Two calendar years (2022-12, 2023-01) and the two refits before them (2022-07, 2023-01): a small graph.
FIRST, LAST = "2022-12-01", "2023-01-01"
#: Upper bound of the figure's bytes (a palette PNG of 4 panels is ~30-60 KB; an RGBA one ~3x more).
MAX_PNG_BYTES = 150_000
#: neural_beta_stats as created before the excess_kurtosis column (kurtosis then held the excess form).
OLD_STATS_DDL = """CREATE TABLE neural_beta_stats (method VARCHAR NOT NULL, model VARCHAR NOT NULL,
    coin VARCHAR NOT NULL, market VARCHAR NOT NULL, n_months INTEGER NOT NULL, mean_beta DOUBLE, std_beta DOUBLE,
    skew DOUBLE, kurtosis DOUBLE, min_beta DOUBLE, max_beta DOUBLE, truth_rmse DOUBLE,
    first_month DATE NOT NULL, last_month DATE NOT NULL)"""


def test_describe_reports_plain_and_excess_kurtosis_like_scipy():
    sim = simulate_cross_asset(n_months=60, seed=5)
    for joint in (False, True):
        p = rolling_ols_betas(sim.coin_returns, sim.market_returns, window=12, joint=joint)
        d = describe_betas(p)
        assert {"kurtosis", "excess_kurtosis"} <= set(d.columns)
        for (coin, market), row in d.iterrows():
            s = p.frame(market)[coin].dropna().to_numpy()
            assert row["N"] == len(s) >= 4
            assert row["excess_kurtosis"] == pytest.approx(sps.kurtosis(s, fisher=True, bias=False),
                                                           rel=1e-12, abs=1e-12)
            assert row["kurtosis"] == pytest.approx(sps.kurtosis(s, fisher=False, bias=False),
                                                    rel=1e-12, abs=1e-12)
    # Fewer than 4 months: neither form is defined.
    months = pd.date_range("2020-01-01", periods=3, freq="MS")
    tiny = BetaPanel(months=months, coins=("A",), markets=("EQUITY",), betas=np.array([1.0, 2.0, 4.0]).reshape(3, 1, 1),
                     alphas=np.zeros((3, 1, 1)), method="x", joint=False, window=0)
    row = describe_betas(tiny).iloc[0]
    assert row["N"] == 3 and np.isnan(row["kurtosis"]) and np.isnan(row["excess_kurtosis"])


def _annual_and_truth() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random annual rows (two methods x two models, coin C missing from the joint model and from 2021 of
    neural single) and monthly truth over 2019-07..2021-12 for coins A, B, C and one coin outside."""
    rng = np.random.default_rng(3)
    rows = []
    for method in (nc.NEURAL, nc.OLS):
        for model in ("single", "joint"):
            for coin in ("A", "B", "C"):
                if model == "joint" and coin == "C":
                    continue
                for market in ("EQUITY", "GOLD"):
                    for year in (2020, 2021):
                        if (method, model, coin, year) == (nc.NEURAL, "single", "C", 2021):
                            continue
                        rows.append((method, model, coin, market, year, rng.normal()))
    annual = pd.DataFrame(rows, columns=["method", "model", "coin", "market", "year", "mean_beta"])
    months = pd.date_range("2019-07-01", "2021-12-01", freq="MS")
    truth = pd.DataFrame([(m.date(), c, mk, rng.normal(), rng.normal()) for m in months
                          for c in ("A", "B", "C", "Z") for mk in ("EQUITY", "GOLD", "FIAT")],
                         columns=["month_start", "coin", "market", "beta", "univariate_beta"])
    return annual, truth


def test_annual_trajectories_equal_a_groupby_by_hand():
    annual, truth = _annual_and_truth()
    first, last = pd.Timestamp("2020-01-01"), pd.Timestamp("2021-06-01")
    got = annual_trajectories(annual, truth, first, last)
    assert list(got.columns) == [f"{nc.NEURAL} single", f"{nc.OLS} single", "planted single (univariate)",
                                 f"{nc.NEURAL} joint", f"{nc.OLS} joint", "planted joint (structural)"]
    assert list(got.index.names) == ["market", "year"]
    assert set(got.index) == {(mk, y) for mk in ("EQUITY", "GOLD") for y in (2020, 2021)}
    for (method, model), g in annual.groupby(["method", "model"]):
        want = g.groupby(["market", "year"])["mean_beta"].mean()
        pd.testing.assert_series_equal(got[f"{method} {model}"], want, check_names=False, rtol=1e-14)
    # Planted: months of the window, coins of that model, per coin-year mean then mean over coins.
    t = truth.assign(month=pd.to_datetime(truth["month_start"]))
    t = t[(t["month"] >= first) & (t["month"] <= last) & t["market"].isin(["EQUITY", "GOLD"])]
    t = t.assign(year=t["month"].dt.year)
    for col, label, coins in [("univariate_beta", "planted single (univariate)", ["A", "B", "C"]),
                              ("beta", "planted joint (structural)", ["A", "B"])]:
        sub = t[t["coin"].isin(coins)]
        want = sub.groupby(["market", "year", "coin"])[col].mean().groupby(level=["market", "year"]).mean()
        pd.testing.assert_series_equal(got[label], want, check_names=False, check_index_type=False, rtol=1e-14)
    # One hand-computed cell: GOLD 2021 planted structural over 2021-01..2021-06 of coins A and B.
    cell = t[(t["market"] == "GOLD") & (t["year"] == 2021) & t["coin"].isin(["A", "B"])]
    assert got.loc[("GOLD", 2021), "planted joint (structural)"] == pytest.approx(cell["beta"].mean(), rel=1e-12)
    # Real data (no truth): only the estimated series.
    assert "planted single (univariate)" not in annual_trajectories(annual, None).columns
    assert annual_trajectories(annual, truth.iloc[:0]).shape == (4, 4)


def test_trajectory_png_is_one_small_palette_png():
    annual, truth = _annual_and_truth()
    png = trajectory_png(annual_trajectories(annual, truth))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 2_000 < len(png) < MAX_PNG_BYTES
    assert Image.open(io.BytesIO(png)).mode == "P"


def _run(assets, db: str, first: str | None, last: str | None, run_config=None) -> dg.ExecuteInProcessResult:
    tags = {} if first is None else {"dagster/asset_partition_range_start": first,
                                     "dagster/asset_partition_range_end": last}
    result = dg.materialize(assets, resources={"duckdb": DuckDBResource(database=db),
                                                CROSS_ASSET_SOURCE: CrossAssetSourceResource()}, tags=tags,
                            run_config=run_config, raise_on_error=True)
    assert result.success
    return result


def test_stats_asset_stores_both_kurtoses_and_attaches_the_trajectory_png(tmp_path):
    db = str(tmp_path / "k.duckdb")
    _run([na.cross_asset_monthly, na.neural_betas], db, FIRST, LAST,
         {"ops": {nt.CROSS_ASSET_MONTHLY: {"config": {"seed": SEED}}}})
    con = duckdb.connect(db)
    try:  # a warehouse written before the column: the asset adds it (storage.warehouse.ensure_table)
        con.execute(OLD_STATS_DDL)
    finally:
        con.close()
    res = _run([ns.neural_beta_stats], db, None, None)
    assert all(e.passed for e in res.get_asset_check_evaluations())
    stats = query(db, "SELECT * FROM neural_beta_stats ORDER BY method, model, coin, market")
    betas = query(db, "SELECT * FROM neural_betas")
    # (neural_mlp, rolling_ols) x (single, joint) and neural_implied (single): 5 panels x 12 coins x 4 markets
    assert len(stats) == 5 * 12 * 4 and set(stats["n_months"]) == {2}
    # Two months per coin: kurtosis undefined (N < 4) in both forms, stored as NULL.
    assert stats["kurtosis"].isna().all() and stats["excess_kurtosis"].isna().all()

    meta = res.asset_materializations_for_node(nt.NEURAL_BETA_STATS)[0].metadata
    text = meta["annual_mean_beta_trajectory"].value
    m = re.fullmatch(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", text)
    assert m is not None
    png = base64.b64decode(m.group(1))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 2_000 < len(png) < MAX_PNG_BYTES
    assert Image.open(io.BytesIO(png)).mode == "P"  # the palette helper, not matplotlib's RGBA
    assert sum(len(str(v.value)) for v in meta.values()) < 2 * MAX_PNG_BYTES  # the event stays small
    # The figure's numbers: the stored annual rows and the stored truth, grouped by hand.
    annual = query(db, "SELECT * FROM neural_beta_annual")
    truth = query(db, "SELECT * FROM cross_asset_truth")
    traj = annual_trajectories(annual, truth, stats["first_month"].iloc[0], stats["last_month"].iloc[0])
    assert set(traj.index) == {(mk, y) for mk in MARKETS for y in (2022, 2023)}
    b = betas.assign(year=pd.to_datetime(betas["month_start"]).dt.year)
    want = b.groupby(["method", "model", "market", "year", "coin"])["beta"].mean().groupby(
        level=["method", "model", "market", "year"]).mean()
    for (method, model, market, year), v in want.items():
        assert traj.loc[(market, year), f"{method} {model}"] == pytest.approx(v, rel=1e-12)
    t = truth[pd.to_datetime(truth["month_start"]).between(pd.Timestamp(FIRST), pd.Timestamp(LAST))]
    t = t.assign(year=pd.to_datetime(t["month_start"]).dt.year)
    eq22 = t[(t["market"] == "EQUITY") & (t["year"] == 2022)]
    assert traj.loc[("EQUITY", 2022), "planted single (univariate)"] == pytest.approx(
        eq22["univariate_beta"].mean(), rel=1e-12)
    assert traj.loc[("EQUITY", 2022), "planted joint (structural)"] == pytest.approx(eq22["beta"].mean(), rel=1e-12)


def test_stats_asset_kurtosis_on_a_longer_history_matches_scipy():
    """The stored rows' two forms on >= 4 months: compute_stats (the asset's pure function) against scipy."""
    sim = simulate_cross_asset(n_months=40, seed=9)
    months = sim.coin_returns.index
    ols = {joint: rolling_ols_betas(sim.coin_returns, sim.market_returns, window=12, joint=joint)
           for joint in (False, True)}
    rows = []
    for joint, p in ols.items():
        long = p.long()
        rows.append(pd.DataFrame({"month_start": long["month"].dt.date, "coin": long["coin"],
                                  "market": long["market"], "model": "joint" if joint else "single",
                                  "method": nc.OLS, "beta": long["beta"], "alpha": 0.0}))
    betas = pd.concat(rows, ignore_index=True)
    stats, _, _ = nc.compute_stats(betas, sim.coin_returns, sim.market_returns, pd.DataFrame(index=months),
                                   pd.DataFrame())
    assert (stats["n_months"] >= 4).all()
    for _, row in stats.iterrows():
        s = betas[(betas["model"] == row["model"]) & (betas["coin"] == row["coin"])
                  & (betas["market"] == row["market"])]["beta"].to_numpy()
        assert row["excess_kurtosis"] == pytest.approx(sps.kurtosis(s, fisher=True, bias=False), rel=1e-12, abs=1e-12)
        assert row["kurtosis"] == pytest.approx(sps.kurtosis(s, fisher=False, bias=False), rel=1e-12, abs=1e-12)
