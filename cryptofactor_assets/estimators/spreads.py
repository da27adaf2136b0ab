"""Bid-ask spread estimators from the high, low and close of adjacent bars (pure numpy; no dagster).

Both estimate the proportional FULL quoted spread S = (ask - bid) / mid (0.001 = 10 bp; a trade
crossing half of it pays S / 2) from bars of trade prices, one coin at a time:

* **Corwin & Schultz (2012)**, "A Simple Way to Estimate Bid-Ask Spreads from Daily High and Low
  Prices", Journal of Finance 67(2), 719-760. A bar's high is (almost always) a
  buyer-initiated trade at the ask and its low a seller-initiated trade at the bid, so ln(H / L)
  holds the spread plus the price variance of the bar; the variance grows with the length of the
  interval and the spread does not, so the range of one bar and the range over two bars separate
  them. For the bars t and t + 1::

      beta  = [ln(H_t / L_t)]^2 + [ln(H_{t+1} / L_{t+1})]^2
      gamma = [ln(max(H_t, H_{t+1}) / min(L_t, L_{t+1}))]^2
      alpha = (sqrt(2 beta) - sqrt(beta)) / (3 - 2 sqrt 2) - sqrt(gamma / (3 - 2 sqrt 2))
      S     = 2 (e^alpha - 1) / (1 + e^alpha)

  A pair's S is negative when the variance dominates (more often so on short, noisy intervals);
  as in the paper's main results, negative pair estimates are set to 0 BEFORE averaging, so the
  average is biased upwards when the true spread is small relative to a bar's volatility.

  *Overnight adjustment: not applied.* The paper shifts day t+1's high and low when day t's close
  lies outside day t+1's range (the price moved while the market was closed). Crypto trades 24/7 and
  two adjacent 5-minute bars have no closed period between them: the next bar opens on the next
  trade. A close outside the next bar's range within 5 minutes is then mostly the bounce itself (the
  close at the ask, the next bar trading at the bid only, as on a thinly traded coin), and the
  adjustment would remove exactly the spread being estimated. Instead, only pairs of bars EXACTLY
  one bar apart count (:data:`BAR`): a missing bar (no trade, an outage) breaks the pairs across it.

* **Abdi & Ranaldo (2017)**, "A Simple Estimation of Bid-Ask Spreads from Daily Close, High, and
  Low Prices", Review of Financial Studies 30(12), 4437-4480 (the "CHL" estimator).
  With c_t = ln(close_t) and the bar's log mid-range eta_t = (ln H_t + ln L_t) / 2 (a proxy of the
  efficient price), the close sits half a spread off the efficient price on a random side::

      s^2 = 4 E[(c_t - eta_t)(c_t - eta_{t+1})]

  The expectation is the mean over the pairs of the period and s = sqrt(max(mean, 0)): the paper's
  monthly estimator (the products of a month's pairs of adjacent days averaged, then the root of the
  floored mean), applied here to a UTC day's pairs of adjacent 5-minute bars (up to 287). A day whose
  mean product is negative gets 0; single products are not floored (each is s^2 plus noise of
  either sign, and flooring them would bias the mean upwards).

Per coin and UTC day (:func:`daily_spreads`, the oracle of ``sql/panels/insert_daily_panel.sql``):

* usable bars: finite high, low and close with low > 0, close > 0 and high >= low (others are
  dropped before pairing, so they break pairs too); a pair is (t, t + 1) of one coin and UTC day
  with open times exactly :data:`BAR` apart, so a full day of 288 bars has 287 pairs and no pair
  spans midnight;
* ``spread_cs`` = mean over the day's pairs of max(S_pair, 0); ``spread_ar`` = sqrt(max(mean over
  the day's pairs of 4 (c_t - eta_t)(c_t - eta_{t+1}), 0)); both NaN (NULL in the table) with
  fewer than :data:`MIN_SPREAD_PAIRS` pairs; ``n_spread_pairs`` = the number of pairs.

How they behave on 5-minute bars (``cryptofactor_assets_tests/panels/test_panels_spreads.py``): with
trades at mid x (1 +- S / 2) around a random walk (S = 20 bp, 10 bp volatility a bar, 60 trades a
bar) AR reads S within a few per cent and CS about 10 % low (a bar's discrete trades miss the
extremes of the path that the paper's variance scaling assumes); with no spread at all both read
3-4 bp (CS through the floor at 0, AR through noise). On the project's simulated market, which
plants no bounce, CS reads about 10 bp a coin-day (about 0.3 x a bar's volatility: the simulator
draws each bar's wicks independently) and AR is 0 on half the coin-days: neither is a spread there.

The functions evaluate the formulas with the same operations, in the same order, as the SQL (the
logs of the prices first, ln(H / L) as ln H - ln L), so the two agree to rounding (the tests ask for
1e-12).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "BAR",
    "MIN_SPREAD_PAIRS",
    "SpreadEstimate",
    "abdi_ranaldo_pair",
    "adjacent_pairs",
    "corwin_schultz_pair",
    "daily_spreads",
    "spreads_of_consecutive_bars",
    "usable_bars",
]

#: The bar length: two bars form a pair only when their open times are exactly this far apart.
BAR = np.timedelta64(5, "m")

#: Fewest adjacent pairs (one hour of bars) for a coin-day's estimate to be defined. One pair's
#: estimate is mostly noise (its standard deviation is of the order of a bar's volatility, several
#: times a liquid coin's spread); the mean of 12 is still noisy, but a day with fewer pairs has
#: traded for less than an hour (a listing or delisting day, an outage) and its estimate would say
#: more about that hour than about the coin. Users wanting tighter estimates filter on
#: ``n_spread_pairs`` (a full day has 287).
MIN_SPREAD_PAIRS = 12

#: 3 - 2 sqrt 2, the constant of Corwin & Schultz's alpha (computed as the SQL computes it).
_CS_K = 3 - 2 * math.sqrt(2)


def corwin_schultz_pair(high0, low0, high1, low1) -> np.ndarray:
    """Corwin & Schultz's spread S of each pair of bars (t, t + 1), NOT floored at 0 (elementwise).

    beta = ln(H0 / L0)^2 + ln(H1 / L1)^2, gamma = ln(max(H0, H1) / min(L0, L1))^2,
    alpha = (sqrt(2 beta) - sqrt(beta)) / (3 - 2 sqrt 2) - sqrt(gamma / (3 - 2 sqrt 2)),
    S = 2 (e^alpha - 1) / (1 + e^alpha). Prices must be positive with high >= low.
    """
    log_high0, log_low0, log_high1, log_low1 = (
        np.log(np.asarray(x, dtype=float)) for x in (high0, low0, high1, low1))
    range_0 = log_high0 - log_low0  # ln(H0 / L0)
    range_1 = log_high1 - log_low1
    range_01 = np.maximum(log_high0, log_high1) - np.minimum(log_low0, log_low1)  # ln(max H / min L)
    beta = range_0 * range_0 + range_1 * range_1
    gamma = range_01 * range_01
    alpha = (np.sqrt(2 * beta) - np.sqrt(beta)) / _CS_K - np.sqrt(gamma / _CS_K)
    e = np.exp(alpha)
    return 2 * (e - 1) / (1 + e)


def abdi_ranaldo_pair(close0, high0, low0, high1, low1) -> np.ndarray:
    """Abdi & Ranaldo's squared-spread term 4 (c0 - eta0)(c0 - eta1) of each pair (elementwise).

    c0 = ln(close0), eta = (ln H + ln L) / 2. Its mean over a period is the squared spread s^2
    (may be negative in a sample); the spread is sqrt(max(mean, 0)).
    """
    log_close0, log_high0, log_low0, log_high1, log_low1 = (
        np.log(np.asarray(x, dtype=float)) for x in (close0, high0, low0, high1, low1))
    close_vs_mid_0 = log_close0 - (log_high0 + log_low0) / 2  # c_t - eta_t
    close_vs_mid_1 = log_close0 - (log_high1 + log_low1) / 2  # c_t - eta_t+1
    return 4 * close_vs_mid_0 * close_vs_mid_1


def usable_bars(high, low, close) -> np.ndarray:
    """Bars the estimators take: finite prices, low > 0, close > 0 and high >= low (so high > 0)."""
    h, lo, c = (np.asarray(x, dtype=float) for x in (high, low, close))
    with np.errstate(invalid="ignore"):
        return np.isfinite(h) & np.isfinite(lo) & np.isfinite(c) & (lo > 0) & (c > 0) & (h >= lo)


def adjacent_pairs(group, open_time) -> np.ndarray:
    """Positions i of the bars whose next bar (i + 1) is the same group's and exactly :data:`BAR`
    later; the bars must be sorted by (group, open_time) (``group``: integer codes, e.g. coin-day)."""
    g = np.asarray(group)
    t = np.asarray(open_time, dtype="datetime64[ns]")
    return np.flatnonzero((g[1:] == g[:-1]) & (t[1:] - t[:-1] == BAR))


def daily_spreads(symbol, open_time, high, low, close, min_pairs: int = MIN_SPREAD_PAIRS) -> pd.DataFrame:
    """Both estimators per coin and UTC day from 5-minute bars in any order (arrays of equal length).

    Returns one row per (symbol, date) with at least one usable bar, sorted by symbol and date:
    ``symbol``, ``date`` (datetime64[ns], midnight), ``spread_cs``, ``spread_ar`` (NaN with fewer than
    ``min_pairs`` pairs) and ``n_spread_pairs`` (see the module docstring). Raises ``ValueError`` on
    a repeated (symbol, open_time) or arrays of different lengths.
    """
    sym = np.asarray(symbol, dtype=object)
    t = np.asarray(open_time, dtype="datetime64[ns]")
    h, lo, c = (np.asarray(x, dtype=float) for x in (high, low, close))
    if not len(sym) == len(t) == len(h) == len(lo) == len(c):
        raise ValueError("symbol, open_time, high, low and close must have the same length")
    keep = usable_bars(h, lo, c)
    sym, t, h, lo, c = sym[keep], t[keep], h[keep], lo[keep], c[keep]
    day = t.astype("datetime64[D]")
    codes, days = pd.MultiIndex.from_arrays([sym, day]).factorize(sort=True)
    order = np.lexsort((t, codes))
    codes, t, h, lo, c = codes[order], t[order], h[order], lo[order], c[order]
    if len(t) and ((codes[1:] == codes[:-1]) & (t[1:] == t[:-1])).any():
        raise ValueError("repeated (symbol, open_time) bars")
    i = adjacent_pairs(codes, t)
    j = i + 1
    cs = np.maximum(corwin_schultz_pair(h[i], lo[i], h[j], lo[j]), 0.0)
    ar = abdi_ranaldo_pair(c[i], h[i], lo[i], h[j], lo[j])
    n_groups = len(days)
    n = np.bincount(codes[i], minlength=n_groups)
    defined = n >= max(int(min_pairs), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cs_mean = np.bincount(codes[i], cs, minlength=n_groups) / n
        ar_mean = np.bincount(codes[i], ar, minlength=n_groups) / n
    return pd.DataFrame({
        "symbol": days.get_level_values(0).to_numpy(dtype=object),
        "date": days.get_level_values(1).to_numpy(dtype="datetime64[ns]"),
        "spread_cs": np.where(defined, cs_mean, np.nan),
        "spread_ar": np.where(defined, np.sqrt(np.maximum(np.where(defined, ar_mean, 0.0), 0.0)), np.nan),
        "n_spread_pairs": n.astype(np.int64),
    })


@dataclass(frozen=True)
class SpreadEstimate:
    """Both estimates from one run of consecutive bars: ``cs`` (mean of the floored pair estimates),
    ``ar`` (sqrt of the floored mean term), the per-pair values and the number of pairs."""

    cs: float
    ar: float
    cs_pairs: np.ndarray
    ar_terms: np.ndarray

    @property
    def n_pairs(self) -> int:
        return len(self.cs_pairs)


def spreads_of_consecutive_bars(high, low, close, min_pairs: int = 1) -> SpreadEstimate:
    """Both estimators over bars given in time order, each ``BAR`` after the previous (the small case,
    for hand checks: two bars are one pair). ``cs`` and ``ar`` are NaN with fewer than ``min_pairs``
    pairs; ``cs_pairs`` holds the pair estimates before the floor at 0."""
    h, lo, c = (np.asarray(x, dtype=float) for x in (high, low, close))
    if not usable_bars(h, lo, c).all():
        raise ValueError("every bar needs finite prices with low > 0, close > 0 and high >= low")
    cs = corwin_schultz_pair(h[:-1], lo[:-1], h[1:], lo[1:])
    ar = abdi_ranaldo_pair(c[:-1], h[:-1], lo[:-1], h[1:], lo[1:])
    if len(cs) < max(int(min_pairs), 1):
        return SpreadEstimate(math.nan, math.nan, cs, ar)
    return SpreadEstimate(float(np.mean(np.maximum(cs, 0.0))), math.sqrt(max(float(np.mean(ar)), 0.0)), cs, ar)
