"""Tier 1: partition replaces are atomic, by column name, and idempotent: on a DuckDB file and on DuckLakes
(SQLite and PostgreSQL catalogs; those cases run in `make test-lake`, the ``warehouse`` fixture)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from cryptofactor_assets.storage.warehouse import (
    FAIL_ENV,
    InjectedWriteFailure,
    replace_frame,
    replace_window,
)

ORDERED = "SELECT * FROM sim_truth ORDER BY date, symbol"


def _frame(day: str, value: float) -> pd.DataFrame:
    # columns deliberately in another order than the table: inserts must go by name
    return pd.DataFrame({"value": [value, value + 1], "name": ["n", "m"], "category": ["c", "c"],
                         "symbol": ["A", "B"], "date": pd.to_datetime([day, day]).date})


def test_replace_window_touches_only_its_window_and_is_idempotent(warehouse):
    con = warehouse.connect()
    replace_frame(con, "sim_truth", pd.concat([_frame("2024-01-01", 1), _frame("2024-01-02", 2)]),
                  "date", dt.date(2024, 1, 1), dt.date(2024, 1, 3))
    snapshots = []
    for _ in range(3):
        r = replace_frame(con, "sim_truth", _frame("2024-01-02", 9), "date", dt.date(2024, 1, 2), dt.date(2024, 1, 3))
        assert (r.deleted, r.inserted) == (2, 2)
        snapshots.append(con.execute("SELECT * FROM sim_truth ORDER BY date, symbol").df())
    for s in snapshots[1:]:
        pd.testing.assert_frame_equal(snapshots[0], s)
    assert snapshots[0].value.tolist() == [1, 2, 9, 10]


def test_failure_half_way_leaves_previous_rows(warehouse, monkeypatch):
    con = warehouse.connect()
    replace_frame(con, "sim_truth", _frame("2024-01-01", 1), "date", dt.date(2024, 1, 1), dt.date(2024, 1, 2))
    before = con.execute(ORDERED).df()
    monkeypatch.setenv(FAIL_ENV, "sim_truth")
    with pytest.raises(InjectedWriteFailure):
        replace_frame(con, "sim_truth", _frame("2024-01-01", 5), "date", dt.date(2024, 1, 1), dt.date(2024, 1, 2))
    pd.testing.assert_frame_equal(before, con.execute(ORDERED).df())
    monkeypatch.delenv(FAIL_ENV)
    with pytest.raises(duckdb.Error):  # a failing INSERT statement also rolls back the DELETE
        replace_window(con, "sim_truth", "date", dt.date(2024, 1, 1), dt.date(2024, 1, 2),
                       "INSERT INTO sim_truth BY NAME SELECT 1/0 AS value, NULL AS category")
    pd.testing.assert_frame_equal(before, con.execute(ORDERED).df())
    # a new connection (another client) sees the old rows too: nothing of the writes was committed
    con.close()
    pd.testing.assert_frame_equal(before, warehouse.query(ORDERED))


def test_rows_inserted_outside_the_window_roll_the_write_back(warehouse):
    con = warehouse.connect()
    replace_frame(con, "sim_truth", _frame("2024-01-01", 1), "date", dt.date(2024, 1, 1), dt.date(2024, 1, 2))
    before = con.execute("SELECT * FROM sim_truth ORDER BY symbol").df()
    # a buggy writer for 2024-01-01 that also emits a row of 2024-01-05: a later replace of that day
    # would not delete it first, so it must never be stored
    stray = pd.concat([_frame("2024-01-01", 5), _frame("2024-01-05", 6).iloc[:1]])
    with pytest.raises(ValueError, match="1 of 3 inserted rows fall outside the window"):
        replace_frame(con, "sim_truth", stray, "date", dt.date(2024, 1, 1), dt.date(2024, 1, 2))
    pd.testing.assert_frame_equal(con.execute("SELECT * FROM sim_truth ORDER BY symbol").df(), before)


def test_unique_key_over_a_long_window_counts_by_slice_exactly_as_one_group_by(monkeypatch):
    """The unique-key check of a long window runs one GROUP BY per slice of days when the window column is in
    the key (bounded memory); it counts the same duplicated keys as one GROUP BY over the window, including
    keys on the slices' edges and at the window's bounds."""
    import datetime as dt

    from cryptofactor_assets.storage import quality

    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE bars (symbol VARCHAR, open_time TIMESTAMP, v DOUBLE)")
    con.execute("INSERT INTO bars SELECT 'S' || (i % 7), TIMESTAMP '2022-01-01' + INTERVAL (i * 6) HOUR, i "
                "FROM range(4000) r(i)")
    dupes = ["2022-01-01 00:00:00", "2022-02-01 00:00:00", "2022-02-01 00:00:00", "2022-03-03 18:00:00",
             "2022-12-31 18:00:00", "2023-01-01 00:00:00"]  # the last is outside the window
    for t in dupes:
        con.execute("INSERT INTO bars SELECT symbol, open_time, -1 FROM bars WHERE open_time = ? LIMIT 1", [t])
    start, end = dt.date(2022, 1, 1), dt.date(2023, 1, 1)
    calls = []
    real = con.execute

    class Spy:
        def __getattr__(self, name):
            return getattr(con, name)

        def execute(self, sql, params=None):
            calls.append(params)
            return real(sql, params)

    sliced = quality.unique_key(Spy(), "bars", ["symbol", "open_time"], "open_time", start, end)
    assert len(calls) == 12  # 365 days in slices of 31
    monkeypatch.setattr(quality, "UNIQUE_KEY_SLICE_DAYS", 10_000)
    whole = quality.unique_key(con, "bars", ["symbol", "open_time"], "open_time", start, end)
    assert whole.failures == sliced.failures == 4 and not sliced.passed  # 2022-02-01 twice: one key, 3 rows
    # a key without the window column cannot be sliced: one GROUP BY
    calls.clear()
    quality.unique_key(Spy(), "bars", ["symbol"], "open_time", start, end)
    assert len(calls) == 1
