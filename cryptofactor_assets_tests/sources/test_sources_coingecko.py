"""CoinGecko source (through pycoingecko) against a real local HTTP server."""

from __future__ import annotations

import datetime as dt
import json
import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptofactor_assets.sources.base import MARKET_COLUMNS, SourceError
from cryptofactor_assets.sources.coingecko import (
    ChartStats,
    CoinGeckoSource,
    default_coin_symbols,
    parse_market_chart,
    symbol_lookup,
)
from cryptofactor_assets.sources.http import RateLimiter
from cryptofactor_assets_tests.fake_exchange_server import (
    FakeServer,
    Reply,
    Sleeps,
    fixture_bytes,
    fixture_json,
)

SECRET = "CG-SECRETKEY123"
BTC_RANGE = "/api/v3/coins/bitcoin/market_chart/range"
ETH_RANGE = "/api/v3/coins/ethereum/market_chart/range"
MARKETS = "/api/v3/coins/markets"
LATER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)






@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("COINGECKO_API_KEY", "COINGECKO_API_PLAN", "COINGECKO_BASE_URL", "COINGECKO_CALLS_PER_MINUTE"):
        monkeypatch.delenv(name, raising=False)


def source_for(server: FakeServer, **kw) -> tuple[CoinGeckoSource, Sleeps, list[str]]:
    sleeps, lines = Sleeps(), []
    kw.setdefault("api_key", SECRET)
    kw.setdefault("calls_per_minute", 10_000)
    kw.setdefault("now", lambda: LATER)
    kw.setdefault("timeout", 5.0)
    src = CoinGeckoSource(base_url=server.base_url + "/api/v3", sleep=sleeps, log=lines.append, **kw)
    return src, sleeps, lines


def daily_payload(start: str, days: int, live_ms: int | None = None) -> dict:
    t0 = int(pd.Timestamp(start).value // 1_000_000)
    ts = [t0 + i * 86_400_000 for i in range(days)] + ([live_ms] if live_ms else [])
    return {"prices": [[t, 100.0 + i] for i, t in enumerate(ts)],
            "market_caps": [[t, 1e9 + i] for i, t in enumerate(ts)],
            "total_volumes": [[t, 5e6 + i] for i, t in enumerate(ts)]}


# ---------------------------------------------------------------------- parsing
def test_recorded_range_gives_daily_rows_and_drops_the_live_point():
    payload = fixture_json("coingecko_market_chart_range_bitcoin.json")
    stats = ChartStats()
    frame = parse_market_chart(payload, "bitcoin", "BTCUSDT", today=dt.date(2024, 1, 3), stats=stats)
    assert list(frame.columns) == MARKET_COLUMNS
    assert frame["date"].tolist() == list(pd.date_range("2024-01-01", periods=3))
    assert frame["price"].tolist() == [42261.04217525195, 44179.92177584373, 44946.91085916879]
    assert frame["market_cap"].iloc[1] == 865445436493.6786
    assert frame["total_volume"].iloc[2] == 38934887262.7
    assert stats.live_dropped == 1 and stats.intraday_dropped == 0
    # a day later the 14:30 point is just a second point of a past day: the 00:00 one is kept
    stats2 = ChartStats()
    frame2 = parse_market_chart(payload, "bitcoin", "BTCUSDT", today=dt.date(2024, 1, 4), stats=stats2)
    assert frame2["price"].iloc[-1] == 44946.91085916879 and stats2.intraday_dropped == 1


def test_off_midnight_only_point_is_floored_and_counted():
    t = int(pd.Timestamp("2020-05-01 23:29:55").value // 1_000_000)
    stats = ChartStats()
    frame = parse_market_chart({"prices": [[t, 1.0]], "market_caps": [[t, 0.0]], "total_volumes": []},
                               "x", "XUSDT", today=dt.date(2024, 1, 1), stats=stats)
    assert frame["date"].tolist() == [pd.Timestamp("2020-05-01")] and stats.off_midnight == 1
    assert frame["market_cap"].iloc[0] == 0.0 and np.isnan(frame["total_volume"].iloc[0])


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.dictionaries(st.sampled_from(["prices", "market_caps", "total_volumes", "x"]),
                    st.one_of(st.lists(st.one_of(
                        st.tuples(st.integers(0, 4_000_000_000_000), st.floats(allow_nan=True)).map(list),
                        st.tuples(st.floats(), st.one_of(st.none(), st.text(max_size=3), st.integers())).map(list),
                        st.lists(st.integers(), max_size=3), st.text(max_size=3)), max_size=10),
                        st.none(), st.integers()), max_size=4),
    st.lists(st.integers(), max_size=3), st.none(), st.text(max_size=5)))
def test_chart_parser_only_raises_source_error_and_accounts_for_every_point(payload):
    stats = ChartStats()
    try:
        frame = parse_market_chart(payload, "x", "XUSDT", today=dt.date(2100, 1, 1), stats=stats)
    except SourceError as exc:
        assert exc.source == "coingecko" and exc.symbol == "x"
        return
    assert len(frame) + stats.intraday_dropped + stats.live_dropped == stats.points
    assert frame["date"].is_unique


# ---------------------------------------------------------------------- client over HTTP
def test_market_chart_range_request_and_window(server):
    server.route(BTC_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    src, sleeps, _ = source_for(server)
    frame = src.market_chart_range("bitcoin", "2024-01-10", "2024-01-13")
    assert frame["date"].tolist() == list(pd.date_range("2024-01-10", periods=3))
    assert frame["symbol"].unique().tolist() == ["BTCUSDT"] and frame["coin_id"].unique().tolist() == ["bitcoin"]
    req = server.requests_to(BTC_RANGE)[0]
    assert req.params["vs_currency"] == "usd"
    end = int(pd.Timestamp("2024-01-13", tz="UTC").timestamp())
    assert int(req.params["to"]) == end - 1
    assert int(req.params["from"]) == end - 91 * 86400  # widened to > 90 days for daily points
    assert req.params["x_cg_demo_api_key"] == SECRET
    # the same past range is served from the per-process cache
    src.market_chart_range("bitcoin", "2024-01-10", "2024-01-13")
    assert len(server.requests_to(BTC_RANGE)) == 1 and sleeps.calls == []


def test_429_retry_after_is_honoured(server):
    server.script(BTC_RANGE, Reply(429, fixture_bytes("coingecko_error_429_rate_limit.json"),
                                   headers={"retry-after": "119"}))
    server.route(BTC_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    src, sleeps, lines = source_for(server)
    frame = src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")
    assert len(frame) == 1 and sleeps.calls == [119.0]
    assert "429" in lines[0] and SECRET not in " ".join(lines)


def test_429_html_without_retry_after_backs_off(server):
    server.script(BTC_RANGE, Reply(429, fixture_bytes("cloudflare_502.html"), content_type="text/html"),
                  Reply(503, "<html>busy</html>", content_type="text/html"))
    server.route(BTC_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    src, sleeps, _ = source_for(server, backoff=3.0)
    assert len(src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")) == 1
    assert sleeps.calls == [3.0, 6.0]


def test_10012_names_coin_and_range_and_is_not_retried(server):
    server.route(BTC_RANGE, lambda req: Reply(401, fixture_bytes("coingecko_error_10012_time_range.json")))
    src, sleeps, _ = source_for(server)
    with pytest.raises(SourceError) as info:
        src.market_chart_range("bitcoin", "2019-01-01", "2019-01-02", partition="2019-01-01")
    text = str(info.value)
    assert "10012" in text and "'bitcoin'" in text and "2019-01-01..2019-01-02" in text and "365 days" in text
    assert info.value.symbol == "bitcoin" and info.value.partition == "2019-01-01"
    assert SECRET not in text and sleeps.calls == [] and len(server.requests) == 1


def test_401_without_code_is_a_key_error(server):
    server.route(BTC_RANGE, lambda req: Reply(401, {"status": {"error_code": 10002, "error_message": "API Key Missing"}}))
    src, _, _ = source_for(server)
    with pytest.raises(SourceError, match="Check COINGECKO_API_KEY") as info:
        src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")
    assert SECRET not in str(info.value)


def test_404_unknown_coin(server):
    server.route("/api/v3/coins/nope/market_chart/range", lambda req: Reply(404, {"error": "coin not found"}))
    src, _, _ = source_for(server)
    with pytest.raises(SourceError, match="unknown CoinGecko id.*coin not found"):
        src.market_chart_range("nope", "2024-01-01", "2024-01-02")


@pytest.mark.parametrize("body,match", [
    (b'{"prices": [[1704067200000, 42261.0]], oops}', "not JSON"),
    (fixture_bytes("cloudflare_502.html"), "HTML page"),
    (b'{"prices": "nope"}', "not a list"),
    (b"[1, 2]", "not an object"),
])
def test_unusable_bodies_are_source_errors(server, body, match):
    server.route(BTC_RANGE, lambda req: Reply(200, body))
    src, sleeps, _ = source_for(server)
    with pytest.raises(SourceError, match=match):
        src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")
    assert sleeps.calls == []


def test_truncated_json_is_retried_then_a_clear_error(server):
    body = fixture_bytes("coingecko_market_chart_range_bitcoin.json")[:70]
    server.route(BTC_RANGE, lambda req: Reply(200, body))
    src, sleeps, _ = source_for(server, max_tries=3)
    with pytest.raises(SourceError, match="gave up after 3 tries.*truncated JSON"):
        src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")
    assert sleeps.calls == [2.0, 4.0]


def test_timeout_is_retried(server):
    server.script(BTC_RANGE, Reply(200, daily_payload("2023-10-01", 120), delay=1.0))
    server.route(BTC_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    src, sleeps, _ = source_for(server, timeout=0.2)
    assert len(src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")) == 1
    assert sleeps.calls == [2.0]


def test_key_never_appears_in_errors_or_logs(caplog):
    with FakeServer() as srv:
        url = srv.base_url  # after the block nothing listens: connection refused, text carries the URL
    sleeps, lines = Sleeps(), []
    src = CoinGeckoSource(api_key=SECRET, plan="pro", base_url=url + "/api/v3/", sleep=sleeps, log=lines.append,
                          calls_per_minute=1000, max_tries=2, timeout=1.0)
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as info:
        src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")
    assert "connection error" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in " ".join(lines) and SECRET not in caplog.text
    assert SECRET not in repr(src)


def test_top_coins_pages_and_maps_symbols(server):
    server.script(MARKETS, Reply(200, fixture_bytes("coingecko_coins_markets_top3.json")))
    src, _, _ = source_for(server)
    top = src.top_coins(3)
    assert top["coin_id"].tolist() == ["bitcoin", "ethereum", "maker"]
    assert top["symbol"].tolist() == ["BTCUSDT", "ETHUSDT", "MKRUSDT"]
    assert top["market_cap"].tolist() == [827226548021.0, 274099221400.0, 0.0]
    assert server.requests_to(MARKETS)[0].params["order"] == "market_cap_desc"

    coins = [{"id": f"coin-{i}", "symbol": f"c{i}", "name": f"C{i}", "market_cap": 1e9 - i} for i in range(300)]

    def page(req):
        p, per = int(req.params["page"]), int(req.params["per_page"])
        return Reply(200, coins[(p - 1) * per: p * per])

    server.route(MARKETS, page)
    top = src.top_coins(300)
    assert len(top) == 300 and top["coin_id"].iloc[-1] == "coin-299" and top["symbol"].iloc[-1] == "C299USDT"
    assert [r.params["page"] for r in server.requests_to(MARKETS)[1:]] == ["1", "2"]


def test_fetch_markets_continues_past_a_failing_coin(server):
    server.route(BTC_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    server.route(ETH_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    server.route("/api/v3/coins/xyz/market_chart/range", lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    server.route("/api/v3/coins/old-coin/market_chart/range",
                 lambda req: Reply(401, fixture_bytes("coingecko_error_10012_time_range.json")))
    src, _, lines = source_for(server)
    batch = src.fetch_markets(["bitcoin", "old-coin", "ethereum", "xyz"], dt.date(2024, 1, 1), dt.date(2024, 1, 8),
                              symbol_map={"bitcoin": "XBTUSDT"})
    assert [f.symbol for f in batch.failures] == ["old-coin"] and "10012" in batch.failures[0].error
    # user table wins (bitcoin), default table next (ethereum), then a guess with a note (xyz)
    assert batch.frame.groupby("symbol").size().to_dict() == {"XBTUSDT": 7, "ETHUSDT": 7, "XYZUSDT": 7}
    assert [n for n in batch.notes if "guessed" in n] == ["symbols guessed (not in coin_symbols): old-coin->OLD-COINUSDT, xyz->XYZUSDT"]
    assert batch.stats["coins_failed"] == 1 and batch.stats["rows"] == 21
    assert lines[0].startswith("coingecko bitcoin (1 of 4): 7 rows")
    assert "FAILED" in lines[1]
    with pytest.raises(SourceError, match="old-coin"):
        src.fetch_markets(["old-coin"], "2024-01-01", "2024-01-02", strict=True)


def test_environment_plan_and_base_url(monkeypatch, server):
    monkeypatch.setenv("COINGECKO_API_KEY", SECRET)
    monkeypatch.setenv("COINGECKO_API_PLAN", "pro")
    monkeypatch.setenv("COINGECKO_BASE_URL", server.base_url + "/api/v3")
    server.route(BTC_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    src = CoinGeckoSource.from_env(sleep=lambda s: None, now=lambda: LATER)
    assert src.plan == "pro" and src.api.api_base_url == server.base_url + "/api/v3/"
    src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")
    assert server.requests_to(BTC_RANGE)[0].params["x_cg_pro_api_key"] == SECRET
    monkeypatch.delenv("COINGECKO_BASE_URL")
    monkeypatch.setenv("COINGECKO_API_PLAN", "demo")
    assert CoinGeckoSource.from_env().api.api_base_url == "https://api.coingecko.com/api/v3/"
    monkeypatch.setenv("COINGECKO_API_PLAN", "gold")
    with pytest.raises(ValueError, match="demo or pro"):
        CoinGeckoSource.from_env()


def test_rate_limiter_sliding_window():
    clock = {"t": 0.0}
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        clock["t"] += s

    limiter = RateLimiter(2, clock=lambda: clock["t"], sleep=sleep)
    assert limiter.acquire() == 0.0
    clock["t"] = 10.0
    assert limiter.acquire() == 0.0
    clock["t"] = 20.0
    assert limiter.acquire() == pytest.approx(40.0)  # waits until the t=0 call leaves the window
    assert clock["t"] == pytest.approx(60.0)
    assert limiter.acquire() == pytest.approx(10.0)  # then until the t=10 call leaves


def test_client_uses_the_rate_limiter(server):
    server.route(BTC_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
    clock = {"t": 0.0}
    sleeps = Sleeps()

    def sleep(s):
        sleeps(s)
        clock["t"] += s

    src = CoinGeckoSource(api_key=SECRET, base_url=server.base_url + "/api/v3", sleep=sleep,
                          clock=lambda: clock["t"], calls_per_minute=1, now=lambda: LATER, log=lambda m: None)
    src.market_chart_range("bitcoin", "2024-01-01", "2024-01-02")
    src.market_chart_range("bitcoin", "2024-01-02", "2024-01-03")
    assert sleeps.calls == [pytest.approx(60.0)]


def test_default_coin_symbols_table():
    table = default_coin_symbols()
    assert list(table.columns) == ["coin_id", "cg_symbol", "symbol"]
    assert table["coin_id"].is_unique and table["symbol"].is_unique
    assert (table["symbol"] == table["cg_symbol"].str.upper() + "USDT").all()
    assert symbol_lookup(None)["bitcoin"] == "BTCUSDT"
    assert symbol_lookup(pd.DataFrame({"coin_id": ["x"], "symbol": ["XUSDT"]})) == {"x": "XUSDT"}


def test_fixture_bodies_are_valid_json():
    for name in ("coingecko_error_429_rate_limit.json", "coingecko_error_10012_time_range.json",
                 "coingecko_coins_markets_top3.json"):
        json.loads(fixture_bytes(name))


# ---------------------------------------------------------------------- survivorship: dead coins
def test_dead_coins_are_fetched_beside_todays_and_an_unserved_one_is_reported(monkeypatch):
    """`dead_coingecko_ids` adds coins that died to the fetched universe (LTW include dead coins): one
    CoinGecko still serves is stored like any other; one it no longer serves (404) fails for that coin
    with the reason, the others are kept."""
    import datetime as dt

    from cryptofactor_assets.sources.resources import MarketSourceResource

    luna = "/api/v3/coins/terra-luna/market_chart/range"
    gone = "/api/v3/coins/bitconnect/market_chart/range"
    with FakeServer() as server:
        server.route(BTC_RANGE, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
        server.route(luna, lambda req: Reply(200, daily_payload("2023-10-01", 120)))
        server.route(gone, lambda req: Reply(404, {"error": "coin not found"}))
        monkeypatch.setenv("COINGECKO_BASE_URL", server.base_url + "/api/v3")
        monkeypatch.setenv("COINGECKO_CALLS_PER_MINUTE", "10000")
        source = MarketSourceResource(kind="bybit", symbols="BTCUSDT", coingecko_ids="bitcoin",
                                      dead_coingecko_ids="terra-luna, bitconnect,bitcoin")
        (batch,) = source.markets_batches(dt.date(2024, 1, 1), dt.date(2024, 1, 3), "2024-01-01", log=lambda m: None)
        fetched = [r.path.split("/")[4] for r in server.requests if "market_chart" in r.path]
    assert sorted(set(fetched)) == ["bitcoin", "bitconnect", "terra-luna"]  # bitcoin once, not twice
    assert fetched.count("bitcoin") == 1
    assert set(batch.frame["coin_id"]) == {"bitcoin", "terra-luna"}
    assert [f.symbol for f in batch.failures] == ["BITCONNECTUSDT"] and "404" in batch.failures[0].error
