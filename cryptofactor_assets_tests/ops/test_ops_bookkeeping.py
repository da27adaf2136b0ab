"""Lean bookkeeping: a single-run backfill writes its heavy metadata once, not once per partition.

A 2-week backfill of the raw assets and the panels on an on-disk instance (``deploy/dagster.yaml``):
every partition is materialised (partition status complete through the instance API), each asset's
counts, previews, summaries and notes are on ONE event of the run (the last partition's: the asset's
latest materialisation, which the UI's asset page shows), and the other partitions' events are small.
"""

import sqlite3
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from cryptofactor_assets.common import lean_metadata
from cryptofactor_assets.panels.assets import daily_panel, weekly_panel
from cryptofactor_assets.partitions import daily_partitions, weekly_partitions
from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
from cryptofactor_assets_tests.conftest import materialize_range

ROOT = Path(__file__).resolve().parents[2]
FIRST, LAST = "2023-01-02", "2023-01-15"  # two ISO weeks
DAYS = [f"2023-01-{d:02d}" for d in range(2, 16)]
HEAVY_KEYS = {"raw_klines_5m": "preview", "raw_coin_markets": "preview", "daily_panel": "preview"}
#: a partition's event without the run's details: Dagster's envelope and data-version tags
SMALL_EVENT_BYTES = 2_000


def _instance(home: Path) -> dg.DagsterInstance:
    home.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    config.pop("run_monitoring", None)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dg.DagsterInstance.from_config(str(home))


def test_a_backfill_writes_heavy_metadata_once_and_every_partition(tmp_path, resources):
    instance = _instance(tmp_path / "home")
    assets = [raw_klines_5m, raw_coin_markets, daily_panel]
    result = dg.materialize(assets, resources=resources, instance=instance, tags={
        "dagster/asset_partition_range_start": FIRST, "dagster/asset_partition_range_end": LAST})
    assert result.success
    for name, heavy_key in HEAVY_KEYS.items():
        key = dg.AssetKey(name)
        # partition status: every day of the run is materialised, nothing failed or in progress
        assert sorted(instance.get_materialized_partitions(key)) == DAYS
        status = get_and_update_asset_status_cache_value(instance, key, daily_partitions)
        assert sorted(status.deserialize_materialized_partition_subsets(daily_partitions).get_partition_keys()) == DAYS
        assert not status.deserialize_failed_partition_subsets(daily_partitions).get_partition_keys()
        assert not status.deserialize_in_progress_partition_subsets(daily_partitions).get_partition_keys()
        events = result.asset_materializations_for_node(name)
        assert [e.partition for e in events] == DAYS
        with_details = [e.partition for e in events if heavy_key in e.metadata]
        assert with_details == [LAST], (name, with_details)
        # the latest materialisation (what the asset page shows) carries the run's details
        latest = instance.get_latest_materialization_event(key)
        assert latest.dagster_event.partition == LAST and heavy_key in latest.asset_materialization.metadata
        assert "dagster/row_count" in latest.asset_materialization.metadata
        # the other partitions carry nothing but Dagster's own fields (their run links to the details)
        for e in events[:-1]:
            assert dict(e.metadata) == {}, (name, e.metadata)
    # the stored events: one big event per asset and run, the others small
    con = sqlite3.connect(Path(instance.event_log_storage._base_dir) / "index.db")
    try:
        rows = con.execute("SELECT asset_key, partition, length(event) FROM event_logs "
                           "WHERE dagster_event_type = 'ASSET_MATERIALIZATION'").fetchall()
    finally:
        con.close()
    assert len(rows) == 3 * len(DAYS)
    big = sorted((key, partition) for key, partition, size in rows if size > SMALL_EVENT_BYTES)
    assert big == sorted((f'["{name}"]', LAST) for name in HEAVY_KEYS), big


def test_one_partition_and_weekly_runs_keep_everything(tmp_path, resources):
    instance = _instance(tmp_path / "home")
    assert materialize_range([raw_klines_5m, raw_coin_markets, daily_panel], resources, FIRST, LAST).success
    one = dg.materialize([daily_panel], resources=resources, instance=instance, partition_key="2023-01-09")
    (event,) = one.asset_materializations_for_node("daily_panel")
    assert "preview" in event.metadata and "dagster/row_count" in event.metadata
    weekly = dg.materialize([weekly_panel], resources=resources, instance=instance, tags={
        "dagster/asset_partition_range_start": "2023-01-02", "dagster/asset_partition_range_end": "2023-01-09"})
    events = weekly.asset_materializations_for_node("weekly_panel")
    assert [("preview" in e.metadata) for e in events] == [False, True]
    assert sorted(instance.get_materialized_partitions(dg.AssetKey("weekly_panel"))) == ["2023-01-02", "2023-01-09"]
    status = get_and_update_asset_status_cache_value(instance, dg.AssetKey("weekly_panel"), weekly_partitions)
    assert sorted(status.deserialize_materialized_partition_subsets(weekly_partitions).get_partition_keys()) == [
        "2023-01-02", "2023-01-09"]


def test_unpartitioned_assets_are_untouched():
    @dg.asset
    def plain(context: dg.AssetExecutionContext):
        return dg.MaterializeResult(metadata=lean_metadata(context, {"preview": dg.MetadataValue.md("| a |")}))

    result = dg.materialize([plain])
    assert "preview" in result.asset_materializations_for_node("plain")[0].metadata
