"""The crypto side from the warehouse's own daily_panel (coins_from = daily_panel), markets from the
yfinance CSV, on a temporary DuckDB file. The panel closes here are SYNTHETIC (written by the test);
the real CoinGecko run is test_neural_real_data_coingecko.py."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.neural import assets as na
from cryptofactor_assets.neural import cross_asset as xa
from cryptofactor_assets.neural import loaders as ld
from cryptofactor_assets.neural.resources import (
    CROSS_ASSET_COINS_ENV,
    CROSS_ASSET_PANEL_SYMBOLS_ENV,
    CROSS_ASSET_SOURCE,
    CrossAssetSourceResource,
)
from cryptofactor_assets.storage.warehouse import ensure_table
from cryptofactor_assets_tests.conftest import query

PRICES = Path(__file__).resolve().parents[1] / "fixtures" / "neural" / "yfinance_download_daily.csv"
DAYS = pd.date_range("2020-12-01", "2021-04-15", freq="D")  # April is incomplete: left out


def _synthetic_panel() -> pd.DataFrame:
    """Daily closes of BTCUSDT and ETHUSDT (synthetic random walks); ETH has no close in 2021-02."""
    rng = np.random.default_rng(17)
    rows = []
    for symbol, p0 in (("BTCUSDT", 20000.0), ("ETHUSDT", 600.0)):
        closes = p0 * np.exp(np.cumsum(rng.normal(0.002, 0.04, len(DAYS))))
        for day, close in zip(DAYS, closes, strict=True):
            if symbol == "ETHUSDT" and day.month == 2:
                continue
            rows.append({"symbol": symbol, "date": day.date(), "close": float(close), "close_source": "markets",
                         "n_bars": 0, "in_universe": True})
    return pd.DataFrame(rows)


@pytest.fixture
def panel_db(tmp_path) -> tuple[str, pd.DataFrame]:
    db = str(tmp_path / "panel.duckdb")
    panel = _synthetic_panel()
    with duckdb.connect(db) as con:
        ensure_table(con, "daily_panel")
        con.register("incoming", panel)
        con.execute("INSERT INTO daily_panel BY NAME SELECT * FROM incoming")
    return db, panel


def _materialize(db: str, resource: CrossAssetSourceResource, config: dict | None = None, raise_on_error=True):
    cfg = {"history_start": "2020-12-01", **(config or {})}
    return dg.materialize([na.cross_asset_monthly], resources={"duckdb": DuckDBResource(database=db),
                                                               CROSS_ASSET_SOURCE: resource},
                          run_config={"ops": {"cross_asset_monthly": {"config": cfg}}}, raise_on_error=raise_on_error,
                          tags={"dagster/asset_partition_range_start": "2021-01-01",
                                "dagster/asset_partition_range_end": "2021-05-01"})


def _month_end_returns(panel: pd.DataFrame, symbol: str) -> pd.Series:
    s = panel[panel["symbol"] == symbol].set_index(pd.to_datetime(panel.loc[panel["symbol"] == symbol, "date"]))["close"]
    last = s.groupby(s.index.to_period("M")).last()
    last.index = last.index.to_timestamp()
    last = last.reindex(pd.date_range(last.index.min(), last.index.max(), freq="MS"))
    return np.log(last / last.shift(1))


def test_coins_from_the_daily_panel_markets_from_the_csv(panel_db):
    db, panel = panel_db
    result = _materialize(db, CrossAssetSourceResource(prices_csv=str(PRICES)), {"coins_from": "daily_panel"})
    assert all(e.passed for e in result.get_asset_check_evaluations())
    meta = result.asset_materializations_for_node("cross_asset_monthly")[-1].metadata
    assert meta["source"].value == "daily_panel+yfinance_csv" and meta["coins_from"].value == "daily_panel"
    assert "2 symbols, 2020-12-01 .. 2021-04-15" in meta["daily_panel_closes"].value
    rows = query(db, "SELECT * FROM cross_asset_monthly ORDER BY month_start, series")
    coins = rows[rows["asset_class"] == "coin"]
    assert set(coins["series"]) == {"BTC", "ETH"} and set(coins["source"]) == {"daily_panel"}
    assert set(rows.loc[rows["asset_class"] == "market", "source"]) == {"yfinance_csv"}
    assert set(rows.loc[rows["asset_class"] == "market", "series"]) == {"EQUITY"}  # BTC-USD in the CSV not used
    # last close of each calendar month; the incomplete April (panel ends 04-15) is left out
    assert coins["month_start"].max() == pd.Timestamp("2021-03-01")
    for name, symbol in (("BTC", "BTCUSDT"), ("ETH", "ETHUSDT")):
        want = _month_end_returns(panel, symbol).loc["2021-01-01":"2021-03-01"].dropna()
        got = coins[coins["series"] == name].set_index("month_start")["ret"]
        np.testing.assert_array_equal(got.index, want.index)
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    # ETH has no close in February: February and March are gaps (no row), January is stored
    eth_months = set(coins.loc[coins["series"] == "ETH", "month_start"])
    assert eth_months == {pd.Timestamp("2021-01-01")}


def test_env_variables_and_panel_symbols(panel_db, monkeypatch):
    db, panel = panel_db
    monkeypatch.setenv("CRYPTOFACTOR_CROSS_ASSET_CSV", str(PRICES))
    monkeypatch.setenv(CROSS_ASSET_COINS_ENV, "daily_panel")
    monkeypatch.setenv(CROSS_ASSET_PANEL_SYMBOLS_ENV, "BITCOIN=BTCUSDT")
    resource = CrossAssetSourceResource.from_settings()
    assert (resource.coins_from, resource.panel_symbols) == ("daily_panel", "BITCOIN=BTCUSDT")
    _materialize(db, resource)
    coins = query(db, "SELECT DISTINCT series FROM cross_asset_monthly WHERE asset_class = 'coin'")
    assert list(coins["series"]) == ["BITCOIN"]
    # a run config value overrides the resource's
    _materialize(db, resource, {"panel_symbols": "ETHUSDT", "coins_from": "daily_panel"})
    coins = query(db, "SELECT DISTINCT series FROM cross_asset_monthly WHERE asset_class = 'coin'")
    assert list(coins["series"]) == ["ETH"]


def test_errors_say_what_is_missing(tmp_path, panel_db):
    empty = str(tmp_path / "empty.duckdb")
    duckdb.connect(empty).close()
    result = _materialize(empty, CrossAssetSourceResource(prices_csv=str(PRICES), coins_from="daily_panel"),
                          raise_on_error=False)
    assert not result.success
    assert "no daily_panel table" in str(result.get_step_failure_events()[0].event_specific_data.error)
    db, _ = panel_db
    with pytest.raises(Exception, match="coins from daily_panel need a markets CSV"):
        _materialize(db, CrossAssetSourceResource(coins_from="daily_panel"))
    with pytest.raises(Exception, match="is not one of prices, daily_panel"):
        _materialize(db, CrossAssetSourceResource(prices_csv=str(PRICES), coins_from="panel"))
    with pytest.raises(Exception, match=r"symbols not in daily_panel: \['SOLUSDT'\]"):
        _materialize(db, CrossAssetSourceResource(prices_csv=str(PRICES), coins_from="daily_panel",
                                                  panel_symbols="SOLUSDT"))


def test_coin_names_and_mapping():
    assert [xa.coin_name(s) for s in ("BTCUSDT", "ETHUSDC", "SOLFDUSD", "XRPUSD", "USDT", "BTC")] == [
        "BTC", "ETH", "SOL", "XRP", "USDT", "BTC"]
    assert xa.panel_coin_mapping(["BTCUSDT", "ETHUSDT"], None) == {"BTC": "BTCUSDT", "ETH": "ETHUSDT"}
    assert xa.panel_coin_mapping(["BTCUSDT", "ETHUSDT"], "B=BTCUSDT, ETHUSDT") == {"B": "BTCUSDT", "ETH": "ETHUSDT"}
    with pytest.raises(ValueError, match="both name the coin 'BTC'"):
        xa.panel_coin_mapping(["BTCUSDT", "BTCUSDC"], None)
    with pytest.raises(ValueError, match="is a market name"):
        xa.panel_coin_mapping(["GOLDUSDT"], None)


def test_a_panel_ending_on_a_month_end_keeps_that_month():
    days = pd.date_range("2021-01-01", "2021-03-31", freq="D")
    closes = pd.DataFrame({"symbol": "BTCUSDT", "date": days, "close": np.linspace(100, 200, len(days))})
    out = xa.panel_monthly_returns(closes)
    assert list(out.index) == list(pd.date_range("2021-01-01", "2021-03-01", freq="MS"))
    assert out.loc["2021-03-01", "BTC"] == pytest.approx(np.log(200 / closes.set_index("date")["close"]["2021-02-28"]))
    pd.testing.assert_frame_equal(out, ld.monthly_log_returns(
        closes.set_index("date")[["close"]].rename(columns={"close": "BTC"})), check_names=False)
