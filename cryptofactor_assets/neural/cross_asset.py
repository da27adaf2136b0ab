"""The cross-asset monthly series (pure: no Dagster): simulated or real, and their reshaping.

``compute_cross_asset`` gives the rows of ``cross_asset_monthly`` and ``cross_asset_truth``;
``wide_history`` turns stored rows back into month x series frames for the estimators. The series are
a fixed calendar: the simulation is drawn once for 2015-01..2040-12 and sliced (a real file gives the
same months whatever range is requested), so re-writing earlier months is idempotent.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cryptofactor_assets.neural import loaders as ld
from cryptofactor_assets.neural.simulation import FF5_COLUMNS, FF_RF, MARKETS, simulate_cross_asset

#: Simulated calendar: drawn once over these months and sliced, so any range gives the same series.
SIM_START = "2015-01-01"
SIM_MONTHS = 312  # 2015-01 .. 2040-12
SIM_COINS = ("BTC", "ETH", "LTC", "BCH", "XRP", "ADA", "DOGE", "XLM", "LINK", "DOT", "TRX", "ETC")
DEFAULT_SEED = 20230101  # the market simulator's default seed (sources/simulated.py SimConfig.seed)
#: An end date after every stored month (reads of "the whole history").
FAR_FUTURE = dt.date(2200, 1, 1)

RETURN_COLUMNS = ["month_start", "series", "asset_class", "ret", "return_type", "source", "seed"]
TRUTH_COLUMNS = ["month_start", "coin", "market", "beta", "univariate_beta", "regime", "seed"]


def month_of(d) -> pd.Timestamp:
    return pd.Timestamp(d).to_period("M").to_timestamp()


def as_dates(values) -> list[dt.date]:
    return [pd.Timestamp(v).date() for v in values]


def monthly_index(first, last) -> pd.DatetimeIndex:
    return pd.date_range(month_of(first), month_of(last), freq="MS", name="month")


def long_returns(wide: pd.DataFrame, asset_class: str, return_type: str, source: str,
                 seed: int | None) -> pd.DataFrame:
    """Month x series frame -> rows of ``cross_asset_monthly`` (NaN cells are gaps: no row)."""
    if wide is None or wide.empty:
        return pd.DataFrame(columns=RETURN_COLUMNS)
    s = wide.stack().dropna()
    s.index.names = ["month", "series"]
    out = s.rename("ret").reset_index()
    return pd.DataFrame({"month_start": as_dates(out["month"]), "series": out["series"].astype(str),
                         "asset_class": asset_class, "ret": out["ret"].astype(float),
                         "return_type": return_type, "source": source,
                         "seed": pd.array([seed] * len(out), dtype="Int64")})


def wide_history(rows: pd.DataFrame, first=None, last=None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rows of ``cross_asset_monthly`` -> (coins, markets, factors), month x series on one full monthly
    index (missing months are NaN rows, so positions are calendar months)."""
    if rows.empty:
        empty = pd.DataFrame(index=pd.DatetimeIndex([], name="month"))
        return empty, empty, empty
    rows = rows.assign(month=pd.to_datetime(rows["month_start"]))
    idx = monthly_index(first if first is not None else rows["month"].min(),
                        last if last is not None else rows["month"].max())

    def wide(cls: str, order=None) -> pd.DataFrame:
        part = rows[rows["asset_class"] == cls]
        frame = part.pivot_table(index="month", columns="series", values="ret", aggfunc="first")
        frame = frame.reindex(idx)
        frame.columns = [str(c) for c in frame.columns]
        frame.columns.name = None
        if order is not None:
            frame = frame[[c for c in order if c in frame.columns]]
        return frame

    return wide("coin"), wide("market", MARKETS), wide("factor", (*FF5_COLUMNS, FF_RF))


@functools.lru_cache(maxsize=4)
def simulation(seed: int):
    """The fixed simulated calendar of ``seed`` (cached: every range slices the same draw)."""
    return simulate_cross_asset(n_months=SIM_MONTHS, coins=SIM_COINS, seed=seed, start=SIM_START)


def parse_tickers(text: str) -> dict[str, str]:
    """``"BTC=BTC-USD,GOLD=GC=F"`` -> {name: ticker} (split on the FIRST '=': tickers may contain '=')."""
    out = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, ticker = item.partition("=")
        if not sep or not name.strip() or not ticker.strip():
            raise ValueError(f"ticker mapping item {item!r} is not NAME=TICKER")
        out[name.strip()] = ticker.strip()
    return out


def _paths(text: str) -> list[Path]:
    return [Path(p) for p in text.split(os.pathsep) if p.strip()]


def load_real_cross_asset(prices_csv: str, tickers: str | None, ff5_csv: str | None
                          ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, str, str | None]:
    """Real monthly series: (coins, markets, ff5 or None, price source label, ff5 source label).

    ``prices_csv``: yfinance download CSV(s), several = vintages oldest first (later file wins per cell).
    ``tickers``: explicit ``NAME=TICKER`` list (every ticker must be in the files; names in
    FIAT/EQUITY/GOLD/ENERGY are markets, the others coins); None: the default tickers present in the files.
    ``ff5_csv``: French CSV(s) oldest vintage first, ``"linearmodels"`` for the shipped subset (no RMW,
    CMA; ends 2017-03), or None (no factors: forecasts without FF5 only, RF taken as 0).
    """
    frames = [ld.read_yfinance_csv(p) for p in _paths(prices_csv)]
    if not frames:
        raise ValueError("no price file given")
    if tickers:
        mapping = parse_tickers(tickers)
    else:
        present = set().union(*(set(ld.yfinance_close_prices(f).columns) for f in frames))
        mapping = {k: v for k, v in {**ld.DEFAULT_COIN_TICKERS, **ld.DEFAULT_MARKET_TICKERS}.items()
                   if v in present}
    returns = ld.combine_vintages(*(ld.yfinance_monthly_returns(f, mapping) for f in frames))
    markets = returns[[c for c in MARKETS if c in returns.columns]]
    coins = returns[[c for c in returns.columns if c not in MARKETS]]
    if markets.shape[1] == 0 or coins.shape[1] == 0:
        raise ValueError(f"need at least one coin and one of {MARKETS}; mapping {mapping}")
    ff5, ff_source = None, None
    if ff5_csv and ff5_csv.strip().lower() == "linearmodels":
        ff5, ff_source = ld.load_french_shipped()[[*FF5_COLUMNS, FF_RF]], "linearmodels_french"
    elif ff5_csv:
        ff5 = ld.french_monthly_vintages(*(p.read_bytes() for p in _paths(ff5_csv)))
        ff5, ff_source = ff5[[c for c in (*FF5_COLUMNS, FF_RF) if c in ff5.columns]], "french_csv"
    return coins, markets, ff5, "yfinance_csv", ff_source


def compute_cross_asset(write_start: dt.date, end: dt.date, seed: int, prices_csv: str | None = None,
                        tickers: str | None = None, ff5_csv: str | None = None
                        ) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Rows of ``cross_asset_monthly`` and ``cross_asset_truth`` for months ``[write_start, end)``.

    Simulated (no ``prices_csv``): the fixed 2015-01..2040-12 draw of ``simulate_cross_asset`` for ``seed``
    (12 coins, default DGP), sliced; the truth holds its planted structural and univariate betas and regime.
    """
    lo, hi = pd.Timestamp(write_start), pd.Timestamp(end)
    if prices_csv:
        coins, markets, ff5, source, ff_source = load_real_cross_asset(prices_csv, tickers, ff5_csv)
        sl = slice(lo, hi - pd.Timedelta(days=1))
        parts = [long_returns(coins.loc[sl], "coin", "log", source, None),
                 long_returns(markets.loc[sl], "market", "log", source, None)]
        if ff5 is not None:
            parts.append(long_returns(ff5.loc[sl], "factor", "simple", ff_source, None))
        return pd.concat(parts, ignore_index=True), pd.DataFrame(columns=TRUTH_COLUMNS), source
    sim = simulation(seed)
    months = sim.coin_returns.index
    if hi > months[-1] + pd.offsets.MonthBegin(1):
        raise ValueError(f"the simulated calendar ends {months[-1].date()}; requested up to {end}")
    keep = (months >= lo) & (months < hi)
    sl = months[keep]
    parts = [long_returns(sim.coin_returns.loc[sl], "coin", "log", "simulated", seed),
             long_returns(sim.market_returns.loc[sl], "market", "log", "simulated", seed),
             long_returns(sim.ff5.loc[sl], "factor", "simple", "simulated", seed)]
    t_idx = np.flatnonzero(keep)
    n_t, n_c, n_m = len(t_idx), len(sim.coins), len(sim.markets)
    truth = pd.DataFrame({
        "month_start": np.repeat(as_dates(sl), n_c * n_m),
        "coin": np.tile(np.repeat(sim.coins, n_m), n_t),
        "market": np.tile(sim.markets, n_t * n_c),
        "beta": sim.betas[t_idx].reshape(-1),
        "univariate_beta": sim.univariate_betas[t_idx].reshape(-1),
        "regime": np.repeat(sim.regimes.to_numpy()[t_idx], n_c * n_m).astype(int),
        "seed": seed,
    })
    return pd.concat(parts, ignore_index=True), truth, "simulated"
