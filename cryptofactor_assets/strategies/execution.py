"""Daily book of a set of strategies: drifted weights, trades at a lagged close, costs, net returns.

Every strategy of the project (RSJ, characteristic long-shorts, forecast-driven portfolios) is run by
the same daily engine, so their gross and net figures are comparable.

Inputs: target weights decided at the close of day s (a *decision*: strategy, date s, and the coins'
weights, absent coins = 0; a decision with no coin means "hold nothing"), and per calendar day d and
coin i the simple return ``r[d, i] = close(d) / close(d - 1) - 1``, the half spread ``h[d, i]`` and the
day's funding ``F[d, i]`` (sum of the rates settled during day d; positive: longs pay).

Timing and accounting (weights are fractions of the book's value, NAV):

* a decision of day s executes at the close of day e = s + lag; the positions after the trade are the
  targets; they earn from day e + 1 on;
* gross return of day d: ``R_d = sum_i w[d-1, i] r[d, i]`` (``w[d-1]`` = weights after the close of
  d - 1); a coin without a return that day earns 0 (its last price is carried);
* drift over day d: ``w~[d, i] = w[d-1, i] (1 + r[d, i]) / (1 + R_d)`` (positions grow with their coin,
  NAV with the book; a long-short book's weights drift apart this way);
* at an execution close d: turnover ``TO_d = sum_i |w_target_i - w~[d, i]|`` (two-sided, against the
  drifted weights: the first trade of a long-short with gross 2 costs 2), fee ``c_fee TO_d``, spread
  ``sum_i h[d, i] |w_target_i - w~[d, i]|``; without an execution the drifted weights are kept;
* funding of day d: ``sum_i w[d-1, i] F[d, i]`` (a short with a positive rate earns it);
* delisting: a coin whose data end for good (no return after day e, e before the market's last day)
  is closed on day e + 1 at ``delisting_return`` (0: out at its last price, the default; -1: a total
  loss): the position earns that return on day e + 1 and its value becomes cash. No fee, no spread
  (nothing trades); counted in ``n_delisted``. The other positions are never rescaled. A coin whose
  data resume after a gap is not delisted: over the gap it earns 0 (its last price carried);
* net return of day d: ``R_d - fee_d - spread_d - funding_d`` (costs of a trade at the close of d are
  charged to day d, as a fraction of the NAV at that close).

A strategy's rows run from its first execution day to ``last execution + hold_days`` (the horizon of
its last decision; the positions are not charged an exit at the end), capped at the last market day.
Decisions whose execution day falls after the last market day are dropped (counted in the result).

The engine loops over days (the drift is sequential) with every strategy and coin of a day in one
numpy operation: ``S`` strategies x ``N`` coins per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Columns of :func:`run_book`'s frame (one row per strategy and day).
BOOK_COLUMNS = ("strategy", "date", "gross", "fee", "spread", "funding", "net", "turnover",
                "long_exposure", "short_exposure", "n_long", "n_short", "n_delisted", "rebalanced")


@dataclass(frozen=True)
class Market:
    """Daily market inputs on a complete calendar: ``dates`` (D consecutive days), ``symbols`` (N),
    ``returns`` (D, N, NaN = no return), ``half_spread`` (D, N, fraction, no NaN) and ``funding``
    (D, N, fraction per day, no NaN; zeros for spot)."""

    dates: pd.DatetimeIndex
    symbols: pd.Index
    returns: np.ndarray
    half_spread: np.ndarray
    funding: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.dates), len(self.symbols))
        for name in ("returns", "half_spread", "funding"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected {shape}")
        days = self.dates.values.astype("datetime64[D]").astype(np.int64)
        if len(days) > 1 and not (np.diff(days) == 1).all():
            raise ValueError("market dates must be consecutive calendar days")
        if not np.isfinite(self.half_spread).all() or not np.isfinite(self.funding).all():
            raise ValueError("half_spread and funding must be finite (fill gaps before)")


def market_from_frames(panel: pd.DataFrame, half_spread: pd.DataFrame | None = None,
                       funding: pd.DataFrame | None = None, default_half_spread: float = 0.0,
                       start=None, end=None) -> Market:
    """A :class:`Market` from long frames: ``panel`` (symbol, date, ret), ``half_spread`` (symbol,
    date, half_spread; NaN / absent -> ``default_half_spread``), ``funding`` (symbol, date,
    funding; absent -> 0). The calendar runs from ``start`` (default: first panel date) to ``end``."""
    dates_all = pd.to_datetime(panel["date"]).dt.normalize()
    first = pd.Timestamp(start) if start is not None else dates_all.min()
    last = pd.Timestamp(end) if end is not None else dates_all.max()
    dates = pd.date_range(first, last, freq="D")
    symbols = pd.Index(sorted(panel["symbol"].unique()))

    def wide(frame: pd.DataFrame | None, column: str, fill: float) -> np.ndarray:
        if frame is None or not len(frame):
            return np.full((len(dates), len(symbols)), fill)
        f = frame.assign(date=pd.to_datetime(frame["date"]).dt.normalize())
        w = f.pivot_table(index="date", columns="symbol", values=column, aggfunc="sum" if column == "funding"
                          else "first").reindex(index=dates, columns=symbols)
        out = w.to_numpy(dtype=float)
        return out if np.isnan(fill) else np.where(np.isfinite(out), out, fill)

    return Market(dates, symbols, wide(panel, "ret", np.nan), wide(half_spread, "half_spread", default_half_spread),
                  wide(funding, "funding", 0.0))


@dataclass(frozen=True)
class BookResult:
    """The daily book (``BOOK_COLUMNS``) and what was left out."""

    frame: pd.DataFrame
    decisions_after_data: int
    coins_without_market: int


def run_book(decisions: pd.DataFrame, weights: pd.DataFrame, market: Market, fee_rate: float,
             lag_days: int, hold_days: int | pd.Series = 1, delisting_return: float = 0.0) -> BookResult:
    """Run every strategy of ``decisions`` (strategy, date) with ``weights`` (strategy, date, symbol,
    weight) through ``market`` (module docstring). ``fee_rate`` is a fraction of the traded weight
    (5.5 bp = 0.00055); ``hold_days``: the horizon of a decision (an int, or a Series by strategy);
    ``delisting_return``: what a position in a coin whose data end for good earns on the next day."""
    if delisting_return < -1:
        raise ValueError("delisting_return must be >= -1 (a total loss)")
    if lag_days < 0:
        raise ValueError("lag_days must be >= 0")
    strategies = pd.Index(sorted(decisions["strategy"].unique()))
    S, D, N = len(strategies), len(market.dates), len(market.symbols)
    if S == 0 or D == 0:
        return BookResult(pd.DataFrame(columns=list(BOOK_COLUMNS)), 0, 0)
    day0 = market.dates[0]

    def day_index(values) -> np.ndarray:
        return ((pd.to_datetime(values).values.astype("datetime64[D]") - np.datetime64(day0.date(), "D"))
                .astype(np.int64))

    dec = decisions.drop_duplicates(["strategy", "date"])
    d_strat = strategies.get_indexer(dec["strategy"])
    d_exec = day_index(dec["date"]) + lag_days
    valid = (d_exec >= 0) & (d_exec < D)
    after = int((d_exec >= D).sum())
    # an execution day per (strategy, day): the decision's targets replace the drifted weights
    execute = np.zeros((D, S), dtype=bool)
    execute[d_exec[valid], d_strat[valid]] = True

    w = weights[weights["weight"].to_numpy(dtype=float) != 0.0]
    w_strat = strategies.get_indexer(w["strategy"])
    w_exec = day_index(w["date"]) + lag_days
    w_sym = market.symbols.get_indexer(w["symbol"])
    missing_coins = int((w_sym < 0).sum())
    keep = (w_strat >= 0) & (w_sym >= 0) & (w_exec >= 0) & (w_exec < D)
    w_strat, w_exec, w_sym = w_strat[keep], w_exec[keep], w_sym[keep]
    w_val = w["weight"].to_numpy(dtype=float)[keep]
    if ((w_exec >= 0) & ~execute[np.clip(w_exec, 0, D - 1), np.clip(w_strat, 0, S - 1)]).any():
        raise ValueError("weights given for a (strategy, date) without a decision")
    order = np.argsort(w_exec, kind="stable")
    w_strat, w_exec, w_sym, w_val = w_strat[order], w_exec[order], w_sym[order], w_val[order]
    bounds = np.searchsorted(w_exec, np.arange(D + 1))

    # each strategy's span: first execution .. last execution + hold_days (inclusive of the last held day)
    hold = (pd.Series(hold_days, index=strategies) if np.isscalar(hold_days)
            else pd.Series(hold_days).reindex(strategies)).to_numpy(dtype=np.int64)
    has_exec = execute.any(axis=0)
    first = np.where(has_exec, execute.argmax(axis=0), D)
    last = np.where(has_exec, D - 1 - execute[::-1].argmax(axis=0), -1)
    stop = np.minimum(last + hold, D - 1)

    r = np.nan_to_num(market.returns, nan=0.0)
    # a coin delists on day e + 1 when e is its last day with a return and e is not the market's last day
    has_ret = np.isfinite(market.returns)
    last_ret = np.where(has_ret.any(axis=0), D - 1 - has_ret[::-1].argmax(axis=0), -1)
    delist_day = np.where((last_ret >= 0) & (last_ret < D - 1), last_ret + 1, -1)
    delisting = np.zeros((D, N), dtype=bool)
    delisting[delist_day[delist_day >= 0], np.flatnonzero(delist_day >= 0)] = True
    r[delisting] = delisting_return
    gone = np.arange(D)[:, None] > last_ret[None, :]  # days after a coin's last return (its delisting day on)
    gone &= (delist_day >= 0)[None, :]
    out = {name: np.zeros((D, S)) for name in ("gross", "fee", "spread", "funding", "turnover", "long", "short")}
    n_long = np.zeros((D, S), dtype=np.int64)
    n_short = np.zeros((D, S), dtype=np.int64)
    n_delisted = np.zeros((D, S), dtype=np.int64)
    held = np.zeros((S, N))
    for d in range(D):
        gross = held @ r[d]
        out["gross"][d] = gross
        out["funding"][d] = held @ market.funding[d]
        with np.errstate(invalid="ignore", divide="ignore"):
            growth = 1.0 + gross
            drifted = np.where(growth[:, None] > 0, held * (1.0 + r[d]) / growth[:, None], 0.0)  # ruin: flat
        if delisting[d].any():  # positions in coins that stopped trading become cash (no trade, no cost)
            n_delisted[d] = (held[:, delisting[d]] != 0).sum(axis=1)
            drifted[:, delisting[d]] = 0.0
        ex = execute[d]
        if ex.any():
            target = np.where(ex[:, None], 0.0, drifted)
            lo, hi = bounds[d], bounds[d + 1]
            target[w_strat[lo:hi], w_sym[lo:hi]] = w_val[lo:hi]  # executing strategies' targets (others untouched)
            target[:, gone[d]] = np.where(ex[:, None], 0.0, target[:, gone[d]])  # a delisted coin cannot be bought
            trade = np.abs(target - drifted)
            out["turnover"][d] = trade.sum(axis=1)
            out["spread"][d] = trade @ market.half_spread[d]
            held = target
        else:
            held = drifted
        out["long"][d] = np.where(held > 0, held, 0.0).sum(axis=1)
        out["short"][d] = np.where(held < 0, held, 0.0).sum(axis=1)
        n_long[d] = (held > 0).sum(axis=1)
        n_short[d] = (held < 0).sum(axis=1)
    out["fee"] = fee_rate * out["turnover"]
    net = out["gross"] - out["fee"] - out["spread"] - out["funding"]

    days = np.arange(D)[:, None]
    live = (days >= first[None, :]) & (days <= stop[None, :])
    di, si = np.nonzero(live)
    frame = pd.DataFrame({
        "strategy": strategies.to_numpy()[si], "date": market.dates[di],
        "gross": out["gross"][di, si], "fee": out["fee"][di, si], "spread": out["spread"][di, si],
        "funding": out["funding"][di, si], "net": net[di, si], "turnover": out["turnover"][di, si],
        "long_exposure": out["long"][di, si], "short_exposure": out["short"][di, si],
        "n_long": n_long[di, si], "n_short": n_short[di, si], "n_delisted": n_delisted[di, si],
        "rebalanced": execute[di, si],
    }).sort_values(["strategy", "date"], ignore_index=True)
    return BookResult(frame[list(BOOK_COLUMNS)], after, missing_coins)
