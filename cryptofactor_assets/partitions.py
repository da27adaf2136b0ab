"""Partitions shared by every domain: UTC days, ISO weeks (Monday 00:00 UTC) and months."""

from __future__ import annotations

import dagster as dg

from cryptofactor_assets.settings import first_monday_on_or_after, partitions_start

DAILY_START = partitions_start()
#: The first full ISO week inside the daily range, so a week never maps onto missing days.
WEEKLY_START = first_monday_on_or_after(DAILY_START)

daily_partitions = dg.DailyPartitionsDefinition(start_date=DAILY_START.isoformat(), timezone="UTC")
# day_offset=1: weeks start on Monday (Dagster's default is Sunday).
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=WEEKLY_START.isoformat(), day_offset=1, timezone="UTC"
)
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=DAILY_START.replace(day=1).isoformat(), timezone="UTC")

#: A weekly partition reads its 7 daily partitions.
week_to_days = dg.TimeWindowPartitionMapping()
#: A daily partition that needs the previous day too (returns from the prior close).
day_and_previous_day = dg.TimeWindowPartitionMapping(start_offset=-1)
#: A weekly partition that needs the previous weeks too (momentum, portfolio holding periods).
def previous_weeks(n: int) -> dg.TimeWindowPartitionMapping:
    return dg.TimeWindowPartitionMapping(start_offset=-n)

#: Every asset touching the DuckDB file is in this pool (limit 1: DuckDB allows one writing process).
DUCKDB_POOL = "duckdb"
