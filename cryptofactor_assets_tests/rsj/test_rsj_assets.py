"""Tier 2: the RSJ assets materialised on the 12-coin simulated market (3 months) into DuckDB.

rsj_daily equals the numpy oracle on the stored bars, the portfolios equal `rsj_quintile_portfolios`
on the stored inputs, a partition window's first-day turnover equals an unbroken run, changing bars
after day t leaves everything formed at t alone, re-materialising is identical, and the backtest
table equals `backtest_report` on the stored returns (market from daily_panel or the factor table).
"""

from __future__ import annotations

import datetime as dt
import shutil

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.analytics.backtest import backtest_report
from cryptofactor_assets.estimators.ltw_calendar import as_datetime_ns
from cryptofactor_assets.factors.definitions import defs as factors_defs
from cryptofactor_assets.factors.tables import FACTOR_RETURNS_DAILY
from cryptofactor_assets.lib.resources import RISK_FREE
from cryptofactor_assets.panels.assets import daily_panel
from cryptofactor_assets.rsj import assets as ra
from cryptofactor_assets.rsj.compute import (
    compute_rsj_portfolios,
    portfolios_long_format,
    rsj_daily_parameters,
)
from cryptofactor_assets.rsj.numerics import rsj_from_bars
from cryptofactor_assets.rsj.portfolios import rsj_quintile_portfolios
from cryptofactor_assets.rsj.reads import read_portfolio_inputs
from cryptofactor_assets.rsj.tables import RSJ_BACKTEST, RSJ_DAILY, RSJ_PORTFOLIOS_DAILY
from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
from cryptofactor_assets.sources.resources import MarketSourceResource, RiskFreeResource
from cryptofactor_assets_tests.conftest import SMALL_COINS, marked_copy, query

DAY0, DAY1 = "2023-10-02", "2023-12-31"
# rsj_daily and rsj_portfolios_daily hold daily rows in weekly (ISO week) partitions: the same days
WEEK0, WEEK1 = "2023-10-02", "2023-12-25"
CUT = pd.Timestamp("2023-11-20")  # last day whose bars are kept in the look-ahead test
SOURCES = [raw_klines_5m, raw_coin_markets, daily_panel]
RSJ_DAILY_ASSETS = [ra.rsj_daily_asset, ra.rsj_portfolios_daily_asset]
PORT_KEY = ["date", "weighting", "portfolio"]


def _resources(path: str) -> dict:
    return {"duckdb": DuckDBResource(database=path),
            "market_source": MarketSourceResource(kind="simulated", sim_coins=SMALL_COINS),
            RISK_FREE: RiskFreeResource()}


def _run(assets, resources, first=None, last=None, run_config=None) -> dg.ExecuteInProcessResult:
    tags = {} if first is None else {"dagster/asset_partition_range_start": first,
                                     "dagster/asset_partition_range_end": last}
    result = dg.materialize(assets, resources=resources, tags=tags, run_config=run_config, raise_on_error=False)
    assert result.success
    for check in result.get_asset_check_evaluations():
        assert check.passed, (check.asset_check_key, check.metadata)
    return result


def _frame(path: str, sql: str, dates=("date",)) -> pd.DataFrame:
    frame = query(path, sql)
    for c in dates:
        if c in frame.columns:
            frame[c] = as_datetime_ns(frame[c])
    return frame


def _ports(path: str) -> pd.DataFrame:
    return _frame(path, "SELECT * FROM rsj_portfolios_daily ORDER BY date, weighting, portfolio",
                  ("date", "date_formed"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("rsj") / "rsj.duckdb")
    resources = _resources(path)
    _run(SOURCES, resources, DAY0, DAY1)
    daily = _run(RSJ_DAILY_ASSETS, resources, WEEK0, WEEK1)
    summary = _run([ra.rsj_backtest_asset], resources)
    return path, resources, daily, summary


def test_rsj_daily_equals_the_oracle_on_the_stored_bars(built):
    path, *_ = built
    bars = _frame(path, "SELECT symbol, open_time, close FROM raw_klines_5m", ())
    ref = rsj_from_bars(bars).sort_values(["symbol", "date"], ignore_index=True)
    got = _frame(path, "SELECT * FROM rsj_daily ORDER BY symbol, date")
    assert len(got) == len(ref) > 500
    pd.testing.assert_series_equal(got["date"], ref["date"], check_names=False)
    assert (got["symbol"] == ref["symbol"]).all()
    for col in ("n_bars", "n_returns"):
        np.testing.assert_array_equal(got[col].to_numpy(), ref[col].to_numpy())
    assert got["reason"].fillna("").tolist() == ref["reason"].fillna("").tolist()
    rv = ref["rv"].to_numpy()
    for col in ("rv", "rs_pos", "rs_neg", "sj"):  # sums in another order: differences of 1e-16 x RV
        np.testing.assert_allclose(got[col], ref[col], rtol=0, atol=1e-12 * rv.max(), err_msg=col)
    for col in ("rsj", "rskew", "rkurt"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-10, atol=1e-12, err_msg=col)
    # the simulated market has bar gaps: some coin-days have no RSJ, each with its reason
    assert got["rsj"].notna().mean() > 0.8
    assert set(got["min_share"]) == {0.8}


def test_rsj_daily_metadata_counts_reasons_and_signed_jump_share(built):
    path, _, daily, _ = built
    meta = daily.asset_materializations_for_node(RSJ_DAILY)[-1].metadata  # the run's details: last partition
    stored = query(path, "SELECT count(*) FILTER (WHERE reason = 'too_few_bars') AS few, "
                         "count(*) FILTER (WHERE reason = 'zero_rv') AS zero, "
                         "count(*) FILTER (WHERE reason = 'stale') AS stale, avg(rsj) AS m, "
                         "avg(abs(rsj)) AS share FROM rsj_daily").iloc[0]
    counts = meta["coin_days_without_rsj"].data
    assert counts["too_few_bars"] == stored["few"] and counts["zero_rv"] == stored["zero"]
    assert counts["stale"] == stored["stale"] == 0  # the simulator's prices never stall
    assert meta["mean_rsj"].value == pytest.approx(stored["m"], rel=1e-12)
    assert meta["sj_share_qv"].value == pytest.approx(stored["share"], rel=1e-12)
    # the simulator plants jumps at ~18 % of quadratic variation: |SJ| / RV is of that order
    assert 0.05 < meta["sj_share_qv"].value < 0.5


def _expected_ports(path: str) -> tuple[pd.DataFrame, object]:
    rsj = _frame(path, "SELECT symbol, date, rsj, min_share, max_zero_share, include_midnight FROM rsj_daily")
    panel = _frame(path, "SELECT symbol, date, ret, market_cap, dollar_volume FROM daily_panel")
    out = rsj_quintile_portfolios(rsj[["symbol", "date", "rsj"]], panel)  # defaults: 50, 30, 5, 5.5 bp, $1M, balanced
    return portfolios_long_format(out, rsj_daily_parameters(rsj)), out


def test_portfolios_equal_the_pure_function_on_the_stored_inputs(built):
    path, *_ = built
    got = _ports(path)
    exp, out = _expected_ports(path)
    exp = exp.loc[exp["date"] <= pd.Timestamp(DAY1)].reset_index(drop=True)
    assert len(got) == len(exp) > 500
    pd.testing.assert_frame_equal(got[PORT_KEY + ["date_formed", "weight_source"]],
                                  exp[PORT_KEY + ["date_formed", "weight_source"]])
    for col in ("gross", "turnover", "cost", "net"):
        np.testing.assert_allclose(got[col].to_numpy(dtype=float), exp[col].to_numpy(dtype=float), rtol=1e-12,
                                   atol=1e-15, err_msg=col)
    assert (got["cap_filter"] == exp["cap_filter"]).all()
    for col in ("quantile", "n_coins", "n_long", "n_short", "n_universe"):
        np.testing.assert_array_equal(got[col].fillna(-1).to_numpy(dtype=float),
                                      exp[col].astype("Float64").fillna(-1).to_numpy(dtype=float), err_msg=col)
    # LS = Q1 - Q5 of the stored rows, with both legs' turnover; parameters stored on every row
    wide = got.pivot_table(index=["date", "weighting"], columns="portfolio", values="gross")
    np.testing.assert_allclose(wide["LS"], wide["Q1"] - wide["Q5"], rtol=1e-12, atol=1e-15)
    params = ["top_n", "trailing_days", "n_quantiles", "fee_bps", "min_share", "min_market_cap", "balanced_legs",
              "max_zero_share", "include_midnight", "cap_filter"]
    assert got[params].drop_duplicates().to_dict("records") == [
        {"top_n": 50, "trailing_days": 30, "n_quantiles": 5, "fee_bps": 5.5, "min_share": 0.8, "min_market_cap": 1e6,
         "balanced_legs": True, "max_zero_share": 0.5, "include_midnight": True, "cap_filter": "market_cap"}]
    assert (got["date_formed"] == got["date"] - pd.Timedelta(days=1)).all()
    assert set(got.loc[got["weighting"] == "ew", "weight_source"]) == {"equal"}
    ls = got.loc[got["portfolio"] == "LS"]
    assert (ls["n_coins"] == ls["n_long"] + ls["n_short"]).all() and (ls["n_long"] >= 1).all()
    # balanced legs: both legs formed with floor(n_universe / 5) coins (held: fewer when a return is missing)
    assert (ls["n_long"] <= ls["n_universe"] // 5).all() and (ls["n_short"] <= ls["n_universe"] // 5).all()
    assert (ls["n_long"] == ls["n_short"]).mean() > 0.95
    assert got["date"].min() == pd.Timestamp(DAY0) + pd.Timedelta(days=1)  # formed on the first stored day


def test_first_day_turnover_of_a_window_equals_the_unbroken_run(built):
    path, resources, *_ = built
    before = _ports(path)
    # a weekly partition starting on a Monday whose turnover in an unbroken run is not a fresh start's
    # (2 = buying both legs from nothing; 12 coins rarely keep a leg over a Monday, so "not 2", not "< 2")
    ls = before.loc[(before["portfolio"] == "LS") & (before["date"] >= pd.Timestamp("2023-11-01"))
                    & (before["date"].dt.weekday == 0)]
    fresh = ls.groupby("date")["turnover"].agg(lambda t: bool((abs(t - 2.0) < 0.1).any()))
    day = fresh.index[~fresh.to_numpy()].min()
    first = last = day.date().isoformat()  # one week: [day, day + 7)
    _run([ra.rsj_portfolios_daily_asset], resources, first, last)
    after = _ports(path)
    pd.testing.assert_frame_equal(after, before)
    # without the look-back the first day would look like a fresh start (turnover 1 per leg)
    con = duckdb.connect(path, read_only=True)
    try:
        start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last) + dt.timedelta(days=7)
        rsj, panel = read_portfolio_inputs(con, start, end, 30)
    finally:
        con.close()
    rsj = rsj.assign(date=as_datetime_ns(rsj["date"]))
    panel = panel.assign(date=as_datetime_ns(panel["date"]))
    short = compute_rsj_portfolios(rsj.loc[rsj["date"] >= pd.Timestamp(first) - pd.Timedelta(days=1)],
                                      panel.loc[panel["date"] >= pd.Timestamp(first) - pd.Timedelta(days=1)],
                                      start, end)[0]
    ls_short = short.loc[(short["date"] == day) & (short["portfolio"] == "LS"), "turnover"]
    ls_long = before.loc[(before["date"] == day) & (before["portfolio"] == "LS"), "turnover"]
    assert len(ls_short) == 2 and (ls_short.to_numpy() == 2.0).all() and (abs(ls_long.to_numpy() - 2.0) > 0.1).all()


def test_rematerialising_is_identical(built):
    path, resources, *_ = built
    tables = {t: query(path, f"SELECT * FROM {t} ORDER BY ALL") for t in ("rsj_daily", "rsj_portfolios_daily",
                                                                          "rsj_backtest")}
    _run(RSJ_DAILY_ASSETS, resources, WEEK0, WEEK1)
    _run([ra.rsj_backtest_asset], resources)
    for t, frame in tables.items():
        pd.testing.assert_frame_equal(query(path, f"SELECT * FROM {t} ORDER BY ALL"), frame, obj=t)


PERTURB_BARS = """
UPDATE raw_klines_5m
SET close = close * (1 + 0.03 * sin(epoch(open_time) / 1234.5 + hash(symbol) % 97)),
    volume = volume * (1 + hash(symbol) % 7),
    turnover = turnover * (1 + hash(symbol) % 7)
WHERE open_time >= $cut
"""
RECOMPUTE_LOG_RET = """
UPDATE raw_klines_5m AS k SET log_ret = s.lr
FROM (SELECT symbol, open_time,
             CASE WHEN lag(open_time) OVER w = open_time - INTERVAL 5 MINUTE
                   AND CAST(lag(open_time) OVER w AS DATE) = CAST(open_time AS DATE)
                  THEN ln(close / lag(close) OVER w) END AS lr
      FROM raw_klines_5m WINDOW w AS (PARTITION BY symbol ORDER BY open_time)) AS s
WHERE k.symbol = s.symbol AND k.open_time = s.open_time AND k.open_time >= $cut
"""
PERTURB_CAPS = "UPDATE raw_coin_markets SET market_cap = market_cap * (1 + hash(symbol) % 5) WHERE date >= $cut"


def test_no_look_ahead_changing_bars_after_t_leaves_portfolios_formed_at_t(built, tmp_path):
    path, *_ = built
    before_rsj = _frame(path, "SELECT * FROM rsj_daily ORDER BY symbol, date")
    before = _ports(path)
    other = str(tmp_path / "perturbed.duckdb")
    shutil.copy(path, other)
    cut = CUT + pd.Timedelta(days=1)  # bars of days > CUT change
    con = duckdb.connect(other)
    try:
        for sql in (PERTURB_BARS, RECOMPUTE_LOG_RET, PERTURB_CAPS):
            con.execute(sql, {"cut": cut.to_pydatetime()})
    finally:
        con.close()
    # rebuild the panel and the whole RSJ chain over the full range from the perturbed bars
    resources = _resources(other)
    _run([daily_panel], resources, DAY0, DAY1)
    _run(RSJ_DAILY_ASSETS, resources, WEEK0, WEEK1)
    after_rsj = _frame(other, "SELECT * FROM rsj_daily ORDER BY symbol, date")
    after = _ports(other)
    keep = before_rsj["date"] <= CUT
    pd.testing.assert_frame_equal(after_rsj.loc[after_rsj["date"] <= CUT].reset_index(drop=True),
                                  before_rsj.loc[keep].reset_index(drop=True))
    assert not np.allclose(after_rsj.loc[~keep.to_numpy(), "rsj"].fillna(0), before_rsj.loc[~keep, "rsj"].fillna(0))
    # every row held up to CUT is unchanged; the row held on CUT + 1 (formed at CUT) keeps its
    # composition, weight source, turnover and cost: only its realised return moves
    early = before["date"] <= CUT
    pd.testing.assert_frame_equal(after.loc[after["date"] <= CUT].reset_index(drop=True),
                                  before.loc[early].reset_index(drop=True))
    formed_at_cut = CUT + pd.Timedelta(days=1)
    cols = PORT_KEY + ["date_formed", "weight_source", "turnover", "cost", "n_coins", "n_long", "n_short",
                       "n_universe"]
    b = before.loc[before["date"] == formed_at_cut, cols].reset_index(drop=True)
    a = after.loc[after["date"] == formed_at_cut, cols].reset_index(drop=True)
    assert len(b) == 12
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(after.loc[after["date"] == formed_at_cut, "gross"],
                           before.loc[before["date"] == formed_at_cut, "gross"])
    later = before["date"] > formed_at_cut
    assert not np.allclose(after.loc[after["date"] > formed_at_cut, "turnover"], before.loc[later, "turnover"])


def _stored_stats(path: str, portfolio: str, weighting: str, returns: str) -> pd.Series:
    frame = query(path, "SELECT stat, value FROM rsj_backtest WHERE portfolio = ? AND weighting = ? "
                        "AND returns = ?", [portfolio, weighting, returns])
    return frame.set_index("stat")["value"]


def test_backtest_equals_backtest_report_with_the_daily_panel_market(built):
    path, _, _, summary = built
    ports = _ports(path)
    panel = _frame(path, "SELECT date, ret FROM daily_panel")
    market = panel.dropna().groupby("date")["ret"].mean()
    for portfolio in ("LS", "Q1", "Q5"):
        for weighting in ("ew", "vw"):
            g = ports.loc[(ports["portfolio"] == portfolio) & (ports["weighting"] == weighting)].set_index("date")
            for returns in ("gross", "net"):
                legs = ({"n_long": g["n_long"].astype(float), "n_short": g["n_short"].astype(float)}
                        if portfolio == "LS" else {})
                rep = backtest_report(g[returns], 365, market=market, **legs).as_dict()
                stored = _stored_stats(path, portfolio, weighting, returns)
                for stat, value in stored.items():
                    exp = rep[stat]
                    if exp is None:
                        assert np.isnan(value), stat
                    else:
                        assert value == pytest.approx(exp, rel=1e-10, abs=1e-14), (portfolio, weighting, returns, stat)
    info = query(path, "SELECT DISTINCT market_source, nw_lag_rule, top_n, trailing_days, n_quantiles, fee_bps, "
                       "min_share, first_date, last_date FROM rsj_backtest WHERE portfolio = 'LS'")
    assert len(info) == 1
    row = info.iloc[0]
    assert row["market_source"] == "daily_panel_ew" and row["nw_lag_rule"] == "4t100"
    assert (row["top_n"], row["trailing_days"], row["fee_bps"]) == (50, 30, 5.5)
    assert pd.Timestamp(row["last_date"]) == pd.Timestamp(DAY1)
    meta = summary.asset_materializations_for_node(RSJ_BACKTEST)[0].metadata
    assert "| statistic | EW gross | EW net | VW gross | VW net |" in meta["long_short_table"].value
    assert "data:image/png;base64," in meta["equity_curve"].value
    assert "daily_panel" in meta["market"].value
    # net = gross - costs: the net mean is below the gross mean by the mean cost
    ls = ports.loc[(ports["portfolio"] == "LS") & (ports["weighting"] == "ew")]
    gap = _stored_stats(path, "LS", "ew", "gross")["mean"] - _stored_stats(path, "LS", "ew", "net")["mean"]
    assert gap == pytest.approx(ls["cost"].mean(), rel=1e-10)


def test_backtest_uses_the_market_factor_when_built(built, tmp_path):
    path, *_ = built
    other = str(tmp_path / "factors.duckdb")
    shutil.copy(path, other)
    resources = _resources(other)
    factor_returns_daily = next(a for a in factors_defs().assets if FACTOR_RETURNS_DAILY in {k.path[-1] for k in a.keys})
    _run([factor_returns_daily], resources, WEEK0, WEEK1,
         run_config={"ops": {FACTOR_RETURNS_DAILY: {"config": {"construction": "single_sort"}}}})
    _run([ra.rsj_backtest_asset], resources)
    mkt = _frame(other, "SELECT date, mkt FROM factor_returns_daily").set_index("date")["mkt"]
    ports = _ports(other)
    g = ports.loc[(ports["portfolio"] == "LS") & (ports["weighting"] == "vw")].set_index("date")
    rep = backtest_report(g["net"], 365, market=mkt, n_long=g["n_long"], n_short=g["n_short"])
    stored = _stored_stats(other, "LS", "vw", "net")
    for stat in ("beta", "beta_t_nw", "alpha", "alpha_t_nw", "n_market_periods", "avg_coins_long"):
        assert stored[stat] == pytest.approx(getattr(rep, stat), rel=1e-10), stat
    assert set(query(other, "SELECT DISTINCT market_source FROM rsj_backtest")["market_source"]) == {
        "factor_returns_daily.mkt"}


def test_value_weights_fall_back_to_dollar_volume_without_market_caps(built, tmp_path):
    # the real 5-minute files carry no market caps: VW must say so and use trailing dollar volume
    path, *_ = built
    other = str(tmp_path / "nocaps.duckdb")
    shutil.copy(path, other)
    con = duckdb.connect(other)
    try:
        con.execute("UPDATE daily_panel SET market_cap = NULL")
    finally:
        con.close()
    result = _run([ra.rsj_portfolios_daily_asset], _resources(other), WEEK0, WEEK1)
    got = _ports(other)
    assert set(got.loc[got["weighting"] == "vw", "weight_source"]) == {"dollar_volume"}
    meta = result.asset_materializations_for_node(RSJ_PORTFOLIOS_DAILY)[-1].metadata  # the run's details: last partition
    assert "market caps absent" in meta["notes"].value
    assert meta["vw_fallback_days"].value == got.loc[(got["weighting"] == "vw") & (got["portfolio"] == "LS")].shape[0]
    exp, _ = _expected_ports(other)
    exp = exp.loc[exp["date"] <= pd.Timestamp(DAY1)].reset_index(drop=True)
    np.testing.assert_allclose(got["net"].to_numpy(dtype=float), exp["net"].to_numpy(dtype=float), rtol=1e-12,
                               atol=1e-15)
    # and the value weights really differ from the market-cap ones of the original build (in every
    # quantile: the 9 coins with bars make balanced legs of one coin, equal under any weighting)
    orig = _ports(path)
    vw = got["weighting"] == "vw"
    assert not np.allclose(got.loc[vw, "gross"], orig.loc[vw, "gross"])
    assert set(got["cap_filter"]) == {"no_caps"} and set(orig["cap_filter"]) == {"market_cap"}


# --------------------------------------------------------------------------------------------
# weekly partitions of daily rows: week-by-week runs equal the backfill, a week's run
# replaces exactly its 7 days, and its checks look at that week only
# --------------------------------------------------------------------------------------------
RSJ_TABLES = {"rsj_daily": ["symbol", "date"], "rsj_portfolios_daily": PORT_KEY}
#: A column of each table that the RSJ assets never read: marked outside the week re-run (NaN fails
#: the finite / bounds checks, so a check over more than the week would fail).
RSJ_MARK = {"rsj_daily": "rskew", "rsj_portfolios_daily": "net"}
WEEKS_2M = [d.date().isoformat() for d in pd.date_range("2023-11-06", WEEK1, freq="W-MON")]


def _rsj_rows(path: str) -> dict[str, pd.DataFrame]:
    return {t: _frame(path, f"SELECT * FROM {t} ORDER BY {', '.join(k)}", ("date", "date_formed"))
            for t, k in RSJ_TABLES.items()}


def test_week_by_week_runs_equal_the_backfill(built, tmp_path):
    path, *_ = built
    backfill = _rsj_rows(path)
    other = str(tmp_path / "weekly.duckdb")
    shutil.copy(path, other)
    first = dt.date.fromisoformat(WEEKS_2M[0])
    con = duckdb.connect(other)
    try:  # the last two months' rows are gone: only the week-by-week runs below write them again
        for t in RSJ_TABLES:
            con.execute(f"DELETE FROM {t} WHERE date >= ?", [first])
    finally:
        con.close()
    resources = _resources(other)
    for week in WEEKS_2M:  # one run per weekly partition, in order (as the weekly schedule runs them)
        result = dg.materialize(RSJ_DAILY_ASSETS, resources=resources, partition_key=week, raise_on_error=False)
        assert result.success, week
        assert all(c.passed for c in result.get_asset_check_evaluations()), week
    weekly = _rsj_rows(other)
    for t in RSJ_TABLES:
        assert len(weekly[t]) == len(backfill[t]) > 0, t
        # DuckDB's parallel float sums: equal up to rounding
        pd.testing.assert_frame_equal(weekly[t], backfill[t], obj=t, check_exact=False, rtol=1e-12, atol=1e-15)
    held = weekly["rsj_portfolios_daily"]["date"]
    assert held.max() == pd.Timestamp(DAY1) and held[held >= pd.Timestamp(first)].nunique() == 7 * len(WEEKS_2M)


def test_rerunning_one_week_replaces_exactly_its_seven_days(built, tmp_path):
    path, *_ = built
    backfill = _rsj_rows(path)
    other = marked_copy(path, tmp_path / "one_week.duckdb", RSJ_MARK)
    week = "2023-11-20"
    lo, hi = pd.Timestamp(week), pd.Timestamp(week) + pd.Timedelta(days=7)
    result = _run(RSJ_DAILY_ASSETS, _resources(other), week, week)  # every check passes (see _run)
    assert result.get_asset_check_evaluations()
    after = _rsj_rows(other)
    for t, col in RSJ_MARK.items():
        got, exp = after[t], backfill[t]
        inside = (got["date"] >= lo) & (got["date"] < hi)
        assert got.loc[inside, "date"].nunique() == 7, t
        pd.testing.assert_frame_equal(got.loc[inside].reset_index(drop=True),
                                      exp.loc[(exp["date"] >= lo) & (exp["date"] < hi)].reset_index(drop=True),
                                      obj=t, check_exact=False, rtol=1e-12, atol=1e-15)
        outside = exp.loc[(exp["date"] < lo) | (exp["date"] >= hi)].reset_index(drop=True)
        assert got.loc[~inside, col].isna().all() and len(got) == len(exp), t
        rest = [c for c in got.columns if c != col]
        pd.testing.assert_frame_equal(got.loc[~inside, rest].reset_index(drop=True), outside[rest], obj=t)
