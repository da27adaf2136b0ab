"""The partition range is configurable: CRYPTOFACTOR_PARTITIONS_START / _END.

``make demo`` and ``make ui`` share the demo's range, so the UI shows every partition materialised.
Dagster's ``end_date`` is exclusive and keeps only whole windows: the settings hand it the day after the
last day, so the days end on the last day and the weeks and months are the ones wholly inside the range
(what ``cryptofactor materialize`` builds). The partitions are built once, at import, from the
environment: every case here runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[2]
RANGE_ENV = ("CRYPTOFACTOR_PARTITIONS_START", "CRYPTOFACTOR_PARTITIONS_END")
#: What the test process must not hand on to the interpreters it starts.
CLEARED = (*RANGE_ENV, "CRYPTOFACTOR_SOURCE", "CRYPTOFACTOR_KLINES_GLOB", "CRYPTOFACTOR_MARKETS_GLOB",
           "CRYPTOFACTOR_SIM_COINS", "CRYPTOFACTOR_SIM_SEED", "CRYPTOFACTOR_DUCKDB", "DAGSTER_HOME",
           "CRYPTOFACTOR_LOG_LEVEL", "CRYPTOFACTOR_PROGRESS_SECONDS")

KEYS_SCRIPT = """
import json
from cryptofactor_assets.partitions import daily_partitions, monthly_partitions, weekly_partitions
out = {}
for name, p in (("daily", daily_partitions), ("weekly", weekly_partitions), ("monthly", monthly_partitions)):
    keys = p.get_partition_keys()
    out[name] = [len(keys), keys[0] if keys else None, keys[-1] if keys else None]
print(json.dumps(out))
"""


FILLED_SCRIPT = """
import json
import dagster as dg
from cryptofactor_assets.definitions import defs
instance = dg.DagsterInstance.get()
graph = defs.get_repository_def().asset_graph
not_filled = {}
for key in graph.get_all_asset_keys():
    partitions = graph.get(key).partitions_def
    if partitions is None:
        continue
    keys = set(partitions.get_partition_keys())
    done = instance.get_materialized_partitions(key) & keys
    if done != keys:
        not_filled[key.to_user_string()] = f"{len(done)}/{len(keys)}"
print(json.dumps(not_filled))
"""


def _env(**settings) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update({k: v for k, v in settings.items() if v is not None})
    return env


def _keys(**settings) -> dict:
    out = subprocess.run([sys.executable, "-c", KEYS_SCRIPT], capture_output=True, text=True, cwd=ROOT,
                         env=_env(**settings), timeout=180)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cli(*args, timeout=900, **settings) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cryptofactor_assets.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=_env(**settings), timeout=timeout)


def test_the_demo_range_gives_exactly_the_demo_s_days_weeks_and_months():
    keys = _keys(CRYPTOFACTOR_PARTITIONS_START="2023-01-01", CRYPTOFACTOR_PARTITIONS_END="2024-12-31")
    assert keys["daily"] == [731, "2023-01-01", "2024-12-31"]
    # 2023-01-01 is a Sunday: weeks start on the next Monday; the last whole ISO week ends Sunday 2024-12-29
    assert keys["weekly"] == [104, "2023-01-02", "2024-12-23"]
    assert keys["monthly"] == [24, "2023-01-01", "2024-12-01"]


def test_an_end_inside_a_week_or_a_month_keeps_only_whole_windows():
    keys = _keys(CRYPTOFACTOR_PARTITIONS_START="2024-01-01", CRYPTOFACTOR_PARTITIONS_END="2024-02-10")
    assert keys["daily"] == [41, "2024-01-01", "2024-02-10"]
    assert keys["weekly"] == [5, "2024-01-01", "2024-01-29"]  # the week of 2024-02-05 ends on the 11th
    assert keys["monthly"] == [1, "2024-01-01", "2024-01-01"]


def test_without_an_end_partitions_run_up_to_today_and_the_default_start_is_2013():
    keys = _keys()
    assert keys["daily"][1] == "2013-01-01" and keys["daily"][0] > 4000
    assert _keys(CRYPTOFACTOR_PARTITIONS_END="")["daily"] == keys["daily"]  # empty = unset


@pytest.mark.parametrize(("settings", "message"), [
    ({"CRYPTOFACTOR_PARTITIONS_END": "2024-13-01"}, "CRYPTOFACTOR_PARTITIONS_END='2024-13-01' is not a date"),
    ({"CRYPTOFACTOR_PARTITIONS_START": "2024-02-01", "CRYPTOFACTOR_PARTITIONS_END": "2024-01-31"},
     "CRYPTOFACTOR_PARTITIONS_END=2024-01-31 is before CRYPTOFACTOR_PARTITIONS_START=2024-02-01"),
])
def test_a_bad_range_is_a_one_line_error(tmp_path, settings, message):
    out = _cli("materialize", "--start", "2024-01-01", "--end", "2024-01-02", "--duckdb",
               str(tmp_path / "x.duckdb"), timeout=300, **settings)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert [ln for ln in out.stderr.splitlines() if message in ln], out.stderr


def test_the_cli_refuses_days_outside_the_range_in_one_line(tmp_path):
    settings = {"CRYPTOFACTOR_PARTITIONS_START": "2024-01-01", "CRYPTOFACTOR_PARTITIONS_END": "2024-01-31"}
    db = str(tmp_path / "x.duckdb")
    out = _cli("materialize", "--start", "2024-01-01", "--end", "2024-02-01", "--duckdb", db, timeout=300,
               **settings)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == ("cryptofactor: --end 2024-02-01 is after the last partition 2024-01-31 "
                                  "(set CRYPTOFACTOR_PARTITIONS_END, or unset it for partitions up to today)")
    assert "daily_job" not in out.stdout  # nothing ran
    out = _cli("materialize", "--start", "2023-12-31", "--end", "2024-01-05", "--duckdb", db, timeout=300,
               **settings)
    assert out.returncode == 2 and "before the first partition 2024-01-01" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_the_first_days_and_weeks_of_a_range_materialise(tmp_path):
    """Assets reading the previous day or previous weeks work at the first partition of the range, the
    weekly and monthly runs included; afterwards every partition of the range is materialised (what the
    UI shows after `make demo`); progress lines show on the console at the default log level."""
    home = tmp_path / "home"
    home.mkdir()
    range_settings = {"CRYPTOFACTOR_PARTITIONS_START": "2024-01-01", "CRYPTOFACTOR_PARTITIONS_END": "2024-02-04",
                      "CRYPTOFACTOR_SIM_COINS": "5", "CRYPTOFACTOR_DUCKDB": str(tmp_path / "range.duckdb")}
    out = _cli("materialize", "--start", "2024-01-01", "--end", "2024-02-04", **range_settings,
               DAGSTER_HOME=str(home))
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    for job in ("daily_job: 2024-01-01 .. 2024-02-04", "weekly_job: 2024-01-01 .. 2024-01-29",
                "monthly_job: 2024-01-01", "summary_job"):
        assert job in out.stdout, log[-4000:]
    assert "FAIL " not in out.stdout
    # the ingest's progress reached the console ("progress:" lines), with a final line
    assert [ln for ln in out.stdout.splitlines()
            if "progress: raw_klines_5m ingest 2024-01-01..2024-02-04" in ln and ": done: 35/35 days" in ln], \
        out.stdout[-3000:]
    # every run succeeded and no ERROR check failed; the instance saw the first partitions materialised
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        runs = instance.get_runs()
        assert len(runs) == 4 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        errors = []
        for run in runs:
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
                data = entry.dagster_event.event_specific_data
                if not data.passed and data.severity == dg.AssetCheckSeverity.ERROR:
                    errors.append((data.asset_key.to_user_string(), data.check_name))
        assert not errors, errors
        for asset, first in (("daily_panel", "2024-01-01"), ("weekly_panel", "2024-01-01")):
            stored = instance.get_materialized_partitions(dg.AssetKey(asset))
            assert first in stored, (asset, sorted(stored)[:3])
    finally:
        instance.dispose()
    # what the UI shows for this range (same settings, same instance): every partition of every
    # partitioned asset materialised, none missing ("100 % filled")
    filled = subprocess.run([sys.executable, "-c", FILLED_SCRIPT], capture_output=True, text=True, cwd=ROOT,
                            timeout=300, env=_env(**range_settings, DAGSTER_HOME=str(home)))
    assert filled.returncode == 0, filled.stderr[-3000:]
    assert json.loads(filled.stdout.strip().splitlines()[-1]) == {}


def _make_n(*args: str, **env) -> str:
    """What ``make -n <args>`` would run (nothing is run)."""
    import shutil

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    clean = {k: v for k, v in _env(**env).items()
             if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DEMO_START", "DEMO_END")}  # e.g. under `make test`
    out = subprocess.run(["make", "-n", *args], capture_output=True, text=True, cwd=ROOT, timeout=60, env=clean)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_make_demo_and_make_ui_share_the_demo_range_and_make_test_does_not_set_it():
    demo_range = "CRYPTOFACTOR_PARTITIONS_START=2023-01-01 CRYPTOFACTOR_PARTITIONS_END=2024-12-31"
    demo = _make_n("demo")
    assert f"{demo_range} .venv/bin/cryptofactor materialize --start 2023-01-01 --end 2024-12-31" in demo
    assert f"{demo_range} .venv/bin/dagster dev" in _make_n("ui")
    assert "CRYPTOFACTOR_PARTITIONS" not in _make_n("test")
    # a shorter demo moves both; real data on the command line or in the environment (empty end: up to today)
    short = _make_n("demo", "ui", "DEMO_START=2024-01-01", "DEMO_END=2024-06-30")
    assert short.count("CRYPTOFACTOR_PARTITIONS_START=2024-01-01 CRYPTOFACTOR_PARTITIONS_END=2024-06-30") == 2
    real = "CRYPTOFACTOR_PARTITIONS_START=2013-12-01 CRYPTOFACTOR_PARTITIONS_END= .venv/bin/dagster dev"
    assert real in _make_n("ui", "CRYPTOFACTOR_PARTITIONS_START=2013-12-01", "CRYPTOFACTOR_PARTITIONS_END=")
    assert real in _make_n("ui", CRYPTOFACTOR_PARTITIONS_START="2013-12-01", CRYPTOFACTOR_PARTITIONS_END="")
