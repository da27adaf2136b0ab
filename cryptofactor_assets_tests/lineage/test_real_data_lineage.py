"""Tier 2 on real data (skipped when ../shared/data/real is absent): the files source through the lineage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.panels.assets import daily_panel, weekly_panel
from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets_tests.conftest import REAL_DATA, materialize_range, query

pytestmark = [pytest.mark.real_data,
              pytest.mark.skipif(not REAL_DATA.exists(), reason="../shared/data/real is absent")]

BINANCE = REAL_DATA / "binance_spot_genetrader"
COINGECKO = REAL_DATA / "coingecko_daily_tylerilunga"


def _resources(db_path, **kw):
    return {"duckdb": DuckDBResource(database=db_path), "market_source": MarketSourceResource(kind="files", **kw)}


def test_binance_5m_files_build_the_panels_and_match_the_daily_files(db_path):
    res = _resources(db_path, klines_glob=str(BINANCE / "*-5m.feather"))
    assert materialize_range([raw_klines_5m, raw_coin_markets, daily_panel], res, "2024-03-03", "2024-03-24").success
    assert materialize_range([weekly_panel], res, "2024-03-04", "2024-03-18").success
    # daily OHLCV from the stored 5-minute bars (days with all 288 bars) equals the exchange's daily files
    agg = query(db_path, """
        SELECT symbol, CAST(open_time AS DATE) AS date, arg_min(open, open_time) AS open, max(high) AS high,
               min(low) AS low, arg_max(close, open_time) AS close, sum(volume) AS volume, count(*) AS n
        FROM raw_klines_5m GROUP BY ALL HAVING count(*) = 288""")
    checked = 0
    for sym, grp in agg.groupby("symbol"):
        daily = pd.read_feather(BINANCE / f"{sym[:-4]}_USDT-1d.feather")
        daily["date"] = daily.date.dt.tz_localize(None).dt.normalize()
        m = grp.assign(date=pd.to_datetime(grp.date)).merge(daily, on="date", suffixes=("", "_1d"))
        for col in ["open", "high", "low", "close"]:
            assert (m[col] == m[f"{col}_1d"]).all(), (sym, col)
        np.testing.assert_allclose(m.volume, m.volume_1d, rtol=1e-12)
        panel = query(db_path, "SELECT date, close FROM daily_panel WHERE symbol = ?", [sym])
        pm = panel.assign(date=pd.to_datetime(panel.date)).merge(daily, on="date", suffixes=("", "_1d"))
        assert (pm.close == pm.close_1d).all()
        checked += len(m)
    assert checked >= 20 * 21
    # zero-volume bars are real and kept (illiquid coins), never rejected
    assert query(db_path, "SELECT count(*) AS n FROM raw_klines_5m WHERE volume = 0").n[0] > 0
    assert query(db_path, "SELECT count(*) AS n FROM weekly_panel").n[0] > 0


def test_coingecko_export_files_keep_their_quirks_visible(db_path):
    res = _resources(db_path, markets_glob=str(COINGECKO / "*.csv"))
    result = materialize_range([raw_klines_5m, raw_coin_markets, daily_panel], res, "2017-03-30", "2017-06-08")
    assert result.success
    mk = query(db_path, "SELECT * FROM raw_coin_markets")
    # NaN market caps of 2017-04-02 are stored as NULL (unknown), the rows kept
    nulls = mk[(mk.date == pd.Timestamp("2017-04-02")) & mk.market_cap.isna()].symbol
    assert {"BTCUSDT", "ETHUSDT", "LTCUSDT"} <= set(nulls)
    # the off-midnight BTC snapshot 2017-06-06 23:29:55 is floored to its UTC date
    assert (mk[(mk.symbol == "BTCUSDT")].date == pd.Timestamp("2017-06-06")).sum() == 1
    meta = result.asset_materializations_for_node("raw_coin_markets")[-1].metadata  # the run's details: last partition
    assert "off-midnight" in meta["notes"].value or "off_midnight" in meta["notes"].value
    panel = query(db_path, "SELECT * FROM daily_panel")
    assert (panel.close_source == "markets").all() and panel.in_universe.any()
    assert not panel[panel.date == pd.Timestamp("2017-04-02")].query("symbol == 'BTCUSDT'").in_universe.any()
