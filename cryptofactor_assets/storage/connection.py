"""Opening the DuckDB file: wait for another process's lock instead of failing, fail fast otherwise.

DuckDB lets one process write a file, and a process holding it open (even read-only, e.g. a
researcher's notebook) keeps every other process from writing. dagster-duckdb's ``get_connection``
retries any error silently (~100-200 s of back-off) and then fails with DuckDB's advice for readers.
Here instead:

* a *lock conflict* ("Could not set lock on file ... Conflicting lock is held in <program> (PID n)")
  is waited out for ``wait_seconds`` (env ``CRYPTOFACTOR_LOCK_WAIT_SECONDS``, default 1800), with a
  line logged at least every ``log_every`` seconds naming the holder; the connection is made as soon
  as the holder lets go. When the time runs out, :class:`DuckDBLockTimeout` names the holder and
  says how to read without blocking runs;
* any other error (a bad path, a read-only folder, a corrupt file) is raised at once, naming the file.

No Dagster import: the caller passes a ``log(message)`` callable.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from cryptofactor_assets.storage.identifiers import quote_qualified
from cryptofactor_assets.storage.lake import WarehouseSpec, open_lake, sql_string

T = TypeVar("T")

LOCK_WAIT_ENV = "CRYPTOFACTOR_LOCK_WAIT_SECONDS"
DEFAULT_LOCK_WAIT_SECONDS = 1800.0
#: How to read without blocking a run (quoted in the timeout error and the README).
READER_ADVICE = ("read with short-lived connections (`cryptofactor sql \"<query>\"`) or from a snapshot "
                 "(`cryptofactor snapshot`, then open the snapshot file), never by holding the file open")

_PID = re.compile(r"PID (\d+)")
_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


class DuckDBLockTimeout(RuntimeError):
    """Another process held the DuckDB file's lock for longer than the configured wait."""

    def __init__(self, path: str, holder: str, waited: float):
        self.path, self.holder, self.waited = path, holder, waited
        super().__init__(f"DuckDB file {path} is locked by {holder}; waited {waited:.0f} s "
                         f"(set {LOCK_WAIT_ENV} to wait longer). Readers: {READER_ADVICE}")


class DuckDBOpenError(RuntimeError):
    """The DuckDB file cannot be opened for a reason other than another process's lock."""


def is_lock_conflict(exc: BaseException) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def lock_holder(exc: BaseException) -> str:
    """``PID 1234 (/usr/bin/python3 notebook.py)`` from DuckDB's lock error (the command line when /proc has it)."""
    text = str(exc)
    m = _HOLDER.search(text)
    pid = m.group(2) if m else (_PID.search(text).group(1) if _PID.search(text) else None)
    if pid is None:
        return "another process"
    program = m.group(1) if m else ""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmdline = ""
    cmdline = " ".join(cmdline.split())
    cmdline = cmdline[:117] + "..." if len(cmdline) > 120 else cmdline
    return f"PID {pid} ({cmdline or program or 'unknown program'})"


def lock_wait_seconds() -> float:
    value = os.environ.get(LOCK_WAIT_ENV)
    if value is None or not value.strip():
        return DEFAULT_LOCK_WAIT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{LOCK_WAIT_ENV}={value!r} is not a number of seconds") from None
    if seconds < 0:
        raise ValueError(f"{LOCK_WAIT_ENV}={value!r} must be >= 0")
    return seconds


def open_duckdb(
    path: str,
    *,
    read_only: bool = False,
    config: dict | None = None,
    wait_seconds: float | None = None,
    log: Callable[[str], None] = print,
    log_every: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect(path)``, waiting out another process's lock (see the module docstring)."""
    mode = "read-only" if read_only else "read-write"
    return with_lock_wait(lambda: duckdb.connect(path, read_only=read_only, config=config or {}), path, mode,
                          wait_seconds=wait_seconds, log=log, log_every=log_every, sleep=sleep, clock=clock)


def open_warehouse(
    spec: WarehouseSpec,
    *,
    read_only: bool = False,
    config: dict | None = None,
    wait_seconds: float | None = None,
    snapshot: int | None = None,
    log: Callable[[str], None] = print,
) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse ``spec`` names: the DuckDB file (waiting out another process's lock,
    :func:`open_duckdb`) or the DuckLake attached as ``lake`` (no file lock: readers never block writers;
    ``snapshot``: that DuckLake snapshot, read-only)."""
    if spec.is_lake:
        return open_lake(spec, read_only=read_only, snapshot=snapshot, config=config)
    if snapshot is not None:
        raise ValueError(f"{spec.label} is a DuckDB file: snapshots (time travel) need a DuckLake warehouse")
    return open_duckdb(spec.target, read_only=read_only, config=config, wait_seconds=wait_seconds, log=log)


def with_lock_wait(
    fn: Callable[[], T],
    path: str,
    mode: str = "read-write",
    *,
    wait_seconds: float | None = None,
    log: Callable[[str], None] = print,
    log_every: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``fn()`` (which opens or attaches ``path``), retried while another process holds the file's lock."""
    wait = lock_wait_seconds() if wait_seconds is None else wait_seconds
    started = clock()
    last_log = None
    poll = 0.05
    while True:
        try:
            return fn()
        except duckdb.Error as exc:
            if not is_lock_conflict(exc):
                raise DuckDBOpenError(f"cannot open DuckDB file {path} ({mode}): {exc}") from None
            waited = clock() - started
            holder = lock_holder(exc)
            if waited >= wait:
                raise DuckDBLockTimeout(path, holder, waited) from None
            if last_log is None or clock() - last_log >= log_every:
                log(f"waiting for the DuckDB lock on {path}: held by {holder}; waited {waited:.0f} s "
                    f"of {wait:.0f} s (readers: {READER_ADVICE})")
                last_log = clock()
            sleep(min(poll, max(0.0, wait - waited)))
            poll = min(poll * 2, 1.0)  # a released lock is taken within a second


def write_snapshot(path: str, out: str, *, wait_seconds: float | None = None,
                   log: Callable[[str], None] = print) -> dict[str, int]:
    """Copy every table of ``path`` into a new DuckDB file ``out`` (replaced atomically), reading ``path``
    read-only for the duration of the copy only. Returns rows per table.

    Notebooks open the snapshot as long as they like: it is another file, so no run ever waits for them.
    """
    tmp = f"{out}.tmp-{os.getpid()}"
    for leftover in (tmp, f"{tmp}.wal"):
        if os.path.exists(leftover):
            os.remove(leftover)
    con = duckdb.connect(":memory:")
    try:
        with_lock_wait(lambda: con.execute(f"ATTACH {sql_string(path)} AS source_db (READ_ONLY)"), path,
                       "read-only", wait_seconds=wait_seconds, log=log)
        con.execute(f"ATTACH {sql_string(tmp)} AS snapshot_db")
        con.execute("COPY FROM DATABASE source_db TO snapshot_db")
        con.execute("DETACH source_db")  # the source's lock is released here, before any counting
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'snapshot_db' ORDER BY 1").fetchall()]
        counts = {}
        for name in names:
            table = quote_qualified("snapshot_db", "main", name)
            counts[name] = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        con.execute("DETACH snapshot_db")
    except BaseException:
        con.close()
        for leftover in (tmp, f"{tmp}.wal"):
            if os.path.exists(leftover):
                os.remove(leftover)
        raise
    con.close()
    os.replace(tmp, out)
    return counts
