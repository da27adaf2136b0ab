"""Writing ``rsj_daily``: the per coin-day realised measures, computed in DuckDB (no Dagster here).

The statement is ``sql/rsj/insert_rsj_daily.sql`` (one GROUP BY over the stored 5-minute log returns);
this module holds what surrounds it: the raw tables it reads exist (and are migrated), DuckDB may use
its perfect-hash aggregate for the (symbol_id, date) groups, and the window is replaced in one
transaction. The asset, the tests and ``benchmarks/bench_rsj.py`` all write through
``write_rsj_daily``, so the benchmark times exactly what the asset runs.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from cryptofactor_assets.sources.validation import ensure_raw_klines_tables
from cryptofactor_assets.storage.warehouse import WriteResult, load_sql, replace_window, transaction

RSJ_DAILY = "rsj_daily"
#: Key-range bits up to which DuckDB aggregates into a directly indexed array ("perfect hash") instead
#: of a hash table (DuckDB's default is 12). (symbol_id, date) needs bits(n symbols) + bits(n days in
#: the table): 100 coins x 2 years = 7 + 10 bits. 18 bits = 262,144 slots, a few MB of aggregate
#: state; beyond that (thousands of coins over many years) DuckDB falls back to hashing, same result.
PERFECT_HASH_BITS = 18


def write_rsj_daily(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, min_share: float) -> WriteResult:
    """Replace ``rsj_daily`` for the UTC days [start, end) from ``raw_klines_5m``, in one transaction."""
    with transaction(con):
        ensure_raw_klines_tables(con)
    con.execute(f"SET perfect_ht_threshold = {int(PERFECT_HASH_BITS)}")
    return replace_window(con, RSJ_DAILY, "date", start, end, load_sql("insert_rsj_daily"),
                          {"start": start, "end": end, "min_share": min_share})
