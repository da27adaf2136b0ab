"""Daily RSJ quantile portfolios and the long-short strategy (Zhang & Zhao 2023, IRFA 89, 102712).

Timing: portfolios are *formed at the end of UTC day t* from data of days <= t only and *held over day
t+1* (the next calendar day): the held return of coin i is ``ret[i, t+1] = close(t+1)/close(t) - 1``.

Universe at t (the paper's, Zhang & Zhao 2023): coins with a defined RSJ on day t, a positive
trailing dollar volume and a market cap at t of at least ``min_market_cap`` (USD 1M), ranked by
trailing dollar volume = mean of ``dollar_volume`` over the calendar days (t - trailing_days, t]
(days without a value are skipped); the ``top_n`` largest form the universe (ties by symbol). A coin
without an RSJ at t (too few bars, stale price) is not eligible that day, so the universe has up to
``top_n`` sortable coins. The cap filter applies on a day when at least one of its candidates (RSJ and
volume as above) has a market cap; a candidate without one is then out (an unknown cap is not a cap
>= $1M, as in daily_panel's universe). On a day when no candidate has a cap (a source without caps:
the Binance and Bybit kline files) there is no cap filter, the documented fallback, recorded per
formation day in ``cap_filter`` (``market_cap`` | ``no_caps``; ``off`` when ``min_market_cap <= 0``).

Quantiles, ``balanced_legs`` (default): the n coins of the universe are ordered by (RSJ, symbol)
ascending, rank j = 0..n-1 (ties in RSJ broken by symbol: the alphabetically first coin ranks lower),
and with k = floor(n / n_quantiles) the long leg Q1 holds ranks 0..k-1 (the k lowest RSJ), the short
leg Q``n_quantiles`` ranks n-k..n-1 (the k highest): both legs hold exactly k coins. The m = n - 2k
middle coins fill Q2..Q``n_quantiles - 1`` in order, q = 2 + floor((j - k) (n_quantiles - 2) / m)
(sizes differing by at most one); with 2 quantiles an odd n leaves its median coin in no portfolio.
E.g. n = 23, 5 quantiles: k = 4, Q1 and Q5 hold 4 coins, Q2..Q4 hold 5 each. ``balanced_legs=False``:
``q = floor(j * n_quantiles / n) + 1`` (the earlier rule: Q1 can hold one coin more than Q5).
Days with fewer than ``n_quantiles`` coins form no portfolio.

Weights within a quantile: ``ew`` equal; ``vw`` proportional to the market cap at t. When any coin of
the day's universe lacks a positive market cap, that day's value weights use the trailing dollar
volume instead (the whole day, never a mix); ``weight_source`` records it per row and the result's
``notes`` say how many days fell back. A held coin without a return on t+1 (delisting, data gap) is
dropped from that day's held portfolio and the remaining weights are rescaled (``n_coins`` counts the
coins actually held).

Long-short: long Q1 (lowest RSJ) minus short Q``n_quantiles`` (highest RSJ), the paper's direction
(high RSJ predicts low returns). Gross return = r_Q1 - r_Q5.

Turnover (two-sided, per leg, then summed over the two legs): at formation t,
``TO_t = sum_i |w_i,t - w~_i,t|`` with ``w~_i,t = w_i,t-1 (1 + r_i,t) / sum_j w_j,t-1 (1 + r_j,t)`` the
previous leg's weights drifted over day t (0 for coins not held, the whole leg when nothing was held
at t-1, so a first formation costs 1 per leg). A leg's turnover is in [0, 2], the long-short's in
[0, 4]. Costs = fee_bps / 10^4 x TO_t, charged to the return held over t+1: net = gross - cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

WEIGHTINGS = ("ew", "vw")
#: The portfolio parameters (the asset's config defaults): universe size, days of the trailing mean
#: dollar volume, number of RSJ quantiles, basis points of cost per unit of turnover.
DEFAULT_TOP_N = 50
DEFAULT_TRAILING_DAYS = 30
DEFAULT_N_QUANTILES = 5
#: 5.5 bp: Bybit's USDT-perpetual taker fee (VIP 0), the strategies domain's default venue; the
#: paper-timing net of this table charges fees only (spread, funding and the execution lag are in
#: strategies.strategy_returns, which runs the same RSJ weights through the full cost model).
DEFAULT_FEE_BPS = 5.5
#: USD 1M: the paper's minimum market cap at formation (applied where the data have caps).
DEFAULT_MIN_MARKET_CAP = 1e6
#: Both legs hold floor(n / n_quantiles) coins (module docstring).
DEFAULT_BALANCED_LEGS = True
#: ``cap_filter`` per formation day: the filter applied, the no-caps fallback, switched off.
CAP_FILTERS = ("market_cap", "no_caps", "off")


@dataclass(frozen=True)
class RSJPortfolios:
    """Outputs of :func:`rsj_quintile_portfolios` (long format) and the parameters used.

    ``quantiles``: date_formed, date_held, weighting, weight_source, quantile, ret, n_coins, turnover.
    ``long_short``: date_formed, date_held, weighting, weight_source, ret_long, ret_short, gross,
    turnover, cost, net, n_long, n_short.
    ``weights``: date_formed, weighting, weight_source, quantile, symbol, weight (formation weights).
    ``universe``: date_formed, n_eligible, n_universe (coins sorted that day), cap_filter, n_cap_excluded
    (candidates dropped by the cap filter); formation days only.
    """

    quantiles: pd.DataFrame
    long_short: pd.DataFrame
    weights: pd.DataFrame
    universe: pd.DataFrame
    top_n: int
    trailing_days: int
    n_quantiles: int
    fee_bps: float
    vw_fallback_days: int
    notes: tuple[str, ...]
    min_market_cap: float = DEFAULT_MIN_MARKET_CAP
    balanced_legs: bool = DEFAULT_BALANCED_LEGS


def _wide(frame: pd.DataFrame, column: str, dates: pd.DatetimeIndex, symbols: pd.Index) -> np.ndarray:
    if column not in frame.columns:
        return np.full((len(dates), len(symbols)), np.nan)
    if frame.duplicated(["date", "symbol"]).any():
        raise ValueError(f"duplicate (symbol, date) rows in the input of {column}")
    wide = frame.pivot(index="date", columns="symbol", values=column)
    return wide.reindex(index=dates, columns=symbols).to_numpy(dtype=np.float64)


def _row_ranks(key: np.ndarray) -> np.ndarray:
    """0-based rank of each entry within its row (ascending, stable: ties keep column order)."""
    order = np.argsort(key, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(key.shape[1])[None, :].repeat(key.shape[0], 0), axis=1)
    return ranks


def quantile_of_rank(rank: np.ndarray, n: np.ndarray, n_quantiles: int, balanced: bool = True) -> np.ndarray:
    """Quantile 1..n_quantiles of 0-based ranks ``rank`` (T, N) among ``n`` (T,) coins (module
    docstring); 0 for a rank outside [0, n) and, balanced with 2 quantiles, for an odd n's median coin."""
    n = np.asarray(n)[:, None]
    rank = np.asarray(rank)
    inside = (rank >= 0) & (rank < n)
    safe_n = np.maximum(n, 1)
    if not balanced:
        return np.where(inside, rank * n_quantiles // safe_n + 1, 0)
    k = n // n_quantiles
    middle_n = np.maximum(n - 2 * k, 1)
    middle = (2 + (rank - k) * (n_quantiles - 2) // middle_n) if n_quantiles > 2 else np.zeros_like(rank)
    q = np.where(rank < k, 1, np.where(rank >= n - k, n_quantiles, middle))
    return np.where(inside & (k >= 1), q, 0)


def _normalise(w: np.ndarray) -> np.ndarray:
    total = w.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, w / np.where(total > 0, total, 1.0), 0.0)


def _hold(w: np.ndarray, r_next: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Held return, coins held, turnover and drifted weights of formation weights ``w`` (T, N).

    ``r_next[t]`` are the returns over day t+1. Coins without a return are dropped and the rest
    rescaled; turnover at t is measured against the drifted weights of the portfolio formed at t-1.
    """
    has = np.isfinite(r_next)
    w_eff = _normalise(np.where(has, w, 0.0))
    r0 = np.where(has, r_next, 0.0)
    held = w_eff.sum(axis=1) > 0
    ret = np.where(held, (w_eff * r0).sum(axis=1), np.nan)
    n_coins = (w_eff > 0).sum(axis=1)
    drifted = _normalise(w_eff * (1.0 + r0))  # weights at the end of the held day
    prev = np.zeros_like(w)
    prev[1:] = drifted[:-1]  # rows are consecutive calendar days
    turnover = np.abs(w - prev).sum(axis=1)
    return ret, n_coins, turnover, drifted


def rsj_quintile_portfolios(
    rsj: pd.DataFrame,
    panel: pd.DataFrame,
    top_n: int = DEFAULT_TOP_N,
    trailing_days: int = DEFAULT_TRAILING_DAYS,
    n_quantiles: int = DEFAULT_N_QUANTILES,
    fee_bps: float = DEFAULT_FEE_BPS,
    weighting: Sequence[str] = WEIGHTINGS,
    *,
    min_market_cap: float = DEFAULT_MIN_MARKET_CAP,
    balanced_legs: bool = DEFAULT_BALANCED_LEGS,
) -> RSJPortfolios:
    """Daily RSJ quantile portfolios (EW and/or VW) and the long Q1 - short Q``n_quantiles`` strategy.

    ``rsj``: columns symbol, date, rsj (NaN = undefined that day). ``panel``: symbol, date, ret (simple
    daily return), dollar_volume and optionally market_cap (USD). Definitions (timing, universe with
    the ``min_market_cap`` filter where caps exist, balanced legs, weights, turnover, costs) in the
    module docstring. Vectorised over days and coins: (days x coins) matrices on the full calendar
    between the first and last date of the inputs.
    """
    weighting = tuple(weighting)
    unknown = set(weighting) - set(WEIGHTINGS)
    if unknown or not weighting:
        raise ValueError(f"weighting must be a subset of {WEIGHTINGS}, got {weighting}")
    if top_n < n_quantiles or n_quantiles < 2 or trailing_days < 1:
        raise ValueError("need n_quantiles >= 2, top_n >= n_quantiles and trailing_days >= 1")
    rsj = rsj.assign(date=pd.to_datetime(rsj["date"]).dt.normalize())
    panel = panel.assign(date=pd.to_datetime(panel["date"]).dt.normalize())
    all_dates = pd.concat([rsj["date"], panel["date"]])
    if all_dates.empty:
        raise ValueError("empty inputs")
    dates = pd.date_range(all_dates.min(), all_dates.max(), freq="D")
    symbols = pd.Index(sorted(set(rsj["symbol"]) | set(panel["symbol"])))
    notes: list[str] = []

    s = _wide(rsj, "rsj", dates, symbols)
    ret = _wide(panel, "ret", dates, symbols)
    dv = _wide(panel, "dollar_volume", dates, symbols)
    cap = _wide(panel, "market_cap", dates, symbols)
    if "market_cap" not in panel.columns or not np.isfinite(cap).any():
        notes.append("market caps absent: value weights use trailing dollar volume on every day")

    # Trailing mean dollar volume over (t - trailing_days, t]: rows up to t only (no look-ahead).
    tdv = pd.DataFrame(dv).rolling(trailing_days, min_periods=1).mean().to_numpy()
    candidate = np.isfinite(s) & np.isfinite(tdv) & (tdv > 0)
    # The cap filter, on the days when some candidate has a cap at t (unknown caps are then out).
    has_cap = np.isfinite(cap) & (cap > 0)
    caps_today = (candidate & has_cap).any(axis=1)
    if min_market_cap > 0:
        cap_filter = np.where(caps_today, "market_cap", "no_caps")
        passes = np.where(caps_today[:, None], has_cap & (np.nan_to_num(cap, nan=0.0) >= min_market_cap), True)
    else:
        cap_filter = np.full(len(dates), "off")
        passes = np.ones_like(candidate)
    eligible = candidate & passes
    liq_rank = _row_ranks(np.where(eligible, -tdv, np.inf))
    universe = eligible & (liq_rank < top_n)
    n_univ = universe.sum(axis=1)
    formed = n_univ >= n_quantiles
    rsj_rank = _row_ranks(np.where(universe, s, np.inf))  # columns are sorted symbols: ties by symbol
    quant = np.where(universe & formed[:, None],
                     quantile_of_rank(rsj_rank, n_univ, n_quantiles, balanced_legs), 0)

    # The day's value weights: market caps when every universe coin has one, else trailing volume.
    cap_ok = np.where(universe, np.isfinite(cap) & (cap > 0), True).all(axis=1)
    vw_base = np.where(cap_ok[:, None], cap, tdv)
    vw_source = np.where(cap_ok, "market_cap", "dollar_volume")
    fallback_days = int((formed & ~cap_ok).sum())
    if "vw" in weighting and fallback_days and not notes:
        notes.append(f"market caps missing for some universe coin on {fallback_days} of {int(formed.sum())} "
                     "formation days: those days' value weights use trailing dollar volume")

    r_next = np.full_like(ret, np.nan)
    r_next[:-1] = ret[1:]  # return over day t+1, aligned with formation day t
    has_next = np.zeros(len(dates), dtype=bool)
    has_next[:-1] = True  # the last calendar day has no held day in the data
    out_rows = formed & has_next

    q_frames, ls_frames, w_frames = [], [], []
    date_held = dates + pd.Timedelta(days=1)
    for scheme in weighting:
        base = np.ones_like(s) if scheme == "ew" else vw_base
        source = np.full(len(dates), "equal", dtype=object) if scheme == "ew" else vw_source.astype(object)
        legs = {}
        for q in range(1, n_quantiles + 1):
            w = _normalise(np.where(quant == q, base, 0.0))
            q_ret, n_coins, turnover, _ = _hold(w, r_next)
            legs[q] = (q_ret, n_coins, turnover)
            q_frames.append(pd.DataFrame({
                "date_formed": dates[out_rows], "date_held": date_held[out_rows], "weighting": scheme,
                "weight_source": source[out_rows], "quantile": q, "ret": q_ret[out_rows],
                "n_coins": n_coins[out_rows], "turnover": turnover[out_rows],
            }))
            ti, ci = np.nonzero(w * formed[:, None])
            w_frames.append(pd.DataFrame({
                "date_formed": dates[ti], "weighting": scheme, "weight_source": source[ti], "quantile": q,
                "symbol": symbols[ci], "weight": w[ti, ci],
            }))
        (r_long, n_long, to_long), (r_short, n_short, to_short) = legs[1], legs[n_quantiles]
        gross = r_long - r_short
        turnover = to_long + to_short
        cost = fee_bps * 1e-4 * turnover
        ls_frames.append(pd.DataFrame({
            "date_formed": dates[out_rows], "date_held": date_held[out_rows], "weighting": scheme,
            "weight_source": source[out_rows], "ret_long": r_long[out_rows], "ret_short": r_short[out_rows],
            "gross": gross[out_rows], "turnover": turnover[out_rows], "cost": cost[out_rows],
            "net": (gross - cost)[out_rows], "n_long": n_long[out_rows], "n_short": n_short[out_rows],
        }))

    skipped = int((~formed & eligible.any(axis=1)).sum())
    if skipped:
        notes.append(f"{skipped} day(s) with fewer than {n_quantiles} sortable coins formed no portfolio")
    n_cap_excluded = (candidate & ~passes).sum(axis=1)
    no_caps = int((formed & (cap_filter == "no_caps")).sum())
    if no_caps:
        notes.append(f"no market caps on {no_caps} of {int(formed.sum())} formation days: no "
                     f"${min_market_cap:,.0f} cap filter on those days (cap_filter = no_caps)")
    if (n_cap_excluded[formed] > 0).any():
        notes.append(f"cap filter (>= ${min_market_cap:,.0f}, unknown caps out): {int(n_cap_excluded[formed].sum())} "
                     f"coin-days with an RSJ left out on {int((n_cap_excluded[formed] > 0).sum())} formation days")
    weights = (pd.concat(w_frames, ignore_index=True)
               .sort_values(["weighting", "date_formed", "quantile", "symbol"], ignore_index=True))
    return RSJPortfolios(
        quantiles=pd.concat(q_frames, ignore_index=True).sort_values(
            ["weighting", "date_formed", "quantile"], ignore_index=True),
        long_short=pd.concat(ls_frames, ignore_index=True).sort_values(
            ["weighting", "date_formed"], ignore_index=True),
        weights=weights,
        universe=pd.DataFrame({"date_formed": dates[formed], "n_eligible": eligible.sum(axis=1)[formed],
                               "n_universe": n_univ[formed], "cap_filter": cap_filter[formed].astype(object),
                               "n_cap_excluded": n_cap_excluded[formed]}),
        top_n=top_n,
        trailing_days=trailing_days,
        n_quantiles=n_quantiles,
        fee_bps=fee_bps,
        vw_fallback_days=fallback_days if "vw" in weighting else 0,
        notes=tuple(notes),
        min_market_cap=float(min_market_cap),
        balanced_legs=bool(balanced_legs),
    )
