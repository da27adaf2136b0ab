"""On-chain activity: the user's CSV layout, the simulated activity, the weekly ingest asset (validation,
quarantine, the shrink guard, strict mode, sources without on-chain data)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.sources.assets_onchain import raw_onchain_activity
from cryptofactor_assets.sources.base import SourceError
from cryptofactor_assets.sources.checks import CHECK_ONCHAIN_COUNTS, CHECK_SOURCE_COMPLETE
from cryptofactor_assets.sources.onchain import ONCHAIN_COLUMNS, read_onchain_csv, read_onchain_glob
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets.sources.simulated import SimConfig, SimulatedMarket, onchain_frame, simulate_daily
from cryptofactor_assets_tests.conftest import SMALL_COINS, materialize_range, query, rejected_reasons
from cryptofactor_assets_tests.conftest import check_evaluations as _checks
from cryptofactor_assets_tests.conftest import materialization_meta as _meta

WEEK = "2024-01-01"  # a Monday: the weekly partition [2024-01-01, 2024-01-08)
ALL_ROWS = "SELECT * FROM raw_onchain_activity ORDER BY symbol, date"


def _resources(db_path, **kw) -> dict:
    return {"duckdb": DuckDBResource(database=db_path), "market_source": MarketSourceResource(**kw)}


def _run(resources, partition=WEEK) -> dg.ExecuteInProcessResult:
    return dg.materialize([raw_onchain_activity], resources=resources, partition_key=partition, raise_on_error=False)


def _week_csv(path, coins=("bitcoin", "ethereum"), days=7, start="2024-01-01", extra: str = "") -> str:
    lines = ["date,coin,active_addresses,tx_count"]
    d0 = dt.date.fromisoformat(start)
    for i in range(days):
        for j, coin in enumerate(coins):
            lines.append(f"{d0 + dt.timedelta(days=i)},{coin},{1000 * (j + 1) + i},{3000 * (j + 1) + i}")
    path.write_text("\n".join(lines) + "\n" + extra)
    return str(path)


def test_asset_is_weekly_in_the_sources_group_with_its_checks():
    spec = raw_onchain_activity.specs_by_key[dg.AssetKey("raw_onchain_activity")]
    assert spec.group_name == "sources"
    assert isinstance(raw_onchain_activity.partitions_def, dg.WeeklyPartitionsDefinition)
    assert raw_onchain_activity.backfill_policy == dg.BackfillPolicy.single_run()
    assert raw_onchain_activity.op.pool == "duckdb"
    names = {c.name for c in raw_onchain_activity.check_specs}
    assert names == {"raw_onchain_activity_unique_key", "raw_onchain_activity_finite_values", CHECK_ONCHAIN_COUNTS,
                     CHECK_SOURCE_COMPLETE}
    assert "date,coin,active_addresses,tx_count" in raw_onchain_activity.descriptions_by_key[
        dg.AssetKey("raw_onchain_activity")]


def test_the_csv_layout_maps_coins_like_the_coingecko_files(tmp_path):
    path = tmp_path / "activity.csv"
    path.write_text("date,coin,active_addresses,tx_count\n"
                    "2024-01-01,bitcoin,812345,402113\n"
                    "2024-01-01 23:30:00+02:00,eth,1000,\n"  # 21:30 UTC: the same UTC day; empty tx_count
                    "2024-01-02,zzcoin,abc,5\n")  # not a number -> NaN (rejected later, not here)
    frame = read_onchain_csv(str(path), pd.DataFrame({"coin_id": ["zzcoin"], "symbol": ["ZZXUSDT"]}))
    assert list(frame.columns) == ONCHAIN_COLUMNS
    assert frame["symbol"].tolist() == ["BTCUSDT", "ETHUSDT", "ZZXUSDT"]  # default id, ticker, user's table
    assert frame["date"].tolist() == [pd.Timestamp("2024-01-01")] * 2 + [pd.Timestamp("2024-01-02")]
    assert np.isnan(frame.loc[1, "tx_count"]) and np.isnan(frame.loc[2, "active_addresses"])
    # only tx_count: the other count is NaN
    only_tx = tmp_path / "tx.csv"
    only_tx.write_text("date,coin,tx_count\n2024-01-01,solana,7\n")
    got = read_onchain_csv(str(only_tx))
    assert got["symbol"].tolist() == ["SOLUSDT"] and np.isnan(got["active_addresses"]).all()


def test_unreadable_files_are_named_and_the_others_go_on(tmp_path):
    good = _week_csv(tmp_path / "good.csv")
    (tmp_path / "bad_date.csv").write_text("date,coin,active_addresses\n2024-01-01,bitcoin,1\nnot-a-day,bitcoin,2\n")
    (tmp_path / "bad_header.csv").write_text("day,coin,active_addresses\n2024-01-01,bitcoin,1\n")
    batch = read_onchain_glob(str(tmp_path / "*.csv"), dt.date(2024, 1, 1), dt.date(2024, 1, 8))
    assert len(batch.frame) == 14 and {f.file for f in batch.failures} == {"bad_date.csv", "bad_header.csv"}
    assert any("line 3" in f.error and "not-a-day" in f.error for f in batch.failures)
    assert all(f.symbol == "" for f in batch.failures)
    with pytest.raises(SourceError, match="bad_date.csv"):
        read_onchain_glob(str(tmp_path / "bad_date.csv"), dt.date(2024, 1, 1), dt.date(2024, 1, 8), strict=True)
    with pytest.raises(SourceError, match="no on-chain file"):
        read_onchain_glob(str(tmp_path / "nothing*.csv"), dt.date(2024, 1, 1), dt.date(2024, 1, 8))
    assert good


def test_simulated_activity_per_day_and_independent_of_prices():
    cfg = SimConfig(n_coins=15)
    st = simulate_daily(cfg)
    market = SimulatedMarket(cfg)
    week = market.onchain_activity(dt.date(2024, 1, 1), dt.date(2024, 1, 8))
    day = market.onchain_activity(dt.date(2024, 1, 3), dt.date(2024, 1, 4))
    pd.testing.assert_frame_equal(week[week["date"] == "2024-01-03"].reset_index(drop=True), day)
    assert (week["active_addresses"] > 0).all() and (week["tx_count"] > 0).all()
    alive = st.alive[st.day_index(dt.date(2024, 1, 1)):st.day_index(dt.date(2024, 1, 8))].sum()
    assert 0.95 * alive <= len(week) <= alive
    # every alive coin-day but for ~1 % missing ones (onchain_missing_prob)
    assert not st.onchain_present[~st.alive].any()
    assert 0.985 < st.onchain_present.sum() / st.alive.sum() < 0.995
    # activity is drawn from a stream of its own: the premia do not move it, and it does not move prices
    # when its premium is 0
    other = simulate_daily(SimConfig(n_coins=15, chain_premium=0.0, funding_premium=0.0, vol_premium=0.0))
    np.testing.assert_array_equal(other.active_addresses, st.active_addresses)
    np.testing.assert_array_equal(other.jump_size, st.jump_size)
    np.testing.assert_array_equal(other.market_factor, st.market_factor)
    # the planted growth signal is the short / long mean ratio of the simulated activity
    t = st.day_index(dt.date(2024, 3, 1))
    i = int(np.flatnonzero(st.alive[t - 40:t + 1].all(axis=0))[0])
    aa = st.active_addresses[:, i]
    want = np.log(aa[t - 6:t + 1].mean()) - np.log(aa[t - 34:t - 6].mean())
    assert st.chain_growth[t, i] == pytest.approx(want, rel=1e-12)
    assert onchain_frame(st, range(0)).empty


def test_one_simulated_week_is_stored_checked_and_rerun_identically(db_path):
    res = _resources(db_path, kind="simulated", sim_coins=SMALL_COINS)
    result = _run(res)
    assert result.success
    stored = query(db_path, ALL_ROWS)
    want = SimulatedMarket(SimConfig(n_coins=SMALL_COINS)).onchain_activity(dt.date(2024, 1, 1), dt.date(2024, 1, 8))
    want = want.sort_values(["symbol", "date"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(stored[ONCHAIN_COLUMNS], want, check_dtype=False)
    assert (stored["source"] == "simulated").all()
    assert all(e.passed for e in result.get_asset_check_evaluations())
    meta = _meta(result)
    assert meta["rows_stored"] == len(stored) and meta["dagster/row_count"] == len(stored)
    assert _run(res).success
    pd.testing.assert_frame_equal(query(db_path, ALL_ROWS), stored)
    assert materialize_range([raw_onchain_activity], res, "2024-01-01", "2024-01-08").success
    both = query(db_path, ALL_ROWS)
    pd.testing.assert_frame_equal(both[both["date"] < "2024-01-08"].reset_index(drop=True), stored)


def test_user_files_bad_rows_are_quarantined_with_a_reason(db_path, tmp_path):
    bad = ("2024-01-02,solana,,\n"              # neither count
           "2024-01-03,solana,-5,10\n"          # negative
           "2024-01-04,solana,inf,10\n"         # infinite
           "2024-01-05,solana,7,8\n2024-01-05,solana,7,9\n"  # two versions of one key
           "2024-01-06,solana,7,8\n2024-01-06,solana,7,8\n"  # an identical copy
           "2024-01-20,solana,1,1\n")           # outside the week: cut by the reader, as file rows are
    glob = _week_csv(tmp_path / "a.csv", extra=bad)
    result = _run(_resources(db_path, kind="files", onchain_glob=glob))
    assert result.success
    assert rejected_reasons(db_path, "raw_onchain_activity") == {"missing_value": 1, "negative_count": 1, "non_finite_value": 1,
                                  "conflicting_duplicate": 2, "duplicate_key": 1}
    stored = query(db_path, ALL_ROWS)
    assert len(stored) == 15 and set(stored["symbol"]) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    assert (stored["source"] == "files").all()
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_shorter_refetch_keeps_the_stored_rows(db_path, tmp_path):
    full = _week_csv(tmp_path / "full.csv")
    assert _run(_resources(db_path, kind="files", onchain_glob=full)).success
    before = query(db_path, ALL_ROWS)
    assert len(before) == 14
    short = tmp_path / "short"
    short.mkdir()
    # bitcoin's rows only (ethereum absent): its stored days are kept, a failure says so
    glob = _week_csv(short / "s.csv", coins=("bitcoin",))
    result = _run(_resources(db_path, kind="files", onchain_glob=glob))
    assert result.success
    pd.testing.assert_frame_equal(query(db_path, ALL_ROWS), before)
    check = _checks(result)[CHECK_SOURCE_COMPLETE]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "ETHUSDT 2024-01-01: fetch returned 0 valid rows" in check.metadata["reasons"].value
    assert not _run(_resources(db_path, kind="files", onchain_glob=glob, strict=True)).success
    pd.testing.assert_frame_equal(query(db_path, ALL_ROWS), before)
    assert _run(_resources(db_path, kind="files", onchain_glob=glob, replace=True)).success
    assert len(query(db_path, ALL_ROWS)) == 7


@pytest.mark.parametrize("kw", [{"kind": "files", "klines_glob": "/nowhere/*.csv"},
                                {"kind": "bybit", "symbols": "BTCUSDT"}], ids=["files", "bybit"])
def test_sources_without_onchain_data_write_nothing_and_say_so(db_path, kw):
    assert _run(_resources(db_path, kind="simulated", sim_coins=SMALL_COINS)).success
    before = query(db_path, ALL_ROWS)
    result = _run(_resources(db_path, **kw))
    assert result.success
    pd.testing.assert_frame_equal(query(db_path, ALL_ROWS), before)
    meta = _meta(result)
    assert "no on-chain activity" in meta["notes"] and "stored rows are untouched" in meta["notes"]
    assert meta["rows_received"] == 0 and _checks(result)[CHECK_SOURCE_COMPLETE].passed
