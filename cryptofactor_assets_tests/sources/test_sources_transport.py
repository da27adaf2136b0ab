"""Transport of the API clients (sources/http.py): retry budget, wait cap, wait logging, no exception chains.

Real local HTTP servers (fake_exchange_server.FakeServer) and injected sleep, so faults are real
sockets and bodies but no test sleeps for the waits it checks.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback

import dagster as dg
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptofactor_assets.sources.base import SourceError
from cryptofactor_assets.sources.bybit import BybitClient, to_utc_ms
from cryptofactor_assets.sources.coingecko import CoinGeckoSource
from cryptofactor_assets.sources.http import (
    RETRYABLE_STATUSES,
    RetriesExhausted,
    RetryLater,
    RetryPolicy,
    WaitTooLong,
    call_with_retries,
    log_wait,
    looks_truncated,
    max_retry_wait_from_env,
    warning_channel,
)
from cryptofactor_assets_tests.fake_exchange_server import (
    FakeServer,
    Reply,
    Sleeps,
    bybit_envelope,
    bybit_kline_route,
    fixture_bytes,
    make_candles,
)

KLINE = "/v5/market/kline"
DAY0 = to_utc_ms("2024-01-01")
NOW = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
CG_KEY = "CG-TRANSPORTCANARY42"
BTC_RANGE = "/api/v3/coins/bitcoin/market_chart/range"






@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("COINGECKO_API_KEY", "COINGECKO_API_PLAN", "COINGECKO_BASE_URL", "COINGECKO_CALLS_PER_MINUTE",
                 "CRYPTOFACTOR_MAX_RETRY_WAIT", "BYBIT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def bybit(server: FakeServer, **kw) -> tuple[BybitClient, Sleeps, list[str]]:
    sleeps, lines = Sleeps(), []
    kw.setdefault("log", lines.append)
    client = BybitClient(base_url=server.base_url, sleep=sleeps, now=lambda: NOW, timeout=kw.pop("timeout", 5.0), **kw)
    return client, sleeps, lines


def coingecko(server: FakeServer, **kw) -> tuple[CoinGeckoSource, Sleeps, list[str]]:
    sleeps, lines = Sleeps(), []
    kw.setdefault("log", lines.append)
    src = CoinGeckoSource(api_key=kw.pop("api_key", CG_KEY), base_url=server.base_url + "/api/v3", sleep=sleeps,
                          calls_per_minute=10_000, now=lambda: dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
                          timeout=kw.pop("timeout", 5.0), **kw)
    return src, sleeps, lines


def daily_payload(start: str, days: int) -> dict:
    t0 = int(pd.Timestamp(start).value // 1_000_000)
    ts = [t0 + i * 86_400_000 for i in range(days)]
    return {"prices": [[t, 100.0 + i] for i, t in enumerate(ts)],
            "market_caps": [[t, 1e9 + i] for i, t in enumerate(ts)],
            "total_volumes": [[t, 5e6 + i] for i, t in enumerate(ts)]}


@pytest.fixture
def guarded_logging():
    """``install_redaction()`` for one test, then the process-wide logging state put back."""
    import sys

    from cryptofactor_assets.sources import redaction

    factory, hook = logging.getLogRecordFactory(), sys.excepthook
    loggers = [logging.getLogger(), logging.getLogger("dagster")]
    saved = [(lg, list(lg.filters), [(h, list(h.filters)) for h in lg.handlers]) for lg in loggers]
    installed = redaction._installed
    redaction.install_redaction()
    yield
    logging.setLogRecordFactory(factory)
    sys.excepthook = hook
    for lg, filters, handlers in saved:
        lg.filters[:] = filters
        for h, hf in handlers:
            h.filters[:] = hf
    redaction._installed = installed


def no_chain(exc: BaseException) -> None:
    """The exception travels alone: nothing chained, and its printed traceback names no key."""
    assert exc.__cause__ is None and exc.__context__ is None, repr(exc.__context__ or exc.__cause__)
    assert CG_KEY not in "".join(traceback.format_exception(exc))


# ---------------------------------------------------------------------- 5 faults in a row, then success
KLINE_BODY = json.dumps(bybit_envelope(list(reversed(make_candles(DAY0, 288))))).encode()


def _bybit_fault(kind: str) -> Reply:
    if kind == "10006 with reset time":
        return Reply(200, fixture_bytes("bybit_error_10006_rate_limit.json"),
                     headers={"X-Bapi-Limit-Reset-Timestamp": str(to_utc_ms(NOW) + 1500)})
    if kind == "10016 server error":
        return Reply(200, {"retCode": 10016, "retMsg": "Internal server error.", "result": {}})
    if kind == "429 Retry-After":
        return Reply(429, "Too Many Requests", headers={"Retry-After": "7"})
    if kind == "502 proxy HTML":
        return Reply(502, fixture_bytes("cloudflare_502.html"), content_type="text/html")
    if kind == "503":
        return Reply(503, "Service Unavailable")
    if kind == "body cut mid-transfer":
        return Reply(200, KLINE_BODY[:300], declared_length=len(KLINE_BODY))
    if kind == "truncated JSON":
        return Reply(200, KLINE_BODY[:300])
    if kind == "timeout":
        return Reply(200, KLINE_BODY, delay=0.6)
    raise AssertionError(kind)


BYBIT_FAULTS = ["10006 with reset time", "10016 server error", "429 Retry-After", "502 proxy HTML", "503",
                "body cut mid-transfer", "truncated JSON", "timeout"]


@pytest.mark.parametrize("kind", BYBIT_FAULTS)
def test_bybit_symbol_survives_five_consecutive_faults_of_each_kind(server, kind):
    server.script(KLINE, *[_bybit_fault(kind) for _ in range(5)])
    server.route(KLINE, bybit_kline_route({"BTCUSDT": make_candles(DAY0, 288)}))
    client, sleeps, lines = bybit(server, timeout=0.25 if kind == "timeout" else 5.0)
    batch = client.fetch_klines_5m(["BTCUSDT"], dt.date(2024, 1, 1), dt.date(2024, 1, 2))
    assert batch.failures == [] and batch.stats["rows"] == 288 and batch.stats["retries"] == 5
    assert len(sleeps.calls) == 5 and len(server.requests_to(KLINE)) == 6
    retry_lines = [line for line in lines if ": retry " in line]
    assert len(retry_lines) == 5
    for line, wait in zip(retry_lines, sleeps.calls, strict=True):  # every wait is logged with its length
        assert f" in {wait:g} s " in line
    if kind == "10006 with reset time":
        assert sleeps.calls == [1.5] * 5 and "(X-Bapi-Limit-Reset-Timestamp)" in retry_lines[0]
    elif kind == "429 Retry-After":
        assert sleeps.calls == [7.0] * 5 and "(Retry-After)" in retry_lines[0]
    else:
        assert sleeps.calls == [1.0, 2.0, 4.0, 8.0, 16.0] and "(back-off)" in retry_lines[0]


def _coingecko_fault(kind: str) -> Reply:
    good = json.dumps(daily_payload("2023-10-01", 120)).encode()
    if kind == "429 retry-after":
        return Reply(429, fixture_bytes("coingecko_error_429_rate_limit.json"), headers={"retry-after": "60"})
    if kind == "502 proxy HTML":
        return Reply(502, fixture_bytes("cloudflare_502.html"), content_type="text/html")
    if kind == "500 JSON":
        return Reply(500, {"error": "internal error"})
    if kind == "body cut mid-transfer":
        return Reply(200, good[:200], declared_length=len(good))
    if kind == "truncated JSON":
        return Reply(200, good[:200])
    if kind == "timeout":
        return Reply(200, good, delay=0.6)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["429 retry-after", "502 proxy HTML", "500 JSON", "body cut mid-transfer",
                                  "truncated JSON", "timeout"])
def test_coingecko_coin_survives_five_consecutive_faults_of_each_kind(server, kind):
    server.script(BTC_RANGE, *[_coingecko_fault(kind) for _ in range(5)])
    server.route(BTC_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    src, sleeps, lines = coingecko(server, timeout=0.25 if kind == "timeout" else 5.0)
    batch = src.fetch_markets(["bitcoin"], dt.date(2024, 1, 1), dt.date(2024, 1, 8))
    assert batch.failures == [] and batch.stats["rows"] == 7 and batch.stats["retries"] == 5
    assert len(sleeps.calls) == 5 and len(server.requests_to(BTC_RANGE)) == 6
    retry_lines = [line for line in lines if ": retry " in line]
    assert [f" in {w:g} s " in line for line, w in zip(retry_lines, sleeps.calls, strict=True)] == [True] * 5
    expected = [60.0] * 5 if kind == "429 retry-after" else [2.0, 4.0, 8.0, 16.0, 32.0]
    assert sleeps.calls == expected
    assert CG_KEY not in " ".join(lines)


def test_the_default_budget_is_eight_tries(server):
    server.route(KLINE, lambda req: Reply(503, "down"))
    client, sleeps, _ = bybit(server)
    with pytest.raises(SourceError, match="gave up after 8 tries; last failure: HTTP 503: down") as info:
        client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")
    assert len(server.requests_to(KLINE)) == 8 and sleeps.calls == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]
    no_chain(info.value)


# ---------------------------------------------------------------------- the wait cap
def test_bybit_distant_reset_fails_fast_with_the_reason(server):
    server.route(KLINE, lambda req: Reply(200, fixture_bytes("bybit_error_10006_rate_limit.json"),
                                          headers={"X-Bapi-Limit-Reset-Timestamp": str(to_utc_ms(NOW) + 900_000)}))
    client, sleeps, lines = bybit(server)
    batch = client.fetch_klines_5m(["BTCUSDT"], dt.date(2024, 1, 1), dt.date(2024, 1, 2))
    assert sleeps.calls == [] and len(server.requests_to(KLINE)) == 1
    error = batch.failures[0].error
    assert ("Bybit asked to wait 900 s (X-Bapi-Limit-Reset-Timestamp) > cap 120 s; "
            "set CRYPTOFACTOR_MAX_RETRY_WAIT to wait longer") in error
    assert "10006" in error and "symbol=BTCUSDT" in error
    assert any("not waiting" in line and "900 s" in line for line in lines)


def test_the_cap_comes_from_the_environment_and_a_wait_at_the_cap_is_honoured(server, monkeypatch):
    reset = str(to_utc_ms(NOW) + 900_000)
    server.script(KLINE, Reply(200, fixture_bytes("bybit_error_10006_rate_limit.json"),
                               headers={"X-Bapi-Limit-Reset-Timestamp": reset}))
    server.route(KLINE, bybit_kline_route({"BTCUSDT": make_candles(DAY0, 3)}))
    monkeypatch.setenv("CRYPTOFACTOR_MAX_RETRY_WAIT", "900")
    client, sleeps, _ = bybit(server)
    assert len(client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")) == 3 and sleeps.calls == [900.0]
    monkeypatch.setenv("CRYPTOFACTOR_MAX_RETRY_WAIT", "soon")
    with pytest.raises(ValueError, match="CRYPTOFACTOR_MAX_RETRY_WAIT must be a number"):
        bybit(server)
    assert max_retry_wait_from_env({}) == 120.0 and max_retry_wait_from_env({"CRYPTOFACTOR_MAX_RETRY_WAIT": "0"}) == 0


def test_coingecko_long_retry_after_fails_fast(server):
    server.route(BTC_RANGE, lambda req: Reply(429, fixture_bytes("coingecko_error_429_rate_limit.json"),
                                              headers={"retry-after": "300"}))
    src, sleeps, _ = coingecko(server)
    with pytest.raises(SourceError, match=r"CoinGecko asked to wait 300 s \(retry-after\) > cap 120 s; "
                                          r"set CRYPTOFACTOR_MAX_RETRY_WAIT to wait longer") as info:
        src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")
    assert sleeps.calls == [] and len(server.requests) == 1
    no_chain(info.value)


def test_an_infinite_or_http_date_server_wait(server):
    policy = RetryPolicy(max_server_wait=10)
    assert policy.too_long(float("inf")) and policy.too_long(10.5) and not policy.too_long(10) and not policy.too_long(None)
    server.script(KLINE, Reply(503, "x", headers={"Retry-After": "Tue, 02 Jan 2024 00:00:04 GMT"}))
    server.route(KLINE, bybit_kline_route({"BTCUSDT": make_candles(DAY0, 3)}))
    client, sleeps, _ = bybit(server)
    client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")
    assert sleeps.calls == [4.0]  # relative to the injected clock


# ---------------------------------------------------------------------- wait logging levels
def test_waits_of_five_seconds_or_more_are_warnings(server, caplog):
    server.script(KLINE, _bybit_fault("10006 with reset time"), Reply(429, "slow down", headers={"Retry-After": "5"}),
                  Reply(503, "x"))
    server.route(KLINE, bybit_kline_route({"BTCUSDT": make_candles(DAY0, 3)}))
    logger = logging.getLogger("cryptofactor.test.transport")
    client, sleeps, _ = bybit(server, log=logger.info)
    with caplog.at_level(logging.INFO, logger=logger.name):
        client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")
    retries = [(r.levelname, r.getMessage()) for r in caplog.records if ": retry " in r.getMessage()]
    assert [level for level, _ in retries] == ["INFO", "WARNING", "INFO"]
    assert "in 5 s (Retry-After)" in retries[1][1] and sleeps.calls == [1.5, 5.0, 4.0]


def test_long_waits_reach_dagster_as_warnings():
    @dg.asset
    def waits(context):
        log_wait(context.log.info, "coingecko bitcoin: retry 1/7 in 60 s (retry-after) after HTTP 429", 60.0)
        log_wait(context.log.info, "bybit BTCUSDT: retry 1/7 in 1 s (back-off) after HTTP 503", 1.0)
        return 1

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([waits], instance=instance)
    levels = {e.user_message.split(":")[0]: e.level for e in instance.all_logs(result.run_id)
              if "retry 1/7" in e.user_message}
    assert levels == {"coingecko bitcoin": logging.WARNING, "bybit BTCUSDT": logging.INFO}


def test_warning_channel():
    logger = logging.getLogger("x.y")
    assert warning_channel(logger.info) == logger.warning
    lines: list[str] = []
    assert warning_channel(lines.append) == lines.append and warning_channel(print) is print


def test_rate_limiter_waits_are_logged(server):
    server.route(BTC_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    clock = {"t": 0.0}
    sleeps, lines = Sleeps(), []

    def sleep(s):
        sleeps(s)
        clock["t"] += s

    src = CoinGeckoSource(api_key=CG_KEY, base_url=server.base_url + "/api/v3", sleep=sleep, clock=lambda: clock["t"],
                          calls_per_minute=5, now=lambda: dt.datetime(2030, 1, 1, tzinfo=dt.UTC), log=lines.append)
    src.fetch_markets(["bitcoin", "ethereum", "solana", "ripple", "cardano", "dogecoin"], "2024-01-01", "2024-01-02")
    assert sleeps.calls == [pytest.approx(60.0)]
    assert any("waiting 60 s for the client-side rate limit (5 calls/min, demo plan" in line for line in lines)


# ---------------------------------------------------------------------- what is and is not transient
@pytest.mark.parametrize("status,retried", [(408, True), (425, True), (429, True), (500, True), (502, True),
                                            (520, True), (530, True), (501, False), (505, False), (511, False),
                                            (400, False), (404, False)])
def test_retryable_statuses(status, retried):
    assert (status in RETRYABLE_STATUSES) is retried


def test_html_with_http_200_is_not_retried_but_with_a_5xx_it_is(server):
    html = fixture_bytes("cloudflare_502.html")
    server.script(BTC_RANGE, Reply(200, html, content_type="text/html"), Reply(502, html, content_type="text/html"))
    server.route(BTC_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    src, sleeps, _ = coingecko(server)
    with pytest.raises(SourceError, match="HTML page") as info:
        src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")
    assert sleeps.calls == []
    no_chain(info.value)
    assert len(src.market_chart_range("bitcoin", "2024-01-03", "2024-01-04")) == 1 and sleeps.calls == [2.0]


@pytest.mark.parametrize("body,cut", [
    (b"", True), (b'{"a": [1, 2', True), (b'{"a": "ab', True), (b'{"a": tr', True), (b'{"a": 1.', True),
    (b'{"a": 1', True), (b"\xe2\x82", True), (b'{"a": 1}', False), (b'{"a": x}', False), (b'{"a": 1}}', False),
    (b"<html>502</html>", False), (b"Service Unavailable", False),
])
def test_looks_truncated(body, cut):
    assert looks_truncated(body) is cut


# ---------------------------------------------------------------------- worst-case time is bounded
@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(0, 200), st.sampled_from(["timeout", "conn"])), max_size=12),
       st.integers(1, 9), st.floats(0, 150))
def test_waits_never_exceed_the_worst_case(faults, max_tries, cap):
    import requests

    policy = RetryPolicy(max_tries=max_tries, max_server_wait=cap)
    script = iter(faults)
    sleeps = Sleeps()

    def fn():
        fault = next(script, "ok")
        if fault == "ok":
            return "ok"
        if fault == "timeout":
            raise requests.Timeout("t")
        if fault == "conn":
            raise requests.ConnectionError("c")
        raise RetryLater("x", fault)

    try:
        call_with_retries(fn, policy, sleep=sleeps)
    except (RetriesExhausted, WaitTooLong) as exc:
        assert exc.__context__ is None
    assert sum(sleeps.calls) <= policy.worst_case_wait() + 1e-9
    assert len(sleeps.calls) <= max_tries - 1 and all(s <= max(cap, policy.backoff_max) for s in sleeps.calls)
    assert RetryPolicy().worst_case_wait() == 7 * 120


# ---------------------------------------------------------------------- no exception chains
@pytest.mark.parametrize("reply", [
    Reply(401, "Unauthorized", content_type="text/plain"),
    Reply(401, fixture_bytes("coingecko_error_10012_time_range.json")),
    Reply(403, "<html>Access denied</html>", content_type="text/html"),
    Reply(400, {"error": f"bad request GET /coins?x_cg_demo_api_key={CG_KEY}"}),
    Reply(404, f"<p>/api/v3/coins/bitcoin?x_cg_demo_api_key={CG_KEY} not found</p>", content_type="text/html"),
    Reply(200, "<html>portal</html>", content_type="text/html"),
], ids=["401-text", "401-10012", "403-html", "400-url-echo", "404-url-echo-html", "200-html"])
def test_coingecko_errors_carry_no_chain_and_no_key(server, reply, caplog, guarded_logging):
    # with DEBUG logging urllib3 logs every URL, key included: the installed guard masks it
    server.route(BTC_RANGE, lambda req: reply)
    src, sleeps, lines = coingecko(server)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as info:
        src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")
    no_chain(info.value)
    assert sleeps.calls == [] and CG_KEY not in " ".join(lines) + caplog.text
    batch = src.fetch_markets(["bitcoin"], "2024-01-01", "2024-01-02")
    assert CG_KEY not in batch.failures[0].error
    with pytest.raises(SourceError) as strict:
        src.fetch_markets(["bitcoin"], "2024-01-01", "2024-01-02", strict=True)
    no_chain(strict.value)


def test_connection_errors_quote_the_url_but_it_never_gets_out():
    with FakeServer() as srv:
        url = srv.base_url
    src = CoinGeckoSource(api_key=CG_KEY, plan="pro", base_url=url + "/api/v3", sleep=lambda s: None,
                          log=lambda m: None, calls_per_minute=1000, max_tries=2, timeout=1.0)
    with pytest.raises(SourceError, match="connection error") as info:
        src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")
    no_chain(info.value)


def test_bybit_errors_carry_no_chain(server):
    server.script(KLINE, Reply(200, b"<html>login</html>", content_type="text/html"),
                  Reply(200, b'{"retCode": 0, oops}'))
    client, _, _ = bybit(server, max_tries=2)
    for _ in range(2):
        with pytest.raises(SourceError) as info:
            client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")
        no_chain(info.value)
    server.route(KLINE, lambda req: Reply(500, "x"))
    with pytest.raises(SourceError) as info:
        client.klines("BTCUSDT", "5", "2024-01-01", "2024-01-02")
    no_chain(info.value)
