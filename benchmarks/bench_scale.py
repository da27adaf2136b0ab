"""Measured scale: a large simulated market on both warehouse backends (issue 18, item 5).

Each measurement is one ``cryptofactor materialize`` child process (the CLI, an ephemeral Dagster
instance) on a fresh warehouse in a temporary folder. Prints, house style:

    seconds materialize_<backend> <s>          wall of the materialisation (process start to exit)
    bars_per_second <backend> <n>              5-minute bars stored / that wall
    megabytes peak_rss_<backend> <MB>          the child's peak resident memory (wait4's ru_maxrss)
    megabytes on_disk_<backend> <MB>           DuckDB file (+ WAL) / DuckLake Parquet files + catalog
    ratio backfill_parallel_vs_serial <x>      DuckLake: the same weeks as 4 runs one after another /
                                               as 4 runs at once (disjoint week ranges, fresh lake each
                                               time); target >= 1.6 on 2 cores. Also printed: its
                                               ceiling, cores x serial wall / serial CPU (the runs are
                                               CPU-bound; a serial run keeps ~1.3 cores busy)
    growth daily_run_3y_vs_1y <x>              one daily incremental run (the day after the stored
                                               history, the daily job alone, as the schedule runs it)
                                               with 3 years stored / with 1 year stored; target <= 1.3
    megabytes scale_peak_rss <MB>              peak RSS of the --coins x 3 years materialisation
                                               (only when --years 3); target <= 4,000 at 500 coins

Backends: ``duckdb`` (one DuckDB file) and ``ducklake`` (a DuckLake, SQLite catalog by default;
``--catalog postgres --dsn 'host=... user=...'`` makes one PostgreSQL database per fresh lake on that
server, dropped afterwards). Run it with the ``lake`` venv so both backends use the same DuckDB
(1.5.5): ``.venv-lake/bin/python benchmarks/bench_scale.py``.

Jobs run: ``materialize --skip-summary``, i.e. the daily job (raw_coin_markets, raw_klines_5m,
daily_panel), the weekly job (funding, on-chain, rsj_daily, weekly_panel, characteristics, factor
returns, rolling betas, risk model, features...) and the monthly job (cross-asset and neural betas):
everything partitioned, the whole bar-heavy lineage. The unpartitioned summary job is skipped: it
reads the finished weekly/daily tables once (truths, backtests, Fama-MacBeth, walk-forward, the neural
grid), does not touch the 5-minute bars, and at 500 coins is dominated by the model fits (minutes of
numpy per coin-month), not by storage; ``--with-summary`` adds it.

Sizes: default 500 coins x 1 year (2024, ~50 M bars); ``--years 2|3`` ends on 2024-12-31 too (3 years
= 2022..2024, the simulator's market starts 2022-01-01); ``--quick``: 50 coins x 2 months, parallel
backfill on 4 x 1 week, growth over 2 vs 4 months, one repeat (about 1.5 minutes on the 2-core
machine, longer when it is busy). ``--only`` picks parts (materialize, parallel, growth). With
``--profile`` every step is echoed with the peak RSS seen while it ran (polled from /proc every 0.2 s,
step starts and ends from Dagster's DEBUG events), ``# step <name> <s> peak rss <MB>``, to find memory hogs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
END = dt.date(2024, 12, 31)
BARS_PER_DAY = 288
_STEP = re.compile(r"^\[cryptofactor\]\s+(ok|FAIL)\s+(\S+?)(?::| \(([\d.]+) s\))")
_JOB_DONE = re.compile(r"^\[cryptofactor\] (\w+): (success|PARTIAL|FAILED) in ([\d.]+) s")
_STEP_EVENT = re.compile(r" - (STEP_START|STEP_SUCCESS|STEP_FAILURE) - .*?step \"?([\w.\[\]-]+)")
_BARS = re.compile(r"raw_klines_5m ingest .*done: .*?([\d,]+) rows stored")


@dataclass
class Run:
    """One child ``cryptofactor`` process: wall, peak RSS, per-step RSS peaks, its output."""

    wall: float = 0.0
    peak_mb: float = 0.0
    cpu: float = 0.0  # user + system CPU seconds of the child (and the children it waited for)
    code: int = 0
    bars: int = 0
    jobs: dict[str, float] = field(default_factory=dict)
    steps: list[tuple[str, float, float]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (kB), from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def run_cli(argv: list[str], env: dict, label: str, echo: bool = True) -> Run:
    """Run ``cryptofactor <argv>`` in a child process and measure it."""
    cli = Path(sys.executable).with_name("cryptofactor")
    out = Run()
    window = [0]  # peak RSS (kB) since the last step start
    done = threading.Event()
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(cli), *argv], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)

    def poll() -> None:
        while not done.is_set():
            window[0] = max(window[0], _tree_rss_kb(proc.pid))
            done.wait(0.2)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    assert proc.stdout is not None
    started: dict[str, float] = {}
    for line in proc.stdout:
        line = line.rstrip("\n")
        out.lines.append(line)
        m = _STEP_EVENT.search(line)  # live step events: only with CRYPTOFACTOR_LOG_LEVEL=DEBUG (--profile)
        if m:
            kind, step = m.group(1), m.group(2)
            if kind == "STEP_START":
                window[0] = _tree_rss_kb(proc.pid)
                started[step] = time.perf_counter()
            else:
                secs = time.perf_counter() - started.get(step, t0)
                out.steps.append((step, secs, window[0] / 1024))
                if echo:
                    print(f"#   [{label}] step {step} {secs:.1f} s peak rss {window[0] / 1024:.0f} MB", flush=True)
            continue
        if _STEP.match(line):  # the CLI's step lines come after the job: no per-step RSS in them
            continue
        m = _JOB_DONE.match(line)
        if m:
            out.jobs[m.group(1)] = float(m.group(3))
            if echo:
                print(f"#   [{label}] {line.split('] ', 1)[1]}", flush=True)
        m = _BARS.search(line)
        if m:
            out.bars += int(m.group(1).replace(",", ""))
        if "check failed" in line or "FAIL" in line or "Error" in line:
            if echo:
                print(f"#   [{label}] {line}", flush=True)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.wall = time.perf_counter() - t0
    done.set()
    poller.join()
    out.code = proc.returncode
    out.peak_mb = usage.ru_maxrss / 1024  # Linux: kilobytes
    out.cpu = usage.ru_utime + usage.ru_stime
    if out.code not in (0, 3):  # 3: partial (a WARN/ERROR check on a synthetic market), still measured
        print("\n".join(out.lines[-60:]), file=sys.stderr)
        raise SystemExit(f"bench_scale: {label}: cryptofactor {' '.join(argv)} exited {out.code}")
    return out


class Warehouse:
    """A fresh warehouse of one backend in ``folder``: its env vars, its on-disk size, its cleanup."""

    def __init__(self, backend: str, folder: Path, catalog: str = "sqlite", dsn: str | None = None):
        self.backend, self.folder, self.catalog, self.dsn = backend, folder, catalog, dsn
        folder.mkdir(parents=True, exist_ok=True)
        self.pg_db = None
        if backend == "duckdb":
            self.spec = f"duckdb:{folder / 'warehouse.duckdb'}"
        elif catalog == "sqlite":
            self.spec = f"ducklake:sqlite:{folder / 'catalog.sqlite'}"
        else:
            self.pg_db = f"bench_scale_{os.getpid()}_{folder.name}".lower()
            _pg(dsn, f'CREATE DATABASE "{self.pg_db}"')
            self.spec = f"ducklake:postgres:{dsn} dbname={self.pg_db}"

    def env(self, base: dict) -> dict:
        env = dict(base)
        env["CRYPTOFACTOR_WAREHOUSE"] = self.spec
        env["CRYPTOFACTOR_DUCKDB"] = str(self.folder / "warehouse.duckdb")
        env["CRYPTOFACTOR_LAKE_DATA_PATH"] = str(self.folder / "lake_data") + "/"
        return env

    def megabytes(self) -> float:
        size = 0
        for path in self.folder.rglob("*"):
            if path.is_file():
                size += path.stat().st_size
        if self.pg_db:
            size += int(_pg(self.dsn, f"SELECT pg_database_size('{self.pg_db}')", fetch=True))
        return size / 1e6

    def drop(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.pg_db:
            _pg(self.dsn, f'DROP DATABASE IF EXISTS "{self.pg_db}"')


def _pg(dsn: str | None, statement: str, fetch: bool = False):
    import psycopg2

    con = psycopg2.connect(f"{dsn or ''} dbname=postgres")
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute(statement)
            return cur.fetchone()[0] if fetch else None
    finally:
        con.close()


def base_env(coins: int, seed: int | None, threads: int | None = None, profile: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    if profile:
        env["CRYPTOFACTOR_LOG_LEVEL"] = "DEBUG"
    env["CRYPTOFACTOR_SIM_COINS"] = str(coins)
    env["CRYPTOFACTOR_SOURCE"] = "simulated"
    env.setdefault("CRYPTOFACTOR_PARTITIONS_END", END.isoformat())
    env["CRYPTOFACTOR_PARTITIONS_END"] = max(dt.date.fromisoformat(env["CRYPTOFACTOR_PARTITIONS_END"]),
                                             END + dt.timedelta(days=7)).isoformat()
    if seed is not None:
        env["CRYPTOFACTOR_SIM_SEED"] = str(seed)
    if threads is not None:
        env["CRYPTOFACTOR_DUCKDB_THREADS"] = str(threads)
    return env


def materialize(wh: Warehouse, env: dict, start: dt.date, end: dt.date, label: str,
                summary: bool = False, weekly: bool = True) -> Run:
    argv = ["materialize", "--start", start.isoformat(), "--end", end.isoformat()]
    if not summary:
        argv.append("--skip-summary")
    if not weekly:
        argv.append("--skip-weekly")
    return run_cli(argv, wh.env(env), label)


def daily_run(wh: Warehouse, env: dict, day: dt.date, label: str, repeats: int) -> float:
    """Median seconds of the daily job on ``day`` (what the schedule launches for yesterday), as the job's
    own run time; the day is replaced on each repeat (the same work each time)."""
    times = []
    for i in range(repeats):
        r = run_cli(["materialize", "--start", day.isoformat(), "--end", day.isoformat(), "--skip-summary"],
                    wh.env(env), f"{label} #{i + 1}", echo=False)
        times.append(r.jobs.get("daily_job", r.wall))
        print(f"#   [{label} #{i + 1}] daily_job {times[-1]:.2f} s (process wall {r.wall:.1f} s)", flush=True)
    return statistics.median(times)


def parallel_backfill(tmp: Path, env: dict, args, first_monday: dt.date) -> None:
    """The same weeks as ``args.runs`` runs one after another, then at once (fresh lake each time)."""
    n, weeks = args.runs, args.parallel_weeks
    per = max(1, weeks // n)
    ranges = [(first_monday + dt.timedelta(weeks=i * per),
               first_monday + dt.timedelta(weeks=(i + 1) * per) - dt.timedelta(days=1)) for i in range(n)]
    span = f"{ranges[0][0]} .. {ranges[-1][1]}"
    penv = dict(env)
    if args.threads_per_run:
        penv["CRYPTOFACTOR_DUCKDB_THREADS"] = str(args.threads_per_run)
    flags = ["--skip-summary"] + ([] if args.parallel_weekly else ["--skip-weekly"])

    wh = Warehouse("ducklake", tmp / "serial", args.catalog, args.dsn)
    t0 = time.perf_counter()
    serial_cpu = 0.0
    for i, (a, b) in enumerate(ranges):
        # the serial runs keep DuckDB's default threads (all cores): the baseline at its best setting
        serial_cpu += run_cli(["materialize", "--start", a.isoformat(), "--end", b.isoformat(), *flags],
                              wh.env(env), f"serial {i + 1}/{n}", echo=False).cpu
    serial = time.perf_counter() - t0
    wh.drop()

    wh = Warehouse("ducklake", tmp / "parallel", args.catalog, args.dsn)
    results: list[Run | BaseException] = [None] * n  # type: ignore[list-item]

    def one(i: int) -> None:
        a, b = ranges[i]
        try:
            results[i] = run_cli(["materialize", "--start", a.isoformat(), "--end", b.isoformat(), *flags],
                                 wh.env(penv), f"parallel {i + 1}/{n}", echo=False)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    parallel = time.perf_counter() - t0
    for r in results:
        if isinstance(r, BaseException):
            raise SystemExit(f"bench_scale: a parallel run failed: {r}")
    retries = sum("commit conflict" in line for r in results for line in r.lines)  # type: ignore[union-attr]
    parallel_cpu = sum(r.cpu for r in results)  # type: ignore[union-attr]
    wh.drop()
    print(f"# backfill {span} ({n} runs x {per} week(s), {args.coins} coins, "
          f"{'daily+weekly' if args.parallel_weekly else 'daily'} jobs, DuckLake {args.catalog}): "
          f"serial {serial:.1f} s ({serial_cpu:.0f} CPU s: {serial_cpu / serial:.2f} cores busy), parallel {parallel:.1f} s "
          f"({parallel_cpu:.0f} CPU s: {parallel_cpu / parallel:.2f} cores), commit conflicts retried {retries}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    # The runs are CPU-bound (on one core, `taskset -c 0`, serial wall = serial CPU and the ratio is ~0.9), so
    # N parallel runs doing the serial runs' work can at best keep every core busy: wall >= CPU / cores.
    cores = os.cpu_count() or 1
    print(f"# ceiling on {cores} cores: cores x serial wall / serial CPU = {cores * serial / serial_cpu:.2f} (the ratio "
          f"if the parallel runs used the serial runs' CPU and kept every core busy); parallel CPU / serial CPU "
          f"{parallel_cpu / serial_cpu:.2f}", flush=True)
    print(f"seconds backfill_serial {serial:.1f}")
    print(f"seconds backfill_parallel {parallel:.1f}")
    print(f"ratio backfill_parallel_vs_serial {serial / parallel:.2f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--coins", type=int, default=500)
    p.add_argument("--years", type=int, default=1, choices=[1, 2, 3],
                   help="history materialised per backend, ending 2024-12-31 (3: also scale_peak_rss)")
    p.add_argument("--days", type=int, default=None, help="instead of --years: this many days ending 2024-12-31")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--quick", action="store_true", help="50 coins x 2 months, 4 x 1 week, growth 1 vs 2 months")
    p.add_argument("--backends", default="duckdb,ducklake")
    p.add_argument("--catalog", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--dsn", default=None, help="postgres: libpq dsn of a server (databases made and dropped)")
    p.add_argument("--only", default="materialize,parallel,growth")
    p.add_argument("--with-summary", action="store_true", help="run the summary job too")
    p.add_argument("--runs", type=int, default=4, help="parallel backfill: runs (processes)")
    p.add_argument("--parallel-weeks", type=int, default=8, help="parallel backfill: weeks in all")
    p.add_argument("--parallel-coins", type=int, default=None, help="parallel backfill: coins (default --coins)")
    p.add_argument("--parallel-weekly", action="store_true",
                   help="parallel backfill: the weekly job too (default the daily job: the bar-heavy backfill)")
    p.add_argument("--threads-per-run", type=int, default=None,
                   help="parallel backfill: CRYPTOFACTOR_DUCKDB_THREADS of each PARALLEL run (the serial runs keep "
                        "the default, all cores; default: the setting's)")
    p.add_argument("--growth-backend", default="duckdb")
    p.add_argument("--growth-coins", type=int, default=None,
                   help="coins of the growth measurement (default --coins; it materialises 1 and 3 years)")
    p.add_argument("--growth-repeats", type=int, default=3)
    p.add_argument("--profile", action="store_true",
                   help="per-step peak RSS of the materialisations (Dagster's step events at DEBUG log level)")
    p.add_argument("--keep", default=None, help="keep the warehouses in this folder (default: a temp folder)")
    args = p.parse_args(argv)
    if args.quick:
        args.coins, args.days, args.parallel_weeks, args.growth_repeats = 50, 60, 4, 1
    start = (END - dt.timedelta(days=args.days - 1) if args.days
             else dt.date(END.year - args.years + 1, 1, 1))  # whole calendar years ending 2024-12-31
    days = (END - start).days + 1
    only = set(args.only.split(","))
    backends = [b for b in args.backends.split(",") if b]
    env = base_env(args.coins, args.seed, profile=args.profile)
    tmp_ctx = tempfile.TemporaryDirectory(prefix="bench_scale_") if not args.keep else None
    tmp = Path(args.keep or tmp_ctx.name)  # type: ignore[union-attr]
    print(f"# bench_scale: {args.coins} coins, {start} .. {END} ({days} days), backends {backends}, "
          f"catalog {args.catalog}, DuckDB {_duckdb_version()}, {os.cpu_count()} cores", flush=True)
    try:
        stored: dict[str, Warehouse] = {}
        if "materialize" in only:
            for backend in backends:
                wh = Warehouse(backend, tmp / f"mat_{backend}", args.catalog, args.dsn)
                r = materialize(wh, env, start, END, backend, summary=args.with_summary)
                mb = wh.megabytes()
                print(f"seconds materialize_{backend} {r.wall:.1f}")
                print(f"bars_per_second {backend} {r.bars / r.wall:,.0f}".replace(",", ""))
                print(f"megabytes peak_rss_{backend} {r.peak_mb:.0f}")
                print(f"megabytes on_disk_{backend} {mb:.0f}")
                print(f"# {backend}: {r.bars:,} bars stored; jobs " +
                      ", ".join(f"{k} {v:.1f} s" for k, v in r.jobs.items()), flush=True)
                if args.years == 3 and not args.days:
                    print(f"megabytes scale_peak_rss {r.peak_mb:.0f}  # {backend}, {args.coins} coins x 3 years",
                          flush=True)
                stored[backend] = wh
        if "growth" in only:
            gb = args.growth_backend
            gcoins = args.growth_coins or args.coins
            genv = base_env(gcoins, args.seed) if gcoins != args.coins else env
            day = END + dt.timedelta(days=1)  # the next day after the stored history, what the schedule runs
            histories = (("short", END - dt.timedelta(days=59)), ("long", END - dt.timedelta(days=119))) \
                if args.quick else (("short", END - dt.timedelta(days=365)), ("long", dt.date(2022, 1, 1)))
            times = {}
            for name, first in histories:
                reuse = gb in stored and gcoins == args.coins and start == first
                wh = stored[gb] if reuse else Warehouse(gb, tmp / f"growth_{name}", args.catalog, args.dsn)
                if not reuse:
                    materialize(wh, genv, first, END, f"growth: {gcoins} coins, history {first} .. {END}")
                times[name] = daily_run(wh, genv, day, f"daily {day} on {gb}, {gcoins} coins, history from {first}",
                                        args.growth_repeats)
                wh.drop()
                stored.pop(gb, None) if reuse else None
            label = "daily_run_4m_vs_2m" if args.quick else "daily_run_3y_vs_1y"
            print(f"seconds daily_run_short_history {times['short']:.2f}")
            print(f"seconds daily_run_long_history {times['long']:.2f}")
            print(f"growth {label} {times['long'] / times['short']:.2f}  # {gcoins} coins, {gb}", flush=True)
        for wh in stored.values():
            wh.drop()
        if "parallel" in only:
            penv = base_env(args.parallel_coins or args.coins, args.seed)
            first_monday = dt.date(2024, 1, 1)  # a Monday
            parallel_backfill(tmp / "backfill", penv, args, first_monday)
    finally:
        if tmp_ctx is not None:
            tmp_ctx.cleanup()
    return 0


def _duckdb_version() -> str:
    try:
        import duckdb

        return duckdb.__version__
    except ImportError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
