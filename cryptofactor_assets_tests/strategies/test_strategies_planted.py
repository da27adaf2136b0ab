"""Planted truth: on five simulated years with size and momentum premia planted, the walk-forward
forecasts traded as quintile long-shorts earn a significant gross return, and we report what is left
after the default costs.

The simulated market (``sources.simulated``) plants daily premia on the size score (small coins earn
more) and on 21-day momentum. The weekly features below are the two LTW characteristics that carry
them (log market cap, cumulative return of weeks t-2..t) computed from the simulated daily state; the
rest of the chain is the project's: walk-forward forecasts, quintile long-short weights, the daily
book with fees, spreads and the execution lag.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.analytics.performance import strategy_performance
from cryptofactor_assets.prediction.walk_forward import WalkForwardConfig, walk_forward
from cryptofactor_assets.sources.simulated import SimConfig, simulate_daily
from cryptofactor_assets.strategies import compute as c
from cryptofactor_assets.strategies.costs import CostModel
from cryptofactor_assets.strategies.execution import market_from_frames, run_book

YEARS = (dt.date(2022, 1, 1), dt.date(2026, 12, 31))


@pytest.fixture(scope="module")
def sample():
    """Daily panel and weekly features / targets of a 40-coin simulated market, 2022-2026."""
    state = simulate_daily(dataclasses.replace(SimConfig(n_coins=40), history_start=YEARS[0], history_end=YEARS[1]))
    days = pd.DatetimeIndex(state.days)
    log_ret = pd.DataFrame(state.ret, index=days, columns=state.symbols)
    cap = pd.DataFrame(np.exp(state.log_close) * state.supply, index=days, columns=state.symbols)
    daily = pd.DataFrame({"symbol": np.tile(state.symbols, len(days)), "date": np.repeat(days, len(state.symbols)),
                          "ret": np.expm1(log_ret.to_numpy()).ravel(), "market_cap": cap.to_numpy().ravel()})
    daily = daily.dropna(subset=["ret"])
    # ISO weeks Monday..Sunday: weekly log return (all 7 days), the Sunday's cap
    week = days - pd.to_timedelta(days.dayofweek, unit="D")
    wk_ret = log_ret.groupby(week).sum(min_count=7)
    wk_cap = cap.groupby(week).last()
    r3 = np.expm1(wk_ret.rolling(3).sum())
    y_next = np.expm1(wk_ret.shift(-1))
    frame = pd.DataFrame({
        "symbol": np.tile(wk_ret.columns, len(wk_ret)), "week_start": np.repeat(wk_ret.index, wk_ret.shape[1]),
        "mcap": np.log(wk_cap.to_numpy()).ravel(), "r3_0": r3.to_numpy().ravel(), "y_next": y_next.to_numpy().ravel(),
        "market_cap": wk_cap.to_numpy().ravel()})
    return daily, frame.dropna(subset=["mcap", "r3_0"])


def test_the_best_model_long_short_is_significant_gross_and_reported_net(sample):
    daily, frame = sample
    cfg = WalkForwardConfig(min_train_periods=52, embargo=1, test_periods=4, n_inner_splits=3)
    res = walk_forward(frame, ["mcap", "r3_0"], cfg, models=("ols", "ridge"))
    forecasts = pd.concat([r.predictions.assign(model=m, scheme="expanding") for m, r in res.runs.items()])
    forecasts = c.forecast_frame(forecasts, frame[["symbol", "week_start", "market_cap"]])
    weights = c.forecast_quintile_weights(forecasts)
    returns, notes = c.compute_strategy_returns(weights, daily, None, CostModel(spread="constant"))
    assert set(returns["strategy"]) == {f"{m}_expanding_{w}" for m in ("ols", "ridge") for w in ("ew", "vw")}
    perf = {s: strategy_performance(g["gross"], g["net"], fees=g["fee"], spread=g["spread"], funding=g["funding"],
                                    turnover=g["turnover"]) for s, g in returns.set_index("date").groupby("strategy")}
    best = max(perf, key=lambda s: perf[s].gross.sharpe)
    p = perf[best]
    report = (f"{best}: {p.gross.n_periods} days; gross {p.gross.ann_return:.1%} a year, Sharpe {p.gross.sharpe:.2f}, "
              f"t_NW {p.gross.mean_t_nw:.2f}; net {p.net.ann_return:.1%}, Sharpe {p.net.sharpe:.2f}, t_NW "
              f"{p.net.mean_t_nw:.2f}; cost drag {p.cost_drag:.1%} (fees {p.fees_drag:.1%}, spread "
              f"{p.spread_drag:.1%}), turnover {p.ann_turnover:.0f} a year")
    print(report)
    assert p.gross.n_periods > 3 * 365  # four years of out-of-sample weeks after the first training year
    assert p.gross.mean_t_nw > 2, report
    assert np.isfinite([p.net.ann_return, p.net.sharpe, p.net.mean_t_nw, p.cost_drag]).all()
    assert p.cost_drag > 0 and p.funding_drag == 0.0  # no funding given: zero, not missing


def test_the_simulators_delistings_are_closed_never_rescaled(sample):
    """Every coin the simulator delists while an equal-weight book holds it is closed on the day after its
    last price (counted), and the book's exposure drops by its weight: the others are not scaled up."""
    daily, _ = sample
    state = simulate_daily(dataclasses.replace(SimConfig(n_coins=40), history_start=YEARS[0], history_end=YEARS[1]))
    delisted = {s: pd.Timestamp(state.days[d]) for s, d in zip(state.symbols, state.delist_day, strict=True)
                if d < len(state.days)}
    assert delisted  # the simulator delists a few coins
    start = pd.Timestamp("2022-03-06")
    alive = daily[daily["date"] == start]["symbol"].unique()
    weights = pd.DataFrame({"strategy": "ew_all", "date": start, "symbol": alive, "weight": 1.0 / len(alive)})
    # one buy-and-hold decision held to the end: only delistings change the book's composition
    book = run_book(weights[["strategy", "date"]].drop_duplicates(), weights, market_from_frames(daily), 0.0,
                    lag_days=0, hold_days=10_000).frame.set_index("date")
    held = [s for s in delisted if s in set(alive)]
    assert held
    for s in held:
        day = delisted[s]  # the first day without data
        assert book.loc[day, "n_delisted"] >= 1, s
        assert book.loc[day, "long_exposure"] < book.loc[day - pd.Timedelta(days=1), "long_exposure"]
    assert book["n_delisted"].sum() == len(held)
    # nothing is ever renormalised to 100 %: after the first delisting the long exposure stays below 1
    first = min(delisted[s] for s in held)
    assert (book.loc[book.index >= first, "long_exposure"] < 1 - 1e-9).all()
