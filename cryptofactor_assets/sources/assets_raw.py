"""Raw market data: 5-minute klines and daily coin markets, ingested from the market source.

These two assets are the project's ingest shells: they take the ``market_source`` resource, fetch
(with the clients' retries), replace their daily window through :func:`ingest.ingest_window` (the
shrink guard, strict mode, progress) and add the ``source_fetch_complete`` check to the table's
``TableChecks`` (``checks.py``). ``assets_funding`` builds the weekly ``raw_funding_rates`` with the
same :func:`ingest_asset`.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.common import (
    POOL,
    SINGLE_RUN,
    connect,
    lake_metadata,
    lean_metadata,
    md,
    partition_label,
    window_dates,
)
from cryptofactor_assets.lib.checks import TableChecks
from cryptofactor_assets.partitions import daily_partitions
from cryptofactor_assets.sources.assets_reference import read_coin_symbols
from cryptofactor_assets.sources.checks import (
    CHECK_SOURCE_COMPLETE,
    RAW_COIN_MARKETS_CHECKS,
    RAW_KLINES_5M_CHECKS,
    source_complete_spec,
)
from cryptofactor_assets.sources.ingest import ingest_metadata, ingest_window
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets.sources.tables import GROUP
from cryptofactor_assets.sources.validation import ingest_klines, ingest_markets
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.lake import current_snapshot
from cryptofactor_assets.storage.warehouse import table_preview_markdown


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
                   time_column: str, start, end, label: str, unit: str = "day",
                   streams: bool | None = None, read_snapshot: int | None = None) -> tuple[dict, dg.AssetCheckResult]:
    """Ingest the source's batches into ``dataset`` (see :func:`ingest.ingest_window`), fail in strict mode when a
    symbol failed, and return the materialisation metadata (rows per ``unit``: day | week) and the
    ``source_fetch_complete`` result."""
    streams = market_source.streams if streams is None else streams
    outcome = ingest_window(context, con, batches, ingest, dataset, time_column, start, end, market_source.kind,
                            streams, replace=market_source.replace, strict=market_source.strict)
    failures = outcome.failures
    failed = list(failures)
    if (failed or outcome.failed_files) and market_source.strict:
        raise dg.Failure(f"source={market_source.kind}: fetch failed in partition {label} (strict mode): "
                         + "; ".join(f"{symbol}: {error}" for symbol, error in
                                     [*failures.items(), *outcome.failed_files.items()]))
    per_partition = quality.rows_per_partition(con, dataset, time_column, start, end, unit=unit)
    meta = ingest_metadata(outcome.counts, failed, outcome.notes, per_partition, list(outcome.failed_files))
    meta["preview"] = md(table_preview_markdown(
        con, f"SELECT * FROM {quote_ident(dataset)} WHERE {quote_ident(time_column)} >= ? "
             f"AND {quote_ident(time_column)} < ? ORDER BY symbol, {quote_ident(time_column)}", [start, end], limit=5))
    meta["dagster/row_count"] = sum(per_partition.values())
    if read_snapshot is not None:
        meta.update(lake_metadata(con, read_snapshot, outcome.counts.commit_retries))
    return lean_metadata(context, meta), _source_complete(failures, market_source.strict, outcome.failed_files)


def ingest_asset(checks: TableChecks, what: str, ingest, time_column: str,
                 partitions_def: dg.TimeWindowPartitionsDefinition = daily_partitions, unit: str = "day",
                 streams: str = "streams"):
    """The ingest asset ``checks.table`` around ``fetch(market_source, con, start, end, label, log)``
    (the source's batches of the window): ingest them (:func:`_store_batches`), check the stored window
    and the fetch (``source_fetch_complete``: every requested ``what`` was fetched). Partitioned by
    ``partitions_def`` (daily by default; ``unit`` names its partitions in the metadata); ``streams`` names
    the resource's property saying whether the batches may be written as they come. The fetch's
    docstring is the asset's description."""

    def build(fetch) -> dg.AssetsDefinition:
        def asset_fn(context: dg.AssetExecutionContext, duckdb: DuckDBResource, market_source: MarketSourceResource):
            start, end = window_dates(context)
            label = partition_label(context)
            with connect(duckdb) as con:
                read_snapshot = current_snapshot(con)  # None on a DuckDB file
                batches = fetch(market_source, con, start, end, label, context.log.info)
                meta, source_check = _store_batches(context, con, market_source, batches, ingest, checks.table,
                                                    time_column, start, end, label, unit,
                                                    getattr(market_source, streams), read_snapshot)
                results = [*checks.results(con, start, end), source_check]
            yield dg.MaterializeResult(metadata=meta)
            yield from results

        asset_fn.__name__ = asset_fn.__qualname__ = fetch.__name__
        asset_fn.__doc__ = fetch.__doc__
        asset_fn.__module__ = fetch.__module__
        return dg.asset(
            name=checks.table,
            partitions_def=partitions_def,
            backfill_policy=SINGLE_RUN,
            pool=POOL,
            group_name=GROUP,
            kinds={"duckdb", "python"},
            check_specs=[*checks.specs(), source_complete_spec(checks.table, what)],
        )(asset_fn)

    return build


@ingest_asset(RAW_KLINES_5M_CHECKS, "symbol", ingest_klines, "open_time")
def raw_klines_5m(market_source: MarketSourceResource, con, start, end, label: str, log):
    """5-minute OHLCV bars per exchange symbol (UTC), validated; bad rows go to `rejected_rows`.

    One row per (symbol, open_time). `log_ret` is the log return from the previous bar of the same
    symbol and UTC day when that bar is exactly 5 minutes earlier (NULL otherwise), so realised
    measures never bridge gaps, coins or days. Source: simulated (default), files or bybit.
    """
    return market_source.klines_batches(start, end, label, log=log)


@ingest_asset(RAW_COIN_MARKETS_CHECKS, "coin", ingest_markets, "date")
def raw_coin_markets(market_source: MarketSourceResource, con, start, end, label: str, log):
    """Daily USD price, market cap and 24h volume per coin (CoinGecko-like), validated.

    One row per (symbol, date), `symbol` being the exchange symbol the panels use. A zero or missing
    market cap or volume means "unknown" and is stored as NULL (counted in `kept_quirks`); negative
    or non-positive prices, duplicates and rows outside the partition go to `rejected_rows`.
    """
    return market_source.markets_batches(start, end, label, log=log, symbol_map=read_coin_symbols(con))
