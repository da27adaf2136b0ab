"""The one Dagster code location: every domain's assets, the daily / weekly / summary jobs and schedules."""

from __future__ import annotations

import importlib

import dagster as dg

from cryptofactor_assets.common import duckdb_resource
from cryptofactor_assets.ops.freshness import (
    build_freshness_checks,
    build_freshness_sensor,
    partitioned_asset_keys,
)
from cryptofactor_assets.partitions import daily_partitions, monthly_partitions, weekly_partitions
from cryptofactor_assets.sources.redaction import install_redaction
from cryptofactor_assets.sources.resources import MarketSourceResource

# the code server, run workers and the CLI all import this module: redact configured secrets from
# every log record, console traceback and Dagster event before anything runs
install_redaction()

#: Domain modules holding assets; a domain whose module does not exist yet is simply skipped.
DOMAIN_ASSET_MODULES = [
    "cryptofactor_assets.sources.assets",
    "cryptofactor_assets.panels.assets",
    "cryptofactor_assets.factors.assets",
    "cryptofactor_assets.rsj.assets",
    "cryptofactor_assets.prediction.assets",
    "cryptofactor_assets.neural.assets",
    "cryptofactor_assets.reporting.assets",
]

DAILY_JOB = "daily_job"
WEEKLY_JOB = "weekly_job"
MONTHLY_JOB = "monthly_job"
SUMMARY_JOB = "summary_job"


def _domain_modules() -> list:
    modules = []
    for name in DOMAIN_ASSET_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside an existing module must surface
                raise
    return modules


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


def build_definitions() -> dg.Definitions:
    assets = dg.load_assets_from_modules(_domain_modules())
    groups = _assets_by_partitioning(list(assets))
    # time-partition freshness checks on every daily and weekly asset, evaluated by a sensor only:
    # inside a job they would fail every backfill of history by design
    freshness_checks = build_freshness_checks(*partitioned_asset_keys(assets))
    not_freshness = dg.AssetSelection.checks(*freshness_checks)
    jobs = [
        dg.define_asset_job(DAILY_JOB, selection=dg.AssetSelection.assets(*groups["daily"]) - not_freshness,
                            partitions_def=daily_partitions,
                            description="Every daily-partitioned asset (raw data, daily panel, daily research)."),
        dg.define_asset_job(WEEKLY_JOB, selection=dg.AssetSelection.assets(*groups["weekly"]) - not_freshness,
                            partitions_def=weekly_partitions,
                            description="Every weekly-partitioned asset (weekly panel, characteristics, factors...)."),
        dg.define_asset_job(SUMMARY_JOB, selection=dg.AssetSelection.assets(*groups["none"]) - not_freshness,
                            description="Unpartitioned summaries over everything stored (truths, backtests, replication)."),
    ]
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
        monthly = dg.define_asset_job(MONTHLY_JOB, selection=dg.AssetSelection.assets(*groups["monthly"]) - not_freshness,
                                      partitions_def=monthly_partitions,
                                      description="Every monthly-partitioned asset (cross-asset and neural betas).")
        jobs.append(monthly)
        schedules.append(dg.build_schedule_from_partitioned_job(monthly, day_of_month=1, hour_of_day=4,
                                                                name="monthly_schedule"))
    return dg.Definitions(
        assets=assets,
        asset_checks=freshness_checks,
        sensors=[build_freshness_sensor(freshness_checks)],
        jobs=jobs,
        schedules=schedules,
        resources={"duckdb": duckdb_resource(), "market_source": MarketSourceResource.from_env()},
    )


defs = build_definitions()
