"""`cryptofactor` command line: materialise date ranges through the Dagster definitions, list tables.

    cryptofactor materialize --start 2023-01-01 --end 2024-12-31 [--source simulated|files|bybit] ...
    cryptofactor tables | report | sql "<query>" | snapshot
    cryptofactor fetch-cross-asset --start 2015-01-01 [--markets-only] [--out data/cross_asset_yfinance.csv]

`materialize` runs the SAME jobs the UI and the schedules run (daily, then weekly, then monthly, then
summary), each as one run over its whole partition range (single-run backfill), recorded in the
Dagster instance when DAGSTER_HOME is set (so the UI shows them), else in an ephemeral one.

Exit codes (``materialize``): 0 every step succeeded and nothing failed; 1 a step failed (later jobs
are not run); 2 bad arguments or settings; 3 partial: every step ran but a symbol's fetch or an
ERROR-severity asset check failed (``--allow-partial`` makes that 0); 130 / 143 interrupted by SIGINT /
SIGTERM. A failed WARN-severity check (e.g. a factor leg without coins on a small universe) is listed
as a warning in the summary and does not change the exit code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from dataclasses import dataclass, field

from cryptofactor_assets.strategies.costs import VENUES

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def _iso_date(text: str) -> dt.date:
    """argparse type: a UTC day ``YYYY-MM-DD`` (a one-line error otherwise, never a traceback)."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD, e.g. 2024-01-31") from None


def _set_source_env(args: argparse.Namespace) -> None:
    """Source options become env vars, which the definitions read (one code path with the UI)."""
    mapping = {
        "CRYPTOFACTOR_SOURCE": args.source,
        "CRYPTOFACTOR_KLINES_GLOB": args.klines,
        "CRYPTOFACTOR_MARKETS_GLOB": args.markets,
        "CRYPTOFACTOR_ONCHAIN_GLOB": args.onchain,
        "CRYPTOFACTOR_SYMBOLS": args.symbols,
        "CRYPTOFACTOR_COINGECKO_IDS": args.coingecko_ids,
        "CRYPTOFACTOR_DEAD_COINGECKO_IDS": args.dead_coingecko_ids,
        "CRYPTOFACTOR_BYBIT_CATEGORY": args.bybit_category,
        "CRYPTOFACTOR_SIM_SEED": None if args.seed is None else str(args.seed),
        "CRYPTOFACTOR_SIM_COINS": None if args.coins is None else str(args.coins),
        "CRYPTOFACTOR_STRICT": "1" if args.strict else None,
        "CRYPTOFACTOR_REPLACE": "1" if args.replace else None,
        "CRYPTOFACTOR_TIMEZONE": args.timezone,
        "CRYPTOFACTOR_VENUE": args.venue,
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


def _say(message: str) -> None:
    print(f"[cryptofactor] {message}", flush=True)


def _root_cause(error) -> str:
    """The user's exception behind Dagster's "Error occurred while executing op" wrapper, one paragraph."""
    while error is not None and error.cause is not None and (
            error.cls_name in ("DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError")
            or error.message.startswith("dagster._core.errors.DagsterExecutionStepExecutionError")
            or "Error occurred while executing" in error.message):
        error = error.cause
    if error is None:
        return "unknown error"
    text = " ".join(error.message.strip().split())
    name = error.cls_name or ""
    # Dagster's message starts with the qualified class name ("pkg.module.Error: ..."): keep the short one
    qualified = text.split(":", 1)[0]
    if name and qualified.endswith(name) and " " not in qualified:
        text = text[len(qualified) + 1:].strip()
    if name:
        text = f"{name}: {text}"
    return text[:800] + ("..." if len(text) > 800 else "")


def _metadata_text(metadata, *keys: str) -> str:
    for key in keys:
        value = metadata.get(key)
        if value is None:
            continue
        text = str(getattr(value, "value", value)).strip()
        if text and text != "none":
            return " ".join(text.split())
    return ""


@dataclass
class JobOutcome:
    """What one job's run did, for the console summary and the exit code."""

    job: str
    label: str
    success: bool = True
    step_failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    warned_checks: list[str] = field(default_factory=list)
    failed_sources: list[str] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return bool(self.failed_checks or self.failed_sources)


def _outcome(job_name: str, label: str, result) -> JobOutcome:
    out = JobOutcome(job_name, label, success=result.success)
    for event in result.all_events:
        kind = event.event_type_value
        if kind == "STEP_SUCCESS":
            duration = getattr(event.event_specific_data, "duration_ms", None)
            took_step = f" ({duration / 1000:.1f} s)" if duration is not None else ""
            _say(f"  ok   {event.step_key}{took_step}")
        elif kind == "STEP_FAILURE":
            cause = _root_cause(event.event_specific_data.error)
            out.step_failures.append(f"{event.step_key}: {cause}")
            _say(f"  FAIL {event.step_key}: {cause}")
        elif kind == "STEP_SKIPPED":
            out.skipped.append(event.step_key)
            _say(f"  skip {event.step_key} (an upstream step failed: not run, its checks not evaluated)")
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if data.passed:
                continue
            name = f"{data.asset_key.to_user_string()}.{data.check_name}"
            severity = getattr(data.severity, "value", str(data.severity))
            reason = _metadata_text(data.metadata, "reasons", "description", "failures", "failed_symbols") \
                or "no reason given"
            _say(f"  check failed: {name} ({severity}): {reason}")
            if data.check_name == "source_fetch_complete":  # reported once, as a failed fetch
                symbols = _metadata_text(data.metadata, "failed_symbols")
                out.failed_sources.append(f"{data.asset_key.to_user_string()} [{label}]: {symbols}: {reason}")
                continue
            line = f"{name} ({severity}) [{label}]: {reason}"
            (out.warned_checks if severity == "WARN" else out.failed_checks).append(line)
    return out


#: The op config ``--full-grid`` sets: the seed's 36 configurations in ``neural_beta_grid``.
FULL_GRID_OPS = {"neural_beta_grid": {"config": {"full_grid": True}}}


def run_ops_config(args: argparse.Namespace) -> dict:
    """Op (asset) config the ``materialize`` flags set, for every run that holds those assets."""
    return dict(FULL_GRID_OPS) if getattr(args, "full_grid", False) else {}


def _run_job(defs, instance, job_name: str, first: str | None, last: str | None,
             ops: dict | None = None) -> JobOutcome | None:
    """One run of ``job_name`` over partition keys [first, last] (or unpartitioned); None if not defined.
    ``ops``: op config of the run (entries for ops the job does not hold are left out)."""
    from cryptofactor_assets.ops.run_guard import execute_guarded
    from cryptofactor_assets.partitions import DUCKDB_POOL

    try:
        job = defs.get_job_def(job_name)
    except Exception:  # a job with no assets is not defined
        return None
    tags = {}
    label = "all"
    if first is not None:
        tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
        label = first if first == last else f"{first} .. {last}"
    _say(f"{job_name}: {label} ...")
    t0 = time.perf_counter()
    log_level = os.environ.get("CRYPTOFACTOR_LOG_LEVEL", "WARNING")
    run_config: dict = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    ops = {name: cfg for name, cfg in (ops or {}).items() if job.graph.has_node_named(name)}
    if ops:
        run_config["ops"] = ops
    result = execute_guarded(
        job, instance, tags=tags, pool=DUCKDB_POOL, log=lambda m: _say(m), run_config=run_config,
    )
    outcome = _outcome(job_name, label, result)
    took = time.perf_counter() - t0
    state = "success" if result.success and not outcome.partial else "PARTIAL" if result.success else "FAILED"
    _say(f"{job_name}: {state} in {took:.1f} s")
    return outcome


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


def _summary(outcomes: list[JobOutcome], allow_partial: bool) -> int:
    """Print what failed (source, symbols, reasons, partitions) and return the exit code."""
    failed = [o for o in outcomes if not o.success]
    partial = [o for o in outcomes if o.partial]
    source = os.environ.get("CRYPTOFACTOR_SOURCE", "simulated")
    for o in failed:
        for line in o.step_failures:
            _say(f"failed step in {o.job} [{o.label}]: {line}")
    for o in outcomes:
        for line in o.warned_checks:
            _say(f"warning: check failed in {o.job}: {line}")
    for o in partial:
        for line in o.failed_sources:
            _say(f"source={source} fetch failed: {line}")
        for line in o.failed_checks:
            _say(f"check failed in {o.job}: {line}")
    if failed:
        return EXIT_FAILED
    if partial:
        if allow_partial:
            _say("partial result accepted (--allow-partial): exit 0")
            return EXIT_OK
        n_sources = sum(len(o.failed_sources) for o in partial)
        n_checks = sum(len(o.failed_checks) for o in partial)
        _say(f"PARTIAL: every step ran, but {n_sources} fetch(es) and {n_checks} ERROR check(s) failed "
             f"(exit {EXIT_PARTIAL}; --allow-partial to accept)")
        return EXIT_PARTIAL
    return EXIT_OK


def materialize(args: argparse.Namespace) -> int:
    _set_source_env(args)
    start, end = args.start, args.end
    if end < start:
        print(f"cryptofactor: --end {end} is before --start {start}", file=sys.stderr)
        return EXIT_USAGE
    from cryptofactor_assets import settings

    try:
        from cryptofactor_assets.definitions import (
            DAILY_JOB,
            MONTHLY_JOB,
            SUMMARY_JOB,
            WEEKLY_JOB,
            build_definitions,
        )

        # built now, from this call's settings (a second in-process call must not reuse the first's)
        defs = build_definitions()
        from cryptofactor_assets.progress import progress_interval

        progress_interval()  # a bad CRYPTOFACTOR_PROGRESS_SECONDS is a one-line error now, not in a step
    except (ValueError, TypeError) as exc:  # a bad setting (env var or flag), said in one line
        print(f"cryptofactor: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE

    if start < settings.partitions_start():
        print(f"cryptofactor: --start {start} is before the first partition {settings.partitions_start()} "
              f"(set {settings.PARTITIONS_START_ENV})", file=sys.stderr)
        return EXIT_USAGE
    last_day = settings.partitions_end()
    if last_day is not None and end > last_day:
        print(f"cryptofactor: --end {end} is after the last partition {last_day} "
              f"(set {settings.PARTITIONS_END_ENV}, or unset it for partitions up to today)", file=sys.stderr)
        return EXIT_USAGE
    from cryptofactor_assets.ops.run_guard import reclaim_dead_runs

    instance = _instance()
    reclaim_dead_runs(instance, log=_say)
    _say(f"source={os.environ.get('CRYPTOFACTOR_SOURCE', 'simulated')} "
         f"{'warehouse' if settings.warehouse().is_lake else 'duckdb'}={settings.warehouse().label} days {start} .. {end}")
    t0 = time.perf_counter()
    outcomes: list[JobOutcome] = []

    ops = run_ops_config(args)

    def run(job_name, first=None, last=None) -> bool:
        outcome = _run_job(defs, instance, job_name, first, last, ops)
        if outcome is not None:
            outcomes.append(outcome)
        return outcome is None or outcome.success

    from cryptofactor_assets import progress

    # progress lines (fetches, ingests: at most one per ~10 s per step) print on the console even though
    # the Dagster console logger shows WARNING and above; at INFO or DEBUG that logger prints them already
    handler = None
    if os.environ.get("CRYPTOFACTOR_LOG_LEVEL", "WARNING").strip().upper() not in ("INFO", "DEBUG"):
        handler = progress.attach_console()
    try:
        ok = run(DAILY_JOB, start.isoformat(), end.isoformat())
        weeks = _weeks_inside(start, end)
        if ok and weeks and not args.skip_weekly:
            ok = run(WEEKLY_JOB, *weeks)
        months = _months_inside(start, end)
        if ok and months and not args.skip_weekly:
            ok = run(MONTHLY_JOB, *months)
        if ok and not args.skip_summary:
            ok = run(SUMMARY_JOB)
    finally:
        if handler is not None:
            progress.detach_console(handler)
    code = _summary(outcomes, args.allow_partial)
    word = {EXIT_OK: "done", EXIT_PARTIAL: "PARTIAL", EXIT_FAILED: "FAILED"}[code]
    _say(f"{word} in {time.perf_counter() - t0:.1f} s (exit {code})")
    if ok:
        tables(args)
    return code


def _stored_warehouse(args: argparse.Namespace):
    """The warehouse a reading command works on (``--duckdb`` / ``--warehouse`` or the settings), or None
    (said) when it is a DuckDB file that does not exist."""
    from cryptofactor_assets import settings

    if getattr(args, "duckdb", None):
        os.environ["CRYPTOFACTOR_DUCKDB"] = args.duckdb
    if getattr(args, "warehouse", None):
        os.environ[settings.WAREHOUSE_ENV] = args.warehouse
    spec = settings.warehouse()
    if not spec.is_lake and not spec.target.startswith("md:") and not os.path.exists(spec.target):
        print(f"cryptofactor: no DuckDB file at {spec.target}", file=sys.stderr)  # md:<name>: MotherDuck
        return None
    return spec


def _stored_duckdb(args: argparse.Namespace) -> str | None:
    """The DuckDB file a command that copies files works on, or None (said) if absent or a DuckLake."""
    spec = _stored_warehouse(args)
    if spec is not None and spec.is_lake:
        print(f"cryptofactor: {spec.label} is a DuckLake: read an old version with "
              f"`cryptofactor sql --at-snapshot N`; its data are Parquet files any engine reads", file=sys.stderr)
        return None
    return None if spec is None else spec.target


def _open_stored(spec, *, snapshot: int | None = None, wait_seconds: float | None = None):
    """A read-only connection to the warehouse, or None after one line on stderr (a DuckDB file locked
    past the wait, a lake whose extensions or catalog are missing, a bad snapshot)."""
    from cryptofactor_assets.storage.connection import DuckDBLockTimeout, DuckDBOpenError, open_warehouse
    from cryptofactor_assets.storage.lake import LakeUnavailable

    try:
        return open_warehouse(spec, read_only=True, snapshot=snapshot, wait_seconds=wait_seconds,
                              log=lambda m: print(f"[cryptofactor] {m}", file=sys.stderr, flush=True))
    except (DuckDBLockTimeout, DuckDBOpenError, LakeUnavailable, RuntimeError, ValueError) as exc:
        print(f"cryptofactor: {' '.join(str(exc).split())}", file=sys.stderr)
        return None


def tables(args: argparse.Namespace) -> int:
    spec = _stored_warehouse(args)
    if spec is None:
        return EXIT_FAILED
    from cryptofactor_assets.storage.identifiers import quote_qualified

    # read-only, and the catalog's names are data: each part of "<db>"."main"."<table>" is quoted, so a
    # table named like a statement (quotes, ';', '--', COPY ... TO) is only ever counted, never run
    con = _open_stored(spec)
    if con is None:
        return EXIT_FAILED
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

    from cryptofactor_assets.reporting.tear_sheet import (
        build_tear_sheet,
        default_report_path,
        write_tear_sheet,
    )

    spec = _stored_warehouse(args)
    if spec is None:
        return EXIT_FAILED
    con = _open_stored(spec)
    if con is None:
        return EXIT_FAILED
    try:
        sheet = build_tear_sheet(con, source_label=spec.label)
    finally:
        con.close()
    path = spec.target if not spec.is_lake else os.path.join(spec.data_path, "cryptofactor.duckdb")
    out = write_tear_sheet(sheet, args.out or default_report_path(path))
    for s in sheet.sections:
        note = s.error or (f"not built yet: materialise {', '.join(s.missing)}" if s.missing else "")
        print(f"[cryptofactor]   {s.status:<7} {s.title}{': ' + note if note else ''}")
    print(f"[cryptofactor] tear sheet written to {out}", flush=True)
    return 0


def sql(args: argparse.Namespace) -> int:
    """Run one query on a short-lived read-only connection and print (or export) the result.

    The connection is held for the query only, so a run that needs the file waits at most that long;
    while a run's step holds the file, the query waits for it (logged), it never breaks the run.
    """
    spec = _stored_warehouse(args)
    if spec is None:
        return EXIT_FAILED
    import duckdb

    con = _open_stored(spec, snapshot=args.at_snapshot, wait_seconds=args.wait)
    if con is None:
        return EXIT_FAILED
    try:
        frame = con.execute(args.query).df()
    except duckdb.Error as exc:
        print(f"cryptofactor: query failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        con.close()  # before printing: the file is free again as soon as the rows are in memory
    if args.out:
        if args.out.endswith(".parquet"):
            frame.to_parquet(args.out, index=False)
        else:
            frame.to_csv(args.out, index=False)
        print(f"[cryptofactor] {len(frame):,} rows written to {args.out}", file=sys.stderr)
    elif args.csv:
        frame.to_csv(sys.stdout, index=False)
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", args.max_rows, "display.max_columns", 50, "display.width", 200):
            print(frame.to_string(index=False, max_rows=args.max_rows))
    return EXIT_OK


def checksums(args: argparse.Namespace) -> int:
    """Print ``<table> <rows> <checksum>`` per table; with ``--against``, compare and exit 1 on a difference."""
    from cryptofactor_assets import settings
    from cryptofactor_assets.storage.checksums import compare_checksums, rows_close, table_checksums
    from cryptofactor_assets.storage.lake import parse_warehouse

    spec = _stored_warehouse(args)
    if spec is None:
        return EXIT_FAILED
    specs = [spec]
    if args.against:
        other = parse_warehouse(args.against, duckdb_file=settings.duckdb_path(),
                                data_path=os.environ.get(settings.LAKE_DATA_PATH_ENV))
        if not other.is_lake and not os.path.exists(other.target):
            print(f"cryptofactor: no DuckDB file at {other.target}", file=sys.stderr)
            return EXIT_FAILED
        specs.append(other)
    cons = [_open_stored(one) for one in specs]
    if any(con is None for con in cons):
        for con in cons:
            if con is not None:
                con.close()
        return EXIT_FAILED
    try:
        sums = [table_checksums(con, significant=args.significant) for con in cons]
        for name, c in sums[0].items():
            print(f"{name:<40} {c.rows:>12,} {c.checksum:016x}")
        if len(sums) == 1:
            return EXIT_OK
        diffs, close = [], []
        for line in compare_checksums(*sums):
            table = line.split(":")[0]
            reason = rows_close(cons[0], cons[1], table) if table in sums[0] and table in sums[1] else line
            if reason is None:
                close.append(table)  # the same rows; floats differ in their last bits only
            else:
                diffs.append(reason)
    finally:
        for con in cons:
            con.close()
    for line in diffs:
        _say(f"differs: {line}")
    if close:
        _say(f"equal within 1e-9 relative, checksums differ in the last bits of floats (summation order): "
             f"{', '.join(close)}")
    _say(f"{len(sums[0])} tables in {specs[0].label}, {len(sums[1])} in {specs[1].label}: "
         + (f"EQUAL ({len(sums[0]) - len(close)} by checksum, {len(close)} within 1e-9)" if not diffs
            else f"{len(diffs)} table(s) differ"))
    return EXIT_OK if not diffs else EXIT_FAILED


def snapshot(args: argparse.Namespace) -> int:
    """Copy the DuckDB file to a snapshot file that notebooks may keep open without blocking any run."""
    from cryptofactor_assets.storage.connection import DuckDBLockTimeout, DuckDBOpenError, write_snapshot

    path = _stored_duckdb(args)
    if path is None:
        return EXIT_FAILED
    out = args.out or os.path.join(os.path.dirname(path) or ".", "snapshot.duckdb")
    if os.path.abspath(out) == os.path.abspath(path):
        print("cryptofactor: --out must not be the DuckDB file itself", file=sys.stderr)
        return EXIT_USAGE
    t0 = time.perf_counter()
    try:
        counts = write_snapshot(path, out, wait_seconds=args.wait, log=_say)
    except (DuckDBLockTimeout, DuckDBOpenError) as exc:
        print(f"cryptofactor: {exc}", file=sys.stderr)
        return EXIT_FAILED
    _say(f"snapshot of {path} ({len(counts)} tables, {sum(counts.values()):,} rows) written to {out} "
         f"in {time.perf_counter() - t0:.1f} s; open it with duckdb.connect({out!r}, read_only=True)")
    return EXIT_OK


#: Where ``fetch-cross-asset`` writes by default (the file CRYPTOFACTOR_CROSS_ASSET_CSV then names).
CROSS_ASSET_CSV_DEFAULT = os.path.join("data", "cross_asset_yfinance.csv")


def fetch_cross_asset(args: argparse.Namespace) -> int:
    """Download daily closes of the coin and market tickers with yfinance (the optional ``cross-asset``
    extra) and write them in ``yf.download(...).to_csv()``'s layout, the file ``cross_asset_monthly``
    reads (CRYPTOFACTOR_CROSS_ASSET_CSV). Exit 0 written; 1 a ticker brought no price (nothing
    written); 2 bad arguments or yfinance not installed."""
    from cryptofactor_assets.neural import loaders
    from cryptofactor_assets.neural.cross_asset import parse_tickers

    try:
        coins = {} if args.markets_only else (
            parse_tickers(args.coins) if args.coins is not None else dict(loaders.DEFAULT_COIN_TICKERS))
        markets = parse_tickers(args.markets) if args.markets is not None else dict(loaders.DEFAULT_MARKET_TICKERS)
    except ValueError as exc:
        print(f"cryptofactor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    mapping = {**coins, **markets}
    if not mapping:
        print("cryptofactor: no ticker to fetch (--coins and --markets are empty)", file=sys.stderr)
        return EXIT_USAGE
    if args.end is not None and args.end < args.start:
        print(f"cryptofactor: --end {args.end} is before --start {args.start}", file=sys.stderr)
        return EXIT_USAGE
    try:
        loaders.import_yfinance()
    except loaders.YFinanceMissingError as exc:
        print(f"cryptofactor: fetch-cross-asset: {exc}", file=sys.stderr)
        return EXIT_USAGE
    end = None if args.end is None else (args.end + dt.timedelta(days=1)).isoformat()  # yfinance: exclusive
    _say(f"fetch-cross-asset: {len(mapping)} tickers ({', '.join(f'{k}={v}' for k, v in mapping.items())}) "
         f"daily closes {args.start} .. {args.end or 'today'}")
    t0 = time.perf_counter()
    fetched = loaders.fetch_yfinance_closes(mapping, args.start.isoformat(), end)
    coverage = fetched.coverage()
    for row in coverage.itertuples():
        span = f"{row.first} .. {row.last}, {row.closes} closes" if row.closes else "NO PRICE"
        _say(f"  {row.name:<8} {row.ticker:<10} {span}")
    if fetched.missing:
        print(f"cryptofactor: no price from yfinance for {', '.join(fetched.missing)} "
              f"({', '.join(fetched.mapping[m] for m in fetched.missing)}): nothing written "
              f"(check the tickers, or retry later if Yahoo rate-limited the download)", file=sys.stderr)
        return EXIT_FAILED
    out = loaders.write_yfinance_csv(fetched.frame, args.out)
    # read back as cross_asset_monthly will: the file must give every name's monthly returns
    monthly = loaders.yfinance_monthly_returns(loaders.read_yfinance_csv(out), fetched.mapping).dropna(how="all")
    span = f"monthly returns {monthly.index.min():%Y-%m} .. {monthly.index.max():%Y-%m}" if len(monthly) else (
        "no monthly return yet: the range holds one calendar month")
    _say(f"wrote {out} ({len(fetched.frame)} days, {span}) in {time.perf_counter() - t0:.1f} s; use it with:")
    print(f"export CRYPTOFACTOR_CROSS_ASSET_CSV={out}")
    print("export CRYPTOFACTOR_CROSS_ASSET_TICKERS=" + ",".join(f"{k}={v}" for k, v in fetched.mapping.items()))
    if args.markets_only:
        print("export CRYPTOFACTOR_CROSS_ASSET_COINS=daily_panel  # coins from the stored daily_panel")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cryptofactor", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("materialize", help="materialise every asset for a range of UTC days (inclusive)",
                       epilog="exit codes: 0 ok, 1 a step failed, 2 bad arguments, 3 partial (a symbol or an "
                              "ERROR check failed; --allow-partial makes it 0), 130/143 interrupted")
    m.add_argument("--start", required=True, type=_iso_date, help="first UTC day, YYYY-MM-DD")
    m.add_argument("--end", required=True, type=_iso_date, help="last UTC day (inclusive), YYYY-MM-DD")
    m.add_argument("--source", choices=["simulated", "files", "bybit"], default=None,
                   help="market data source (env CRYPTOFACTOR_SOURCE, default simulated)")
    m.add_argument("--klines", help="files: glob of kline files (freqtrade feather, Binance CSV, CSV/parquet)")
    m.add_argument("--markets", help="files: glob of CoinGecko export CSV files")
    m.add_argument("--onchain", help="any source: glob of on-chain activity CSV files "
                                     "(date,coin,active_addresses,tx_count) for the CHAIN factor")
    m.add_argument("--symbols", help="bybit: comma-separated symbols, e.g. BTCUSDT,ETHUSDT")
    m.add_argument("--coingecko-ids", help="bybit: CoinGecko ids for market caps, e.g. bitcoin,ethereum")
    m.add_argument("--dead-coingecko-ids", help="bybit: CoinGecko ids of coins that died (no longer listed): fetched "
                   "too, so the cap universe is not only today's survivors")
    m.add_argument("--bybit-category", choices=["linear", "spot"], default=None)
    m.add_argument("--seed", type=int, help="simulated: seed")
    m.add_argument("--coins", type=int, help="simulated: number of coins")
    m.add_argument("--strict", action="store_true", help="fail when any symbol's fetch fails")
    m.add_argument("--replace", action="store_true",
                   help="let a re-fetch with fewer rows replace what is stored (default: keep, report)")
    m.add_argument("--timezone", help="files: IANA time zone of naive times in kline files (default UTC)")
    m.add_argument("--venue", choices=sorted(VENUES),
                   help="fees (and funding for perpetuals) of the strategy backtests (default bybit_linear)")
    m.add_argument("--allow-partial", action="store_true",
                   help="exit 0 even when a symbol's fetch or an ERROR check failed (still reported)")
    m.add_argument("--duckdb", help="DuckDB file (env CRYPTOFACTOR_DUCKDB)")
    m.add_argument("--skip-weekly", action="store_true", help="only the daily job")
    m.add_argument("--skip-summary", action="store_true", help="skip the unpartitioned summary job")
    m.add_argument("--full-grid", action="store_true",
                   help="neural_beta_grid runs the seed's 36 configurations on the 7 targets (default: the demo grid)")
    m.set_defaults(func=materialize)
    t = sub.add_parser("tables", help="list the DuckDB tables with row counts")
    t.add_argument("--duckdb", help="DuckDB file (env CRYPTOFACTOR_DUCKDB)")
    t.add_argument("--warehouse", help="warehouse (env CRYPTOFACTOR_WAREHOUSE)")
    t.set_defaults(func=tables)
    r = sub.add_parser("report", help="write the tear sheet (one self-contained HTML page) of what is stored")
    r.add_argument("--out", help="HTML file (default: reports/tear_sheet.html next to the DuckDB file)")
    r.add_argument("--duckdb", help="DuckDB file (env CRYPTOFACTOR_DUCKDB)")
    r.add_argument("--warehouse", help="warehouse (env CRYPTOFACTOR_WAREHOUSE)")
    r.set_defaults(func=report)
    q = sub.add_parser("sql", help="run one read-only query on a short-lived connection (never blocks a run)")
    q.add_argument("query", help='e.g. "SELECT * FROM factor_returns_weekly ORDER BY week_start DESC LIMIT 5"')
    q.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    q.add_argument("--out", help="write the result to a .parquet or .csv file")
    q.add_argument("--max-rows", type=int, default=60, help="rows printed (default 60)")
    q.add_argument("--at-snapshot", type=int, default=None, metavar="N",
                   help="DuckLake only: read the warehouse as it was at snapshot N (time travel; the asset "
                        "metadata lake_snapshot_read / lake_snapshot_written name the versions a run saw and made)")
    q.add_argument("--warehouse", help="warehouse (env CRYPTOFACTOR_WAREHOUSE: duckdb:<file>, ducklake:postgres:<dsn>, "
                                       "ducklake:sqlite:<file>)")
    q.add_argument("--wait", type=float, default=None,
                   help="seconds to wait while a run holds the file (default CRYPTOFACTOR_LOCK_WAIT_SECONDS)")
    q.add_argument("--duckdb", help="DuckDB file (env CRYPTOFACTOR_DUCKDB)")
    q.set_defaults(func=sql)
    s = sub.add_parser("snapshot", help="copy the DuckDB file to a snapshot that notebooks can keep open")
    s.add_argument("--out", help="snapshot file (default: snapshot.duckdb next to the DuckDB file)")
    s.add_argument("--wait", type=float, default=None,
                   help="seconds to wait while a run holds the file (default CRYPTOFACTOR_LOCK_WAIT_SECONDS)")
    s.add_argument("--duckdb", help="DuckDB file (env CRYPTOFACTOR_DUCKDB)")
    s.set_defaults(func=snapshot)
    c = sub.add_parser("checksums", help="row count and checksum per table; --against compares two warehouses "
                                         "(exit 1 when any table differs)")
    c.add_argument("--warehouse", help="warehouse (env CRYPTOFACTOR_WAREHOUSE)")
    c.add_argument("--duckdb", help="DuckDB file (env CRYPTOFACTOR_DUCKDB)")
    c.add_argument("--against", help="a second warehouse (duckdb:<file> / ducklake:...) to compare with")
    c.add_argument("--significant", type=int, default=12,
                   help="significant digits of floating-point values in the hash (default 12)")
    c.set_defaults(func=checksums)
    f = sub.add_parser("fetch-cross-asset",
                       help="download daily closes of coins and markets with yfinance into the cross-asset CSV",
                       description="Download daily closes (auto-adjusted) of the coin and market tickers with "
                                   "yfinance and write them in yf.download().to_csv()'s layout: the file "
                                   "CRYPTOFACTOR_CROSS_ASSET_CSV names for cross_asset_monthly. Needs the optional "
                                   "extra: pip install 'cryptofactor[cross-asset]'.",
                       epilog="exit codes: 0 written, 1 a ticker brought no price (nothing written), "
                              "2 bad arguments or yfinance not installed")
    f.add_argument("--start", required=True, type=_iso_date, help="first day, YYYY-MM-DD")
    f.add_argument("--end", type=_iso_date, default=None, help="last day (inclusive), YYYY-MM-DD (default: today)")
    f.add_argument("--coins", default=None,
                   help="coin tickers NAME=TICKER,... (default: " + ",".join(
                       f"{k}={v}" for k, v in {"BTC": "BTC-USD", "ETH": "ETH-USD", "LTC": "LTC-USD",
                                               "BCH": "BCH-USD"}.items()) + ")")
    f.add_argument("--markets", default=None,
                   help="market tickers NAME=TICKER,..., names among FIAT, EQUITY, GOLD, ENERGY (default: "
                        "FIAT=DX-Y.NYB,EQUITY=^GSPC,GOLD=GC=F,ENERGY=CL=F)")
    f.add_argument("--markets-only", action="store_true",
                   help="no coin tickers: the coins come from the stored daily_panel "
                        "(CRYPTOFACTOR_CROSS_ASSET_COINS=daily_panel)")
    f.add_argument("--out", default=CROSS_ASSET_CSV_DEFAULT, help=f"CSV file (default {CROSS_ASSET_CSV_DEFAULT})")
    f.set_defaults(func=fetch_cross_asset)
    return parser


def main(argv: list[str] | None = None) -> int:
    import warnings

    from cryptofactor_assets.sources.redaction import install_redaction

    install_redaction()  # secrets (API keys, passwords) never reach the console, logs or event log

    warnings.filterwarnings("ignore", category=Warning, module="dagster")
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
