"""Tier 3: the shared-deployment instance (deploy/dagster.postgres.yaml) against a REAL PostgreSQL server.

The server is the session's (``lake_fixtures.postgres_server``, shared with the DuckLake tests: Debian's
package, initdb into a temporary folder, run as the unprivileged `postgres` user when the test runs as
root, on a free localhost port, password auth), with a database of its own. The test
points a DagsterInstance at it through the yaml with the DAGSTER_PG_* variables, materialises a small
graph through it and reads the runs, materialisations and pool settings back from Postgres itself.
Skipped when the PostgreSQL server binaries or dagster-postgres are absent (.ci/install_postgres.sh).
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.panels.assets import DAILY_PANEL, daily_panel
from cryptofactor_assets.partitions import DUCKDB_POOL
from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets_tests.conftest import SMALL_COINS, query

ROOT = Path(__file__).resolve().parents[2]
YAML = ROOT / "deploy" / "dagster.postgres.yaml"
DB_NAME = "dagster_test"

psycopg2 = pytest.importorskip("psycopg2", reason="dagster-postgres (psycopg2) not installed")
pytest.importorskip("dagster_postgres", reason="dagster-postgres not installed")


@pytest.fixture(scope="module")
def postgres(postgres_server):
    """The session's PostgreSQL server (``lake_fixtures.postgres_server``) with a database for this module."""
    name = f"{DB_NAME}_{uuid.uuid4().hex[:8]}"
    postgres_server.create_database(name)
    try:
        yield {"host": postgres_server.host, "port": postgres_server.port, "user": postgres_server.user,
               "password": postgres_server.password, "db": name}
    finally:
        postgres_server.drop_database(name)


@pytest.fixture
def pg_instance(postgres, tmp_path, monkeypatch):
    for key, value in {"DAGSTER_PG_HOST": postgres["host"], "DAGSTER_PG_PORT": str(postgres["port"]),
                       "DAGSTER_PG_USER": postgres["user"], "DAGSTER_PG_PASSWORD": postgres["password"],
                       "DAGSTER_PG_DB": postgres["db"]}.items():
        monkeypatch.setenv(key, value)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(YAML, home / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance
    finally:
        instance.dispose()


def _pg(postgres, sql: str, params=()) -> list[tuple]:
    con = psycopg2.connect(host=postgres["host"], port=postgres["port"], user=postgres["user"],
                           password=postgres["password"], dbname=postgres["db"])
    try:
        with con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        con.close()


def test_instance_storages_and_concurrency_come_from_the_yaml(pg_instance):
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    assert isinstance(pg_instance.run_storage, PostgresRunStorage)
    assert isinstance(pg_instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(pg_instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(pg_instance.run_coordinator, QueuedRunCoordinator)
    config = pg_instance.get_concurrency_config()
    assert config.pool_config.default_pool_limit == 1
    assert config.run_queue_config.max_concurrent_runs == 4
    assert pg_instance.run_monitoring_enabled and pg_instance.run_retries_enabled
    assert pg_instance.run_retries_max_retries == 1


def test_materialisation_is_recorded_in_postgres(pg_instance, postgres, tmp_path):
    db = str(tmp_path / "cf.duckdb")
    resources = {"duckdb": DuckDBResource(database=db),
                 "market_source": MarketSourceResource(kind="simulated", sim_coins=SMALL_COINS)}
    result = dg.materialize(
        [raw_klines_5m, raw_coin_markets, daily_panel], resources=resources, instance=pg_instance,
        tags={"dagster/asset_partition_range_start": "2024-01-01",
              "dagster/asset_partition_range_end": "2024-01-02"},
    )
    assert result.success
    run_id = result.run_id
    # the run, its events and the asset index are rows of the Postgres server, read with plain SQL
    (status,), = _pg(postgres, "SELECT status FROM runs WHERE run_id = %s", [run_id])
    assert status == "SUCCESS"
    events = dict(_pg(postgres, "SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = %s "
                                "GROUP BY dagster_event_type", [run_id]))
    # stored names are DagsterEventType values (RUN_SUCCESS is still "PIPELINE_SUCCESS" on disk)
    assert events[dg.DagsterEventType.RUN_SUCCESS.value] == 1
    assert events[dg.DagsterEventType.STEP_SUCCESS.value] == 3
    assert events["ASSET_MATERIALIZATION"] == 3 * 2  # three assets x two daily partitions
    assert events.get("ASSET_CHECK_EVALUATION", 0) > 0
    keys = {r[0] for r in _pg(postgres, "SELECT asset_key FROM asset_keys")}
    assert {f'["{k}"]' for k in ("raw_klines_5m", "raw_coin_markets", DAILY_PANEL)} <= keys
    partitions = {r[0] for r in _pg(postgres, "SELECT partition FROM event_logs WHERE run_id = %s AND "
                                              "dagster_event_type = 'ASSET_MATERIALIZATION'", [run_id])}
    assert partitions == {"2024-01-01", "2024-01-02"}
    # the Dagster API over the same storage agrees, and the data went to DuckDB as usual
    record = pg_instance.get_latest_materialization_event(dg.AssetKey(DAILY_PANEL))
    assert record is not None and record.run_id == run_id
    assert query(db, "SELECT count(DISTINCT date) AS n FROM daily_panel").n.iloc[0] == 2


def test_duckdb_pool_limit_is_stored_in_postgres(pg_instance, postgres):
    # the pool every asset is in: a limit set through the instance lands in the concurrency tables
    pg_instance.event_log_storage.set_concurrency_slots(DUCKDB_POOL, 1)
    info = pg_instance.event_log_storage.get_concurrency_info(DUCKDB_POOL)
    assert info.slot_count == 1
    rows = _pg(postgres, 'SELECT "limit" FROM concurrency_limits WHERE concurrency_key = %s', [DUCKDB_POOL])
    assert rows == [(1,)]
    # a claim by one step blocks a second one until it is freed (what makes writers queue, not fail)
    storage = pg_instance.event_log_storage
    first = storage.claim_concurrency_slot(DUCKDB_POOL, "run-a", "step-a")
    second = storage.claim_concurrency_slot(DUCKDB_POOL, "run-b", "step-b")
    assert first.is_claimed and not second.is_claimed
    storage.free_concurrency_slot_for_step("run-a", "step-a")
    deadline = time.monotonic() + 10
    while not (third := storage.claim_concurrency_slot(DUCKDB_POOL, "run-b", "step-b")).is_claimed:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert third.is_claimed
    storage.free_concurrency_slots_for_run("run-b")
