"""SIGKILL in the middle of a partition write, then re-run: nothing half-written, nothing lost or doubled.

The real path of `make demo` (``cryptofactor materialize``) runs in a subprocess with the writer's
pause hook (``CRYPTOFACTOR_TEST_PAUSE_IN_WRITE``): after the DELETE of the target table's window and
before its INSERT / COMMIT the process sleeps, writes a marker file, and the test kills it with
SIGKILL. The DuckDB file must then hold exactly the rows committed before (the killed transaction
never happened), and a re-run must give the same tables as a clean run.

The same on DuckLakes (``lake``, `make test-lake`): the staged ingest's swap transaction on a SQLite
catalog, a SQL write on a PostgreSQL catalog, compared with the clean run in a DuckDB file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cryptofactor_assets.storage.warehouse import PAUSE_ENV
from cryptofactor_assets_tests.lake_fixtures import make_warehouse
from cryptofactor_assets_tests.ops_harness import kill_in_pause

ROOT = Path(__file__).resolve().parents[2]
FIRST, MIDDLE, LAST = "2023-01-01", "2023-01-10", "2023-01-22"
TABLES = {  # table -> its key (for the duplicate check) and sort order
    "raw_klines_5m": ["symbol", "open_time"],
    "raw_coin_markets": ["symbol", "date"],
    "daily_panel": ["symbol", "date"],
    "weekly_panel": ["symbol", "week_start"],
}

# The driver: the real CLI, with time.sleep inside the writer replaced by one that announces the pause
# (table name into a marker file) and only pauses for the target table.
DRIVER = r"""
import os, sys, time
from cryptofactor_assets.storage import warehouse

target, marker = os.environ["CRASH_TARGET"], os.environ["CRASH_MARKER"]
real_sleep = time.sleep

class _Time:
    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds):
        table = sys._getframe(1).f_locals.get("table")
        if table != target:
            return
        with open(marker, "w") as f:
            f.write(table)
        real_sleep(seconds)

warehouse.time = _Time()
from cryptofactor_assets.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _cli(db, start: str, end: str, env_extra: dict | None = None, background: bool = False):
    """The CLI on the DuckDB file ``db`` or the warehouse ``db`` (a ``lake_fixtures.Warehouse``)."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}  # ephemeral instance
    env.update({"CRYPTOFACTOR_SIM_COINS": "12", "PYTHONWARNINGS": "ignore", **(env_extra or {})})
    if isinstance(db, str):
        cmd_target = ["--duckdb", db]
    else:
        env.update(db.env())
        cmd_target = []
    cmd = [sys.executable, "-c", DRIVER, "materialize", "--start", start, "--end", end, *cmd_target,
           "--skip-summary"]
    if background:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env.setdefault("CRASH_TARGET", "")
    env.setdefault("CRASH_MARKER", os.devnull)
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def _tables(db) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(db, read_only=True) if isinstance(db, str) else db.connect(read_only=True)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_catalog = current_database()").fetchall()}
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY {', '.join(k)}").df() if t in present else None
                for t, k in TABLES.items()}
    finally:
        con.close()


def _no_duplicates(frames: dict[str, pd.DataFrame]) -> None:
    for table, frame in frames.items():
        if frame is not None:
            assert not frame.duplicated(TABLES[table]).any(), f"duplicated keys in {table}"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A clean run over the whole range, and a database holding only the first part (the 'before')."""
    base = tmp_path_factory.mktemp("crash")
    full, before = str(base / "clean.duckdb"), str(base / "before.duckdb")
    _cli(full, FIRST, LAST)
    _cli(before, FIRST, MIDDLE)
    return {"full": _tables(full), "before_path": before, "before": _tables(before)}


# the first write of the run (streamed 5-minute bars in one transaction) and a SQL write after committed
# upstream writes; daily_panel is written the same way as weekly_panel (replace_window)
@pytest.mark.slow
@pytest.mark.parametrize(("backend", "target"), [
    ("duckdb", "raw_klines_5m"), ("duckdb", "weekly_panel"),
    pytest.param("ducklake_sqlite", "raw_klines_5m", marks=pytest.mark.lake),
    pytest.param("ducklake_postgres", "weekly_panel", marks=pytest.mark.lake),
])
def test_sigkill_mid_write_leaves_committed_rows_and_rerun_equals_clean(tmp_path, clean, backend, target, request):
    if backend == "duckdb":
        db = str(tmp_path / "crash.duckdb")
        Path(db).write_bytes(Path(clean["before_path"]).read_bytes())  # rows committed before the crash
    else:
        db = make_warehouse(backend, tmp_path, request)
        db.load_from(clean["before_path"])  # the same rows, committed in the lake before the crash
    marker = tmp_path / "in_pause"
    proc = _cli(db, FIRST, LAST, {PAUSE_ENV: "120", "CRASH_TARGET": target, "CRASH_MARKER": str(marker)},
                background=True)
    kill_in_pause(proc, marker, timeout=180, settle=0.5)  # settled well inside the pause

    after_crash = _tables(db)
    _no_duplicates(after_crash)
    # the killed write left the target table exactly as committed before (old rows kept, none half-new)
    before = clean["before"][target]
    pd.testing.assert_frame_equal(after_crash[target], before)
    # every table is either as before or as in the clean run: writes committed before the kill are whole
    for table, frame in after_crash.items():
        if table != target and not frame.equals(clean["before"][table]):
            pd.testing.assert_frame_equal(frame, clean["full"][table], obj=table)

    _cli(db, FIRST, LAST)  # the re-run succeeds ...
    rerun = _tables(db)
    _no_duplicates(rerun)
    for table in TABLES:  # ... and nothing is lost or doubled compared with a clean run
        pd.testing.assert_frame_equal(rerun[table], clean["full"][table], obj=table)
