"""A local PostgreSQL server for the DuckLake catalog of `make lake-demo` (and the tests' throw-away ones).

``start_server(folder, port)`` runs ``initdb`` once in ``folder/data`` (password authentication, a
generated password kept in ``folder/password``, mode 0600, never printed) and starts the server on
127.0.0.1:``port`` unless it already runs there; ``stop_server(folder)`` stops it. ``initdb`` and
``postgres`` refuse to run as root: as root they run as the unprivileged ``postgres`` account
(``runuser``), which must be able to enter ``folder``. The binaries come from PATH or Debian's
``/usr/lib/postgresql/<major>/bin`` (``.ci/install_postgres.sh`` installs them).

Clients get the password through ``PGPASSWORD`` (libpq reads it), so no DSN, log line or asset
metadata ever holds it.

No Dagster import.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

USER = "cryptofactor"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries, or no unprivileged account to run them as root."""


@dataclass(frozen=True)
class LocalServer:
    host: str
    port: int
    user: str
    password: str
    folder: Path

    def dsn(self, dbname: str) -> str:
        """A libpq DSN without the password (give it as ``PGPASSWORD``: :meth:`env`)."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password}


def server_binary(name: str) -> str | None:
    """``pg_ctl`` / ``initdb``: on PATH, else Debian's versioned folder (not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root without runuser: cannot start postgres as an unprivileged user")
    return [runuser, "-u", "postgres", "--", *cmd]


def _server_account():
    import pwd

    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable("running as root and no `postgres` system user to run the server as") from None


def _running(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_server(folder: str | Path, port: int | None = None, timeout: float = 120) -> LocalServer:
    """Initialise (once) and start a server in ``folder`` on ``port`` (the last one used, else a free one)."""
    pg_ctl, initdb = server_binary("pg_ctl"), server_binary("initdb")
    if pg_ctl is None or initdb is None:
        raise PostgresUnavailable("PostgreSQL server binaries not found (bash .ci/install_postgres.sh installs them)")
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    account = _server_account() if os.geteuid() == 0 else None
    data, pwfile, portfile = folder / "data", folder / "password", folder / "port"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    if not (data / "PG_VERSION").exists():
        pwfile.write_text(secrets.token_urlsafe(18) + "\n")
        os.chmod(pwfile, 0o600)
        if account is not None:
            os.chown(folder, account.pw_uid, account.pw_gid)
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        subprocess.run(_as_server_user([initdb, "-D", str(data), "-U", USER, f"--pwfile={pwfile}",
                                        "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"]),
                       check=True, capture_output=True, env=env, timeout=timeout)
    password = pwfile.read_text().strip()
    if port is None:
        port = int(portfile.read_text()) if portfile.exists() else free_port()
    if not _running(port):
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        started = subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-o", options, "-l",
                                                  str(folder / "server.log"), "-w", "-t", str(int(timeout)), "start"]),
                                 capture_output=True, text=True, env=env, timeout=timeout + 10)
        if started.returncode != 0:
            log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed in {folder}: {started.stderr.strip()} {log[-2000:]}")
    portfile.write_text(str(port))
    return LocalServer("127.0.0.1", port, USER, password, folder)


def create_database(server: LocalServer, dbname: str, fresh: bool = False) -> None:
    """``CREATE DATABASE dbname`` unless it exists; ``fresh``: drop it first (psycopg2: the name is quoted
    as an identifier, the lookup's value bound)."""
    import psycopg2
    from psycopg2 import sql

    con = psycopg2.connect(host=server.host, port=server.port, user=server.user, password=server.password,
                           dbname="postgres")
    con.autocommit = True
    try:
        cur = con.cursor()
        if fresh:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    finally:
        con.close()


def stop_server(folder: str | Path, timeout: float = 120) -> bool:
    """Stop the server of ``folder`` (fast shutdown); False when none was running there."""
    pg_ctl = server_binary("pg_ctl")
    data = Path(folder).resolve() / "data"
    if pg_ctl is None or not (data / "postmaster.pid").exists():
        return False
    subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
                   capture_output=True, timeout=timeout)
    return True
