"""Replace the rows of several tables (a window of each, or whole tables) in ONE transaction.

The write step of every table asset (``lib/table_asset.py``): each table's rows come from a pandas
DataFrame (inserted by column name) or from an ``INSERT INTO <table> BY NAME SELECT ...`` statement
with bound parameters (:class:`SqlInsert`, usually a file of ``sql/``). A failure anywhere leaves
every table as it was; rows outside the replaced window roll the write back (``warehouse``).

On a DuckLake the transaction is kept short, because concurrent writers of one table conflict at
COMMIT and the loser re-runs its transaction (``warehouse.retry_conflicts``): an ``INSERT ... SELECT``
that reads only other tables is first run into a local TEMP table of the same name (TEMP tables come
first in DuckDB's name resolution, so the statement's own text fills it), renamed to a staging name;
the transaction then deletes the window and copies the staged rows. A statement that reads its own
table runs inside the transaction as on a DuckDB file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from cryptofactor_assets.storage.identifiers import quote_ident, quote_qualified
from cryptofactor_assets.storage.lake import LAKE_ALIAS, is_lake_connection
from cryptofactor_assets.storage.warehouse import (
    WriteResult,
    _registered,
    _replace_rows,
    _with_retries,
    ensure_table,
    retry_conflicts,
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
    log=None,
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
    staged: dict[int, str] = {}
    try:
        if writes and is_lake_connection(con):
            staged = _stage_inserts(con, writes)

        def body() -> dict[str, WriteResult]:
            out: dict[str, WriteResult] = {}
            for i, (table, rows) in enumerate(writes):
                span = None if window is None else (window_column, *window)
                if i in staged:
                    sql = f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM {quote_qualified('temp', 'main', staged[i])}"
                    out[table] = _replace_rows(con, table, sql, None, span)
                    continue
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

        with _registered(con, views):
            out, retries = retry_conflicts(con, body, what="replace " + ", ".join(t for t, _ in writes), log=log)
    finally:
        for name in staged.values():
            con.execute(f"DROP TABLE IF EXISTS {quote_qualified('temp', 'main', name)}")
    return {table: _with_retries(result, retries) for table, result in out.items()}


def _reads_only_other_tables(table: str, sql: str) -> bool:
    """Whether the statement names ``table`` once (its INSERT target) and nothing else of it: then it can
    run into a TEMP table of that name without changing what it reads."""
    code = re.sub(r"--[^\n]*", " ", sql)  # the header comment names the table too
    return len(re.findall(rf"(?<![A-Za-z0-9_]){re.escape(table)}(?![A-Za-z0-9_])", code)) == 1


def _stage_inserts(con: duckdb.DuckDBPyConnection, writes) -> dict[int, str]:
    """Run each staging-safe ``SqlInsert`` into ``temp.main.staged_<i>_<table>``; ``index -> staged name``."""
    staged: dict[int, str] = {}
    for i, (table, rows) in enumerate(writes):
        if not isinstance(rows, SqlInsert) or not _reads_only_other_tables(table, rows.sql):
            continue
        name = f"staged_{i}_{table}"
        shadow = quote_qualified("temp", "main", table)
        con.execute(f"DROP TABLE IF EXISTS {shadow}")
        con.execute(f"DROP TABLE IF EXISTS {quote_qualified('temp', 'main', name)}")
        con.execute(f"CREATE TEMP TABLE {quote_ident(table)} AS SELECT * FROM {quote_qualified(LAKE_ALIAS, 'main', table)} LIMIT 0")
        try:
            with _registered(con, dict(rows.frames)):
                con.execute(rows.sql, rows.params)
        except BaseException:
            con.execute(f"DROP TABLE IF EXISTS {shadow}")
            raise
        con.execute(f"ALTER TABLE {shadow} RENAME TO {quote_ident(name)}")
        staged[i] = name
    return staged
