"""A re-fetch never shrinks stored data silently; conflicting duplicates are conflicts; file times are explicit.

Every test materialises the raw assets (``dg.materialize``) on a temporary DuckDB file, against the
local fake Bybit server (real HTTP) or files written to a temporary folder.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.sources import files
from cryptofactor_assets.sources.assets_raw import raw_coin_markets, raw_klines_5m
from cryptofactor_assets.sources.base import SourceError
from cryptofactor_assets.sources.checks import CHECK_SOURCE_COMPLETE
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets_tests.conftest import materialization_meta as _meta
from cryptofactor_assets_tests.conftest import materialize_range, query, rejected_reasons
from cryptofactor_assets_tests.fake_exchange_server import (
    FakeServer,
    Reply,
    bybit_empty_route,
    bybit_envelope,
    bybit_kline_route,
    make_candles,
)

KLINE = "/v5/market/kline"
DAY = "2024-01-01"
DAY0_MS = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)
ALL_BARS = "SELECT * FROM raw_klines_5m ORDER BY symbol, open_time"
SHRINK_HINT = "stored rows kept (use --replace to shrink on purpose)"


@pytest.fixture(autouse=True)
def fresh_file_cache():
    files.clear_cache()
    yield
    files.clear_cache()


@pytest.fixture
def bybit(monkeypatch):
    with FakeServer() as server:
        monkeypatch.setenv("BYBIT_BASE_URL", server.base_url)
        yield server


def _bybit_resources(db_path, symbols="BTCUSDT", **kw) -> dict:
    return {"duckdb": DuckDBResource(database=db_path),
            "market_source": MarketSourceResource(kind="bybit", symbols=symbols, **kw)}


def _files_resources(db_path, klines_glob="", markets_glob="", **kw) -> dict:
    return {"duckdb": DuckDBResource(database=db_path),
            "market_source": MarketSourceResource(kind="files", klines_glob=klines_glob, markets_glob=markets_glob,
                                                  **kw)}


def _run(asset, resources, partition=DAY) -> dg.ExecuteInProcessResult:
    return dg.materialize([asset], resources=resources, partition_key=partition, raise_on_error=False)


def _source_check(result) -> dg.AssetCheckEvaluation:
    (ev,) = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_SOURCE_COMPLETE]
    return ev


# ---------------------------------------------------------------------- 3. a re-fetch never shrinks silently
SHORT_FETCHES = {
    # name: (route serving the re-fetch, valid rows it brings for 2024-01-01, rows rejected as outside)
    "empty_page": (lambda candles: bybit_empty_route(), 0, 0),
    "rows_outside_the_window": (lambda candles: bybit_kline_route(candles, shift_ms=86_400_000), 0, 288),
    "server_ignoring_end": (lambda candles: bybit_kline_route(candles, ignore_end=True), 100, 900),
}


@pytest.mark.parametrize("case", sorted(SHORT_FETCHES))
def test_bybit_short_refetch_keeps_the_stored_bars_and_fails_the_check(db_path, bybit, case):
    route, valid, outside = SHORT_FETCHES[case]
    # 1188 candles from 2024-01-01: the newest 1000 from the day's start hold 100 of its 288 bars
    candles = {"BTCUSDT": make_candles(DAY0_MS, 1188)}
    bybit.route(KLINE, bybit_kline_route(candles))
    assert _run(raw_klines_5m, _bybit_resources(db_path)).success
    before = query(db_path, ALL_BARS)
    assert len(before) == 288

    bybit.route(KLINE, route(candles))
    result = _run(raw_klines_5m, _bybit_resources(db_path))
    assert result.success  # non-strict: the run goes on and says so
    pd.testing.assert_frame_equal(query(db_path, ALL_BARS), before)  # nothing lost, nothing changed
    ev = _source_check(result)
    assert not ev.passed and ev.severity == dg.AssetCheckSeverity.WARN
    assert ev.metadata["failed_symbols"].value == "BTCUSDT"
    reason = ev.metadata["reasons"].value
    assert f"BTCUSDT 2024-01-01: fetch returned {valid} valid rows" in reason
    assert "288 stored" in reason and SHRINK_HINT in reason
    meta = _meta(result)
    assert meta["rows_stored"] == 0 and meta["rows_kept_from_store"] == 288
    assert "BTCUSDT" in meta["failed_symbols"]
    # rows outside the window are rejected with a reason (never counted as fetched), the short
    # fetch's valid rows are kept visible in rejected_rows too
    expected = {k: v for k, v in {"outside_partition": outside, "short_fetch": valid}.items() if v}
    assert rejected_reasons(db_path, "raw_klines_5m") == expected

    # replace=True: shrinking on purpose is allowed
    result = _run(raw_klines_5m, _bybit_resources(db_path, replace=True))
    assert result.success and _source_check(result).passed
    assert len(query(db_path, ALL_BARS)) == valid
    assert _meta(result)["rows_kept_from_store"] == 0


def test_symbol_stored_but_absent_from_the_fetch_is_a_failed_fetch(db_path, bybit):
    candles = {"BTCUSDT": make_candles(DAY0_MS, 288), "ETHUSDT": make_candles(DAY0_MS, 288, base=50.0)}
    bybit.route(KLINE, bybit_kline_route(candles))
    assert _run(raw_klines_5m, _bybit_resources(db_path, "BTCUSDT,ETHUSDT")).success
    before = query(db_path, ALL_BARS)
    result = _run(raw_klines_5m, _bybit_resources(db_path, "BTCUSDT"))
    pd.testing.assert_frame_equal(query(db_path, ALL_BARS), before)
    ev = _source_check(result)
    assert not ev.passed and ev.metadata["failed_symbols"].value == "ETHUSDT"
    assert "ETHUSDT 2024-01-01: fetch returned 0 valid rows, 288 stored; " + SHRINK_HINT in ev.metadata["reasons"].value


def test_short_refetch_in_strict_mode_fails_the_run_and_changes_nothing(db_path, bybit):
    candles = {"BTCUSDT": make_candles(DAY0_MS, 288), "ETHUSDT": make_candles(DAY0_MS, 288, base=50.0)}
    bybit.route(KLINE, bybit_kline_route(candles))
    assert _run(raw_klines_5m, _bybit_resources(db_path, "BTCUSDT,ETHUSDT")).success
    before = query(db_path, ALL_BARS)
    # ETHUSDT now comes back half empty, BTCUSDT in full but with other prices
    changed = {"BTCUSDT": make_candles(DAY0_MS, 288, base=70.0), "ETHUSDT": make_candles(DAY0_MS, 144, base=50.0)}
    bybit.route(KLINE, bybit_kline_route(changed))
    result = _run(raw_klines_5m, _bybit_resources(db_path, "BTCUSDT,ETHUSDT", strict=True))
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.to_string()
    assert "ETHUSDT 2024-01-01: fetch returned 144 valid rows, 288 stored" in message
    pd.testing.assert_frame_equal(query(db_path, ALL_BARS), before)  # rolled back: BTCUSDT unchanged too


def _generic_csv(path, symbols=("BTCUSDT", "ETHUSDT"), n=288, day=DAY, extra_rows: list[dict] | None = None,
                 first_rows: list[dict] | None = None) -> pd.DataFrame:
    rows = []
    for k, sym in enumerate(symbols):
        t = pd.date_range(day, periods=n, freq="5min")
        close = 100.0 * (k + 1) + np.arange(n) * 0.25
        rows.append(pd.DataFrame({"symbol": sym, "open_time": t.strftime("%Y-%m-%dT%H:%M:%S"), "open": close,
                                  "high": close + 1, "low": close - 1, "close": close, "volume": 5.0}))
    frame = pd.concat([pd.DataFrame(first_rows or []), *rows, pd.DataFrame(extra_rows or [])], ignore_index=True)
    frame.to_csv(path, index=False)
    return frame


def test_generic_csv_parse_failure_keeps_the_576_stored_bars_and_names_the_file(db_path, tmp_path):
    path = tmp_path / "bars.csv"
    _generic_csv(path)
    res = _files_resources(db_path, klines_glob=str(tmp_path / "*.csv"))
    assert _run(raw_klines_5m, res).success
    before = query(db_path, ALL_BARS)
    assert len(before) == 576
    with open(path, "a") as fh:  # one unreadable time makes the whole file unreadable
        fh.write("BTCUSDT,yesterday,1,1,1,1,1\n")
    result = _run(raw_klines_5m, res)
    assert result.success
    pd.testing.assert_frame_equal(query(db_path, ALL_BARS), before)
    ev = _source_check(result)
    assert not ev.passed
    assert ev.metadata["failed_symbols"].value == "BTCUSDT, ETHUSDT"  # keyed by symbol, not by file
    assert ev.metadata["failed_files"].value == "bars.csv"
    reasons = ev.metadata["reasons"].value
    assert "BTCUSDT 2024-01-01: fetch returned 0 valid rows, 288 stored" in reasons
    assert "unreadable file(s) that may hold its rows: bars.csv" in reasons
    assert "bars.csv" in reasons and "line 578" in reasons  # the file's own error, with the line


def test_conflicting_duplicate_spike_quarantines_both_rows_and_keeps_the_stored_one(db_path, tmp_path):
    path = tmp_path / "bars.csv"
    _generic_csv(path, symbols=("BTCUSDT",))
    res = _files_resources(db_path, klines_glob=str(path))
    assert _run(raw_klines_5m, res).success
    before = query(db_path, ALL_BARS)
    real = before.iloc[100]
    # the re-fetch has bar 100 twice: a x2 spike FIRST, then the real bar
    spike = {"symbol": "BTCUSDT", "open_time": real.open_time.strftime("%Y-%m-%dT%H:%M:%S"),
             "open": real.open, "high": 2 * real.close + 1, "low": real.low, "close": 2 * real.close,
             "volume": real.volume}
    copy = {**spike, "high": before.iloc[200].high, "close": before.iloc[200].close, "open": before.iloc[200].open,
            "low": before.iloc[200].low, "open_time": before.iloc[200].open_time.strftime("%Y-%m-%dT%H:%M:%S")}
    # ... and bar 200 three times with identical values: copies collapse to one stored row
    _generic_csv(path, symbols=("BTCUSDT",), first_rows=[spike], extra_rows=[copy, copy])
    result = _run(raw_klines_5m, res)
    after = query(db_path, ALL_BARS)
    pd.testing.assert_frame_equal(after, before)  # the stored bar (and its neighbours' returns) unchanged
    rejected = query(db_path, "SELECT reason, raw FROM rejected_rows WHERE reason = 'conflicting_duplicate'")
    closes = sorted(json.loads(r)["close"] for r in rejected["raw"])
    assert closes == [real.close, 2 * real.close]  # both versions quarantined
    assert rejected_reasons(db_path, "raw_klines_5m") == {"conflicting_duplicate": 2, "duplicate_key": 2}
    assert _source_check(result).passed  # 287 fetched + 1 kept = 288: nothing shrank
    meta = _meta(result)
    assert (meta["rows_received"], meta["rows_stored"], meta["rows_kept_from_store"]) == (291, 287, 1)


def test_conflicting_duplicate_with_nothing_stored_stores_neither_version(db_path, tmp_path):
    path = tmp_path / "bars.csv"
    frame = _generic_csv(path, symbols=("BTCUSDT",), n=12)
    spike = frame.iloc[5].to_dict() | {"close": frame.iloc[5]["close"] * 2, "high": frame.iloc[5]["close"] * 2 + 1}
    _generic_csv(path, symbols=("BTCUSDT",), n=12, first_rows=[spike])
    result = _run(raw_klines_5m, _files_resources(db_path, klines_glob=str(path)))
    stored = query(db_path, ALL_BARS)
    assert len(stored) == 11 and pd.Timestamp("2024-01-01 00:25") not in set(stored["open_time"])
    assert rejected_reasons(db_path, "raw_klines_5m") == {"conflicting_duplicate": 2}
    # the bar after the hole has no return (never bridged)
    assert stored.loc[stored.open_time == pd.Timestamp("2024-01-01 00:30"), "log_ret"].isna().all()
    assert _meta(result)["rows_stored"] == 11


def test_bybit_page_with_a_conflicting_copy_quarantines_both(db_path, bybit):
    rows = make_candles(DAY0_MS, 288)
    bybit.route(KLINE, bybit_kline_route({"BTCUSDT": rows}))
    assert _run(raw_klines_5m, _bybit_resources(db_path)).success
    before = query(db_path, ALL_BARS)
    spike = list(rows[7])
    spike[4] = repr(float(spike[4]) * 2)  # close x2
    spike[2] = repr(float(spike[4]) + 1.0)  # high above it: a valid-looking bar
    page = list(reversed(rows))
    page.insert(100, spike)  # the same page serves candle 7 twice, with different values
    bybit.route(KLINE, lambda req: Reply(200, bybit_envelope(page)))
    result = _run(raw_klines_5m, _bybit_resources(db_path))
    pd.testing.assert_frame_equal(query(db_path, ALL_BARS), before)
    assert rejected_reasons(db_path, "raw_klines_5m") == {"conflicting_duplicate": 2}
    assert _source_check(result).passed


# ---------------------------------------------------------------------- 7. two files for one coin / symbol
def _coingecko_csv(path, days: int, price0: float, start="2021-01-01") -> None:
    dates = pd.date_range(start, periods=days, freq="D")
    lines = ["snapped_at,price,market_cap,total_volume"]
    lines += [f"{d:%Y-%m-%d} 00:00:00 UTC,{price0 + i},{(price0 + i) * 1e7},{1e6 + i}" for i, d in enumerate(dates)]
    path.write_text("\n".join(lines) + "\n")


def test_two_coingecko_files_for_one_coin_are_a_reported_conflict(db_path, tmp_path):
    _coingecko_csv(tmp_path / "btc-usd-max.csv", 3, 29000.0)
    _coingecko_csv(tmp_path / "eth-usd-max.csv", 3, 730.0)
    res = _files_resources(db_path, markets_glob=str(tmp_path / "*.csv"))
    assert materialize_range([raw_coin_markets], res, "2021-01-01", "2021-01-03").success
    before = query(db_path, "SELECT * FROM raw_coin_markets ORDER BY symbol, date")
    assert len(before) == 6
    _coingecko_csv(tmp_path / "bitcoin-usd-max.csv", 3, 31000.0)  # another export of the same coin
    result = materialize_range([raw_coin_markets], res, "2021-01-01", "2021-01-03")
    assert result.success
    pd.testing.assert_frame_equal(query(db_path, "SELECT * FROM raw_coin_markets ORDER BY symbol, date"), before)
    ev = _source_check(result)
    assert not ev.passed and ev.metadata["failed_symbols"].value == "BTCUSDT"
    reason = ev.metadata["reasons"].value
    assert "bitcoin-usd-max.csv" in reason and "btc-usd-max.csv" in reason
    # every row of both files is accounted for in rejected_rows, none was applied
    assert sum(rejected_reasons(db_path, "raw_coin_markets").values()) == 6
    assert _meta(result)["rows_kept_from_store"] == 3


def test_two_coingecko_files_for_one_coin_with_nothing_stored_store_nothing(db_path, tmp_path):
    _coingecko_csv(tmp_path / "btc-usd-max.csv", 2, 29000.0)
    _coingecko_csv(tmp_path / "bitcoin-usd-max.csv", 2, 31000.0)
    result = materialize_range([raw_coin_markets], _files_resources(db_path, markets_glob=str(tmp_path / "*.csv")),
                               "2021-01-01", "2021-01-02")
    assert query(db_path, "SELECT count(*) AS n FROM raw_coin_markets")["n"][0] == 0
    ev = _source_check(result)
    assert not ev.passed and "bitcoin-usd-max.csv" in ev.metadata["reasons"].value


def test_kline_files_for_one_symbol_disagreeing_are_a_conflict_but_identical_overlaps_are_not(tmp_path):
    t = pd.date_range(DAY, periods=12, freq="5min", tz="UTC")
    bars = pd.DataFrame({"date": t, "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5, "volume": 1.0})
    bars.to_feather(tmp_path / "BTC_USDT-5m.feather")
    bars.assign(close=10.6).to_feather(tmp_path / "BTC_USDT_USDT-5m-futures.feather")  # spot and futures
    batch = files.read_klines_glob(str(tmp_path / "*.feather"), DAY, "2024-01-02")
    (failure,) = batch.failures
    assert failure.symbol == "BTCUSDT" and "BTC_USDT-5m.feather" in failure.error
    assert "BTC_USDT_USDT-5m-futures.feather" in failure.error and "12 open_time(s)" in failure.error
    assert len(batch.frame) == 24  # passed on: the ingest rejects them and keeps what was stored
    with pytest.raises(SourceError, match="BTC_USDT_USDT-5m-futures"):
        files.read_klines_glob(str(tmp_path / "*.feather"), DAY, "2024-01-02", strict=True)
    bars.to_feather(tmp_path / "BTC_USDT_USDT-5m-futures.feather")  # now the same rows twice
    os_touch(tmp_path / "BTC_USDT_USDT-5m-futures.feather")
    batch = files.read_klines_glob(str(tmp_path / "*.feather"), DAY, "2024-01-02")
    assert not batch.failures and any("identical rows" in n for n in batch.notes)


def os_touch(path) -> None:
    import os

    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


# ---------------------------------------------------------------------- 7. file time zones are explicit
def _paris_feather(path, aware: bool) -> pd.DataFrame:
    """Two local days of 5-minute bars, Europe/Paris wall clock (UTC+1 in January)."""
    local = pd.date_range("2024-01-01", periods=576, freq="5min", tz="Europe/Paris")
    close = 100.0 + np.arange(576) * 0.5
    frame = pd.DataFrame({"date": local if aware else local.tz_localize(None), "open": close,
                          "high": close + 1, "low": close - 1, "close": close, "volume": 1.0})
    frame.to_feather(path)
    return frame.assign(utc=local.tz_convert("UTC").tz_localize(None))


@pytest.mark.parametrize("timezone", ["UTC", "Europe/Paris"])
def test_naive_feather_times_are_utc_unless_a_timezone_says_otherwise(db_path, tmp_path, timezone):
    src = _paris_feather(tmp_path / "BTC_USDT-5m.feather", aware=False)
    aware = _paris_feather(tmp_path / "ETH_USDT-5m.feather", aware=True)
    result = _run(raw_klines_5m, _files_resources(db_path, klines_glob=str(tmp_path / "*.feather"),
                                                  timezone=timezone))
    # the tz-aware file is converted to UTC whatever the setting says
    eth = query(db_path, "SELECT * FROM raw_klines_5m WHERE symbol = 'ETHUSDT' ORDER BY open_time")
    eth_expected = aware[(aware["utc"] >= pd.Timestamp(DAY)) & (aware["utc"] < pd.Timestamp("2024-01-02"))]
    assert eth["open_time"].tolist() == eth_expected["utc"].tolist()
    np.testing.assert_array_equal(eth["close"].to_numpy(), eth_expected["close"].to_numpy())
    assert "1 file(s) with naive times" in _meta(result)["notes"]
    stored = query(db_path, "SELECT * FROM raw_klines_5m WHERE symbol = 'BTCUSDT' ORDER BY open_time")
    assert len(stored) == 288
    if timezone == "UTC":  # the documented rule: naive = UTC (the wall-clock values as they are)
        expected = src[src["date"] < pd.Timestamp("2024-01-02")]
        assert "naive times (no zone, no offset) read as UTC" in _meta(result)["notes"]
    else:  # local wall-clock times converted: the UTC day starts at 01:00 Paris time
        expected = src[(src["utc"] >= pd.Timestamp(DAY)) & (src["utc"] < pd.Timestamp("2024-01-02"))]
        assert stored["open_time"].iloc[0] == pd.Timestamp(DAY)
        assert stored["close"].iloc[0] == src.loc[src["date"] == pd.Timestamp("2024-01-01 01:00"), "close"].item()
        assert "read as Europe/Paris wall-clock times" in _meta(result)["notes"]
    np.testing.assert_array_equal(stored["close"].to_numpy(), expected["close"].to_numpy())


def test_naive_local_times_across_dst_changes(tmp_path):
    # a sorted local series through the October fall-back: the repeated hour is resolved from the order
    utc = pd.date_range("2024-10-26 22:00", "2024-10-27 04:00", freq="5min", tz="UTC")
    local = utc.tz_convert("Europe/Paris").tz_localize(None)
    pd.DataFrame({"symbol": "BTCUSDT", "open_time": local.strftime("%Y-%m-%d %H:%M:%S"), "open": 1.0, "high": 1.0,
                  "low": 1.0, "close": 1.0, "volume": 1.0}).to_csv(tmp_path / "k.csv", index=False)
    frame = files.read_kline_file(tmp_path / "k.csv", timezone="Europe/Paris")
    assert frame["open_time"].tolist() == utc.tz_localize(None).tolist()
    # a wall-clock time that does not exist (spring forward) is an error naming the file
    (tmp_path / "gap.csv").write_text("symbol,open_time,open,high,low,close,volume\n"
                                      "BTCUSDT,2024-03-31 02:30:00,1,1,1,1,1\n")
    with pytest.raises(SourceError, match="gap.csv: naive times cannot be read as Europe/Paris"):
        files.read_kline_file(tmp_path / "gap.csv", timezone="Europe/Paris")
    # text with an offset or a UTC suffix is an instant: the setting does not move it
    (tmp_path / "aware.csv").write_text("symbol,open_time,open,high,low,close,volume\n"
                                        "BTCUSDT,2024-01-01T01:00:00+01:00,1,1,1,1,1\n"
                                        "BTCUSDT,2024-01-01 00:05:00 UTC,1,1,1,1,1\n"
                                        "BTCUSDT,2024-01-01T00:10:00Z,1,1,1,1,1\n")
    aware = files.read_kline_file(tmp_path / "aware.csv", timezone="America/New_York")
    assert aware["open_time"].tolist() == list(pd.date_range(DAY, periods=3, freq="5min"))


def test_timezone_and_replace_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CRYPTOFACTOR_REPLACE", "yes")
    monkeypatch.setenv("CRYPTOFACTOR_TIMEZONE", "Europe/Paris")
    res = MarketSourceResource.from_settings()
    assert res.replace is True and res.timezone == "Europe/Paris"
    assert MarketSourceResource.from_env() == res  # the former name, kept for the code location
    monkeypatch.delenv("CRYPTOFACTOR_REPLACE")
    monkeypatch.delenv("CRYPTOFACTOR_TIMEZONE")
    res = MarketSourceResource.from_env()
    assert res.replace is False and res.timezone == "UTC"
    monkeypatch.setenv("CRYPTOFACTOR_REPLACE", "maybe")
    with pytest.raises(ValueError):
        MarketSourceResource.from_env()
    bad = MarketSourceResource(kind="files", klines_glob=str(tmp_path / "*.csv"), timezone="Mars/Olympus")
    with pytest.raises(dg.Failure, match="unknown time zone 'Mars/Olympus'"):
        list(bad.klines_batches(dt.date(2024, 1, 1), dt.date(2024, 1, 2), DAY))


def test_coingecko_api_failures_are_keyed_by_exchange_symbol():
    from cryptofactor_assets.sources.base import SourceBatch, SymbolFailure
    from cryptofactor_assets.sources.resources import _failures_by_symbol

    batch = SourceBatch(frame=pd.DataFrame(), failures=[SymbolFailure("bitcoin", "HTTP 404 [source=coingecko]"),
                                                         SymbolFailure("kncl", "timeout")])
    user = pd.DataFrame({"coin_id": ["kncl"], "cg_symbol": ["kncl"], "symbol": ["KNCUSDT"]})
    out = _failures_by_symbol(batch, user)
    assert [(f.symbol, f.error) for f in out.failures] == [("BTCUSDT", "bitcoin: HTTP 404 [source=coingecko]"),
                                                           ("KNCUSDT", "kncl: timeout")]


def test_nothing_requested_leaves_stored_markets_untouched(db_path, tmp_path):
    _coingecko_csv(tmp_path / "btc-usd-max.csv", 1, 29000.0)
    assert _run(raw_coin_markets, _files_resources(db_path, markets_glob=str(tmp_path / "*.csv")),
                "2021-01-01").success
    # a klines-only run of the files source does not ask for market caps: stored ones stay, no failure
    (tmp_path / "k").mkdir()
    _generic_csv(tmp_path / "k" / "bars.csv", n=12, day="2021-01-01")
    result = _run(raw_coin_markets, _files_resources(db_path, klines_glob=str(tmp_path / "k" / "*.csv")),
                  "2021-01-01")
    assert result.success and _source_check(result).passed
    assert query(db_path, "SELECT count(*) AS n FROM raw_coin_markets")["n"][0] == 1
