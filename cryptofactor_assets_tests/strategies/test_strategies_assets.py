"""Tier 2: the strategy assets on a temporary DuckDB file with small synthetic upstream tables.

The upstream tables (daily panel, funding, weekly characteristics, forecasts, folds, targets, RSJ,
daily factors) are written directly, so the test exercises the strategy shells, their SQL, checks and
metadata, independently of the rest of the lineage (the full lineage runs in `make demo` and the
definitions test).
"""

from __future__ import annotations

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.warehouse import ensure_table
from cryptofactor_assets.strategies import assets as sa
from cryptofactor_assets.strategies import tables as st
from cryptofactor_assets_tests.conftest import query

ASSETS = [sa.forecast_quintile_weights, sa.significance_weights, sa.kelly_weights, sa.characteristic_ls_weights,
          sa.rsj_strategy_weights, sa.strategy_returns, sa.strategy_comparison]
COINS = [f"C{i:02d}" for i in range(12)]
DAYS = pd.date_range("2024-01-01", "2024-06-30", freq="D")  # 2024-01-01 is a Monday
WEEKS = DAYS[DAYS.dayofweek == 0]
RUN_CONFIG = {"ops": {"characteristic_ls_weights": {"config": {"characteristics": ["mcap", "r3_0"]}},
                      "rsj_strategy_weights": {"config": {"top_n": 10, "trailing_days": 5}}}}


def _write(con, table: str, frame: pd.DataFrame, create: str | None = None) -> None:
    if create:
        con.execute(create)
    else:
        ensure_table(con, table)
    con.register("incoming", frame)
    con.execute(f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM incoming")  # test data, constant table names
    con.unregister("incoming")


def build_inputs(path: str, seed: int = 0, shock_after: pd.Timestamp | None = None) -> None:
    rng = np.random.default_rng(seed)
    n_d, n_c = len(DAYS), len(COINS)
    ret = rng.normal(0.0005, 0.03, (n_d, n_c))
    if shock_after is not None:  # the future changes, the past does not
        later = DAYS > shock_after
        ret[later] = np.random.default_rng(99).normal(0.0, 0.08, (later.sum(), n_c))
    close = 100 * np.cumprod(1 + ret, axis=0)
    cap = close * np.linspace(1e7, 5e9, n_c)
    spread = np.where(rng.random((n_d, n_c)) < 0.2, np.nan, rng.uniform(0.0002, 0.002, (n_d, n_c)))
    long = lambda a: a.ravel()  # noqa: E731 (days x coins -> rows)
    panel = pd.DataFrame({"symbol": np.tile(COINS, n_d), "date": np.repeat(DAYS.date, n_c), "close": long(close),
                          "close_source": "klines", "ret": long(ret), "log_ret": np.log1p(long(ret)),
                          "market_cap": long(cap), "volume": 1.0, "dollar_volume": long(cap) * 0.05,
                          "volume_source": "klines", "n_bars": 288, "in_universe": True,
                          "spread_cs": long(spread), "spread_ar": long(spread) * 0.8})
    times = pd.date_range(DAYS[0] + pd.Timedelta(hours=8), DAYS[-1] + pd.Timedelta(days=1), freq="8h")
    funding = pd.DataFrame({"symbol": np.tile(COINS, len(times)), "funding_time": np.repeat(times, n_c),
                            "funding_rate": 0.0001, "interval_hours": 8.0, "source": "test"})
    wk = pd.DataFrame({"symbol": np.tile(COINS, len(WEEKS)), "week_start": np.repeat(WEEKS.date, n_c),
                       "mcap": rng.normal(20, 2, len(WEEKS) * n_c), "r3_0": rng.normal(0, 0.1, len(WEEKS) * n_c),
                       "market_cap": rng.lognormal(20, 1, len(WEEKS) * n_c), "in_universe": True,
                       "y_next": rng.normal(0, 0.05, len(WEEKS) * n_c)})
    test_weeks = WEEKS[8:]
    fc = []
    for model, kind in (("ridge", "excess_return"), ("ols", "excess_return"), ("logit_l2", "probability_up")):
        f = pd.DataFrame({"scheme": "expanding", "model": model, "symbol": np.tile(COINS, len(test_weeks)),
                          "week_start": np.repeat(test_weeks.date, n_c), "fold": np.repeat(np.arange(len(test_weeks)) // 4,
                                                                                            n_c), "kind": kind})
        if kind == "excess_return":
            f = f.assign(forecast=rng.normal(0, 0.01, len(f)), forecast_se=rng.uniform(0.002, 0.01, len(f)))
        else:
            p = rng.uniform(0.35, 0.75, len(f))
            f = f.assign(forecast=p, p_up_calibrated=np.clip(p + rng.normal(0, 0.03, len(f)), 0.01, 0.99))
        fc.append(f)
    folds = pd.DataFrame({"scheme": "expanding", "fold": np.arange(5), "train_start": WEEKS[0].date(),
                          "train_end": [WEEKS[6 + 4 * k].date() for k in range(5)]})
    rsj = pd.DataFrame({"symbol": np.tile(COINS, n_d), "date": np.repeat(DAYS.date, n_c), "n_bars": 288,
                        "n_returns": 287, "rv": 0.001, "rs_pos": 0.0005, "rs_neg": 0.0005, "sj": 0.0,
                        "rsj": rng.uniform(-0.5, 0.5, n_d * n_c), "min_share": 0.8})
    factors = pd.DataFrame({"date": DAYS.date, "mkt": ret.mean(axis=1), "size": ret[:, 6:].mean(1) - ret[:, :6].mean(1),
                            "mom": rng.normal(0, 0.01, n_d)})
    with duckdb.connect(path) as con:
        _write(con, "daily_panel", panel)
        _write(con, "raw_funding_rates", funding)
        _write(con, "weekly_characteristics", wk.drop(columns=["y_next"]), "CREATE TABLE weekly_characteristics "
               "(symbol VARCHAR, week_start DATE, mcap DOUBLE, r3_0 DOUBLE, market_cap DOUBLE, in_universe BOOLEAN)")
        _write(con, "feature_matrix", wk[["symbol", "week_start", "y_next", "in_universe"]],
               "CREATE TABLE feature_matrix (symbol VARCHAR, week_start DATE, y_next DOUBLE, in_universe BOOLEAN)")
        _write(con, "prediction_forecasts", pd.concat(fc, ignore_index=True))
        _write(con, "prediction_folds", folds, "CREATE TABLE prediction_folds "
               "(scheme VARCHAR, model VARCHAR, fold INTEGER, train_start DATE, train_end DATE)")
        _write(con, "rsj_daily", rsj)
        _write(con, "factor_returns_daily", factors,
               "CREATE TABLE factor_returns_daily (date DATE, mkt DOUBLE, size DOUBLE, mom DOUBLE)")


def run(path: str, extra_config: dict | None = None) -> dg.ExecuteInProcessResult:
    config = {"ops": {**RUN_CONFIG["ops"], **(extra_config or {})}}
    return dg.materialize(ASSETS, resources={"duckdb": DuckDBResource(database=path)}, run_config=config,
                          raise_on_error=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("strategies") / "s.duckdb")
    build_inputs(path)
    result = run(path)
    return path, result


def test_every_asset_and_check_succeeds(built):
    path, result = built
    assert result.success
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed == []
    families = set(query(path, "SELECT DISTINCT family FROM strategy_returns")["family"])
    assert families == {"forecast_quintile", "significance", "kelly", "characteristic", "rsj"}


def test_the_book_is_charged_the_default_costs(built):
    path, _ = built
    r = query(path, "SELECT * FROM strategy_returns")
    assert np.allclose(r["net"], r["gross"] - r["fee"] - r["spread"] - r["funding"], atol=1e-15)
    assert np.allclose(r["fee"], 5.5e-4 * r["turnover"], atol=1e-15)  # Bybit USDT perpetuals, taker
    assert set(r["cost_model"]) == {"bybit_linear taker 5.5 bp; spread corwin_schultz (fallback 10 bp); funding on; "
                                    "lag 1 day"}
    assert (r["funding"] != 0).any() and (r["spread"] > 0).any()
    # a long-only Kelly book pays positive funding; every first trade is at least the first day after a decision
    kelly = r[r["family"] == "kelly"]
    assert (kelly.loc[kelly["long_exposure"] > 0, "short_exposure"] == 0).all()
    w = query(path, "SELECT strategy, min(date) AS first FROM forecast_quintile_weights GROUP BY 1")
    first_day = r.groupby("strategy")["date"].min()
    for _, row in w.iterrows():
        assert pd.Timestamp(first_day[row["strategy"]]) == pd.Timestamp(row["first"]) + pd.Timedelta(days=1)


def test_kelly_never_holds_a_negative_edge(built):
    path, _ = built
    k = query(path, "SELECT * FROM kelly_weights WHERE symbol IS NOT NULL")
    assert len(k) and (k["kelly"] > 0).all()
    all_rows = query(path, "SELECT * FROM prediction_forecasts WHERE model = 'logit_l2'")
    b = k.drop_duplicates(["date"]).set_index("date")["payoff_ratio"]
    assert b.notna().all()
    negative = all_rows[all_rows["p_up_calibrated"] < 0.3]
    assert negative.empty or negative.merge(k.assign(week_start=pd.to_datetime(k["date"]) - pd.Timedelta(days=6)),
                                            on=["symbol", "week_start"]).empty


def test_comparison_and_attribution(built):
    path, result = built
    comp = query(path, "SELECT * FROM strategy_comparison")
    n_strategies = query(path, "SELECT count(DISTINCT strategy) AS n FROM strategy_returns")["n"].iloc[0]
    assert len(comp) == 2 * n_strategies and set(comp["basis"]) == {"gross", "net"}
    net, gross = (comp[comp["basis"] == b].set_index("strategy") for b in ("net", "gross"))
    assert np.allclose(gross["ann_return"] - net["ann_return"], net["cost_drag"], atol=1e-12)
    assert np.allclose(net["fee_drag"] + net["spread_drag"] + net["funding_drag"], net["cost_drag"], atol=1e-12)
    assert (comp["venue"] == "bybit_linear").all() and (comp["lag_days"] == 1).all() and comp["funding_charged"].all()
    assert comp["alpha_3f_t_nw"].notna().all() and comp["cmkt_beta"].notna().all()
    attr = query(path, "SELECT * FROM strategy_attribution")
    parts = attr[["mkt_part", "size_part", "mom_part", "alpha", "residual"]].sum(axis=1)
    assert np.allclose(parts, attr["net"], atol=1e-12)
    meta = result.asset_materializations_for_node("strategy_comparison")[0].metadata
    assert "comparison" in meta and "net_equity_curves" in meta


def test_a_spot_venue_pays_no_funding_and_its_own_fee(tmp_path):
    path = str(tmp_path / "spot.duckdb")
    build_inputs(path)
    result = run(path, {"strategy_returns": {"config": {"venue": "binance_spot", "spread": "constant"}}})
    assert result.success
    r = query(path, "SELECT * FROM strategy_returns")
    assert (r["funding"] == 0).all() and np.allclose(r["fee"], 1e-3 * r["turnover"])
    assert np.allclose(r.loc[r["turnover"] > 0, "spread"], 5e-4 * r.loc[r["turnover"] > 0, "turnover"])


def test_no_look_ahead_through_the_assets(tmp_path, built):
    """The same inputs with every return after a cut changed: the strategy days up to the cut are equal."""
    path, _ = built
    cut = pd.Timestamp("2024-04-14")
    moved = str(tmp_path / "moved.duckdb")
    build_inputs(moved, shock_after=cut)
    assert run(moved).success
    sql = "SELECT * FROM strategy_returns WHERE date <= ? ORDER BY strategy, date"
    a, b = query(path, sql, [cut.date()]), query(moved, sql, [cut.date()])
    pd.testing.assert_frame_equal(a, b)
    later = "SELECT net FROM strategy_returns WHERE date > ? ORDER BY strategy, date"
    assert not np.allclose(query(path, later, [cut.date()])["net"], query(moved, later, [cut.date()])["net"])


def test_weights_tables_are_the_families():
    assert set(st.WEIGHTS_TABLES) == {a.key.to_user_string() for a in ASSETS[:5]}


def test_the_tear_sheet_shows_the_comparison(built):
    from cryptofactor_assets.reporting.tear_sheet import build_tear_sheet

    path, _ = built
    with duckdb.connect(path, read_only=True) as con:
        section = build_tear_sheet(con).section("strategies")
    assert section.status == "ok" and section.plots and "bybit_linear taker 5.5 bp" in section.note
    shown = section.tables["strategy_comparison"]
    assert {"gross", "net"} == set(shown["basis"]) and "funding_drag" in shown.columns


def test_a_coin_that_stops_trading_is_closed_not_rescaled(tmp_path):
    """C11 (the largest coin, always in the VW books) stops trading for good on 2024-05-01: every book
    holding it closes the position that day at the delisting return, counted; -100 % costs exactly the
    weights held."""
    out = {}
    for dr in (0.0, -1.0):
        path = str(tmp_path / f"d{dr}.duckdb")
        build_inputs(path)
        with duckdb.connect(path) as con:
            con.execute("DELETE FROM daily_panel WHERE symbol = 'C11' AND date >= DATE '2024-05-01'")
        assert run(path, {"strategy_returns": {"config": {"delisting_return": dr}}}).success
        out[dr] = query(path, "SELECT * FROM strategy_returns ORDER BY strategy, date")
    r0, r1 = out[0.0], out[-1.0]
    day = r0["date"] == pd.Timestamp("2024-05-01")
    assert r0.loc[day, "n_delisted"].sum() > 0 and (r0.loc[~day, "n_delisted"] == 0).all()
    assert set(r0["delisting_return"]) == {0.0} and set(r1["delisting_return"]) == {-1.0}
    before = r0["date"] < pd.Timestamp("2024-05-01")
    pd.testing.assert_frame_equal(r0[before].drop(columns="delisting_return"),
                                  r1[before].drop(columns="delisting_return"))
    hit = day & (r0["n_delisted"] > 0)
    assert (r1.loc[hit, "gross"] != r0.loc[hit, "gross"]).all()  # the delisting return shows that day...
    longs = hit & (r0["short_exposure"] == 0)  # ... as a loss for a long-only book (a short gains it)
    assert longs.any() and (r1.loc[longs, "gross"] < r0.loc[longs, "gross"]).all()
