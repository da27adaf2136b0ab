"""A separate process of the DuckLake tests (``python -m cryptofactor_assets_tests.lake_worker <command> ...``).

The warehouse comes from the environment (``CRYPTOFACTOR_WAREHOUSE``, ``CRYPTOFACTOR_LAKE_DATA_PATH``);
each command prints one JSON line on stdout.

* ``materialize FIRST LAST [--weekly] [--only raw_klines_5m] [--go FILE]``: the daily inputs
  (raw_klines_5m, raw_coin_markets, daily_panel) over the days FIRST..LAST, then (``--weekly``)
  weekly_panel over the weeks starting in them, through Dagster's in-process executor with the product's
  resources; prints the DuckLake metadata of every materialisation and the seconds the runs took.
* ``replace TABLE DAY VALUE [--go FILE]``: one ``replace_window`` of the day DAY of ``sim_truth``-like
  rows; prints the ``WriteResult``.
* ``read TABLE [--hold SECONDS]``: opens a connection, BEGINs a transaction, counts TABLE, prints
  ``{"ready": n}``, holds the transaction until a line arrives on stdin (or SECONDS pass), counts again
  inside the same transaction and prints it.

``--go FILE``: wait until FILE exists before starting (several workers start at the same moment).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import select
import sys
import time
import warnings
from pathlib import Path


def _wait_for(path: str | None) -> None:
    while path and not os.path.exists(path):
        time.sleep(0.01)


def _barrier(folder: str, stage: int, parties: int, timeout: float = 600) -> None:
    """Wait until ``parties`` workers finished stage ``stage - 1``: a daily partition reads the previous
    day's bars and a week the previous week's panel (``day_and_previous_day``, ``week_and_previous_days``),
    written by ANOTHER worker's range, so each stage starts when the one before is stored everywhere."""
    Path(folder, f"done-{stage}-{os.getpid()}").touch()
    deadline = time.monotonic() + timeout
    while len(list(Path(folder).glob(f"done-{stage}-*"))) < parties:
        if time.monotonic() > deadline:
            raise TimeoutError(f"barrier {stage}: fewer than {parties} workers arrived")
        time.sleep(0.1)


def _materialize(args) -> dict:
    import dagster as dg

    warnings.filterwarnings("ignore")
    from cryptofactor_assets.common import (
        LAKE_COMMIT_RETRIES,
        LAKE_SNAPSHOT_READ,
        LAKE_SNAPSHOT_WRITTEN,
        duckdb_resource,
    )
    from cryptofactor_assets.panels.assets import daily_panel, weekly_panel
    from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
    from cryptofactor_assets.sources.resources import MarketSourceResource

    resources = {"duckdb": duckdb_resource(), "market_source": MarketSourceResource.from_env()}
    if args.only == "raw_klines_5m":
        runs = [([raw_klines_5m], args.first, args.last)]
    elif args.barrier:  # upstream stage by stage, as a backfill honouring the declared look-backs runs it
        runs = [([raw_klines_5m, raw_coin_markets], args.first, args.last), ([daily_panel], args.first, args.last)]
    else:
        runs = [([raw_klines_5m, raw_coin_markets, daily_panel], args.first, args.last)]
    if args.weekly:
        first, last = dt.date.fromisoformat(args.first), dt.date.fromisoformat(args.last)
        mondays = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)
                   if (first + dt.timedelta(days=i)).weekday() == 0 and first + dt.timedelta(days=i + 6) <= last]
        runs.append(([weekly_panel], mondays[0].isoformat(), mondays[-1].isoformat()))
    _wait_for(args.go)
    t0 = time.perf_counter()
    meta = {}
    for stage, (assets, start, end) in enumerate(runs):
        if stage and args.barrier:
            _barrier(args.barrier, stage, args.parties)
        result = dg.materialize(assets, resources=resources, raise_on_error=False,
                                tags={"dagster/asset_partition_range_start": start,
                                      "dagster/asset_partition_range_end": end})
        if not result.success:
            errors = [str(e.event_specific_data.error) for e in result.all_events
                      if e.event_type_value == "STEP_FAILURE"]
            return {"ok": False, "errors": errors}
        for event in result.get_asset_materialization_events():
            m = event.materialization.metadata
            if LAKE_SNAPSHOT_WRITTEN in m:
                meta[event.materialization.asset_key.to_user_string()] = {
                    k: m[k].value for k in (LAKE_SNAPSHOT_READ, LAKE_SNAPSHOT_WRITTEN, LAKE_COMMIT_RETRIES)}
    return {"ok": True, "seconds": time.perf_counter() - t0, "meta": meta}


def _replace(args) -> dict:
    import pandas as pd

    from cryptofactor_assets import settings
    from cryptofactor_assets.storage.connection import open_warehouse
    from cryptofactor_assets.storage.warehouse import replace_frame

    day = dt.date.fromisoformat(args.day)
    frame = pd.DataFrame({"category": "c", "name": "n", "symbol": [f"S{i:03d}" for i in range(50)],
                          "date": day, "value": float(args.value)})
    con = open_warehouse(settings.warehouse())
    try:
        _wait_for(args.go)
        r = replace_frame(con, args.table, frame, "date", day, day + dt.timedelta(days=1))
    finally:
        con.close()
    return {"ok": True, "deleted": r.deleted, "inserted": r.inserted, "retries": r.retries}


def _read(args) -> None:
    from cryptofactor_assets import settings
    from cryptofactor_assets.storage.connection import open_warehouse
    from cryptofactor_assets.storage.identifiers import quote_ident

    con = open_warehouse(settings.warehouse(), read_only=True)
    count = f"SELECT count(*) FROM {quote_ident(args.table)}"
    con.execute("BEGIN TRANSACTION")
    print(json.dumps({"ready": int(con.execute(count).fetchall()[0][0])}), flush=True)
    select.select([sys.stdin], [], [], args.hold)
    print(json.dumps({"still": int(con.execute(count).fetchall()[0][0])}), flush=True)
    con.execute("COMMIT")
    con.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("materialize")
    m.add_argument("first")
    m.add_argument("last")
    m.add_argument("--weekly", action="store_true")
    m.add_argument("--only", default=None)
    m.add_argument("--go", default=None)
    m.add_argument("--barrier", default=None, help="a folder: run the stages in step with --parties workers")
    m.add_argument("--parties", type=int, default=1)
    r = sub.add_parser("replace")
    r.add_argument("table")
    r.add_argument("day")
    r.add_argument("value", type=float)
    r.add_argument("--go", default=None)
    q = sub.add_parser("read")
    q.add_argument("table")
    q.add_argument("--hold", type=float, default=120.0)
    args = parser.parse_args(argv)
    if args.command == "read":
        _read(args)
        return 0
    out = _materialize(args) if args.command == "materialize" else _replace(args)
    print(json.dumps(out, default=str), flush=True)
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
