"""Concurrent runs on a DuckLake: 4 processes writing different weeks of the same tables equal a serial run row
for row; 4 concurrent ingests registering new symbols never give two symbols one id.

Every process is a real subprocess (``lake_worker``: the product's assets and resources through Dagster's
in-process executor, started at the same moment). Runs in `make test-lake` (.venv-lake).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from cryptofactor_assets.storage.checksums import compare_checksums, rows_close, table_checksums
from cryptofactor_assets_tests.lake_fixtures import make_warehouse, start_worker, worker_result

pytestmark = pytest.mark.lake

FIRST_WEEK = dt.date(2024, 1, 1)  # a Monday
WEEKS = 4
#: DuckLake bookkeeping (``storage.warehouse.hold_write_lock``): not data, no DuckDB-file counterpart
LAKE_ONLY = {"lake_write_locks"}


def _week(i: int) -> tuple[str, str]:
    start = FIRST_WEEK + dt.timedelta(weeks=i)
    return start.isoformat(), (start + dt.timedelta(days=6)).isoformat()


def _together(wh, tmp_path, commands: list[list[str]], env: list[dict] | None = None) -> list[dict]:
    """Start every worker, let them import and connect, then release them at once; their results."""
    go = tmp_path / "go"
    procs = [start_worker(wh, *cmd, "--go", str(go), env=(env or [{}] * len(commands))[i])
             for i, cmd in enumerate(commands)]
    time.sleep(8)  # Dagster imported, waiting on the go file
    go.touch()
    return [worker_result(p, timeout=400) for p in procs]


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The reference: one process over the 4 weeks into a plain DuckDB file."""
    wh = make_warehouse("duckdb", tmp_path_factory.mktemp("serial"))
    first, last = _week(0)[0], _week(WEEKS - 1)[1]
    worker_result(start_worker(wh, "materialize", first, last, "--weekly"), timeout=400)
    con = wh.connect(read_only=True)
    try:
        sums = table_checksums(con)
    finally:
        con.close()
    assert sums["weekly_panel"].rows > 0
    return wh, sums


def test_four_concurrent_runs_of_different_weeks_equal_a_serial_run(lake_warehouse, serial, tmp_path):
    wh = lake_warehouse
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    # stage by stage (bars, daily panel, weekly panel), each stage's 4 writes at once: a day reads the day
    # before and a week the week before, which the neighbouring worker writes (the declared look-backs)
    results = _together(wh, tmp_path, [["materialize", *_week(i), "--weekly", "--barrier", str(barrier),
                                        "--parties", str(WEEKS)] for i in range(WEEKS)])
    for r in results:  # every write recorded its versions and the commits it lost
        assert set(r["meta"]) == {"raw_klines_5m", "raw_coin_markets", "daily_panel", "weekly_panel"}, r
        for meta in r["meta"].values():
            assert meta["lake_snapshot_read"] < meta["lake_snapshot_written"] and meta["lake_commit_retries"] >= 0
    retries = sum(m["lake_commit_retries"] for r in results for m in r["meta"].values())
    print(f"{wh.backend}: {retries} commit(s) retried by 4 concurrent runs")
    reference_wh, reference = serial
    con, ref = wh.connect(read_only=True), reference_wh.connect(read_only=True)
    try:
        lake = {name: c for name, c in table_checksums(con).items() if name not in LAKE_ONLY}
        differ = [line if "only in" in line else rows_close(con, ref, line.split(":")[0])
                  for line in compare_checksums(lake, reference)]
        differ = [line for line in differ if line is not None]
    finally:
        con.close()
        ref.close()
    assert not differ, differ
    assert lake["weekly_panel"].rows > 0 and lake["raw_klines_5m"].rows > 0


def test_concurrent_ingests_of_new_symbols_never_share_an_id(lake_warehouse, tmp_path):
    wh = lake_warehouse
    # four universes (4, 6, 9, 12 coins) on four weeks: every process registers symbols the store lacks
    coins = [4, 6, 9, 12]
    results = _together(wh, tmp_path, [["materialize", *_week(i), "--only", "raw_klines_5m"] for i in range(4)],
                        env=[{"CRYPTOFACTOR_SIM_COINS": str(n)} for n in coins])
    assert all(r["meta"]["raw_klines_5m"]["lake_snapshot_written"] > 0 for r in results)
    ids = wh.query("SELECT symbol, symbol_id FROM symbol_ids")
    assert ids.symbol.is_unique and ids.symbol_id.is_unique, ids.sort_values("symbol_id")
    assert sorted(ids.symbol_id) == list(range(len(ids)))  # dense, as a serial run numbers them
    # every bar carries its symbol's registered id, and every symbol of every universe is registered
    bad = wh.query("SELECT count(*) AS n FROM raw_klines_5m k LEFT JOIN symbol_ids i USING (symbol) "
                   "WHERE i.symbol_id IS NULL OR i.symbol_id <> k.symbol_id").n.iloc[0]
    assert bad == 0
    stored = set(wh.query("SELECT DISTINCT symbol FROM raw_klines_5m").symbol)
    assert stored == set(ids.symbol)
    weeks = wh.query("SELECT count(DISTINCT date_trunc('week', open_time)) AS n FROM raw_klines_5m").n.iloc[0]
    assert weeks == 4
