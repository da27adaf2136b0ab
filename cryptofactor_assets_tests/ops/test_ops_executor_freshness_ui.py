"""Freshness checks through the real webserver: never in job-page or asset-page backfills, still by the sensor.

Why they used to run: the UI's job page launches a backfill with the job's
partition set AND the job's assets as ``assetSelection``; Dagster then subsets the job by that
selection with "every check of the selected assets" taken from the job's asset graph, which held the
freshness checks, whatever the job's own selection subtracted. An asset-page backfill (pure asset
backfill) asks for every check of its assets from the workspace's asset graph.

Here, under ``dagster dev`` (webserver + daemon) on the product's code location:

* a backfill from the weekly job's page (``launchPartitionBackfill`` with the ``weekly_job``
  partition-set selector and the job's assets, exactly the UI's mutation) plans no freshness check;
* an asset-page backfill of ``weekly_panel`` evaluates none (Dagster plans them; they yield nothing);
* the freshness sensor's run requests (``sensorDryRun``), launched as the UI's "launch runs" does,
  do evaluate them.
"""

from __future__ import annotations

import os
import shutil

import dagster as dg
import pytest

from cryptofactor_assets_tests.ops_harness import LAUNCH, LAUNCH_RUN, SENSOR_DRY_RUN, DagsterDev, tags_of

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.environ.get("CRYPTOFACTOR_E2E") != "1",
                                                   reason="operations tier: set CRYPTOFACTOR_E2E=1 (make e2e)")]

WEEK = "2024-01-01"
FRESHNESS = "freshness_check"


def _freshness_events(home, run_ids: list[str]) -> dict[str, list[str]]:
    """Per run: the freshness-check events (planned / evaluated) in its event log."""
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        out: dict[str, list[str]] = {}
        for run_id in run_ids:
            out[run_id] = [
                rec.dagster_event.event_type_value for rec in instance.all_logs(run_id)
                if rec.dagster_event is not None
                and rec.dagster_event.event_type_value in ("ASSET_CHECK_EVALUATION", "ASSET_CHECK_EVALUATION_PLANNED")
                and rec.dagster_event.event_specific_data.check_name == FRESHNESS]
        return out
    finally:
        instance.dispose()


def _backfill(dev: DagsterDev, params: dict) -> str:
    out = dev.graphql(LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert out["__typename"] == "LaunchBackfillSuccess", out
    return out["backfillId"]


def test_backfills_from_job_and_asset_pages_never_evaluate_freshness_checks_the_sensor_does(tmp_path):
    from cryptofactor_assets.definitions import WEEKLY_JOB, defs

    weekly_assets = sorted(defs.get_repository_def().get_job(WEEKLY_JOB).asset_layer.selected_asset_keys)
    env = {"CRYPTOFACTOR_DUCKDB": str(tmp_path / "fresh.duckdb"), "CRYPTOFACTOR_SIM_COINS": "6"}
    with DagsterDev(tmp_path, ["-w", "workspace.yaml"], env=env) as dev:
        repo = dev.repository()
        # 1. the weekly job's page: partition set + the job's assets, as the UI sends it
        job_backfill = _backfill(dev, {
            "selector": {"partitionSetName": f"{WEEKLY_JOB}_partition_set", "repositorySelector": repo},
            "assetSelection": [{"path": k.path} for k in weekly_assets],
            "partitionNames": [WEEK], "fromFailure": False, "title": "job page"})
        # 2. the asset page: a pure asset backfill
        asset_backfill = _backfill(dev, {"assetSelection": [{"path": ["weekly_panel"]}],
                                         "partitionNames": [WEEK], "title": "asset page"})
        backfill_runs = dev.wait_runs_done(
            lambda r: tags_of(r).get("dagster/backfill") in (job_backfill, asset_backfill), 2, timeout=600)
        # 3. the sensor's run requests, launched
        dry = dev.graphql(SENSOR_DRY_RUN, {"selector": {**repo, "sensorName": "freshness_checks_sensor"},
                                           "cursor": None})
        result = dry["sensorDryRun"]["evaluationResult"]
        assert result and result["runRequests"], dry
        sensor_runs = []
        for rr in result["runRequests"]:
            assert rr["assetChecks"] and all(c["name"] == FRESHNESS for c in rr["assetChecks"]), rr
            launched = dev.graphql(LAUNCH_RUN, {"executionParams": {
                "selector": {**repo, "jobName": rr["jobName"] or "__ASSET_JOB", "assetSelection": [],
                             "assetCheckSelection": rr["assetChecks"]},
                "runConfigData": "{}", "mode": "default",
                "executionMetadata": {"tags": [{"key": t["key"], "value": t["value"]} for t in rr["tags"]]}}})
            assert launched["launchRun"]["__typename"] == "LaunchRunSuccess", launched
            sensor_runs.append(launched["launchRun"]["run"]["runId"])
        checks = dev.wait_runs_done(lambda r: r["runId"] in sensor_runs, len(sensor_runs), timeout=300)
        assert {r["status"] for r in checks} == {"SUCCESS"}, dev.log_tail()
        home = dev.home
        statuses = {tags_of(r).get("dagster/backfill"): r["status"] for r in backfill_runs}
    snapshot = tmp_path / "home_copy"
    shutil.copytree(home, snapshot)
    events = _freshness_events(snapshot, [r["runId"] for r in backfill_runs] + sensor_runs)
    by_backfill = {tags_of(r)["dagster/backfill"]: events[r["runId"]] for r in backfill_runs}
    # the job page's backfill does not even plan them; the asset page's plans them (Dagster's rule for
    # every check of the selected assets) but evaluates none
    assert by_backfill[job_backfill] == [], (by_backfill, statuses)
    assert "ASSET_CHECK_EVALUATION" not in by_backfill[asset_backfill], (by_backfill, statuses)
    evaluated = [e for run_id in sensor_runs for e in events[run_id] if e == "ASSET_CHECK_EVALUATION"]
    assert len(evaluated) >= len(weekly_assets), events  # the sensor's runs evaluate every requested check
