"""The ingest of a source's batches into a raw table: one transaction per run, a fetch guard, progress.

The raw assets (``assets_raw.py``) hand the batches of ``MarketSourceResource`` to
:func:`ingest_window`, which replaces the window of the dataset and its rejected rows in ONE
transaction (streaming for the simulated market, fetch-first with the shrink guard of
``validation.guard_window`` for real sources), and :func:`ingest_metadata` describes the outcome.
"""

import datetime
import queue
import threading
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd

from cryptofactor_assets.common import md
from cryptofactor_assets.progress import Progress, days_covered
from cryptofactor_assets.sources.base import SourceBatch
from cryptofactor_assets.sources.resources import NOT_REQUESTED
from cryptofactor_assets.sources.tables import REJECTED_ROWS, SYMBOL_IDS
from cryptofactor_assets.sources.validation import (
    IngestCounts,
    ensure_dataset_tables,
    guard_window,
    snapshot_window,
)
from cryptofactor_assets.storage.identifiers import quote_ident, quote_qualified
from cryptofactor_assets.storage.lake import LAKE_ALIAS, is_lake_connection
from cryptofactor_assets.storage.warehouse import (
    delete_window,
    frame_markdown,
    hold_write_lock,
    load_sql,
    prepare_write_lock,
    retry_conflicts,
    transaction,
)


def _prefetch(iterable, depth: int = 1):
    """Iterate ``iterable`` in a background thread, ``depth`` items ahead.

    The simulated source builds the next chunk of bars (numpy) while DuckDB ingests the current one;
    both release the GIL, so on 2 cores the two overlap. Exceptions surface in the consumer.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def produce():
        try:
            for item in iterable:
                q.put(item)
            q.put(done)
        except BaseException as exc:  # re-raised in the consumer thread
            q.put(exc)

    threading.Thread(target=produce, daemon=True, name="source-prefetch").start()
    while True:
        item = q.get()
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


@dataclass
class IngestOutcome:
    """What :func:`ingest_window` did: row counts, failures keyed by symbol, unreadable files, notes."""

    counts: IngestCounts
    failures: dict[str, str] = field(default_factory=dict)  # symbol -> reason
    failed_files: dict[str, str] = field(default_factory=dict)  # file (symbols unknown) -> reason
    notes: list[str] = field(default_factory=list)


#: Days listed one by one in a short-fetch reason before the rest is summed up.
_DAYS_LISTED = 3


def _short_fetch_reasons(kept_days, failed_files: dict[str, str]) -> dict[str, str]:
    """symbol -> reason for the (symbol, day)s whose fetch was short and whose stored rows were kept."""
    by_symbol: dict[str, list] = {}
    for day in kept_days:
        if day.kept_because == "short_fetch":
            by_symbol.setdefault(day.symbol, []).append(day)
    reasons = {}
    for symbol, days in by_symbol.items():
        parts = []
        for d in days[:_DAYS_LISTED if len(days) > _DAYS_LISTED + 1 else len(days)]:
            extra = []
            if d.conflict_kept:
                extra.append(f"{d.conflict_kept} conflicting key(s) keep their stored row")
            if d.rejected_rows:
                extra.append(f"{d.rejected_rows} rejected, see rejected_rows")
            parts.append(f"{symbol} {d.day}: fetch returned {d.new_rows} valid rows"
                         + (f" ({'; '.join(extra)})" if extra else "") + f", {d.prior_rows} stored")
        rest = days[len(parts):]
        if rest:
            parts.append(f"and {len(rest)} more day(s) through {rest[-1].day}: "
                         f"{sum(d.new_rows for d in rest)} valid rows, {sum(d.prior_rows for d in rest)} stored")
        text = "; ".join(parts) + "; stored rows kept (use --replace to shrink on purpose)"
        if failed_files:
            text += "; unreadable file(s) that may hold its rows: " + ", ".join(sorted(failed_files))
        reasons[symbol] = text
    return reasons


def _check_chronological(times, start, done: int, dataset: str) -> None:
    """A streaming source yields whole days in time order: a chunk must not hold a window day before
    ``start + done`` (those days are already replaced: its rows would be added to them)."""
    t = pd.to_datetime(pd.Series(times), errors="coerce")
    t = t[t >= pd.Timestamp(start)]
    if len(t) and (t.min().normalize() - pd.Timestamp(start)).days < done:
        raise RuntimeError(f"{dataset}: a streamed chunk starts on {t.min():%Y-%m-%d}, before the days already "
                           f"replaced (through {pd.Timestamp(start) + pd.Timedelta(days=done - 1):%Y-%m-%d}): a "
                           f"streaming source must yield whole days in time order")


def _split_failures(batches) -> tuple[dict[str, str], dict[str, str]]:
    """The sources' failures: keyed by symbol, and files whose symbols are unknown (``symbol == ''``)."""
    failures: dict[str, str] = {}
    failed_files: dict[str, str] = {}
    for batch in batches:
        for f in batch.failures:
            if f.symbol:
                failures[f.symbol] = f"{failures[f.symbol]}; {f.error}" if f.symbol in failures else f.error
            else:
                failed_files[getattr(f, "file", "") or f.error] = f.error
    return failures, failed_files


def ingest_window(context, con, batches, ingest, dataset: str, time_column: str, start, end, source: str,
            streams: bool, replace: bool = False, strict: bool = False) -> IngestOutcome:
    """Replace the window of ``dataset`` (and its rejected rows) with the source's batches, in ONE transaction
    (a streaming source: one transaction per chunk of whole days).

    A streaming source (the simulated market: deterministic, cannot fail per symbol) replaces the
    window chunk by chunk, each chunk's days deleted and re-filled in a transaction of its own (every
    daily partition whole; memory bounded whatever the window). Any other source is fully fetched BEFORE stored rows are touched; then,
    inside the transaction: the window's stored rows are snapshot, the window is deleted, the new
    rows are ingested, and the fetch guard (``validation.guard_window``) puts stored rows back per
    (symbol, UTC day) where the symbol's fetch failed or brought fewer valid rows than were stored
    (unless ``replace``), and for keys quarantined as ``conflicting_duplicate``. A short fetch is a
    failure of its symbol with the reason; in ``strict`` mode any failure raises before COMMIT, so
    nothing changes. A source that requested nothing (no glob, no ids) leaves the window untouched.
    """
    counts = IngestCounts()
    n_days = max(0, (end - start).days)
    # days of the window = its daily partitions; at most one line per ~10 s, plus the final one
    last_day = end - datetime.timedelta(days=1)  # the window's last day (inclusive, as the CLI's --end)
    progress = Progress(f"{dataset} ingest {start}" + (f"..{last_day}" if n_days > 1 else ""), n_days,
                        unit="days", amount_unit="rows stored", log=context.log.info)
    if streams and is_lake_connection(con):
        return _ingest_stream_staged(context, con, batches, ingest, dataset, time_column, start, end, source,
                                     progress, n_days)
    if streams:
        # One transaction per chunk of whole days (the days it covers deleted and re-filled), not one over the
        # window: a daily partition is still replaced whole (a crash leaves each day old or new, never part),
        # and memory no longer grows with the window: DuckDB holds a transaction's appended rows beyond its
        # memory_limit until COMMIT (500 coins: ~6 MB more RSS per day of the window, 4+ GB for a year).
        notes: list[str] = []
        done = 0  # the days [start, start + done) of the window are replaced
        for batch in _prefetch(batches):
            batch: SourceBatch
            notes.extend(batch.notes)
            stored_before = counts.stored
            rows = batch.frame is not None and len(batch.frame)
            through = days_covered(batch.frame[time_column], start, n_days, done) if rows else done
            if rows:
                _check_chronological(batch.frame[time_column], start, done, dataset)
            lo, hi = start + datetime.timedelta(days=done), start + datetime.timedelta(days=through)
            with transaction(con):
                delete_window(con, REJECTED_ROWS, "partition_date", lo, hi, "AND dataset = ?", [dataset])
                delete_window(con, dataset, time_column, lo, hi)
                if rows:
                    counts.add(ingest(con, batch.frame, start, end, source))
            done = through
            progress.update(done, amount=counts.stored - stored_before)
        if done < n_days:  # days the stream brought no row for: emptied, as the window's replace always did
            with transaction(con):
                lo = start + datetime.timedelta(days=done)
                delete_window(con, REJECTED_ROWS, "partition_date", lo, end, "AND dataset = ?", [dataset])
                delete_window(con, dataset, time_column, lo, end)
        progress.finish(f"{counts.n_rejected:,} rejected")
        return IngestOutcome(counts, notes=notes)

    batches = list(batches)
    notes = [n for b in batches for n in b.notes]
    failures, failed_files = _split_failures(batches)
    if batches and all(b.stats.get(NOT_REQUESTED) for b in batches) and not failures and not failed_files:
        notes.append(f"nothing requested from source {source}: the window's stored rows are untouched")
        with transaction(con):
            ensure_dataset_tables(con, dataset)  # downstream assets read the table even when empty
        return IngestOutcome(counts, notes=notes)
    frames = [b.frame for b in batches if b.frame is not None and len(b.frame)]
    frame = frames[0] if len(frames) == 1 else (pd.concat(frames, ignore_index=True) if frames else None)
    fetched_failures, fetched_notes = dict(failures), list(notes)
    # on a DuckLake a kline ingest may register symbols (insert_symbol_ids.sql): under symbol_ids' write lock
    registers = dataset == "raw_klines_5m" and is_lake_connection(con)
    if registers:
        prepare_write_lock(con, SYMBOL_IDS)

    def body():
        # re-run whole when a DuckLake COMMIT loses to a concurrent writer: every count starts afresh
        if registers:
            hold_write_lock(con, SYMBOL_IDS)
        counts, failures, notes = IngestCounts(), dict(fetched_failures), list(fetched_notes)
        delete_window(con, REJECTED_ROWS, "partition_date", start, end, "AND dataset = ?", [dataset])
        prior = snapshot_window(con, dataset, start, end)
        delete_window(con, dataset, time_column, start, end)
        if frame is not None:
            counts.add(ingest(con, frame, start, end, source))
        guard = guard_window(con, dataset, start, end, sorted(failures), replace)
        guard.apply_to(counts)
        for symbol, reason in _short_fetch_reasons(guard.kept_days, failed_files).items():
            failures.setdefault(symbol, reason)
        if guard.kept:
            notes.append(f"{guard.kept} stored row(s) kept instead of the fetch's"
                         + (f" ({guard.conflict_kept} for conflicting keys)" if guard.conflict_kept else ""))
        if replace:
            notes.append("replace: a fetch with fewer rows than stored was allowed to shrink them")
        if strict and (failures or failed_files):
            raise dg.Failure(
                f"source={source}: fetch failed for {dataset} in {start}..{end} (strict mode; nothing written): "
                + "; ".join([*(f"{s}: {e}" for s, e in sorted(failures.items())),
                             *(f"{f}: {e}" for f, e in sorted(failed_files.items()))]))
        return counts, failures, notes, prior

    (counts, failures, notes, prior), retries = retry_conflicts(con, body, what=f"ingest {dataset}",
                                                               log=context.log.warning)
    counts.commit_retries = retries
    progress.finish(f"{counts.n_rejected:,} rejected, {counts.kept:,} stored rows kept "
                    f"(of {prior:,} before the fetch)", done=n_days, amount=counts.stored)
    return IngestOutcome(counts, dict(sorted(failures.items())), dict(sorted(failed_files.items())), notes)


def _ingest_stream_staged(context, con, batches, ingest, dataset: str, time_column: str, start, end, source: str,
                          progress: Progress, n_days: int) -> IngestOutcome:
    """The streaming ingest on a DuckLake, chunk by chunk like the file's (one commit per chunk of whole
    days: every daily partition whole, memory bounded whatever the window; a 3-year backfill staged whole
    ran out of memory). Each chunk is ingested into local TEMP tables shadowing the dataset,
    ``rejected_rows`` and (a copy of) ``symbol_ids`` (TEMP tables come first in name resolution, so the
    same ``sql/`` statements fill them), then ONE short DuckLake transaction deletes the chunk's days and
    copies the staged rows in, retried whole on a commit conflict (``retry_conflicts``): the long part
    (drawing and validating the bars) never holds a transaction that a concurrent writer of the same
    table would make fail.

    Symbol ids: inside the transaction the staged symbols the store lacks get the next dense ids after
    the STORED ones (not the copy's: another ingest may have registered symbols since), the bars take
    their ids from the stored table by symbol, and the transaction holds ``symbol_ids``' write lock
    (``warehouse.hold_write_lock``) when it registers any, so two ingests registering symbols at the same
    moment conflict at COMMIT (one retries and numbers after the other's) instead of both keeping an id:
    two DuckLake transactions that only INSERT into a table never conflict.
    """
    counts, notes = IngestCounts(), []
    ensure_dataset_tables(con, dataset)
    if dataset == "raw_klines_5m":
        prepare_write_lock(con, SYMBOL_IDS)
    lake_tables = [dataset, REJECTED_ROWS] + ([SYMBOL_IDS] if dataset == "raw_klines_5m" else [])
    # staged_ingest_symbol_ids is read by sql/sources/insert_symbol_ids_from_staged_ingest.sql
    staged = {t: f"staged_ingest_{t}" for t in lake_tables}
    rows = {t: quote_qualified("temp", "main", staged[t]) for t in lake_tables}

    def drop_temps() -> None:
        for table in lake_tables:
            for name in (table, staged[table]):
                con.execute(f"DROP TABLE IF EXISTS {quote_qualified('temp', 'main', name)}")

    def shadow() -> None:
        """Empty TEMP shadows of the lake tables (symbol_ids: a copy of the stored ids)."""
        drop_temps()
        for table in lake_tables:
            copy = "" if table == SYMBOL_IDS else " LIMIT 0"
            con.execute(f"CREATE TEMP TABLE {quote_ident(table)} AS "
                        f"SELECT * FROM {quote_qualified(LAKE_ALIAS, 'main', table)}{copy}")

    def swap(lo, hi) -> None:
        """The staged rows replace the days [lo, hi) of the lake tables, in one DuckLake transaction."""
        for table in lake_tables:
            con.execute(f"ALTER TABLE {quote_qualified('temp', 'main', table)} RENAME TO {quote_ident(staged[table])}")

        def body() -> None:
            insert_rows = f"INSERT INTO {quote_ident(dataset)} BY NAME SELECT * FROM {rows[dataset]}"
            if SYMBOL_IDS in rows:
                # symbols the store lacks get the next ids; registering any holds symbol_ids' write lock
                if con.execute(load_sql("insert_symbol_ids_from_staged_ingest", domain="sources")).fetchall()[0][0]:
                    hold_write_lock(con, SYMBOL_IDS)
                insert_rows = (f"INSERT INTO {quote_ident(dataset)} BY NAME SELECT staged.* REPLACE (ids.symbol_id AS "
                               f"symbol_id) FROM {rows[dataset]} AS staged JOIN {quote_ident(SYMBOL_IDS)} AS ids "
                               f"USING (symbol)")
            delete_window(con, REJECTED_ROWS, "partition_date", lo, hi, "AND dataset = ?", [dataset])
            delete_window(con, dataset, time_column, lo, hi)
            con.execute(insert_rows)
            con.execute(f"INSERT INTO {quote_ident(REJECTED_ROWS)} BY NAME SELECT * FROM {rows[REJECTED_ROWS]}")

        _, retries = retry_conflicts(con, body, what=f"ingest {dataset} {lo}..{hi}", log=context.log.warning)
        counts.commit_retries += retries
        shadow()  # the next chunk stages afresh, against the ids stored now

    try:
        shadow()
        done, pending = 0, False  # the days [start, start + done) of the window are replaced
        for batch in _prefetch(batches):
            notes.extend(batch.notes)
            stored_before = counts.stored
            through = done
            if batch.frame is not None and len(batch.frame):
                _check_chronological(batch.frame[time_column], start, done, dataset)
                counts.add(ingest(con, batch.frame, start, end, source))
                through, pending = days_covered(batch.frame[time_column], start, n_days, done), True
            if through > done:
                swap(start + datetime.timedelta(days=done), start + datetime.timedelta(days=through))
                done, pending = through, False
            progress.update(done, amount=counts.stored - stored_before)
        if done < n_days or pending:  # days the stream brought no row for: emptied, as the window's replace did
            swap(start + datetime.timedelta(days=done), end)
    finally:
        drop_temps()
    progress.finish(f"{counts.n_rejected:,} rejected")
    return IngestOutcome(counts, notes=notes)


def ingest_metadata(counts: IngestCounts, failed: list[str], notes: list[str], per_partition: dict,
                     failed_files: list[str] = ()) -> dict:
    meta = {
        "rows_received": counts.received,
        "rows_stored": counts.stored,
        "rows_rejected": counts.n_rejected,
        "rows_kept_from_store": counts.kept,
        "rejected_by_reason": md(frame_markdown(_counter_frame(counts.rejected)) if counts.rejected else "none"),
        "failed_symbols": ", ".join(failed) or "none",
        "failed_files": ", ".join(failed_files) or "none",
        "notes": md("\n".join(f"- {n}" for n in notes) or "none"),
        "partitions_written": len(per_partition),
        "rows_per_partition (first 10)": md(frame_markdown(_counter_frame(dict(list(per_partition.items())[:10])))),
    }
    if counts.quirks:
        meta["kept_quirks"] = md(frame_markdown(_counter_frame(counts.quirks)))
    return meta


def _counter_frame(counter):
    return pd.DataFrame(sorted(counter.items()), columns=["key", "rows"])
