"""The DuckLake warehouse (SQLite and PostgreSQL catalogs): concurrent writers of one table, a SIGKILL in the
middle of a commit, readers that never delay a run, time travel to the snapshot a run recorded.

Other processes are real subprocesses (``lake_worker``). Runs in `make test-lake` (.venv-lake); skipped
where the DuckLake extensions are not installed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time

import dagster as dg
import pandas as pd
import pytest

from cryptofactor_assets.common import LAKE_COMMIT_RETRIES, LAKE_SNAPSHOT_READ, LAKE_SNAPSHOT_WRITTEN
from cryptofactor_assets.panels.assets import daily_panel
from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets.storage.lake import COMMIT_TURN_WAIT_ENV, commit_turn, current_snapshot
from cryptofactor_assets.storage.warehouse import PAUSE_ENV, PAUSE_MARKER_ENV, replace_frame, replace_window
from cryptofactor_assets_tests.conftest import SMALL_COINS, materialize_range
from cryptofactor_assets_tests.lake_fixtures import ROOT, start_worker, worker_env, worker_result
from cryptofactor_assets_tests.ops_harness import kill_in_pause

pytestmark = pytest.mark.lake

DAY = dt.date(2024, 1, 1)
NEXT = DAY + dt.timedelta(days=1)


def _sim_rows(day: dt.date, value: float) -> pd.DataFrame:
    return pd.DataFrame({"category": "c", "name": "n", "symbol": [f"S{i:03d}" for i in range(50)], "date": day,
                         "value": value})


def _values(wh, snapshot: int | None = None) -> dict:
    frame = wh.query("SELECT date, min(value) AS lo, max(value) AS hi, count(*) AS n FROM sim_truth GROUP BY 1",
                     snapshot=snapshot)
    return {pd.Timestamp(r.date).date(): (r.lo, r.hi, r.n) for r in frame.itertuples()}


def test_two_writers_replacing_one_table_at_once_both_succeed_with_retries(lake_warehouse, tmp_path):
    wh = lake_warehouse
    con = wh.connect()
    replace_frame(con, "sim_truth", _sim_rows(DAY, 0), "date", DAY, NEXT)  # the table exists before they start
    con.close()
    go = tmp_path / "go"
    # both pause 1 s between their DELETE and INSERT, so their transactions overlap for sure: the second
    # COMMIT loses ("another transaction has deleted from it") and re-runs its delete + insert. On a SQLite
    # catalog the writers would take turns (lake.commit_turn): a zero wait for the turn makes them overlap
    procs = [start_worker(wh, "replace", "sim_truth", day.isoformat(), str(value), "--go", str(go),
                          env={PAUSE_ENV: "1", COMMIT_TURN_WAIT_ENV: "0"})
             for day, value in ((DAY, 1.0), (NEXT, 2.0))]
    time.sleep(3)  # both connected and waiting
    go.touch()
    results = [worker_result(p, timeout=120) for p in procs]
    assert [r["inserted"] for r in results] == [50, 50]
    assert sum(r["retries"] for r in results) >= 1, results
    assert _values(wh) == {DAY: (1.0, 1.0, 50), NEXT: (2.0, 2.0, 50)}  # both writes whole, nothing doubled


def test_writers_of_a_sqlite_catalog_take_turns_instead_of_redoing_their_commit(lake_warehouse, tmp_path):
    """The same two overlapping writers with the commit turn (the default): on a SQLite catalog the second
    waits for the first's COMMIT and commits once (a redo would write its Parquet files again); on a
    PostgreSQL catalog there is no turn (DuckLake settles insert-only commits itself)."""
    wh = lake_warehouse
    con = wh.connect()
    replace_frame(con, "sim_truth", _sim_rows(DAY, 0), "date", DAY, NEXT)
    con.close()
    go = tmp_path / "go"
    procs = [start_worker(wh, "replace", "sim_truth", day.isoformat(), str(value), "--go", str(go),
                          env={PAUSE_ENV: "1"})
             for day, value in ((DAY, 1.0), (NEXT, 2.0))]
    time.sleep(3)
    go.touch()
    results = [worker_result(p, timeout=120) for p in procs]
    assert [r["inserted"] for r in results] == [50, 50]
    if wh.backend == "ducklake_sqlite":
        assert [r["retries"] for r in results] == [0, 0], results
    assert _values(wh) == {DAY: (1.0, 1.0, 50), NEXT: (2.0, 2.0, 50)}


def test_the_commit_turn_waits_for_its_holder_gives_up_after_its_wait_and_nests(lake_warehouse):
    import threading

    wh = lake_warehouse
    holder, other = wh.connect(), wh.connect()
    holder.execute("SET threads = 1")
    held, release = threading.Event(), threading.Event()

    def hold():
        with commit_turn(holder):
            # the holder may use every core while the others wait; its own setting comes back after
            threads_in_turn.append(int(holder.execute("SELECT current_setting('threads')").fetchall()[0][0]))
            held.set()
            release.wait(10)

    threads_in_turn: list[int] = []
    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    threading.Timer(0.5, release.set).start()
    t0 = time.monotonic()
    with commit_turn(other) as waited:
        elapsed = time.monotonic() - t0
        with commit_turn(other) as nested:  # a write inside the turn does not wait for itself
            assert nested == 0.0
    thread.join()
    assert int(holder.execute("SELECT current_setting('threads')").fetchall()[0][0]) == 1
    if wh.backend == "ducklake_sqlite":
        assert 0.4 <= waited <= elapsed < 5
        assert threads_in_turn == [os.cpu_count() or 1]  # widened from 1 while held
        # a turn held elsewhere and a wait of 0.2 s: go ahead without it (the conflict retry still guards)
        held.clear(), release.clear()
        thread = threading.Thread(target=hold)
        thread.start()
        assert held.wait(10)
        with commit_turn(other, wait=0.2) as waited:
            assert 0.2 <= waited < 2
        release.set()
        thread.join()
    else:
        assert waited == 0.0 and elapsed < 0.4  # no turn on a PostgreSQL catalog
    holder.close(), other.close()


def test_a_killed_holder_of_the_commit_turn_does_not_block_the_next_writer(lake_warehouse, tmp_path):
    wh = lake_warehouse
    if wh.backend != "ducklake_sqlite":
        pytest.skip("the commit turn exists on a SQLite catalog only")
    wh.connect().close()
    code = ("import sys, time\n"
            "from cryptofactor_assets.storage.lake import commit_turn, open_lake, parse_warehouse\n"
            "spec = parse_warehouse(sys.argv[1], duckdb_file='unused', data_path=sys.argv[2])\n"
            "con = open_lake(spec)\n"
            "with commit_turn(con):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(300)\n")
    spec = wh.spec
    proc = subprocess.Popen([sys.executable, "-c", code, f"ducklake:sqlite:{spec.target}", spec.data_path],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, **wh.env()})
    assert proc.stdout.readline().strip() == "held"
    con = wh.connect()
    with commit_turn(con, wait=0.3) as waited:
        assert waited >= 0.3  # held by the live process
    proc.kill()
    proc.wait(10)
    with commit_turn(con, wait=30) as waited:
        assert waited < 2  # the kernel released the dead holder's lock
    con.close()


def test_sigkill_during_a_commit_keeps_the_previous_snapshot_and_the_rerun_succeeds(lake_warehouse, tmp_path):
    wh = lake_warehouse
    con = wh.connect()
    replace_frame(con, "sim_truth", _sim_rows(DAY, 1), "date", DAY, NEXT)
    before_snapshot = current_snapshot(con)
    con.close()
    marker = tmp_path / "paused"
    proc = start_worker(wh, "replace", "sim_truth", DAY.isoformat(), "7",
                        env={PAUSE_ENV: "120", PAUSE_MARKER_ENV: str(marker)})
    kill_in_pause(proc, marker, timeout=120)
    # the kill came in the pause: the DuckLake transaction had deleted the rows, its insert and COMMIT pending
    assert marker.read_text().split()[0] == "sim_truth"
    con = wh.connect(read_only=True)
    assert current_snapshot(con) == before_snapshot  # the killed transaction made no snapshot
    con.close()
    assert _values(wh) == {DAY: (1.0, 1.0, 50)}  # the previous rows, whole
    rerun = worker_result(start_worker(wh, "replace", "sim_truth", DAY.isoformat(), "7"), timeout=120)
    assert (rerun["deleted"], rerun["inserted"]) == (50, 50)
    assert _values(wh) == {DAY: (7.0, 7.0, 50)}
    assert _values(wh, snapshot=before_snapshot) == {DAY: (1.0, 1.0, 50)}  # and the old version is still there


def _resources(wh):
    return {"duckdb": wh.resource(), "market_source": MarketSourceResource(kind="simulated", sim_coins=SMALL_COINS)}


def _last_meta(result, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events()
              if e.materialization.asset_key == dg.AssetKey(asset)]
    return {k: v.value for k, v in events[-1].materialization.metadata.items()}


def test_metadata_names_the_snapshots_and_sql_at_snapshot_reads_the_old_rows(lake_warehouse):
    wh = lake_warehouse
    first, last = DAY.isoformat(), NEXT.isoformat()
    result = materialize_range([raw_klines_5m, raw_coin_markets, daily_panel], _resources(wh), first, last)
    assert result.success
    for asset in ("raw_klines_5m", "raw_coin_markets", "daily_panel"):
        meta = _last_meta(result, asset)
        assert meta[LAKE_COMMIT_RETRIES] == 0
        assert 0 <= meta[LAKE_SNAPSHOT_READ] < meta[LAKE_SNAPSHOT_WRITTEN], (asset, meta)
    written = _last_meta(result, "daily_panel")[LAKE_SNAPSHOT_WRITTEN]
    count = "SELECT count(*) AS n FROM daily_panel WHERE date = DATE '2024-01-01'"
    stored = int(wh.query(count).n.iloc[0])
    assert stored > 0
    # a later replace of the day (with nothing): the current version lacks the rows ...
    con = wh.connect()
    replace_window(con, "daily_panel", "date", DAY, NEXT, "INSERT INTO daily_panel BY NAME SELECT * FROM daily_panel "
                                                          "WHERE false")
    con.close()
    assert int(wh.query(count).n.iloc[0]) == 0
    # ... and the CLI reads them from the snapshot the run's metadata recorded
    out = subprocess.run([sys.executable, "-m", "cryptofactor_assets.cli", "sql", "--warehouse", wh.setting,
                          "--at-snapshot", str(written), "--csv", count], cwd=ROOT, env=worker_env(wh),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == str(stored), out.stdout


def test_a_long_window_is_committed_chunk_by_chunk_and_equals_the_file(lake_warehouse, tmp_path, monkeypatch):
    """The simulated bars of a long window go into a DuckLake one chunk of whole days at a time (one snapshot
    each: staging a 3-year window whole ran out of memory), and the tables equal a DuckDB file's row for row."""
    from cryptofactor_assets.sources import simulated
    from cryptofactor_assets.storage.checksums import compare_checksums, table_checksums
    from cryptofactor_assets_tests.lake_fixtures import make_warehouse

    monkeypatch.setattr(simulated, "CHUNK_BARS", SMALL_COINS * simulated.BARS_PER_DAY * 3)  # 3 days a chunk
    first, last = DAY.isoformat(), (DAY + dt.timedelta(days=9)).isoformat()  # 10 days: chunks 3 + 3 + 3 + 1
    wh = lake_warehouse
    assert materialize_range([raw_klines_5m], _resources(wh), first, last).success
    file_wh = make_warehouse("duckdb", tmp_path)
    assert materialize_range([raw_klines_5m], _resources(file_wh), first, last).success
    con = wh.connect(read_only=True)
    changes = con.execute("SELECT changes FROM ducklake_snapshots('lake')").fetchall()
    table_id = con.execute("SELECT table_id FROM ducklake_table_info('lake') WHERE table_name = 'raw_klines_5m'"
                           ).fetchall()[0][0]
    inserts = sum(str(table_id) in (c[0].get("tables_inserted_into") or []) for c in changes)
    assert inserts == 4, changes
    lake_sums, file_con = table_checksums(con), file_wh.connect(read_only=True)
    file_sums = table_checksums(file_con)
    con.close(), file_con.close()
    keep = ("raw_klines_5m", "symbol_ids", "rejected_rows")
    assert lake_sums["raw_klines_5m"].rows > 0
    assert not compare_checksums({k: lake_sums[k] for k in keep}, {k: file_sums[k] for k in keep})


def test_a_reader_holding_a_transaction_open_does_not_delay_a_run(lake_warehouse):
    wh = lake_warehouse
    first, last = DAY.isoformat(), NEXT.isoformat()
    res = _resources(wh)
    assert materialize_range([raw_klines_5m, raw_coin_markets, daily_panel], res, first, last).success

    def timed_run() -> float:
        t0 = time.perf_counter()
        assert materialize_range([daily_panel], res, first, last).success
        return time.perf_counter() - t0

    alone = timed_run()
    # another process (a notebook) reads the table the run rewrites, in an open transaction held all along
    reader = start_worker(wh, "read", "daily_panel", "--hold", "120", stdin=subprocess.PIPE)
    try:
        ready = json.loads(reader.stdout.readline())
        with_reader = timed_run()
        reader.stdin.write("done\n")
        reader.stdin.flush()
        still = json.loads(reader.stdout.readline())
        assert reader.wait(timeout=60) == 0, reader.stderr.read()[-2000:]
    finally:
        if reader.poll() is None:
            reader.kill()
    assert ready["ready"] > 0 and still["still"] == ready["ready"]  # the reader kept its snapshot
    # a run blocked by the reader would wait for its 120 s (or fail): the same time, give or take the load
    assert with_reader < 2 * alone + 5, (alone, with_reader)


def test_a_process_attaches_its_lake_once_and_each_connection_keeps_its_own_transaction(lake_warehouse,
                                                                                       monkeypatch):
    from cryptofactor_assets.storage import lake

    wh = lake_warehouse
    lake.close_shared_lakes()
    attaches = []
    attach = lake._attach_lake
    def counted(spec, read_only=False, *args):  # the attaches of writing connections (wh.query reads apart)
        if not read_only:
            attaches.append(1)
        return attach(spec, read_only, *args)

    monkeypatch.setattr(lake, "_attach_lake", counted)
    first, second = wh.connect(), wh.connect()
    assert len(attaches) == 1  # the extensions loaded and the catalog attached once for both
    assert lake.is_lake_connection(first) and lake.is_lake_connection(second)
    replace_frame(first, "sim_truth", _sim_rows(DAY, 1.0), "date", DAY, NEXT)
    assert _values(wh) == {DAY: (1.0, 1.0, 50)}

    # TEMP tables, registered frames and transactions stay each connection's own
    first.execute("CREATE TEMP TABLE staged AS SELECT 1 AS x")
    first.register("incoming", pd.DataFrame({"x": [1]}))
    for query in ("SELECT * FROM temp.main.staged", "SELECT * FROM incoming"):
        with pytest.raises(Exception, match="does not exist"):
            second.execute(query).fetchall()
    first.execute("BEGIN")
    first.execute("DELETE FROM sim_truth")
    assert second.execute("SELECT count(*) FROM sim_truth").fetchall()[0][0] == 50  # not committed
    first.close()  # a step that died mid-transaction: closing its connection rolls it back, drops its TEMP
    third = wh.connect()
    assert third.execute("SELECT count(*) FROM sim_truth").fetchall()[0][0] == 50
    with pytest.raises(Exception, match="does not exist"):
        third.execute("SELECT * FROM temp.main.staged").fetchall()
    assert len(attaches) == 1

    # switched off: every connection attaches the lake itself
    monkeypatch.setenv(lake.SHARED_INSTANCE_ENV, "0")
    wh.connect()
    assert len(attaches) == 2


def test_a_lake_dropped_or_replaced_under_the_shared_instance_is_read_afresh(lake_warehouse, request):
    import re
    import shutil

    from cryptofactor_assets.storage import lake

    wh = lake_warehouse

    def drop_the_lake() -> None:
        if wh.backend == "ducklake_sqlite":
            folder = os.path.dirname(wh.spec.target)
            for leftover in [p for p in os.listdir(folder) if p.startswith("catalog.sqlite")]:
                os.remove(os.path.join(folder, leftover))
        else:
            server = request.getfixturevalue("postgres_server")
            name = re.search(r"dbname=(\S+)", wh.setting).group(1)
            server.drop_database(name)
            server.create_database(name)
        shutil.rmtree(wh.data_path)

    def stored(con) -> list:
        return con.execute("SELECT date, min(value), count(*) FROM sim_truth GROUP BY 1 ORDER BY 1").fetchall()

    con = wh.connect()
    replace_frame(con, "sim_truth", _sim_rows(DAY, 1.0), "date", DAY, NEXT)
    con.close()  # the process keeps the lake attached (the shared instance)
    drop_the_lake()  # nothing in its place: the instance cannot reach it, a new lake is attached
    con = wh.connect()
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'lake'").fetchall()[0][0] == 0
    replace_frame(con, "sim_truth", _sim_rows(DAY, 3.0), "date", DAY, NEXT)
    assert stored(con) == [(DAY, 3.0, 50)]
    con.close()
    drop_the_lake()  # another client makes another lake in its place: its rows are read
    other = lake._attach_lake(wh.spec)
    replace_frame(other, "sim_truth", _sim_rows(NEXT, 2.0), "date", NEXT, NEXT + dt.timedelta(days=1))
    other.close()
    con = wh.connect()
    assert stored(con) == [(NEXT, 2.0, 50)]
    replace_frame(con, "sim_truth", _sim_rows(DAY, 4.0), "date", DAY, NEXT)
    assert _values(wh) == {DAY: (4.0, 4.0, 50), NEXT: (2.0, 2.0, 50)}
