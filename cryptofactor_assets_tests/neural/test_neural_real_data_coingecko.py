"""The neural lineage on REAL coins: the CoinGecko BTC / ETH / LTC export files (../shared/data/real,
skipped when absent) through raw_coin_markets and daily_panel, then cross_asset_monthly with the coins
from the stored panel (coins_from = daily_panel) and neural_betas.

The markets file is SYNTHETIC (a seeded random walk written by this test in yfinance's layout, tickers
DX-Y.NYB / ^GSPC / GC=F / CL=F): the repository holds no real market data and this machine has no
internet. The betas against it are therefore meaningless; what is tested is that the real coins flow
through, month by month equal to the files' last price of each month, with nothing quarantined."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.neural import assets as na
from cryptofactor_assets.neural import checks as nchecks
from cryptofactor_assets.neural import loaders as ld
from cryptofactor_assets.neural.resources import CROSS_ASSET_SOURCE, CrossAssetSourceResource
from cryptofactor_assets.panels.assets import daily_panel
from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets_tests.conftest import REAL_DATA, materialize_range, query

pytestmark = [pytest.mark.real_data, pytest.mark.slow,
              pytest.mark.skipif(not REAL_DATA.exists(), reason="../shared/data/real is absent")]

COINGECKO = REAL_DATA / "coingecko_daily_tylerilunga"
COINS = ("btc", "eth", "ltc")
FIRST_DAY, LAST_DAY = "2016-05-31", "2021-09-30"  # the files end 2021-10-17: October is incomplete
TARGETS = ("2021-07-01", "2021-09-01")


def synthetic_markets_csv(path, first=FIRST_DAY, last=LAST_DAY, seed=20240517) -> None:
    """SYNTHETIC month-end closes (NOT market data) of the four market tickers in yf.download().to_csv()'s
    layout: independent Gaussian monthly log returns (sd 2 % FIAT, 4 % EQUITY and GOLD, 9 % ENERGY)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(first, last, freq="ME")
    columns = {}
    for ticker, p0, sd in (("DX-Y.NYB", 95.0, 0.02), ("^GSPC", 2100.0, 0.04), ("GC=F", 1200.0, 0.04),
                           ("CL=F", 48.0, 0.09)):
        steps = rng.normal(0.0, sd, len(days))
        steps[0] = 0.0
        columns[("Close", ticker)] = p0 * np.exp(np.cumsum(steps))
    frame = pd.DataFrame(columns, index=pd.DatetimeIndex(days, name="Date"))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["Price", "Ticker"])
    ld.write_yfinance_csv(frame, path)


def coingecko_month_end_returns(coin: str) -> pd.Series:
    """Straight from the export file: last price of each calendar month (snapshots floored to the UTC day)."""
    raw = pd.read_csv(COINGECKO / f"{coin}-usd-max.csv")
    prices = raw.set_index(pd.to_datetime(raw["snapped_at"].str[:10]))["price"].loc[FIRST_DAY:LAST_DAY]
    last = prices.groupby(prices.index.to_period("M")).last()
    last.index = last.index.to_timestamp()
    return np.log(last / last.shift(1)).dropna()


@pytest.fixture(scope="module")
def lineage(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("coingecko_neural")
    files = tmp / "coingecko"
    files.mkdir()
    for coin in COINS:  # a link per file: the glob takes these three coins only
        (files / f"{coin}-usd-max.csv").symlink_to(COINGECKO / f"{coin}-usd-max.csv")
    db = str(tmp / "real.duckdb")
    markets = tmp / "SYNTHETIC_markets_yfinance_layout.csv"
    synthetic_markets_csv(markets)
    res = {"duckdb": DuckDBResource(database=db),
           "market_source": MarketSourceResource(kind="files", markets_glob=str(files / "*.csv")),
           CROSS_ASSET_SOURCE: CrossAssetSourceResource(prices_csv=str(markets), coins_from="daily_panel")}
    built = materialize_range([raw_klines_5m, raw_coin_markets, daily_panel], res, FIRST_DAY, LAST_DAY)
    assert built.success
    monthly = dg.materialize([na.cross_asset_monthly, na.neural_betas], resources=res,
                             run_config={"ops": {"cross_asset_monthly": {"config": {"history_start": "2016-01-01"}}}},
                             tags={"dagster/asset_partition_range_start": TARGETS[0],
                                   "dagster/asset_partition_range_end": TARGETS[1]})
    assert monthly.success
    return db, monthly


def test_real_coins_enter_month_by_month(lineage):
    db, result = lineage
    rows = query(db, "SELECT * FROM cross_asset_monthly WHERE asset_class = 'coin' ORDER BY series, month_start")
    assert set(rows["series"]) == {"BTC", "ETH", "LTC"} and set(rows["source"]) == {"daily_panel"}
    for coin in COINS:
        want = coingecko_month_end_returns(coin)
        got = rows[rows["series"] == coin.upper()].set_index("month_start")["ret"]
        np.testing.assert_array_equal(got.index, want.index)  # 2016-06 .. 2021-09, every month
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    assert rows["month_start"].max() == pd.Timestamp("2021-09-01")
    assert query(db, "SELECT count(*) AS n FROM cross_asset_quarantine")["n"][0] == 0
    evals = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evals[nchecks.CROSS_QUARANTINE] and evals[nchecks.CROSS_FINITE]


def test_neural_betas_on_the_real_coins(lineage):
    db, _ = lineage
    betas = query(db, "SELECT * FROM neural_betas")
    assert len(betas) and np.isfinite(betas["beta"]).all()
    assert set(betas["coin"]) == {"BTC", "ETH", "LTC"}
    months = set(betas["month_start"])
    assert months == set(pd.date_range(*TARGETS, freq="MS"))
    assert {"FIAT", "EQUITY", "GOLD", "ENERGY"} <= set(betas["market"])
