"""The validation layer shared by every source: stage, split into stored rows and rejected rows.

Each incoming frame is staged in DuckDB (``sql/stage_*.sql``) with one reason per row (NULL = valid):
missing key or value, non-finite value, non-positive price, negative volume, OHLC inconsistency,
off the 5-minute grid, outside the partition window, duplicate key (within the batch or already
written in this transaction). Valid rows go to the raw table, the others to ``rejected_rows`` with
the reason and the row as JSON, in the caller's transaction. Nothing disappears silently: every
incoming row is counted as stored or rejected (``IngestCounts.received == stored + rejected``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from cryptofactor_assets.storage.warehouse import ensure_table, load_sql

RAW_KLINES_MIGRATION = ["insert_symbol_ids_from_raw_klines_5m", "update_raw_klines_5m_symbol_id"]


@dataclass
class IngestCounts:
    """Rows received, stored and rejected (by reason), plus kept-but-reported quirks."""

    received: int = 0
    stored: int = 0
    rejected: Counter = field(default_factory=Counter)
    quirks: Counter = field(default_factory=Counter)

    def add(self, other: IngestCounts) -> None:
        self.received += other.received
        self.stored += other.stored
        self.rejected.update(other.rejected)
        self.quirks.update(other.quirks)

    @property
    def n_rejected(self) -> int:
        return int(sum(self.rejected.values()))


def _named(sql: str, **values) -> dict:
    """Only the named parameters the statement uses (DuckDB rejects unused ones)."""
    used = set(re.findall(r"\$([a-z_]+)", sql))
    return {k: v for k, v in values.items() if k in used}


def _ts(day: dt.date | dt.datetime) -> dt.datetime:
    return day if isinstance(day, dt.datetime) else dt.datetime.combine(day, dt.time())


def _run(con: duckdb.DuckDBPyConnection, name: str, **values):
    sql = load_sql(name)
    return con.execute(sql, _named(sql, **values))


def ensure_raw_klines_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``symbol_ids`` and ``raw_klines_5m``; migrate a ``raw_klines_5m`` written before symbol ids.

    The migration (add ``symbol_id``, give every stored symbol an id, fill the column) is idempotent;
    call it inside a transaction so that it happens whole or not at all. A migrated column stays
    nullable (DuckDB cannot add NOT NULL to a column updated in the same transaction), so "migrated"
    means: the column exists and no row lacks its id.
    """
    ensure_table(con, "symbol_ids")
    ensure_table(con, "raw_klines_5m")
    has_column = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'raw_klines_5m' AND column_name = 'symbol_id' "
        "AND database_name = current_database() AND schema_name = current_schema()").fetchall()[0][0]
    if has_column and not con.execute(
            "SELECT count(*) FROM raw_klines_5m WHERE symbol_id IS NULL").fetchall()[0][0]:
        return  # created with the column, or already migrated
    if not has_column:
        con.execute(load_sql("alter_raw_klines_5m_add_symbol_id"))
    for name in RAW_KLINES_MIGRATION:
        con.execute(load_sql(name)).fetchall()


def ingest_klines(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, start: dt.date, end: dt.date, source: str
) -> IngestCounts:
    """Validate 5-minute bars of the window [start, end) and write them (call inside a transaction)."""
    ensure_raw_klines_tables(con)
    ensure_table(con, "rejected_rows")
    counts = IngestCounts(received=len(frame))
    if frame.empty:
        return counts
    con.register("incoming_klines", frame)
    try:
        bounds = {"start": _ts(start), "end": _ts(end), "source": source}
        _run(con, "stage_klines", **bounds)
        _run(con, "insert_symbol_ids")
        _run(con, "insert_raw_klines_5m", **bounds)
        _run(con, "insert_rejected_klines", **bounds)
        for reason, n in con.execute("SELECT reason, count(*) FROM staged_klines GROUP BY reason").fetchall():
            if reason is None:
                counts.stored += int(n)
            else:
                counts.rejected[reason] += int(n)
        con.execute("DROP TABLE staged_klines")
    finally:
        con.unregister("incoming_klines")
    return counts


def ingest_markets(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, start: dt.date, end: dt.date, source: str
) -> IngestCounts:
    """Validate daily market snapshots of the window [start, end) and write them (inside a transaction)."""
    for table in ("raw_coin_markets", "rejected_rows"):
        ensure_table(con, table)
    counts = IngestCounts(received=len(frame))
    if frame.empty:
        return counts
    con.register("incoming_markets", frame)
    try:
        bounds = {"start": _ts(start), "end": _ts(end), "source": source}
        _run(con, "stage_coin_markets", **bounds)
        quirks = _run(con, "count_staged_market_quirks").fetchdf().iloc[0]
        counts.quirks.update({k: int(v) for k, v in quirks.items() if int(v)})
        _run(con, "insert_raw_coin_markets", **bounds)
        _run(con, "insert_rejected_coin_markets", **bounds)
        for reason, n in con.execute("SELECT reason, count(*) FROM staged_markets GROUP BY reason").fetchall():
            if reason is None:
                counts.stored += int(n)
            else:
                counts.rejected[reason] += int(n)
        con.execute("DROP TABLE staged_markets")
    finally:
        con.unregister("incoming_markets")
    return counts
