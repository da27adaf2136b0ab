"""Runs started in this process (the CLI) never leave a pool slot behind, and never wait on a dead run.

Dagster frees a run's ``duckdb`` pool slot when its step ends, and a code server or the daemon's run
monitoring cleans up after a run worker that died. A run executed *in process* (``cryptofactor
materialize``) has neither: SIGKILLed mid-step, it stays STARTED with the one slot claimed, and every
later run on the same ``DAGSTER_HOME`` waits for that slot forever. So:

* every in-process run carries tags naming its host, PID (with the PID's start time, so a recycled PID
  is not mistaken for the run) and a heartbeat refreshed every ``HEARTBEAT_SECONDS``;
* before starting, :func:`reclaim_dead_runs` looks at every run holding or queueing for a pool slot:
  a run of this host whose process is gone, a run of another host whose heartbeat is older than
  ``CRYPTOFACTOR_RUN_HEARTBEAT_TIMEOUT`` (default 300 s), a run that already ended, or a run without
  these tags (launched elsewhere, or by an older CLI) that has written no event for
  ``CRYPTOFACTOR_RUN_STALE_AFTER`` (default 3600 s), is marked failed (when still in progress) and its
  slots freed; each reclaim is logged;
* :func:`execute_guarded` runs the job in a worker thread so that the main thread keeps SIGINT / SIGTERM:
  on a signal the run is reported failed, its slots are freed and the process exits within seconds
  (an uncommitted DuckDB transaction is discarded, exactly as after a kill), and on every exit path the
  run's slots are freed. While the run waits for a slot held by another live run, a line says which.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

HOST_TAG = "cryptofactor/host"
PID_TAG = "cryptofactor/pid"
PID_START_TAG = "cryptofactor/pid_start"
HEARTBEAT_TAG = "cryptofactor/heartbeat"
HEARTBEAT_SECONDS = 30.0
HEARTBEAT_TIMEOUT_ENV = "CRYPTOFACTOR_RUN_HEARTBEAT_TIMEOUT"
DEFAULT_HEARTBEAT_TIMEOUT = 300.0
#: A run without our process tags (webserver / daemon / older CLI) counts as dead after this much silence.
STALE_AFTER_ENV = "CRYPTOFACTOR_RUN_STALE_AFTER"
DEFAULT_STALE_AFTER = 3600.0
#: Seconds a signalled run gets to finish on its own before the process exits.
STOP_GRACE_SECONDS = 3.0

IN_PROGRESS = (DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.NOT_STARTED,
               DagsterRunStatus.QUEUED, DagsterRunStatus.CANCELING)


def _pid_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), '' when unknown."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return ""
    # the command name (field 2) is in parentheses and may contain spaces: split after the last ')'
    return stat.rsplit(")", 1)[1].split()[19]


def process_alive(pid: int, start: str = "") -> bool:
    """True when ``pid`` runs here and (if ``start`` is known) is the same process that started then."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if start and os.path.exists(f"/proc/{pid}"):
        return _pid_start(pid) == start
    return True


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def process_tags() -> dict[str, str]:
    pid = os.getpid()
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), PID_START_TAG: _pid_start(pid),
            HEARTBEAT_TAG: _now_iso()}


def _seconds_env(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    try:
        return float(value) if value.strip() else default
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number of seconds") from None


def heartbeat_timeout() -> float:
    return _seconds_env(HEARTBEAT_TIMEOUT_ENV, DEFAULT_HEARTBEAT_TIMEOUT)


def _silent_for(instance: dg.DagsterInstance, run_id: str, now: dt.datetime) -> float | None:
    """Seconds since the run's newest event (None when it has none)."""
    records = instance.get_records_for_run(run_id, ascending=False, limit=1).records
    if not records:
        return None
    return now.timestamp() - records[0].event_log_entry.timestamp


@dataclass(frozen=True)
class Reclaimed:
    run_id: str
    reason: str
    steps: tuple[str, ...]


def _why_dead(instance, run, timeout: float, stale_after: float, now: dt.datetime) -> str | None:
    """Why ``run`` (holding or queueing for a slot) is dead, or None when it may still be alive."""
    if run is None:
        return "the run no longer exists"
    if run.status not in IN_PROGRESS:
        return f"the run already ended ({run.status.value}) without releasing its slot"
    tags = run.tags
    if PID_TAG not in tags:
        # launched by a webserver / daemon (its code server and run monitoring look after it) or by an
        # older CLI without these tags: only a run silent for far longer than any step logs is dead
        age = _silent_for(instance, run.run_id, now)
        if age is not None and age > stale_after:
            return (f"no event for {age:.0f} s (> {STALE_AFTER_ENV}={stale_after:.0f}) and no process "
                    f"recorded for it")
        return None
    pid, host = int(tags[PID_TAG]), tags.get(HOST_TAG, "")
    if host == socket.gethostname():
        if not process_alive(pid, tags.get(PID_START_TAG, "")):
            return f"its process (PID {pid} on {host}) is gone"
        return None
    beat = tags.get(HEARTBEAT_TAG)
    if beat is None:
        return None
    age = (now - dt.datetime.fromisoformat(beat)).total_seconds()
    if age > timeout:
        return f"no heartbeat from {host} (PID {pid}) for {age:.0f} s (> {HEARTBEAT_TIMEOUT_ENV}={timeout:.0f})"
    return None


def slot_holders(instance: dg.DagsterInstance, pool: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(run_id -> steps holding a slot, run_id -> steps queueing for one) of ``pool``."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    claimed: dict[str, list[str]] = {}
    for slot in info.claimed_slots:
        claimed.setdefault(slot.run_id, []).append(slot.step_key)
    pending: dict[str, list[str]] = {}
    for step in info.pending_steps:
        if step.assigned_timestamp is None:
            pending.setdefault(step.run_id, []).append(step.step_key)
    return claimed, pending


def reclaim_dead_runs(instance: dg.DagsterInstance, log: Callable[[str], None] = print,
                      timeout: float | None = None, stale_after: float | None = None) -> list[Reclaimed]:
    """Fail and free the slots of dead runs (see the module docstring); returns what was reclaimed."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    timeout = heartbeat_timeout() if timeout is None else timeout
    stale_after = _seconds_env(STALE_AFTER_ENV, DEFAULT_STALE_AFTER) if stale_after is None else stale_after
    now = dt.datetime.now(dt.UTC)
    run_ids = set(storage.get_concurrency_run_ids())
    # in-process runs of ours that hold nothing yet still count: a dead one must not stay STARTED
    for run in instance.get_runs(RunsFilter(statuses=list(IN_PROGRESS))):
        if PID_TAG in run.tags:
            run_ids.add(run.run_id)
    out = []
    for run_id in sorted(run_ids):
        run = instance.get_run_by_id(run_id)
        reason = _why_dead(instance, run, timeout, stale_after, now)
        if reason is None:
            continue
        steps = tuple(sorted({s.step_key for key in storage.get_concurrency_keys()
                              for s in storage.get_concurrency_info(key).claimed_slots if s.run_id == run_id}))
        if run is not None and run.status in IN_PROGRESS:
            instance.report_run_failed(run, f"reclaimed by cryptofactor (PID {os.getpid()}): {reason}")
        storage.free_concurrency_slots_for_run(run_id)
        item = Reclaimed(run_id, reason, steps)
        log(f"reclaimed run {run_id}: {reason}; freed its pool slot(s)"
            + (f" held by step(s) {', '.join(steps)}" if steps else ""))
        out.append(item)
    return out


class Interrupted(Exception):  # noqa: N818 - the user's signal, not an error of ours
    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def execute_guarded(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    *,
    tags: dict[str, str],
    run_config: dict,
    log: Callable[[str], None] = print,
    pool: str | None = None,
    exit_on_signal: Callable[[int], None] = os._exit,
):
    """``job.execute_in_process`` in a worker thread, with heartbeat, signal handling and slot clean-up.

    Returns the ``ExecuteInProcessResult``. On SIGINT / SIGTERM the run is reported failed, its slots
    freed, and ``exit_on_signal(128 + signum)`` is called if the run does not end within
    ``STOP_GRACE_SECONDS``.
    """
    run_id = str(uuid.uuid4())
    all_tags = {**tags, **process_tags()}
    box: dict = {}

    def work():
        try:
            box["result"] = job.execute_in_process(instance=instance, tags=all_tags, run_id=run_id,
                                                   raise_on_error=False, run_config=run_config)
        except BaseException as exc:  # surfaced in the main thread
            box["error"] = exc

    received: list[int] = []

    def on_signal(signum, _frame):
        received.append(signum)

    main = threading.current_thread() is threading.main_thread()
    previous = {}
    if main:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    worker = threading.Thread(target=work, name=f"run-{job.name}", daemon=True)
    worker.start()
    last_beat = time.monotonic()
    last_wait_note = time.monotonic()
    try:
        while worker.is_alive():
            worker.join(timeout=0.2)
            if received:
                signum = received[0]
                log(f"{signal.Signals(signum).name} received: stopping run {run_id} of {job.name}")
                worker.join(timeout=STOP_GRACE_SECONDS)
                if worker.is_alive():
                    _abandon(instance, run_id, f"interrupted by {signal.Signals(signum).name}", log)
                    exit_on_signal(128 + signum)
                    raise Interrupted(signum)  # only reached when exit_on_signal returns (tests)
                break
            now = time.monotonic()
            if now - last_beat >= HEARTBEAT_SECONDS and instance.has_run(run_id):
                instance.add_run_tags(run_id, {HEARTBEAT_TAG: _now_iso()})
                last_beat = now
            if pool and now - last_wait_note >= 15.0:
                last_wait_note = now
                _note_slot_wait(instance, run_id, pool, log)
    finally:
        if main:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        # every exit path frees this run's slots (a step interrupted mid-way does not free its own)
        if instance.has_run(run_id) and instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    if "error" in box:
        raise box["error"]
    return box["result"]


def _abandon(instance: dg.DagsterInstance, run_id: str, reason: str, log: Callable[[str], None]) -> None:
    run = instance.get_run_by_id(run_id)
    if run is not None and run.status in IN_PROGRESS:
        instance.report_run_failed(run, reason)
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    log(f"run {run_id} marked failed ({reason}); its pool slots are free; nothing half-written is kept "
        f"(an uncommitted partition write is discarded)")


def _note_slot_wait(instance: dg.DagsterInstance, run_id: str, pool: str, log: Callable[[str], None]) -> None:
    """Say so when this run queues for a slot that another run holds."""
    if not instance.event_log_storage.supports_global_concurrency_limits:
        return
    claimed, pending = slot_holders(instance, pool)
    if run_id not in pending or run_id in claimed:
        return
    for other, steps in claimed.items():
        run = instance.get_run_by_id(other)
        who = "unknown run"
        if run is not None:
            where = (f"PID {run.tags[PID_TAG]} on {run.tags.get(HOST_TAG, '?')}" if PID_TAG in run.tags
                     else "launched by the webserver / daemon")
            who = f"run {other} ({run.job_name}, {run.status.value}, {where})"
        log(f"waiting for the {pool!r} pool slot held by {who}, step {', '.join(steps)}")
