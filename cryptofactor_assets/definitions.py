"""The one Dagster code location: every domain's definitions merged, the daily / weekly / monthly /
summary jobs, their schedules, the freshness checks and sensor, and the resources."""

from __future__ import annotations

import dagster as dg

from cryptofactor_assets.common import duckdb_resource
from cryptofactor_assets.factors.definitions import defs as factors_defs
from cryptofactor_assets.lib.resources import RISK_FREE
from cryptofactor_assets.neural.definitions import defs as neural_defs
from cryptofactor_assets.neural.resources import CROSS_ASSET_SOURCE, CrossAssetSourceResource
from cryptofactor_assets.ops.freshness import (
    build_freshness_checks,
    build_freshness_sensor,
    partitioned_asset_keys,
)
from cryptofactor_assets.panels.definitions import defs as panels_defs
from cryptofactor_assets.partitions import daily_partitions, monthly_partitions, weekly_partitions
from cryptofactor_assets.prediction.definitions import defs as prediction_defs
from cryptofactor_assets.reporting.definitions import defs as reporting_defs
from cryptofactor_assets.rsj.definitions import defs as rsj_defs
from cryptofactor_assets.sources.definitions import defs as sources_defs
from cryptofactor_assets.sources.redaction import install_redaction
from cryptofactor_assets.sources.resources import MarketSourceResource, RiskFreeResource
from cryptofactor_assets.strategies.definitions import defs as strategies_defs

# the code server, run workers and the CLI all import this module: redact configured secrets from
# every log record, console traceback and Dagster event before anything runs
install_redaction()

#: The domains, upstream first (the one-way data flow of docs/architecture.md).
DOMAINS = (sources_defs, panels_defs, factors_defs, rsj_defs, prediction_defs, strategies_defs, neural_defs,
           reporting_defs)

DAILY_JOB = "daily_job"
WEEKLY_JOB = "weekly_job"
MONTHLY_JOB = "monthly_job"
SUMMARY_JOB = "summary_job"


def domain_definitions() -> dg.Definitions:
    """Every domain's ``Definitions`` (assets and their checks), merged."""
    return dg.Definitions.merge(*(domain() for domain in DOMAINS))


def _assets_by_partitioning(assets: list) -> dict[str, list]:
    """Split assets by partitions definition: one Dagster job cannot mix daily and weekly partitions."""
    groups: dict[str, list] = {"daily": [], "weekly": [], "monthly": [], "none": []}
    for a in assets:
        if not isinstance(a, dg.AssetsDefinition):
            continue
        pd_ = a.partitions_def
        key = ("daily" if pd_ == daily_partitions else "weekly" if pd_ == weekly_partitions
               else "monthly" if pd_ == monthly_partitions else "none")
        groups[key].append(a)
    return groups


#: Every asset is in the one-slot ``duckdb`` pool, so a run's steps execute one at a time anyway: run
#: them inside the run worker (one process per run) instead of one subprocess per step (~4-5 s each
#: under the default multiprocess executor). Pool slots are still claimed per step (op granularity),
#: and a failed step only skips its dependants: the other branches of the run go on.
EXECUTOR = dg.in_process_executor


def _resolve_without_freshness_checks(jobs: list, assets, resources: dict) -> list[dg.JobDefinition]:
    """The jobs resolved against the assets alone (no freshness checks in their asset graph).

    A launch from a job page sends the job's assets as an asset selection, and Dagster subsets the
    job by it with "every check of the selected assets" taken from the job's asset graph. Resolved
    in the full code location, that graph holds the freshness checks, so a job-page backfill ran
    them whatever the job's own selection subtracted; resolved here, it cannot.
    """
    core = dg.Definitions(assets=assets, jobs=jobs, resources=resources, executor=EXECUTOR)
    return [core.resolve_job_def(job.name) for job in jobs]


def build_definitions() -> dg.Definitions:
    assets = list(domain_definitions().assets or [])
    groups = _assets_by_partitioning(list(assets))
    # time-partition freshness checks on every daily and weekly asset, evaluated by a sensor only:
    # inside a job they would fail every backfill of history by design (see ops/freshness.py)
    freshness_checks = build_freshness_checks(*partitioned_asset_keys(assets))
    resources = {"duckdb": duckdb_resource(), "market_source": MarketSourceResource.from_env(),
                 RISK_FREE: RiskFreeResource.from_settings(),
                 CROSS_ASSET_SOURCE: CrossAssetSourceResource.from_settings()}
    jobs = [
        dg.define_asset_job(DAILY_JOB, selection=dg.AssetSelection.assets(*groups["daily"]), executor_def=EXECUTOR,
                            partitions_def=daily_partitions,
                            description="Every daily-partitioned asset (raw data, daily panel, daily research)."),
        dg.define_asset_job(WEEKLY_JOB, selection=dg.AssetSelection.assets(*groups["weekly"]), executor_def=EXECUTOR,
                            partitions_def=weekly_partitions,
                            description="Every weekly-partitioned asset (weekly panel, characteristics, factors...)."),
        dg.define_asset_job(SUMMARY_JOB, selection=dg.AssetSelection.assets(*groups["none"]), executor_def=EXECUTOR,
                            description="Unpartitioned summaries over everything stored (truths, backtests, replication)."),
    ]
    if groups["monthly"]:
        jobs.append(dg.define_asset_job(MONTHLY_JOB, selection=dg.AssetSelection.assets(*groups["monthly"]),
                                        executor_def=EXECUTOR, partitions_def=monthly_partitions,
                                        description="Every monthly-partitioned asset (cross-asset and neural betas)."))
    jobs = _resolve_without_freshness_checks(jobs, assets, resources)
    schedules = [
        # yesterday's daily partitions, shortly after UTC midnight
        dg.build_schedule_from_partitioned_job(jobs[0], hour_of_day=0, minute_of_hour=20,
                                               name="daily_schedule"),
        # the week just closed, on Monday after the daily run
        dg.build_schedule_from_partitioned_job(jobs[1], day_of_week=1, hour_of_day=1, minute_of_hour=0,
                                               name="weekly_schedule"),
        dg.ScheduleDefinition(name="summary_schedule", job=jobs[2], cron_schedule="0 3 * * 1",
                              execution_timezone="UTC"),
    ]
    if groups["monthly"]:
        schedules.append(dg.build_schedule_from_partitioned_job(jobs[3], day_of_month=1, hour_of_day=4,
                                                                name="monthly_schedule"))
    return dg.Definitions(
        assets=assets,
        asset_checks=freshness_checks,
        sensors=[build_freshness_sensor(freshness_checks)],
        jobs=jobs,
        schedules=schedules,
        resources=resources,
        # the implicit asset job (asset graph "Materialize", asset backfills) runs in process too
        executor=EXECUTOR,
    )


defs = build_definitions()
