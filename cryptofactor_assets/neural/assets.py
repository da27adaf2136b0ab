"""Cross-asset and neural betas (issue 7): coins against fiat, equity, gold, energy and Fama-French factors.

Assets (group ``neural``):

* ``cross_asset_monthly`` (monthly): monthly log returns of coins and of the four asset classes, plus the
  Fama-French five factors (rows with ``asset_class = 'factor'``); planted betas in ``cross_asset_truth``.
* ``neural_betas`` (monthly): ex-ante MLP conditional betas per coin and market (and the joint
  FIAT+EQUITY+GOLD+ENERGY model) and the rolling-OLS baseline, from data before the month.
* ``beta_quartile_portfolios`` (monthly): quartile sorts on the betas for the holding month.
* ``neural_beta_grid`` (unpartitioned): grid search on validation RMSE, learning curves.
* ``neural_beta_stats`` (unpartitioned): beta distributions, annual means, forecast comparison with and
  without FF5.

Monthly partitions (``month_start`` = first day of the month): the data are monthly and the estimators
are monthly; a partition is a calendar month. The numerics live in the pure modules of this package
(``simulation``, ``neural_beta``, ``baseline``, ``grid``, ``stats``, ``portfolios``, ``loaders``); the
``compute_*`` functions here only reshape DuckDB rows into their inputs and their outputs into rows.

History: the estimators train on every stored month since the history start, so
``cross_asset_monthly`` (re)writes the months ``[min(history_start, window start), window end)`` on each
run. Its series are a fixed calendar (the simulation is drawn once for 2015-01..2040-12 and sliced; a
real file gives the same months whatever range is requested), so re-writing earlier months is
idempotent, and a demo over 2023-2024 carries its 2015-2022 training history.
"""

import datetime as dt
import functools
import os
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.common import POOL, SINGLE_RUN, connect, lean_metadata, md, window_dates
from cryptofactor_assets.neural import checks
from cryptofactor_assets.neural import loaders as ld
from cryptofactor_assets.neural.baseline import BetaPanel, rolling_ols_betas
from cryptofactor_assets.neural.grid import (
    DEFAULT_HIDDEN,
    DEFAULT_LEARNING_RATES,
    MIN_TRAIN_MONTHS,
    config_grid,
    grid_search,
    learning_curve,
    learning_curves_png,
    min_split_months,
)
from cryptofactor_assets.neural.neural_beta import ACTIVATIONS, MLPConfig, refit_block
from cryptofactor_assets.neural.portfolios import beta_sorted_portfolios, portfolio_summary
from cryptofactor_assets.neural.simulation import FF5_COLUMNS, FF_RF, MARKETS, simulate_cross_asset
from cryptofactor_assets.neural.stats import annual_mean_betas, describe_betas, forecast_comparison
from cryptofactor_assets.partitions import monthly_partitions
from cryptofactor_assets.reporting.plots import line_plot_png, png_markdown
from cryptofactor_assets.storage.warehouse import ensure_table, frame_markdown, load_sql, replace_tables

CROSS_ASSET_MONTHLY = "cross_asset_monthly"
CROSS_ASSET_TRUTH = "cross_asset_truth"
NEURAL_BETAS = "neural_betas"
NEURAL_BETA_GRID = "neural_beta_grid"
NEURAL_BETA_LEARNING_CURVES = "neural_beta_learning_curves"
NEURAL_BETA_STATS = "neural_beta_stats"
NEURAL_BETA_ANNUAL = "neural_beta_annual"
NEURAL_BETA_FORECASTS = "neural_beta_forecasts"
BETA_QUARTILE_PORTFOLIOS = "beta_quartile_portfolios"
GROUP = "neural"
KINDS = {"duckdb", "python"}

#: Environment: real sources (documented in the README configuration table).
CROSS_ASSET_CSV_ENV = "CRYPTOFACTOR_CROSS_ASSET_CSV"  # yfinance download CSV(s), os.pathsep-separated
TICKERS_ENV = "CRYPTOFACTOR_CROSS_ASSET_TICKERS"  # "BTC=BTC-USD,ETH=ETH-USD,EQUITY=^GSPC,..."
FF5_CSV_ENV = "CRYPTOFACTOR_FF5_CSV"  # Ken French CSV(s) oldest vintage first, or "linearmodels"
SEED_ENV = "CRYPTOFACTOR_SIM_SEED"
#: Simulated calendar: drawn once over these months and sliced, so any range gives the same series.
SIM_START = "2015-01-01"
SIM_MONTHS = 312  # 2015-01 .. 2040-12
SIM_COINS = ("BTC", "ETH", "LTC", "BCH", "XRP", "ADA", "DOGE", "XLM", "LINK", "DOT", "TRX", "ETC")
DEFAULT_SEED = 20230101  # the market simulator's default seed (sources/simulated.py SimConfig.seed)
NEURAL = "neural_mlp"
OLS = "rolling_ols"
#: Minimum history a neural beta needs (look-back + min_train of the defaults), declared in the lineage.
NEURAL_LOOKBACK_MONTHS = 48
FAR_FUTURE = dt.date(2200, 1, 1)


# --------------------------------------------------------------------------------------------
# Helpers: reshaping
# --------------------------------------------------------------------------------------------
def _month(d) -> pd.Timestamp:
    return pd.Timestamp(d).to_period("M").to_timestamp()


def _dates(values) -> list[dt.date]:
    return [pd.Timestamp(v).date() for v in values]


def _monthly_index(first, last) -> pd.DatetimeIndex:
    return pd.date_range(_month(first), _month(last), freq="MS", name="month")


def _long_returns(wide: pd.DataFrame, asset_class: str, return_type: str, source: str,
                  seed: int | None) -> pd.DataFrame:
    """Month x series frame -> rows of ``cross_asset_monthly`` (NaN cells are gaps: no row)."""
    if wide is None or wide.empty:
        return pd.DataFrame(columns=["month_start", "series", "asset_class", "ret", "return_type", "source",
                                     "seed"])
    s = wide.stack().dropna()
    s.index.names = ["month", "series"]
    out = s.rename("ret").reset_index()
    return pd.DataFrame({"month_start": _dates(out["month"]), "series": out["series"].astype(str),
                         "asset_class": asset_class, "ret": out["ret"].astype(float),
                         "return_type": return_type, "source": source,
                         "seed": pd.array([seed] * len(out), dtype="Int64")})


def _wide_history(rows: pd.DataFrame, first=None, last=None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rows of ``cross_asset_monthly`` -> (coins, markets, factors), month x series on one full monthly
    index (missing months are NaN rows, so positions are calendar months)."""
    if rows.empty:
        empty = pd.DataFrame(index=pd.DatetimeIndex([], name="month"))
        return empty, empty, empty
    rows = rows.assign(month=pd.to_datetime(rows["month_start"]))
    idx = _monthly_index(first if first is not None else rows["month"].min(),
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


# --------------------------------------------------------------------------------------------
# cross_asset_monthly
# --------------------------------------------------------------------------------------------
class CrossAssetConfig(dg.Config):
    history_start: str = SIM_START  # months from here to the window end are (re)written: training history
    seed: int | None = None  # simulation seed; None: env CRYPTOFACTOR_SIM_SEED, else 20230101
    prices_csv: str | None = None  # yfinance CSV path(s); None: env CRYPTOFACTOR_CROSS_ASSET_CSV; unset: simulate
    tickers: str | None = None  # "BTC=BTC-USD,...,EQUITY=^GSPC"; None: env CRYPTOFACTOR_CROSS_ASSET_TICKERS
    ff5_csv: str | None = None  # French CSV path(s) or "linearmodels"; None: env CRYPTOFACTOR_FF5_CSV


@functools.lru_cache(maxsize=4)
def _simulation(seed: int):
    return simulate_cross_asset(n_months=SIM_MONTHS, coins=SIM_COINS, seed=seed, start=SIM_START)


def _parse_tickers(text: str) -> dict[str, str]:
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
        mapping = _parse_tickers(tickers)
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
        parts = [_long_returns(coins.loc[sl], "coin", "log", source, None),
                 _long_returns(markets.loc[sl], "market", "log", source, None)]
        if ff5 is not None:
            parts.append(_long_returns(ff5.loc[sl], "factor", "simple", ff_source, None))
        truth = pd.DataFrame(columns=["month_start", "coin", "market", "beta", "univariate_beta", "regime",
                                      "seed"])
        return pd.concat(parts, ignore_index=True), truth, source
    sim = _simulation(seed)
    months = sim.coin_returns.index
    if hi > months[-1] + pd.offsets.MonthBegin(1):
        raise ValueError(f"the simulated calendar ends {months[-1].date()}; requested up to {end}")
    keep = (months >= lo) & (months < hi)
    sl = months[keep]
    parts = [_long_returns(sim.coin_returns.loc[sl], "coin", "log", "simulated", seed),
             _long_returns(sim.market_returns.loc[sl], "market", "log", "simulated", seed),
             _long_returns(sim.ff5.loc[sl], "factor", "simple", "simulated", seed)]
    t_idx = np.flatnonzero(keep)
    n_t, n_c, n_m = len(t_idx), len(sim.coins), len(sim.markets)
    truth = pd.DataFrame({
        "month_start": np.repeat(_dates(sl), n_c * n_m),
        "coin": np.tile(np.repeat(sim.coins, n_m), n_t),
        "market": np.tile(sim.markets, n_t * n_c),
        "beta": sim.betas[t_idx].reshape(-1),
        "univariate_beta": sim.univariate_betas[t_idx].reshape(-1),
        "regime": np.repeat(sim.regimes.to_numpy()[t_idx], n_c * n_m).astype(int),
        "seed": seed,
    })
    return pd.concat(parts, ignore_index=True), truth, "simulated"


def _resolve(value: str | None, env: str) -> str | None:
    return value if value is not None else (os.environ.get(env) or None)


@dg.asset(
    name=CROSS_ASSET_MONTHLY,
    partitions_def=monthly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    check_specs=checks.cross_asset_specs(CROSS_ASSET_MONTHLY),
)
def cross_asset_monthly(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: CrossAssetConfig):
    """Monthly returns of coins, of FIAT (dollar index), EQUITY, GOLD, ENERGY, and the Fama-French five factors.

    One row per (month_start, series). Coins and markets: monthly log returns from the last price of each
    calendar month, `log(P_m / P_{m-1})` (a month without a price is a gap: no row for it nor the next
    month). Factors (`asset_class = 'factor'`: Mkt-RF, SMB, HML, RMW, CMA, RF): decimal simple returns
    (Fama & French 2015, JFE 116(1)). Default source: the deterministic simulation with planted,
    regime-switching betas (`neural/simulation.py`; seed from env CRYPTOFACTOR_SIM_SEED), whose betas go
    to `cross_asset_truth`. Real: env CRYPTOFACTOR_CROSS_ASSET_CSV (yfinance download CSV, tickers from
    CRYPTOFACTOR_CROSS_ASSET_TICKERS) and CRYPTOFACTOR_FF5_CSV (Ken French CSV, or `linearmodels`).
    Each run writes `[min(history_start, start), end)`: the training history of the neural betas.
    """
    start, end = window_dates(context)
    write_start = min(start, dt.date.fromisoformat(config.history_start))
    seed = config.seed if config.seed is not None else int(os.environ.get(SEED_ENV) or DEFAULT_SEED)
    prices_csv = _resolve(config.prices_csv, CROSS_ASSET_CSV_ENV)
    returns, truth, source = compute_cross_asset(
        write_start, end, seed, prices_csv, _resolve(config.tickers, TICKERS_ENV),
        _resolve(config.ff5_csv, FF5_CSV_ENV))
    with connect(duckdb) as con:
        written = replace_tables(con, [(CROSS_ASSET_MONTHLY, returns), (CROSS_ASSET_TRUTH, truth)],
                                 (write_start, end), "month_start")
        summary = con.execute(
            "SELECT asset_class, series, count(*) AS months, avg(ret) AS mean, stddev_samp(ret) AS std, "
            "min(month_start) AS first, max(month_start) AS last FROM cross_asset_monthly "
            "WHERE month_start >= ? AND month_start < ? GROUP BY ALL ORDER BY asset_class, series",
            [start, end]).df()
        results = checks.cross_asset_results(con, CROSS_ASSET_MONTHLY, CROSS_ASSET_TRUTH, write_start, end)
    meta = {
        "dagster/row_count": written[CROSS_ASSET_MONTHLY].inserted,
        "truth_rows": written[CROSS_ASSET_TRUTH].inserted,
        "source": source,
        "seed": seed if source == "simulated" else "n/a",
        "months_written": f"{write_start} .. {end} (exclusive; history from {config.history_start})",
        "summary (partition window)": md(frame_markdown(summary)),
    }
    if not written[CROSS_ASSET_MONTHLY].inserted:
        meta["note"] = (f"the {source} series hold no month in {write_start} .. {end} (exclusive)"
                        + (f"; the simulated calendar starts {SIM_START}" if source == "simulated" else "")
                        + ": empty result")
    if len(truth):
        t = truth.assign(month=pd.to_datetime(truth["month_start"]))
        t = t[(t["month"] >= pd.Timestamp(start)) & (t["month"] < pd.Timestamp(end))]
        if len(t):
            path = t.pivot_table(index="month", columns="market", values="univariate_beta", aggfunc="mean")
            meta["planted_univariate_betas"] = md(png_markdown(line_plot_png(
                path, "Planted univariate betas (mean over coins)", "beta"), "planted betas"))
    yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
    yield from results


# --------------------------------------------------------------------------------------------
# neural_betas
# --------------------------------------------------------------------------------------------
class NeuralBetasConfig(dg.Config):
    lookback: int = 12  # months in the MLP's look-back window (and the OLS window below)
    min_train: int = 36  # minimum training months per coin before a beta is produced
    refit_every: int = 6  # months between refits, anchored on the calendar (6: January and July)
    hidden: int = 8
    learning_rate: float = 0.01
    activation: str = "tanh"
    l2: float = 0.01
    max_iter: int = 150
    n_backfit: int = 2
    random_state: int = 0
    pooled: bool = True  # one network shared by all coins (each coin standardised by its own statistics)
    joint: bool = True  # also the joint FIAT+EQUITY+GOLD+ENERGY model
    ols_window: int = 12
    ols_min_obs: int = 12


def refit_month(month: pd.Timestamp, refit_every: int) -> pd.Timestamp:
    """Latest month ``<= month`` whose absolute month number ``12 y + (m - 1)`` is a multiple of
    ``refit_every``: the refit schedule depends on the calendar only, never on the requested range."""
    n = month.year * 12 + month.month - 1
    n0 = n - n % refit_every
    return pd.Timestamp(year=n0 // 12, month=n0 % 12 + 1, day=1)


def compute_neural_betas(
    coins: pd.DataFrame, markets: pd.DataFrame, targets: pd.DatetimeIndex, cfg: MLPConfig,
    lookback: int = 12, min_train: int = 36, refit_every: int = 6, n_backfit: int = 2, pooled: bool = True,
    joint: bool = True, ols_window: int = 12, ols_min_obs: int = 12, progress=None,
) -> pd.DataFrame:
    """Rows of ``neural_betas`` for the ``targets`` months (``progress(done, total)``, optional: called
    before each refit month with the months of the earlier ones done, and at the end).

    ``coins`` / ``markets``: month x series log returns on a full monthly index starting at the history
    start. The beta for month ``m`` comes from the network trained at ``t0 = refit_month(m)`` on targets
    ``< t0`` (windows ending before them) and applied to the window ``m-12 .. m-1``; exactly the walk-forward
    of ``neural_beta.walk_forward_neural_betas(refit_every=k)`` when its first refit falls on the calendar
    grid (tested). Arrays are sliced before month ``m`` (``refit_block`` sees rows ``< max(targets)``).
    Rolling OLS (``baseline.rolling_ols_betas``, ex ante: months ``m-w .. m-1``) for the same months.
    """
    mk = [m for m in MARKETS if m in markets.columns and markets[m].notna().any()]
    cols = ["month_start", "coin", "market", "model", "method", "beta", "alpha", "window_months", "min_obs",
            "refit_month", "refit_every", "train_start", "hidden", "learning_rate", "activation", "l2",
            "max_iter", "n_backfit", "random_state", "pooled"]
    if coins.empty or not mk or len(targets) == 0:
        return pd.DataFrame(columns=cols)
    idx = coins.index
    r = coins.to_numpy(float)
    f = markets.reindex(idx)[mk].to_numpy(float)
    n_c, n_m = r.shape[1], len(mk)
    pos = {m: i for i, m in enumerate(idx)}
    t_pos = np.array([pos[m] for m in targets])
    nn = np.full((len(targets), n_c, n_m), np.nan)
    nn_a = np.full((len(targets), n_c, n_m), np.nan)
    nj = np.full_like(nn, np.nan)
    nj_a = np.full((len(targets), n_c), np.nan)
    refits = pd.DatetimeIndex([refit_month(m, refit_every) for m in targets])
    groups = [[k] for k in range(n_m)]
    for anchor in refits.unique():
        sel = np.flatnonzero(refits == anchor)
        t0 = int((anchor.year - idx[0].year) * 12 + anchor.month - idx[0].month)  # may be < 0
        if progress is not None:  # months of the refit months before this one
            progress(int((refits < anchor).sum()), len(targets))
        if t0 < lookback + min_train:
            continue  # not enough history at the refit month: no beta (NaN)
        tg = list(t_pos[sel])
        end = max(tg)  # rows < end only: the window of the last target ends at end - 1
        for grp in groups:
            b, a = refit_block(r[:end], f[:end, grp], t0, tg, lookback, min_train, cfg, n_backfit, pooled)
            nn[sel, :, grp[0]], nn_a[sel, :, grp[0]] = b[:, :, 0], a
        if joint:
            b, a = refit_block(r[:end], f[:end], t0, tg, lookback, min_train, cfg, n_backfit, pooled)
            nj[sel], nj_a[sel] = b, a
    if progress is not None:
        progress(len(targets), len(targets))
    ols = rolling_ols_betas(coins, markets, markets=mk, window=ols_window, min_obs=ols_min_obs)
    olj = rolling_ols_betas(coins, markets, markets=mk, window=ols_window, min_obs=ols_min_obs, joint=True)

    def rows(betas, alphas, model: str, method: str) -> pd.DataFrame:
        shape = betas.shape
        a = alphas if alphas.ndim == 3 else np.broadcast_to(alphas[:, :, None], shape)
        out = pd.DataFrame({
            "month_start": np.repeat(_dates(targets), shape[1] * shape[2]),
            "coin": np.tile(np.repeat(np.array(coins.columns, dtype=object), shape[2]), shape[0]),
            "market": np.tile(np.array(mk, dtype=object), shape[0] * shape[1]),
            "beta": betas.reshape(-1), "alpha": a.reshape(-1),
            "refit_month": np.repeat(_dates(refits), shape[1] * shape[2]),
        })
        out = out[np.isfinite(out["beta"])]
        out.insert(3, "model", model)
        out.insert(4, "method", method)
        if method == NEURAL:
            out = out.assign(window_months=lookback, min_obs=min_train, refit_every=refit_every,
                             hidden=cfg.hidden, learning_rate=cfg.learning_rate, activation=cfg.activation,
                             l2=cfg.l2, max_iter=cfg.max_iter, n_backfit=n_backfit,
                             random_state=cfg.random_state, pooled=pooled)
        else:
            out = out.assign(window_months=ols_window, min_obs=ols_min_obs, refit_month=None,
                             refit_every=None, hidden=None, learning_rate=None, activation=None, l2=None,
                             max_iter=None, n_backfit=None, random_state=None, pooled=None)
        return out

    parts = [rows(nn, nn_a, "single", NEURAL)]
    if joint:
        parts.append(rows(nj, nj_a, "joint", NEURAL))
    parts.append(rows(ols.betas[t_pos], ols.alphas[t_pos], "single", OLS))
    parts.append(rows(olj.betas[t_pos], olj.alphas[t_pos][:, :, 0], "joint", OLS))
    out = pd.concat(parts, ignore_index=True)
    out["train_start"] = idx[0].date()
    for c in ("refit_every", "hidden", "max_iter", "n_backfit", "random_state"):
        out[c] = pd.array(out[c], dtype="Int64")
    return out[cols]


@dg.asset(
    name=NEURAL_BETAS,
    partitions_def=monthly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[dg.AssetDep(CROSS_ASSET_MONTHLY, partition_mapping=dg.TimeWindowPartitionMapping(
        start_offset=-NEURAL_LOOKBACK_MONTHS, end_offset=-1, allow_nonexistent_upstream_partitions=True))],
    check_specs=checks.neural_betas_specs(NEURAL_BETAS),
)
def neural_betas(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: NeuralBetasConfig):
    """Ex-ante betas of every coin to FIAT, EQUITY, GOLD, ENERGY for month m, from data of months < m only.

    `method = neural_mlp`: r_t = a + beta_t f_t + e_t with beta_t = g(x_{t-1}), g a one-hidden-layer
    scikit-learn MLPRegressor on features of the 12-month look-back (window second moments of coin and
    market returns over 3/6/12 months), fitted exactly as a regression of r_t / f_t with weights f_t^2
    (conditional-beta model of Gu, Kelly & Xiu 2021, J. Econometrics 222(1)); `model = joint`: all four
    markets at once, fitted by backfitting. Walk-forward: retrained every `refit_every` months on the
    calendar grid (January/July by default) on every stored month before the refit month.
    `method = rolling_ols`: OLS of r on f (single) or on all four (joint) over months m-12..m-1.
    Parameters are columns of the table. Lineage declares the minimum 48-month history (months < m).
    """
    start, end = window_dates(context)
    with connect(duckdb) as con:
        ensure_table(con, CROSS_ASSET_MONTHLY)
        hist = con.execute(load_sql("select_cross_asset_history"), {"end": end}).df()
        targets = _monthly_index(start, pd.Timestamp(end) - pd.offsets.MonthBegin(1))
        first = hist["month_start"].min() if len(hist) else start
        coins, markets, _ = _wide_history(hist, min(pd.Timestamp(first), targets[0]), targets[-1])
        cfg = MLPConfig(hidden=config.hidden, learning_rate=config.learning_rate, activation=config.activation,
                        l2=config.l2, max_iter=config.max_iter, random_state=config.random_state)
        from cryptofactor_assets.progress import Progress

        progress = Progress(f"{NEURAL_BETAS} {targets[0]:%Y-%m}..{targets[-1]:%Y-%m}", len(targets),
                            unit="months", log=context.log.info)
        frame = compute_neural_betas(
            coins, markets, targets, cfg, config.lookback, config.min_train, config.refit_every,
            config.n_backfit, config.pooled, config.joint, config.ols_window, config.ols_min_obs, progress)
        progress.finish()
        written = replace_tables(con, [(NEURAL_BETAS, frame)], (start, end), "month_start")
        summary = con.execute(
            "SELECT method, model, market, count(*) AS n, count(DISTINCT month_start) AS months, "
            "avg(beta) AS mean_beta, stddev_samp(beta) AS std_beta FROM neural_betas "
            "WHERE month_start >= ? AND month_start < ? GROUP BY ALL ORDER BY ALL", [start, end]).df()
        truth = con.execute(
            "SELECT month_start, market, avg(univariate_beta) AS planted FROM cross_asset_truth "
            "WHERE month_start >= ? AND month_start < ? AND market = 'EQUITY' GROUP BY ALL",
            [start, end]).df() if _has_table(con, CROSS_ASSET_TRUTH) else pd.DataFrame()
        note = None
        if not written[NEURAL_BETAS].inserted:  # no month of the window has the history either method needs
            held = int(coins.notna().any(axis=1).sum()) if len(coins) else 0
            note = (f"needs months of cross_asset_monthly before each month: >= {config.lookback} + "
                    f"{config.min_train} before the refit month for a neural beta, >= {config.ols_min_obs} "
                    f"for rolling OLS; the history before {end} holds {held} months")
        results = checks.neural_betas_results(con, NEURAL_BETAS, start, end, not_applicable=note)
    params = pd.DataFrame([{k: v for k, v in config.model_dump().items()}])
    meta = {
        "dagster/row_count": written[NEURAL_BETAS].inserted,
        "rows_replaced": written[NEURAL_BETAS].deleted,
        "parameters": md(frame_markdown(params)),
        "history": f"{coins.index[0].date() if len(coins) else 'none'} .. months before {end}",
        "summary": md(frame_markdown(summary)),
    }
    if note:
        meta["note"] = f"{note}: empty result"
    single = frame[(frame["model"] == "single") & (frame["market"] == "EQUITY")]
    if len(single):
        path = single.pivot_table(index="month_start", columns="method", values="beta", aggfunc="mean")
        if len(truth):
            path = path.join(truth.set_index("month_start")["planted"].rename("planted (univariate)"))
        path.index = pd.to_datetime(path.index)
        meta["equity_beta_path"] = md(png_markdown(line_plot_png(
            path.sort_index(), "Ex-ante beta to EQUITY (mean over coins)", "beta"), "EQUITY betas"))
    yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
    yield from results


def _has_table(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchone()[0])


# --------------------------------------------------------------------------------------------
# beta_quartile_portfolios
# --------------------------------------------------------------------------------------------
class QuartileConfig(dg.Config):
    n_groups: int = 4
    min_coins: int = 4  # months with fewer coins having both a beta and a return are skipped


def compute_beta_quartiles(betas: pd.DataFrame, coins: pd.DataFrame, factors: pd.DataFrame,
                           n_groups: int = 4, min_coins: int = 4) -> pd.DataFrame:
    """Rows of ``beta_quartile_portfolios``: per (method, model, market) and holding month m, coins sorted
    on their beta for m (``portfolios.beta_sorted_portfolios``) with their excess return of month m,
    ``expm1(log return) - RF`` (RF of the factor rows; 0 where absent, flagged in ``rf_source``)."""
    cols = ["month_start", "method", "model", "market", "quartile", "n_coins", "mean_beta",
            "mean_excess_return", "rf_source", "n_groups", "min_coins"]
    if betas.empty or coins.empty:
        return pd.DataFrame(columns=cols)
    rf = factors[FF_RF] if FF_RF in factors.columns else pd.Series(np.nan, index=coins.index)
    rf = rf.reindex(coins.index)
    excess = np.expm1(coins).sub(rf.fillna(0.0), axis=0)
    b = betas.assign(month=pd.to_datetime(betas["month_start"]))
    parts = []
    for (method, model, market), g in b.groupby(["method", "model", "market"], sort=True):
        wide = g.pivot_table(index="month", columns="coin", values="beta", aggfunc="first")
        out = beta_sorted_portfolios(wide, excess, n_groups=n_groups, min_coins=min_coins)
        if out.empty:
            continue
        parts.append(pd.DataFrame({
            "month_start": _dates(out["month"]), "method": method, "model": model, "market": market,
            "quartile": out["group"].astype(int), "n_coins": out["n_coins"].astype(int),
            "mean_beta": out["mean_beta"], "mean_excess_return": out["mean_excess_return"],
            "rf_source": np.where(rf.reindex(out["month"]).notna().to_numpy(), "ff5", "zero"),
            "n_groups": n_groups, "min_coins": min_coins}))
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


@dg.asset(
    name=BETA_QUARTILE_PORTFOLIOS,
    partitions_def=monthly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[dg.AssetDep(NEURAL_BETAS), dg.AssetDep(CROSS_ASSET_MONTHLY)],
    check_specs=checks.quartile_specs(BETA_QUARTILE_PORTFOLIOS),
)
def beta_quartile_portfolios(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: QuartileConfig):
    """Quartiles of coins sorted on their ex-ante beta: partition = holding month m.

    Formed at the end of m-1 on the betas for m (`neural_betas`, data up to m-1), held over m: per
    quartile the equal-weighted mean beta and mean excess return of month m (simple return minus RF of
    the Fama-French file). Groups by rank, group = floor(rank Q / n) (sizes differ by at most one).
    One sort per method (neural_mlp, and rolling_ols for comparison), model and market.
    """
    start, end = window_dates(context)
    with connect(duckdb) as con:
        ensure_table(con, NEURAL_BETAS)
        ensure_table(con, CROSS_ASSET_MONTHLY)
        betas = con.execute(load_sql("select_neural_betas_window"), {"start": start, "end": end}).df()
        hist = con.execute(load_sql("select_cross_asset_history"), {"end": end}).df()
        hist = hist[pd.to_datetime(hist["month_start"]) >= pd.Timestamp(start)]
        last = pd.Timestamp(end) - pd.offsets.MonthBegin(1)
        coins, _, factors = _wide_history(hist, start, last)
        frame = compute_beta_quartiles(betas, coins, factors, config.n_groups, config.min_coins)
        written = replace_tables(con, [(BETA_QUARTILE_PORTFOLIOS, frame)], (start, end), "month_start")
        results = checks.quartile_results(con, BETA_QUARTILE_PORTFOLIOS, start, end)
    meta = {"dagster/row_count": written[BETA_QUARTILE_PORTFOLIOS].inserted,
            "parameters": md(frame_markdown(pd.DataFrame([config.model_dump()])))}
    if not written[BETA_QUARTILE_PORTFOLIOS].inserted:
        meta["note"] = (f"needs, in a month, ex-ante betas and that month's return for >= {config.min_coins} "
                        f"coins; neural_betas holds {len(betas)} rows in {start} .. {end} (exclusive): empty result")
    neural = frame[(frame["method"] == NEURAL) & (frame["model"] == "single")]
    if len(neural):
        tables = []
        for market, g in neural.groupby("market"):
            s = portfolio_summary(g.rename(columns={"quartile": "group", "month_start": "month"}))
            tables.append(s.reset_index().rename(columns={"group": "quartile"}).assign(market=market))
        summary = pd.concat(tables)[["market", "quartile", "months", "mean_beta", "mean_excess_return"]]
        meta["neural_single_summary (window means; H-L = top minus bottom)"] = md(frame_markdown(summary))
    yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
    yield from results


# --------------------------------------------------------------------------------------------
# neural_beta_grid
# --------------------------------------------------------------------------------------------
class NeuralGridConfig(dg.Config):
    full_grid: bool = False  # the 36 configurations (hidden 4/8/16 x lr 0.001/0.01/0.1 x 4 activations)
    hidden: list[int] = [4, 8]  # used when full_grid is False (the reduced demo grid)
    learning_rates: list[float] = [0.01]
    activations: list[str] = ["identity", "tanh"]
    lookback: int = 12
    val_fraction: float = 0.3  # the last 30 % of the months validate
    n_backfit: int = 2
    l2: float = 0.01
    max_iter: int = 150
    random_state: int = 0
    epochs: int = 60  # learning-curve epochs of each market's best configuration


def compute_grid(coins: pd.DataFrame, markets: pd.DataFrame, grid: list[MLPConfig], lookback: int = 12,
                 val_fraction: float = 0.3, n_backfit: int = 2, epochs: int = 60, progress=None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, bytes]:
    """Rows of ``neural_beta_grid`` and ``neural_beta_learning_curves``, and the curves as PNG bytes
    (``grid.grid_search`` with a time-ordered split; curves of each market's best configuration)."""
    mk = [m for m in MARKETS if m in markets.columns and markets[m].notna().any()]
    res = grid_search(coins, markets[mk], markets=mk, grid=grid, lookback=lookback,
                      val_fraction=val_fraction, n_backfit=n_backfit, progress=progress)
    table = res.table.copy()
    table["order"] = np.tile(np.arange(len(grid)), len(table) // len(grid))
    table["rank"] = (table.sort_values(["market", "val_rmse", "order"]).groupby("market").cumcount() + 1)
    best = {m: (c.hidden, c.learning_rate, c.activation) for m, c in res.best.items()}
    table["is_best"] = [best[m] == (h, lr, a) for m, h, lr, a in
                        table[["market", "hidden", "learning_rate", "activation"]].itertuples(index=False)]
    table = table.assign(l2=grid[0].l2, max_iter=grid[0].max_iter, lookback=lookback, val_fraction=val_fraction,
                         first_month=coins.index[0].date(), last_month=coins.index[-1].date(),
                         n_coins=coins.shape[1]).drop(columns="order")
    curves = [learning_curve(coins, markets[mk], m, c, epochs=epochs, lookback=lookback,
                             val_fraction=val_fraction) for m, c in res.best.items()]
    rows = pd.concat([pd.DataFrame({"market": c.market, "epoch": np.arange(1, len(c.train_loss) + 1),
                                    "train_loss": c.train_loss, "val_rmse": c.val_rmse,
                                    "hidden": c.config.hidden, "learning_rate": c.config.learning_rate,
                                    "activation": c.config.activation}) for c in curves], ignore_index=True)
    return table, rows, learning_curves_png(curves)


def _grid_lacks(coins: pd.DataFrame, markets: pd.DataFrame, lookback: int, val_fraction: float) -> str | None:
    """Why the stored history cannot feed the grid search (None when it can)."""
    if coins.empty:
        return ("cross_asset_monthly holds no months (the monthly job runs over whole calendar months "
                "of the range only)")
    if not any(m in markets.columns and markets[m].notna().any() for m in MARKETS):
        return f"cross_asset_monthly has no market series ({', '.join(MARKETS)})"
    need = min_split_months(lookback, val_fraction)
    if len(coins) < need:
        return (f"needs >= {need} months of cross_asset_monthly (look-back {lookback}, "
                f"{MIN_TRAIN_MONTHS} training months, validation {val_fraction:.0%}); the history holds "
                f"{len(coins)}")
    return None


@dg.asset(
    name=NEURAL_BETA_GRID,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[CROSS_ASSET_MONTHLY],
    check_specs=checks.grid_specs(NEURAL_BETA_GRID),
)
def neural_beta_grid(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: NeuralGridConfig):
    """Grid search of the neural-beta MLP per market (FIAT, EQUITY, GOLD, ENERGY, JOINT) on validation RMSE.

    Pooled network on every stored month of `cross_asset_monthly`; the first 70 % of the months train
    (standardised with their own statistics), the last 30 % validate; score = RMSE of the return forecast
    a + sum_k beta_k(x_{t-1}) f_{k,t} (log return per month). Default: a reduced grid (hidden 4/8,
    identity/tanh, learning rate 0.01) to keep the demo fast; `full_grid: true` runs the 36 configurations
    (hidden 4/8/16 x learning rate 0.001/0.01/0.1 x identity/logistic/tanh/relu). Learning curves
    (train loss and validation RMSE per epoch, `partial_fit`) of each market's best configuration are in
    `neural_beta_learning_curves` and the metadata. A model-selection study: `neural_betas` uses its own
    configured network, not these winners (the grid's validation months would be look-ahead there).
    """
    base = MLPConfig(l2=config.l2, max_iter=config.max_iter, random_state=config.random_state)
    if config.full_grid:
        grid = config_grid(DEFAULT_HIDDEN, DEFAULT_LEARNING_RATES, ACTIVATIONS, base)
    else:
        grid = config_grid(config.hidden, config.learning_rates, config.activations, base)
    with connect(duckdb) as con:
        ensure_table(con, CROSS_ASSET_MONTHLY)
        hist = con.execute(load_sql("select_cross_asset_history"), {"end": FAR_FUTURE}).df()
        coins, markets, _ = _wide_history(hist)
        lacking = _grid_lacks(coins, markets, config.lookback, config.val_fraction)
        if lacking:  # too little history (or none: no whole month in the ranges run): empty tables
            written = replace_tables(con, [(NEURAL_BETA_GRID, pd.DataFrame()),
                                           (NEURAL_BETA_LEARNING_CURVES, pd.DataFrame())])
            results = checks.grid_results(con, NEURAL_BETA_GRID)
            yield dg.MaterializeResult(metadata={"dagster/row_count": 0, "configurations": len(grid),
                                                 "note": f"{lacking}: empty table"})
            yield from results
            return
        from cryptofactor_assets.progress import Progress

        progress = Progress(NEURAL_BETA_GRID, unit="configurations", log=context.log.info)
        table, curves, png = compute_grid(coins, markets, grid, config.lookback, config.val_fraction,
                                          config.n_backfit, config.epochs, progress)
        progress.finish("plus the learning curves of each market's best configuration")
        written = replace_tables(con, [(NEURAL_BETA_GRID, table), (NEURAL_BETA_LEARNING_CURVES, curves)])
        results = checks.grid_results(con, NEURAL_BETA_GRID)
    best = table[table["is_best"]][["market", "hidden", "learning_rate", "activation", "val_rmse",
                                    "train_rmse_std"]]
    top = table[table["rank"] <= 3].sort_values(["market", "rank"])[
        ["market", "rank", "hidden", "learning_rate", "activation", "val_rmse"]]
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": written[NEURAL_BETA_GRID].inserted,
        "configurations": len(grid),
        "sample": f"{coins.index[0].date()} .. {coins.index[-1].date()}, {coins.shape[1]} coins, "
                  f"validation = last {config.val_fraction:.0%}",
        "best_configuration": md(frame_markdown(best.reset_index(drop=True))),
        "top_3_per_market": md(frame_markdown(top.reset_index(drop=True))),
        "learning_curves": md(png_markdown(png, "learning curves")),
    })
    yield from results


# --------------------------------------------------------------------------------------------
# neural_beta_stats
# --------------------------------------------------------------------------------------------
class NeuralStatsConfig(dg.Config):
    ff_window: int = 12  # months of the rolling FF5 regression of forecast residuals (demo: 24 months stored)


def _panels(betas: pd.DataFrame, months: pd.DatetimeIndex) -> dict[tuple[str, str], BetaPanel]:
    """Stored rows -> one ``BetaPanel`` per (method, model) on ``months`` (NaN where not stored)."""
    out = {}
    b = betas.assign(month=pd.to_datetime(betas["month_start"]))
    coins = tuple(sorted(b["coin"].unique()))
    for (method, model), g in b.groupby(["method", "model"], sort=True):
        mk = tuple(m for m in MARKETS if m in set(g["market"]))
        cube = g.pivot_table(index="month", columns=["coin", "market"], values=["beta", "alpha"],
                             aggfunc="first")
        full = pd.MultiIndex.from_product([["beta", "alpha"], coins, mk])
        cube = cube.reindex(index=months, columns=full)
        t = len(months)
        beta = cube["beta"].to_numpy(float).reshape(t, len(coins), len(mk))
        alpha = cube["alpha"].to_numpy(float).reshape(t, len(coins), len(mk))
        joint = model == "joint"
        if joint:  # one intercept per coin-month, repeated on each market row: keep one copy
            alpha = np.nanmax(alpha, axis=2, keepdims=True, initial=-np.inf, where=np.isfinite(alpha))
            alpha[~np.isfinite(alpha)] = np.nan
        out[(method, model)] = BetaPanel(months=months, coins=coins, markets=mk, betas=beta, alphas=alpha,
                                         method=method, joint=joint, window=0)
    return out


def compute_stats(betas: pd.DataFrame, coins: pd.DataFrame, markets: pd.DataFrame, factors: pd.DataFrame,
                  truth: pd.DataFrame, ff_window: int = 12) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rows of ``neural_beta_stats``, ``neural_beta_annual`` and ``neural_beta_forecasts``.

    Months: every month between the first and last stored beta. ``stats.describe_betas`` /
    ``annual_mean_betas`` per (method, model); ``truth_rmse`` against ``cross_asset_truth`` (univariate
    planted beta for single-market models, structural for joint). ``stats.forecast_comparison``: neural vs
    rolling OLS on the same coin-months, without and with FF5 (residual loadings estimated ex ante over
    the previous ``ff_window`` months).
    """
    months = _monthly_index(betas["month_start"].min(), betas["month_start"].max())
    panels = _panels(betas, months)
    first, last = months[0].date(), months[-1].date()
    tr = None
    if len(truth):
        tr = truth.assign(month=pd.to_datetime(truth["month_start"]))
    stats, annual = [], []
    for (method, model), p in panels.items():
        d = describe_betas(p).reset_index()
        d = d.rename(columns={"N": "n_months", "mean": "mean_beta", "std": "std_beta", "min": "min_beta",
                              "max": "max_beta"}).drop(columns="method")
        d.insert(0, "model", model)
        d.insert(0, "method", method)
        d["truth_rmse"] = np.nan
        if tr is not None:
            est = p.long().merge(tr, on=["month", "coin", "market"], how="inner")
            target = est["beta_y"] if model == "joint" else est["univariate_beta"]
            err = (est["beta_x"] - target) ** 2
            rmse = np.sqrt(err.groupby([est["coin"], est["market"]]).mean())
            d["truth_rmse"] = [rmse.get((c, m), np.nan) for c, m in zip(d["coin"], d["market"], strict=True)]
        stats.append(d)
        a = annual_mean_betas(p).stack(["coin", "market"], future_stack=True).dropna()
        a = a.rename("mean_beta").reset_index()
        a.insert(0, "model", model)
        a.insert(0, "method", method)
        annual.append(a)
    stats_df = pd.concat(stats, ignore_index=True).assign(first_month=first, last_month=last)
    annual_df = pd.concat(annual, ignore_index=True)
    annual_df["year"] = annual_df["year"].astype(int)
    cr = coins.reindex(months)
    mr = markets.reindex(months)
    ff = factors.reindex(months) if set(FF5_COLUMNS) <= set(factors.columns) else None
    if ff is not None and ff[list(FF5_COLUMNS)].isna().all().any():
        ff = None  # e.g. the linearmodels subset (no RMW, CMA) or no factor rows for these months
    fc = []
    for model in ("single", "joint"):
        group = {method: p for (method, mdl), p in panels.items() if mdl == model}
        if len(group) < 1:
            continue
        c = forecast_comparison(cr.reindex(columns=list(next(iter(group.values())).coins)), mr, group,
                                ff5=ff, ff_window=ff_window)
        fc.append(c.rename(columns={"model": "method"}).assign(model=model))
    fc_df = pd.concat(fc, ignore_index=True).assign(ff_window=ff_window, first_month=first, last_month=last)
    fc_df = fc_df[["method", "model", "market", "ff5", "n", "rmse", "ff_window", "first_month", "last_month"]]
    return stats_df, annual_df, fc_df


@dg.asset(
    name=NEURAL_BETA_STATS,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[NEURAL_BETAS, CROSS_ASSET_MONTHLY],
    check_specs=checks.stats_specs(NEURAL_BETA_STATS),
)
def neural_beta_stats(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: NeuralStatsConfig):
    """Distribution of the stored ex-ante betas and what they are worth for forecasting.

    `neural_beta_stats`: per method (neural_mlp, rolling_ols), model (single, joint), coin and market:
    N, mean, std, skew (adjusted Fisher-Pearson), excess kurtosis, min, max, and the RMSE against the
    planted beta when the data are simulated. `neural_beta_annual`: calendar-year mean betas.
    `neural_beta_forecasts`: out-of-sample RMSE of a_t + beta_t' f_t (betas from data before t, realised
    market returns of t), neural vs rolling OLS on the same coin-months, without and with the
    Fama-French five factors (ex-ante rolling regression of the residual on FF5, `ff_window` months).
    """
    with connect(duckdb) as con:
        for t in (NEURAL_BETAS, CROSS_ASSET_MONTHLY, CROSS_ASSET_TRUTH):
            ensure_table(con, t)
        betas = con.execute(load_sql("select_neural_betas_window"),
                            {"start": dt.date(1900, 1, 1), "end": FAR_FUTURE}).df()
        if betas.empty:  # no month built (no whole month in the ranges run) or too short a history
            replace_tables(con, [(NEURAL_BETA_STATS, pd.DataFrame()), (NEURAL_BETA_ANNUAL, pd.DataFrame()),
                                 (NEURAL_BETA_FORECASTS, pd.DataFrame())])
            results = checks.stats_results(con, NEURAL_BETA_STATS)
            yield dg.MaterializeResult(metadata={
                "dagster/row_count": 0, "ff_window": config.ff_window,
                "note": "neural_betas holds no betas (the monthly job runs over whole calendar months of "
                        "the range only; a beta needs months of history before it): empty tables"})
            yield from results
            return
        hist = con.execute(load_sql("select_cross_asset_history"), {"end": FAR_FUTURE}).df()
        truth = con.execute("SELECT month_start, coin, market, beta, univariate_beta FROM cross_asset_truth").df()
        coins, markets, factors = _wide_history(hist)
        stats, annual, fc = compute_stats(betas, coins, markets, factors, truth, config.ff_window)
        written = replace_tables(con, [(NEURAL_BETA_STATS, stats), (NEURAL_BETA_ANNUAL, annual),
                                        (NEURAL_BETA_FORECASTS, fc)])
        results = checks.stats_results(con, NEURAL_BETA_STATS)
    summary = stats.groupby(["method", "model", "market"], sort=True)[
        ["n_months", "mean_beta", "std_beta", "skew", "kurtosis", "min_beta", "max_beta", "truth_rmse"]
    ].mean().reset_index()
    fc_wide = fc.pivot_table(index=["model", "market", "ff5"], columns="method", values="rmse").reset_index()
    fc_wide.columns.name = None
    traj = annual.groupby(["method", "model", "market", "year"])["mean_beta"].mean().unstack("year").reset_index()
    traj.columns = [str(c) for c in traj.columns]
    neural_single = stats[(stats["method"] == NEURAL) & (stats["model"] == "single")].drop(
        columns=["method", "model", "first_month", "last_month"])
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": written[NEURAL_BETA_STATS].inserted,
        "months": f"{stats['first_month'].iloc[0]} .. {stats['last_month'].iloc[0]}",
        "ff_window": config.ff_window,
        "beta_statistics (means over coins)": md(frame_markdown(summary)),
        "neural_single_by_coin": md(frame_markdown(neural_single.reset_index(drop=True))),
        "annual_mean_betas (means over coins)": md(frame_markdown(traj)),
        "forecast_rmse (log return per month)": md(frame_markdown(fc_wide)),
    })
    yield from results
