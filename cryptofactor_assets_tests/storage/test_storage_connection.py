"""A writer waits for a reader's lock (logging who holds it) instead of failing; other errors fail at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from cryptofactor_assets.storage.connection import (
    DuckDBLockTimeout,
    DuckDBOpenError,
    lock_wait_seconds,
    open_duckdb,
)


def _hold_open(path, seconds: float) -> subprocess.Popen:
    """Another process holding ``path`` open read-only (a researcher's notebook) for ``seconds``."""
    code = textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r}, read_only=True)
        print("open", flush=True)
        time.sleep({seconds})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "open"
    return proc


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 1 AS a")
    con.close()
    return path


def test_waits_for_a_reader_and_names_it(db):
    reader = _hold_open(db, 3)
    lines: list[str] = []
    t0 = time.monotonic()
    try:
        con = open_duckdb(str(db), wait_seconds=60, log=lines.append, log_every=1)
    finally:
        reader.wait()
    took = time.monotonic() - t0
    con.execute("INSERT INTO t VALUES (2)")
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    con.close()
    assert 1.0 < took < 20, took  # got in soon after the reader let go
    assert lines and all(f"PID {reader.pid}" in line for line in lines), lines
    assert any("cryptofactor sql" in line for line in lines)  # says how to read without blocking
    assert len(lines) >= 2  # logged repeatedly while waiting


def test_gives_up_after_the_configured_wait_naming_the_holder(db):
    reader = _hold_open(db, 30)
    try:
        with pytest.raises(DuckDBLockTimeout) as info:
            open_duckdb(str(db), wait_seconds=1.0, log=lambda _m: None)
    finally:
        reader.kill()
        reader.wait()
    text = str(info.value)
    assert f"PID {reader.pid}" in text and "CRYPTOFACTOR_LOCK_WAIT_SECONDS" in text and "snapshot" in text


def test_other_errors_fail_at_once(tmp_path):
    t0 = time.monotonic()
    with pytest.raises(DuckDBOpenError, match="no_such_dir"):
        open_duckdb(str(tmp_path / "no_such_dir" / "x.duckdb"), wait_seconds=60)
    assert time.monotonic() - t0 < 5


def test_lock_wait_setting(monkeypatch):
    monkeypatch.delenv("CRYPTOFACTOR_LOCK_WAIT_SECONDS", raising=False)
    assert lock_wait_seconds() >= 1800
    monkeypatch.setenv("CRYPTOFACTOR_LOCK_WAIT_SECONDS", "12")
    assert lock_wait_seconds() == 12
    monkeypatch.setenv("CRYPTOFACTOR_LOCK_WAIT_SECONDS", "soon")
    with pytest.raises(ValueError, match="CRYPTOFACTOR_LOCK_WAIT_SECONDS"):
        lock_wait_seconds()


def test_a_plain_duckdb_file_has_no_commit_turn(tmp_path):
    """The writers' turn exists for SQLite-catalog DuckLakes only: on the DuckDB file (one writer) it takes
    no lock, leaves no lock file and changes no setting."""
    from cryptofactor_assets.storage.lake import commit_turn, sqlite_catalog_path

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("SET threads = 1")
    assert sqlite_catalog_path(con) is None
    with commit_turn(con, wait=0) as waited:
        assert waited == 0.0
        assert con.execute("SELECT current_setting('threads')").fetchall()[0][0] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb"]
    con.close()
