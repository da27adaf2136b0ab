"""What every market-data source returns: canonical frames plus an account of what failed.

Canonical layouts (column order not significant; the writers insert by name):

* 5-minute klines: ``symbol`` (str, exchange symbol e.g. ``BTCUSDT``), ``open_time``
  (datetime64[ns], naive UTC, candle open), ``open, high, low, close`` (float, quote currency),
  ``volume`` (float, base coin), ``turnover`` (float quote currency, NaN when the source lacks it).
* daily markets: ``coin_id`` (str), ``symbol`` (str, the exchange symbol used by the panels),
  ``date`` (datetime64[ns] at midnight, or python date), ``price``, ``market_cap``,
  ``total_volume`` (float USD; NaN when unknown).

Rows are NOT validated here: the shared validation layer (``sources/validation.py``) splits them
into stored rows and ``rejected_rows`` with a reason, so a source only parses what it received.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

KLINE_COLUMNS = ["symbol", "open_time", "open", "high", "low", "close", "volume", "turnover"]
MARKET_COLUMNS = ["coin_id", "symbol", "date", "price", "market_cap", "total_volume"]


class SourceError(RuntimeError):
    """A fetch or parse failure that names the source, the symbol and the partition."""

    def __init__(self, source: str, symbol: str | None, partition: str | None, message: str):
        self.source, self.symbol, self.partition = source, symbol, partition
        where = ", ".join(
            p for p in (f"source={source}", f"symbol={symbol}" if symbol else "",
                        f"partition={partition}" if partition else "") if p
        )
        super().__init__(f"{message} [{where}]")


@dataclass
class SymbolFailure:
    """One symbol whose fetch failed while the others went on (non-strict mode)."""

    symbol: str
    error: str


@dataclass
class SourceBatch:
    """Rows a source produced for a window, plus failures and notes for the run's metadata."""

    frame: pd.DataFrame
    failures: list[SymbolFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)  # e.g. pages, retries, symbols


def window_label(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """``YYYY-MM-DD`` for a one-day window ``[start, end)``, else ``start..end`` (dates; end exclusive)."""
    return start.date().isoformat() if end - start == pd.Timedelta(days=1) else f"{start.date()}..{end.date()}"


def empty_klines() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in KLINE_COLUMNS}).astype(
        {"symbol": "object", "open_time": "datetime64[ns]"}
    )


def empty_markets() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in MARKET_COLUMNS}).astype(
        {"coin_id": "object", "symbol": "object", "date": "datetime64[ns]"}
    )
