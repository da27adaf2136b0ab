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
from collections.abc import Mapping, Sequence

import dagster._check as check
import yaml
from dagster import Field, StringSource
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData

#: Events per batch handed to ``store_event_batch`` (Dagster splits longer batches).
DEFAULT_BATCH_SIZE = "1000"
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", DEFAULT_BATCH_SIZE)

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

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        check.sequence_param(events, "events", of_type=EventLogEntry)
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
