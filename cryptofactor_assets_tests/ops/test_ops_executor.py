"""Runs execute their steps in the run worker's process, and that changes nothing else.

* every job of the code location, and the implicit asset job (asset graph "Materialize", asset
  backfills), uses the in-process executor: no subprocess per step;
* a failing step still fails only its dependants: the other branch of the run completes.

The in-process executor claims pool slots per step like the multiprocess one (op granularity), so
the one-slot ``duckdb`` pool still serialises the writers of concurrent runs.
"""

from __future__ import annotations

import dagster as dg

from cryptofactor_assets.definitions import EXECUTOR, defs
from cryptofactor_assets.partitions import DUCKDB_POOL


def test_every_job_and_the_implicit_asset_job_run_in_process():
    repo = defs.get_repository_def()
    jobs = repo.get_all_jobs()
    assert {j.name for j in jobs} >= {"daily_job", "weekly_job", "summary_job", "__ASSET_JOB"}
    for job in jobs:
        assert job.executor_def is EXECUTOR, job.name
    assert EXECUTOR is dg.in_process_executor


# ------------------------------------------------------------------ two independent branches
@dg.asset(pool=DUCKDB_POOL)
def broken() -> None:
    raise RuntimeError("boom (on purpose)")


@dg.asset(pool=DUCKDB_POOL, deps=[broken])
def after_broken() -> None:
    return None


@dg.asset(pool=DUCKDB_POOL)
def healthy() -> None:
    return None


@dg.asset(pool=DUCKDB_POOL, deps=[healthy])
def after_healthy() -> None:
    return None


def branches_job() -> dg.JobDefinition:
    """Module-level, so ``dg.reconstructable`` can load it: ``execute_job`` honours the executor."""
    return dg.Definitions(assets=[broken, after_broken, healthy, after_healthy],
                          jobs=[dg.define_asset_job("branches")], executor=EXECUTOR).resolve_job_def("branches")


def _step_events(result) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in result.all_events:
        if e.step_key:
            out.setdefault(e.step_key, set()).add(e.event_type_value)
    return out


def test_a_failing_step_skips_only_its_dependants_the_other_branch_completes(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        with dg.execute_job(dg.reconstructable(branches_job), instance=instance, raise_on_error=False) as result:
            assert not result.success
            steps = _step_events(result)
            engine = [e.message for e in result.all_events if e.event_type_value == "ENGINE_EVENT"]
            messages = [r.user_message for r in instance.all_logs(result.run_id)]
        assert any("in process" in (m or "") for m in engine), engine  # the in-process executor ran it
        assert "STEP_FAILURE" in steps["broken"]
        assert "STEP_SUCCESS" in steps["healthy"] and "STEP_SUCCESS" in steps["after_healthy"]
        assert not steps.get("after_broken", set()) & {"STEP_START", "STEP_SUCCESS"}  # never started ...
        assert any("Dependencies for step after_broken failed" in m for m in messages)  # ... skipped
        assert instance.get_latest_materialization_event(dg.AssetKey("after_healthy")) is not None
        assert instance.get_latest_materialization_event(dg.AssetKey("after_broken")) is None
