"""One builder for the project's table assets: a spec and a pure compute step in, a Dagster asset out.

Every research table of this project is the same shell around different numerics: the asset sits
in the ``duckdb`` pool, a partitioned one runs a backfill as ONE run over the whole range, it reads
its inputs (with a look-back) from DuckDB, computes frames, replaces its partition window (or the
whole table) in one transaction, checks what it stored and reports metadata, heavy entries on one
partition only (``lean_metadata``). :func:`table_asset` writes that shell once::

    @table_asset(WEEKLY_PANEL_CHECKS, group="panels", partitions_def=weekly_partitions,
                 deps=[dg.AssetDep(DAILY_PANEL, partition_mapping=week_to_days)])
    def weekly_panel(run: TableRun) -> TableOutput:
        \"\"\"One row per coin-week ... (the docstring is the asset's description in the UI).\"\"\"
        return TableOutput({WEEKLY_PANEL: SqlInsert(load_sql("insert_weekly_panel"),
                                                    {"start": run.start, "end": run.end})})

The compute step gets a :class:`TableRun` (open connection, window, config, log) and returns a
:class:`TableOutput`: the rows of each table it writes (a DataFrame, or an ``INSERT ... BY NAME``
statement with bound parameters) and its metadata. The builder writes all of them in ONE
transaction (a failure leaves every table as it was), runs the table's checks on the stored window,
adds ``dagster/row_count`` / ``rows_replaced`` (and ``rows_<table>`` for each further table) and a
``note`` when the asset's own table received no rows.
"""

# no `from __future__ import annotations`: Dagster reads the asset function's annotations as objects
import datetime as dt
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.common import POOL, SINGLE_RUN, connect, lake_metadata, lean_metadata, window_dates
from cryptofactor_assets.lib.checks import TableChecks
from cryptofactor_assets.lib.resources import DUCKDB
from cryptofactor_assets.storage.lake import current_snapshot
from cryptofactor_assets.storage.replace import SqlInsert, replace_rows_of_tables
from cryptofactor_assets.storage.warehouse import WriteResult


@dataclass(frozen=True)
class TableRun:
    """What a compute step sees: the open DuckDB connection, the run's window ``[start, end)`` (both
    None for an unpartitioned asset), the run config (None without a config class), the run log and
    the Dagster context (for the rare step that needs more, e.g. the partition keys)."""

    con: Any
    start: dt.date | None
    end: dt.date | None
    config: dg.Config | None
    log: Callable[[str], None]
    context: dg.AssetExecutionContext


@dataclass(frozen=True)
class TableOutput:
    """The rows a compute step stores (table -> DataFrame or :class:`SqlInsert`; the asset's own table
    first) and its metadata: a dict, or a function of the write results (``table -> WriteResult``)
    for metadata that needs what was stored. ``empty_reason`` (a text or a function giving one) is
    reported as ``note`` when the asset's own table received no rows."""

    tables: Mapping[str, pd.DataFrame | SqlInsert]
    #: statements run after the tables' rows, in the same transaction (e.g. an UPDATE of rows outside
    #: the window that the new rows complete)
    after: Sequence[SqlInsert] = ()
    metadata: Mapping[str, Any] | Callable[[Mapping[str, WriteResult]], Mapping[str, Any]] = field(default_factory=dict)
    empty_reason: str | Callable[[], str] | None = None


def table_asset(
    checks: TableChecks,
    *,
    group: str,
    partitions_def: dg.PartitionsDefinition | None = None,
    deps: Sequence[dg.AssetDep | str] = (),
    config: type[dg.Config] | None = None,
    kinds: frozenset[str] | set[str] = frozenset({"duckdb", "python"}),
    required_resource_keys: frozenset[str] = frozenset(),
) -> Callable[[Callable[[TableRun], TableOutput]], dg.AssetsDefinition]:
    """Build the asset ``checks.table`` around ``compute`` (see the module docstring).

    ``partitions_def`` given: the window is the run's partition range and each table's
    ``checks.window_column`` window is replaced; none: whole tables are replaced. ``config`` is the
    run config class (``dg.Config``) handed to the step as ``run.config``.
    """

    def build(compute: Callable[[TableRun], TableOutput]) -> dg.AssetsDefinition:
        window_column = checks.window_column if partitions_def is not None else None

        def body(context: dg.AssetExecutionContext, duckdb: DuckDBResource, run_config):
            start, end = window_dates(context) if partitions_def is not None else (None, None)
            with connect(duckdb) as con:
                read_snapshot = current_snapshot(con)  # None on a DuckDB file
                out = compute(TableRun(con, start, end, run_config, context.log.info, context))
                window = (start, end) if window_column is not None else None
                written = replace_rows_of_tables(con, list(out.tables.items()), window, window_column, out.after,
                                                 log=context.log.warning)
                results = checks.results(con, start, end) if window is not None else checks.results(con)
                meta = _metadata(checks.table, out, written, window is not None)  # may query what was stored
                if read_snapshot is not None:
                    meta.update(lake_metadata(con, read_snapshot, written[checks.table].retries))
            yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
            yield from results

        # Dagster takes resources either as parameters or as required keys, not both: the warehouse is
        # read from the context, so further keys (the risk-free rate, ...) join it as required keys
        if config is None:
            def asset_fn(context: dg.AssetExecutionContext):
                yield from body(context, context.resources.duckdb, None)
        else:
            def asset_fn(context: dg.AssetExecutionContext, config):
                yield from body(context, context.resources.duckdb, config)
            asset_fn.__annotations__["config"] = config  # Dagster reads the config class from the annotation
        asset_fn.__name__ = compute.__name__
        asset_fn.__qualname__ = compute.__qualname__
        asset_fn.__module__ = compute.__module__

        return dg.asset(
            name=checks.table,
            description=inspect.getdoc(compute),
            partitions_def=partitions_def,
            backfill_policy=SINGLE_RUN if partitions_def is not None else None,
            pool=POOL,
            group_name=group,
            kinds=set(kinds),
            deps=list(deps),
            check_specs=checks.specs(),
            required_resource_keys={DUCKDB, *required_resource_keys},
        )(asset_fn)

    return build


def _metadata(table: str, out: TableOutput, written: Mapping[str, WriteResult], windowed: bool) -> dict:
    own = written[table]
    meta: dict = {"dagster/row_count": own.inserted}
    if windowed:
        meta["rows_replaced"] = own.deleted
    for other, result in written.items():
        if other != table:
            meta[f"rows_{other}"] = result.inserted
    if not own.inserted and out.empty_reason is not None:
        reason = out.empty_reason() if callable(out.empty_reason) else out.empty_reason
        meta["note"] = f"{reason}: empty result"
    extra = out.metadata(written) if callable(out.metadata) else out.metadata
    meta.update(extra)
    return meta
