"""Replace the rows of several tables (a window of each, or whole tables) in ONE transaction.

The write step of every table asset (``lib/table_asset.py``): each table's rows come from a pandas
DataFrame (inserted by column name) or from an ``INSERT INTO <table> BY NAME SELECT ...`` statement
with bound parameters (:class:`SqlInsert`, usually a file of ``sql/``). A failure anywhere leaves
every table as it was; rows outside the replaced window roll the write back (``warehouse``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.warehouse import (
    WriteResult,
    _registered,
    _replace_rows,
    ensure_table,
    transaction,
)


@dataclass(frozen=True)
class SqlInsert:
    """An ``INSERT INTO <table> BY NAME SELECT ...`` (or, run after the inserts, any) statement, its
    bound parameters and the DataFrames it reads, registered under their key while it runs."""

    sql: str
    params: Mapping | Sequence = field(default_factory=dict)
    frames: Mapping[str, pd.DataFrame] = field(default_factory=dict)


def replace_rows_of_tables(
    con: duckdb.DuckDBPyConnection,
    writes: Sequence[tuple[str, pd.DataFrame | SqlInsert]],
    window: tuple | None = None,
    window_column: str | None = None,
    after: Sequence[SqlInsert] = (),
) -> dict[str, WriteResult]:
    """Replace the ``[start, end)`` window of ``window_column`` of each table (``window`` None: every
    row) with its rows, then run the ``after`` statements, in one transaction; ``table -> WriteResult``
    in the order given."""
    if window is not None and window_column is None:
        raise ValueError("a window needs its column")
    for table, _ in writes:
        ensure_table(con, table)
    # an empty frame inserts nothing (and is not registered: it may lack the table's columns)
    views = {f"incoming_{i}": rows for i, (_, rows) in enumerate(writes)
             if isinstance(rows, pd.DataFrame) and len(rows)}
    out: dict[str, WriteResult] = {}
    with _registered(con, views), transaction(con):
        for i, (table, rows) in enumerate(writes):
            span = None if window is None else (window_column, *window)
            if isinstance(rows, SqlInsert):
                with _registered(con, dict(rows.frames)):
                    out[table] = _replace_rows(con, table, rows.sql, rows.params, span)
                continue
            sql = (f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM {quote_ident(f'incoming_{i}')}"
                   if f"incoming_{i}" in views else None)
            out[table] = _replace_rows(con, table, sql, None, span)
        for statement in after:
            with _registered(con, dict(statement.frames)):
                con.execute(statement.sql, statement.params)
    return out
