"""Readers of users' own files: freqtrade feather, Binance CSV, generic CSV/parquet, CoinGecko export."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptofactor_assets.sources import files
from cryptofactor_assets.sources.base import KLINE_COLUMNS, MARKET_COLUMNS, SourceError
from cryptofactor_assets.sources.files import (
    coingecko_coin_id,
    freqtrade_name,
    read_binance_csv,
    read_coingecko_csv,
    read_generic_klines,
    read_kline_file,
    read_klines_glob,
    read_markets_glob,
    resolve_file_symbol,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures"
REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
needs_real = pytest.mark.skipif(not REAL.exists(), reason="../shared/data/real absent")


@pytest.fixture(autouse=True)
def fresh_cache():
    files.clear_cache()
    yield
    files.clear_cache()


def write_feather(path: Path, start: str, n: int, freq: str = "5min", tz: str | None = "UTC") -> pd.DataFrame:
    dates = pd.date_range(start, periods=n, freq=freq, tz=tz)
    rng = np.random.default_rng(7)
    close = 100 + rng.normal(size=n).cumsum()
    frame = pd.DataFrame({"date": dates, "open": close + 0.1, "high": close + 1, "low": close - 1,
                          "close": close, "volume": rng.uniform(0, 10, n)})
    frame.to_feather(path)
    return frame


# ---------------------------------------------------------------------- names
@pytest.mark.parametrize("name,expected", [
    ("BTC_USDT-5m.feather", ("BTCUSDT", "5m", None)),
    ("BTC_USDT_USDT-5m-futures.feather", ("BTCUSDT", "5m", "futures")),
    ("1000SATS_USDT-1d.feather", ("1000SATSUSDT", "1d", None)),
    ("BTC_USDT_USDT-1h-funding_rate.feather", ("BTCUSDT", "1h", "funding_rate")),
    ("prices.feather", None),
])
def test_freqtrade_names(name, expected):
    assert freqtrade_name(name) == expected


def test_coingecko_ids_and_symbols():
    assert coingecko_coin_id("data/btc-usd-max.csv") == "btc"
    assert coingecko_coin_id("usd-coin-usd-max.csv") == "usd-coin"
    assert coingecko_coin_id("whatever.csv") == "whatever"
    assert resolve_file_symbol("btc", None) == "BTCUSDT"          # default table by ticker
    assert resolve_file_symbol("bitcoin", None) == "BTCUSDT"      # default table by id
    assert resolve_file_symbol("kncl", None) == "KNCLUSDT"        # guess
    assert resolve_file_symbol("kncl", {"kncl": "KNCUSDT"}) == "KNCUSDT"  # user table wins


# ---------------------------------------------------------------------- readers
def test_freqtrade_feather_reader(tmp_path):
    src = write_feather(tmp_path / "ETH_USDT_USDT-5m-futures.feather", "2024-01-01", 30)
    frame = read_kline_file(tmp_path / "ETH_USDT_USDT-5m-futures.feather")
    assert list(frame.columns) == KLINE_COLUMNS and (frame["symbol"] == "ETHUSDT").all()
    assert frame["open_time"].dtype == "datetime64[ns]"
    assert (frame["open_time"].to_numpy() == src["date"].dt.tz_localize(None).to_numpy()).all()
    np.testing.assert_array_equal(frame["close"].to_numpy(), src["close"].to_numpy())
    assert frame["turnover"].isna().all()


def test_freqtrade_naive_and_ms_dates(tmp_path):
    write_feather(tmp_path / "A_USDT-5m.feather", "2024-01-01", 3, tz=None)
    frame = read_kline_file(tmp_path / "A_USDT-5m.feather")
    assert frame["open_time"].iloc[0] == pd.Timestamp("2024-01-01")
    ms = pd.DataFrame({"date": pd.to_datetime(["2024-01-01 00:05"]).tz_localize("UTC").astype("datetime64[ms, UTC]"),
                       "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [0.0]})
    ms.to_feather(tmp_path / "B_USDT-5m.feather")
    assert read_kline_file(tmp_path / "B_USDT-5m.feather")["open_time"].iloc[0] == pd.Timestamp("2024-01-01 00:05")


def test_binance_csv_milliseconds_and_microseconds():
    ms = read_binance_csv(FIX / "BTCUSDT-5m-2024-01-01.csv")
    assert ms["symbol"].tolist() == ["BTCUSDT"] * 3
    assert ms["open_time"].tolist() == list(pd.date_range("2024-01-01", periods=3, freq="5min"))
    assert ms["turnover"].iloc[0] == 6570013.84551640 and ms["volume"].iloc[2] == 135.14249
    us = read_binance_csv(FIX / "ETHUSDT-5m-2025-01-01.csv")
    assert us["open_time"].tolist() == list(pd.date_range("2025-01-01", periods=2, freq="5min"))
    assert us["close"].tolist() == [3340.88, 3345.0]


def test_binance_csv_with_header_and_zip(tmp_path):
    body = (FIX / "BTCUSDT-5m-2024-01-01.csv").read_text()
    (tmp_path / "BTCUSDT-5m-2024-01.csv").write_text(",".join(files.BINANCE_COLUMNS) + "\n" + body)
    frame = read_kline_file(tmp_path / "BTCUSDT-5m-2024-01.csv")
    assert len(frame) == 3 and frame["open_time"].iloc[0] == pd.Timestamp("2024-01-01")
    import zipfile

    with zipfile.ZipFile(tmp_path / "BTCUSDT-5m-2024-01-01.zip", "w") as z:
        z.writestr("BTCUSDT-5m-2024-01-01.csv", body)
    pd.testing.assert_frame_equal(read_kline_file(tmp_path / "BTCUSDT-5m-2024-01-01.zip"),
                                  read_binance_csv(FIX / "BTCUSDT-5m-2024-01-01.csv"))


def test_generic_csv_and_parquet(tmp_path):
    frame = read_generic_klines(FIX / "generic_klines.csv")
    assert frame["symbol"].tolist() == ["BTCUSDT", "BTCUSDT", "ETHUSDT"]
    assert frame["open_time"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 00:05"),
                                           pd.Timestamp("2024-01-01")]
    assert np.isnan(frame["turnover"].iloc[2]) and frame["turnover"].iloc[0] == 6570013.8455
    # parquet with tz-aware times and epoch-ms CSV give the same rows
    pq = frame.assign(open_time=frame["open_time"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris"))
    pq.to_parquet(tmp_path / "k.parquet")
    pd.testing.assert_frame_equal(read_kline_file(tmp_path / "k.parquet"), frame, check_dtype=False)
    epoch = frame.assign(open_time=frame["open_time"].astype("int64") // 1_000_000)
    epoch.to_csv(tmp_path / "k.csv", index=False)
    pd.testing.assert_frame_equal(read_kline_file(tmp_path / "k.csv"), frame, check_dtype=False)


def test_generic_missing_column_and_bad_time_are_source_errors(tmp_path):
    (tmp_path / "a.csv").write_text("symbol,open_time,open,high,low,close\nX,2024-01-01,1,1,1,1\n")
    with pytest.raises(SourceError, match=r"a.csv: missing columns \['volume'\]"):
        read_kline_file(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("symbol,open_time,open,high,low,close,volume\nX,2024-01-01,1,1,1,1,1\n"
                                    "X,yesterday,1,1,1,1,1\n")
    with pytest.raises(SourceError, match="line 3"):
        read_kline_file(tmp_path / "b.csv")


def test_non_numeric_values_are_kept_as_nan(tmp_path):
    (tmp_path / "c.csv").write_text("symbol,open_time,open,high,low,close,volume\nX,2024-01-01,1,abc,1,1,\n")
    frame = read_kline_file(tmp_path / "c.csv")
    assert len(frame) == 1 and np.isnan(frame["high"].iloc[0]) and np.isnan(frame["volume"].iloc[0])


def test_coingecko_export_quirks():
    stats = files.MarketFileStats()
    frame = read_coingecko_csv(FIX / "xyz-usd-max.csv", stats=stats)
    assert list(frame.columns) == MARKET_COLUMNS
    assert frame["coin_id"].unique().tolist() == ["xyz"] and frame["symbol"].unique().tolist() == ["XYZUSDT"]
    assert frame["date"].tolist() == [pd.Timestamp(d) for d in
                                      ["2021-01-01", "2021-01-02", "2021-01-03", "2021-01-05", "2021-01-06"]]
    assert stats.off_midnight == 2 and stats.rows == 5
    assert np.isnan(frame["market_cap"].iloc[2]) and frame["market_cap"].iloc[3] == 0.0
    assert frame["total_volume"].iloc[0] == 0.0 and frame["price"].iloc[4] == 1.123456789012345


# ---------------------------------------------------------------------- globs
def test_klines_glob_window_skips_other_timeframes_and_caches(tmp_path, monkeypatch):
    a = write_feather(tmp_path / "AAA_USDT-5m.feather", "2024-01-01", 288 * 3)
    write_feather(tmp_path / "BBB_USDT-5m.feather", "2024-01-02 12:00", 288)
    write_feather(tmp_path / "AAA_USDT-1d.feather", "2024-01-01", 3, freq="1D")
    batch = read_klines_glob(str(tmp_path / "*.feather"), "2024-01-02", "2024-01-03")
    assert batch.frame.groupby("symbol").size().to_dict() == {"AAAUSDT": 288, "BBBUSDT": 144}
    assert batch.frame["open_time"].min() == pd.Timestamp("2024-01-02")
    assert batch.frame["open_time"].max() == pd.Timestamp("2024-01-02 23:55")
    assert batch.stats["files_skipped"] == 1 and batch.stats["files_read"] == 2
    assert any("skipped" in n and "1d" in n for n in batch.notes)
    day2 = a[(a["date"] >= "2024-01-02") & (a["date"] < "2024-01-03")]
    np.testing.assert_array_equal(batch.frame.loc[batch.frame.symbol == "AAAUSDT", "close"], day2["close"])
    # the next partition comes from the per-process cache: no file is parsed again
    assert len(files._CACHE) == 2
    monkeypatch.setattr(files, "read_kline_file", lambda p: pytest.fail(f"re-parsed {p}"))
    batch2 = read_klines_glob(str(tmp_path / "*-5m.feather"), "2024-01-03", "2024-01-04")
    assert batch2.frame.groupby("symbol").size().to_dict() == {"AAAUSDT": 288, "BBBUSDT": 144}


def test_cache_notices_a_rewritten_file(tmp_path):
    p = tmp_path / "AAA_USDT-5m.feather"
    write_feather(p, "2024-01-01", 10)
    assert len(read_klines_glob(str(p), "2024-01-01", "2024-01-02").frame) == 10
    write_feather(p, "2024-01-01", 20)
    os.utime(p, ns=(1, 1))
    assert len(read_klines_glob(str(p), "2024-01-01", "2024-01-02").frame) == 20


def test_unsorted_file_is_windowed_without_losing_rows(tmp_path):
    frame = read_generic_klines(FIX / "generic_klines.csv")
    shuffled = frame.iloc[[2, 0, 1]].assign(open_time=frame["open_time"].iloc[[2, 0, 1]].dt.strftime("%Y-%m-%dT%H:%M:%S"))
    shuffled.to_csv(tmp_path / "k.csv", index=False)
    batch = read_klines_glob(str(tmp_path / "k.csv"), "2024-01-01", "2024-01-02")
    assert len(batch.frame) == 3


def test_klines_glob_failures_and_strict(tmp_path):
    write_feather(tmp_path / "AAA_USDT-5m.feather", "2024-01-01", 5)
    (tmp_path / "BAD_USDT-5m.feather").write_bytes(b"not arrow at all")
    batch = read_klines_glob(str(tmp_path / "*.feather"), "2024-01-01", "2024-01-02")
    assert len(batch.frame) == 5 and [f.symbol for f in batch.failures] == ["BADUSDT"]
    assert "BAD_USDT-5m.feather" in batch.failures[0].error
    with pytest.raises(SourceError, match="BAD_USDT"):
        read_klines_glob(str(tmp_path / "*.feather"), "2024-01-01", "2024-01-02", strict=True)
    with pytest.raises(SourceError, match="no file matches"):
        read_klines_glob(str(tmp_path / "*.nothing"), "2024-01-01", "2024-01-02")


def test_markets_glob_window_and_notes(tmp_path):
    batch = read_markets_glob(str(FIX / "xyz-usd-max.csv"), "2021-01-02", "2021-01-06")
    assert batch.frame["date"].tolist() == [pd.Timestamp(d) for d in ["2021-01-02", "2021-01-03", "2021-01-05"]]
    assert batch.stats["off_midnight"] == 2 and batch.stats["zero_market_caps"] == 1
    assert batch.stats["nan_market_caps"] == 1 and batch.stats["missing_days"] == 1
    assert any("2 off-midnight" in n for n in batch.notes)
    only_first = read_markets_glob(str(FIX / "xyz-usd-max.csv"), "2021-01-01", "2021-01-03")
    assert only_first.stats["off_midnight"] == 0 and only_first.stats["zero_volumes"] == 2
    mapped = read_markets_glob(str(FIX / "xyz-usd-max.csv"), "2021-01-01", "2021-01-03", symbol_map={"xyz": "XYZ1USDT"})
    assert mapped.frame["symbol"].unique().tolist() == ["XYZ1USDT"]


# ---------------------------------------------------------------------- real data
@needs_real
def test_real_binance_5m_aggregated_with_duckdb_reproduces_daily_files():
    folder = REAL / "binance_spot_genetrader"
    for sym in ("BTC", "LAZIO", "WIF"):
        batch = read_klines_glob(str(folder / f"{sym}_USDT-5m.feather"), "2024-01-01", "2024-09-10")
        con = duckdb.connect()
        con.register("bars", batch.frame)
        daily = con.sql("""
            SELECT symbol, date_trunc('day', open_time) AS day,
                   arg_min(open, open_time) AS open, max(high) AS high, min(low) AS low,
                   arg_max(close, open_time) AS close, sum(volume) AS volume, count(*) AS n
            FROM bars GROUP BY symbol, day HAVING count(*) = 288 ORDER BY day
        """).df()
        ref = pd.read_feather(folder / f"{sym}_USDT-1d.feather")
        ref["day"] = ref["date"].dt.tz_localize(None)
        both = daily.merge(ref, on="day", suffixes=("", "_ref"))
        assert len(both) == len(daily) >= 180
        for c in ("open", "high", "low", "close"):
            np.testing.assert_array_equal(both[c].to_numpy(), both[f"{c}_ref"].to_numpy())
        np.testing.assert_allclose(both["volume"], both["volume_ref"], rtol=1e-12, atol=0)


@needs_real
def test_real_coingecko_exports_quirks():
    folder = REAL / "coingecko_daily_tylerilunga"
    btc = read_markets_glob(str(folder / "btc-usd-max.csv"), "2013-01-01", "2022-01-01")
    assert btc.frame["symbol"].unique().tolist() == ["BTCUSDT"]
    raw = pd.read_csv(folder / "btc-usd-max.csv")
    assert btc.stats["rows"] == len(raw)  # nothing dropped
    assert btc.stats["missing_days"] == 2  # 2013-06-04 and 2015-01-28
    assert btc.stats["zero_volumes"] == 242 and btc.stats["nan_market_caps"] == 1
    assert btc.frame.loc[btc.frame["date"] == "2017-06-06", "price"].size == 1  # 23:29:55 snapshot floored
    ar = read_markets_glob(str(folder / "ar-usd-max.csv"), "2013-01-01", "2022-01-01")
    assert ar.stats["zero_market_caps"] == 305
    week = read_markets_glob(str(folder / "*.csv"), "2021-01-04", "2021-01-11")
    assert week.frame["coin_id"].nunique() >= 40 and not week.failures


@needs_real
def test_real_bybit_futures_names():
    batch = read_klines_glob(str(REAL / "bybit_perp_5m_dkotl" / "*.feather"), "2025-10-01", "2025-10-02")
    assert sorted(batch.frame["symbol"].unique()) == ["AAVEUSDT", "ADAUSDT", "APEUSDT", "AVAXUSDT", "BNBUSDT",
                                                      "BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert (batch.frame.groupby("symbol").size() == 288).all()


# ---------------------------------------------------------------------- property tests
_cell = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
                          max_size=8), st.floats(allow_nan=True).map(repr), st.integers(-10, 10**16).map(str))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_cell, min_size=7, max_size=7), max_size=8), st.booleans())
def test_generic_reader_never_crashes_and_keeps_every_row(rows, valid_times):
    if valid_times:
        rows = [[r[0] or "X", f"2024-01-0{1 + i % 9}T00:00:00", *r[2:]] for i, r in enumerate(rows)]
    body = "symbol,open_time,open,high,low,close,volume\n" + "".join(
        ",".join('"' + c.replace('"', '""') + '"' for c in r) + "\n" for r in rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "k.csv"
        path.write_text(body, encoding="utf-8")
        try:
            frame = read_generic_klines(path)
        except SourceError as exc:
            assert exc.source == "files"
            return
    assert len(frame) == len(rows)
    assert frame["open_time"].notna().all()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(st.datetimes(min_value=pd.Timestamp("2010-01-01").to_pydatetime(),
                                                 max_value=pd.Timestamp("2030-01-01").to_pydatetime())
                                    .map(lambda t: t.strftime("%Y-%m-%d %H:%M:%S UTC")), _cell),
                          _cell, _cell, _cell), max_size=8))
def test_coingecko_reader_never_crashes_and_keeps_every_row(rows):
    body = "snapped_at,price,market_cap,total_volume\n" + "".join(
        ",".join('"' + c.replace('"', '""') + '"' for c in r) + "\n" for r in rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "abc-usd-max.csv"
        path.write_text(body, encoding="utf-8")
        stats = files.MarketFileStats()
        try:
            frame = read_coingecko_csv(path, stats=stats)
        except SourceError as exc:
            assert exc.source == "files"
            return
    assert len(frame) == len(rows) == stats.rows
    assert (frame["date"] == frame["date"].dt.normalize()).all()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_in_any_kline_file_give_rows_or_source_error(data):
    with tempfile.TemporaryDirectory() as d:
        for name in ("X_USDT-5m.feather", "XUSDT-5m-2024-01-01.csv", "k.csv", "k.parquet"):
            path = Path(d) / name
            path.write_bytes(data)
            try:
                frame = read_kline_file(path)
            except SourceError:
                continue
            assert list(frame.columns) == KLINE_COLUMNS
