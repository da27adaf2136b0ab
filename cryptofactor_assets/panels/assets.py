"""Daily and weekly coin panels built in DuckDB from the raw tables (SQL in sql/panels/insert_*_panel.sql)."""

import dagster as dg

from cryptofactor_assets.common import md
from cryptofactor_assets.estimators.ltw_calendar import DEFAULT_RETURN_RULE, RETURN_RULES, check_return_rule
from cryptofactor_assets.estimators.spreads import MIN_SPREAD_PAIRS
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.panels import checks
from cryptofactor_assets.panels.tables import DAILY_PANEL, UNIVERSE_MEMBERSHIP, WEEKLY_PANEL
from cryptofactor_assets.partitions import (
    daily_partitions,
    day_and_previous_day,
    week_and_previous_days,
    weekly_partitions,
)
from cryptofactor_assets.sources.assets import RAW_COIN_MARKETS, RAW_KLINES_5M
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.replace import SqlInsert
from cryptofactor_assets.storage.warehouse import (
    frame_markdown,
    load_sql,
    table_preview_markdown,
)

GROUP = "panels"
KINDS = frozenset({"duckdb", "sql"})

def _panel(run: TableRun, table: str, column: str, summary_columns: str, inputs: str,
           extra: dict | None = None, params: dict | None = None) -> TableOutput:
    """Rebuild the run's window of ``table`` with ``sql/panels/insert_<table>.sql`` (bound: the window and
    ``params``); metadata: the window's summary (``summary_columns``) and a preview; a note naming the
    ``inputs`` when the window has none."""
    start, end = run.start, run.end
    window = f"FROM {quote_ident(table)} WHERE {quote_ident(column)} >= ? AND {quote_ident(column)} < ?"

    def metadata(_written) -> dict:
        summary = run.con.execute(f"SELECT {summary_columns} {window}", [start, end]).df()
        preview = table_preview_markdown(run.con, f"SELECT * {window} ORDER BY {quote_ident(column)}, symbol",
                                         [start, end], 5)
        return {"summary": md(frame_markdown(summary)), "preview": md(preview),
                **{k: f(run.con) for k, f in (extra or {}).items()}}

    insert = SqlInsert(load_sql(f"insert_{table}"), {"start": start, "end": end, **(params or {})})
    return TableOutput({table: insert}, metadata=metadata,
                       empty_reason=f"needs {inputs}; none in {start} .. {end} (exclusive)")


@table_asset(checks.DAILY_PANEL_CHECKS, group=GROUP, partitions_def=daily_partitions, kinds=KINDS, deps=[
    dg.AssetDep(RAW_KLINES_5M, partition_mapping=day_and_previous_day),
    dg.AssetDep(RAW_COIN_MARKETS, partition_mapping=day_and_previous_day),
])
def daily_panel(run: TableRun) -> TableOutput:
    """One row per coin-day (UTC): close, simple and log return, market cap, volumes, bar count, universe
    flag and two bid-ask spread estimates from the day's 5-minute bars.

    close = last 5-minute close of the day where bars exist, else the market-data price
    (`close_source` says which). ret = close(d) / close(d-1) - 1, NULL when day d-1 is missing.
    A coin with bars but no market data keeps its row with a NULL market cap.
    in_universe = market cap >= $1M and close, return and dollar volume present (LTW's filter).

    Spreads: proportional full spread (ask - bid) / mid (0.001 = 10 bp; a trade pays half of it) from
    the day's pairs of adjacent bars (the next bar exactly 5 minutes later; a missing bar breaks the
    pair). `spread_cs` = Corwin-Schultz (2012) high-low estimator, the mean of the pairs' estimates
    with negatives as 0; `spread_ar` = Abdi-Ranaldo (2017) close-high-low estimator,
    sqrt(max(4 mean (c_t - eta_t)(c_t - eta_t+1), 0)) with c = ln close, eta = mean of ln high and
    ln low; `n_spread_pairs` = number of pairs. Both NULL with fewer than 12 pairs or no bars
    (market-data-only coins). Formulas: cryptofactor_assets/estimators/spreads.py.
    """
    return _panel(run, DAILY_PANEL, "date",
                  "count(*) AS rows, count(DISTINCT symbol) AS coins, count(ret) AS returns, "
                  "sum(in_universe::INT) AS in_universe, sum((close_source = 'markets')::INT) "
                  "AS closes_from_markets, sum((market_cap IS NULL)::INT) AS no_market_cap, "
                  "count(spread_cs) AS spreads, median(spread_cs) AS median_spread_cs, "
                  "median(spread_ar) AS median_spread_ar",
                  "5-minute bars (raw_klines_5m) or market snapshots (raw_coin_markets)",
                  {"partitions_written": lambda con: len(quality.rows_per_partition(
                      con, DAILY_PANEL, "date", run.start, run.end))},
                  {"min_pairs": MIN_SPREAD_PAIRS})


class WeeklyPanelConfig(dg.Config):
    #: "last_price" (LTW 2022): last available close of the week / of the previous week - 1, eligible on the
    #: last available day; "complete_week": compounded daily returns, all 7 days needed (stored per row)
    return_rule: str = DEFAULT_RETURN_RULE


#: The week's 7 days and the 7 before (the previous week's last available close is the return's base).
WEEKLY_PANEL_LOOKBACK_DAYS = 7


@table_asset(checks.WEEKLY_PANEL_CHECKS, group=GROUP, partitions_def=weekly_partitions, kinds=KINDS,
             config=WeeklyPanelConfig,
             deps=[dg.AssetDep(DAILY_PANEL, partition_mapping=week_and_previous_days(WEEKLY_PANEL_LOOKBACK_DAYS))])
def weekly_panel(run: TableRun) -> TableOutput:
    """One row per coin-week (ISO weeks, `week_start` = Monday 00:00 UTC) from the week's daily rows and the
    previous week's last close.

    `return_rule` (config, stored on every row): `last_price` (default, Liu, Tsyvinski & Wu 2022):
    ret = close of the week's last available day / close of the previous week's last available day
    (`prev_close`) - 1, NULL when the previous week has no row (no return across a whole missing week);
    in_universe = market cap >= $1M and dollar volume present on that last available day (`last_date`).
    `complete_week`: ret = prod(1 + daily ret) - 1, NULL unless all 7 daily returns exist; in_universe =
    last-day market cap >= $1M with 7 complete days (return, cap and volume). Both: close and market cap
    of `last_date` (a NULL cap is not filled); max daily close; mean base and dollar volume; std of daily
    dollar volume; age in whole weeks since the coin's first daily row (data up to the week's end only).
    """
    rule = check_return_rule(run.config.return_rule)
    return _panel(run, WEEKLY_PANEL, "week_start",
                  "count(*) AS rows, count(DISTINCT symbol) AS coins, count(ret) AS returns, "
                  "sum(in_universe::INT) AS in_universe, avg(ret) AS mean_ret, "
                  "sum((n_returns < 7 AND ret IS NOT NULL)::INT) AS returns_with_missing_days",
                  "daily_panel rows in the week",
                  {"return_rule": lambda con: md(f"{rule} (one of {', '.join(RETURN_RULES)})")},
                  {"return_rule": rule})


#: The market-cap floor of eligibility (LTW's $1M; daily_panel.in_universe applies the same number).
MIN_MARKET_CAP = 1e6


@table_asset(checks.UNIVERSE_MEMBERSHIP_CHECKS, group=GROUP, kinds=KINDS, deps=[DAILY_PANEL])
def universe_membership(run: TableRun) -> TableOutput:
    """Point-in-time universe: per coin-day, eligible or not and the first reason why not, from what was
    known that day (`daily_panel`).

    Reasons in order: `no_data` (the day after a coin's last row: it did not trade; whether it comes back
    is not known that day, so no row says "delisted"), `no_market_cap`, `below_min_cap` (< $1M),
    `no_return` (first day, or the day after a gap), `no_volume`. Dead coins stay in the table with
    their history (the sources keep them: the simulator delists coins, `--dead-coingecko-ids` adds
    CoinGecko's). What a portfolio holding a coin that stops trading earns is the sorts' and the book's
    `delisting_return` (default 0: out at the last price), counted per week in `n_delisted`.
    Unpartitioned: one pass over the stored days (a GROUP BY in DuckDB).
    """
    con = run.con

    def metadata(_written) -> dict:
        weeks = con.execute(load_sql("summarize_universe_membership_by_week", domain="panels")).df()
        totals = weeks.drop(columns="week_start").sum().to_frame("coin_days").T if len(weeks) else weeks
        return {"coin_days_by_reason": md(frame_markdown(totals)),
                "last_weeks": md(frame_markdown(weeks.tail(8)))} if len(weeks) else {}

    insert = SqlInsert(load_sql("insert_universe_membership", domain="panels"), {"min_cap": MIN_MARKET_CAP})
    return TableOutput({UNIVERSE_MEMBERSHIP: insert}, metadata=metadata, empty_reason="needs daily_panel rows")
