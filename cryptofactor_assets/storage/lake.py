"""The warehouse behind the storage layer: one DuckDB file (default) or a DuckLake.

A *warehouse* is named by one string (``CRYPTOFACTOR_WAREHOUSE``):

* ``duckdb:<file>`` (or a bare path): today's single DuckDB file, one writing process at a time;
* ``ducklake:postgres:<libpq dsn>``: a DuckLake whose catalog lives in PostgreSQL (many DuckDB
  clients on many hosts read and write it with snapshot isolation), data as Parquet files under the
  data path (``CRYPTOFACTOR_LAKE_DATA_PATH``: a shared folder, or object storage);
* ``ducklake:sqlite:<file>``: the same with a SQLite catalog file (one host; tests, laptops).

Every asset runs the same ``sql/`` files on both: a DuckLake connection is an in-memory DuckDB
that ATTACHes the lake as ``lake`` and ``USE``s it, so unqualified table names resolve there and
``CREATE TEMP TABLE`` staging stays local to the process.

DuckLake ships for DuckDB 1.5.5 as Python packages (the ``lake`` extra): the extension files are
loaded from the installed packages with ``INSTALL '<path>'`` into a private extension folder, never
downloaded at run time (no internet is assumed).

Concurrency: two DuckLake transactions that delete from (or insert into a table deleted from by)
the same table conflict at COMMIT ("Transaction conflict ... another transaction has deleted from
it"), whatever rows they touch. :func:`is_commit_conflict` recognises that error; the writers retry
the whole delete + insert (``storage.warehouse.retry_conflicts``), never keeping half of it.
On a SQLite catalog ANY two write transactions that overlap in time conflict (SQLite refuses the
second commit: "database is locked"), so there writers also take turns: :func:`commit_turn` holds an
advisory file lock beside the catalog from BEGIN to COMMIT, and a redo (the Parquet files written
again) becomes a short wait. A PostgreSQL catalog needs no turn: DuckLake re-commits transactions
that only insert by itself.

No Dagster import.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from cryptofactor_assets.storage.identifiers import quote_ident

#: The catalog alias of an attached DuckLake (``lake.current_snapshot()``, ``lake.snapshots()``).
LAKE_ALIAS = "lake"
_LAKE = quote_ident(LAKE_ALIAS)  # as it goes into SQL
#: Catalog databases a DuckLake can use here, and the extension each needs (package, file, name).
CATALOG_EXTENSIONS = {
    "postgres": ("duckdb_extension_postgres", "postgres", "postgres_scanner"),
    "sqlite": ("duckdb_extension_sqlite", "sqlite", "sqlite_scanner"),
}
DUCKLAKE_EXTENSION = ("duckdb_extension_ducklake", "ducklake", "ducklake")
#: The DuckDB release the DuckLake packages are built for (the ``lake`` extra pins it).
LAKE_DUCKDB_VERSION = "1.5.5"
#: How to get the extensions (quoted in the error when they are missing).
LAKE_INSTALL_ADVICE = ("pip install -e '.[lake]' (pins duckdb==1.5.5 and installs duckdb-extension-ducklake, "
                       "-postgres and -sqlite); `make lake-demo` does it in .venv-lake")

_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)
_URI_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")


class LakeUnavailable(RuntimeError):
    """The DuckLake extensions are not installed for this DuckDB (or this DuckDB is the wrong version)."""


@dataclass(frozen=True)
class WarehouseSpec:
    """Where the tables live: ``kind`` 'duckdb' (``target`` = file) or 'ducklake' (``catalog`` 'postgres' /
    'sqlite', ``target`` = its dsn / file, Parquet under ``data_path``)."""

    kind: str
    target: str
    catalog: str | None = None
    data_path: str | None = None

    @property
    def is_lake(self) -> bool:
        return self.kind == "ducklake"

    @property
    def attach_string(self) -> str:
        """The ATTACH path: ``ducklake:<catalog>:<target>``."""
        return f"ducklake:{self.catalog}:{self.target}"

    @property
    def label(self) -> str:
        """A printable name with any password removed (logs, metadata, errors)."""
        if not self.is_lake:
            return self.target
        return f"ducklake:{self.catalog}:{redact(self.target)} (data {self.data_path})"


def redact(text: str) -> str:
    """``text`` with libpq ``password=...`` values and URI passwords replaced by ``***``."""
    return _URI_PASSWORD.sub(r"\1***\3", _PASSWORD.sub(r"\1***", text))


def parse_warehouse(text: str | None, *, duckdb_file: str, data_path: str | None = None) -> WarehouseSpec:
    """The warehouse a setting names (see the module docstring); empty: the DuckDB file ``duckdb_file``.

    A DuckLake needs a data path: ``data_path`` (``CRYPTOFACTOR_LAKE_DATA_PATH``), else
    ``<folder of duckdb_file>/lake/``.
    """
    text = (text or "").strip()
    if not text:
        return WarehouseSpec("duckdb", duckdb_file)
    if text.startswith("duckdb:"):
        path = text[len("duckdb:"):].strip()
        if not path:
            raise ValueError("CRYPTOFACTOR_WAREHOUSE=duckdb: needs a file, e.g. duckdb:data/cryptofactor.duckdb")
        return WarehouseSpec("duckdb", path)
    if text.startswith("ducklake:"):
        rest = text[len("ducklake:"):]
        catalog, _, target = rest.partition(":")
        if catalog not in CATALOG_EXTENSIONS:
            raise ValueError(f"CRYPTOFACTOR_WAREHOUSE={redact(text)!r}: the catalog must be ducklake:postgres:<dsn> "
                             f"or ducklake:sqlite:<file>")
        if not target.strip():
            raise ValueError(f"CRYPTOFACTOR_WAREHOUSE=ducklake:{catalog}: needs the catalog's "
                             + ("dsn, e.g. ducklake:postgres:dbname=lake host=localhost" if catalog == "postgres"
                                else "file, e.g. ducklake:sqlite:data/lake.sqlite"))
        folder = os.path.dirname(duckdb_file) or "."
        data = (data_path or "").strip() or os.path.join(folder, "lake", "")
        if "://" not in data:
            data = os.path.join(os.path.abspath(data), "")  # the catalog stores it: absolute, so every client agrees
        return WarehouseSpec("ducklake", target.strip(), catalog=catalog, data_path=data)
    if ":" in text.split("/")[0] and not text.startswith("md:"):
        raise ValueError(f"CRYPTOFACTOR_WAREHOUSE={redact(text)!r}: use duckdb:<file>, ducklake:postgres:<dsn> "
                         f"or ducklake:sqlite:<file>")
    return WarehouseSpec("duckdb", text)


def _extension_file(package: str, stem: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LakeUnavailable(f"the DuckLake warehouse needs the Python package {package.replace('_', '-')} "
                              f"({LAKE_INSTALL_ADVICE})")
    version = f"v{duckdb.__version__}"
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob(f"{stem}.duckdb_extension"))
        for path in found:
            if path.parent.name == version:
                return path
        if found:
            raise LakeUnavailable(f"{package.replace('_', '-')} has {found[0].parent.name}, but this DuckDB is "
                                  f"{duckdb.__version__}: DuckLake extensions exist for DuckDB {LAKE_DUCKDB_VERSION} "
                                  f"({LAKE_INSTALL_ADVICE})")
    raise LakeUnavailable(f"no {stem}.duckdb_extension in {package} ({LAKE_INSTALL_ADVICE})")


def lake_available(catalog: str = "sqlite") -> bool:
    """Whether DuckLake and ``catalog``'s extension are installed for this DuckDB (tests skip otherwise)."""
    try:
        _extension_file(*DUCKLAKE_EXTENSION[:2])
        _extension_file(*CATALOG_EXTENSIONS[catalog][:2])
    except LakeUnavailable:
        return False
    return True


def extension_directory() -> str:
    """Where INSTALL copies the packaged extension files: beside the interpreter's environment when it is
    writable (``<venv>/share/cryptofactor/duckdb_extensions``), else a per-user temporary folder."""
    for folder in (Path(sys.prefix) / "share" / "cryptofactor" / "duckdb_extensions",
                   Path(tempfile.gettempdir()) / f"cryptofactor-duckdb-extensions-{os.getuid()}"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return str(folder)
    raise LakeUnavailable("no writable folder for the DuckDB extension files")


def sql_string(value: str) -> str:
    """A SQL string literal (ATTACH and INSTALL take no bound parameters): single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def load_lake_extensions(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    """INSTALL (from the packaged file, idempotent) and LOAD ducklake and ``catalog``'s extension.

    Under an ``flock`` of the extension folder: on a fresh environment two processes installing at once
    raced (one saw the extension "installed" and LOADed it while the other was still writing the file:
    'Extension ... not found', seen once in a fresh clone's `make test-lake`).
    """
    import fcntl

    fd = os.open(os.path.join(extension_directory(), ".install-lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for package, stem, name in (DUCKLAKE_EXTENSION, CATALOG_EXTENSIONS[catalog]):
            path = _extension_file(package, stem)
            installed = con.execute("SELECT installed FROM duckdb_extensions() WHERE extension_name = ?",
                                    [name]).fetchall()
            if not (installed and installed[0][0]):
                con.execute(f"INSTALL {sql_string(str(path))}")
            con.execute(f"LOAD {name}")
    finally:
        os.close(fd)  # releases the lock


#: ``0`` turns off the shared per-process lake instance (:func:`open_lake`): every connection then loads the
#: extensions and attaches the catalog itself, as before.
SHARED_INSTANCE_ENV = "CRYPTOFACTOR_LAKE_SHARED_INSTANCE"
#: Lakes kept attached per process (a process normally writes one; the tests open many, one per test).
_SHARED_MAX = 4
_SHARED: dict[tuple, tuple[duckdb.DuckDBPyConnection, str]] = {}  # key -> (instance, its lake's birth)
_SHARED_LOCK = threading.Lock()


def open_lake(
    spec: WarehouseSpec, *, read_only: bool = False, snapshot: int | None = None, config: dict | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the DuckLake ``spec`` attached as ``lake`` and in use.

    A writing connection (neither ``read_only`` nor ``snapshot``) is a cursor of ONE in-memory DuckDB per
    process and lake that has loaded the extensions and attached the catalog once: a run opened the lake
    per asset, and loading the extensions and attaching took 0.17-0.24 s each time (16 opens, 2.75 s, of
    a week's daily + weekly run on 500 coins). A cursor is a connection of its own (its transaction,
    ``USE``, TEMP tables and registered frames are its own; closing it rolls back what it left open and
    drops its TEMP tables); the instance's settings (threads, memory) are shared. A cached instance that no
    longer reaches the lake it attached (a SQLite file deleted, a PostgreSQL database dropped, another lake
    made in their place) is replaced by a fresh one. ``CRYPTOFACTOR_LAKE_SHARED_INSTANCE=0``: no sharing.

    ``snapshot``: attach that DuckLake snapshot (read-only), for reproducing a result from the exact
    data version. Readers get a fresh instance (and close it whole). The ATTACH is retried a few times:
    clients attaching a new catalog at the same moment race to create its metadata tables.
    """
    if not spec.is_lake:
        raise ValueError(f"{spec.label} is not a DuckLake")
    if read_only or snapshot is not None or os.environ.get(SHARED_INSTANCE_ENV, "1").strip() == "0":
        return _attach_lake(spec, read_only, snapshot, config)
    with _SHARED_LOCK:
        key = (os.getpid(), spec.catalog, spec.attach_string, spec.data_path,  # DuckDB is not fork-safe
               tuple(sorted((str(k), str(v)) for k, v in (config or {}).items())))
        if key in _SHARED:
            cursor = _usable_cursor(*_SHARED[key])
            if cursor is not None:
                return cursor
            _close_quietly(_SHARED.pop(key)[0])
        base = _attach_lake(spec, False, None, config)
        while len(_SHARED) >= _SHARED_MAX:  # the oldest lake of this process: not in use any more
            _close_quietly(_SHARED.pop(next(iter(_SHARED)))[0])
        _SHARED[key] = (base, _lake_birth(base))
        cursor = base.cursor()
        cursor.execute(f"USE {_LAKE}")
        return cursor


def _lake_birth(con: duckdb.DuckDBPyConnection) -> str:
    """When the attached lake was created (its first snapshot's time): a lake dropped and made anew in the
    same place (a SQLite file deleted, a PostgreSQL database re-created) is born later."""
    return str(con.execute(f"SELECT min(snapshot_time) FROM {_LAKE}.snapshots()").fetchall()[0][0])


def _usable_cursor(base: duckdb.DuckDBPyConnection, birth: str) -> duckdb.DuckDBPyConnection | None:
    """A new cursor of a cached lake instance, in the lake; None when the instance no longer reaches the
    lake it attached: the catalog is gone (``USE`` fails), or another lake is in its place. The instance
    must not write to another lake: it keeps the attached lake's state (tested: its next write to a lake
    made anew lost that lake's rows)."""
    try:
        cursor = base.cursor()
    except duckdb.Error:
        return None
    try:
        cursor.execute(f"USE {_LAKE}")
        if _lake_birth(cursor) == birth:
            return cursor
    except duckdb.Error:
        pass
    _close_quietly(cursor)
    return None


def _close_quietly(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.close()
    except duckdb.Error:
        pass


def close_shared_lakes() -> None:
    """Close this process's shared lake instances (their cursors stop working)."""
    with _SHARED_LOCK:
        while _SHARED:
            _close_quietly(_SHARED.pop(next(iter(_SHARED)))[0])


#: ATTACH attempts: clients attaching a new catalog at the same moment race to create its metadata tables.
ATTACH_ATTEMPTS = 5


def _attach_lake(spec: WarehouseSpec, read_only: bool = False, snapshot: int | None = None,
                 config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB with the extensions loaded and the lake attached and in use."""
    settings = {"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                "extension_directory": extension_directory(), **(config or {})}
    con = duckdb.connect(":memory:", config=settings)
    try:
        load_lake_extensions(con, spec.catalog)
        options = [f"DATA_PATH {sql_string(spec.data_path)}"] if spec.data_path else []
        if snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
        if read_only or snapshot is not None:
            options.append("READ_ONLY")
        if spec.catalog == "sqlite":
            Path(spec.target).parent.mkdir(parents=True, exist_ok=True)
            sqlite_wal(spec.target)
        if spec.data_path and "://" not in spec.data_path:
            Path(spec.data_path).mkdir(parents=True, exist_ok=True)
        attach = (f"ATTACH {sql_string(spec.attach_string)} AS {_LAKE}"
                  + (f" ({', '.join(options)})" if options else ""))
        for attempt in range(ATTACH_ATTEMPTS):
            try:
                con.execute(attach)
                break
            except duckdb.Error as exc:
                if attempt == ATTACH_ATTEMPTS - 1 or snapshot is not None:
                    raise RuntimeError(f"cannot attach the DuckLake {spec.label}: "
                                       f"{redact(' '.join(str(exc).split()))}") from None
                time.sleep(0.2 * (attempt + 1))
        con.execute(f"USE {_LAKE}")
    except BaseException:
        con.close()
        raise
    return con


def sqlite_wal(path: str) -> None:
    """Put a SQLite catalog file in WAL mode (persistent; created empty when missing, DuckLake fills it).

    In SQLite's default rollback-journal mode a reader holding a DuckLake transaction open keeps a shared
    lock on the catalog, so every writer's COMMIT waits for it (indefinitely): readers would block runs.
    In WAL mode readers keep their snapshot and writers commit. Best effort: a catalog another client is
    switching at the same moment is left to it."""
    import sqlite3

    try:
        con = sqlite3.connect(path, timeout=30)
        try:
            if str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                con.execute("PRAGMA journal_mode=WAL")
        finally:
            con.close()
    except sqlite3.Error:
        pass


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int | None:
    """The latest DuckLake snapshot id the connection sees (None on a plain DuckDB file)."""
    if not is_lake_connection(con):
        return None
    return int(con.execute(f"SELECT id FROM {_LAKE}.current_snapshot()").fetchall()[0][0])


def is_lake_connection(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con`` works in an attached DuckLake (its current database is ``lake``)."""
    return con.execute("SELECT current_database()").fetchall()[0][0] == LAKE_ALIAS


def is_commit_conflict(exc: BaseException) -> bool:
    """A DuckLake write-write conflict at COMMIT (the other transaction won; retrying is safe), a SQLite
    catalog busy with another writer's commit ("Failed to flush changes into DuckLake: database is locked":
    the catalog transaction never happened, so retrying is safe too), or a catalog read racing a concurrent
    CREATE of the same table."""
    text = str(exc)
    return ("Transaction conflict" in text or "transaction conflict" in text
            or ("DuckLake" in text and "database is locked" in text)
            # a catalog read racing another process's CREATE TABLE of the same table (seen on a fresh SQLite
            # catalog: 'Table entry "t" does not have any columns'); nothing was committed, the retry reads it whole
            or ("Failed to load DuckLake" in text and "does not have any columns" in text))


#: How long a writer waits for its commit turn on a SQLite catalog before committing anyway (seconds).
COMMIT_TURN_WAIT_ENV = "CRYPTOFACTOR_LAKE_COMMIT_TURN_WAIT"
# per thread: a flock on a second file handle would wait for this process's own first one
_TURN = threading.local()


def sqlite_catalog_path(con: duckdb.DuckDBPyConnection) -> str | None:
    """The catalog file of the DuckLake ``con`` has attached, when it is a SQLite one (else None)."""
    rows = con.execute("SELECT type, path FROM duckdb_databases() WHERE database_name = ?", [LAKE_ALIAS]).fetchall()
    if not rows or rows[0][0] != "ducklake" or not str(rows[0][1] or "").startswith("sqlite:"):
        return None
    return str(rows[0][1])[len("sqlite:"):]


@contextmanager
def commit_turn(con: duckdb.DuckDBPyConnection, *, wait: float | None = None,
                poll: float = 0.02) -> Iterator[float]:
    """Hold the writers' turn of a SQLite-catalog DuckLake while the block runs (no-op elsewhere); yields
    the seconds waited for it.

    An exclusive ``flock`` on ``<catalog>.commit-lock``: the kernel releases it when the holder's file is
    closed, so a killed writer never blocks the next one. It is an optimisation, not the guarantee:
    snapshot isolation and the commit-conflict retry keep writes whole without it, so a writer that waited
    ``wait`` seconds (``CRYPTOFACTOR_LAKE_COMMIT_TURN_WAIT``, default 600) goes ahead without the turn.
    """
    path = sqlite_catalog_path(con)
    if path is None or getattr(_TURN, "depth", 0):  # a nested write inside the turn: already held
        yield 0.0
        return
    import fcntl

    limit = float(os.environ.get(COMMIT_TURN_WAIT_ENV, "600")) if wait is None else wait
    fd = os.open(path + ".commit-lock", os.O_RDWR | os.O_CREAT, 0o644)
    t0 = time.monotonic()
    held = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
                break
            except BlockingIOError:
                if time.monotonic() - t0 >= limit:
                    break
                time.sleep(poll)
        _TURN.depth = 1
        # the other writers wait for this turn: the holder may use every core (a run limited to fewer
        # threads, CRYPTOFACTOR_DUCKDB_THREADS, shares the machine with them outside the turn)
        threads, cores = 0, os.cpu_count() or 1
        if held:
            threads = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
        widen = threads < cores and held
        if widen:
            con.execute(f"SET threads = {int(cores)}")  # an int: SET takes no bound parameter
        try:
            yield time.monotonic() - t0
        finally:
            if widen:
                con.execute(f"SET threads = {int(threads)}")
    finally:
        _TURN.depth = 0
        if held:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
