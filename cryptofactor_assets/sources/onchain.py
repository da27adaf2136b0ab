"""On-chain activity per coin and UTC day: the canonical layout, and the reader of the user's CSV files.

Canonical frame (column order not significant; the writers insert by name):

* ``date`` (datetime64[ns] at midnight: the UTC day the activity was counted),
* ``symbol`` (str, the exchange symbol the panels use, e.g. ``BTCUSDT``),
* ``coin`` (str, the coin as the file names it, e.g. ``bitcoin`` or ``btc``),
* ``active_addresses`` (float, distinct addresses active that day; NaN when the file has none),
* ``tx_count`` (float, transactions that day; NaN when the file has none).

**The user's files** (``--onchain GLOB`` / ``CRYPTOFACTOR_ONCHAIN_GLOB``): CSV with a header row::

    date,coin,active_addresses,tx_count
    2024-01-01,bitcoin,812345,402113
    2024-01-01,ethereum,498000,1120345

``date`` a day (``YYYY-MM-DD``; a time of day is floored to its UTC date, a time with an offset is
converted to UTC first; naive times are UTC), ``coin`` a CoinGecko id or ticker, mapped to the
exchange symbol as the CoinGecko files are (``coin_symbols`` by id, then by ticker, else
``<COIN>USDT``), then the two counts; either count column may be absent or empty (at least one of the
two must be in the header). Many coins per file, or one file per coin, as you like. Values that are
not numbers become NaN: rows with neither count, negative or infinite counts, duplicate (coin, date)
rows and rows outside the partition are rejected visibly by ``sources/validation.py`` (``rejected_rows``),
never dropped here. A file whose header lacks ``date`` or ``coin``, or one of whose dates cannot be
read, is a failure of that file (named, with the line), the other files go on (unless strict).

Sources: the simulated market simulates activity for every coin (``simulated.onchain_frame``); a glob,
when given, is read whatever the market source; without one, the other sources have no on-chain data
and the ingest leaves the stored rows untouched.
"""

from __future__ import annotations

import glob as globlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptofactor_assets.sources.base import SourceBatch, SourceError

ONCHAIN_COLUMNS = ["date", "symbol", "coin", "active_addresses", "tx_count"]
ONCHAIN_MEASURES = ("active_addresses", "tx_count")
SOURCE = "files"


def empty_onchain() -> pd.DataFrame:
    """An on-chain frame with no rows and the canonical dtypes."""
    return pd.DataFrame({
        "date": pd.Series(dtype="datetime64[ns]"), "symbol": pd.Series(dtype=object), "coin": pd.Series(dtype=object),
        "active_addresses": pd.Series(dtype=float), "tx_count": pd.Series(dtype=float)})


def _dates(col: pd.Series, path: str) -> pd.Series:
    """UTC dates (datetime64[ns] at midnight) of the ``date`` column; a SourceError naming the first bad line."""
    text = col.astype(str).str.strip()
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        line = int(np.flatnonzero(bad)[0]) + 2  # the header is line 1
        raise SourceError(SOURCE, None, None, f"{Path(path).name} line {line}: date {text.iloc[line - 2]!r} "
                                              "is not a date (use YYYY-MM-DD)")
    return parsed.dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D").astype("datetime64[ns]")


def read_onchain_csv(path: str, symbol_map: Mapping[str, str] | pd.DataFrame | None = None) -> pd.DataFrame:
    """One user file as the canonical frame (every row kept; counts that are not numbers become NaN)."""
    from cryptofactor_assets.sources.files import resolve_file_symbol

    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SourceError(SOURCE, None, None, f"{Path(path).name}: cannot be read as CSV ({exc})") from None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in ("date", "coin") if c not in raw.columns]
    if missing or not any(m in raw.columns for m in ONCHAIN_MEASURES):
        raise SourceError(SOURCE, None, None, f"{Path(path).name}: header {list(raw.columns)} lacks "
                                              f"{missing or 'active_addresses or tx_count'}; expected "
                                              "date,coin,active_addresses,tx_count")
    coin = raw["coin"].astype(str).str.strip()
    symbols = {c: resolve_file_symbol(c, symbol_map) if c else "" for c in coin.unique()}
    out = pd.DataFrame({"date": _dates(raw["date"], path), "symbol": coin.map(symbols), "coin": coin})
    for m in ONCHAIN_MEASURES:
        out[m] = (pd.to_numeric(raw[m].str.strip().replace("", np.nan), errors="coerce").astype(float)
                  if m in raw.columns else np.nan)
    return out[ONCHAIN_COLUMNS]


def read_onchain_glob(pattern: str, start_day: Any, end_day: Any,
                      symbol_map: Mapping[str, str] | pd.DataFrame | None = None,
                      strict: bool = False) -> SourceBatch:
    """Rows of every file matching ``pattern`` with ``date`` in ``[start_day, end_day)``; an unreadable file
    is a failure naming it (keyed by no symbol: its coins are inside it), the others go on unless
    ``strict``. Notes: files read, rows, coins and how their symbols were found."""
    from cryptofactor_assets.sources.files import FileFailure

    start, end = pd.Timestamp(start_day), pd.Timestamp(end_day)
    label = f"{start.date()}..{end.date()}"
    paths = sorted(p for p in globlib.glob(os.path.expanduser(pattern), recursive=True) if os.path.isfile(p))
    if not paths:
        raise SourceError(SOURCE, None, label, f"no on-chain file matches {pattern!r}")
    parts, failures = [], []
    for path in paths:
        try:
            frame = read_onchain_csv(path, symbol_map)
        except SourceError as exc:
            if strict:
                raise SourceError(SOURCE, None, label, str(exc)) from None
            failures.append(FileFailure("", str(exc), file=Path(path).name))
            continue
        parts.append(frame.loc[(frame["date"] >= start) & (frame["date"] < end)])
    frame = pd.concat(parts, ignore_index=True) if parts else empty_onchain()
    notes = [f"on-chain files: {len(paths)} matched {pattern!r}, {len(paths) - len(failures)} read, {len(frame)} "
             f"rows dated in {label} (UTC, end exclusive), {frame['coin'].nunique()} coins -> "
             f"{frame['symbol'].nunique()} symbols (coin_symbols by id, then ticker, else <COIN>USDT)"]
    empty = int(frame[list(ONCHAIN_MEASURES)].isna().all(axis=1).sum())
    if empty:
        notes.append(f"{empty} row(s) with neither active_addresses nor tx_count (rejected as missing_value)")
    stats = {"files_matched": len(paths), "files_failed": len(failures), "rows": len(frame)}
    return SourceBatch(frame=frame[ONCHAIN_COLUMNS], failures=failures, notes=notes, stats=stats)
