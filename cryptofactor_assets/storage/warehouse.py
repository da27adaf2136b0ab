"""Atomic partition writes into DuckDB.

Why not the dagster-duckdb IO manager: its partition replace is a DELETE followed by an INSERT
outside a transaction, inserts by column *position* and drops the partition's rows when the schema
changes (see ../shared/reference/methodology.md). Every writer here instead runs

    BEGIN; DELETE rows of the window; INSERT ... BY NAME; COMMIT

so a failure anywhere between BEGIN and COMMIT rolls back to the previous rows, and columns are
matched by name. Tables are created from ``sql/<domain>/create_<table>.sql`` (one statement per file;
each domain owns its folder, :func:`load_sql` finds a name in any of them).

Every table and column name a writer formats into SQL goes through ``quote_ident`` (names are
constants today, but a function taking ``table: str`` must be safe for any string); window bounds
and other values are bound parameters. ``extra_filter`` arguments are SQL fragments written in code
(``AND dataset = ?``), never built from data: their values are bound through ``extra_params``.

No Dagster import: these functions take a plain ``duckdb.DuckDBPyConnection``.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.lake import commit_turn, is_commit_conflict, is_lake_connection, redact

#: A window bound: a date (midnight) or a naive UTC datetime.
Bound = dt.date | dt.datetime

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"

#: Test hook: seconds to sleep between the DELETE and the INSERT of a partition write (crash tests).
PAUSE_ENV = "CRYPTOFACTOR_TEST_PAUSE_IN_WRITE"
#: Test hook: when set to a table name, the write to that table raises after its DELETE.
FAIL_ENV = "CRYPTOFACTOR_TEST_FAIL_WRITE"
#: Test hook: a file the PAUSE_ENV pause appends "<table> <pid>" to before sleeping (tests wait for it).
PAUSE_MARKER_ENV = "CRYPTOFACTOR_TEST_PAUSE_MARKER"


class InjectedWriteFailure(RuntimeError):
    """Raised by the FAIL_ENV test hook in the middle of a partition write."""


#: Names of files in sql/<domain>/ (verb_object) and of the domain folders: nothing else is looked up, so
#: a table name can never point ``load_sql`` / ``ensure_table`` outside sql/ (``../x``) or at a file it
#: was not meant to run.
_SQL_NAME = re.compile(r"[A-Za-z0-9_]+")


@functools.cache
def load_sql(name: str, domain: str | None = None) -> str:
    """Text of ``sql/<domain>/<name>.sql`` (the one-line header comment included; DuckDB ignores it).

    Each domain owns its statements in ``sql/<domain>/``; a name is unique across the domains, so
    callers give the name only. ``domain`` restricts the search to that domain's folder. Exactly one
    file must match: a missing name raises ``FileNotFoundError``, a name found in several domains
    ``LookupError`` naming the files.
    """
    if not isinstance(name, str) or not _SQL_NAME.fullmatch(name):
        raise FileNotFoundError(f"no SQL file for {name!r} (names are letters, digits and _)")
    if domain is not None and (not isinstance(domain, str) or not _SQL_NAME.fullmatch(domain)):
        raise FileNotFoundError(f"no SQL domain {domain!r} (domains are letters, digits and _)")
    pattern = f"{domain if domain is not None else '*'}/{name}.sql"
    matches = sorted(p for p in SQL_DIR.glob(pattern) if p.is_file())
    if not matches:
        where = SQL_DIR / domain if domain is not None else SQL_DIR / "<domain>"
        raise FileNotFoundError(f"no SQL file {name}.sql in {where}")
    if len(matches) > 1:
        found = ", ".join(p.relative_to(SQL_DIR).as_posix() for p in matches)
        raise LookupError(f"SQL name {name!r} is ambiguous: {found} (a name must be unique across sql/<domain>/)")
    return matches[0].read_text()


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``table`` exists in the main schema (an input that may not have been materialised yet)."""
    return con.execute(load_sql("count_tables_named", domain="storage"), {"table": table}).fetchone()[0] > 0


#: A column type as DuckDB's catalog spells it (``DOUBLE``, ``DECIMAL(18,3)``, ``TIMESTAMP WITH TIME ZONE``).
_COLUMN_TYPE = re.compile(r"[A-Z][A-Z0-9_]*( [A-Z][A-Z0-9_]*)*(\([0-9, ]+\))?")


@functools.cache
def declared_columns(table: str) -> tuple[tuple[str, str], ...]:
    """(name, type) of the columns ``create_<table>.sql`` declares, in order: the statement run in an
    in-memory DuckDB and read back from its catalog (no parsing of SQL text here)."""
    with duckdb.connect(":memory:") as mem:
        mem.execute(load_sql(f"create_{table}"))
        rows = mem.execute(load_sql("select_table_columns", domain="storage"), {"table": table}).fetchall()
    return tuple((str(name), str(dtype)) for name, dtype in rows)


def ensure_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create ``table`` from ``sql/<domain>/create_<table>.sql`` if it does not exist yet, and add the
    columns that statement declares but an older file's table lacks.

    A warehouse written before a column was added to a table (a new estimate in ``daily_panel``, a new
    statistic of ``model_comparison``) would otherwise fail every later ``INSERT ... BY NAME`` with that
    column. The column is added as nullable, whatever the statement's constraint: the rows stored
    before hold NULL in it until their partition is rebuilt.
    """
    if is_lake_connection(con):
        # DuckLake has no PRIMARY KEY / UNIQUE constraints, and the error of a statement with one aborts an
        # open transaction: the same columns, types and NOT NULLs, built from the statement's own catalog
        # entry (the writers keep keys unique: one replace per window, write locks for registrations)
        _ddl(con, _columns_only_ddl(table))
    else:
        _ddl(con, load_sql(f"create_{table}"))
    have = {row[0] for row in con.execute(load_sql("select_table_columns", domain="storage"), {"table": table}).fetchall()}
    for name, dtype in declared_columns(table):
        if name in have:
            continue
        if not _COLUMN_TYPE.fullmatch(dtype):  # types come from our own DDL through DuckDB's catalog
            raise ValueError(f"unexpected column type {dtype!r} of {table}.{name} in create_{table}.sql")
        _ddl(con, f"ALTER TABLE {quote_ident(table)} ADD COLUMN IF NOT EXISTS {quote_ident(name)} {dtype}")


def _ddl(con: duckdb.DuckDBPyConnection, sql: str, attempts: int = 20) -> None:
    """An idempotent DDL statement (``IF NOT EXISTS``), re-run when its commit loses to a concurrent DuckLake
    writer (two processes creating the same table; a SQLite catalog busy with another commit). Outside a
    transaction only: inside one, DuckLake commits the catalog at COMMIT (``retry_conflicts``). After a
    first conflict the statement waits for the writers' turn (a SQLite catalog, ``lake.commit_turn``)."""
    for attempt in range(attempts):
        try:
            if attempt == 0:
                con.execute(sql)
            else:
                with commit_turn(con):
                    con.execute(sql)
            return
        except duckdb.Error as exc:
            if not is_commit_conflict(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


@functools.cache
def _columns_only_ddl(table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` of ``create_<table>.sql``'s columns, types and NOT NULLs only."""
    with duckdb.connect(":memory:") as mem:
        mem.execute(load_sql(f"create_{table}"))
        rows = mem.execute("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                           "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()
    columns = []
    for name, dtype, nullable in rows:
        if not _COLUMN_TYPE.fullmatch(str(dtype)):
            raise ValueError(f"unexpected column type {dtype!r} of {table}.{name} in create_{table}.sql")
        columns.append(f"{quote_ident(str(name))} {dtype}{'' if nullable == 'YES' else ' NOT NULL'}")
    return f"CREATE TABLE IF NOT EXISTS {quote_ident(table)} ({', '.join(columns)})"


#: Commit conflicts (DuckLake: two writers of one table) a write retries before it fails.
COMMIT_RETRIES_ENV = "CRYPTOFACTOR_LAKE_COMMIT_RETRIES"
DEFAULT_COMMIT_RETRIES = 30


def commit_retries() -> int:
    value = (os.environ.get(COMMIT_RETRIES_ENV) or "").strip()
    try:
        n = int(value) if value else DEFAULT_COMMIT_RETRIES
    except ValueError:
        raise ValueError(f"{COMMIT_RETRIES_ENV}={value!r} is not a whole number") from None
    if n < 0:
        raise ValueError(f"{COMMIT_RETRIES_ENV}={value!r} must be >= 0")
    return n


class CommitConflictsExhausted(RuntimeError):
    """A write lost every commit to concurrent writers of the same tables (nothing of it was kept)."""


def retry_conflicts(con: duckdb.DuckDBPyConnection, body, *, what: str = "write",
                    log=None, retries: int | None = None, sleep=time.sleep):
    """``body()`` in ONE transaction, re-run whole (BEGIN, body, COMMIT) when COMMIT loses a DuckLake
    write-write conflict; ``(body's result, number of retries)``.

    A conflicting COMMIT changes nothing (DuckLake's snapshot isolation), so re-running the delete +
    insert is exact. The back-off grows with jitter so that writers of one table take turns. On a plain
    DuckDB file there is one writer and no conflict: one attempt. On a SQLite catalog each attempt runs in
    the writers' commit turn (``lake.commit_turn``), where overlapping writers would always conflict.
    """
    import random

    limit = commit_retries() if retries is None else retries
    for attempt in range(limit + 1):
        try:
            with commit_turn(con), transaction(con):
                result = body()
            return result, attempt
        except duckdb.Error as exc:
            if not is_commit_conflict(exc):
                raise
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # the failed COMMIT already ended the transaction
            if attempt == limit:
                raise CommitConflictsExhausted(
                    f"{what}: lost {limit + 1} commits to concurrent writers of the same table(s); nothing was "
                    f"written ({COMMIT_RETRIES_ENV} raises the limit). Last: {redact(' '.join(str(exc).split()))[:300]}"
                ) from None
            wait = min(2.0, 0.05 * 2 ** min(attempt, 6)) * (0.5 + random.random())
            if log is not None:
                log(f"{what}: commit conflict with a concurrent writer (attempt {attempt + 1}); retrying in {wait:.2f} s")
            sleep(wait)
    raise AssertionError("unreachable")


def prepare_write_lock(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Make sure the ``lake_write_locks`` row ``name`` exists (its own commit; call OUTSIDE a transaction,
    before the writer's transaction that calls :func:`hold_write_lock`)."""
    ensure_table(con, "lake_write_locks")
    retry_conflicts(con, lambda: con.execute(load_sql("insert_lake_write_lock", domain="storage"), {"name": name}),
                    what=f"create the write lock {name}")


def hold_write_lock(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Inside a DuckLake transaction: bump the ``lake_write_locks`` row ``name``, so that two transactions
    doing so conflict at COMMIT and one re-runs (``retry_conflicts``).

    Why: DuckLake lets two transactions that only INSERT into a table both commit, even when their rows
    collide by key (there are no unique constraints); a writer that must see every earlier writer's rows
    (new symbol ids, default rows added once) holds this lock. The row must exist before the
    transaction began (:func:`prepare_write_lock`), or two first writers would both insert it."""
    con.execute(load_sql("update_lake_write_lock", domain="storage"), {"name": name})


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception (including KeyboardInterrupt)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _window_filter(window_column: str, start: Bound, end: Bound, extra_filter: str,
                   extra_params: Sequence) -> tuple[str, list]:
    """The ``WHERE start <= window_column < end <extra_filter>`` clause and its bound parameters."""
    column = quote_ident(window_column)
    return (f"WHERE {column} >= ? AND {column} < ? {extra_filter}",
            [_as_ts(start), _as_ts(end), *extra_params])


def delete_window(con: duckdb.DuckDBPyConnection, table: str, window_column: str, start: Bound, end: Bound,
                  extra_filter: str = "", extra_params: Sequence = ()) -> int:
    """DELETE the rows with ``start <= window_column < end`` (call inside ``transaction``); returns the count.

    Runs the test hooks: ``PAUSE_ENV`` sleeps after the delete, ``FAIL_ENV`` raises for a named table.
    """
    ensure_table(con, table)
    where, params = _window_filter(window_column, start, end, extra_filter, extra_params)
    # DuckDB's DELETE returns the number of rows it removed (no separate count scan)
    n = con.execute(f"DELETE FROM {quote_ident(table)} {where}", params).fetchall()[0][0]
    pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
    if pause > 0:
        marker = os.environ.get(PAUSE_MARKER_ENV)
        if marker:
            with open(marker, "a") as f:
                f.write(f"{table} {os.getpid()}\n")
        time.sleep(pause)
    if os.environ.get(FAIL_ENV) == table:
        raise InjectedWriteFailure(f"injected failure while writing {table}")
    return int(n)


def count_window(con: duckdb.DuckDBPyConnection, table: str, window_column: str, start: Bound, end: Bound,
                 extra_filter: str = "", extra_params: Sequence = ()) -> int:
    """Number of rows with ``start <= window_column < end`` (and ``extra_filter``)."""
    where, params = _window_filter(window_column, start, end, extra_filter, extra_params)
    return int(con.execute(f"SELECT count(*) FROM {quote_ident(table)} {where}", params).fetchall()[0][0])


@dataclass(frozen=True)
class WriteResult:
    """Outcome of one partition replace: rows removed and rows now stored for the window."""

    table: str
    deleted: int
    inserted: int
    #: commits lost to concurrent writers and retried (DuckLake; always 0 on a DuckDB file)
    retries: int = 0


def _as_ts(value: Bound) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time())


def _replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    insert_sql: str | None,
    params: Sequence | dict | None = None,
    window: tuple[str, Bound, Bound] | None = None,
    extra_delete_filter: str = "",
    extra_delete_params: Sequence = (),
) -> WriteResult:
    """DELETE the window ``(column, start, end)`` of ``table`` (all rows when ``window`` is None),
    then run ``insert_sql`` (nothing when None). Call inside ``transaction``: the writers below do."""
    if window is None:
        before = con.execute(f"DELETE FROM {quote_ident(table)}").fetchall()[0][0]
        if os.environ.get(FAIL_ENV) == table:
            raise InjectedWriteFailure(f"injected failure while writing {table}")
    else:
        before = delete_window(con, table, *window, extra_delete_filter, extra_delete_params)
    # INSERT returns its row count (no separate count scan)
    inserted = con.execute(insert_sql, params if params is not None else []).fetchall()[0][0] if insert_sql else 0
    if window is not None:
        # every inserted row must lie in the replaced window, or a later replace of another window
        # would duplicate it: checked, and the caller's transaction rolled back
        after = count_window(con, table, *window, extra_delete_filter, extra_delete_params)
        if after != inserted:
            column, start, end = window
            raise ValueError(f"{table}: {inserted - after} of {inserted} inserted rows fall outside the "
                             f"window [{start}, {end}) of {column} being replaced; nothing was written")
    return WriteResult(table=table, deleted=int(before), inserted=int(inserted))


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame] | None) -> Iterator[None]:
    """pandas DataFrames visible to SQL under their key for the duration of the block."""
    frames = frames or {}
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)


def replace_window(
    con: duckdb.DuckDBPyConnection,
    table: str,
    window_column: str,
    start: Bound,
    end: Bound,
    insert_sql: str,
    params: Sequence | dict | None = None,
    frames: dict[str, pd.DataFrame] | None = None,
    extra_delete_filter: str = "",
    extra_delete_params: Sequence = (),
) -> WriteResult:
    """Replace the rows of ``table`` with ``start <= window_column < end`` in ONE transaction.

    ``insert_sql`` is a full ``INSERT INTO <table> BY NAME SELECT ...`` statement (usually a file
    from ``sql/``) taking ``params``; ``frames`` are pandas DataFrames registered as views under
    their key for the statement to read. ``extra_delete_filter`` narrows the DELETE (e.g.
    ``AND dataset = ?`` for the shared ``rejected_rows`` table). Rows inserted outside the window
    roll the write back. The window bounds are bound as parameters, never formatted into SQL.
    """
    with _registered(con, frames):
        result, retries = retry_conflicts(
            con, lambda: _replace_rows(con, table, insert_sql, params, (window_column, start, end),
                                       extra_delete_filter, extra_delete_params), what=f"replace {table}")
    return _with_retries(result, retries)


def _with_retries(result: WriteResult, retries: int) -> WriteResult:
    return result if not retries else WriteResult(result.table, result.deleted, result.inserted, retries)


def replace_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    insert_sql: str,
    params: Sequence | dict | None = None,
    frames: dict[str, pd.DataFrame] | None = None,
) -> WriteResult:
    """Replace all rows of an unpartitioned ``table`` in one transaction (see ``replace_window``)."""
    ensure_table(con, table)
    with _registered(con, frames):
        result, retries = retry_conflicts(con, lambda: _replace_rows(con, table, insert_sql, params),
                                          what=f"replace {table}")
    return _with_retries(result, retries)


def _insert_frame_sql(table: str, view: str) -> str:
    return f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM {quote_ident(view)}"


def insert_frame(con, table: str, frame: pd.DataFrame) -> None:
    """Insert the rows of ``frame`` into ``table`` by column name (nothing for an empty frame)."""
    if len(frame):
        with _registered(con, {"incoming_frame": frame}):
            con.execute(_insert_frame_sql(table, "incoming_frame"))


def replace_tables(con, writes: list[tuple[str, pd.DataFrame]], window: tuple | None = None,
                   window_column: str = "week_start") -> dict[str, WriteResult]:
    """Replace the ``[start, end)`` window of ``window_column`` (or whole tables) of several tables, by
    column name, in ONE transaction: a failure leaves every table as it was."""
    for table, _ in writes:
        ensure_table(con, table)
    # an empty frame inserts nothing (and is not registered: it may lack the table's columns)
    views = {f"incoming_{i}": frame for i, (_, frame) in enumerate(writes) if len(frame)}

    def body() -> dict[str, WriteResult]:
        out = {}
        for i, (table, _) in enumerate(writes):
            sql = _insert_frame_sql(table, f"incoming_{i}") if f"incoming_{i}" in views else None
            out[table] = _replace_rows(con, table, sql, window=None if window is None else (window_column, *window))
        return out

    with _registered(con, views):
        out, retries = retry_conflicts(con, body, what="replace " + ", ".join(t for t, _ in writes))
    return {table: _with_retries(result, retries) for table, result in out.items()}


def replace_frame(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    window_column: str | None = None,
    start: Bound | None = None,
    end: Bound | None = None,
) -> WriteResult:
    """Store a DataFrame computed in Python (numerics results) into ``table``, by column name.

    With ``window_column``/``start``/``end`` only that window is replaced, else the whole table.
    """
    sql = _insert_frame_sql(table, "incoming_frame")
    if window_column is None:
        return replace_table(con, table, sql, frames={"incoming_frame": frame})
    return replace_window(con, table, window_column, start, end, sql, frames={"incoming_frame": frame})


def table_preview_markdown(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence = (), limit: int = 10) -> str:
    """A markdown table of the first ``limit`` rows of a query, for asset metadata.

    ``sql`` is a query written in code (its identifiers quoted, its values in ``params``); the
    limit is bound too."""
    if isinstance(params, Mapping):
        frame = con.execute(f"SELECT * FROM ({sql}) LIMIT $preview_limit",
                            {**params, "preview_limit": int(limit)}).df()
    else:
        frame = con.execute(f"SELECT * FROM ({sql}) LIMIT ?", [*params, int(limit)]).df()
    return frame_markdown(frame)


def frame_markdown(frame: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """Markdown table of a DataFrame without requiring `tabulate`.

    A ``|`` or line break inside a cell (a table name read from the catalog may hold anything) is
    escaped, so it cannot split the row or start a new one."""
    if frame.empty:
        return "_(no rows)_"
    cols = [_md_cell(str(c)) for c in frame.columns]

    def fmt(v) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return ""
        if isinstance(v, float):
            return format(v, floatfmt)
        return _md_cell(str(v))

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
