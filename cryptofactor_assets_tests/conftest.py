"""Shared fixtures: a temporary DuckDB file, a small simulated market, materialisation helpers."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.lib.resources import RiskFreeResource
from cryptofactor_assets.neural.resources import CrossAssetSourceResource
from cryptofactor_assets.sources.resources import MarketSourceResource

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


@pytest.fixture
def server():
    """A real local HTTP server replaying recorded exchange responses (``fake_exchange_server``)."""
    from cryptofactor_assets_tests.fake_exchange_server import FakeServer

    with FakeServer() as srv:
        yield srv


def days(start: str, n: int) -> list[dt.date]:
    d0 = dt.date.fromisoformat(start)
    return [d0 + dt.timedelta(days=i) for i in range(n)]
