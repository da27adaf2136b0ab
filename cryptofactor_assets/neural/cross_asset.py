"""The cross-asset monthly series (pure: no Dagster): simulated or real, and their reshaping.

``compute_cross_asset`` gives the rows of ``cross_asset_monthly`` and ``cross_asset_truth``;
``wide_history`` turns stored rows back into month x series frames for the estimators. The series are
a fixed calendar: the simulation is drawn once for 2015-01..2040-12 and sliced (a real file gives the
same months whatever range is requested), so re-writing earlier months is idempotent.

Real data: markets (and, by default, coins) from yfinance download CSVs, Fama-French factors from Ken
French files (CSV or ZIP); with ``coins_from = daily_panel`` the coins come from the warehouse's
``daily_panel`` closes instead (:func:`panel_monthly_returns`, any market source: files, Bybit,
CoinGecko). Every row then passes the outlier rule (:func:`quarantine_implausible`): a monthly
return beyond its asset class's bound is moved to ``cross_asset_quarantine`` with a reason.
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
QUARANTINE_COLUMNS = [*RETURN_COLUMNS, "bound", "reason"]
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
def simulation(seed: int, scenario: str = "hidden_regime"):
    """The fixed simulated calendar of ``seed`` (cached: every range slices the same draw).

    ``scenario``: ``hidden_regime`` (default: betas jump with a hidden Markov regime) or ``learnable``
    (betas a logistic function of the markets' trailing volatility; ``simulation.stress_weight``)."""
    return simulate_cross_asset(n_months=SIM_MONTHS, coins=SIM_COINS, seed=seed, start=SIM_START,
                                scenario=scenario)


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


# ----------------------------------------------------------------------- coins from the daily panel
#: Where the coins' monthly returns come from: the price CSVs (yfinance tickers) or the warehouse's
#: ``daily_panel`` (the project's own stored closes, whatever the market source).
COINS_FROM = ("prices", "daily_panel")
#: Quote-currency suffixes stripped from a ``daily_panel`` symbol to name its coin (``BTCUSDT`` -> ``BTC``).
QUOTE_SUFFIXES = ("FDUSD", "USDT", "USDC", "BUSD", "USD")


def coin_name(symbol: str) -> str:
    """``BTCUSDT`` -> ``BTC`` (the first quote suffix that leaves a name); else the symbol itself."""
    for suffix in QUOTE_SUFFIXES:
        if symbol.endswith(suffix) and len(symbol) > len(suffix):
            return symbol[: -len(suffix)]
    return symbol


def panel_coin_mapping(symbols, panel_symbols: str | None) -> dict[str, str]:
    """Coin name -> ``daily_panel`` symbol. ``panel_symbols``: ``"BTC=BTCUSDT,ETHUSDT"`` (an item
    without ``=`` is named by :func:`coin_name`); None / empty: every symbol of the panel."""
    symbols = sorted(set(map(str, symbols)))
    if panel_symbols and panel_symbols.strip():
        pairs = []
        for item in panel_symbols.split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, symbol = item.partition("=")
            pairs.append((name.strip(), symbol.strip()) if sep else (coin_name(item), item))
        absent = [sym for _, sym in pairs if sym not in symbols]
        if absent:
            raise KeyError(f"symbols not in daily_panel: {absent} (it holds {symbols[:20]}"
                           f"{' ...' if len(symbols) > 20 else ''})")
    else:
        pairs = [(coin_name(sym), sym) for sym in symbols]
    out: dict[str, str] = {}
    for name, symbol in pairs:
        if name in out and out[name] != symbol:
            raise ValueError(f"daily_panel symbols {out[name]} and {symbol} both name the coin {name!r}: "
                             f"give panel_symbols explicitly (NAME=SYMBOL,...)")
        if name in MARKETS:
            raise ValueError(f"coin name {name!r} (symbol {symbol}) is a market name; rename it in panel_symbols")
        out[name] = symbol
    return out


def panel_monthly_returns(closes: pd.DataFrame, panel_symbols: str | None = None) -> pd.DataFrame:
    """Month x coin log returns from ``daily_panel`` rows (``symbol, date, close``), by the convention of
    :func:`loaders.monthly_log_returns` (last close of each calendar month; a month without a close is a
    gap for itself and the next month). A trailing month the panel does not reach the end of (its last
    stored day is not the month's last day) is left out: its return would cover part of a month only.
    """
    if closes is None or not len(closes):
        raise ValueError("daily_panel holds no close before the window end: materialise daily_panel first "
                         "(coins_from=daily_panel reads it)")
    mapping = panel_coin_mapping(closes["symbol"].unique(), panel_symbols)
    wide = closes.pivot_table(index="date", columns="symbol", values="close", aggfunc="last")
    wide.index = pd.DatetimeIndex(pd.to_datetime(wide.index)).normalize()
    wide = wide[list(mapping.values())]
    wide.columns = list(mapping)
    last_day = wide.index.max()
    if (last_day + pd.Timedelta(days=1)).day != 1:  # the last month is incomplete
        wide = wide[wide.index < month_of(last_day)]
    if not len(wide):
        raise ValueError(f"daily_panel ends {last_day.date()}: no complete calendar month of closes")
    out = ld.monthly_log_returns(wide)
    out.columns.name = None
    return out


# --------------------------------------------------------------------------------- outlier rule
#: Largest plausible |monthly return| per asset class or series (a series name overrides its class):
#: log returns for coins and markets, decimal simple returns for factors. Each bound is far outside
#: what the asset has printed in a calendar month on record: the S&P 500's worst months (1931, 1987)
#: are about -0.25..-0.36 in log, the dollar index moves a few percent a month, gold's worst months
#: lose about a fifth, WTI front-month futures fell ~0.78 in log in March 2020, French's factors stay
#: within +-0.4; coins get a 55x month (log 4). A return beyond its bound is a data error (a bad print,
#: a unit or contract-roll error), e.g. the seed table's EQUITY -1.9484 in 2018-05 (-86 % in a month).
OUTLIER_BOUNDS: dict[str, float] = {"FIAT": 0.25, "EQUITY": 0.5, "GOLD": 0.5, "ENERGY": 1.5, "coin": 4.0,
                                    "factor": 0.5}


def parse_bounds(text: str | None) -> dict[str, float]:
    """``"EQUITY=0.6,coin=5"`` -> {name: bound} over :data:`OUTLIER_BOUNDS` (names: a series or an
    asset class ``coin`` / ``market`` / ``factor``); None / empty: the defaults."""
    out = dict(OUTLIER_BOUNDS)
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        try:
            bound = float(value)
        except ValueError:
            bound = float("nan")
        if not sep or not name.strip() or not np.isfinite(bound) or bound <= 0:
            raise ValueError(f"outlier bound {item!r} is not NAME=POSITIVE_NUMBER")
        out[name.strip()] = bound
    return out


def quarantine_implausible(rows: pd.DataFrame, bounds: dict[str, float] | None = None
                           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept rows, quarantined rows) of ``cross_asset_monthly``: a row whose |ret| exceeds the bound of
    its series (else of its asset class; no bound: kept) is quarantined with a reason naming the
    source, the series, the month, the return and the bound. Nothing is dropped: every row is in one
    of the two frames."""
    bounds = OUTLIER_BOUNDS if bounds is None else bounds
    if rows is None or not len(rows):
        return rows, pd.DataFrame(columns=QUARANTINE_COLUMNS)
    by_series = rows["series"].map(bounds)
    by_class = rows["asset_class"].map(bounds)
    bound = by_series.fillna(by_class).astype(float)
    bad = rows["ret"].abs() > bound  # NaN bound: no rule, kept
    if not bad.any():
        return rows, pd.DataFrame(columns=QUARANTINE_COLUMNS)
    q = rows[bad].copy()
    q["bound"] = bound[bad]
    which = np.where(by_series[bad].notna(), q["series"], q["asset_class"])
    q["reason"] = [
        f"{src} {ser} {pd.Timestamp(m):%Y-%m}: monthly {typ} return {r:+.4f} beyond +-{b:g} (the {w} "
        f"bound): implausible, quarantined"
        for src, ser, m, typ, r, b, w in zip(q["source"], q["series"], q["month_start"], q["return_type"],
                                             q["ret"], q["bound"], which, strict=True)]
    return rows[~bad].reset_index(drop=True), q[QUARANTINE_COLUMNS].reset_index(drop=True)


def load_real_cross_asset(prices_csv: str, tickers: str | None, ff5_csv: str | None,
                          panel_closes: pd.DataFrame | None = None, panel_symbols: str | None = None
                          ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, str, str | None]:
    """Real monthly series: (coins, markets, ff5 or None, price source label, ff5 source label).

    ``prices_csv``: yfinance download CSV(s), several = vintages oldest first (later file wins per cell).
    ``tickers``: explicit ``NAME=TICKER`` list (every ticker must be in the files; names in
    FIAT/EQUITY/GOLD/ENERGY are markets, the others coins); None: the default tickers present in the files.
    ``ff5_csv``: French file(s) oldest vintage first, each the ``.CSV`` or the ``_CSV.zip`` as published,
    ``"linearmodels"`` for the shipped subset (no RMW, CMA; ends 2017-03), or None (no factors:
    forecasts without FF5 only, RF taken as 0).
    ``panel_closes``: ``daily_panel`` rows (``symbol, date, close``): the coins come from them
    (:func:`panel_monthly_returns`, coins named by ``panel_symbols``) and only the markets from the CSVs
    (coin tickers in the files or the mapping are then not used).
    """
    frames = [ld.read_yfinance_csv(p) for p in _paths(prices_csv)]
    if not frames:
        raise ValueError("no price file given")
    if tickers:
        mapping = parse_tickers(tickers)
    else:
        present = set().union(*(set(ld.yfinance_close_prices(f).columns) for f in frames))
        defaults = ld.DEFAULT_MARKET_TICKERS if panel_closes is not None else {
            **ld.DEFAULT_COIN_TICKERS, **ld.DEFAULT_MARKET_TICKERS}
        mapping = {k: v for k, v in defaults.items() if v in present}
    if panel_closes is not None:
        mapping = {k: v for k, v in mapping.items() if k in MARKETS}
    returns = ld.combine_vintages(*(ld.yfinance_monthly_returns(f, mapping) for f in frames))
    markets = returns[[c for c in MARKETS if c in returns.columns]]
    if panel_closes is not None:
        coins = panel_monthly_returns(panel_closes, panel_symbols)
    else:
        coins = returns[[c for c in returns.columns if c not in MARKETS]]
    if markets.shape[1] == 0 or coins.shape[1] == 0:
        raise ValueError(f"need at least one coin and one of {MARKETS}; mapping {mapping}"
                         + ("; coins from daily_panel" if panel_closes is not None else ""))
    ff5, ff_source = None, None
    if ff5_csv and ff5_csv.strip().lower() == "linearmodels":
        ff5, ff_source = ld.load_french_shipped()[[*FF5_COLUMNS, FF_RF]], "linearmodels_french"
    elif ff5_csv:
        ff5 = ld.french_monthly_vintages(*_paths(ff5_csv))
        ff5, ff_source = ff5[[c for c in (*FF5_COLUMNS, FF_RF) if c in ff5.columns]], "french_csv"
    return coins, markets, ff5, "yfinance_csv", ff_source


def compute_cross_asset(write_start: dt.date, end: dt.date, seed: int, prices_csv: str | None = None,
                        tickers: str | None = None, ff5_csv: str | None = None,
                        panel_closes: pd.DataFrame | None = None, panel_symbols: str | None = None,
                        scenario: str = "hidden_regime") -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Rows of ``cross_asset_monthly`` and ``cross_asset_truth`` for months ``[write_start, end)``.

    Simulated (no ``prices_csv``): the fixed 2015-01..2040-12 draw of ``simulate_cross_asset`` for ``seed``
    (12 coins, the ``scenario``'s DGP), sliced; the truth holds its planted structural and univariate betas and regime.
    Real: :func:`load_real_cross_asset`; with ``panel_closes`` (``daily_panel`` rows) the coin rows carry
    ``source = 'daily_panel'`` and the source label is ``daily_panel+yfinance_csv``.
    """
    lo, hi = pd.Timestamp(write_start), pd.Timestamp(end)
    if panel_closes is not None and not prices_csv:
        raise ValueError("coins from daily_panel need a markets CSV (prices_csv / CRYPTOFACTOR_CROSS_ASSET_CSV: "
                         "a yfinance download CSV, e.g. from `cryptofactor fetch-cross-asset --markets-only`)")
    if prices_csv:
        coins, markets, ff5, source, ff_source = load_real_cross_asset(prices_csv, tickers, ff5_csv,
                                                                       panel_closes, panel_symbols)
        coin_source = "daily_panel" if panel_closes is not None else source
        sl = slice(lo, hi - pd.Timedelta(days=1))
        parts = [long_returns(coins.loc[sl], "coin", "log", coin_source, None),
                 long_returns(markets.loc[sl], "market", "log", source, None)]
        if panel_closes is not None:
            source = f"{coin_source}+{source}"
        if ff5 is not None:
            parts.append(long_returns(ff5.loc[sl], "factor", "simple", ff_source, None))
        return pd.concat(parts, ignore_index=True), pd.DataFrame(columns=TRUTH_COLUMNS), source
    sim = simulation(seed, scenario)
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
