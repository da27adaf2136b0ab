"""Tier 2: materialise sources and panels on a small simulated market into a temporary DuckDB file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.panels.assets import daily_panel, weekly_panel
from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m, sim_truth
from cryptofactor_assets.storage.warehouse import FAIL_ENV
from cryptofactor_assets_tests.conftest import materialize_range, query

DAILY = [raw_klines_5m, raw_coin_markets, daily_panel]


@pytest.fixture
def built(db_path, resources):
    # a week plus the day before it (the first day's return needs the previous close)
    assert materialize_range(DAILY, resources, "2024-01-07", "2024-01-14").success
    assert materialize_range([weekly_panel], resources, "2024-01-08", "2024-01-08").success
    return db_path


def test_lineage_builds_with_unique_keys_and_rejected_rows(built):
    for table, key in [("raw_klines_5m", "symbol, open_time"), ("raw_coin_markets", "symbol, date"),
                       ("daily_panel", "symbol, date"), ("weekly_panel", "symbol, week_start")]:
        n, distinct = query(built, f"SELECT count(*), count(DISTINCT ({key})) FROM {table}").iloc[0]
        assert n > 0 and n == distinct, table
    panel = query(built, "SELECT * FROM daily_panel")
    assert set(panel.close_source) == {"klines", "markets"}  # markets-only coins keep their rows
    assert panel.in_universe.any() and (~panel.in_universe).any()


def test_daily_returns_equal_close_to_close_from_klines(built):
    bars = query(built, "SELECT symbol, open_time, close FROM raw_klines_5m")
    bars["date"] = bars.open_time.dt.normalize()
    closes = bars.sort_values("open_time").groupby(["symbol", "date"]).close.last().unstack("symbol")
    expected = (closes / closes.shift(1) - 1).iloc[1:]  # needs consecutive calendar days: they are
    panel = query(built, "SELECT symbol, date, ret FROM daily_panel WHERE close_source = 'klines' AND date > '2024-01-07'")
    got = panel.pivot(index="date", columns="symbol", values="ret")
    got.index = pd.to_datetime(got.index)
    common = got.columns.intersection(expected.columns)
    np.testing.assert_allclose(got[common].to_numpy(), expected.loc[got.index, common].to_numpy(), rtol=1e-12)


def test_weekly_returns_equal_compounded_daily_returns(built):
    daily = query(built, "SELECT symbol, ret FROM daily_panel WHERE date BETWEEN '2024-01-08' AND '2024-01-14'")
    full = daily.groupby("symbol").ret.agg(["count", lambda r: np.prod(1 + r) - 1])
    weekly = query(built, "SELECT symbol, ret FROM weekly_panel").set_index("symbol").ret
    full = full[full["count"] == 7]
    np.testing.assert_allclose(weekly.loc[full.index].to_numpy(), full.iloc[:, 1].to_numpy(), rtol=1e-12)
    assert weekly.drop(full.index).isna().all()


def test_rematerialising_three_times_gives_identical_rows(built, resources):
    snap = lambda: query(built, "SELECT * FROM daily_panel ORDER BY symbol, date"),  # noqa: E731
    raw = lambda: query(built, "SELECT count(*) AS n, sum(close) AS s FROM raw_klines_5m")  # noqa: E731
    first, first_raw = snap[0](), raw()
    for _ in range(3):
        assert materialize_range(DAILY, resources, "2024-01-10", "2024-01-10").success
        pd.testing.assert_frame_equal(first, snap[0]())
        pd.testing.assert_frame_equal(first_raw, raw())


def test_a_write_failing_half_way_leaves_earlier_rows(built, resources, monkeypatch):
    before = query(built, "SELECT * FROM daily_panel ORDER BY symbol, date")
    monkeypatch.setenv(FAIL_ENV, "daily_panel")
    result = materialize_range([daily_panel], resources, "2024-01-09", "2024-01-12")
    assert not result.success
    pd.testing.assert_frame_equal(before, query(built, "SELECT * FROM daily_panel ORDER BY symbol, date"))


def test_sim_truth_and_rejected_rows(db_path, resources):
    import dagster as dg

    assert dg.materialize([sim_truth], resources=resources).success
    truth = query(db_path, "SELECT * FROM sim_truth")
    assert {"parameter", "coin", "factor"} <= set(truth.category)
    assert materialize_range([raw_klines_5m, raw_coin_markets], resources, "2023-01-01", "2023-03-31").success
    rejected = query(db_path, "SELECT dataset, reason, count(*) AS n FROM rejected_rows GROUP BY ALL")
    assert rejected.n.sum() > 0 and set(rejected.dataset) <= {"raw_klines_5m", "raw_coin_markets"}


def test_sql_weekly_panel_equals_the_python_aggregation(built):
    """Two independent implementations (DuckDB SQL and pandas) of the ISO weekly aggregation agree."""
    from cryptofactor_assets.estimators.ltw_calendar import aggregate_weekly

    daily = query(built, "SELECT * FROM daily_panel ORDER BY symbol, date")
    py = aggregate_weekly(daily, calendar="iso")
    py = py[py.week_start == pd.Timestamp("2024-01-08")].set_index("symbol").sort_index()
    sql = query(built, "SELECT * FROM weekly_panel").set_index("symbol").sort_index()
    assert list(py.index) == list(sql.index)
    for col in ["ret", "close", "market_cap", "max_price", "avg_volume", "avg_dollar_volume", "std_dollar_volume"]:
        np.testing.assert_allclose(sql[col].astype(float), py[col].astype(float), rtol=1e-12, err_msg=col)
    for col in ["n_days", "n_returns", "in_universe"]:
        assert (sql[col].astype(int) == py[col].astype(int)).all(), col
