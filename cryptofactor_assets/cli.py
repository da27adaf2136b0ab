"""`cryptofactor` command line: materialise date ranges through the Dagster definitions, list tables.

    cryptofactor materialize --start 2023-01-01 --end 2024-12-31 [--source simulated|files|bybit] ...
    cryptofactor tables

`materialize` runs the SAME jobs the UI and the schedules run (daily, then weekly, then monthly, then
summary), each as one run over its whole partition range (single-run backfill), recorded in the
Dagster instance when DAGSTER_HOME is set (so the UI shows them), else in an ephemeral one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time


def _set_source_env(args: argparse.Namespace) -> None:
    """Source options become env vars, which the definitions read (one code path with the UI)."""
    mapping = {
        "CRYPTOFACTOR_SOURCE": args.source,
        "CRYPTOFACTOR_KLINES_GLOB": args.klines,
        "CRYPTOFACTOR_MARKETS_GLOB": args.markets,
        "CRYPTOFACTOR_SYMBOLS": args.symbols,
        "CRYPTOFACTOR_COINGECKO_IDS": args.coingecko_ids,
        "CRYPTOFACTOR_BYBIT_CATEGORY": args.bybit_category,
        "CRYPTOFACTOR_SIM_SEED": None if args.seed is None else str(args.seed),
        "CRYPTOFACTOR_SIM_COINS": None if args.coins is None else str(args.coins),
        "CRYPTOFACTOR_STRICT": "1" if args.strict else None,
        "CRYPTOFACTOR_DUCKDB": args.duckdb,
    }
    for key, value in mapping.items():
        if value:
            os.environ[key] = value


def _instance():
    import dagster as dg

    if os.environ.get("DAGSTER_HOME"):
        os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _run_job(defs, instance, job_name: str, first: str | None, last: str | None) -> bool:
    """One run of ``job_name`` over partition keys [first, last] (or unpartitioned). True on success."""
    try:
        job = defs.get_job_def(job_name)
    except Exception:  # a job with no assets (domain not installed) is not defined
        return True
    tags = {}
    label = "all"
    if first is not None:
        tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
        label = first if first == last else f"{first} .. {last}"
    print(f"[cryptofactor] {job_name}: {label} ...", flush=True)
    t0 = time.perf_counter()
    log_level = os.environ.get("CRYPTOFACTOR_LOG_LEVEL", "WARNING")
    result = job.execute_in_process(
        instance=instance, tags=tags, raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    took = time.perf_counter() - t0
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS":
            duration = getattr(event.event_specific_data, "duration_ms", None)
            took_step = f" ({duration / 1000:.1f} s)" if duration is not None else ""
            print(f"[cryptofactor]   ok   {event.step_key}{took_step}", flush=True)
        elif event.event_type_value == "STEP_FAILURE":
            print(f"[cryptofactor]   FAIL {event.step_key}: {event.event_specific_data.error.message.strip()}",
                  flush=True)
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if not data.passed:
                print(f"[cryptofactor]   check failed: {data.asset_key.to_user_string()}.{data.check_name} "
                      f"{data.metadata.get('description').value if data.metadata.get('description') else ''}")
    print(f"[cryptofactor] {job_name}: {'success' if result.success else 'FAILED'} in {took:.1f} s", flush=True)
    return result.success


def _weeks_inside(start: dt.date, end: dt.date) -> tuple[str, str] | None:
    """First and last Monday of the ISO weeks lying wholly inside [start, end] (end inclusive)."""
    first = start + dt.timedelta(days=(7 - start.weekday()) % 7)
    last = end - dt.timedelta(days=(end.weekday() + 1) % 7)  # the Sunday on or before end
    last_monday = last - dt.timedelta(days=6)
    if last_monday < first:
        return None
    return first.isoformat(), last_monday.isoformat()


def _months_inside(start: dt.date, end: dt.date) -> tuple[str, str] | None:
    first = start if start.day == 1 else (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    nxt = end + dt.timedelta(days=1)
    last = (nxt.replace(day=1) - dt.timedelta(days=1)).replace(day=1) if nxt.day == 1 else (
        (end.replace(day=1) - dt.timedelta(days=1)).replace(day=1))
    if last < first:
        return None
    return first.isoformat(), last.isoformat()


def materialize(args: argparse.Namespace) -> int:
    _set_source_env(args)
    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    if end < start:
        print("--end is before --start", file=sys.stderr)
        return 2
    from cryptofactor_assets import settings
    from cryptofactor_assets.definitions import DAILY_JOB, MONTHLY_JOB, SUMMARY_JOB, WEEKLY_JOB, defs

    if start < settings.partitions_start():
        print(f"--start {start} is before the first partition {settings.partitions_start()} "
              f"(set {settings.PARTITIONS_START_ENV})", file=sys.stderr)
        return 2
    instance = _instance()
    print(f"[cryptofactor] source={os.environ.get('CRYPTOFACTOR_SOURCE', 'simulated')} "
          f"duckdb={settings.duckdb_path()} days {start} .. {end}", flush=True)
    t0 = time.perf_counter()
    ok = _run_job(defs, instance, DAILY_JOB, start.isoformat(), end.isoformat())
    weeks = _weeks_inside(start, end)
    if ok and weeks and not args.skip_weekly:
        ok = _run_job(defs, instance, WEEKLY_JOB, *weeks)
    months = _months_inside(start, end)
    if ok and months and not args.skip_weekly:
        ok = _run_job(defs, instance, MONTHLY_JOB, *months)
    if ok and not args.skip_summary:
        ok = _run_job(defs, instance, SUMMARY_JOB, None, None)
    print(f"[cryptofactor] {'done' if ok else 'FAILED'} in {time.perf_counter() - t0:.1f} s", flush=True)
    if ok:
        tables(args)
    return 0 if ok else 1


def tables(args: argparse.Namespace) -> int:
    import duckdb

    from cryptofactor_assets import settings

    if getattr(args, "duckdb", None):
        os.environ["CRYPTOFACTOR_DUCKDB"] = args.duckdb
    path = settings.duckdb_path()
    if not os.path.exists(path):
        print(f"no DuckDB file at {path}", file=sys.stderr)
        return 1
    from cryptofactor_assets.storage.identifiers import quote_qualified

    # read-only, and the catalog's names are data: each part of "<db>"."main"."<table>" is quoted, so a
    # table named like a statement (quotes, ';', '--', COPY ... TO) is only ever counted, never run
    con = duckdb.connect(path, read_only=True)
    try:
        catalog = con.execute("SELECT current_database()").fetchall()[0][0]
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_schema = 'main' ORDER BY 1").fetchall()]
        width = max((len(n) for n in names), default=10)
        print(f"{'table':<{width}}  {'rows':>12}")
        for name in names:
            n = con.execute(f"SELECT count(*) FROM {quote_qualified(catalog, 'main', name)}").fetchall()[0][0]
            print(f"{name:<{width}}  {n:>12,}")
    finally:
        con.close()
    return 0


def report(args: argparse.Namespace) -> int:
    """Write the tear sheet (one self-contained HTML page) of the DuckDB file, read-only."""
    import duckdb

    from cryptofactor_assets import settings
    from cryptofactor_assets.reporting.tear_sheet import (
        build_tear_sheet,
        default_report_path,
        write_tear_sheet,
    )

    if getattr(args, "duckdb", None):
        os.environ["CRYPTOFACTOR_DUCKDB"] = args.duckdb
    path = settings.duckdb_path()
    if not path.startswith("md:") and not os.path.exists(path):  # md:<name>: a MotherDuck database
        print(f"no DuckDB file at {path}", file=sys.stderr)
        return 1
    con = duckdb.connect(path, read_only=True)
    try:
        sheet = build_tear_sheet(con, source_label=path)
    finally:
        con.close()
    out = write_tear_sheet(sheet, args.out or default_report_path(path))
    for s in sheet.sections:
        note = s.error or (f"not built yet: materialise {', '.join(s.missing)}" if s.missing else "")
        print(f"[cryptofactor]   {s.status:<7} {s.title}{': ' + note if note else ''}")
    print(f"[cryptofactor] tear sheet written to {out}", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cryptofactor", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("materialize", help="materialise every asset for a range of UTC days (inclusive)")
    m.add_argument("--start", required=True, help="first UTC day, YYYY-MM-DD")
    m.add_argument("--end", required=True, help="last UTC day (inclusive), YYYY-MM-DD")
    m.add_argument("--source", choices=["simulated", "files", "bybit"], default=None,
                   help="market data source (env CRYPTOFACTOR_SOURCE, default simulated)")
    m.add_argument("--klines", help="files: glob of kline files (freqtrade feather, Binance CSV, CSV/parquet)")
    m.add_argument("--markets", help="files: glob of CoinGecko export CSV files")
    m.add_argument("--symbols", help="bybit: comma-separated symbols, e.g. BTCUSDT,ETHUSDT")
    m.add_argument("--coingecko-ids", help="bybit: CoinGecko ids for market caps, e.g. bitcoin,ethereum")
    m.add_argument("--bybit-category", choices=["linear", "spot"], default=None)
    m.add_argument("--seed", type=int, help="simulated: seed")
    m.add_argument("--coins", type=int, help="simulated: number of coins")
    m.add_argument("--strict", action="store_true", help="fail when any symbol's fetch fails")
    m.add_argument("--duckdb", help="DuckDB file (env CRYPTOFACTOR_DUCKDB)")
    m.add_argument("--skip-weekly", action="store_true", help="only the daily job")
    m.add_argument("--skip-summary", action="store_true", help="skip the unpartitioned summary job")
    m.set_defaults(func=materialize)
    t = sub.add_parser("tables", help="list the DuckDB tables with row counts")
    t.add_argument("--duckdb", help="DuckDB file (env CRYPTOFACTOR_DUCKDB)")
    t.set_defaults(func=tables)
    r = sub.add_parser("report", help="write the tear sheet (one self-contained HTML page) of what is stored")
    r.add_argument("--out", help="HTML file (default: reports/tear_sheet.html next to the DuckDB file)")
    r.add_argument("--duckdb", help="DuckDB file (env CRYPTOFACTOR_DUCKDB)")
    r.set_defaults(func=report)
    return parser


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore", category=Warning, module="dagster")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
