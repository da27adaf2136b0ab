"""Settings read from the environment (documented in the README's configuration table)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

DUCKDB_ENV = "CRYPTOFACTOR_DUCKDB"
DEFAULT_DUCKDB = "data/cryptofactor.duckdb"
PARTITIONS_START_ENV = "CRYPTOFACTOR_PARTITIONS_START"
DEFAULT_PARTITIONS_START = "2013-01-01"
#: Last daily partition (inclusive); unset = up to today.
PARTITIONS_END_ENV = "CRYPTOFACTOR_PARTITIONS_END"


def duckdb_path() -> str:
    """Path of the DuckDB file; its folder is created when missing."""
    path = Path(os.environ.get(DUCKDB_ENV, DEFAULT_DUCKDB))
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def _env_date(name: str, default: str | None) -> dt.date | None:
    """A ``YYYY-MM-DD`` setting; unset or empty -> ``default``; anything else is an error naming it."""
    text = (os.environ.get(name) or "").strip() or default
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a date: use YYYY-MM-DD, e.g. 2023-01-01") from None


def partitions_start() -> dt.date:
    """First daily partition (UTC day); configurable because real histories start in 2013."""
    return _env_date(PARTITIONS_START_ENV, DEFAULT_PARTITIONS_START)


def partitions_end() -> dt.date | None:
    """LAST daily partition (UTC day, inclusive), or None: partitions run up to today (Dagster's default).

    ``make demo`` / ``make ui`` set it to ``DEMO_END`` so the UI shows the range the demo built.
    """
    end = _env_date(PARTITIONS_END_ENV, None)
    if end is not None and end < partitions_start():
        raise ValueError(f"{PARTITIONS_END_ENV}={end} is before {PARTITIONS_START_ENV}={partitions_start()}")
    return end


def partitions_end_exclusive() -> dt.date | None:
    """The ``end_date`` handed to Dagster's time-window partitions: the day AFTER ``partitions_end()``.

    Dagster's ``end_date`` is exclusive: a partition exists when its whole window ends on or before it
    (checked on Dagster 1.13: daily ``end_date=2023-01-05`` ends at 2023-01-04; a week or month
    is kept only when it ends by then). So the day after the last day gives the daily partitions up
    to that day, and the weeks and months lying wholly inside the range, as ``cryptofactor
    materialize`` builds them.
    """
    end = partitions_end()
    return None if end is None else end + dt.timedelta(days=1)


def first_monday_on_or_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "f", ""})


def parse_bool(name: str, value: str | None, default: bool = False) -> bool:
    """A boolean setting: 1/true/yes/on/y/t or 0/false/no/off/n/f/empty, any case; anything else is an
    error naming the setting (a typo must not silently mean "off")."""
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{name}={value!r} is not a boolean: use one of 1/true/yes/on or 0/false/no/off")


def env_bool(name: str, default: bool = False) -> bool:
    """``parse_bool`` of the environment variable ``name``."""
    return parse_bool(name, os.environ.get(name), default)


RISK_FREE_CSV_ENV = "CRYPTOFACTOR_RISK_FREE_CSV"
RISK_FREE_PCT_ENV = "CRYPTOFACTOR_RISK_FREE_PCT"


def risk_free_settings() -> tuple[str, str]:
    """(CSV path, constant annual %) of the risk-free rate, each '' when unset."""
    return (os.environ.get(RISK_FREE_CSV_ENV) or "").strip(), (os.environ.get(RISK_FREE_PCT_ENV) or "").strip()
