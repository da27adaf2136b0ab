"""Funding rates of perpetual futures: the Bybit v5 client, the simulated funding, the weekly ingest asset.

No live recording is possible from this machine: every Bybit body below is written by hand in the
layout of the v5 docs (bybit-exchange/docs ``docs/v5/market/history-fund-rate.mdx``: envelope
``{retCode, retMsg, result: {category, list: [{symbol, fundingRate, fundingRateTimestamp}]},
retExtInfo, time}``, every value a string, newest first), served by the local fake server
(``fake_exchange_server.py``) over real HTTP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.sources.assets_funding import raw_funding_rates
from cryptofactor_assets.sources.base import SourceError
from cryptofactor_assets.sources.bybit import (
    FUNDING_LOOKBACK_MS,
    FUNDING_PATH,
    BybitClient,
    BybitIpBanError,
    parse_funding_list,
    to_utc_ms,
)
from cryptofactor_assets.sources.checks import CHECK_FUNDING_PLAUSIBLE, CHECK_SOURCE_COMPLETE
from cryptofactor_assets.sources.funding import FUNDING_COLUMNS, settlement_intervals
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets.sources.simulated import (
    FUNDING_HOURS,
    SimConfig,
    SimulatedMarket,
    day_funding,
    funding_frame,
    simulate_daily,
)
from cryptofactor_assets_tests.conftest import SMALL_COINS, materialize_range, query, rejected_reasons
from cryptofactor_assets_tests.conftest import check_evaluations as _checks
from cryptofactor_assets_tests.conftest import materialization_meta as _meta
from cryptofactor_assets_tests.fake_exchange_server import (
    FakeServer,
    Reply,
    Sleeps,
    bybit_funding_envelope,
    bybit_funding_route,
    make_settlements,
)

H8 = 8 * 3_600_000
WEEK = "2024-01-01"  # a Monday: the weekly partition [2024-01-01, 2024-01-08)
T0 = to_utc_ms("2024-01-01")
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
ALL_FUNDING = "SELECT * FROM raw_funding_rates ORDER BY symbol, funding_time"

#: Shaped from the v5 docs' response example (history-fund-rate.mdx), three settlements, newest first.
DOCS_PAGE = json.dumps({
    "retCode": 0, "retMsg": "OK",
    "result": {"category": "linear", "list": [
        {"symbol": "BTCUSDT", "fundingRate": "0.0001", "fundingRateTimestamp": str(T0 + 2 * H8)},
        {"symbol": "BTCUSDT", "fundingRate": "-0.00005213", "fundingRateTimestamp": str(T0 + H8)},
        {"symbol": "BTCUSDT", "fundingRate": "0.00012", "fundingRateTimestamp": str(T0)},
    ]},
    "retExtInfo": {}, "time": 1704067800123,
}).encode()
#: The documented rate-limit answer (retCode 10006, HTTP 200).
RATE_LIMIT = b'{"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}, "time": 1704067800123}'
#: An unknown symbol (retCode 10001), as public clients record it.
NOT_SUPPORTED = b'{"retCode": 10001, "retMsg": "Not supported symbols", "result": {"list": []}, "retExtInfo": {}, "time": 1}'


def client_for(server: FakeServer, **kw) -> tuple[BybitClient, Sleeps, list[str]]:
    sleeps, lines = Sleeps(), []
    kw.setdefault("now", lambda: FAR_FUTURE)
    kw.setdefault("timeout", 5.0)
    return BybitClient(base_url=server.base_url, sleep=sleeps, log=lines.append, **kw), sleeps, lines


def expected(rows: list[dict[str, str]], interval: float = 8.0) -> pd.DataFrame:
    ms = np.array([int(r["fundingRateTimestamp"]) for r in rows], dtype="int64")
    return pd.DataFrame({"symbol": [r["symbol"] for r in rows],
                         "funding_time": ms.astype("datetime64[ms]").astype("datetime64[ns]"),
                         "funding_rate": [float(r["fundingRate"]) for r in rows],
                         "interval_hours": interval})[FUNDING_COLUMNS]


def assert_same(frame: pd.DataFrame, other: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), other.reset_index(drop=True), check_dtype=False)


# ---------------------------------------------------------------------- parsing and paging
def test_docs_shaped_page_is_ascending_with_exact_values(server):
    server.script(FUNDING_PATH, Reply(200, DOCS_PAGE))
    server.route(FUNDING_PATH, lambda req: Reply(200, bybit_funding_envelope([])))  # nothing before 00:00
    client, sleeps, _ = client_for(server)
    frame, stats = client.funding_history_with_stats("BTCUSDT", "2024-01-01", "2024-01-02")
    assert list(frame.columns) == FUNDING_COLUMNS and frame["funding_time"].dtype == "datetime64[ns]"
    assert frame["funding_time"].tolist() == [pd.Timestamp("2024-01-01 00:00"), pd.Timestamp("2024-01-01 08:00"),
                                              pd.Timestamp("2024-01-01 16:00")]
    assert frame["funding_rate"].tolist() == [0.00012, -0.00005213, 0.0001]
    assert frame["interval_hours"].tolist() == [8.0, 8.0, 8.0]
    # both bounds always sent: Bybit rejects startTime alone; the start reaches 8 h back (the first
    # settlement's predecessor), the end is inclusive
    first, second = server.requests_to(FUNDING_PATH)
    assert first.params == {"category": "linear", "symbol": "BTCUSDT", "startTime": str(T0 - FUNDING_LOOKBACK_MS),
                            "endTime": str(T0 + 86_400_000 - 1), "limit": "200"}
    # the oldest row (00:00) is after startTime: one more page, ending just before it, comes back empty
    assert second.params["endTime"] == str(T0 - 1) and second.params["startTime"] == first.params["startTime"]
    assert stats.pages == 2 and stats.rows == 3 and sleeps.calls == []


def test_paging_backwards_over_several_pages_of_200(server):
    # 501 settlements from the look-back instant: pages of 200, 200 and 101 (the last reaches startTime)
    rows = make_settlements("BTCUSDT", T0 - H8, 501)
    server.route(FUNDING_PATH, bybit_funding_route({"BTCUSDT": rows}))
    client, _, _ = client_for(server)
    end = T0 + 500 * H8
    frame, stats = client.funding_history_with_stats("BTCUSDT", pd.Timestamp(T0, unit="ms"),
                                                     pd.Timestamp(end, unit="ms"))
    assert_same(frame, expected(rows[1:]))
    assert stats.pages == 3 and stats.rows == 500 and stats.lookback == 1 and stats.outside_window == 0
    reqs = server.requests_to(FUNDING_PATH)
    assert [r.params["startTime"] for r in reqs] == [str(T0 - H8)] * 3
    # each page ends 1 ms before the oldest row of the previous one (rows newest first)
    assert [int(r.params["endTime"]) for r in reqs] == [end - 1, T0 + 300 * H8 - 1, T0 + 100 * H8 - 1]
    assert all(r.params["limit"] == "200" for r in reqs)


def test_paging_stops_at_an_empty_page(server):
    rows = make_settlements("BTCUSDT", T0 + 3 * H8, 5)  # listed after the window start: nothing before
    server.route(FUNDING_PATH, bybit_funding_route({"BTCUSDT": rows}))
    client, _, _ = client_for(server, limit=2)  # the client's limit caps the page (min(limit, 200))
    frame, stats = client.funding_history_with_stats("BTCUSDT", "2024-01-01", "2024-01-08")
    assert_same(frame, expected(rows))
    assert stats.pages == 4  # 2 + 2 + 1 rows, then an empty page
    assert server.requests_to(FUNDING_PATH)[-1].params["limit"] == "2"


def test_interval_follows_the_symbol_and_its_changes(server):
    # 8 h settlements, then the exchange switches the symbol to 4 h (intervals differ by symbol and time)
    rows = make_settlements("WIFUSDT", T0 - H8, 3) + make_settlements("WIFUSDT", T0 + 2 * H8, 4, interval_ms=H8 // 2)
    server.route(FUNDING_PATH, bybit_funding_route({"WIFUSDT": rows}))
    client, _, _ = client_for(server)
    frame = client.funding_history("WIFUSDT", "2024-01-01", "2024-01-02")
    # the look-back settlement (2023-12-31 16:00) gives 00:00 its interval, then dropped
    assert frame["funding_time"].dt.hour.tolist() == [0, 8, 16, 20]
    assert frame["interval_hours"].tolist() == [8.0, 8.0, 8.0, 4.0]


def test_duplicates_across_pages_and_rows_outside_the_window(server):
    rows = make_settlements("BTCUSDT", T0, 6)
    altered = dict(rows[2], fundingRate="0.0003")
    server.script(FUNDING_PATH,
                  # a server ignoring endTime on page 1: a row after the window comes too
                  Reply(200, bybit_funding_envelope([make_settlements("BTCUSDT", T0 + 30 * H8, 1)[0],
                                                     rows[5], rows[4], rows[3]])),
                  Reply(200, bybit_funding_envelope([rows[3], altered, rows[2], rows[1], rows[0]])))
    server.route(FUNDING_PATH, lambda req: Reply(200, bybit_funding_envelope([])))
    client, _, _ = client_for(server)
    frame, stats = client.funding_history_with_stats("BTCUSDT", "2024-01-01", "2024-01-03")
    assert stats.duplicates == 1 and stats.outside_window == 1 and stats.conflicting_duplicates == 2
    # both versions of settlement 2 reach validation (quarantined there as conflicting_duplicate)
    assert frame["funding_time"].is_monotonic_increasing and len(frame) == 7
    assert sorted(frame.loc[frame["funding_time"] == pd.Timestamp(T0 + 2 * H8, unit="ms"), "funding_rate"]) == \
        sorted([float(rows[2]["fundingRate"]), 0.0003])
    assert any("outside the requested window" in n for n in stats.notes)
    assert any("conflicting_duplicate" in n for n in stats.notes)


def test_empty_list_gives_an_empty_frame(server):
    server.route(FUNDING_PATH, lambda req: Reply(200, bybit_funding_envelope([])))
    client, _, _ = client_for(server)
    frame, stats = client.funding_history_with_stats("BTCUSDT", "2024-01-01", "2024-01-08")
    assert frame.empty and list(frame.columns) == FUNDING_COLUMNS
    assert stats.pages == 1 and len(server.requests) == 1


# ---------------------------------------------------------------------- errors and retries
def test_10006_waits_until_the_reset_timestamp_and_logs_it(server):
    now = dt.datetime(2024, 1, 9, tzinfo=dt.UTC)
    server.script(FUNDING_PATH, Reply(200, RATE_LIMIT, headers={
        "X-Bapi-Limit": "600", "X-Bapi-Limit-Status": "0", "X-Bapi-Limit-Reset-Timestamp": str(to_utc_ms(now) + 1500)}))
    server.route(FUNDING_PATH, bybit_funding_route({"BTCUSDT": make_settlements("BTCUSDT", T0, 21)}))
    client, sleeps, lines = client_for(server, now=lambda: now)
    frame, stats = client.funding_history_with_stats("BTCUSDT", "2024-01-01", "2024-01-08")
    assert len(frame) == 21 and stats.retries == 1 and sleeps.calls == [1.5]
    assert any("retry 1/7 in 1.5 s (X-Bapi-Limit-Reset-Timestamp)" in line and "10006" in line for line in lines)


def test_429_retry_after_is_honoured_and_logged(server):
    server.script(FUNDING_PATH, Reply(429, "Too Many Requests", headers={"Retry-After": "7"}))
    server.route(FUNDING_PATH, bybit_funding_route({"BTCUSDT": make_settlements("BTCUSDT", T0, 3)}))
    client, sleeps, lines = client_for(server)
    assert len(client.funding_history("BTCUSDT", "2024-01-01", "2024-01-02")) == 3
    assert sleeps.calls == [7.0]
    assert any("in 7 s (Retry-After)" in line and "HTTP 429" in line for line in lines)


def test_5xx_backs_off_exponentially(server):
    server.script(FUNDING_PATH, Reply(502, "<html>bad gateway</html>", content_type="text/html"), Reply(503, "x"))
    server.route(FUNDING_PATH, bybit_funding_route({"BTCUSDT": make_settlements("BTCUSDT", T0, 3)}))
    client, sleeps, _ = client_for(server, backoff=0.5)
    assert len(client.funding_history("BTCUSDT", "2024-01-01", "2024-01-02")) == 3
    assert sleeps.calls == [0.5, 1.0]


def test_truncated_json_is_retried_then_a_clear_error(server):
    server.route(FUNDING_PATH, lambda req: Reply(200, DOCS_PAGE[:120]))
    client, sleeps, _ = client_for(server, max_tries=3)
    with pytest.raises(SourceError, match="gave up after 3 tries.*truncated JSON") as info:
        client.funding_history("BTCUSDT", "2024-01-01", "2024-01-08", partition="2024-01-01..2024-01-08")
    assert (info.value.source, info.value.symbol, info.value.partition) == (
        "bybit", "BTCUSDT", "2024-01-01..2024-01-08")
    assert len(sleeps.calls) == 2


def test_unknown_symbol_10001_names_the_symbol_at_once(server):
    server.route(FUNDING_PATH, lambda req: Reply(200, NOT_SUPPORTED))
    client, sleeps, _ = client_for(server)
    with pytest.raises(SourceError, match=r"symbol 'FOOUSDT'.*Not supported symbols \(retCode 10001\)"):
        client.funding_history("FOOUSDT", "2024-01-01", "2024-01-08")
    assert sleeps.calls == [] and len(server.requests) == 1


def test_html_page_with_http_200_is_an_error_at_once(server):
    server.route(FUNDING_PATH, lambda req: Reply(200, "<html>login</html>", content_type="text/html"))
    client, sleeps, _ = client_for(server)
    with pytest.raises(SourceError, match="HTML page"):
        client.funding_history("BTCUSDT", "2024-01-01", "2024-01-08")
    assert sleeps.calls == []


def test_spot_is_refused_before_any_request(server):
    client, _, _ = client_for(server, category="spot")
    with pytest.raises(ValueError, match="spot.*no funding rates.*perpetual"):
        client.funding_history("BTCUSDT", "2024-01-01", "2024-01-08")
    with pytest.raises(ValueError, match="no funding rates"):
        client.fetch_funding(["BTCUSDT"], "2024-01-01", "2024-01-08")
    assert server.requests == []


def test_batch_goes_past_a_failing_symbol_and_stops_on_an_ip_ban(server):
    data = {"BTCUSDT": make_settlements("BTCUSDT", T0 - H8, 22), "ETHUSDT": make_settlements("ETHUSDT", T0 - H8, 22)}
    server.route(FUNDING_PATH, bybit_funding_route(data))
    client, _, lines = client_for(server)
    batch = client.fetch_funding(["BTCUSDT", "NOPEUSDT", "ETHUSDT"], dt.date(2024, 1, 1), dt.date(2024, 1, 8))
    assert [f.symbol for f in batch.failures] == ["NOPEUSDT"] and "10001" in batch.failures[0].error
    assert batch.frame.groupby("symbol").size().to_dict() == {"BTCUSDT": 21, "ETHUSDT": 21}
    assert batch.stats["rows"] == 42 and batch.stats["symbols_failed"] == 1
    assert lines[0] == "bybit BTCUSDT (1 of 3): 21 rows, 1 pages, 0 retries"
    assert lines[1].startswith("bybit NOPEUSDT (2 of 3): FAILED")
    assert batch.notes[0].startswith("bybit linear funding rates 2024-01-01..2024-01-08 (UTC, end exclusive): 2/3")
    with pytest.raises(SourceError, match="NOPEUSDT"):
        client.fetch_funding(["NOPEUSDT", "BTCUSDT"], "2024-01-01", "2024-01-08", strict=True)
    server.route(FUNDING_PATH, lambda req: Reply(403, "access too frequent"))
    n = len(server.requests)
    with pytest.raises(BybitIpBanError):
        client.fetch_funding(["BTCUSDT", "ETHUSDT"], "2024-01-01", "2024-01-08")
    assert len(server.requests) == n + 1  # the other symbol is not tried


def test_parser_keeps_bad_values_for_validation_and_refuses_bad_structure():
    rows = [{"symbol": "BTCUSDT", "fundingRate": "oops", "fundingRateTimestamp": str(T0)},
            {"fundingRate": None, "fundingRateTimestamp": T0 + H8}]
    frame = parse_funding_list(rows, "BTCUSDT")
    assert len(frame) == 2 and frame["funding_rate"].isna().all()  # NaN: rejected visibly by validation
    for bad, message in ((["x"], "not an object"), ({"a": 1}, "not a list"),
                         ([{"fundingRate": "0.1", "fundingRateTimestamp": "soon"}], "unusable fundingRateTimestamp"),
                         ([{"symbol": "ETHUSDT", "fundingRate": "0", "fundingRateTimestamp": str(T0)}], "not 'BTCUSDT'")):
        with pytest.raises(SourceError, match=message):
            parse_funding_list(bad, "BTCUSDT", "2024-01-01")


def test_settlement_intervals():
    t = np.array(["2024-01-01T00", "2024-01-01T08", "2024-01-01T08", "2024-01-01T12"], dtype="datetime64[ns]")
    assert settlement_intervals(t).tolist() == [8.0, 8.0, 8.0, 4.0]  # two versions of 08:00: one interval
    assert np.isnan(settlement_intervals(t[:1])).all() and len(settlement_intervals(t[:0])) == 0


# ---------------------------------------------------------------------- simulated funding
CFG = SimConfig(n_coins=15)


def test_simulated_day_alone_equals_the_day_inside_a_range():
    market = SimulatedMarket(CFG)
    alone = market.funding_rates(dt.date(2023, 3, 10), dt.date(2023, 3, 11))
    ranged = market.funding_rates(dt.date(2023, 2, 1), dt.date(2023, 4, 1))
    inside = ranged[ranged["funding_time"].dt.normalize() == pd.Timestamp("2023-03-10")]
    assert_same(alone, inside)
    assert_same(alone, SimulatedMarket(SimConfig(n_coins=15)).funding_rates(dt.date(2023, 3, 10),
                                                                             dt.date(2023, 3, 11)))


def test_simulated_settlements_three_a_day_for_listed_perpetuals():
    st = simulate_daily(CFG)
    frame = SimulatedMarket(CFG).funding_rates(dt.date(2022, 6, 1), dt.date(2022, 9, 1))
    assert list(frame.columns) == FUNDING_COLUMNS
    assert sorted(frame["funding_time"].dt.hour.unique()) == list(FUNDING_HOURS) == [0, 8, 16]
    assert (frame["funding_time"].dt.minute == 0).all() and (frame["interval_hours"] == 8.0).all()
    assert not frame.duplicated(["symbol", "funding_time"]).any()
    per_day = frame.groupby(["symbol", frame["funding_time"].dt.normalize()]).size()
    assert (per_day == 3).all()
    for (symbol, day), _ in per_day.items():
        i, t = st.symbols.index(symbol), st.day_index(day.date())
        assert st.has_bars[i] and st.alive[t, i]
    # every listed perpetual of a day is there; markets-only coins never are
    t0 = st.day_index(dt.date(2022, 7, 1))
    listed = {st.symbols[i] for i in np.flatnonzero(st.alive[t0] & st.has_bars)}
    assert set(frame.loc[frame["funding_time"] == "2022-07-01", "symbol"]) == listed
    assert not set(frame["symbol"]) & {st.symbols[i] for i in np.flatnonzero(~st.has_bars)}


def test_simulated_funding_has_no_look_ahead():
    st = simulate_daily(CFG)
    cut = st.day_index(dt.date(2023, 5, 10))
    rng = np.random.default_rng(1)
    bumped = st.ret.copy()
    bumped[cut:] += rng.normal(0, 0.2, bumped[cut:].shape)  # rewrite every price from day `cut` on
    future = dataclasses.replace(st, ret=bumped, log_close=st.log_close + np.nancumsum(bumped - st.ret, axis=0))
    days = range(cut - 20, cut + 10)
    before, after = funding_frame(st, days), funding_frame(future, days)
    past = before["funding_time"] < pd.Timestamp("2023-05-11")  # the cut day's settlements come before its close
    assert_same(before[past], after[past])
    assert not np.allclose(before.loc[~past, "funding_rate"], after.loc[~past, "funding_rate"])


def test_simulated_funding_in_bounds_and_plants_its_model():
    cfg = SimConfig(n_coins=15)
    st = simulate_daily(cfg)
    frame = SimulatedMarket(cfg).funding_rates(dt.date(2022, 1, 1), dt.date(2025, 1, 1))
    assert np.isfinite(frame["funding_rate"]).all()
    assert frame["funding_rate"].abs().max() <= cfg.funding_cap
    assert abs(frame["funding_rate"].median() - cfg.funding_base) < 0.0001
    # rate = base + k * trailing 7-day return + noise: the slope is recovered from the state
    t = st.day_index(dt.date(2024, 3, 4))
    rates, listed = day_funding(st, t)
    trailing = np.nansum(st.ret[t - cfg.funding_lookback:t], axis=0)
    resid = (rates[:, listed] - cfg.funding_base - cfg.funding_momentum * trailing[listed]
             - st.funding_carry[t, listed])
    assert np.abs(resid).max() < 6 * cfg.funding_noise
    # the persistent carry (issue 16): its own stream, the planted sd and half-life
    assert abs(st.funding_carry.std() - cfg.funding_carry_sd) < 0.1 * cfg.funding_carry_sd
    lag = cfg.funding_carry_halflife
    rho = np.corrcoef(st.funding_carry[int(lag):].ravel(), st.funding_carry[:-int(lag)].ravel())[0, 1]
    assert abs(rho - 0.5) < 0.1
    truth = SimulatedMarket(cfg).truth().query("category == 'parameter'").set_index("name")["value"]
    assert truth["funding_momentum"] == cfg.funding_momentum and truth["funding_base"] == cfg.funding_base


# ---------------------------------------------------------------------- the weekly asset
@pytest.fixture
def bybit(monkeypatch):
    with FakeServer() as srv:
        monkeypatch.setenv("BYBIT_BASE_URL", srv.base_url)
        yield srv


def _resources(db_path, **kw) -> dict:
    return {"duckdb": DuckDBResource(database=db_path), "market_source": MarketSourceResource(**kw)}


def _run(resources, partition=WEEK) -> dg.ExecuteInProcessResult:
    return dg.materialize([raw_funding_rates], resources=resources, partition_key=partition, raise_on_error=False)


def test_asset_is_weekly_in_the_sources_group_with_its_checks():
    spec = raw_funding_rates.specs_by_key[dg.AssetKey("raw_funding_rates")]
    assert spec.group_name == "sources" and spec.partitions_def.get_partition_keys()[0] <= WEEK
    assert isinstance(raw_funding_rates.partitions_def, dg.WeeklyPartitionsDefinition)
    assert raw_funding_rates.backfill_policy == dg.BackfillPolicy.single_run()
    assert raw_funding_rates.op.pool == "duckdb"
    names = {c.name for c in raw_funding_rates.check_specs}
    assert names == {"raw_funding_rates_unique_key", "raw_funding_rates_finite_values", CHECK_FUNDING_PLAUSIBLE,
                     CHECK_SOURCE_COMPLETE}
    assert "longs pay shorts" in raw_funding_rates.descriptions_by_key[dg.AssetKey("raw_funding_rates")]


def test_one_simulated_week_is_stored_checked_and_rerun_identically(db_path):
    res = _resources(db_path, kind="simulated", sim_coins=SMALL_COINS)
    result = _run(res)
    assert result.success
    stored = query(db_path, ALL_FUNDING)
    want = SimulatedMarket(SimConfig(n_coins=SMALL_COINS)).funding_rates(dt.date(2024, 1, 1), dt.date(2024, 1, 8))
    assert_same(stored[FUNDING_COLUMNS], want.sort_values(["symbol", "funding_time"]))
    assert (stored["source"] == "simulated").all() and len(stored) == 21 * stored["symbol"].nunique()
    assert all(e.passed for e in result.get_asset_check_evaluations())
    meta = _meta(result)
    assert meta["rows_stored"] == len(stored) and meta["dagster/row_count"] == len(stored)
    assert meta["partitions_written"] == 1 and "2024-01-01" in meta["rows_per_partition (first 10)"]
    assert _run(res).success
    pd.testing.assert_frame_equal(query(db_path, ALL_FUNDING), stored)
    # a two-week backfill in one run writes the same first week
    assert materialize_range([raw_funding_rates], res, "2024-01-01", "2024-01-08").success
    both = query(db_path, ALL_FUNDING)
    assert_same(both[both["funding_time"] < "2024-01-08"], stored)
    assert len(both) == 2 * len(stored)


def test_shorter_refetch_keeps_the_stored_rows(db_path, bybit):
    full = make_settlements("BTCUSDT", T0 - H8, 22)  # the look-back settlement + the week's 21
    bybit.route(FUNDING_PATH, bybit_funding_route({"BTCUSDT": full}))
    assert _run(_resources(db_path, kind="bybit", symbols="BTCUSDT")).success
    before = query(db_path, ALL_FUNDING)
    assert len(before) == 21 and (before["interval_hours"] == 8).all() and (before["source"] == "bybit").all()

    # the re-fetch stops at 2024-01-04 08:00 (days 4..7 short): their stored settlements are kept
    bybit.route(FUNDING_PATH, bybit_funding_route({"BTCUSDT": full[:12]}))
    result = _run(_resources(db_path, kind="bybit", symbols="BTCUSDT"))
    assert result.success
    pd.testing.assert_frame_equal(query(db_path, ALL_FUNDING), before)
    check = _checks(result)[CHECK_SOURCE_COMPLETE]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    reason = check.metadata["reasons"].value
    assert "BTCUSDT 2024-01-04: fetch returned 2 valid rows" in reason and "3 stored" in reason
    assert "stored rows kept (use --replace to shrink on purpose)" in reason
    meta = _meta(result)
    assert meta["rows_kept_from_store"] == 12 and meta["failed_symbols"] == "BTCUSDT"
    assert rejected_reasons(db_path, "raw_funding_rates") == {"short_fetch": 2}

    # strict: the run fails and nothing changes
    assert not _run(_resources(db_path, kind="bybit", symbols="BTCUSDT", strict=True)).success
    pd.testing.assert_frame_equal(query(db_path, ALL_FUNDING), before)
    # replace: shrinking on purpose
    assert _run(_resources(db_path, kind="bybit", symbols="BTCUSDT", replace=True)).success
    assert len(query(db_path, ALL_FUNDING)) == 11


def test_bad_settlements_are_quarantined_with_a_reason(db_path, bybit):
    rows = make_settlements("BTCUSDT", T0, 21)
    rows[3] = dict(rows[3], fundingRate="NaN")
    rows[4] = dict(rows[4], fundingRate="0.5")  # 50 % per settlement: a unit error
    conflicting = dict(rows[5], fundingRate="0.00031")
    bybit.route(FUNDING_PATH, lambda req: Reply(200, bybit_funding_envelope([conflicting, *reversed(rows)])))
    result = _run(_resources(db_path, kind="bybit", symbols="BTCUSDT"))
    assert result.success
    assert rejected_reasons(db_path, "raw_funding_rates") == {"missing_value": 1, "implausible_funding_rate": 1, "conflicting_duplicate": 2}
    assert len(query(db_path, ALL_FUNDING)) == 18
    assert all(e.passed for e in result.get_asset_check_evaluations())


@pytest.mark.parametrize("kw", [{"kind": "files", "klines_glob": "/nowhere/*.csv"},
                                {"kind": "bybit", "symbols": "BTCUSDT", "bybit_category": "spot"}],
                         ids=["files", "bybit_spot"])
def test_sources_without_funding_write_nothing_and_say_so(db_path, bybit, kw):
    assert _run(_resources(db_path, kind="simulated", sim_coins=SMALL_COINS)).success
    before = query(db_path, ALL_FUNDING)
    result = _run(_resources(db_path, **kw))
    assert result.success and bybit.requests == []
    pd.testing.assert_frame_equal(query(db_path, ALL_FUNDING), before)  # nothing stored is touched
    meta = _meta(result)
    assert "no funding rates" in meta["notes"] and "stored rows are untouched" in meta["notes"]
    assert meta["rows_received"] == 0 and _checks(result)[CHECK_SOURCE_COMPLETE].passed


def test_files_source_on_an_empty_warehouse_creates_the_empty_table(db_path):
    result = _run(_resources(db_path, kind="files"))
    assert result.success and query(db_path, "SELECT count(*) AS n FROM raw_funding_rates")["n"][0] == 0
    assert _meta(result)["dagster/row_count"] == 0
