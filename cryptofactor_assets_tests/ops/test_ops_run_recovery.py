"""A run worker killed in the middle of a partition write, under the real daemon: the run is marked
failed, the ``duckdb`` pool slot it held comes back, and the next run of the partition succeeds.

With one slot in the pool (``deploy/dagster.yaml``), a slot that stayed claimed by a dead run would
block every later writer. What frees it here: the code server that launched the run sees its process
die and reports the run failed, and a failed run's slots are released. (The yaml's run monitoring,
``free_slots_after_run_end_seconds``, is a second line for runs that end without releasing; this
test passes with it disabled too, so it does not depend on it.)
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.panels.assets import daily_panel
from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets.storage.warehouse import PAUSE_ENV, PAUSE_MARKER_ENV
from cryptofactor_assets_tests.conftest import materialize_range, query
from cryptofactor_assets_tests.ops_harness import LAUNCH, DagsterDev, tags_of

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.environ.get("CRYPTOFACTOR_E2E") != "1",
                                                   reason="operations tier: set CRYPTOFACTOR_E2E=1 (make e2e)")]

WEEK = "2024-01-01"


def _launch_week(dev: DagsterDev) -> str:
    out = dev.graphql(LAUNCH, {"params": {"assetSelection": [{"path": ["weekly_panel"]}],
                                          "partitionNames": [WEEK], "title": "recovery test"}})["launchPartitionBackfill"]
    assert out["__typename"] == "LaunchBackfillSuccess", out
    return out["backfillId"]


def _wait_for_pause(marker, table: str, timeout: float) -> int:
    """PID of the run worker once it sits in the write of ``table`` (after DELETE, before COMMIT)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists():
            for line in marker.read_text().splitlines():
                name, pid = line.split()
                if name == table:
                    return int(pid)
        time.sleep(0.5)
    raise TimeoutError(f"no write of {table} paused within {timeout} s")


def test_killed_run_fails_frees_the_pool_slot_and_the_rerun_succeeds(tmp_path):
    db = str(tmp_path / "recovery.duckdb")
    res = {"duckdb": DuckDBResource(database=db), "market_source": MarketSourceResource(kind="simulated", sim_coins=12)}
    assert materialize_range([raw_klines_5m, raw_coin_markets, daily_panel], res, "2023-12-31", "2024-01-07").success
    marker = tmp_path / "paused_writes.txt"
    env = {"CRYPTOFACTOR_DUCKDB": db, "CRYPTOFACTOR_SIM_COINS": "12", PAUSE_ENV: "20", PAUSE_MARKER_ENV: str(marker)}
    with DagsterDev(tmp_path, ["-m", "cryptofactor_assets_tests.ops_parallel_defs"], env=env) as dev:
        first = _launch_week(dev)
        pid = _wait_for_pause(marker, "weekly_panel", timeout=180)
        os.kill(pid, signal.SIGKILL)  # the run worker dies holding the duckdb slot, mid-transaction
        (killed,) = dev.wait_runs_done(lambda r: tags_of(r).get("dagster/backfill") == first, 1, timeout=120)
        assert killed["status"] == "FAILURE", dev.log_tail()

        marker.unlink()
        second = _launch_week(dev)
        # it can only start writing once the dead run's slot is free again
        _wait_for_pause(marker, "weekly_panel", timeout=120)
        (rerun,) = dev.wait_runs_done(lambda r: tags_of(r).get("dagster/backfill") == second, 1, timeout=180)
        assert rerun["status"] == "SUCCESS", dev.log_tail()

    week = query(db, "SELECT symbol, count(*) AS n, count(ret) AS n_ret FROM weekly_panel "
                     f"WHERE week_start = TIMESTAMP '{WEEK}' GROUP BY symbol")
    assert len(week) == 12 and (week["n"] == 1).all()  # one row per coin: nothing doubled or half-written
    assert week["n_ret"].sum() >= 10
