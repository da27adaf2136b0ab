"""The strategies domain's pure table functions (frames in, frames out; no Dagster).

Families of strategies, each a table of target weights decided at a close (``date``: the close the
signal is known at; weekly signals of ISO week t are known at the close of its Sunday, t + 6 days):

==========================  ======================================================================
``forecast_quintile``       long the top / short the bottom quintile of each regression model's
                            forecast of next week's excess return (``prediction_forecasts``), EW and
                            VW (market cap of week t), per walk-forward scheme
``significance``            weights proportional to each regression forecast's t-statistic
                            (forecast / ``forecast_se``), dollar-neutral, gross leverage 2
``kelly``                   long-only fractional Kelly on the calibrated P(up) of each direction model
                            (``p_up_calibrated``), payoff ratio of the fold's training window
``characteristic``          LTW quintile long-short (Q5 - Q1) of each characteristic of
                            ``weekly_characteristics`` over the eligible coins, EW and VW
``rsj``                     the RSJ strategy of ``rsj.portfolios`` (long Q1 / short Q5 of the daily
                            RSJ, trailing dollar-volume universe), EW and VW, decided every day
==========================  ======================================================================

:func:`compute_strategy_returns` runs every family through the same daily book
(``execution.run_book``) under one :class:`costs.CostModel`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cryptofactor_assets.strategies import signals
from cryptofactor_assets.strategies.costs import BPS, CostModel
from cryptofactor_assets.strategies.execution import BookResult, market_from_frames, run_book

#: Days from a weekly row's ``week_start`` (Monday) to the close its signal is known at (Sunday's).
WEEK_SIGNAL_OFFSET = pd.Timedelta(days=6)
#: Horizon (days held after an execution) of a weekly decision and of a daily one.
WEEKLY_HOLD_DAYS = 7
DAILY_HOLD_DAYS = 1
REGRESSION_MODELS = ("ols", "ridge", "lasso", "elastic_net")
DIRECTION_MODELS = ("logit_l1", "logit_l2")
FAMILIES = ("forecast_quintile", "significance", "kelly", "characteristic", "rsj")
#: Columns of every weights table, then each family's diagnostics (what the weight was formed from).
WEIGHT_COLUMNS = ("family", "strategy", "date", "symbol", "weight")
FAMILY_EXTRAS = {
    "forecast_quintile": ("quantile", "forecast"),
    "significance": ("z", "forecast", "forecast_se"),
    "kelly": ("kelly", "p_up_calibrated", "payoff_ratio"),
    "characteristic": ("quantile", "signal"),
    "rsj": ("quantile",),
}


def _decisions_and_weights(family: str, parts: Sequence[tuple[str, pd.DatetimeIndex, pd.DataFrame]],
                           extra: Sequence[str] = ()) -> pd.DataFrame:
    """One frame of a family's decisions: a row per (strategy, date, symbol) with a weight, plus a row
    with ``symbol`` NULL and weight 0 for a decision that holds nothing (so every decision is stored)."""
    frames = []
    for strategy, dates, w in parts:
        held = w.assign(family=family, strategy=strategy)
        empty = pd.DatetimeIndex(dates).difference(pd.DatetimeIndex(held["date"].unique()))
        none = pd.DataFrame({"family": family, "strategy": strategy, "date": empty, "symbol": None, "weight": 0.0})
        frames += [held, none]
    cols = [*WEIGHT_COLUMNS, *extra]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("weight", *extra) else object) for c in cols})
    out = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    return out[cols].sort_values(["strategy", "date", "symbol"], ignore_index=True, na_position="first")


def forecast_frame(forecasts: pd.DataFrame, caps: pd.DataFrame) -> pd.DataFrame:
    """``prediction_forecasts`` rows with their signal date and the coin's market cap of week t."""
    f = forecasts.assign(week_start=pd.to_datetime(forecasts["week_start"]))
    c = caps.assign(week_start=pd.to_datetime(caps["week_start"]))[["symbol", "week_start", "market_cap"]]
    f = f.merge(c, on=["symbol", "week_start"], how="left", validate="many_to_one")
    return f.assign(date=f["week_start"] + WEEK_SIGNAL_OFFSET)


def forecast_quintile_weights(forecasts: pd.DataFrame, n_quantiles: int = 5) -> pd.DataFrame:
    """``forecast_quintile``: top minus bottom quintile of each regression forecast, EW and VW."""
    parts = []
    reg = forecasts[forecasts["model"].isin(REGRESSION_MODELS)]
    for (scheme, model), g in reg.groupby(["scheme", "model"], sort=True):
        for weighting in signals.WEIGHTINGS:
            w = signals.quantile_long_short(g, "forecast", weighting, n_quantiles, keep=("forecast",))
            parts.append((f"{model}_{scheme}_{weighting}", pd.DatetimeIndex(g["date"].unique()), w))
    return _decisions_and_weights("forecast_quintile", parts, extra=FAMILY_EXTRAS["forecast_quintile"])


def significance_strategy_weights(forecasts: pd.DataFrame, gross_leverage: float = 2.0) -> pd.DataFrame:
    """``significance``: weights proportional to forecast / forecast_se, demeaned, sum |w| = leverage."""
    parts = []
    reg = forecasts[forecasts["model"].isin(REGRESSION_MODELS)]
    for (scheme, model), g in reg.groupby(["scheme", "model"], sort=True):
        w = signals.significance_weights(g, "forecast", "forecast_se", gross_leverage, keep=("forecast", "forecast_se"))
        parts.append((f"{model}_{scheme}", pd.DatetimeIndex(g["date"].unique()), w))
    return _decisions_and_weights("significance", parts, extra=FAMILY_EXTRAS["significance"])


def fold_payoff_ratios(folds: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Payoff ratio b of each (scheme, fold) from its training window only: the targets ``y_next`` of
    the eligible coin-weeks with ``train_start <= week_start <= train_end`` (every one of them is
    realised before the fold's first test week: the walk-forward's embargo guarantees it).
    ``targets``: symbol, week_start, y_next (rows to use, e.g. the eligible ones)."""
    t = targets.assign(week_start=pd.to_datetime(targets["week_start"])).dropna(subset=["y_next"])
    weeks = t["week_start"].to_numpy()
    y = t["y_next"].to_numpy(dtype=float)
    rows = []
    for (scheme, fold), g in folds.groupby(["scheme", "fold"], sort=True):
        lo, hi = pd.Timestamp(g["train_start"].iloc[0]), pd.Timestamp(g["train_end"].iloc[0])
        inside = (weeks >= lo.to_datetime64()) & (weeks <= hi.to_datetime64())
        rows.append({"scheme": scheme, "fold": int(fold), "payoff_ratio": signals.payoff_ratio(y[inside]),
                     "n_train_targets": int(inside.sum())})
    return pd.DataFrame(rows, columns=["scheme", "fold", "payoff_ratio", "n_train_targets"])


def kelly_strategy_weights(forecasts: pd.DataFrame, payoffs: pd.DataFrame, fraction: float = 0.5,
                           cap: float = 0.1, max_gross: float = 1.0) -> pd.DataFrame:
    """``kelly``: long-only fractional Kelly on each direction model's calibrated P(up)."""
    parts = []
    d = forecasts[forecasts["model"].isin(DIRECTION_MODELS)].merge(payoffs, on=["scheme", "fold"], how="left")
    for (scheme, model), g in d.groupby(["scheme", "model"], sort=True):
        w = signals.kelly_weights(g, "p_up_calibrated", "payoff_ratio", fraction, cap, max_gross,
                                  keep=("p_up_calibrated", "payoff_ratio"))
        parts.append((f"{model}_{scheme}", pd.DatetimeIndex(g["date"].unique()), w))
    return _decisions_and_weights("kelly", parts, extra=FAMILY_EXTRAS["kelly"])


def characteristic_weights(chars: pd.DataFrame, characteristics: Sequence[str], n_quantiles: int = 5) -> pd.DataFrame:
    """``characteristic``: Q5 - Q1 of each characteristic over the eligible coins of the week, EW and VW
    (the coins of ``characteristic_portfolios`` with ``breakpoint_universe = all``)."""
    c = chars.assign(week_start=pd.to_datetime(chars["week_start"]))
    c = c[c["in_universe"].astype(bool)].assign(date=lambda f: f["week_start"] + WEEK_SIGNAL_OFFSET)
    dates = pd.DatetimeIndex(c["date"].unique())
    parts = []
    for name in characteristics:
        for weighting in signals.WEIGHTINGS:
            w = signals.quantile_long_short(c.assign(signal=c[name]), "signal", weighting, n_quantiles,
                                            keep=("signal",))
            parts.append((f"{name}_{weighting}", dates, w))
    return _decisions_and_weights("characteristic", parts, extra=FAMILY_EXTRAS["characteristic"])


def rsj_weights(portfolio_weights: pd.DataFrame, formation_days: pd.DatetimeIndex, n_quantiles: int) -> pd.DataFrame:
    """``rsj``: the RSJ long Q1 / short Q``n`` weights (``rsj.portfolios``' formation weights, each leg
    summing to one) decided at every formation day's close; days that formed no portfolio hold nothing."""
    pw = portfolio_weights
    legs = pw[pw["quantile"].isin([1, n_quantiles])]
    sign = np.where(legs["quantile"] == 1, 1.0, -1.0)
    w = legs.assign(weight=legs["weight"] * sign, date=pd.to_datetime(legs["date_formed"]))
    parts = [(f"rsj_{weighting}", formation_days, g[["date", "symbol", "weight", "quantile"]])
             for weighting, g in w.groupby("weighting", sort=True)]
    return _decisions_and_weights("rsj", parts, extra=FAMILY_EXTRAS["rsj"])


def funding_by_day(funding: pd.DataFrame) -> pd.DataFrame:
    """Daily funding per coin: the rates settled during day d, i.e. with funding_time in (d 00:00,
    d+1 00:00] (a position held over day d, from the close of d - 1 to the close of d, is in the book at
    those settlements; the 00:00 settlement that ends day d belongs to it, not to day d + 1)."""
    if funding is None or not len(funding):
        return pd.DataFrame({"symbol": pd.Series(dtype=object), "date": pd.Series(dtype="datetime64[ns]"),
                             "funding": pd.Series(dtype=float)})
    t = pd.to_datetime(funding["funding_time"])
    day = (t - pd.Timedelta(microseconds=1)).dt.floor("D")
    return (funding.assign(date=day).groupby(["symbol", "date"], as_index=False)["funding_rate"].sum()
            .rename(columns={"funding_rate": "funding"}))


def half_spreads(panel: pd.DataFrame, cost: CostModel) -> tuple[pd.DataFrame | None, float]:
    """(per coin-day half spread frame or None, the fallback half spread) under ``cost``."""
    fallback = 0.0 if cost.spread == "none" else cost.spread_bps * BPS / 2.0
    column = cost.spread_column
    if column is None or column not in panel.columns:
        return None, fallback
    return panel[["symbol", "date"]].assign(half_spread=panel[column].to_numpy(dtype=float) / 2.0), fallback


def compute_strategy_returns(weights: pd.DataFrame, panel: pd.DataFrame, funding: pd.DataFrame | None,
                             cost: CostModel, delisting_return: float = 0.0) -> tuple[pd.DataFrame, list[str]]:
    """Every strategy of ``weights`` (the families' tables, concatenated) through the daily book.

    ``panel``: daily_panel rows (symbol, date, ret and the spread columns); ``funding``:
    raw_funding_rates rows (symbol, funding_time, funding_rate); ``delisting_return``: what a position
    earns the day after its coin's data end for good (0: out at the last price; -1: a total loss).
    Returns the ``strategy_returns`` rows (``execution.BOOK_COLUMNS`` plus family, the cost columns and
    ``delisting_return``) and notes."""
    notes: list[str] = []
    if weights.empty or panel.empty:
        return pd.DataFrame(), ["no strategy weights or no daily panel rows"]
    panel = panel.assign(date=pd.to_datetime(panel["date"]))
    spread, fallback = half_spreads(panel, cost)
    if spread is not None:
        known = np.isfinite(spread["half_spread"].to_numpy())
        notes.append(f"spread: {cost.spread} estimate on {known.mean():.0%} of coin-days, "
                     f"{cost.spread_bps:g} bp elsewhere")
    daily_funding = funding_by_day(funding) if cost.charges_funding else None
    if cost.charges_funding and (daily_funding is None or daily_funding.empty):
        notes.append("no funding rates stored: funding charged as zero (files and spot sources have none)")
    market = market_from_frames(panel, spread, daily_funding, default_half_spread=fallback)
    decisions = weights[["strategy", "date"]].drop_duplicates()
    held = weights[weights["symbol"].notna()]
    family = weights.drop_duplicates("strategy").set_index("strategy")["family"]
    hold = family.map(lambda f: DAILY_HOLD_DAYS if f == "rsj" else WEEKLY_HOLD_DAYS)
    book: BookResult = run_book(decisions, held[["strategy", "date", "symbol", "weight"]], market,
                                cost.fee_bps * BPS, cost.lag_days, hold, delisting_return)
    if book.decisions_after_data:
        notes.append(f"{book.decisions_after_data} decision(s) execute after the last daily_panel day: not traded")
    if book.coins_without_market:
        notes.append(f"{book.coins_without_market} weight(s) on coins absent from daily_panel: dropped")
    frame = book.frame
    exposure = (frame["long_exposure"] - frame["short_exposure"]).groupby(frame["strategy"]).max()
    idle = sorted(exposure.index[exposure <= 0])
    if idle:  # e.g. a characteristic with one value for every coin: no quintile ever forms
        notes.append(f"{len(idle)} strateg{'y' if len(idle) == 1 else 'ies'} never held a position, left out: "
                     f"{', '.join(idle)}")
        frame = frame[~frame["strategy"].isin(idle)]
    delisted = int(frame["n_delisted"].sum())
    if delisted:
        notes.append(f"{delisted} position(s) closed because their coin stopped trading for good, at a "
                     f"delisting return of {delisting_return:.0%}")
    out = frame.assign(family=frame["strategy"].map(family), cost_model=cost.describe(), **cost_columns(cost),
                       delisting_return=float(delisting_return))
    return out.reset_index(drop=True), notes


#: The cost parameters stored as columns of strategy_returns and strategy_comparison.
COST_COLUMNS = ("venue", "side", "fee_bps", "spread_model", "spread_bps", "funding_charged", "lag_days")


def cost_columns(cost: CostModel) -> dict:
    """The cost model as column values (``funding_charged``: perpetual venue with funding on)."""
    return {"venue": cost.venue, "side": cost.side, "fee_bps": cost.fee_bps, "spread_model": cost.spread,
            "spread_bps": cost.spread_bps, "funding_charged": cost.charges_funding, "lag_days": cost.lag_days}


# --------------------------------------------------------------------------------------------
# Comparison and attribution
# --------------------------------------------------------------------------------------------
#: The daily factors the strategies are regressed on (factor_returns_daily: CMKT, CSMB / size, CMOM).
FACTORS = ("mkt", "size", "mom")
#: Fewest days with every factor for a factor regression (else its columns are NULL).
MIN_FACTOR_DAYS = 30
PERIODS_PER_YEAR = 365


def _regression(series: pd.Series, factors: pd.DataFrame | None, columns, nw_lags):
    """``factor_regression`` on the days where the return and every factor exist, or None."""
    from cryptofactor_assets.analytics.performance import factor_regression

    if factors is None:
        return None
    f = factors[list(columns)].dropna()
    if len(f.index.intersection(series.dropna().index)) < MIN_FACTOR_DAYS:
        return None
    return factor_regression(series, f, PERIODS_PER_YEAR, nw_lags)


def compute_strategy_comparison(returns: pd.DataFrame, factors: pd.DataFrame | None, nw_lags="4t100",
                                min_days: int = 30) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Per strategy, gross and net: performance (``analytics.performance.strategy_performance``), cost
    drag by component, turnover, the market beta (CMKT alone) and the alpha of the regression on the
    three daily factors (Newey-West t's); and the per-day attribution of the net return to the factors.

    ``returns``: strategy_returns rows (with their ``COST_COLUMNS``, copied to the comparison);
    ``factors``: date, mkt, size, mom. Strategies with fewer than ``min_days`` days are left out (noted).
    Returns (strategy_comparison rows, strategy_attribution rows, notes)."""
    from cryptofactor_assets.analytics.performance import strategy_performance

    rows, attribution, notes = [], [], []
    if factors is not None:
        factors = factors.assign(date=pd.to_datetime(factors["date"])).set_index("date").sort_index()
    for (family, strategy), g in returns.groupby(["family", "strategy"], sort=True):
        g = g.assign(date=pd.to_datetime(g["date"])).set_index("date").sort_index()
        if len(g) < min_days:
            notes.append(f"{strategy}: {len(g)} days < {min_days}, not compared")
            continue
        params = {k: g[k].iloc[0] for k in (*COST_COLUMNS, "delisting_return")}
        perf = strategy_performance(g["gross"], g["net"], fees=g["fee"], spread=g["spread"], funding=g["funding"],
                                    turnover=g["turnover"], periods_per_year=PERIODS_PER_YEAR, nw_lags=nw_lags)
        for basis, stats in (("gross", perf.gross), ("net", perf.net)):
            series = g[basis]
            capm = _regression(series, factors, FACTORS[:1], nw_lags)
            three = _regression(series, factors, FACTORS, nw_lags)
            rows.append({
                "family": family, "strategy": strategy, "basis": basis, "start": g.index[0], "end": g.index[-1],
                "n_days": stats.n_periods, "ann_return": stats.ann_return, "cagr": stats.cagr,
                "ann_vol": stats.ann_vol, "sharpe": stats.sharpe, "sharpe_t_nw": stats.mean_t_nw,
                "sortino": stats.sortino, "max_drawdown": stats.max_drawdown,
                "max_drawdown_days": stats.longest_drawdown_duration, "win_rate": stats.win_rate,
                "turnover_ann": perf.ann_turnover, "fee_drag": perf.fees_drag, "spread_drag": perf.spread_drag,
                "funding_drag": perf.funding_drag, "cost_drag": perf.cost_drag,
                "cmkt_beta": capm.betas["mkt"] if capm else np.nan,
                "cmkt_beta_t_nw": capm.beta_t_nw["mkt"] if capm else np.nan,
                "alpha_3f_ann": three.alpha_ann if three else np.nan,
                "alpha_3f_t_nw": three.alpha_t_nw if three else np.nan,
                "r2_3f": three.r2 if three else np.nan, "n_factor_days": three.n_periods if three else 0,
                "nw_lags": stats.nw_lags, "n_delisted": int(g["n_delisted"].sum()), **params,
            })
            if basis == "net" and three is not None:
                a = three.attribution
                attribution.append(pd.DataFrame({
                    "family": family, "strategy": strategy, "date": a.index, "net": a["return"].to_numpy(),
                    **{f"{k}_part": a[k].to_numpy() for k in FACTORS}, "alpha": a["alpha"].to_numpy(),
                    "residual": a["residual"].to_numpy()}))
    if factors is None:
        notes.append("factor_returns_daily not built: no betas, alphas or attribution")
    comparison = pd.DataFrame(rows)
    attr = pd.concat(attribution, ignore_index=True) if attribution else pd.DataFrame()
    return comparison, attr, notes
