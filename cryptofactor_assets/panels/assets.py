"""Daily and weekly coin panels built in DuckDB from the raw tables (SQL in sql/insert_*_panel.sql)."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.common import POOL, SINGLE_RUN, connect, lean_metadata, md, window_dates
from cryptofactor_assets.panels import checks
from cryptofactor_assets.partitions import (
    daily_partitions,
    day_and_previous_day,
    week_to_days,
    weekly_partitions,
)
from cryptofactor_assets.sources.assets import RAW_COIN_MARKETS, RAW_KLINES_5M
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.warehouse import (
    frame_markdown,
    load_sql,
    replace_window,
    table_preview_markdown,
)

DAILY_PANEL = "daily_panel"
WEEKLY_PANEL = "weekly_panel"
GROUP = "panels"


def _build_panel(con, table: str, column: str, start, end, summary_columns: str, inputs: str) -> dict:
    """Rebuild the ``[start, end)`` window of ``table`` with ``sql/insert_<table>.sql`` and return its
    metadata: rows written and replaced, the window's summary (``summary_columns``) and a preview; a
    note naming the ``inputs`` when the window has none (e.g. a source without data in the range)."""
    result = replace_window(con, table, column, start, end, load_sql(f"insert_{table}"),
                            {"start": start, "end": end})
    window = f"FROM {quote_ident(table)} WHERE {quote_ident(column)} >= ? AND {quote_ident(column)} < ?"
    summary = con.execute(f"SELECT {summary_columns} {window}", [start, end]).df()
    meta = {
        "dagster/row_count": result.inserted,
        "rows_replaced": result.deleted,
        "summary": md(frame_markdown(summary)),
        "preview": md(table_preview_markdown(con, f"SELECT * {window} ORDER BY {quote_ident(column)}, symbol", [start, end], 5)),
    }
    if not result.inserted:
        meta["note"] = f"needs {inputs}; none in {start} .. {end} (exclusive): empty result"
    return meta


@dg.asset(
    name=DAILY_PANEL,
    partitions_def=daily_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds={"duckdb", "sql"},
    deps=[
        dg.AssetDep(RAW_KLINES_5M, partition_mapping=day_and_previous_day),
        dg.AssetDep(RAW_COIN_MARKETS, partition_mapping=day_and_previous_day),
    ],
    check_specs=checks.daily_panel_specs(DAILY_PANEL),
)
def daily_panel(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """One row per coin-day (UTC): close, simple and log return, market cap, volumes, bar count, universe flag.

    close = last 5-minute close of the day where bars exist, else the market-data price
    (`close_source` says which). ret = close(d) / close(d-1) - 1, NULL when day d-1 is missing.
    A coin with bars but no market data keeps its row with a NULL market cap.
    in_universe = market cap >= $1M and close, return and dollar volume present (LTW's filter).
    """
    start, end = window_dates(context)
    with connect(duckdb) as con:
        meta = _build_panel(con, DAILY_PANEL, "date", start, end,
                            "count(*) AS rows, count(DISTINCT symbol) AS coins, count(ret) AS returns, "
                            "sum(in_universe::INT) AS in_universe, sum((close_source = 'markets')::INT) "
                            "AS closes_from_markets, sum((market_cap IS NULL)::INT) AS no_market_cap",
                            "5-minute bars (raw_klines_5m) or market snapshots (raw_coin_markets)")
        meta["partitions_written"] = len(quality.rows_per_partition(con, DAILY_PANEL, "date", start, end))
        results = checks.daily_panel_results(con, DAILY_PANEL, start, end)
    yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
    yield from results


@dg.asset(
    name=WEEKLY_PANEL,
    partitions_def=weekly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds={"duckdb", "sql"},
    deps=[dg.AssetDep(DAILY_PANEL, partition_mapping=week_to_days)],
    check_specs=checks.weekly_panel_specs(WEEKLY_PANEL),
)
def weekly_panel(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """One row per coin-week (ISO weeks, `week_start` = Monday 00:00 UTC) from the week's 7 daily partitions.

    ret = prod(1 + daily ret) - 1 (NULL unless all 7 daily returns exist); close and market cap of the
    week's last day; max daily close; mean base and dollar volume; std of daily dollar volume; age in
    whole weeks since the coin's first daily row (data up to the week's end only); in_universe =
    last-day market cap >= $1M with 7 complete days.
    """
    start, end = window_dates(context)
    with connect(duckdb) as con:
        meta = _build_panel(con, WEEKLY_PANEL, "week_start", start, end,
                            "count(*) AS rows, count(DISTINCT symbol) AS coins, count(ret) AS returns, "
                            "sum(in_universe::INT) AS in_universe, avg(ret) AS mean_ret",
                            "daily_panel rows in the week")
        results = checks.weekly_panel_results(con, WEEKLY_PANEL, start, end)
    yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
    yield from results
