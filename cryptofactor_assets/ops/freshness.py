"""Freshness checks on every daily- and weekly-partitioned asset, and the sensor that evaluates them.

A time-partition freshness check passes when the most recent *closed* partition has a
materialisation once its deadline has passed (Dagster's ``build_time_partition_freshness_checks``):

* daily assets: the schedule runs yesterday's partition at 00:20 UTC, so from 02:30 UTC on the
  check expects yesterday's partition to be stored;
* weekly assets: the schedule runs the week just closed on Monday 01:00 UTC, so from Monday
  04:00 UTC on the check expects last week's partition.

The checks read only the Dagster instance (never the DuckDB file), so they need no pool slot.
The sensor launches them (every 15 minutes at most); it is STOPPED by default like the schedules
(a local demo over 2023-2024 would otherwise show every asset as overdue): turn it on together
with the schedules in a deployment.

**Evaluated by the sensor only.** Inside a run that materialises assets a freshness check means
nothing (a backfill of 2024 would be told "expected partition <yesterday>"), so:

* the jobs (``daily_job`` ...) are resolved without them (``definitions.py``), so a job page's
  launch or backfill, a schedule and the CLI never plan them;
* Dagster plans *every* check of the selected assets in a run launched from the asset graph or an
  asset backfill (the implicit asset job; it cannot be told to leave a check out), so the check
  itself evaluates only in a run that materialises no asset (the sensor's runs, "Execute checks",
  a checks-only job) and otherwise yields no evaluation, saying so in the run's log.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import dagster as dg

from cryptofactor_assets.partitions import daily_partitions, weekly_partitions

#: Daily partitions are expected by 02:30 UTC the next day (schedule at 00:20 UTC + slack).
DAILY_DEADLINE_CRON = "30 2 * * *"
#: Weekly partitions are expected by Monday 04:00 UTC (schedule on Monday 01:00 UTC + slack).
WEEKLY_DEADLINE_CRON = "0 4 * * 1"
FRESHNESS_SENSOR = "freshness_checks_sensor"
FRESHNESS_SENSOR_INTERVAL_SECONDS = 15 * 60


def partitioned_asset_keys(assets: Iterable) -> tuple[list[dg.AssetKey], list[dg.AssetKey]]:
    """(daily keys, weekly keys) of the asset definitions in ``assets``, sorted; others are ignored."""
    daily: list[dg.AssetKey] = []
    weekly: list[dg.AssetKey] = []
    for a in assets:
        if not isinstance(a, dg.AssetsDefinition):
            continue
        if a.partitions_def == daily_partitions:
            daily.extend(a.keys)
        elif a.partitions_def == weekly_partitions:
            weekly.extend(a.keys)
    return sorted(daily, key=lambda k: k.to_user_string()), sorted(weekly, key=lambda k: k.to_user_string())


def build_freshness_checks(
    daily_keys: Sequence[dg.AssetKey],
    weekly_keys: Sequence[dg.AssetKey],
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.WARN,
) -> list[dg.AssetChecksDefinition]:
    """One time-partition freshness check per asset (Dagster builds them as one multi-check per cadence).

    Severity WARN by default: a late partition is an operator signal, not corrupt data.
    """
    checks: list[dg.AssetChecksDefinition] = []
    # Dagster 1.13 marks these factories "superseded" by FreshnessPolicy on the asset specs; they stay
    # supported and give real asset checks (visible per asset, with overdue metadata) without editing
    # every domain's asset decorators, so the warning is silenced here on purpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        checks.extend(_time_partition_checks(daily_keys, DAILY_DEADLINE_CRON, severity))
        checks.extend(_time_partition_checks(weekly_keys, WEEKLY_DEADLINE_CRON, severity))
    return checks


def _time_partition_checks(keys: Sequence[dg.AssetKey], deadline_cron: str,
                           severity: dg.AssetCheckSeverity) -> list[dg.AssetChecksDefinition]:
    if not keys:
        return []
    return [_evaluated_in_check_runs_only(c) for c in dg.build_time_partition_freshness_checks(
        assets=list(keys), deadline_cron=deadline_cron, timezone="UTC", severity=severity)]


SKIPPED_IN_MATERIALISING_RUN = (
    "freshness checks are evaluated by the {sensor} sensor only, not in a run that materialises "
    "assets ({n} asset(s) here): not evaluated")


def materialises_assets(context: dg.AssetCheckExecutionContext) -> bool:
    """True when the run executing ``context`` materialises at least one asset."""
    return bool(context.job_def.asset_layer.selected_asset_keys)


def _evaluated_in_check_runs_only(checks_def: dg.AssetChecksDefinition) -> dg.AssetChecksDefinition:
    """Dagster's freshness multi-check (same specs, name and evaluation) that yields nothing in a run
    materialising assets. ``can_subset=True``: a selected check may go without a result."""
    evaluate = checks_def.op.compute_fn.decorated_fn  # Dagster's evaluation: fn(context) -> results

    @dg.multi_asset_check(specs=list(checks_def.check_specs), can_subset=True, name=checks_def.op.name,
                          description="Time-partition freshness (evaluated by the freshness sensor only).")
    def _freshness(context):  # (unannotated: Dagster cannot resolve a string annotation here)
        if materialises_assets(context):
            context.log.info(SKIPPED_IN_MATERIALISING_RUN.format(
                sensor=FRESHNESS_SENSOR, n=len(context.job_def.asset_layer.selected_asset_keys)))
            return
        yield from evaluate(context)

    return _freshness


def build_freshness_sensor(
    checks: Sequence[dg.AssetChecksDefinition],
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """The sensor that launches the freshness checks when they could have changed (Dagster's factory)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=list(checks), minimum_interval_seconds=FRESHNESS_SENSOR_INTERVAL_SECONDS,
            name=FRESHNESS_SENSOR, default_status=default_status)
