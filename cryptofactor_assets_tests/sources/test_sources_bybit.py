"""Bybit v5 client against a real local HTTP server that misbehaves in every documented way."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptofactor_assets.sources.base import KLINE_COLUMNS, SourceError
from cryptofactor_assets.sources.bybit import (
    BybitClient,
    BybitIpBanError,
    parse_kline_list,
    to_utc_ms,
)
from cryptofactor_assets.sources.http import RetryLater
from cryptofactor_assets_tests.fake_exchange_server import (
    FakeServer,
    Reply,
    Sleeps,
    bybit_envelope,
    bybit_kline_route,
    fixture_bytes,
    fixture_json,
    make_candles,
)

KLINE = "/v5/market/kline"
DAY0 = to_utc_ms("2024-01-01")
REAL_EXAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "api_examples"
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)






def client_for(server: FakeServer, **kw) -> tuple[BybitClient, Sleeps, list[str]]:
    sleeps, lines = Sleeps(), []
    kw.setdefault("now", lambda: FAR_FUTURE)
    kw.setdefault("timeout", 5.0)
    client = BybitClient(base_url=server.base_url, sleep=sleeps, log=lines.append, **kw)
    return client, sleeps, lines


def expected_frame(rows: list[list[str]], symbol: str) -> pd.DataFrame:
    ms = np.array([int(r[0]) for r in rows], dtype="int64")
    out = pd.DataFrame({"symbol": symbol, "open_time": ms.astype("datetime64[ms]").astype("datetime64[ns]")})
    for j, name in enumerate(["open", "high", "low", "close", "volume", "turnover"], start=1):
        out[name] = [float(r[j]) for r in rows]
    return out[KLINE_COLUMNS]


# ---------------------------------------------------------------------- parsing
def test_recorded_page_is_reordered_ascending_with_exact_values():
    payload = fixture_json("bybit_kline_linear_btcusdt_5m.json")
    rows = payload["result"]["list"]
    frame = parse_kline_list(rows, "BTCUSDT")
    assert list(frame.columns) == KLINE_COLUMNS
    assert frame["open_time"].dtype == "datetime64[ns]"
    # parse keeps the received (newest-first) order; the client sorts
    assert frame["open_time"].iloc[0] == pd.Timestamp("2024-01-01 00:05")
    assert frame["turnover"].iloc[0] == 5122904.7731
    assert frame["close"].iloc[2] == 42455.0


@pytest.mark.skipif(not REAL_EXAMPLES.exists(), reason="../shared/data/real absent")
def test_real_recorded_bodies_parse():
    for name, symbol, n in (("klines_btc.json", "BTCUSDT", 3), ("bybit_v5_market_kline_docs_example.json", "BTCUSD", 3)):
        payload = json.loads((REAL_EXAMPLES / name).read_text())
        frame = parse_kline_list(payload["result"]["list"], symbol)
        assert len(frame) == n
        assert frame["open_time"].is_monotonic_decreasing  # newest first, as documented
        assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()


def test_client_returns_ascending_frame_from_recorded_page(server):
    server.script(KLINE, Reply(200, fixture_bytes("bybit_kline_linear_btcusdt_5m.json")))
    client, sleeps, _ = client_for(server)
    frame, stats = client.klines_with_stats("BTCUSDT", "5", "2024-01-01 00:00", "2024-01-01 00:10")
    # window is [00:00, 00:10): the 23:55 row is outside, counted and passed on for the validation
    # layer to reject (outside_partition); all sorted ascending
    assert frame["open_time"].tolist() == [pd.Timestamp("2023-12-31 23:55"), pd.Timestamp("2024-01-01 00:00"),
                                           pd.Timestamp("2024-01-01 00:05")]
    assert frame["close"].tolist()[1:] == [42480.5, 42501.3]
    assert stats.outside_window == 1 and "outside the requested window" in stats.notes[0]
    req = server.requests_to(KLINE)[0]
    assert req.params == {"category": "linear", "symbol": "BTCUSDT", "interval": "5",
                          "start": str(DAY0), "end": str(DAY0 + 600_000 - 1), "limit": "1000"}
    assert sleeps.calls == []


# ---------------------------------------------------------------------- paging
def test_paging_across_three_pages_newest_first(server):
    rows = make_candles(DAY0, 2500)
    server.route(KLINE, bybit_kline_route({"BTCUSDT": rows}))
    client, _, _ = client_for(server)
    end = DAY0 + 2500 * 300_000
    frame, stats = client.klines_with_stats("BTCUSDT", "5", pd.Timestamp(DAY0, unit="ms"),
                                            pd.Timestamp(end, unit="ms"))
    assert stats.pages == 3 and len(server.requests_to(KLINE)) == 3
    pd.testing.assert_frame_equal(frame, expected_frame(rows, "BTCUSDT"))
    starts = [int(r.params["start"]) for r in server.requests_to(KLINE)]
    assert starts == [DAY0, DAY0 + 1000 * 300_000, DAY0 + 2000 * 300_000]


def test_server_capping_pages_below_limit_is_paged_backwards(server):
    rows = make_candles(DAY0, 50)
    route = bybit_kline_route({"BTCUSDT": rows})

    def capped(req):  # a server that ignores limit=1000 and serves 7 rows at most
        req.params["limit"] = "7"
        return route(req)

    server.route(KLINE, capped)
    client, _, _ = client_for(server)
    frame, stats = client.klines_with_stats("BTCUSDT", "5", pd.Timestamp(DAY0, unit="ms"),
                                            pd.Timestamp(DAY0 + 50 * 300_000, unit="ms"))
    pd.testing.assert_frame_equal(frame, expected_frame(rows, "BTCUSDT"))
    assert stats.pages == 8  # ceil(50 / 7)


def test_duplicate_rows_across_pages_are_removed_and_counted(server):
    rows = make_candles(DAY0, 6)
    # limit 3 -> chunks of 3 candles; the second page repeats the first page's last row
    page1 = list(reversed(rows[0:3]))
    page2 = list(reversed(rows[2:6]))
    server.script(KLINE, Reply(200, bybit_envelope(page1)), Reply(200, bybit_envelope(page2)))
    client, _, _ = client_for(server, limit=3)
    frame, stats = client.klines_with_stats("BTCUSDT", "5", pd.Timestamp(DAY0, unit="ms"),
                                            pd.Timestamp(DAY0 + 6 * 300_000, unit="ms"))
    pd.testing.assert_frame_equal(frame, expected_frame(rows, "BTCUSDT"))
    assert stats.duplicates == 1 and stats.conflicting_duplicates == 0
    assert frame["open_time"].is_unique and frame["open_time"].is_monotonic_increasing


def test_conflicting_duplicate_reaches_validation_and_says_so(server):
    rows = make_candles(DAY0, 4)
    altered = [rows[1][0], "1", "2", "0.5", "1.5", "9", "9"]
    server.script(KLINE, Reply(200, bybit_envelope(list(reversed(rows[0:2])))),
                  Reply(200, bybit_envelope([rows[3], rows[2], altered])))
    client, _, _ = client_for(server, limit=2)
    frame, stats = client.klines_with_stats("BTCUSDT", "5", pd.Timestamp(DAY0, unit="ms"),
                                            pd.Timestamp(DAY0 + 4 * 300_000, unit="ms"))
    # only exact copies are removed: both versions of candle 1 are kept (first page first), so the
    # validation layer can quarantine them as conflicting_duplicate
    expected = expected_frame([rows[0], rows[1], altered, rows[2], rows[3]], "BTCUSDT")
    pd.testing.assert_frame_equal(frame, expected)
    assert stats.conflicting_duplicates == 2 and stats.duplicates == 0
    assert "different values" in stats.notes[-1] and "conflicting_duplicate" in stats.notes[-1]


def test_empty_list_gives_empty_frame(server):
    server.script(KLINE, Reply(200, fixture_bytes("bybit_kline_empty.json")))
    client, _, _ = client_for(server)
    frame = client.klines("WIFUSDT", "5", "2024-01-01", "2024-01-02")
    assert frame.empty and list(frame.columns) == KLINE_COLUMNS


def test_still_open_candle_is_dropped(server):
    rows = make_candles(DAY0, 10)
    server.route(KLINE, bybit_kline_route({"BTCUSDT": rows}))
    # "now" is 2 minutes into the 10th candle: that candle is still open
    now = pd.Timestamp(DAY0 + 9 * 300_000 + 120_000, unit="ms", tz="UTC").to_pydatetime()
    client, _, _ = client_for(server, now=lambda: now)
    frame, stats = client.klines_with_stats("BTCUSDT", "5", "2024-01-01", "2024-01-02")
    pd.testing.assert_frame_equal(frame, expected_frame(rows[:9], "BTCUSDT"))
    assert stats.open_candle_dropped == 1
    # a candle that closes exactly at "now" is closed
    now2 = pd.Timestamp(DAY0 + 10 * 300_000, unit="ms", tz="UTC").to_pydatetime()
    client2, _, _ = client_for(server, now=lambda: now2)
    assert len(client2.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")) == 10


def test_daily_interval(server):
    rows = make_candles(DAY0, 5, interval_ms=86_400_000)
    server.route(KLINE, bybit_kline_route({"BTCUSDT": rows}))
    client, _, _ = client_for(server)
    frame = client.klines("BTCUSDT", "D", "2024-01-01", "2024-01-06")
    pd.testing.assert_frame_equal(frame, expected_frame(rows, "BTCUSDT"))
    assert server.requests_to(KLINE)[0].params["interval"] == "D"


# ---------------------------------------------------------------------- errors and retries
def test_10006_waits_until_reset_timestamp_then_succeeds(server):
    now = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    reset = to_utc_ms(now) + 1500
    rows = make_candles(DAY0, 3)
    server.script(KLINE, Reply(200, fixture_bytes("bybit_error_10006_rate_limit.json"),
                               headers={"X-Bapi-Limit": "600", "X-Bapi-Limit-Status": "0",
                                        "X-Bapi-Limit-Reset-Timestamp": str(reset)}))
    server.route(KLINE, bybit_kline_route({"BTCUSDT": rows}))
    client, sleeps, lines = client_for(server, now=lambda: now)
    frame, stats = client.klines_with_stats("BTCUSDT", "5", "2024-01-01", "2024-01-02")
    assert sleeps.calls == [1.5]
    assert stats.retries == 1 and len(frame) == 3
    assert any("10006" in line for line in lines)


def test_429_retry_after_is_honoured(server):
    server.script(KLINE, Reply(429, "Too Many Requests", headers={"Retry-After": "7"}))
    server.route(KLINE, bybit_kline_route({"BTCUSDT": make_candles(DAY0, 2)}))
    client, sleeps, _ = client_for(server)
    assert len(client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")) == 2
    assert sleeps.calls == [7.0]


def test_5xx_exponential_backoff_then_success(server):
    server.script(KLINE, Reply(502, fixture_bytes("cloudflare_502.html"), content_type="text/html"),
                  Reply(503, "unavailable"), Reply(500, "oops"))
    server.route(KLINE, bybit_kline_route({"BTCUSDT": make_candles(DAY0, 2)}))
    client, sleeps, _ = client_for(server, backoff=0.5)
    assert len(client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")) == 2
    assert sleeps.calls == [0.5, 1.0, 2.0]


def test_retries_are_bounded(server):
    server.route(KLINE, lambda req: Reply(503, "down"))
    client, sleeps, _ = client_for(server, max_tries=4, backoff=1.0)
    with pytest.raises(SourceError, match="gave up after 4 tries; last failure: HTTP 503") as info:
        client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02", partition="2024-01-01")
    assert len(server.requests_to(KLINE)) == 4 and sleeps.calls == [1.0, 2.0, 4.0]
    assert info.value.symbol == "BTCUSDT" and info.value.partition == "2024-01-01"


def test_403_stops_at_once_and_says_ip_ban(server):
    server.route(KLINE, lambda req: Reply(403, "access too frequent"))
    client, sleeps, _ = client_for(server)
    with pytest.raises(BybitIpBanError, match="IP"):
        client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")
    assert len(server.requests) == 1 and sleeps.calls == []
    # even in non-strict batch mode: the other symbols are NOT tried
    with pytest.raises(BybitIpBanError):
        client.fetch_klines_5m(["BTCUSDT", "ETHUSDT"], "2024-01-01", "2024-01-02")
    assert len(server.requests) == 2


@pytest.mark.parametrize("name", ["bybit_error_10001_not_supported.json", "bybit_error_10001_symbol_invalid.json"])
def test_10001_names_the_symbol(server, name):
    server.route(KLINE, lambda req: Reply(200, fixture_bytes(name)))
    client, sleeps, _ = client_for(server)
    with pytest.raises(SourceError, match=r"symbol 'FOOUSDT'.*retCode 10001") as info:
        client.klines("FOOUSDT", "5", "2024-01-01", "2024-01-02", partition="2024-01-01")
    assert "source=bybit" in str(info.value) and "partition=2024-01-01" in str(info.value)
    assert sleeps.calls == [] and len(server.requests) == 1


def test_other_retcode_reports_message_and_code(server):
    server.route(KLINE, lambda req: Reply(200, {"retCode": 10017, "retMsg": "route not found", "result": {}}))
    client, _, _ = client_for(server)
    with pytest.raises(SourceError, match=r"route not found \(retCode 10017\)"):
        client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")


def test_truncated_json_is_retried_then_a_clear_error(server):
    body = fixture_bytes("bybit_kline_linear_btcusdt_5m.json")[:150]
    server.route(KLINE, lambda req: Reply(200, body))
    client, sleeps, _ = client_for(server, max_tries=3)
    with pytest.raises(SourceError, match="gave up after 3 tries.*truncated JSON") as info:
        client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02", partition="2024-01-01")
    err = info.value
    assert (err.source, err.symbol, err.partition) == ("bybit", "BTCUSDT", "2024-01-01")
    assert len(sleeps.calls) == 2


def test_json_broken_in_the_middle_is_an_error_at_once(server):
    server.route(KLINE, lambda req: Reply(200, b'{"retCode": 0, "result": {"list": [oops]}}'))
    client, sleeps, _ = client_for(server)
    with pytest.raises(SourceError, match="not JSON"):
        client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")
    assert sleeps.calls == [] and len(server.requests) == 1


def test_html_error_page_with_http_200_is_not_retried(server):
    server.route(KLINE, lambda req: Reply(200, fixture_bytes("cloudflare_502.html"), content_type="text/html"))
    client, sleeps, _ = client_for(server)
    with pytest.raises(SourceError, match="HTML page"):
        client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")
    assert sleeps.calls == [] and len(server.requests) == 1


def test_timeout_is_retried(server):
    rows = make_candles(DAY0, 3)
    server.script(KLINE, Reply(200, bybit_envelope(list(reversed(rows))), delay=1.0))
    server.route(KLINE, bybit_kline_route({"BTCUSDT": rows}))
    client, sleeps, lines = client_for(server, timeout=0.2)
    frame = client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")
    pd.testing.assert_frame_equal(frame, expected_frame(rows, "BTCUSDT"))
    assert sleeps.calls == [1.0] and "timeout" in lines[0]


def test_body_cut_mid_transfer_is_retried(server):
    rows = make_candles(DAY0, 3)
    body = json.dumps(bybit_envelope(list(reversed(rows)))).encode()
    server.script(KLINE, Reply(200, body[:40], declared_length=len(body)))
    server.route(KLINE, bybit_kline_route({"BTCUSDT": rows}))
    client, sleeps, _ = client_for(server)
    assert len(client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")) == 3
    assert len(sleeps.calls) == 1


def test_connection_refused_gives_up_with_source_error():
    with FakeServer() as srv:
        url = srv.base_url
    client = BybitClient(base_url=url, sleep=lambda s: None, max_tries=2, timeout=1.0, log=lambda m: None)
    with pytest.raises(SourceError, match="connection error"):
        client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")


# ---------------------------------------------------------------------- batch, universe, config
def test_batch_continues_past_failing_symbol_and_logs_progress(server):
    candles = {"BTCUSDT": make_candles(DAY0, 288), "ETHUSDT": make_candles(DAY0, 288, base=50.0)}
    server.route(KLINE, bybit_kline_route(candles))
    client, _, lines = client_for(server)
    batch = client.fetch_klines_5m(["BTCUSDT", "NOPEUSDT", "ETHUSDT"], dt.date(2024, 1, 1), dt.date(2024, 1, 2))
    assert [f.symbol for f in batch.failures] == ["NOPEUSDT"]
    assert "10001" in batch.failures[0].error
    assert batch.frame.groupby("symbol").size().to_dict() == {"BTCUSDT": 288, "ETHUSDT": 288}
    assert batch.stats["symbols_failed"] == 1 and batch.stats["rows"] == 576 and batch.stats["pages"] == 2
    assert lines[0] == "bybit BTCUSDT (1 of 3): 288 rows, 1 pages, 0 retries"
    assert lines[1].startswith("bybit NOPEUSDT (2 of 3): FAILED")
    assert lines[2].startswith("bybit ETHUSDT (3 of 3)")
    with pytest.raises(SourceError, match="NOPEUSDT"):
        client.fetch_klines_5m(["BTCUSDT", "NOPEUSDT"], "2024-01-01", "2024-01-02", strict=True)


def test_instruments_follow_the_cursor(server):
    server.script("/v5/market/instruments-info", Reply(200, fixture_bytes("bybit_instruments_linear_page1.json")),
                  Reply(200, fixture_bytes("bybit_instruments_linear_page2.json")))
    client, _, _ = client_for(server)
    frame = client.instruments(quote_coin="USDT")
    assert frame["symbol"].tolist() == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert frame["launch_time"].iloc[0] == pd.Timestamp("2020-03-15")
    reqs = server.requests_to("/v5/market/instruments-info")
    assert "cursor" not in reqs[0].params and reqs[1].params["cursor"] == "first%3D2%26last%3D2"


def test_base_url_from_environment(monkeypatch):
    monkeypatch.setenv("BYBIT_BASE_URL", "http://127.0.0.1:9/")
    assert BybitClient().base_url == "http://127.0.0.1:9"
    monkeypatch.delenv("BYBIT_BASE_URL")
    assert BybitClient().base_url == "https://api.bybit.com"
    with pytest.raises(ValueError):
        BybitClient(category="inverse")


# ---------------------------------------------------------------------- property tests
_field = st.one_of(st.text(max_size=12), st.integers(-(10**15), 10**16).map(str), st.floats(allow_nan=True).map(str),
                   st.none(), st.integers(), st.floats(), st.booleans(), st.lists(st.integers(), max_size=2))
_row = st.one_of(st.lists(_field, min_size=0, max_size=9),
                 st.tuples(st.integers(1_600_000_000_000, 1_800_000_000_000).map(str),
                           *[st.one_of(st.floats(allow_nan=True).map(str), st.text(max_size=5))] * 6).map(list),
                 st.text(max_size=5), st.none())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(_row, max_size=12), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                 st.text(max_size=10), st.none()))
def test_parser_never_crashes_and_never_loses_a_row(rows):
    try:
        frame = parse_kline_list(rows, "XUSDT", "2024-01-01")
    except SourceError as exc:
        assert exc.source == "bybit" and exc.symbol == "XUSDT"
        return
    assert len(frame) == len(rows)  # every row kept; bad values are NaN for the validation layer
    assert list(frame.columns) == KLINE_COLUMNS
    assert frame["open_time"].notna().all()


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = body
    resp.headers.update(headers or {})
    return resp


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([200, 200, 200, 400, 404, 429, 500, 502]),
       st.one_of(st.binary(max_size=200),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                              lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                              max_leaves=10).map(lambda x: json.dumps(x).encode()),
                 st.builds(lambda code, lst: json.dumps({"retCode": code, "retMsg": "m", "result": {"list": lst}}).encode(),
                           st.sampled_from([0, 0, 10001, 10006, 10016, 170121]),
                           st.lists(st.lists(st.text(max_size=4), max_size=8), max_size=3))))
def test_any_response_body_gives_result_or_source_error(status, body):
    client = BybitClient(base_url="http://127.0.0.1:9", now=lambda: FAR_FUTURE, log=lambda m: None)
    try:
        result = client._interpret(_response(status, body), "XUSDT", "2024-01-01")
        parse_kline_list(result.get("list"), "XUSDT", "2024-01-01")
    except (SourceError, RetryLater):
        pass
