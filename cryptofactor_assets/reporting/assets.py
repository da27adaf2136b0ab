"""Reporting: the tear sheet over everything stored, written as one HTML file next to the DuckDB file."""

import importlib

import dagster as dg
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.common import POOL, connect, md
from cryptofactor_assets.reporting.plots import png_markdown
from cryptofactor_assets.reporting.tear_sheet import (
    build_tear_sheet,
    default_report_path,
    external_references,
    write_tear_sheet,
)
from cryptofactor_assets.storage.warehouse import frame_markdown

TEAR_SHEET = "tear_sheet"
GROUP = "reporting"
CHECK_SELF_CONTAINED = "tear_sheet_self_contained"

#: Tables the tear sheet reads, by asset key. Only keys some domain module defines become deps, so the
#: asset loads (and runs, showing "not built yet" sections) while research domains are still missing.
REPORTED_KEYS = (
    "daily_panel",
    "factor_returns_weekly",
    "characteristic_portfolios",
    "long_short_alphas",
    "rsj_portfolios_daily",
    "rsj_backtest",
    "fama_macbeth_premia",
    "rolling_betas",
)
#: Domain modules that may define them (a module that does not exist yet is skipped).
_DOMAIN_MODULES = (
    "cryptofactor_assets.panels.assets",
    "cryptofactor_assets.factors.assets",
    "cryptofactor_assets.rsj.assets",
)


def _defined_keys() -> set:
    keys = set()
    for name in _DOMAIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside an existing module must surface
                raise
            continue
        for value in vars(module).values():
            if isinstance(value, dg.AssetsDefinition):
                keys |= {k.to_user_string() for k in value.keys}
    return keys


REPORT_DEPS = [key for key in REPORTED_KEYS if key in _defined_keys()]


@dg.asset(
    name=TEAR_SHEET,
    pool=POOL,
    group_name=GROUP,
    kinds={"duckdb", "python", "html"},
    deps=REPORT_DEPS,
    check_specs=[dg.AssetCheckSpec(
        CHECK_SELF_CONTAINED, asset=TEAR_SHEET,
        description="The page references nothing outside itself: every image is a data URI, no URL.")],
)
def tear_sheet(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    """One self-contained HTML tear sheet of what is stored: data summary (tables, rows, date coverage,
    rejected rows by reason), cumulative CMKT / CSMB / CMOM, characteristic Qn - Q1 long-shorts with
    alphas, the RSJ long-short equity curve, Fama-MacBeth premia with 95 % intervals (Newey-West and
    Shanken), rolling market betas of the largest coins. Written to `reports/tear_sheet.html` next to
    the DuckDB file (`data/reports/` by default); sections whose tables are not built say so.
    Same page as `cryptofactor report`. Builder: `reporting.tear_sheet.build_tear_sheet`.
    """
    path = default_report_path(duckdb.database)
    with connect(duckdb) as con:
        sheet = build_tear_sheet(con, source_label=str(duckdb.database))
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
