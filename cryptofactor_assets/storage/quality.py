"""Data-quality checks over a window of a DuckDB table, as plain functions (the assets wrap them).

Each returns ``CheckOutcome(passed, failures, description)``; the window bounds are bound parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    failures: int
    description: str


def _window(column: str | None) -> str:
    return f"WHERE {column} >= ? AND {column} < ?" if column else "WHERE true"


def _params(start, end, column) -> list:
    if not column:
        return []
    def conv(d):
        return (d if isinstance(d, dt.datetime) else dt.datetime.combine(d, dt.time()))
    return [conv(start), conv(end)]


def unique_key(con: duckdb.DuckDBPyConnection, table: str, key: Sequence[str], column: str | None = None,
               start=None, end=None) -> CheckOutcome:
    """No two rows share the key within the window."""
    cols = ", ".join(key)
    n = con.execute(
        f"SELECT count(*) FROM (SELECT {cols} FROM {table} {_window(column)} GROUP BY {cols} HAVING count(*) > 1)",
        _params(start, end, column),
    ).fetchall()[0][0]
    return CheckOutcome(n == 0, int(n), f"{n} duplicated keys ({cols})")


def positive(con, table: str, columns: Sequence[str], column: str | None = None, start=None, end=None,
             allow_null: Sequence[str] = ()) -> CheckOutcome:
    """Every listed column is finite and > 0 (NULL allowed only for ``allow_null`` columns)."""
    conds = []
    for c in columns:
        bad = f"({c} <= 0 OR isnan({c}) OR isinf({c}))"
        conds.append(bad if c in allow_null else f"({c} IS NULL OR {bad})")
    n = con.execute(f"SELECT count(*) FROM {table} {_window(column)} AND ({' OR '.join(conds)})",
                    _params(start, end, column)).fetchall()[0][0]
    return CheckOutcome(n == 0, int(n), f"{n} rows with NULL, non-finite or non-positive {', '.join(columns)}")


def finite(con, table: str, columns: Sequence[str], column: str | None = None, start=None, end=None) -> CheckOutcome:
    """Listed columns are finite where not NULL (NULL means 'not defined', e.g. a first-day return)."""
    conds = " OR ".join(f"isnan({c}) OR isinf({c})" for c in columns)
    n = con.execute(f"SELECT count(*) FROM {table} {_window(column)} AND ({conds})",
                    _params(start, end, column)).fetchall()[0][0]
    return CheckOutcome(n == 0, int(n), f"{n} rows with NaN or infinite {', '.join(columns)}")


def ohlc_consistent(con, table: str, column: str, start, end) -> CheckOutcome:
    """low <= min(open, close) and max(open, close) <= high."""
    n = con.execute(
        f"SELECT count(*) FROM {table} {_window(column)} AND (low > least(open, close) OR high < greatest(open, close))",
        _params(start, end, column),
    ).fetchall()[0][0]
    return CheckOutcome(n == 0, int(n), f"{n} bars violating low <= open, close <= high")


def rows_per_partition(con, table: str, column: str, start, end, unit: str = "day") -> dict[str, int]:
    """Row counts per partition (day or week) of the window, for metadata."""
    rows = con.execute(
        f"SELECT CAST(date_trunc('{unit}', {column}) AS DATE) AS p, count(*) FROM {table} {_window(column)} "
        "GROUP BY p ORDER BY p",
        _params(start, end, column),
    ).fetchall()
    return {str(p): int(n) for p, n in rows}
