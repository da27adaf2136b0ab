"""weekly_panel's return rule on a hand-built daily panel: LTW's last available price (the default) against
the complete-week rule, eligibility on the last available day, no look-ahead, the choice stored.

Days of the hand-built panel (ISO weeks W0 = 2024-01-01, W1 = 2024-01-08, W2 = 2024-01-15), market cap
$2M and a dollar volume every day unless said:

* A misses Wednesday 2024-01-10 (inside W1);
* B misses Sunday 2024-01-14 (the last day of W1), so W2's first daily return is NULL too;
* C has no market cap on Monday 2024-01-08 (the first day of W1; as CoinGecko on 2017-04-02);
* D is below $1M on W1's last day only; E has no market cap on W1's last day;
* F has no row in W1 at all; G has no dollar volume on W1's last day.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.estimators.ltw_calendar import RETURN_RULES, aggregate_weekly
from cryptofactor_assets.panels.assets import weekly_panel
from cryptofactor_assets.storage.warehouse import ensure_table
from cryptofactor_assets_tests.conftest import query, query_dates

W0, W1, W2 = dt.date(2024, 1, 1), dt.date(2024, 1, 8), dt.date(2024, 1, 15)
DAYS = [W0 + dt.timedelta(days=i) for i in range(21)]
MISSING = {"A": [dt.date(2024, 1, 10)], "B": [dt.date(2024, 1, 14)], "F": DAYS[7:14]}
LAST_W1 = dt.date(2024, 1, 14)


def _daily() -> pd.DataFrame:
    rng = np.random.default_rng(16)
    rows = []
    for sym in "ABCDEFG":
        days = [d for d in DAYS if d not in MISSING.get(sym, [])]
        close = 10.0 * np.exp(np.cumsum(rng.normal(0, 0.05, len(days))))
        frame = pd.DataFrame({"symbol": sym, "date": days, "close": close, "market_cap": 2e6,
                              "dollar_volume": 1e5, "volume": 1e4})
        gap = np.r_[True, np.diff(np.array(days, dtype="datetime64[D]")).astype(int) != 1]
        frame["ret"] = np.where(gap, np.nan, frame["close"] / frame["close"].shift(1) - 1)
        rows.append(frame)
    daily = pd.concat(rows, ignore_index=True)
    at = lambda sym, day: (daily.symbol == sym) & (daily.date == day)  # noqa: E731
    daily.loc[at("C", W1), "market_cap"] = np.nan
    daily.loc[at("D", LAST_W1), "market_cap"] = 5e5
    daily.loc[at("E", LAST_W1), "market_cap"] = np.nan
    daily.loc[at("G", LAST_W1), "dollar_volume"] = np.nan
    daily["log_ret"] = np.log1p(daily["ret"])
    daily["close_source"] = "markets"
    daily["volume_source"] = "markets"
    daily["n_bars"] = 0
    daily["in_universe"] = (daily["market_cap"] >= 1e6) & daily["ret"].notna() & daily["dollar_volume"].notna()
    return daily


def _store_daily(path: str, daily: pd.DataFrame) -> None:
    con = duckdb.connect(path)
    try:
        ensure_table(con, "daily_panel")
        con.execute("DELETE FROM daily_panel")
        con.register("incoming", daily)
        con.execute("INSERT INTO daily_panel BY NAME SELECT * FROM incoming")
    finally:
        con.close()


def _build(path: str, resources, rule: str | None, first: str = "2024-01-08", last: str = "2024-01-15"):
    config = {} if rule is None else {"ops": {"weekly_panel": {"config": {"return_rule": rule}}}}
    result = dg.materialize([weekly_panel], resources=resources, run_config=config, raise_on_error=False,
                            tags={"dagster/asset_partition_range_start": first,
                                  "dagster/asset_partition_range_end": last})
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())
    return result


def _stored(path: str) -> pd.DataFrame:
    return query_dates(path, "SELECT * FROM weekly_panel ORDER BY symbol, week_start",
                       ["week_start", "last_date"]).set_index(["symbol", "week_start"])


@pytest.fixture
def daily(db_path):
    frame = _daily()
    _store_daily(db_path, frame)
    return frame


def _close(daily, sym, day) -> float:
    return float(daily.loc[(daily.symbol == sym) & (daily.date == day), "close"].iloc[0])


def test_default_is_ltw_last_available_price(db_path, resources, daily):
    _build(db_path, resources, None)
    wp = _stored(db_path)
    w1, w2 = pd.Timestamp(W1), pd.Timestamp(W2)
    assert set(wp["return_rule"]) == {"last_price"}
    # A misses a Wednesday: last close of W1 over last close of W0
    a = wp.loc[("A", w1)]
    assert a["ret"] == pytest.approx(_close(daily, "A", LAST_W1) / _close(daily, "A", DAYS[6]) - 1, rel=1e-12)
    assert a["in_universe"] and a["n_returns"] == 5 and a["n_days"] == 6
    # B misses W1's last day: its last available day is Saturday; W2 is measured from that price
    b1, b2 = wp.loc[("B", w1)], wp.loc[("B", w2)]
    sat = dt.date(2024, 1, 13)
    assert b1["last_date"] == pd.Timestamp(sat) and b1["close"] == _close(daily, "B", sat)
    assert b1["ret"] == pytest.approx(_close(daily, "B", sat) / _close(daily, "B", DAYS[6]) - 1, rel=1e-12)
    assert b1["in_universe"] and b2["prev_close"] == _close(daily, "B", sat)
    assert b2["ret"] == pytest.approx(_close(daily, "B", DAYS[-1]) / _close(daily, "B", sat) - 1, rel=1e-12)
    # eligibility on the last available day only: C (no cap on W1's Monday) is in, D, E, G are out
    assert wp.loc[("C", w1), "in_universe"]
    assert not wp.loc[("D", w1), "in_universe"] and wp.loc[("D", w1), "market_cap"] == 5e5
    assert not wp.loc[("E", w1), "in_universe"] and np.isnan(wp.loc[("E", w1), "market_cap"])  # not filled
    assert not wp.loc[("G", w1), "in_universe"]
    # F has no row in W1 and none in W2 from W1: no return across a whole missing week (NULL, stated)
    assert ("F", w1) not in wp.index
    assert np.isnan(wp.loc[("F", w2), "ret"]) and np.isnan(wp.loc[("F", w2), "prev_close"])
    assert wp.loc[("F", w2), "in_universe"]  # eligible on its last day: it can be held from W3 on
    # a complete week has the same return under both rules (the compounded daily returns)
    d = daily[(daily.symbol == "C") & (daily.date >= W1) & (daily.date < W2)]
    assert wp.loc[("C", w1), "ret"] == pytest.approx(np.prod(1 + d["ret"]) - 1, rel=1e-12)


def test_complete_week_rule_drops_the_coin_week(db_path, resources, daily):
    _build(db_path, resources, "complete_week")
    wp = _stored(db_path)
    w1, w2 = pd.Timestamp(W1), pd.Timestamp(W2)
    assert set(wp["return_rule"]) == {"complete_week"}
    for sym in "ABCDEG":  # a missing day, a missing first-day cap, a low / missing last-day cap or volume
        assert not wp.loc[(sym, w1), "in_universe"], sym
    assert np.isnan(wp.loc[("A", w1), "ret"]) and np.isnan(wp.loc[("B", w1), "ret"])
    assert np.isnan(wp.loc[("B", w2), "ret"])  # its first daily return needs the missing Sunday
    assert not np.isnan(wp.loc[("C", w1), "ret"]) and wp.loc[("A", w2), "in_universe"]
    # the base price is stored whatever the rule
    assert wp.loc[("A", w1), "prev_close"] == _close(daily, "A", DAYS[6])


@pytest.mark.parametrize("rule", RETURN_RULES)
def test_sql_equals_the_python_aggregation(db_path, resources, daily, rule):
    _build(db_path, resources, rule)
    sql = _stored(db_path).sort_index()
    py = aggregate_weekly(daily, "iso", return_rule=rule)
    py = py[py.week_start >= pd.Timestamp(W1)].set_index(["symbol", "week_start"]).sort_index()
    assert list(py.index) == list(sql.index) and list(py.columns) == list(sql.columns)
    for col in ["ret", "close", "market_cap", "max_price", "avg_volume", "avg_dollar_volume", "std_dollar_volume",
                "prev_close"]:
        np.testing.assert_allclose(sql[col].astype(float), py[col].astype(float), rtol=1e-12, err_msg=col)
    for col in ["n_days", "n_returns", "age_weeks", "in_universe", "last_date", "return_rule"]:
        assert (sql[col] == py[col]).all(), col


@pytest.mark.parametrize("rule", RETURN_RULES)
def test_no_look_ahead(db_path, resources, daily, rule):
    """A week's row reads that week and the one before only: changing every later day leaves it alone."""
    _build(db_path, resources, rule)
    before = _stored(db_path)
    later = daily.date >= W2
    changed = daily.copy()
    changed.loc[later, ["close", "market_cap", "dollar_volume"]] *= 3.0
    changed.loc[later, "ret"] = -0.5
    _store_daily(db_path, changed)
    _build(db_path, resources, rule, "2024-01-08", "2024-01-08")
    after = _stored(db_path)
    pd.testing.assert_frame_equal(before, after)  # W1 rebuilt from the changed file, W2 not rebuilt
    _build(db_path, resources, rule, "2024-01-15", "2024-01-15")
    w2 = pd.Timestamp(W2)
    assert (_stored(db_path).xs(w2, level="week_start")["close"] == 3.0 * before.xs(w2, level="week_start")["close"]).all()


def test_the_first_stored_week_reads_the_week_before_it(db_path, resources, daily):
    """A one-week run takes its base price from the previous week's stored daily rows (not from its own)."""
    _build(db_path, resources, None, "2024-01-08", "2024-01-08")
    wp = _stored(db_path)
    assert wp.index.get_level_values("week_start").unique().tolist() == [pd.Timestamp(W1)]
    assert wp["prev_close"].notna().sum() == 6  # every coin but F (absent from W1)


def test_an_old_file_gains_the_columns(db_path, resources, daily):
    con = duckdb.connect(db_path)
    try:  # a weekly_panel written before last_date, prev_close and return_rule existed
        con.execute("CREATE TABLE weekly_panel (symbol VARCHAR NOT NULL, week_start DATE NOT NULL, ret DOUBLE, "
                    "n_days INTEGER NOT NULL, n_returns INTEGER NOT NULL, close DOUBLE NOT NULL, market_cap DOUBLE, "
                    "max_price DOUBLE NOT NULL, avg_volume DOUBLE, avg_dollar_volume DOUBLE, "
                    "std_dollar_volume DOUBLE, age_weeks INTEGER NOT NULL, in_universe BOOLEAN NOT NULL)")
        con.execute("INSERT INTO weekly_panel VALUES ('OLD', '2023-12-25', 0.1, 7, 7, 1.0, 2e6, 1.0, 1.0, 1.0, 0.0, "
                    "3, true)")
    finally:
        con.close()
    _build(db_path, resources, None)
    old = query(db_path, "SELECT return_rule, prev_close, last_date FROM weekly_panel WHERE symbol = 'OLD'")
    assert len(old) == 1 and old.isna().all(axis=None)  # kept, NULL in the new columns until rebuilt
    assert set(query(db_path, "SELECT return_rule FROM weekly_panel WHERE symbol <> 'OLD'").return_rule) == {
        "last_price"}


def test_an_unknown_rule_fails_the_run(db_path, resources, daily):
    result = dg.materialize([weekly_panel], resources=resources, partition_key="2024-01-08", raise_on_error=False,
                            run_config={"ops": {"weekly_panel": {"config": {"return_rule": "seven_days"}}}})
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "return_rule must be one of" in str(failure.event_specific_data.error)
