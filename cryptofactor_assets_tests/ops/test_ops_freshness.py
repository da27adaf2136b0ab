"""Freshness checks on daily / weekly assets, their sensor, and failed source fetches made visible."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd
from dagster._core.test_utils import freeze_time
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.definitions import defs
from cryptofactor_assets.ops.freshness import (
    FRESHNESS_SENSOR,
    build_freshness_checks,
    build_freshness_sensor,
    partitioned_asset_keys,
)
from cryptofactor_assets.panels.assets import daily_panel, weekly_panel
from cryptofactor_assets.sources.assets import (
    CHECK_SOURCE_COMPLETE,
    RAW_KLINES_5M,
    raw_coin_markets,
    raw_klines_5m,
)
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets_tests.conftest import materialize_range, query
from cryptofactor_assets_tests.fake_exchange_server import FakeServer, Reply, bybit_kline_route, make_candles

DAILY_KEYS, WEEKLY_KEYS = partitioned_asset_keys(defs.assets or [])
#: the code location's time-partition freshness checks and the sensor evaluating them
FRESHNESS_CHECKS: list[dg.AssetChecksDefinition] = list(defs.asset_checks or [])
SENSORS: list[dg.SensorDefinition] = [s for s in (defs.sensors or []) if s.name == FRESHNESS_SENSOR]

FRESH_JOB = "freshness_only"
UTC = dt.UTC


def _defs_with_checks(assets, resources) -> dg.Definitions:
    """The module's builders applied to a small graph (the full lists also cover assets not built here)."""
    checks = build_freshness_checks(*partitioned_asset_keys(assets))
    return dg.Definitions(
        assets=assets, asset_checks=checks, sensors=[build_freshness_sensor(checks)], resources=resources,
        jobs=[dg.define_asset_job(FRESH_JOB, selection=dg.AssetSelection.checks(*checks))],
    )


def _freshness(defs_: dg.Definitions, instance, now: dt.datetime, asset: str) -> dg.AssetCheckEvaluation:
    """Run the freshness checks at frozen time ``now``; the evaluation for ``asset``."""
    with freeze_time(now):
        result = defs_.resolve_job_def(FRESH_JOB).execute_in_process(instance=instance, raise_on_error=False)
    evals = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    return evals[asset]


def test_every_daily_and_weekly_asset_has_a_freshness_check_and_the_sensor_loads():
    full = dg.Definitions.merge(defs, dg.Definitions(asset_checks=FRESHNESS_CHECKS, sensors=SENSORS))
    repo = full.get_repository_def()
    graph = repo.asset_graph
    daily = {k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def == dg.DailyPartitionsDefinition(
        start_date="2013-01-01", timezone="UTC")}
    assert daily == set(DAILY_KEYS) and {dg.AssetKey(RAW_KLINES_5M), dg.AssetKey("daily_panel")} <= daily
    assert dg.AssetKey("weekly_panel") in WEEKLY_KEYS
    checked = {c.asset_key for c in graph.asset_check_keys if "freshness" in c.name}
    assert checked == set(DAILY_KEYS) | set(WEEKLY_KEYS)
    assert FRESHNESS_SENSOR in {s.name for s in repo.sensor_defs}


def test_daily_freshness_passes_after_the_deadline_only_when_yesterday_is_stored(resources):
    instance = dg.DagsterInstance.ephemeral()
    assets = [raw_klines_5m, raw_coin_markets, daily_panel]
    defs_ = _defs_with_checks(assets, resources)
    assert dg.materialize(assets, resources=resources, instance=instance, partition_key="2024-01-01").success
    # 2024-01-02 03:00 UTC: the 02:30 deadline has passed, yesterday (2024-01-01) is stored -> fresh
    ev = _freshness(defs_, instance, dt.datetime(2024, 1, 2, 3, 0, tzinfo=UTC), "daily_panel")
    assert ev.passed and ev.severity == dg.AssetCheckSeverity.WARN
    # 2024-01-03 03:00 UTC: 2024-01-02 is expected but missing -> overdue, with the deadline in metadata
    ev = _freshness(defs_, instance, dt.datetime(2024, 1, 3, 3, 0, tzinfo=UTC), "daily_panel")
    assert not ev.passed
    assert ev.metadata["dagster/latest_cron_tick_timestamp"].value == dt.datetime(
        2024, 1, 3, 2, 30, tzinfo=UTC).timestamp()
    assert "dagster/last_updated_timestamp" in ev.metadata  # "updated before, but not this partition"
    # 2024-01-02 02:00 UTC: before the deadline the check still looks at 2023-12-31 (never stored)
    ev = _freshness(defs_, instance, dt.datetime(2024, 1, 2, 2, 0, tzinfo=UTC), "raw_klines_5m")
    assert not ev.passed


def test_weekly_freshness_expects_last_week_from_monday_four_utc(resources):
    instance = dg.DagsterInstance.ephemeral()
    daily = [raw_klines_5m, raw_coin_markets, daily_panel]
    assert materialize_range(daily, resources, "2024-01-01", "2024-01-07").success
    assert dg.materialize([weekly_panel], resources=resources, instance=instance, partition_key="2024-01-01").success
    defs_ = _defs_with_checks([*daily, weekly_panel], resources)
    assert _freshness(defs_, instance, dt.datetime(2024, 1, 8, 5, 0, tzinfo=UTC), "weekly_panel").passed
    # Monday 03:00: the deadline of that week has not passed: the week before (never stored) is expected
    assert not _freshness(defs_, instance, dt.datetime(2024, 1, 8, 3, 0, tzinfo=UTC), "weekly_panel").passed
    assert not _freshness(defs_, instance, dt.datetime(2024, 1, 15, 5, 0, tzinfo=UTC), "weekly_panel").passed


def test_sensor_requests_the_freshness_checks_never_evaluated(resources):
    instance = dg.DagsterInstance.ephemeral()
    defs_ = _defs_with_checks([raw_klines_5m, raw_coin_markets, daily_panel], resources)
    sensor = defs_.resolve_sensor_def(FRESHNESS_SENSOR)
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    with dg.build_sensor_context(instance=instance, definitions=defs_) as ctx:
        out = sensor(ctx)
    requests = out if isinstance(out, list) else [out]
    keys = {k for r in requests for k in (r.asset_check_keys or [])}
    assert keys and all("freshness" in k.name for k in keys)


# ---------------------------------------------------------------------- failed fetches are visible
def _write_feather(path, day: str, n: int) -> None:
    t = pd.date_range(day, periods=n, freq="5min")
    close = 100.0 + pd.Series(range(n), dtype=float)
    pd.DataFrame({"date": t.tz_localize("UTC"), "open": close, "high": close + 1, "low": close - 1,
                  "close": close, "volume": 10.0}).to_feather(path)


def _files_resources(db_path, tmp_path, strict: bool) -> dict:
    _write_feather(tmp_path / "AAA_USDT-5m.feather", "2024-01-01", 12)
    (tmp_path / "BAD_USDT-5m.feather").write_bytes(b"not arrow at all")
    return {"duckdb": DuckDBResource(database=db_path),
            "market_source": MarketSourceResource(kind="files", klines_glob=str(tmp_path / "*.feather"),
                                                  strict=strict)}


def _source_check(result) -> dg.AssetCheckEvaluation:
    (ev,) = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_SOURCE_COMPLETE]
    return ev


def test_corrupt_file_fails_the_source_check_as_a_warning_and_keeps_the_good_file(db_path, tmp_path):
    res = _files_resources(db_path, tmp_path, strict=False)
    result = dg.materialize([raw_klines_5m], resources=res, partition_key="2024-01-01", raise_on_error=False)
    assert result.success  # non-strict: the run goes on with the readable files
    ev = _source_check(result)
    assert not ev.passed and ev.severity == dg.AssetCheckSeverity.WARN
    assert ev.metadata["failed_symbols"].value == "BADUSDT"
    stored = query(db_path, "SELECT symbol, count(*) AS n FROM raw_klines_5m GROUP BY 1")
    assert stored.to_dict("records") == [{"symbol": "AAAUSDT", "n": 12}]


def test_corrupt_file_reason_is_in_the_check_metadata(db_path, tmp_path):
    res = _files_resources(db_path, tmp_path, strict=False)
    result = dg.materialize([raw_klines_5m], resources=res, partition_key="2024-01-01", raise_on_error=False)
    text = " ".join(str(v.value) for v in _source_check(result).metadata.values())
    assert "BAD_USDT-5m.feather" in text


def test_corrupt_file_in_strict_mode_fails_the_run_with_the_reason(db_path, tmp_path):
    res = _files_resources(db_path, tmp_path, strict=True)
    result = dg.materialize([raw_klines_5m], resources=res, partition_key="2024-01-01", raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.to_string()
    assert "BAD_USDT" in message and "source=files" in message and "partition=2024-01-01" in message


def test_bybit_403_fails_the_run_with_the_ip_ban_reason_and_keeps_stored_rows(db_path, monkeypatch):
    day0 = int(dt.datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    candles = {"BTCUSDT": make_candles(day0, 288), "ETHUSDT": make_candles(day0, 288, base=50.0)}
    with FakeServer() as server:
        monkeypatch.setenv("BYBIT_BASE_URL", server.base_url)
        res = {"duckdb": DuckDBResource(database=db_path),
               "market_source": MarketSourceResource(kind="bybit", symbols="BTCUSDT,ETHUSDT")}
        server.route("/v5/market/kline", bybit_kline_route(candles))
        assert dg.materialize([raw_klines_5m], resources=res, partition_key="2024-01-01").success
        before = query(db_path, "SELECT * FROM raw_klines_5m ORDER BY symbol, open_time")
        assert len(before) == 576
        server.route("/v5/market/kline", lambda req: Reply(403, "access too frequent"))
        result = dg.materialize([raw_klines_5m], resources=res, partition_key="2024-01-01", raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "403" in failure.event_specific_data.error.to_string() or "IP" in failure.event_specific_data.error.to_string()
    # the fetch failed before the stored rows were touched: the partition keeps its previous rows
    pd.testing.assert_frame_equal(query(db_path, "SELECT * FROM raw_klines_5m ORDER BY symbol, open_time"), before)


def _materialize_with_unknown_symbol(db_path, monkeypatch, strict: bool):
    """raw_klines_5m for BTCUSDT (served) and NOPEUSDT (Bybit answers retCode 10001) on 2024-01-01."""
    day0 = int(dt.datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    with FakeServer() as server:
        monkeypatch.setenv("BYBIT_BASE_URL", server.base_url)
        server.route("/v5/market/kline", bybit_kline_route({"BTCUSDT": make_candles(day0, 288)}))
        res = {"duckdb": DuckDBResource(database=db_path),
               "market_source": MarketSourceResource(kind="bybit", symbols="BTCUSDT,NOPEUSDT", strict=strict)}
        return dg.materialize([raw_klines_5m], resources=res, partition_key="2024-01-01", raise_on_error=False)


def test_bybit_unknown_symbol_fails_the_source_check_and_names_it(db_path, monkeypatch):
    result = _materialize_with_unknown_symbol(db_path, monkeypatch, strict=False)
    assert result.success
    ev = _source_check(result)
    assert not ev.passed and ev.metadata["failed_symbols"].value == "NOPEUSDT"
    # the reason the exchange gave is in the check's metadata, next to the symbol
    assert "NOPEUSDT" in ev.metadata["reasons"].value and "Not supported symbols" in ev.metadata["reasons"].value


def test_bybit_unknown_symbol_in_strict_mode_fails_the_run_naming_source_symbol_and_partition(db_path, monkeypatch):
    result = _materialize_with_unknown_symbol(db_path, monkeypatch, strict=True)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.to_string()
    assert "NOPEUSDT" in message and "bybit" in message and "2024-01-01" in message


# ---------------------------------------------------------------------- evaluated by the sensor only
def test_job_subsets_by_asset_selection_never_plan_freshness_checks():
    """A job page's launch or backfill subsets the job by its assets ("every check of the selected
    assets"): the jobs are resolved without the freshness checks, so none is planned."""
    from cryptofactor_assets.definitions import DAILY_JOB, WEEKLY_JOB

    repo = defs.get_repository_def()
    for name in (DAILY_JOB, WEEKLY_JOB):
        job = repo.get_job(name)
        sub = job.get_subset(asset_selection=set(job.asset_layer.selected_asset_keys))
        checks = {k.name for k in sub.asset_layer.asset_graph.asset_check_keys}
        assert checks and not any("freshness" in c for c in checks), (name, checks)
    # ... while the code location still has them, for the sensor
    assert any("freshness" in k.name for k in repo.asset_graph.asset_check_keys)


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC"))
def tiny_daily() -> None:
    return None


def test_freshness_check_planned_in_a_materialising_run_is_not_evaluated_a_checks_only_run_evaluates(caplog):
    """The asset graph / asset backfills plan every check of the selected assets (implicit asset job):
    the check yields nothing there; in a run of checks only (the sensor's) it evaluates."""
    checks = build_freshness_checks([tiny_daily.key], [])
    job = dg.Definitions(assets=[tiny_daily], asset_checks=checks).resolve_implicit_global_asset_job_def()
    check_keys = {k for c in checks for k in c.check_keys}
    instance = dg.DagsterInstance.ephemeral()
    mat = job.get_subset(asset_selection={tiny_daily.key}, asset_check_selection=check_keys).execute_in_process(
        instance=instance, partition_key="2024-01-01")
    assert mat.success and mat.get_asset_check_evaluations() == []
    logs = [r.user_message for r in instance.all_logs(mat.run_id)]
    assert any("evaluated by the freshness_checks_sensor sensor only" in m for m in logs)
    only = job.get_subset(asset_selection=set(), asset_check_selection=check_keys).execute_in_process(
        instance=instance)
    assert [e.asset_key for e in only.get_asset_check_evaluations()] == [tiny_daily.key]
