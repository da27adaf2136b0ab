"""Dagster-facing helpers shared by the domains: partition windows, resources, metadata (check results: ``lib.checks``)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb as duckdb_lib
import pandas as pd
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.settings import WAREHOUSE_ENV, warehouse, warehouse_pool
from cryptofactor_assets.storage.connection import open_warehouse
from cryptofactor_assets.storage.lake import WarehouseSpec, parse_warehouse

#: Backfills of many partitions run as ONE run over the whole range (assets handle time windows).
SINGLE_RUN = dg.BackfillPolicy.single_run()
#: The pool of every warehouse-writing asset: ``duckdb`` (one slot) on a DuckDB file, none on a DuckLake.
#: Read when the definitions are imported: set CRYPTOFACTOR_WAREHOUSE before starting dagster / the CLI.
POOL = warehouse_pool()


class WarehouseResource(DuckDBResource):
    """The warehouse connection: dagster-duckdb's resource (``database``: the DuckDB file) plus
    ``warehouse``, a DuckLake (``ducklake:postgres:<dsn>`` / ``ducklake:sqlite:<file>``, Parquet under
    ``lake_data_path``) that replaces the file when set. Open it with :func:`connect`."""

    warehouse: str = ""
    lake_data_path: str = ""

    def spec(self) -> WarehouseSpec:
        return parse_warehouse(self.warehouse, duckdb_file=self.database, data_path=self.lake_data_path or None)


def duckdb_resource() -> WarehouseResource:
    # A memory cap makes DuckDB spill big sorts instead of growing the process (demo target: <= 2 GB RSS).
    memory = os.environ.get("CRYPTOFACTOR_DUCKDB_MEMORY", "1GB")
    config = {"memory_limit": memory}
    # DuckDB's threads per connection (default: one per core); with N runs sharing the cores of one host
    # (parallel DuckLake backfills), CRYPTOFACTOR_DUCKDB_THREADS=1 avoids N x cores threads contending
    threads = (os.environ.get("CRYPTOFACTOR_DUCKDB_THREADS") or "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise ValueError(f"CRYPTOFACTOR_DUCKDB_THREADS={threads!r} must be a whole number >= 1")
        config["threads"] = int(threads)
    spec = warehouse()
    if not spec.is_lake:
        return WarehouseResource(database=spec.target, connection_config=config)
    # the DSN is handed over as an EnvVar: Dagster shows resource config in the UI, and an EnvVar by its
    # name only, so a password someone put in the DSN never reaches the UI or the event log
    return WarehouseResource(database=spec.data_path, connection_config=config,
                             warehouse=dg.EnvVar(WAREHOUSE_ENV), lake_data_path=spec.data_path)


@contextmanager
def connect(resource: DuckDBResource) -> Iterator[duckdb_lib.DuckDBPyConnection]:
    """A connection to the resource's file that waits out another process's lock and is closed even
    when the body raises.

    Not dagster-duckdb's ``get_connection``: it retries every error silently for minutes, then fails
    with advice for readers, and closes only on success. ``open_duckdb`` waits only for a lock (up to
    ``CRYPTOFACTOR_LOCK_WAIT_SECONDS``, default 30 min), logging the holder every 15 s, and fails at
    once on anything else (bad path, read-only folder).
    """
    log = dg.get_dagster_logger("cryptofactor")
    spec = resource.spec() if isinstance(resource, WarehouseResource) else WarehouseSpec("duckdb", resource.database)
    con = open_warehouse(spec, config=dict(resource.connection_config or {}), log=log.warning)
    try:
        yield con
    finally:
        con.close()


def window_dates(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """[start, end) UTC dates of the run's partition range (one day, one week or a whole backfill)."""
    tw = context.partition_time_window
    return tw.start.date(), tw.end.date()


def partition_label(context: dg.AssetExecutionContext) -> str:
    r = context.partition_key_range
    return r.start if r.start == r.end else f"{r.start}..{r.end}"


def md(text: str) -> dg.MetadataValue:
    return dg.MetadataValue.md(text)


def mondays(start, end) -> pd.DatetimeIndex:
    """Week starts (Mondays) in ``[start, end)`` as ``datetime64[ns]``."""
    return pd.date_range(pd.Timestamp(start), pd.Timestamp(end) - pd.Timedelta(days=1),
                         freq="W-MON").astype("datetime64[ns]")


#: Metadata keys of a DuckLake write: the snapshot the step read, the one its write created, lost commits.
LAKE_SNAPSHOT_READ = "lake_snapshot_read"
LAKE_SNAPSHOT_WRITTEN = "lake_snapshot_written"
LAKE_COMMIT_RETRIES = "lake_commit_retries"


def lake_metadata(con: duckdb_lib.DuckDBPyConnection, read_snapshot: int, retries: int) -> dict:
    """A DuckLake step's data versions: ``cryptofactor sql --at-snapshot <lake_snapshot_read>`` reads the
    inputs it saw, ``<lake_snapshot_written>`` its output (the latest snapshot after its commit: another
    writer's commit may have landed in between, so it is the first version that holds this write)."""
    from cryptofactor_assets.storage.lake import current_snapshot

    return {LAKE_SNAPSHOT_READ: int(read_snapshot), LAKE_SNAPSHOT_WRITTEN: int(current_snapshot(con)),
            LAKE_COMMIT_RETRIES: int(retries)}


def lean_metadata(context: dg.AssetExecutionContext, meta: dict) -> dict:
    """The metadata to put in the asset's ``MaterializeResult``, keeping a multi-partition run lean.

    Dagster copies a ``MaterializeResult``'s metadata into the materialisation event of EVERY
    partition of a single-run backfill (a 7-year daily backfill: 2,437 copies of each preview, and
    of counts that describe the whole run, not the partition). For a run over more than one
    partition this attaches the run's metadata (counts, previews, summaries, plots) to the LAST
    partition's event only, which is the asset's latest materialisation, the one the UI's asset page
    shows; the other partitions' events carry no metadata (each links to its run, whose last
    partition has the details): ~1.7 KB an event instead of 2.4-3 KB, ~40 % of a 7-year history's
    instance. A one-partition or unpartitioned run keeps everything on its one event.
    """
    if not context.has_partition_key_range:
        return meta
    keys = context.partition_keys
    if len(keys) <= 1:
        return meta
    if meta:
        context.add_asset_metadata(dict(meta), partition_key=keys[-1])
    return {}
