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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class FetchStats:
    """What one per-symbol fetch did (for progress logs and run metadata; see :func:`fetch_each`)."""

    rows: int = 0
    retries: int = 0
    notes: list[str] = field(default_factory=list)


def fetch_each(
    keys: Sequence[str],
    fetch: Callable[[str], tuple[pd.DataFrame, FetchStats]],
    *,
    source: str,
    progress: Any,
    totals: dict[str, int],
    failed_key: str,
    counts: Mapping[str, str],
    describe: Callable[[Any], str],
    strict: bool,
    error_text: Callable[[SourceError], str] = str,
    stop_on: type[SourceError] | None = None,
    stop_message: str = "",
) -> tuple[list[pd.DataFrame], list[SymbolFailure], list[str]]:
    """Fetch every key in turn: (frames, failures, notes) of a multi-symbol batch.

    ``fetch(key)`` returns (frame, stats): a :class:`FetchStats` whose attributes named by ``counts`` (total key -> stats attribute), added into ``totals``. A key whose fetch
    raises a ``SourceError`` is a failure (``totals[failed_key]`` += 1) and the others go on, unless
    ``strict``; ``stop_on`` always stops the batch (logged with ``stop_message``). ``progress``
    (``cryptofactor_assets.progress.Progress``) gets a line per failure and an update per key.
    """
    frames: list[pd.DataFrame] = []
    failures: list[SymbolFailure] = []
    notes: list[str] = []
    n = len(keys)
    for i, key in enumerate(keys, start=1):
        where = f"{source} {key} ({i} of {n})"
        try:
            frame, st = fetch(key)
        except SourceError as exc:
            if stop_on is not None and isinstance(exc, stop_on):
                progress.event(f"{where}: {stop_message}")
                raise
            if strict:
                raise
            failures.append(SymbolFailure(key, error_text(exc)))
            totals[failed_key] += 1
            progress.done = i
            progress.event(f"{where}: FAILED: {error_text(exc)}")
            continue
        frames.append(frame)
        for total, attr in counts.items():
            totals[total] += getattr(st, attr)
        notes.extend(f"{key}: {note}" for note in st.notes)
        progress.update(i, amount=st.rows, force=i == n, message=f"{where}: {describe(st)}")
    return frames, failures, notes


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
