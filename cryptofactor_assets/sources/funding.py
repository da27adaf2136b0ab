"""Funding rates of perpetual futures: the canonical layout every source returns, and pure helpers.

A perpetual contract has no expiry; its price is tied to the spot index by periodic funding
payments. At each settlement instant ``funding_time`` a position of notional ``N`` (quote currency,
positive = long) pays ``N * funding_rate``: a positive rate means longs pay shorts, a negative one
shorts pay longs. On Bybit the rate is ``clamp(premium index + clamp(interest - premium, +-0.05 %))``
per interval, the interest component being 0.01 % per 8 hours; the interval is usually 8 hours
(settlements at 00:00, 08:00 and 16:00 UTC) but differs by symbol (1, 2 or 4 hours for some).

Canonical frame (column order not significant; the writers insert by name):

* ``symbol`` (str, exchange symbol of the perpetual, e.g. ``BTCUSDT``),
* ``funding_time`` (datetime64[ns], naive UTC, the settlement instant),
* ``funding_rate`` (float, fraction per settlement, e.g. 0.0001 = 0.01 %),
* ``interval_hours`` (float, hours since the symbol's previous settlement = the funding interval in
  force; NaN when unknown).

Rows are NOT validated here: ``sources/validation.py`` splits them into ``raw_funding_rates`` and
``rejected_rows`` with a reason (non-finite rate, ``|rate| > MAX_ABS_FUNDING_RATE``, conflicting
duplicates, ...).

Use downstream (a strategy backtest): a position of notional ``N_s`` held at settlement ``s`` pays
``N_s * funding_rate_s`` (receives it when negative), so a position of constant notional held through
a period pays ``N * (sum of the rates settled in it)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FUNDING_COLUMNS = ["symbol", "funding_time", "funding_rate", "interval_hours"]
_NS_PER_HOUR = 3_600 * 1_000_000_000


def empty_funding() -> pd.DataFrame:
    """A funding frame with no rows and the canonical dtypes."""
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in FUNDING_COLUMNS}).astype(
        {"symbol": "object", "funding_time": "datetime64[ns]"})


def settlement_intervals(times: np.ndarray) -> np.ndarray:
    """Hours between each settlement and the previous DISTINCT settlement of the same symbol.

    ``times`` is one symbol's ``funding_time`` (datetime64, ascending, repeats allowed: two versions of
    one settlement get the same interval). The first distinct settlement has no predecessor: it gets
    the gap to the next one (the interval in force is usually unchanged); a lone settlement gets NaN.
    """
    ns = np.asarray(times, dtype="datetime64[ns]").astype("int64")
    if len(ns) == 0:
        return np.zeros(0, dtype="float64")
    unique = np.unique(ns)
    if len(unique) == 1:
        return np.full(len(ns), np.nan)
    gaps = np.diff(unique) / _NS_PER_HOUR
    per_unique = np.concatenate([gaps[:1], gaps])
    return per_unique[np.searchsorted(unique, ns)]
