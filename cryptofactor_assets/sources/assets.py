"""Raw market data: 5-minute klines, daily coin markets, and the simulated market's planted truths."""

from dataclasses import dataclass, field

import dagster as dg
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.common import (
    POOL,
    SINGLE_RUN,
    check_result,
    connect,
    lean_metadata,
    md,
    partition_label,
    window_dates,
)
from cryptofactor_assets.partitions import daily_partitions
from cryptofactor_assets.sources.base import SourceBatch
from cryptofactor_assets.sources.resources import NOT_REQUESTED, MarketSourceResource
from cryptofactor_assets.sources.validation import (
    IngestCounts,
    ensure_dataset_tables,
    guard_window,
    ingest_klines,
    ingest_markets,
    snapshot_window,
)
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.warehouse import (
    delete_window,
    ensure_table,
    frame_markdown,
    load_sql,
    replace_frame,
    table_preview_markdown,
    transaction,
)

RAW_KLINES_5M = "raw_klines_5m"
RAW_COIN_MARKETS = "raw_coin_markets"
SIM_TRUTH = "sim_truth"
COIN_SYMBOLS = "coin_symbols"
REJECTED_ROWS = "rejected_rows"

CHECK_KLINES_UNIQUE = "klines_unique_key"
CHECK_KLINES_PRICES = "klines_positive_prices"
CHECK_KLINES_OHLC = "klines_ohlc_consistent"
CHECK_KLINES_RETURNS = "klines_finite_returns"
CHECK_MARKETS_UNIQUE = "markets_unique_key"
CHECK_MARKETS_PRICES = "markets_positive_prices"
CHECK_SOURCE_COMPLETE = "source_fetch_complete"

GROUP = "sources"


def _prefetch(iterable, depth: int = 1):
    """Iterate ``iterable`` in a background thread, ``depth`` items ahead.

    The simulated source builds the next chunk of bars (numpy) while DuckDB ingests the current one;
    both release the GIL, so on 2 cores the two overlap. Exceptions surface in the consumer.
    """
    import queue
    import threading

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
    """What :func:`_ingest` did: row counts, failures keyed by symbol, unreadable files, notes."""

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


def _ingest(context, con, batches, ingest, dataset: str, time_column: str, start, end, source: str,
            streams: bool, replace: bool = False, strict: bool = False) -> IngestOutcome:
    """Replace the window of ``dataset`` (and its rejected rows) with the source's batches, in ONE transaction.

    A streaming source (the simulated market: deterministic, cannot fail per symbol) replaces the
    window chunk by chunk. Any other source is fully fetched BEFORE stored rows are touched; then,
    inside the transaction: the window's stored rows are snapshot, the window is deleted, the new
    rows are ingested, and the fetch guard (``validation.guard_window``) puts stored rows back per
    (symbol, UTC day) where the symbol's fetch failed or brought fewer valid rows than were stored
    (unless ``replace``), and for keys quarantined as ``conflicting_duplicate``. A short fetch is a
    failure of its symbol with the reason; in ``strict`` mode any failure raises before COMMIT, so
    nothing changes. A source that requested nothing (no glob, no ids) leaves the window untouched.
    """
    import datetime

    from cryptofactor_assets.progress import Progress, days_covered

    counts = IngestCounts()
    n_days = max(0, (end - start).days)
    # days of the window = its daily partitions; at most one line per ~10 s, plus the final one
    last_day = end - datetime.timedelta(days=1)  # the window's last day (inclusive, as the CLI's --end)
    progress = Progress(f"{dataset} ingest {start}" + (f"..{last_day}" if n_days > 1 else ""), n_days,
                        unit="days", amount_unit="rows stored", log=context.log.info)
    if streams:
        with transaction(con):
            delete_window(con, REJECTED_ROWS, "partition_date", start, end, "AND dataset = ?", [dataset])
            delete_window(con, dataset, time_column, start, end)
            notes: list[str] = []
            for batch in _prefetch(batches):
                batch: SourceBatch
                notes.extend(batch.notes)
                stored_before = counts.stored
                days_done = progress.done
                if batch.frame is not None and len(batch.frame):
                    counts.add(ingest(con, batch.frame, start, end, source))
                    days_done = days_covered(batch.frame[time_column], start, n_days, days_done)
                progress.update(days_done, amount=counts.stored - stored_before)
            progress.finish(f"{counts.n_rejected:,} rejected")
        return IngestOutcome(counts, notes=notes)

    import pandas as pd

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
    with transaction(con):
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
        progress.finish(f"{counts.n_rejected:,} rejected, {counts.kept:,} stored rows kept "
                        f"(of {prior:,} before the fetch)", done=n_days, amount=counts.stored)
    return IngestOutcome(counts, dict(sorted(failures.items())), dict(sorted(failed_files.items())), notes)


def _ingest_metadata(counts: IngestCounts, failed: list[str], notes: list[str], per_partition: dict,
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
    import pandas as pd

    return pd.DataFrame(sorted(counter.items()), columns=["key", "rows"])


def read_coin_symbols(con):
    """The user's ``coin_symbols`` mapping (created with the defaults on first use)."""
    from cryptofactor_assets.sources.coingecko import default_coin_symbols

    ensure_table(con, COIN_SYMBOLS)
    if con.execute("SELECT count(*) FROM coin_symbols").fetchall()[0][0] == 0:
        con.register("default_symbols", default_coin_symbols())
        con.execute(load_sql("insert_default_coin_symbols")).fetchall()
        con.unregister("default_symbols")
    return con.execute("SELECT coin_id, cg_symbol, symbol FROM coin_symbols").df()


def _source_complete(failures: dict[str, str], strict: bool,
                     failed_files: dict[str, str] | None = None) -> dg.AssetCheckResult:
    """WARN (ERROR in strict mode) when any symbol's fetch failed (a short fetch included) or a file
    could not be read, with each failure's reason."""
    failed_files = failed_files or {}
    reasons = "\n".join([*(f"- `{symbol}`: {error}" for symbol, error in failures.items()),
                         *(f"- file `{name}`: {error}" for name, error in failed_files.items())])
    return dg.AssetCheckResult(
        check_name=CHECK_SOURCE_COMPLETE, passed=not failures and not failed_files,
        severity=dg.AssetCheckSeverity.ERROR if strict else dg.AssetCheckSeverity.WARN,
        metadata={"failed_symbols": ", ".join(failures) or "none",
                  "failed_files": ", ".join(failed_files) or "none", "reasons": md(reasons or "none")},
    )


def _store_batches(context, con, market_source: MarketSourceResource, batches, ingest, dataset: str,
                   time_column: str, start, end, label: str) -> tuple[dict, dg.AssetCheckResult]:
    """Ingest the source's batches into ``dataset`` (see :func:`_ingest`), fail in strict mode when a
    symbol failed, and return the materialisation metadata and the ``source_fetch_complete`` result."""
    outcome = _ingest(context, con, batches, ingest, dataset, time_column, start, end, market_source.kind,
                      market_source.streams, replace=market_source.replace, strict=market_source.strict)
    failures = outcome.failures
    failed = list(failures)
    if (failed or outcome.failed_files) and market_source.strict:
        raise dg.Failure(f"source={market_source.kind}: fetch failed in partition {label} (strict mode): "
                         + "; ".join(f"{symbol}: {error}" for symbol, error in
                                     [*failures.items(), *outcome.failed_files.items()]))
    per_partition = quality.rows_per_partition(con, dataset, time_column, start, end)
    meta = _ingest_metadata(outcome.counts, failed, outcome.notes, per_partition, list(outcome.failed_files))
    meta["preview"] = md(table_preview_markdown(
        con, f"SELECT * FROM {quote_ident(dataset)} WHERE {quote_ident(time_column)} >= ? "
             f"AND {quote_ident(time_column)} < ? ORDER BY symbol, {quote_ident(time_column)}", [start, end], limit=5))
    meta["dagster/row_count"] = sum(per_partition.values())
    return lean_metadata(context, meta), _source_complete(failures, market_source.strict, outcome.failed_files)


@dg.asset(
    name=RAW_KLINES_5M,
    partitions_def=daily_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds={"duckdb", "python"},
    check_specs=[
        dg.AssetCheckSpec(CHECK_KLINES_UNIQUE, asset=RAW_KLINES_5M, blocking=True,
                          description="(symbol, open_time) is unique in the partition"),
        dg.AssetCheckSpec(CHECK_KLINES_PRICES, asset=RAW_KLINES_5M, description="prices are finite and > 0"),
        dg.AssetCheckSpec(CHECK_KLINES_OHLC, asset=RAW_KLINES_5M, description="low <= open, close <= high"),
        dg.AssetCheckSpec(CHECK_KLINES_RETURNS, asset=RAW_KLINES_5M, description="stored 5-minute log returns are finite"),
        dg.AssetCheckSpec(CHECK_SOURCE_COMPLETE, asset=RAW_KLINES_5M,
                          description="every requested symbol was fetched (WARN; ERROR in strict mode)"),
    ],
)
def raw_klines_5m(context: dg.AssetExecutionContext, duckdb: DuckDBResource, market_source: MarketSourceResource):
    """5-minute OHLCV bars per exchange symbol (UTC), validated; bad rows go to `rejected_rows`.

    One row per (symbol, open_time). `log_ret` is the log return from the previous bar of the same
    symbol and UTC day when that bar is exactly 5 minutes earlier (NULL otherwise), so realised
    measures never bridge gaps, coins or days. Source: simulated (default), files or bybit.
    """
    start, end = window_dates(context)
    label = partition_label(context)
    batches = market_source.klines_batches(start, end, label, log=context.log.info)
    with connect(duckdb) as con:
        meta, source_check = _store_batches(context, con, market_source, batches, ingest_klines, RAW_KLINES_5M,
                                            "open_time", start, end, label)
        checks = [
            check_result(CHECK_KLINES_UNIQUE, quality.unique_key(con, RAW_KLINES_5M, ["symbol", "open_time"],
                                                                  "open_time", start, end)),
            check_result(CHECK_KLINES_PRICES, quality.positive(con, RAW_KLINES_5M, ["open", "high", "low", "close"],
                                                                "open_time", start, end)),
            check_result(CHECK_KLINES_OHLC, quality.ohlc_consistent(con, RAW_KLINES_5M, "open_time", start, end)),
            check_result(CHECK_KLINES_RETURNS, quality.finite(con, RAW_KLINES_5M, ["log_ret"], "open_time", start, end)),
            source_check,
        ]
    yield dg.MaterializeResult(metadata=meta)
    yield from checks


@dg.asset(
    name=RAW_COIN_MARKETS,
    partitions_def=daily_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds={"duckdb", "python"},
    check_specs=[
        dg.AssetCheckSpec(CHECK_MARKETS_UNIQUE, asset=RAW_COIN_MARKETS, blocking=True,
                          description="(symbol, date) is unique in the partition"),
        dg.AssetCheckSpec(CHECK_MARKETS_PRICES, asset=RAW_COIN_MARKETS,
                          description="price finite and > 0; market cap and volume > 0 where known"),
        dg.AssetCheckSpec(CHECK_SOURCE_COMPLETE, asset=RAW_COIN_MARKETS,
                          description="every requested coin was fetched (WARN; ERROR in strict mode)"),
    ],
)
def raw_coin_markets(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                     market_source: MarketSourceResource):
    """Daily USD price, market cap and 24h volume per coin (CoinGecko-like), validated.

    One row per (symbol, date), `symbol` being the exchange symbol the panels use. A zero or missing
    market cap or volume means "unknown" and is stored as NULL (counted in `kept_quirks`); negative
    or non-positive prices, duplicates and rows outside the partition go to `rejected_rows`.
    """
    start, end = window_dates(context)
    label = partition_label(context)
    with connect(duckdb) as con:
        symbol_map = read_coin_symbols(con)
        batches = market_source.markets_batches(start, end, label, log=context.log.info, symbol_map=symbol_map)
        meta, source_check = _store_batches(context, con, market_source, batches, ingest_markets, RAW_COIN_MARKETS,
                                            "date", start, end, label)
        checks = [
            check_result(CHECK_MARKETS_UNIQUE, quality.unique_key(con, RAW_COIN_MARKETS, ["symbol", "date"],
                                                                   "date", start, end)),
            check_result(CHECK_MARKETS_PRICES, quality.positive(
                con, RAW_COIN_MARKETS, ["price", "market_cap", "total_volume"], "date", start, end,
                allow_null=["market_cap", "total_volume"])),
            source_check,
        ]
    yield dg.MaterializeResult(metadata=meta)
    yield from checks


@dg.asset(
    name=SIM_TRUTH,
    pool=POOL,
    group_name=GROUP,
    kinds={"duckdb", "python"},
    check_specs=[dg.AssetCheckSpec("sim_truth_unique_key", asset=SIM_TRUTH, blocking=True)],
)
def sim_truth(context: dg.AssetExecutionContext, duckdb: DuckDBResource, market_source: MarketSourceResource):
    """Planted truths of the simulated market: parameters, per-coin betas, listings, latent factor returns.

    Long format (category, name, symbol, date, value). Tests check that the estimators recover these.
    Empty when the source is not the simulated market (real data has no planted truth).
    """
    import pandas as pd

    if market_source.kind == "simulated":
        frame = market_source.simulated().truth()
    else:
        frame = pd.DataFrame({"category": [], "name": [], "symbol": [], "date": [], "value": []})
    with connect(duckdb) as con:
        result = replace_frame(con, SIM_TRUTH, frame)
        check = check_result("sim_truth_unique_key", quality.unique_key(
            con, SIM_TRUTH, ["category", "name", "symbol", "date"]))  # GROUP BY groups NULL dates
        summary = con.execute(
            "SELECT category, name, count(*) AS n, avg(value) AS mean FROM sim_truth "
            "WHERE category <> 'factor' OR name IN ('market', 'smb') GROUP BY ALL ORDER BY ALL LIMIT 30"
        ).df()
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": result.inserted, "source": market_source.kind,
        "summary": md(frame_markdown(summary)),
    })
    yield check


@dg.asset(
    name=COIN_SYMBOLS,
    pool=POOL,
    group_name=GROUP,
    kinds={"duckdb", "python"},
    check_specs=[dg.AssetCheckSpec("coin_symbols_unique_coin_id", asset=COIN_SYMBOLS, blocking=True)],
)
def coin_symbols(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Mapping CoinGecko id (or export-file ticker) -> exchange symbol used by the panels; edit it freely.

    Materialising adds the default rows for ids the table lacks and never touches rows the user
    added or changed (mark them `edited_by = 'user'`). `raw_coin_markets` reads it on every fetch.
    """
    from cryptofactor_assets.sources.coingecko import default_coin_symbols

    with connect(duckdb) as con:
        ensure_table(con, COIN_SYMBOLS)
        with transaction(con):
            con.register("default_symbols", default_coin_symbols())
            before = con.execute("SELECT count(*) FROM coin_symbols").fetchall()[0][0]
            con.execute(load_sql("insert_default_coin_symbols")).fetchall()
            con.unregister("default_symbols")
        rows = con.execute("SELECT count(*), count(*) FILTER (WHERE edited_by = 'user') FROM coin_symbols").fetchall()[0]
        check = check_result("coin_symbols_unique_coin_id", quality.unique_key(con, COIN_SYMBOLS, ["coin_id"]))
    yield dg.MaterializeResult(metadata={"dagster/row_count": rows[0], "added_defaults": rows[0] - before,
                                         "user_rows": rows[1]})
    yield check
