"""Settings read from the environment (documented in the README's configuration table)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

DUCKDB_ENV = "CRYPTOFACTOR_DUCKDB"
DEFAULT_DUCKDB = "data/cryptofactor.duckdb"
PARTITIONS_START_ENV = "CRYPTOFACTOR_PARTITIONS_START"
DEFAULT_PARTITIONS_START = "2013-01-01"


def duckdb_path() -> str:
    """Path of the DuckDB file; its folder is created when missing."""
    path = Path(os.environ.get(DUCKDB_ENV, DEFAULT_DUCKDB))
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def partitions_start() -> dt.date:
    """First daily partition (UTC day); configurable because real histories start in 2013."""
    return dt.date.fromisoformat(os.environ.get(PARTITIONS_START_ENV, DEFAULT_PARTITIONS_START))


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
