"""Reporting: the tear sheet over everything stored, written as one HTML file next to the DuckDB file."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.analytics.plots import png_markdown
from cryptofactor_assets.common import POOL, connect, md
from cryptofactor_assets.factors.tables import (
    CHARACTERISTIC_PORTFOLIOS,
    FACTOR_RETURNS_WEEKLY,
    FAMA_MACBETH_PREMIA,
    LONG_SHORT_ALPHAS,
    ROLLING_BETAS,
)
from cryptofactor_assets.panels.tables import DAILY_PANEL
from cryptofactor_assets.reporting.html import external_references
from cryptofactor_assets.reporting.tables import TEAR_SHEET
from cryptofactor_assets.reporting.tear_sheet import build_tear_sheet, default_report_path, write_tear_sheet
from cryptofactor_assets.rsj.tables import RSJ_BACKTEST, RSJ_PORTFOLIOS_DAILY
from cryptofactor_assets.storage.warehouse import frame_markdown
from cryptofactor_assets.strategies.tables import STRATEGY_COMPARISON, STRATEGY_RETURNS

GROUP = "reporting"
CHECK_SELF_CONTAINED = "tear_sheet_self_contained"

#: Tables the tear sheet reads, by asset key (each domain's key, imported from its tables module).
REPORTED_KEYS = (
    DAILY_PANEL,
    FACTOR_RETURNS_WEEKLY,
    CHARACTERISTIC_PORTFOLIOS,
    LONG_SHORT_ALPHAS,
    RSJ_PORTFOLIOS_DAILY,
    RSJ_BACKTEST,
    STRATEGY_COMPARISON,
    STRATEGY_RETURNS,
    FAMA_MACBETH_PREMIA,
    ROLLING_BETAS,
)


@dg.asset(
    name=TEAR_SHEET,
    pool=POOL,
    group_name=GROUP,
    kinds={"duckdb", "python", "html"},
    deps=list(REPORTED_KEYS),
    check_specs=[dg.AssetCheckSpec(
        CHECK_SELF_CONTAINED, asset=TEAR_SHEET,
        description="The page references nothing outside itself: every image is a data URI, no URL.")],
)
def tear_sheet(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """One self-contained HTML tear sheet of what is stored: data summary (tables, rows, date coverage,
    rejected rows by reason), cumulative CMKT / CSMB / CMOM, characteristic Qn - Q1 long-shorts with
    alphas, the RSJ long-short equity curve, every strategy gross and net of costs, Fama-MacBeth premia with 95 % intervals (Newey-West and
    Shanken), rolling market betas of the largest coins. Written to `reports/tear_sheet.html` next to
    the DuckDB file (`data/reports/` by default); sections whose tables are not built say so.
    Same page as `cryptofactor report`. Builder: `reporting.tear_sheet.build_tear_sheet`.
    """
    path = default_report_path(duckdb.database)
    with connect(duckdb) as con:
        label = duckdb.spec().label if hasattr(duckdb, "spec") else str(duckdb.database)  # a DuckLake: its catalog
        sheet = build_tear_sheet(con, source_label=label)
    write_tear_sheet(sheet, path)
    status = sheet.status_frame()
    for s in sheet.sections:
        if s.error:
            context.log.warning(f"tear sheet section {s.title!r}: {s.error}")
    meta = {
        "path": dg.MetadataValue.path(str(path)),
        "sections": md(frame_markdown(status)),
        "sections_built": int((status["status"] == "ok").sum()),
        "tables": md(frame_markdown(sheet.table_summary[["table", "rows", "first", "last"]].astype(str))),
        "html_bytes": len(sheet.html.encode("utf-8")),
    }
    if sheet.first_plot is not None:
        meta["plot"] = md(png_markdown(sheet.first_plot.png, alt=sheet.first_plot.title))
    yield dg.MaterializeResult(metadata=meta)
    external = external_references(sheet.html)
    yield dg.AssetCheckResult(
        check_name=CHECK_SELF_CONTAINED, passed=not external,
        metadata={"external_references": len(external), "examples": ", ".join(external[:5]) or "none"},
    )
