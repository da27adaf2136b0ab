"""Partitions shared by every domain: UTC days, ISO weeks (Monday 00:00 UTC) and months."""

from __future__ import annotations

import dagster as dg

from cryptofactor_assets.settings import (
    first_monday_on_or_after,
    partitions_end,
    partitions_end_exclusive,
    partitions_start,
)

DAILY_START = partitions_start()
#: The first full ISO week inside the daily range, so a week never maps onto missing days.
WEEKLY_START = first_monday_on_or_after(DAILY_START)
#: Last daily partition (inclusive; CRYPTOFACTOR_PARTITIONS_END), None = up to today.
DAILY_END = partitions_end()
#: Dagster's exclusive ``end_date`` (the day after DAILY_END): weeks and months wholly inside the range.
_END_EXCLUSIVE = partitions_end_exclusive()
_END = None if _END_EXCLUSIVE is None else _END_EXCLUSIVE.isoformat()

daily_partitions = dg.DailyPartitionsDefinition(start_date=DAILY_START.isoformat(), end_date=_END, timezone="UTC")
# day_offset=1: weeks start on Monday (Dagster's default is Sunday).
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=WEEKLY_START.isoformat(), end_date=_END, day_offset=1, timezone="UTC"
)
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=DAILY_START.replace(day=1).isoformat(),
                                                    end_date=_END, timezone="UTC")

#: A weekly partition reads its 7 daily partitions.
week_to_days = dg.TimeWindowPartitionMapping()
#: A daily partition that needs the previous day too (returns from the prior close).
day_and_previous_day = dg.TimeWindowPartitionMapping(start_offset=-1)
#: A weekly partition that needs the previous weeks too (momentum, portfolio holding periods).
def previous_weeks(n: int) -> dg.TimeWindowPartitionMapping:
    return dg.TimeWindowPartitionMapping(start_offset=-n)


def weeks_covering_days(days: int) -> int:
    """Whole weeks that hold ``days`` days before a week's Monday (``ceil(days / 7)``, 0 for none)."""
    return max(0, -(-days // 7))


def week_and_previous_days(days: int) -> dg.TimeWindowPartitionMapping:
    """A weekly partition reading its own 7 days plus the ``days`` days before its Monday, from a daily
    or a weekly upstream. Dagster counts a mapping's offsets in DOWNSTREAM partitions (here weeks), so
    the declared look-back is rounded up to whole weeks (a superset of the rows the asset reads)."""
    return dg.TimeWindowPartitionMapping(start_offset=-weeks_covering_days(days))

#: Every asset touching the DuckDB file is in this pool (limit 1: DuckDB allows one writing process).
DUCKDB_POOL = "duckdb"
