"""The validation layer shared by every source: stage, split into stored rows and rejected rows.

Each incoming frame is staged in DuckDB (``sql/sources/stage_*.sql``) with one reason per row (NULL = valid):
missing key or value, non-finite value, non-positive price, negative volume, OHLC inconsistency,
off the 5-minute grid, outside the partition window; then duplicates, judged among the rows that
pass those checks: copies of a key with identical values collapse to the first one (the others are
``duplicate_key``), a key with different versions is a conflict and EVERY version is rejected as
``conflicting_duplicate`` (which one is right is unknown). A key already written earlier in the
transaction (another chunk of a streaming source) is a ``duplicate_key``. Valid rows go to the raw
table, the others to ``rejected_rows`` with the reason and the row as JSON, in the caller's
transaction. Nothing disappears silently: every incoming row is counted as stored or rejected
(``IngestCounts.received == stored + rejected``).

The fetch guard (:func:`snapshot_window`, :func:`guard_window`) makes sure that a fetch never
shrinks stored data silently: per (symbol, UTC day) of the window, a fetch that brought fewer valid
rows than were stored (none included), or whose symbol failed, does not apply: its valid rows go to
``rejected_rows`` (reason ``short_fetch`` or ``symbol_fetch_failed``) and the stored rows are put
back, unless ``replace`` allows a short fetch on purpose. The stored row of a key the fetch
quarantined as ``conflicting_duplicate`` is always put back.
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
#: Largest plausible |funding rate| per settlement: Bybit caps most contracts far below (0.75 % to 2 %
#: per settlement); a bigger value is a parse or unit error (a percentage read as a fraction), rejected.
MAX_ABS_FUNDING_RATE = 0.05


@dataclass
class IngestCounts:
    """Rows received, stored and rejected (by reason), plus kept-but-reported quirks.

    ``received == stored + n_rejected`` always. ``kept`` counts rows that were stored BEFORE the fetch
    and were put back by the fetch guard (not received, so outside that identity).
    """

    received: int = 0
    stored: int = 0
    rejected: Counter = field(default_factory=Counter)
    quirks: Counter = field(default_factory=Counter)
    kept: int = 0
    #: commits lost to concurrent writers and retried (DuckLake)
    commit_retries: int = 0

    def add(self, other: IngestCounts) -> None:
        self.received += other.received
        self.stored += other.stored
        self.rejected.update(other.rejected)
        self.quirks.update(other.quirks)
        self.kept += other.kept

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
    has_column = con.execute(load_sql("count_raw_klines_5m_symbol_id_column")).fetchall()[0][0]
    if has_column and not con.execute(load_sql("count_raw_klines_5m_missing_symbol_id")).fetchall()[0][0]:
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
        for reason, n in con.execute(load_sql("count_staged_klines_by_reason")).fetchall():
            if reason is None:
                counts.stored += int(n)
            else:
                counts.rejected[reason] += int(n)
        con.execute(load_sql("drop_staged_klines"))
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
        for reason, n in con.execute(load_sql("count_staged_markets_by_reason")).fetchall():
            if reason is None:
                counts.stored += int(n)
            else:
                counts.rejected[reason] += int(n)
        con.execute(load_sql("drop_staged_markets"))
    finally:
        con.unregister("incoming_markets")
    return counts


def ingest_funding(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, start: dt.date, end: dt.date, source: str
) -> IngestCounts:
    """Validate funding settlements of the window [start, end) and write them (inside a transaction).

    Rejected: missing key or rate, non-finite values, ``|funding_rate| > MAX_ABS_FUNDING_RATE``
    (``implausible_funding_rate``), ``interval_hours <= 0``, rows outside the window, duplicates
    (identical copies collapse, different versions of a key are all ``conflicting_duplicate``).
    """
    for table in ("raw_funding_rates", "rejected_rows"):
        ensure_table(con, table)
    counts = IngestCounts(received=len(frame))
    if frame.empty:
        return counts
    con.register("incoming_funding", frame)
    try:
        bounds = {"start": _ts(start), "end": _ts(end), "source": source, "max_rate": MAX_ABS_FUNDING_RATE}
        _run(con, "stage_funding_rates", **bounds)
        _run(con, "insert_raw_funding_rates", **bounds)
        _run(con, "insert_rejected_funding_rates", **bounds)
        for reason, n in con.execute(load_sql("count_staged_funding_by_reason")).fetchall():
            if reason is None:
                counts.stored += int(n)
            else:
                counts.rejected[reason] += int(n)
        con.execute(load_sql("drop_staged_funding"))
    finally:
        con.unregister("incoming_funding")
    return counts


def ingest_onchain(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, start: dt.date, end: dt.date, source: str
) -> IngestCounts:
    """Validate daily on-chain activity rows of the window [start, end) and write them (inside a transaction).

    Rejected: missing key (symbol, date), neither count (``missing_value``), an infinite count, a
    negative count (``negative_count``), rows outside the window, duplicates (identical copies
    collapse, different versions of a (symbol, date) are all ``conflicting_duplicate``).
    """
    for table in ("raw_onchain_activity", "rejected_rows"):
        ensure_table(con, table)
    counts = IngestCounts(received=len(frame))
    if frame.empty:
        return counts
    con.register("incoming_onchain", frame)
    try:
        bounds = {"start": _ts(start), "end": _ts(end), "source": source}
        _run(con, "stage_onchain_activity", **bounds)
        _run(con, "insert_raw_onchain_activity", **bounds)
        _run(con, "insert_rejected_onchain_activity", **bounds)
        for reason, n in con.execute(load_sql("count_staged_onchain_by_reason")).fetchall():
            if reason is None:
                counts.stored += int(n)
            else:
                counts.rejected[reason] += int(n)
        con.execute(load_sql("drop_staged_onchain"))
    finally:
        con.unregister("incoming_onchain")
    return counts


# ---------------------------------------------------------------------- fetch guard
#: Datasets the fetch guard knows. Each has its ``sql/sources/*_<dataset>.sql`` statements: the window
#: snapshot (``create_ingest_prior_``), its keys before and after the fetch in the guard's common shape
#: (``create_ingest_prior_keys_``, ``create_ingest_new_keys_``: symbol, event_time, UTC day), the
#: delete of the unapplied rows and the insert of the kept ones; the guard itself is one statement.
GUARDED = ("raw_klines_5m", "raw_coin_markets", "raw_funding_rates", "raw_onchain_activity")
#: ``rejected_rows`` dataset name -> the suffix of its ``insert_rejected_unapplied_*`` statement.
_REJECTED_SUFFIX = {"raw_klines_5m": "klines", "raw_coin_markets": "coin_markets",
                    "raw_funding_rates": "funding_rates", "raw_onchain_activity": "onchain_activity"}


@dataclass
class KeptDay:
    """One (symbol, UTC day) whose stored rows were kept instead of the fetch's."""

    symbol: str
    day: dt.date
    prior_rows: int
    new_rows: int
    rejected_rows: int
    conflict_kept: int
    kept_because: str  # short_fetch | symbol_fetch_failed


@dataclass
class GuardResult:
    kept_days: list[KeptDay] = field(default_factory=list)
    unapplied: Counter = field(default_factory=Counter)  # reason -> fetched valid rows not applied
    kept: int = 0  # stored rows put back (whole days and conflicting keys)
    conflict_kept: int = 0  # of which: stored rows of keys the fetch quarantined as conflicting_duplicate

    def apply_to(self, counts: IngestCounts) -> None:
        """Move the unapplied rows from ``stored`` to ``rejected`` and count the rows kept."""
        for reason, n in self.unapplied.items():
            counts.stored -= n
            counts.rejected[reason] += n
        counts.kept += self.kept


def ensure_dataset_tables(con: duckdb.DuckDBPyConnection, dataset: str) -> None:
    """Create (and migrate) ``dataset`` and ``rejected_rows`` (call inside the ingest transaction)."""
    if dataset == "raw_klines_5m":
        ensure_raw_klines_tables(con)
    else:
        ensure_table(con, dataset)
    ensure_table(con, "rejected_rows")


def _guarded(dataset: str) -> str:
    if dataset not in GUARDED:
        raise ValueError(f"no fetch guard for dataset {dataset!r}; known: {GUARDED}")
    return dataset


def snapshot_window(con: duckdb.DuckDBPyConnection, dataset: str, start: dt.date, end: dt.date) -> int:
    """Copy the rows ``dataset`` holds in ``[start, end)`` into temp table ``ingest_prior``; their count.

    Call inside the ingest transaction, BEFORE the window is deleted; :func:`guard_window` uses it.
    """
    ensure_dataset_tables(con, _guarded(dataset))
    _run(con, f"create_ingest_prior_{dataset}", start=_ts(start), end=_ts(end))
    return int(con.execute(load_sql("count_ingest_prior")).fetchall()[0][0])


def guard_window(con: duckdb.DuckDBPyConnection, dataset: str, start: dt.date, end: dt.date,
                 failed: list[str], replace: bool) -> GuardResult:
    """After the fetch's rows of ``[start, end)`` were ingested: put back what must not be lost.

    Per (symbol, UTC day): when ``symbol`` is in ``failed`` (its fetch failed), or the fetch brought
    fewer valid rows than were stored (counting the stored rows kept for conflicting keys) and not
    ``replace``, the fetched rows move to ``rejected_rows`` (reason ``symbol_fetch_failed`` /
    ``short_fetch``) and the stored rows come back. The stored row of every key the fetch
    quarantined as ``conflicting_duplicate`` comes back in any case. Drops the temp tables.
    """
    _guarded(dataset)
    bounds = {"start": _ts(start), "end": _ts(end)}
    result = GuardResult()
    _run(con, f"create_ingest_prior_keys_{dataset}")
    _run(con, f"create_ingest_new_keys_{dataset}", **bounds)
    _run(con, "create_ingest_guard", **bounds, dataset=dataset, failed=list(failed), replace=bool(replace))
    for row in con.execute(load_sql("select_ingest_guard_kept_days")).fetchall():
        day = KeptDay(row[0], row[1], *(int(v) for v in row[2:6]), row[6])
        result.kept_days.append(day)
        result.unapplied[day.kept_because] += day.new_rows
    result.conflict_kept = int(con.execute(load_sql("sum_ingest_guard_conflict_kept")).fetchall()[0][0])
    result.unapplied = Counter({k: v for k, v in result.unapplied.items() if v})
    if result.unapplied:
        _run(con, f"insert_rejected_unapplied_{_REJECTED_SUFFIX[dataset]}", **bounds)
        _run(con, f"delete_{dataset}_unapplied", **bounds)
    if result.kept_days or result.conflict_kept:
        _run(con, "create_ingest_kept_keys", dataset=dataset)
        result.kept = int(_run(con, f"insert_{dataset}_kept").fetchall()[0][0])
        con.execute(load_sql("drop_ingest_kept_keys"))
    if result.conflict_kept and dataset == "raw_klines_5m":
        _run(con, "update_raw_klines_5m_kept_log_ret", **bounds)
    # (on an error the caller's ROLLBACK takes the temp tables with it)
    for name in ("drop_ingest_guard", "drop_ingest_new_keys", "drop_ingest_prior_keys", "drop_ingest_prior"):
        con.execute(load_sql(name))
    return result
