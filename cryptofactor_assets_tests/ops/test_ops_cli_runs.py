"""`cryptofactor materialize` on an on-disk Dagster instance (what `make demo` leaves): a killed run never
blocks the next one, signals stop a run within seconds, readers never break a run, exit codes tell the truth.

Every test runs the real CLI as a subprocess with its own DAGSTER_HOME (seeded from deploy/dagster.yaml:
the one-slot `duckdb` pool) and a temporary DuckDB file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "cryptofactor_assets.cli"]


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    return home


def _env(home: Path, tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOFACTOR_")}
    env.update({"DAGSTER_HOME": str(home), "CRYPTOFACTOR_DUCKDB": str(tmp_path / "cf.duckdb"),
                "PYTHONWARNINGS": "ignore", **extra})
    return env


def _start(args, env, cwd=ROOT) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _run(args, env, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _wait_for_marker(marker: Path, proc: subprocess.Popen, timeout=120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return marker.read_text()
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    raise AssertionError("the run never reached its partition write")


def _instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))


def _claimed(home: Path) -> list:
    with _instance(home) as instance:
        return list(instance.event_log_storage.get_concurrency_info("duckdb").claimed_slots)


SHORT = ["materialize", "--start", "2024-01-01", "--end", "2024-01-02", "--coins", "12", "--skip-summary"]


def test_a_sigkilled_run_does_not_block_the_next(home, tmp_path):
    marker = tmp_path / "marker"
    # the killed run pauses inside its first partition write (after DELETE, before COMMIT), holding the slot
    env_paused = _env(home, tmp_path, CRYPTOFACTOR_TEST_PAUSE_IN_WRITE="60", CRYPTOFACTOR_TEST_PAUSE_MARKER=str(marker))
    victim = _start(["materialize", "--start", "2024-01-01", "--end", "2024-01-14", "--coins", "12"], env_paused)
    _wait_for_marker(marker, victim)
    assert _claimed(home), "the paused run should hold the duckdb slot"
    victim.kill()
    victim.wait()
    assert _claimed(home), "SIGKILL leaves the slot claimed: this is what the next run must reclaim"

    t0 = time.monotonic()
    done = _run(SHORT, _env(home, tmp_path), timeout=180)
    took = time.monotonic() - t0
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reclaimed run" in done.stdout and f"PID {victim.pid}" in done.stdout and "is gone" in done.stdout
    assert took < 120, took
    assert not _claimed(home)
    with _instance(home) as instance:
        statuses = [r.status for r in instance.get_runs()]
    assert dg.DagsterRunStatus.FAILURE in statuses  # the dead run is failed, not STARTED forever
    assert not any(s == dg.DagsterRunStatus.STARTED for s in statuses)
    con = duckdb.connect(str(tmp_path / "cf.duckdb"), read_only=True)
    n = con.execute("SELECT count(*), count(DISTINCT symbol) FROM raw_klines_5m").fetchone()
    con.close()
    assert n[0] > 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_run_within_seconds_and_frees_its_slot(home, tmp_path, sig):
    marker = tmp_path / "marker"
    env = _env(home, tmp_path, CRYPTOFACTOR_TEST_PAUSE_IN_WRITE="120", CRYPTOFACTOR_TEST_PAUSE_MARKER=str(marker))
    proc = _start(SHORT, env)
    _wait_for_marker(marker, proc)
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 15
    assert proc.returncode == 128 + sig, out
    assert f"{signal.Signals(sig).name} received" in out and "marked failed" in out
    assert not _claimed(home)
    with _instance(home) as instance:
        assert [r.status for r in instance.get_runs()] == [dg.DagsterRunStatus.FAILURE]
    # and the next run goes straight through
    assert _run(SHORT, _env(home, tmp_path)).returncode == 0


def test_a_reader_holding_the_file_delays_a_run_but_never_breaks_it(home, tmp_path):
    env = _env(home, tmp_path)
    assert _run(SHORT, env).returncode == 0
    code = textwrap.dedent(f"""
        import duckdb, sys
        con = duckdb.connect({str(tmp_path / 'cf.duckdb')!r}, read_only=True)
        print("open", flush=True)
        sys.stdin.readline()  # a notebook holding the file until told to let go
    """)
    reader = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "open"
    run = _start(SHORT, env)  # stdout and stderr (Dagster's console logger) in one stream
    lines: list[str] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not any("waiting for the DuckDB lock" in x for x in lines):
        line = run.stdout.readline()
        if not line:
            break
        lines.append(line)
    console = "".join(lines)
    assert "waiting for the DuckDB lock" in console and f"PID {reader.pid}" in console, console
    assert run.poll() is None  # still waiting, not failed
    reader.communicate("let go\n", timeout=30)  # the reader closes: the run goes on within seconds
    out, _ = run.communicate(timeout=180)
    assert run.returncode == 0, console + out


def test_sql_and_snapshot_read_without_holding_the_file(home, tmp_path):
    env = _env(home, tmp_path)
    assert _run(SHORT, env).returncode == 0
    q = _run(["sql", "SELECT count(DISTINCT symbol) AS coins FROM daily_panel", "--csv"], env)
    assert q.returncode == 0, q.stderr
    assert q.stdout.splitlines()[0] == "coins" and int(q.stdout.splitlines()[1]) > 0
    bad = _run(["sql", "DELETE FROM daily_panel"], env)
    assert bad.returncode == 1 and "read-only" in bad.stderr.lower()
    snap = tmp_path / "snap.duckdb"
    s = _run(["snapshot", "--out", str(snap)], env)
    assert s.returncode == 0, s.stdout + s.stderr
    held = duckdb.connect(str(snap), read_only=True)  # a notebook keeps the snapshot open...
    try:
        rows = held.execute("SELECT count(*) FROM raw_klines_5m").fetchone()[0]
        assert rows > 0
        assert _run(SHORT, env).returncode == 0  # ...and the run on the real file is not affected
    finally:
        held.close()


def test_bad_arguments_are_one_line_errors(home, tmp_path):
    env = _env(home, tmp_path)
    bad_date = _run(["materialize", "--start", "2024-13-01", "--end", "2024-01-02"], env)
    assert bad_date.returncode == 2 and "Traceback" not in bad_date.stderr
    assert "'2024-13-01' is not a date" in bad_date.stderr
    bad_bool = _run(SHORT, _env(home, tmp_path, CRYPTOFACTOR_STRICT="maybe"))
    assert bad_bool.returncode == 2 and "Traceback" not in bad_bool.stderr + bad_bool.stdout
    assert "CRYPTOFACTOR_STRICT='maybe' is not a boolean" in bad_bool.stderr
    for word in ("TRUE", "True", "on"):
        from cryptofactor_assets.settings import parse_bool

        assert parse_bool("CRYPTOFACTOR_STRICT", word) is True


def _feathers(folder: Path) -> str:
    """One readable freqtrade feather (BTC, 288 bars of 2024-01-01) and one unreadable one (ETH)."""
    import numpy as np
    import pandas as pd

    folder.mkdir()
    times = pd.date_range("2024-01-01", periods=288, freq="5min", tz="UTC")
    close = 40_000 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 1e-3, 288)))
    frame = pd.DataFrame({"date": times, "open": close, "high": close * 1.001, "low": close * 0.999,
                          "close": close, "volume": 1.0})
    frame.to_feather(folder / "BTC_USDT-5m.feather")
    (folder / "ETH_USDT-5m.feather").write_bytes(b"not a feather file")
    return str(folder / "*-5m.feather")


def test_a_failed_symbol_makes_a_partial_exit_with_a_summary(home, tmp_path):
    glob = _feathers(tmp_path / "klines")
    args = ["materialize", "--source", "files", "--klines", glob, "--start", "2024-01-01", "--end", "2024-01-01",
            "--skip-summary"]
    done = _run(args, _env(home, tmp_path))
    assert done.returncode == 3, done.stdout + done.stderr
    summary = [line for line in done.stdout.splitlines() if "fetch failed" in line]
    assert summary and "source=files" in summary[0] and "ETHUSDT" in summary[0], done.stdout
    assert "2024-01-01" in summary[0] and "ETH_USDT-5m.feather" in summary[0]  # partition and reason
    assert "PARTIAL" in done.stdout
    accepted = _run([*args, "--allow-partial"], _env(home, tmp_path))
    assert accepted.returncode == 0, accepted.stdout
    assert "fetch failed" in accepted.stdout  # still reported


def test_a_bad_duckdb_path_fails_at_once_with_the_root_cause(home, tmp_path):
    folder = tmp_path / "not_a_file.duckdb"
    folder.mkdir()
    t0 = time.monotonic()
    done = _run([*SHORT, "--duckdb", str(folder)], _env(home, tmp_path))
    assert time.monotonic() - t0 < 90  # no minutes of silent connection retries
    assert done.returncode == 1
    fails = [line for line in done.stdout.splitlines() if "FAIL " in line]
    assert fails and all("Is a directory" in line and "DuckDBOpenError" in line for line in fails), done.stdout
    assert not any("Error occurred while executing" in line for line in fails)


def test_which_runs_count_as_dead():
    """The reclaim rules, on run records as Dagster stores them (host / PID / heartbeat tags)."""
    import datetime as dt
    import socket
    from types import SimpleNamespace

    from cryptofactor_assets.ops import run_guard as rg

    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    started = dg.DagsterRunStatus.STARTED

    def run(**tags):
        return SimpleNamespace(run_id="r", status=started, tags=tags)

    class NoEvents:  # an instance whose runs have no events
        def get_records_for_run(self, run_id, ascending, limit):
            return SimpleNamespace(records=[])

    here, me = socket.gethostname(), os.getpid()
    why = lambda r: rg._why_dead(NoEvents(), r, 300, 3600, now)  # noqa: E731
    dead_pid = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_pid.wait()
    assert "is gone" in why(run(**{rg.HOST_TAG: here, rg.PID_TAG: str(dead_pid.pid)}))
    assert why(run(**{rg.HOST_TAG: here, rg.PID_TAG: str(me), rg.PID_START_TAG: rg._pid_start(me)})) is None
    # the same PID number, started at another time, is another process: the run is dead
    assert "is gone" in why(run(**{rg.HOST_TAG: here, rg.PID_TAG: str(me), rg.PID_START_TAG: "1"}))
    beat = lambda seconds: (now - dt.timedelta(seconds=seconds)).isoformat()  # noqa: E731
    other = {rg.HOST_TAG: "another-host", rg.PID_TAG: "4242"}
    assert why(run(**other, **{rg.HEARTBEAT_TAG: beat(60)})) is None
    assert "no heartbeat from another-host" in why(run(**other, **{rg.HEARTBEAT_TAG: beat(900)}))
    assert why(run()) is None  # a webserver / daemon run without events yet is left alone

    class SilentFor:  # an instance whose run's newest event is ``seconds`` old
        def __init__(self, seconds):
            self.ts = (now - dt.timedelta(seconds=seconds)).timestamp()

        def get_records_for_run(self, run_id, ascending, limit):
            return SimpleNamespace(records=[SimpleNamespace(event_log_entry=SimpleNamespace(timestamp=self.ts))])

    assert rg._why_dead(SilentFor(600), run(), 300, 3600, now) is None  # a long UI step is not killed
    assert "no event for 7200 s" in rg._why_dead(SilentFor(7200), run(), 300, 3600, now)
    ended = SimpleNamespace(run_id="r", status=dg.DagsterRunStatus.SUCCESS, tags={})
    assert "already ended" in why(ended)
    assert why(None) == "the run no longer exists"
