"""Tier 3: the code location loads with every job, schedule and check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptofactor_assets.definitions import DAILY_JOB, SUMMARY_JOB, WEEKLY_JOB, defs
from cryptofactor_assets.partitions import WEEKLY_START, daily_partitions, weekly_partitions

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_load_with_jobs_schedules_and_checks():
    repo = defs.get_repository_def()
    jobs = {j.name for j in repo.get_all_jobs()}
    assert {DAILY_JOB, WEEKLY_JOB, SUMMARY_JOB} <= jobs
    schedules = {s.name for s in repo.schedule_defs}
    assert {"daily_schedule", "weekly_schedule", "summary_schedule"} <= schedules
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"raw_klines_5m", "raw_coin_markets", "daily_panel", "weekly_panel", "sim_truth"} <= keys
    checks = {(c.asset_key.to_user_string(), c.name) for c in repo.asset_graph.asset_check_keys}
    for asset in ("raw_klines_5m", "raw_coin_markets", "daily_panel", "weekly_panel"):
        assert any(a == asset and "unique" in n for a, n in checks), asset


def test_every_asset_is_described_grouped_and_in_the_duckdb_pool():
    repo = defs.get_repository_def()
    for key in repo.asset_graph.get_all_asset_keys():
        node = repo.asset_graph.get(key)
        assert node.description, key
        assert node.group_name != "default", key
        assert node.pools == {"duckdb"}, key


def test_weekly_partitions_start_on_monday_and_schedules_target_closed_windows():
    assert WEEKLY_START.weekday() == 0
    keys = weekly_partitions.get_partition_keys_in_range(
        weekly_partitions.get_partition_key_range_for_time_window(
            weekly_partitions.time_window_for_partition_key("2024-01-01")))
    assert keys == ["2024-01-01"]
    assert daily_partitions.get_first_partition_key() == "2013-01-01"


def test_dagster_cli_validates_the_workspace(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    out = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=180, env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_deployed_instance_queues_writers_and_monitors_runs(tmp_path):
    """deploy/dagster.yaml (what `make ui` / `make demo` install): one duckdb slot, 4 runs, run monitoring."""
    import shutil

    import dagster as dg

    shutil.copy(ROOT / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 1
        assert config.run_queue_config.max_concurrent_runs == 4
        assert instance.run_monitoring_enabled
        # a killed run's slot must come back, or the one-slot pool would block every later run
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
        # a run launched from the UI or a schedule waits at most a second in the queue (default 5 s)
        assert instance.run_coordinator.dequeue_interval_seconds == 1
    finally:
        instance.dispose()


# what each run worker (and the code server, the CLI, every test worker) imports with the code location;
# they are imported inside the numerics that use them, on first use
HEAVY_AT_FIRST_USE = ("sklearn", "scipy", "statsmodels", "linearmodels", "matplotlib")


def test_the_code_location_loads_without_the_heavy_numerics():
    """Loading the definitions imports none of scikit-learn, SciPy, statsmodels, linearmodels,
    matplotlib (together ~1 s of every run worker's start: a daily run from the UI is ~4-5 s)."""
    code = ("import sys, warnings; warnings.simplefilter('ignore'); "
            "from cryptofactor_assets.definitions import defs; defs.get_repository_def(); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY_AT_FIRST_USE!r})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
