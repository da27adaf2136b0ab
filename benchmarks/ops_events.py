"""Dagster bookkeeping of the CLI's runs on an on-disk instance: events, instance size, overhead.

Each figure is measured in one run of ``cryptofactor materialize`` as a subprocess, with a temporary
DAGSTER_HOME seeded from ``deploy/dagster.yaml`` and a temporary DuckDB file:

    events history_7y <rows>                       event-log rows after the 7-year CoinGecko history
    megabytes history_7y_instance <MB>             size of DAGSTER_HOME after it
    overhead demo_on_disk_vs_in_memory <x>         demo wall time with DAGSTER_HOME / without (ephemeral)

Targets: events <= 25,000, megabytes <= 60, overhead <= 1.25.
``python benchmarks/ops_events.py [history] [demo]`` (both by default). The history is skipped, with a
message, when ../shared/data/real is absent.

Measured 2026-12-01 (2-core machine, shared, load 1-7):
  before (landed project, stock SQLite storage, metadata on every partition): 79,517 rows, 544 MB,
    380 s; demo 180 s on disk / 80 s in memory (2.2)
  lean metadata + batching storage, 7 daily research assets: 79,516 rows, 378 MB, 314 s
  + the four research assets weekly (62b96da): 46,092 rows, 224 MB, 172 s (index.db: asset check
    executions 79 MB, one PLANNED row per check and partition; event_logs 60 MB)
  demo at b04e096: 76.5 s on disk / 81.5 s in memory (0.94; 54.8 / 66.1 in another run); the same
    on-disk demo with the stock SQLite event log storage: 216 s
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLI = str(BIN / "cryptofactor")
DEPLOY_YAML = ROOT / "deploy" / "dagster.yaml"
REAL = Path(os.environ.get("OPS_EVENTS_REAL_DATA") or ROOT.parent / "shared" / "data" / "real")
MARKETS = str(REAL / "coingecko_daily_tylerilunga" / "*-usd-max.csv")
HISTORY_ARGS = ["--source", "files", "--markets", MARKETS, "--start", "2013-12-01", "--end", "2020-08-02"]
DEMO_ARGS = ["--start", "2023-01-01", "--end", "2024-12-31"]

TARGETS = {"events": 25_000, "megabytes": 60, "overhead": 1.25}


def _env(home: Path | None, duckdb: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRYPTOFACTOR_", "DAGSTER_"))}
    env["CRYPTOFACTOR_DUCKDB"] = str(duckdb)
    if home is not None:
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEPLOY_YAML, home / "dagster.yaml")
        env["DAGSTER_HOME"] = str(home)
    return env


def _materialize(args: list[str], home: Path | None, workdir: Path) -> float:
    """Wall seconds of one ``cryptofactor materialize`` (raises when it does not exit 0)."""
    t0 = time.perf_counter()
    out = subprocess.run([CLI, "materialize", *args], cwd=ROOT, env=_env(home, workdir / "cf.duckdb"),
                         capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"cryptofactor materialize {' '.join(args)} exited {out.returncode}:\n"
                           + out.stdout[-3000:] + out.stderr[-3000:])
    return seconds


def event_log_rows(home: Path) -> dict[str, int]:
    """Rows of every ``event_logs`` table under ``home``, by event type: the run shards
    (``history/runs/<run_id>.db``, each of its run's events once) and ``index.db`` (which repeats the
    asset, check and run-status events for cross-run queries): what the instance stores."""
    counts: dict[str, int] = {}
    for shard in sorted((home / "history" / "runs").glob("*.db")):
        con = sqlite3.connect(shard)
        try:
            for kind, n in con.execute("SELECT coalesce(dagster_event_type, 'log'), count(*) FROM event_logs GROUP BY 1"):
                counts[kind] = counts.get(kind, 0) + n
        finally:
            con.close()
    return counts


def index_tables_megabytes(home: Path) -> dict[str, float]:
    """Megabytes per table (and index) of ``index.db`` (SQLite's dbstat), the largest first."""
    con = sqlite3.connect(home / "history" / "runs" / "index.db")
    try:
        rows = con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 6").fetchall()
    except sqlite3.Error:
        return {}
    finally:
        con.close()
    return {name: size / 1e6 for name, size in rows}


def directory_megabytes(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def history_7y() -> dict | None:
    """events, megabytes and wall seconds of the 7-year CoinGecko history on an on-disk instance."""
    if not REAL.exists():
        print(f"skip history_7y: {REAL} is absent")
        return None
    with tempfile.TemporaryDirectory(prefix="ops_events_") as tmp:
        tmp = Path(tmp)
        home = tmp / "dagster_home"
        seconds = _materialize(HISTORY_ARGS, home, tmp)
        by_type = event_log_rows(home)
        return {"events": sum(by_type.values()), "by_type": by_type, "megabytes": directory_megabytes(home),
                "seconds": seconds, "index_tables": index_tables_megabytes(home)}


def demo_overhead() -> dict:
    """Wall time of the demo with an on-disk instance over the same without DAGSTER_HOME (ephemeral)."""
    with tempfile.TemporaryDirectory(prefix="ops_events_") as tmp:
        tmp = Path(tmp)
        (tmp / "disk").mkdir()
        (tmp / "memory").mkdir()
        on_disk = _materialize(DEMO_ARGS, tmp / "disk" / "dagster_home", tmp / "disk")
        in_memory = _materialize(DEMO_ARGS, None, tmp / "memory")
        return {"on_disk": on_disk, "in_memory": in_memory, "overhead": on_disk / in_memory}


def main(argv: list[str]) -> int:
    which = set(argv) or {"history", "demo"}
    if "history" in which:
        h = history_7y()
        if h is not None:
            print(f"events history_7y {h['events']}")
            print(f"megabytes history_7y_instance {h['megabytes']:.1f}")
            print(f"seconds history_7y {h['seconds']:.1f}")
            print("  by type: " + ", ".join(f"{k} {v}" for k, v in sorted(h["by_type"].items(), key=lambda kv: -kv[1])))
            print("  index.db MB: " + ", ".join(f"{k} {v:.1f}" for k, v in h["index_tables"].items()))
    if "demo" in which:
        d = demo_overhead()
        print(f"overhead demo_on_disk_vs_in_memory {d['overhead']:.2f}")
        print(f"seconds demo_on_disk {d['on_disk']:.1f}")
        print(f"seconds demo_in_memory {d['in_memory']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
