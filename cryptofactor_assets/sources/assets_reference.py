"""Reference tables of the sources domain: the coin-id -> exchange-symbol mapping and the simulated
market's planted truths."""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.common import POOL, connect, md
from cryptofactor_assets.lib.checks import TableChecks
from cryptofactor_assets.sources.checks import COIN_SYMBOLS_CHECKS, SIM_TRUTH_CHECKS
from cryptofactor_assets.sources.coingecko import default_coin_symbols
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets.sources.tables import COIN_SYMBOLS, GROUP, SIM_TRUTH
from cryptofactor_assets.storage.lake import is_lake_connection
from cryptofactor_assets.storage.warehouse import (
    ensure_table,
    frame_markdown,
    hold_write_lock,
    load_sql,
    prepare_write_lock,
    replace_frame,
    retry_conflicts,
)

TRUTH_COLUMNS = ("category", "name", "symbol", "date", "value")


def _whole_table_asset(checks: TableChecks):
    """The decorator of an unpartitioned asset of this domain writing the table ``checks.table``."""
    return dg.asset(name=checks.table, pool=POOL, group_name=GROUP, kinds={"duckdb", "python"},
                    check_specs=checks.specs())


def _insert_default_symbols(con) -> int:
    """Add the default rows the table lacks; the row count before. One transaction, re-run whole on a
    DuckLake commit conflict: concurrent runs on a fresh lake all insert the defaults at once (the insert
    skips the coin ids already stored, so a re-run is exact; on a lake the writers hold the table's write
    lock, because two INSERT-only DuckLake transactions never conflict)."""
    lake = is_lake_connection(con)
    if lake:
        prepare_write_lock(con, COIN_SYMBOLS)

    def body() -> int:
        if lake:  # two concurrent adders conflict at COMMIT; the loser's re-run finds the defaults stored
            hold_write_lock(con, COIN_SYMBOLS)
        before = con.execute(load_sql("count_coin_symbols", domain="sources")).fetchall()[0][0]
        con.execute(load_sql("insert_default_coin_symbols", domain="sources")).fetchall()
        return before

    con.register("default_symbols", default_coin_symbols())
    try:
        return retry_conflicts(con, body, what="insert default coin_symbols")[0]
    finally:
        con.unregister("default_symbols")


def read_coin_symbols(con) -> pd.DataFrame:
    """The user's ``coin_symbols`` mapping (created with the defaults on first use)."""
    ensure_table(con, COIN_SYMBOLS)
    if con.execute(load_sql("count_coin_symbols", domain="sources")).fetchall()[0][0] == 0:
        _insert_default_symbols(con)
    return con.execute(load_sql("select_coin_symbols", domain="sources")).df()


@_whole_table_asset(SIM_TRUTH_CHECKS)
def sim_truth(context: dg.AssetExecutionContext, duckdb: DuckDBResource, market_source: MarketSourceResource):
    """Planted truths of the simulated market: parameters, per-coin betas, listings, latent factor returns.

    Long format (category, name, symbol, date, value). Tests check that the estimators recover these.
    Empty when the source is not the simulated market (real data has no planted truth).
    """
    # hand-written (not a table_asset) only because it takes the market_source resource
    if market_source.kind == "simulated":
        frame = market_source.simulated().truth()
    else:
        frame = pd.DataFrame({column: [] for column in TRUTH_COLUMNS})
    with connect(duckdb) as con:
        result = replace_frame(con, SIM_TRUTH, frame)
        checks = SIM_TRUTH_CHECKS.results(con)
        summary = con.execute(load_sql("summarise_sim_truth", domain="sources")).df()
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": result.inserted, "source": market_source.kind,
        "summary": md(frame_markdown(summary)),
    })
    yield from checks


@_whole_table_asset(COIN_SYMBOLS_CHECKS)
def coin_symbols(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """Mapping CoinGecko id (or export-file ticker) -> exchange symbol used by the panels; edit it freely.

    Materialising adds the default rows for ids the table lacks and never touches rows the user
    added or changed (mark them `edited_by = 'user'`). `raw_coin_markets` reads it on every fetch.
    """
    # not a table_asset: it adds the missing default rows and keeps every stored one (no replace)
    with connect(duckdb) as con:
        ensure_table(con, COIN_SYMBOLS)
        before = _insert_default_symbols(con)
        rows = con.execute(load_sql("count_coin_symbols_user_rows", domain="sources")).fetchall()[0]
        checks = COIN_SYMBOLS_CHECKS.results(con)
    yield dg.MaterializeResult(metadata={"dagster/row_count": rows[0], "added_defaults": rows[0] - before,
                                         "user_rows": rows[1]})
    yield from checks
