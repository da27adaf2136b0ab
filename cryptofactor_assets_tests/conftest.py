"""Shared fixtures: a temporary DuckDB file, a small simulated market, materialisation helpers."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.neural.resources import CrossAssetSourceResource
from cryptofactor_assets.sources.resources import MarketSourceResource, RiskFreeResource

# the warehouse backends (DuckDB file, DuckLake on SQLite / PostgreSQL) and the PostgreSQL server fixture
from cryptofactor_assets_tests.lake_fixtures import lake_warehouse, postgres_server, warehouse  # noqa: F401

warnings.filterwarnings("ignore", category=dg.BetaWarning) if hasattr(dg, "BetaWarning") else None

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
SMALL_COINS = 12


@pytest.fixture
def db_path(tmp_path) -> str:
    return str(tmp_path / "test.duckdb")


@pytest.fixture
def resources(db_path):
    return {
        "duckdb": DuckDBResource(database=db_path),
        "market_source": MarketSourceResource(kind="simulated", sim_coins=SMALL_COINS),
        "risk_free": RiskFreeResource(),
        "cross_asset_source": CrossAssetSourceResource(),
    }


def materialize_range(assets, resources, first: str, last: str, selection=None) -> dg.ExecuteInProcessResult:
    """Materialise partitioned ``assets`` over partition keys [first, last] in one run."""
    return dg.materialize(
        assets, resources=resources, selection=selection, raise_on_error=False,
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
    )


def query(db_path: str, sql: str, params=()):
    con = duckdb.connect(db_path, read_only=True)
    try:
        return con.execute(sql, list(params)).df()
    finally:
        con.close()


def materialization_meta(result) -> dict:
    """The metadata of a run's last materialisation (a range run: the last partition's, where
    lean_metadata puts the run's), with the ingest row accounting checked: received = stored + rejected."""
    event = result.get_asset_materialization_events()[-1]
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["rows_received"] == meta["rows_stored"] + meta["rows_rejected"]
    return meta


def check_evaluations(result) -> dict:
    """Check name -> ``AssetCheckEvaluation`` of a run."""
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def rejected_reasons(db_path: str, dataset: str) -> dict:
    """Reason -> rows in ``rejected_rows`` for one dataset."""
    frame = query(db_path, "SELECT reason, count(*) AS n FROM rejected_rows WHERE dataset = ? GROUP BY 1", [dataset])
    return dict(zip(frame["reason"], frame["n"], strict=True))


def query_dates(db_path: str, sql: str, dates=(), params=()):
    """``query`` with the columns ``dates`` as datetime64[ns] (as the pure functions read them)."""
    from cryptofactor_assets.estimators.ltw_calendar import as_datetime_ns

    frame = query(db_path, sql, params)
    for c in dates:
        frame[c] = as_datetime_ns(frame[c])
    return frame


def sorted_rows(frame, keys):
    """``frame`` sorted by ``keys`` on a fresh index (stored rows compared whatever their order)."""
    return frame.sort_values(keys).reset_index(drop=True)


def marked_copy(db_path: str, target, marks: dict[str, str]) -> str:
    """A copy of the DuckDB file ``db_path`` at ``target`` in which the column ``marks[table]`` of every
    table is NaN everywhere (a column nothing reads: a rerun rewrites exactly the rows without it)."""
    import shutil

    shutil.copy(db_path, target)
    con = duckdb.connect(str(target))
    try:
        for table, column in marks.items():
            con.execute(f"UPDATE {table} SET {column} = 'NaN'::DOUBLE")
    finally:
        con.close()
    return str(target)


@pytest.fixture
def server():
    """A real local HTTP server replaying recorded exchange responses (``fake_exchange_server``)."""
    from cryptofactor_assets_tests.fake_exchange_server import FakeServer

    with FakeServer() as srv:
        yield srv


def days(start: str, n: int) -> list[dt.date]:
    d0 = dt.date.fromisoformat(start)
    return [d0 + dt.timedelta(days=i) for i in range(n)]
