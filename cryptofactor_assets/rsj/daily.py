"""Writing ``rsj_daily``: the per coin-day realised measures, computed in DuckDB (no Dagster here).

The statement is ``sql/rsj/insert_rsj_daily.sql`` (one GROUP BY over the stored 5-minute log returns,
plus the midnight returns from the bars opening at 23:55 and 00:00); this module holds what surrounds it: the raw tables it reads exist (and are migrated), DuckDB may use
its perfect-hash aggregate for the (symbol_id, date) groups, and the window is replaced in one
transaction. The asset writes the statement of ``rsj_daily_insert`` through ``storage.replace``, as
``write_rsj_daily`` does for the tests and ``benchmarks/bench_rsj.py``: the benchmark times what the asset runs.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from cryptofactor_assets.rsj.numerics import DEFAULT_INCLUDE_MIDNIGHT, DEFAULT_MAX_ZERO_SHARE
from cryptofactor_assets.rsj.tables import RSJ_DAILY
from cryptofactor_assets.sources.validation import ensure_raw_klines_tables
from cryptofactor_assets.storage.replace import SqlInsert, replace_rows_of_tables
from cryptofactor_assets.storage.warehouse import WriteResult, load_sql, transaction

#: Key-range bits up to which DuckDB aggregates into a directly indexed array ("perfect hash") instead
#: of a hash table (DuckDB's default is 12). (symbol_id, date) needs bits(n symbols) + bits(n days in
#: the table): 100 coins x 2 years = 7 + 10 bits. 18 bits = 262,144 slots, a few MB of aggregate
#: state; beyond that (thousands of coins over many years) DuckDB falls back to hashing, same result.
PERFECT_HASH_BITS = 18


def check_rsj_parameters(min_share: float, max_zero_share: float) -> None:
    """A one-line ValueError for a share outside [0, 1] (0 / 1 switch the filter off where meaningful)."""
    for name, value in (("min_share", min_share), ("max_zero_share", max_zero_share)):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")


def rsj_daily_insert(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, min_share: float,
                     max_zero_share: float = DEFAULT_MAX_ZERO_SHARE,
                     include_midnight: bool = DEFAULT_INCLUDE_MIDNIGHT) -> SqlInsert:
    """The statement filling ``rsj_daily`` for the UTC days [start, end), after making sure the raw
    tables it reads exist and letting DuckDB aggregate by perfect hash (what the asset writes).

    It reads the bars of [start, end) and, with ``include_midnight``, the bar opening at 23:55 the day
    before ``start`` (the first day's midnight return)."""
    check_rsj_parameters(min_share, max_zero_share)
    with transaction(con):
        ensure_raw_klines_tables(con)
    con.execute(f"SET perfect_ht_threshold = {int(PERFECT_HASH_BITS)}")
    return SqlInsert(load_sql("insert_rsj_daily", domain="rsj"),
                     {"start": start, "end": end, "min_share": float(min_share),
                      "max_zero_share": float(max_zero_share), "include_midnight": bool(include_midnight)})


def write_rsj_daily(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, min_share: float,
                    max_zero_share: float = DEFAULT_MAX_ZERO_SHARE,
                    include_midnight: bool = DEFAULT_INCLUDE_MIDNIGHT) -> WriteResult:
    """Replace ``rsj_daily`` for the UTC days [start, end) from ``raw_klines_5m``, in one transaction
    (the asset's write: :func:`rsj_daily_insert` through ``storage.replace``)."""
    insert = rsj_daily_insert(con, start, end, min_share, max_zero_share, include_midnight)
    return replace_rows_of_tables(con, [(RSJ_DAILY, insert)], (start, end), "date")[RSJ_DAILY]
