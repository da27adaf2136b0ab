"""A SQLite event log storage that writes a batch of asset events in one transaction per database.

Dagster's ``SqliteEventLogStorage`` stores every event on its own: one connection and commit on the
run's shard, then a second connection, transaction and commit on the cross-run index shard (the
asset index: ``event_logs`` copy, ``asset_event_tags``, ``asset_keys``). That is ~16 ms per
asset-partition on this machine, and a single-run backfill writes two events per asset and partition
(ASSET_MATERIALIZATION_PLANNED at run creation, ASSET_MATERIALIZATION at the end of the step).

Dagster already groups those events in batches (``DagsterEventBatchMetadata``) and hands a batch to
``EventLogStorage.store_event_batch`` when ``DAGSTER_EVENT_BATCH_SIZE`` > 0, but the SQLite storage
inherits the base fallback (one ``store_event`` per event). This class implements it the way
dagster-postgres does, for SQLite:

* run shard: one multi-row INSERT in one transaction;
* index shard: one transaction that inserts the same rows (their ids are the storage ids the asset
  index refers to, as in ``store_event``), the batch's asset event tags, and one ``asset_keys``
  update per asset key with the batch's LAST event of that key (each ``store_event`` overwrites the
  same columns: last materialisation, last run id, timestamp, so only the last one remains anyway).

Only ASSET_MATERIALIZATION, ASSET_OBSERVATION and ASSET_MATERIALIZATION_PLANNED events are written
this way; any other event of a batch (check evaluations planned, failed-to-materialise) goes through
the stock ``store_event`` after them. Watchers (``dagster dev``'s live event view) follow the run
shard's file, which the batch writes like any other insert. The equivalence with the stock storage
(materialised partitions, latest materialisation, asset records, check executions, run events) is
tested in ``test_ops_bookkeeping_storage.py``.

Importing this module turns batching on for the process (``DAGSTER_EVENT_BATCH_SIZE``, default 1000,
unless already set): the instance that loads this storage is the one whose runs batch. A storage
without ``store_event_batch`` (in-memory, stock SQLite) falls back to one event at a time, as before.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence

import dagster._check as check
import sqlalchemy as db
import yaml
from dagster import AssetKey, Field, StringSource
from dagster._core.events import AssetMaterializationPlannedData, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.base import PlannedMaterializationInfo
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlalchemy_compat import db_select
from dagster._serdes import ConfigurableClassData, deserialize_value, serialize_value

#: Events per batch handed to ``store_event_batch`` (Dagster splits longer batches).
DEFAULT_BATCH_SIZE = "1000"
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", DEFAULT_BATCH_SIZE)

#: ``json.dumps`` separators of the stored events: Dagster's default (", ", ": ") puts a blank after every
#: comma and colon, ~90 of a minimal materialisation event's ~1,440 bytes (stored twice: run and index shard).
COMPACT_JSON = (",", ":")

_BATCHED = frozenset({
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_OBSERVATION,
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
})


def _default_base_dir() -> str:
    """Where the stock local instance keeps its event log: ``history/runs`` beside the run storage.

    A storage's config knows nothing of its instance's directory, and the yaml key
    ``event_log_storage`` makes Dagster build a ``CompositeStorage`` whose run storage is the default
    ``SqliteRunStorage(base_dir=<instance dir>/history/)``. This storage is built inside that
    ``CompositeStorage.from_config_value`` call, so its run storage's directory is read from that
    frame (the instance's directory, whether or not it is ``$DAGSTER_HOME``); ``$DAGSTER_HOME`` is the
    fallback.
    """
    import inspect

    from dagster._core.storage.legacy_storage import CompositeStorage

    frame = inspect.currentframe()
    try:
        while frame is not None:
            if frame.f_code.co_name == "from_config_value":
                owner = frame.f_locals.get("cls")
                value = frame.f_locals.get("config_value")
                if isinstance(owner, type) and issubclass(owner, CompositeStorage) and isinstance(value, Mapping):
                    run_storage = value.get("run_storage") or {}
                    if run_storage.get("class_name") == "SqliteRunStorage":
                        run_dir = (yaml.safe_load(run_storage.get("config_yaml") or "") or {}).get("base_dir")
                        if run_dir:
                            return os.path.join(run_dir, "runs", "")
            frame = frame.f_back
    finally:
        del frame
    home = os.environ.get("DAGSTER_HOME")
    check.invariant(bool(home), "BatchingSqliteEventLogStorage needs base_dir or DAGSTER_HOME")
    return os.path.join(os.path.abspath(os.path.expanduser(home)), "history", "runs", "")


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with ``store_event_batch`` in one transaction per shard.

    Config (``deploy/dagster.yaml``)::

        event_log_storage:
          module: cryptofactor_assets.ops.event_storage
          class: BatchingSqliteEventLogStorage

    ``base_dir`` defaults to ``<instance dir>/history/runs``, where the stock local instance keeps
    its event log, so switching the class on an existing instance keeps its history.
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Mapping) -> BatchingSqliteEventLogStorage:
        base_dir = config_value.get("base_dir") or _default_base_dir()
        return cls(base_dir, inst_data=inst_data)

    def _initdb(self, engine, for_index_shard: bool = False) -> None:
        _page_size_of_new_database(engine, INDEX_PAGE_SIZE if for_index_shard else PAGE_SIZE)
        super()._initdb(engine, for_index_shard=for_index_shard)

    def _event_to_row(self, event: EventLogEntry) -> dict:
        """Dagster's row of an event, its JSON written without the blanks after ``,`` and ``:``
        (``COMPACT_JSON``): the same value for every reader (JSON), ~6 % fewer bytes per event. Every
        event row (run shard, index shard, single or batched) is built here."""
        row = super()._event_to_row(event)
        row["event"] = serialize_value(event, separators=COMPACT_JSON)
        return row

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        check.sequence_param(events, "events", of_type=EventLogEntry)
        events = [_one_partition_planned_as_partition(e) for e in events]
        batched = [e for e in events if e.is_dagster_event and e.dagster_event_type in _BATCHED
                   and e.get_dagster_event().asset_key is not None]
        others = [e for e in events if not (e.is_dagster_event and e.dagster_event_type in _BATCHED
                                            and e.get_dagster_event().asset_key is not None)]
        by_run: dict[str, list[EventLogEntry]] = {}
        for event in batched:
            by_run.setdefault(event.run_id, []).append(event)
        for run_id, run_events in by_run.items():
            self._store_run_batch(run_id, run_events)
        for event in others:
            self.store_event(event)

    def _store_run_batch(self, run_id: str, events: list[EventLogEntry]) -> None:
        if len(events) == 1:
            self.store_event(events[0])
            return
        insert = self.prepare_insert_event_batch(events)
        with self.run_connection(run_id) as conn:
            conn.execute(insert)
        with self.index_transaction() as conn:
            # one statement per row: each row's primary key is the storage id the asset index uses
            event_ids = []
            for event in events:
                result = conn.execute(self.prepare_insert_event(event))
                event_id = result.inserted_primary_key[0]
                check.invariant(event_id is not None, "Cannot store asset event tags for null event id.")
                event_ids.append(int(event_id))
            self._store_asset_event_tags(conn, events, event_ids)
            # a planned event and a materialisation of one key update different columns: keep the
            # last of each type per key, in storage-id order, as one-by-one writes would leave them
            last_by_key_type: dict[tuple[str, DagsterEventType], tuple[EventLogEntry, int]] = {}
            for event, event_id in zip(events, event_ids, strict=True):
                last_by_key_type[(event.get_dagster_event().asset_key.to_string(), event.dagster_event_type)] = (
                    event, event_id)
            for event, event_id in sorted(last_by_key_type.values(), key=lambda pair: pair[1]):
                self._store_asset_event(conn, event, event_id)

    # ---- one planned event per asset and run ------------------------------------------------------
    #
    # A single-run backfill over N partitions makes Dagster write N ASSET_MATERIALIZATION_PLANNED
    # events per asset (twice: run shard and index shard), and one asset-check-execution row per
    # check and partition. Dagster can write ONE planned event per asset carrying the run's
    # partitions subset instead (``supports_partition_subset_in_asset_materialization_planned_events``,
    # also behind DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS), but its SQL storage then stops
    # reporting those partitions as in progress or failed: both are derived from per-partition planned
    # rows. The three methods below read the subset events too, so the partition status the UI shows
    # (materialised, failed, in progress, latest run of a partition) is the same as with per-partition
    # events (tested against the stock storage in test_ops_bookkeeping_storage.py). A planned event
    # whose subset holds one partition is stored as the stock per-partition event.

    @property
    def supports_partition_subset_in_asset_materialization_planned_events(self) -> bool:
        return True

    def store_event(self, event: EventLogEntry) -> None:
        super().store_event(_one_partition_planned_as_partition(event))

    def _subset_planned_rows(self, asset_key: AssetKey, after_storage_id: int | None = None,
                             descending: bool = False) -> list[tuple[int, str, frozenset[str]]]:
        """(storage id, run id, partition keys) of the asset's planned events that carry a partitions
        subset (partition column NULL), after ``after_storage_id``, honouring an asset wipe."""
        table = SqlEventLogStorageTable
        query = db_select([table.c.id, table.c.run_id, table.c.event]).where(db.and_(
            table.c.asset_key == asset_key.to_string(),
            table.c.partition == None,  # noqa: E711
            table.c.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value))
        if after_storage_id is not None:
            query = query.where(table.c.id > after_storage_id)
        query = self._add_assets_wipe_filter_to_query(query, self._get_assets_details([asset_key]), [asset_key])
        query = query.order_by(table.c.id.desc() if descending else table.c.id.asc())
        with self.index_connection() as conn:
            rows = conn.execute(query).fetchall()
        out = []
        for storage_id, run_id, payload in rows:
            entry = deserialize_value(payload, EventLogEntry)
            subset = entry.get_dagster_event().event_specific_data.partitions_subset
            if subset is not None:  # an unpartitioned asset's planned event has neither
                out.append((int(storage_id), run_id, frozenset(subset.get_partition_keys())))
        return out

    def get_latest_planned_materialization_info(self, asset_key: AssetKey, partition: str | None = None
                                                ) -> PlannedMaterializationInfo | None:
        info = super().get_latest_planned_materialization_info(asset_key, partition)
        if partition is None:  # the latest planned event of the asset, whatever its partitions
            return info
        for storage_id, run_id, keys in self._subset_planned_rows(
                asset_key, after_storage_id=info.storage_id if info else None, descending=True):
            if partition in keys:
                return PlannedMaterializationInfo(storage_id=storage_id, run_id=run_id)
        return info

    def get_latest_asset_partition_materialization_attempts_without_materializations(
            self, asset_key: AssetKey, after_storage_id: int | None = None) -> Mapping[str, tuple[str, int]]:
        """Partitions whose latest planned materialisation (per-partition event or a run's subset
        event) has no later materialisation: partition -> (run id, planned storage id), as the stock
        method returns for per-partition events; the caller asks the runs whether they failed."""
        subsets = self._subset_planned_rows(asset_key, after_storage_id)
        if not subsets:
            return super().get_latest_asset_partition_materialization_attempts_without_materializations(
                asset_key, after_storage_id=after_storage_id)
        latest = self._latest_event_ids_by_partition_subquery(
            asset_key, [DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_MATERIALIZATION_PLANNED],
            after_cursor=after_storage_id)
        table = SqlEventLogStorageTable
        query = db_select([table.c.dagster_event_type, table.c.partition, table.c.run_id, table.c.id]).select_from(
            latest.join(table, table.c.id == latest.c.id))
        with self.index_connection() as conn:
            rows = conn.execute(query).fetchall()
        planned: dict[str, tuple[str, int]] = {}
        materialised: dict[str, int] = {}
        for event_type, partition, run_id, storage_id in rows:
            if event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value:
                planned[partition] = (run_id, int(storage_id))
            else:
                materialised[partition] = int(storage_id)
        for storage_id, run_id, keys in subsets:  # ascending: a later run's plan wins
            for partition in keys:
                if partition not in planned or planned[partition][1] < storage_id:
                    planned[partition] = (run_id, storage_id)
        return {partition: (run_id, storage_id) for partition, (run_id, storage_id) in planned.items()
                if materialised.get(partition, 0) < storage_id}

    # ---- one planned check row per check and run --------------------------------------------------

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        """One PLANNED asset-check-execution row per check and run (partition NULL), whatever the run's
        partitions.

        The stock storage writes one row per partition of the run (1.4 KB each: 34,000 rows for a
        7-year daily backfill). This project's checks are unpartitioned: each evaluates the run's
        whole range once and its result has no partition, so the stock evaluation update finds none
        of those rows and inserts its own, leaving every per-partition row PLANNED for ever. With one
        NULL-partition row the evaluation updates it, as for an unpartitioned run.
        (``test_no_check_is_partitioned`` keeps the premise true.)
        """
        planned = event.get_dagster_event().event_specific_data
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert().values(
                asset_key=planned.asset_key.to_string(),
                check_name=planned.check_name,
                partition=None,
                run_id=event.run_id,
                execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
                evaluation_event=serialize_value(event),
                evaluation_event_timestamp=self._event_insert_timestamp(event),
                evaluation_event_storage_id=event_id,
            ))


def _one_partition_planned_as_partition(event: EventLogEntry) -> EventLogEntry:
    """A planned materialisation whose partitions subset holds one key, as the stock per-partition event
    (``partition`` set, no subset): a one-partition run records exactly what it records without
    subset events."""
    if not (event.is_dagster_event and event.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED):
        return event
    dagster_event = event.get_dagster_event()
    data = dagster_event.event_specific_data
    subset = getattr(data, "partitions_subset", None)
    if subset is None or len(subset) != 1:
        return event
    (key,) = subset.get_partition_keys()
    one = AssetMaterializationPlannedData(data.asset_key, partition=key)
    return event._replace(dagster_event=dagster_event._replace(event_specific_data=one))


#: SQLite page size of the event log's new run shards. Dagster's events are 1.3-2 KB of JSON: a 4 KB
#: page holds one or two and leaves the rest unused, a 16 KB page wastes less per event but every
#: empty table of a run shard (~30) takes a whole page, and most runs (a day from the UI or a
#: schedule) are small. Measured on a 1-year history's instance, vacuumed: 4 KB 14.8 MB, 8 KB 14.4 MB,
#: 16 KB 15.0 MB, 32 KB 16.9 MB.
PAGE_SIZE = 8_192
#: ... and of the one cross-run index shard, which holds every asset event of every run: five ~1.35 KB
#: events fill an 8 KB page to 84 %, eleven a 16 KB page to 94 %, and its empty tables are paid once.
#: 7-year history (2026-12-06): index.db 30.7 MB with 8 KB pages, 29.5 MB with 16 KB; the whole
#: instance 58.7 -> 57.5 MB (16 KB run shards too: 56.9 MB, but a one-day run's shard doubles).
INDEX_PAGE_SIZE = 16_384


def _page_size_of_new_database(engine, page_size: int = PAGE_SIZE) -> None:
    """Give a database file that has no page yet ``page_size`` pages (an existing one keeps its own: the
    page size of a WAL database is fixed once written). Best effort: a concurrent initialisation by
    another process (the webserver and a run worker) leaves the default size, nothing else."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:
            cursor.execute(f"PRAGMA page_size = {int(page_size)}")
            cursor.execute("VACUUM")  # writes the header, so the page size sticks
    except sqlite3.Error:
        pass
    finally:
        raw.close()
