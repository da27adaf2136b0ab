"""The batching SQLite event log storage (``ops/event_storage.py``) shows the UI what the stock one shows.

The same runs (a 20-day single-run backfill of two daily assets with checks, an observation, a failed
run, a one-partition run, a run still in progress) go to two on-disk instances: Dagster's default
SQLite storage and the one ``deploy/dagster.yaml`` configures. Everything the UI reads is compared
through the instance API: materialised / failed / in-progress partitions, the latest run of every
partition, the latest materialisation and its metadata, per-partition materialisations, asset records,
check results and each run's events.

Two differences are intended and asserted as such: a multi-partition run stores ONE planned event per
asset (carrying the run's partitions) instead of one per partition, and ONE planned row per check and
run instead of one per partition (which the stock storage leaves PLANNED for ever: an unpartitioned
check's result has no partition).
"""


import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from cryptofactor_assets.ops.event_storage import BatchingSqliteEventLogStorage

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_YAML = ROOT / "deploy" / "dagster.yaml"

days = dg.DailyPartitionsDefinition(start_date="2024-01-01")
FIRST, LAST = "2024-01-01", "2024-01-20"


def _defs(fail_b: bool = False):
    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run(),
              check_specs=[dg.AssetCheckSpec("a_ok", asset="a")])
    def a(context: dg.AssetExecutionContext):
        keys = context.partition_keys
        context.add_asset_metadata({"preview": dg.MetadataValue.md("| x |\n|---|\n| 1 |")}, partition_key=keys[-1])
        yield dg.MaterializeResult(metadata={"rows": len(keys)}, tags={"team": "research"})
        yield dg.AssetCheckResult(check_name="a_ok", passed=True, metadata={"n": len(keys)})

    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run(), deps=[a])
    def b(context: dg.AssetExecutionContext):
        if fail_b:
            raise dg.Failure("b fails on purpose")
        return dg.MaterializeResult(metadata={"rows": len(context.partition_keys)})

    @dg.asset
    def summary(context: dg.AssetExecutionContext):
        context.log_event(dg.AssetObservation(asset_key="summary", metadata={"seen": 1}))
        return dg.MaterializeResult(metadata={"total": 1})

    return [a, b, summary]


def _instance(home: Path, batching: bool) -> dg.DagsterInstance:
    home.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load(DEPLOY_YAML.read_text())
    if not batching:
        config.pop("event_log_storage", None)
    config.pop("run_monitoring", None)  # no daemon here
    # no stdout capture: in a fresh clone's suite the run of _in_progress_view (a thread) waited 30 s for its
    # `tail -F` mirror to stop, then raised in the thread (a PytestUnhandledThreadExceptionWarning)
    config["compute_logs"] = {"module": "dagster._core.storage.noop_compute_log_manager",
                              "class": "NoOpComputeLogManager"}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dg.DagsterInstance.from_config(str(home))


def _run_all(instance: dg.DagsterInstance) -> list[str]:
    runs = []
    r = dg.materialize(_defs()[:2], instance=instance, tags={"dagster/asset_partition_range_start": FIRST,
                                                            "dagster/asset_partition_range_end": LAST})
    runs.append(r.run_id)
    r = dg.materialize(_defs(fail_b=True)[:2], instance=instance, raise_on_error=False,
                       tags={"dagster/asset_partition_range_start": "2024-01-21",
                             "dagster/asset_partition_range_end": "2024-01-25"})
    runs.append(r.run_id)
    r = dg.materialize(_defs()[:2], instance=instance, partition_key="2024-01-10")
    runs.append(r.run_id)
    r = dg.materialize(_defs()[2:], instance=instance)
    runs.append(r.run_id)
    return runs


PARTITIONS = [f"2024-01-{d:02d}" for d in range(1, 26)]
PLANNED = "ASSET_MATERIALIZATION_PLANNED"


def _in_progress_view(instance: dg.DagsterInstance) -> dict:
    """Partition status of a 5-day run while its step is still running (planned, not materialised)."""
    release = threading.Event()

    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
    def slow(context: dg.AssetExecutionContext):
        assert release.wait(60)
        return dg.MaterializeResult()

    key = dg.AssetKey("slow")
    tags = {"dagster/asset_partition_range_start": "2024-02-01", "dagster/asset_partition_range_end": "2024-02-05"}
    worker = threading.Thread(target=dg.materialize, args=([slow],), kwargs={"instance": instance, "tags": tags})
    worker.start()
    try:
        # every partition's planned event stored (the stock storage writes them one by one: waiting for the
        # first only made this view race the run's remaining writes)
        deadline = time.monotonic() + 60
        while (any(instance.get_latest_planned_materialization_info(key, f"2024-02-0{d}") is None for d in range(1, 6))
               and time.monotonic() < deadline):
            time.sleep(0.05)
        status = get_and_update_asset_status_cache_value(instance, key, days)
        view = {"in_progress": sorted(status.deserialize_in_progress_partition_subsets(days).get_partition_keys()),
                "failed": sorted(status.deserialize_failed_partition_subsets(days).get_partition_keys()),
                "latest_run_of_02-03": instance.get_latest_planned_materialization_info(key, "2024-02-03") is not None}
    finally:
        release.set()
        worker.join(60)
    status = get_and_update_asset_status_cache_value(instance, key, days)
    view["after"] = (sorted(status.deserialize_materialized_partition_subsets(days).get_partition_keys()),
                     sorted(status.deserialize_in_progress_partition_subsets(days).get_partition_keys()))
    return view


def _materialisation_view(instance, key):
    records = instance.fetch_materializations(key, limit=1000, ascending=True).records
    return [(r.partition_key, r.asset_materialization.metadata, r.asset_materialization.tags.get("team"))
            for r in records]


def _snapshot(instance: dg.DagsterInstance, run_ids: list[str]) -> dict:
    out: dict = {}
    for name in ("a", "b", "summary"):
        key = dg.AssetKey(name)
        out[f"{name}.materialized"] = sorted(instance.get_materialized_partitions(key))
        latest = instance.get_latest_materialization_event(key)
        out[f"{name}.latest"] = (latest.dagster_event.partition, latest.asset_materialization.metadata)
        out[f"{name}.materialisations"] = _materialisation_view(instance, key)
        record = instance.get_asset_records([key])[0]
        entry = record.asset_entry
        last = entry.last_materialization_record
        out[f"{name}.record"] = (last.event_log_entry.dagster_event.partition,
                                 run_ids.index(entry.last_run_id), run_ids.index(last.run_id))
        if name != "summary":
            status = get_and_update_asset_status_cache_value(instance, key, days)
            out[f"{name}.status"] = (sorted(status.deserialize_materialized_partition_subsets(days).get_partition_keys()),
                                     sorted(status.deserialize_failed_partition_subsets(days).get_partition_keys()),
                                     sorted(status.deserialize_in_progress_partition_subsets(days).get_partition_keys()))
        planned = instance.get_latest_planned_materialization_info(key)
        out[f"{name}.planned_run"] = run_ids.index(planned.run_id)
        if name != "summary":  # the UI's "latest run" of each partition
            out[f"{name}.latest_run_by_partition"] = [
                run_ids.index(instance.get_latest_planned_materialization_info(key, p).run_id) for p in PARTITIONS]
    obs = instance.fetch_observations(dg.AssetKey("summary"), limit=10).records
    out["summary.observations"] = [o.asset_observation.metadata for o in obs]
    check_key = dg.AssetCheckKey(dg.AssetKey("a"), "a_ok")
    history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=100)
    out["a_ok.history"] = sorted((run_ids.index(h.run_id), h.status.value, h.partition) for h in history)
    latest_check = instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key])[check_key]
    out["a_ok.latest"] = (run_ids.index(latest_check.run_id), latest_check.status.value)
    con = sqlite3.connect(Path(instance.event_log_storage._base_dir) / "index.db")
    try:
        out["index.rows"] = con.execute("SELECT asset_key, dagster_event_type, partition, count(*) FROM event_logs "
                                        "WHERE asset_key IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()
        out["index.tags"] = con.execute("SELECT t.asset_key, t.key, e.partition, count(*) FROM asset_event_tags t "
                                        "JOIN event_logs e ON e.id = t.event_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()
    finally:
        con.close()
    for i, run_id in enumerate(run_ids):
        logs = instance.all_logs(run_id)
        events = [(e.dagster_event_type.value, e.dagster_event.asset_key.to_string() if e.dagster_event.asset_key
                   else None, e.dagster_event.partition) for e in logs if e.is_dagster_event]
        out[f"run{i}.events"] = sorted(events, key=repr)
        # asset events keep their relative order (the UI lists them by storage id)
        out[f"run{i}.asset_events_in_order"] = [ev for ev in events if ev[0] in (
            "ASSET_MATERIALIZATION", "ASSET_MATERIALIZATION_PLANNED", "ASSET_OBSERVATION")]
        out[f"run{i}.status"] = instance.get_run_by_id(run_id).status.value
    return out


def test_deploy_yaml_selects_the_batching_storage(tmp_path):
    instance = _instance(tmp_path / "home", batching=True)
    assert isinstance(instance.event_log_storage, BatchingSqliteEventLogStorage)
    assert Path(instance.event_log_storage._base_dir).resolve() == (tmp_path / "home" / "history" / "runs").resolve()
    assert int(os.environ["DAGSTER_EVENT_BATCH_SIZE"]) > 0


def test_same_ui_data_as_the_stock_sqlite_storage(tmp_path):
    stock = _instance(tmp_path / "stock", batching=False)
    batching = _instance(tmp_path / "batching", batching=True)
    assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
    assert isinstance(batching.event_log_storage, BatchingSqliteEventLogStorage)
    calls = []
    original = BatchingSqliteEventLogStorage._store_run_batch

    def spy(self, run_id, events):
        calls.append(len(events))
        return original(self, run_id, events)

    BatchingSqliteEventLogStorage._store_run_batch = spy
    try:
        snap_batching = _snapshot(batching, _run_all(batching))
    finally:
        BatchingSqliteEventLogStorage._store_run_batch = original
    snap_stock = _snapshot(stock, _run_all(stock))
    assert max(calls) >= 20, calls  # the 20-partition batches went through the batch path
    assert snap_batching.keys() == snap_stock.keys()
    intended = {"a_ok.history", "index.rows"} | {f"run{i}.{what}" for i in range(4)
                                                  for what in ("events", "asset_events_in_order")}
    for key in snap_stock.keys() - intended:
        assert snap_batching[key] == snap_stock[key], key
    # the intended differences: runs 0 and 1 (20 and 5 partitions) plan each asset once ...
    for i, n_days in ((0, 20), (1, 5)):
        def without_planned(events):
            return [e for e in events if e[0] != PLANNED]
        assert without_planned(snap_batching[f"run{i}.events"]) == without_planned(snap_stock[f"run{i}.events"])
        planned_stock = [e for e in snap_stock[f"run{i}.events"] if e[0] == PLANNED]
        planned_batching = [e for e in snap_batching[f"run{i}.events"] if e[0] == PLANNED]
        assert len(planned_stock) == 2 * n_days
        assert planned_batching == [(PLANNED, '["a"]', None), (PLANNED, '["b"]', None)]
    for i in (2, 3):  # ... a one-partition and an unpartitioned run record exactly what they did before
        assert snap_batching[f"run{i}.events"] == snap_stock[f"run{i}.events"]
        assert snap_batching[f"run{i}.asset_events_in_order"] == snap_stock[f"run{i}.asset_events_in_order"]
    # ... and a check has one row per run, its result (no stale PLANNED rows per partition)
    assert snap_batching["a_ok.history"] == [(0, "SUCCEEDED", None), (1, "SUCCEEDED", None), (2, "SUCCEEDED", None)]
    assert sum(1 for row in snap_stock["a_ok.history"] if row[1] == "PLANNED") == 20 + 5 + 1
    stock_rows = {row[:3]: row[3] for row in snap_stock["index.rows"]}
    batching_rows = {row[:3]: row[3] for row in snap_batching["index.rows"]}
    assert {k: v for k, v in batching_rows.items() if k[1] != PLANNED} == \
        {k: v for k, v in stock_rows.items() if k[1] != PLANNED}
    assert sum(v for k, v in batching_rows.items() if k[1] == PLANNED) == 2 + 2 + 2 + 1  # a, b per run; summary
    assert sum(v for k, v in stock_rows.items() if k[1] == PLANNED) == 2 * 20 + 2 * 5 + 2 + 1
    # a run in progress: its partitions show in progress on both, then materialised
    assert _in_progress_view(batching) == _in_progress_view(stock) == {
        "in_progress": [f"2024-02-0{d}" for d in range(1, 6)], "failed": [], "latest_run_of_02-03": True,
        "after": ([f"2024-02-0{d}" for d in range(1, 6)], [])}
    # the expected content itself
    assert snap_stock["a.materialized"] == [f"2024-01-{d:02d}" for d in range(1, 26)]
    assert snap_stock["b.status"][1] == [f"2024-01-{d:02d}" for d in range(21, 26)]  # failed partitions
    assert snap_stock["b.materialized"] == [f"2024-01-{d:02d}" for d in range(1, 21)]
    for home in ("stock", "batching"):
        shutil.rmtree(tmp_path / home, ignore_errors=True)


@pytest.mark.parametrize("n_events", [2, 1000])
def test_batch_ids_match_index_rows(tmp_path, n_events):
    """Every batched event lands once in the run shard and once in the index, and the asset event
    tags point at the index rows."""
    instance = _instance(tmp_path / "home", batching=True)
    part = dg.DailyPartitionsDefinition(start_date="2020-01-01")

    @dg.asset(partitions_def=part, backfill_policy=dg.BackfillPolicy.single_run())
    def many(context: dg.AssetExecutionContext):
        return dg.MaterializeResult(metadata={"n": 1}, tags={"team": "x"})

    keys = part.get_partition_keys()[:n_events]
    result = dg.materialize([many], instance=instance, tags={"dagster/asset_partition_range_start": keys[0],
                                                            "dagster/asset_partition_range_end": keys[-1]})
    key = dg.AssetKey("many")
    assert sorted(instance.get_materialized_partitions(key)) == sorted(keys)
    run_events = [e for e in instance.all_logs(result.run_id) if e.is_dagster_event
                  and e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]
    assert len(run_events) == n_events
    records = instance.fetch_materializations(key, limit=5000).records
    assert len(records) == n_events
    index_db = Path(instance.event_log_storage._base_dir) / "index.db"
    con = sqlite3.connect(index_db)
    try:
        ids = {row[0] for row in con.execute(
            "SELECT id FROM event_logs WHERE asset_key = ? AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            [key.to_string()])}
        tagged = con.execute("SELECT event_id, count(*) FROM asset_event_tags WHERE asset_key = ? GROUP BY event_id",
                             [key.to_string()]).fetchall()
    finally:
        con.close()
    assert len(ids) == n_events
    # every materialisation's indexed tags (data version) point at its own index row
    assert {event_id for event_id, _ in tagged} == ids
    assert len({n for _, n in tagged}) == 1


def test_no_check_is_partitioned():
    """The storage's one planned row per check and run assumes unpartitioned checks (each evaluates its
    run's whole range once, result without a partition); a partitioned check would need per-partition
    rows again."""
    from cryptofactor_assets.definitions import defs

    graph = defs.get_repository_def().asset_graph
    assert graph.asset_check_keys
    partitioned = [key for key in graph.asset_check_keys if graph.get(key).partitions_def is not None]
    assert partitioned == []


def test_events_are_compact_json_on_fitting_pages(tmp_path):
    """The stored JSON has no blank after ',' / ':' and reads back as the same event; the index shard
    (every asset event of every run) has 16 KB pages, run shards 8 KB (small runs stay small)."""
    from dagster._serdes import deserialize_value, serialize_value

    from cryptofactor_assets.ops.event_storage import INDEX_PAGE_SIZE, PAGE_SIZE

    instance = _instance(tmp_path / "home", batching=True)
    run_id = _run_all(instance)[0]
    runs = tmp_path / "home" / "history" / "runs"
    with sqlite3.connect(runs / "index.db") as con:
        assert con.execute("PRAGMA page_size").fetchone()[0] == INDEX_PAGE_SIZE
        stored = [row[0] for row in con.execute("SELECT event FROM event_logs")]
    with sqlite3.connect(runs / f"{run_id}.db") as con:
        assert con.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
        stored += [row[0] for row in con.execute("SELECT event FROM event_logs")]
    assert stored and not any('", "' in e or '": ' in e for e in stored)
    for text in stored[:50]:
        assert serialize_value(deserialize_value(text), separators=(",", ":")) == text
    instance.dispose()
