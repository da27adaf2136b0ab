"""Warehouse backends for the tests: a plain DuckDB file, and DuckLakes with a SQLite or PostgreSQL catalog.

``warehouse`` is parametrized over the three backends (``lake_warehouse`` over the two DuckLakes): the
DuckDB file always runs; the DuckLake cases run only where the DuckLake extensions are installed for
this DuckDB (``.venv-lake``, ``make test-lake``) and are marked ``lake``; the PostgreSQL case also
needs the server binaries (``.ci/install_postgres.sh``) and psycopg2. Otherwise each case is skipped
with the reason.

``postgres_server`` starts ONE real PostgreSQL server per test session (per xdist worker): initdb into a
temporary folder, run as the unprivileged ``postgres`` user when the tests run as root, a free localhost
port, password auth. ``test_ops_postgres`` (Dagster's instance storage) and the DuckLake catalogs use
it; each DuckLake test gets a fresh database in it.

Registered in ``conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pytest

#: How to get the DuckLake cases to run (quoted in their skip reason).
LAKE_ADVICE = "make test-lake (pip install -e '.[test,lake]' in .venv-lake)"
BACKENDS = ("duckdb", "ducklake_sqlite", "ducklake_postgres")


# --- a real PostgreSQL server -------------------------------------------------------------------------

def postgres_unavailable() -> str | None:
    """Why a PostgreSQL server cannot be started here (None: it can)."""
    from cryptofactor_assets.ops.local_postgres import server_binary

    if server_binary("pg_ctl") is None or server_binary("initdb") is None:
        return "PostgreSQL server binaries not found (run .ci/install_postgres.sh)"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root without runuser: cannot start postgres as an unprivileged user"
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "no `postgres` system user to run the server as"
    return None


@dataclass(frozen=True)
class PostgresServer:
    """The session's server (``cryptofactor_assets.ops.local_postgres``, the one `make lake-demo` starts)."""

    host: str
    port: int
    user: str
    password: str
    _local: object = field(repr=False, default=None)

    def create_database(self, name: str) -> None:
        from cryptofactor_assets.ops.local_postgres import create_database

        create_database(self._local, name, fresh=True)

    def drop_database(self, name: str) -> None:
        env = {**os.environ, "PGPASSWORD": self.password}
        from cryptofactor_assets.ops.local_postgres import server_binary

        subprocess.run([server_binary("psql"), "-h", self.host, "-p", str(self.port), "-U", self.user, "-d",
                        "postgres", "-tAc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], env=env,
                       capture_output=True, timeout=60)

    def dsn(self, dbname: str) -> str:
        """A libpq key/value dsn (DuckLake's ``ducklake:postgres:<dsn>``), password included (a test server)."""
        return f"dbname={dbname} host={self.host} port={self.port} user={self.user} password={self.password}"


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL server for the session (skipped when it cannot be started): initdb into a
    temporary folder, a free localhost port, password auth, run as the `postgres` account when root."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    from cryptofactor_assets.ops.local_postgres import start_server, stop_server

    # Not under pytest's tmp_path: its parents are root-only (0700) and the server user must enter.
    folder = Path(tempfile.mkdtemp(prefix="cf_pg_", dir="/tmp"))
    try:
        local = start_server(folder)
        yield PostgresServer(local.host, local.port, local.user, local.password, local)
    finally:
        stop_server(folder)
        shutil.rmtree(folder, ignore_errors=True)


# --- warehouses ---------------------------------------------------------------------------------------

@dataclass
class Warehouse:
    """One test warehouse: ``setting`` is its ``CRYPTOFACTOR_WAREHOUSE`` value (``duckdb:<file>`` or
    ``ducklake:...``), Parquet under ``data_path`` for a DuckLake."""

    backend: str
    setting: str
    duckdb_file: str
    data_path: str = ""
    _open: list = field(default_factory=list, repr=False)

    @property
    def spec(self):
        from cryptofactor_assets.storage.lake import parse_warehouse

        return parse_warehouse(self.setting, duckdb_file=self.duckdb_file, data_path=self.data_path or None)

    @property
    def is_lake(self) -> bool:
        return self.backend != "duckdb"

    def env(self) -> dict[str, str]:
        """The environment a subprocess (the CLI, a worker) needs to use this warehouse."""
        return {"CRYPTOFACTOR_WAREHOUSE": self.setting, "CRYPTOFACTOR_LAKE_DATA_PATH": self.data_path,
                "CRYPTOFACTOR_DUCKDB": self.duckdb_file}

    def connect(self, **kwargs) -> duckdb.DuckDBPyConnection:
        """A connection (closed at the end of the test at the latest)."""
        from cryptofactor_assets.storage.connection import open_warehouse

        con = open_warehouse(self.spec, **kwargs)
        self._open.append(con)
        return con

    def resource(self, **kwargs):
        """The ``duckdb`` resource of the assets for this warehouse."""
        from cryptofactor_assets.common import WarehouseResource

        return WarehouseResource(database=self.duckdb_file, warehouse=self.setting if self.is_lake else "",
                                 lake_data_path=self.data_path, **kwargs)

    def query(self, sql: str, params=(), snapshot: int | None = None) -> pd.DataFrame:
        """``sql`` on a short-lived read-only connection (``snapshot``: that DuckLake snapshot)."""
        from cryptofactor_assets.storage.connection import open_warehouse

        con = open_warehouse(self.spec, read_only=True, snapshot=snapshot)
        try:
            return con.execute(sql, list(params)).df()
        finally:
            con.close()

    def checksums(self) -> dict:
        from cryptofactor_assets.storage.checksums import table_checksums
        from cryptofactor_assets.storage.connection import open_warehouse

        con = open_warehouse(self.spec, read_only=True)
        try:
            return table_checksums(con)
        finally:
            con.close()

    def load_from(self, duckdb_path: str) -> None:
        """Make this (empty) warehouse hold the tables of the DuckDB file ``duckdb_path`` (the rows
        committed before a test's run)."""
        if not self.is_lake:
            shutil.copy(duckdb_path, self.duckdb_file)
            return
        from cryptofactor_assets.storage.identifiers import quote_ident, quote_qualified
        from cryptofactor_assets.storage.warehouse import ensure_table, transaction

        con = self.connect()
        con.execute(f"ATTACH '{duckdb_path}' AS source_db (READ_ONLY)")
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = "
                                           "'source_db' AND schema_name = 'main' ORDER BY 1").fetchall()]
        for name in names:  # DDL outside the transaction: DuckLake rejects a PRIMARY KEY, aborting a transaction
            ensure_table(con, name)
        with transaction(con):
            for name in names:
                con.execute(f"INSERT INTO {quote_ident(name)} BY NAME SELECT * FROM "
                            f"{quote_qualified('source_db', 'main', name)}")
        con.execute("DETACH source_db")

    def close(self) -> None:
        for con in self._open:
            try:
                con.close()
            except duckdb.Error:
                pass
        self._open.clear()
        if self.is_lake:  # and the process's attached lakes (storage.lake's shared instances)
            from cryptofactor_assets.storage.lake import close_shared_lakes

            close_shared_lakes()


def lake_skip_reason(backend: str) -> str | None:
    """Why the ``backend`` cases cannot run here (None: they can)."""
    if backend == "duckdb":
        return None
    from cryptofactor_assets.storage.lake import lake_available

    catalog = backend.split("_", 1)[1]
    if not lake_available(catalog):
        return (f"DuckLake ({catalog} catalog) not installed for DuckDB {duckdb.__version__}: {LAKE_ADVICE}")
    if catalog == "postgres":
        return postgres_unavailable()
    return None


def make_warehouse(backend: str, tmp_path: Path, request=None) -> Warehouse:
    """A new, empty warehouse of ``backend`` under ``tmp_path`` (a fresh database for PostgreSQL)."""
    reason = lake_skip_reason(backend)
    if reason:
        pytest.skip(reason)
    folder = tmp_path / f"wh_{backend}"
    folder.mkdir(parents=True, exist_ok=True)
    duckdb_file = str(folder / "cryptofactor.duckdb")
    if backend == "duckdb":
        return Warehouse(backend, f"duckdb:{duckdb_file}", duckdb_file)
    data = os.path.join(str(folder / "lake_data"), "")
    if backend == "ducklake_sqlite":
        return Warehouse(backend, f"ducklake:sqlite:{folder / 'catalog.sqlite'}", duckdb_file, data)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"lake_{uuid.uuid4().hex[:12]}"
    server.create_database(name)
    request.addfinalizer(lambda: server.drop_database(name))
    return Warehouse(backend, f"ducklake:postgres:{server.dsn(name)}", duckdb_file, data)


def _backend_params(backends):
    return [pytest.param(b, id=b, marks=[pytest.mark.lake] if b != "duckdb" else []) for b in backends]


@pytest.fixture(params=_backend_params(BACKENDS))
def warehouse(request, tmp_path):
    """An empty warehouse of each backend: the DuckDB file, a SQLite-catalog and a PostgreSQL-catalog DuckLake."""
    wh = make_warehouse(request.param, tmp_path, request)
    yield wh
    wh.close()


@pytest.fixture(params=_backend_params(BACKENDS[1:]))
def lake_warehouse(request, tmp_path):
    """An empty DuckLake of each catalog (SQLite, PostgreSQL)."""
    wh = make_warehouse(request.param, tmp_path, request)
    yield wh
    wh.close()


# --- other processes ----------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def worker_env(wh: Warehouse, extra: dict | None = None) -> dict[str, str]:
    """The environment of a subprocess using ``wh``: an ephemeral Dagster instance, the small market."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update({"CRYPTOFACTOR_SIM_COINS": "12", "PYTHONWARNINGS": "ignore", **wh.env(), **(extra or {})})
    return env


def start_worker(wh: Warehouse, *args: str, env: dict | None = None, stdin=None) -> subprocess.Popen:
    """``python -m cryptofactor_assets_tests.lake_worker <args>`` in the background (stdout piped)."""
    import sys

    return subprocess.Popen([sys.executable, "-m", "cryptofactor_assets_tests.lake_worker", *args], cwd=ROOT,
                            env=worker_env(wh, env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=stdin, text=True)


def worker_result(proc: subprocess.Popen, timeout: float = 300) -> dict:
    """The JSON line a worker printed last (asserting it ended well)."""
    import json

    out, err = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, f"worker failed (rc={proc.returncode}):\n{out[-3000:]}\n{err[-3000:]}"
    return json.loads(lines[-1])
