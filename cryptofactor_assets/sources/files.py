"""Users' own market-data files, parsed into the canonical frames of ``sources/base.py``.

Kline layouts (5-minute bars; one reader per layout, chosen from the file name / extension):

* **freqtrade feather** (``*.feather``): columns ``date, open, high, low, close, volume``, ``date`` =
  candle open, UTC. Symbol and timeframe come from the name: ``BTC_USDT-5m.feather`` (spot) ->
  ``BTCUSDT``; ``BTC_USDT_USDT-5m-futures.feather`` (futures, settle currency last) -> ``BTCUSDT``.
  freqtrade keeps no quote volume, so ``turnover`` is NaN.
* **Binance public data CSV** (``*.csv`` / ``*.zip`` from data.binance.vision, e.g.
  ``BTCUSDT-5m-2024-01-01.csv``): 12 columns, no header (a header row is tolerated):
  ``open_time, open, high, low, close, volume, close_time, quote_volume, trades, taker_buy_base,
  taker_buy_quote, ignore``. Timestamps are milliseconds, or microseconds in spot files from 2025:
  the unit is detected per row by magnitude (>= 1e14 -> microseconds). ``turnover`` = quote volume.
* **generic CSV / parquet** (any other ``.csv`` with a header, ``.parquet``): columns
  ``symbol, open_time, open, high, low, close, volume`` and optionally ``turnover``.
  ``open_time`` is ISO-8601 text (an offset or ``Z`` / ``UTC`` suffix is honoured), a datetime
  column, or epoch numbers (unit by magnitude: s < 1e11 <= ms < 1e14 <= us < 1e17 <= ns).

Time zones are explicit. Epoch numbers and tz-aware times (a tz-aware column, text with an offset
or a ``UTC`` suffix) are instants, converted to UTC. NAIVE times (a datetime column without zone,
ISO text without offset) are UTC by rule, unless ``timezone`` (the resource's ``timezone`` /
``CRYPTOFACTOR_TIMEZONE``, an IANA name such as ``Europe/Paris``) says they are local wall-clock
times there; DST is resolved from the rows' order (``ambiguous="infer"``), and a time that does not
exist or cannot be resolved is a ``SourceError`` naming the file. The notes say how many files had
naive times and how they were read.

Market layout: CoinGecko "export CSV" (``<coin>-usd-max.csv``): ``snapped_at, price, market_cap,
total_volume`` with ``snapped_at`` as ``YYYY-MM-DD HH:MM:SS UTC``. Off-midnight snapshots are floored
to their UTC date (counted); empty market caps are NaN; zero market caps / volumes are kept (the
validation layer decides); missing days are counted, never invented. The coin id is the file
name's first part (``btc-usd-max.csv`` -> ``btc``), the exchange symbol comes from the
``coin_symbols`` table (by id, then by ticker) or is guessed as ``<ID>USDT``.

Parsing never drops a row: values that are not numbers become NaN (rejected visibly by
``sources/validation.py``); a row whose time cannot be read makes the whole file a ``SourceError``
naming the file and line. Window selection ``[start, end)`` happens after parsing.

Failures are keyed by exchange symbol (the key of the stored rows), whatever the layout: an
unreadable freqtrade / Binance file by the symbol in its name, a CoinGecko file by the symbol its
coin maps to; an unreadable generic CSV / parquet file (its symbols are inside it) is a
:class:`FileFailure` with ``symbol == ""`` naming the file (the ingest's fetch guard keeps the
stored rows of every symbol the fetch brought fewer rows for). Two files for one symbol that give
different values for the same key (a spot and a futures file both named ``BTCUSDT``; ``btc-`` and
``bitcoin-usd-max.csv``) are a conflict: the symbol fails with a reason naming the files (its rows
are passed on and not applied; stored rows are kept). Files that overlap with identical rows are
not a conflict (the copies are rejected as ``duplicate_key``).

Efficiency: parsed files are cached per process, keyed by (path, size, mtime), because the same
glob is read for every partition of a backfill; each cached file keeps its time range (files
outside the window are skipped without touching rows) and, when sorted, the window is cut with a
binary search instead of a mask.
"""

from __future__ import annotations

import glob as globlib
import os
import re
import threading
import zoneinfo
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptofactor_assets.progress import Progress
from cryptofactor_assets.sources.base import (
    KLINE_COLUMNS,
    MARKET_COLUMNS,
    SourceBatch,
    SourceError,
    SymbolFailure,
    empty_klines,
    empty_markets,
)

SOURCE = "files"
PRICE_COLUMNS = ["open", "high", "low", "close", "volume"]
GENERIC_REQUIRED = ["symbol", "open_time", *PRICE_COLUMNS]
COINGECKO_COLUMNS = ["snapped_at", "price", "market_cap", "total_volume"]
BINANCE_COLUMNS = ["open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
                   "trades", "taker_buy_base", "taker_buy_quote", "ignore"]

_FREQTRADE_NAME = re.compile(
    r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)(?:_(?P<settle>[A-Za-z0-9]+))?"
    r"-(?P<tf>\d+[smhdwM]|\d+Mo)(?:-(?P<mode>[a-z_]+))?$")
_BINANCE_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<tf>\d+[smhdwM]|\d+Mo)-\d{4}-\d{2}(?:-\d{2})?$")
_COINGECKO_NAME = re.compile(r"^(?P<coin>.+)-(?P<vs>[a-z]{3,4})-(?P<span>max|\d+[a-z]*)$")


# ---------------------------------------------------------------------- names
def freqtrade_name(path: str | os.PathLike[str]) -> tuple[str, str, str | None] | None:
    """``(symbol, timeframe, mode)`` from a freqtrade file name, or None when it is not one."""
    m = _FREQTRADE_NAME.match(Path(path).name.removesuffix(".feather"))
    if not m:
        return None
    return f"{m['base']}{m['quote']}".upper(), m["tf"], m["mode"]


def binance_name(path: str | os.PathLike[str]) -> tuple[str, str] | None:
    """``(symbol, timeframe)`` from a data.binance.vision file name, or None."""
    stem = Path(path).name
    for suffix in (".zip", ".csv"):
        stem = stem.removesuffix(suffix)
    m = _BINANCE_NAME.match(stem)
    return (m["symbol"], m["tf"]) if m else None


def coingecko_coin_id(path: str | os.PathLike[str]) -> str:
    """Coin id of a CoinGecko export file: ``btc-usd-max.csv`` -> ``btc``; else the file stem."""
    stem = Path(path).name.removesuffix(".csv").lower()
    m = _COINGECKO_NAME.match(stem)
    return m["coin"] if m else stem


# ---------------------------------------------------------------------- time helpers
@dataclass
class FileFailure(SymbolFailure):
    """An unreadable file: ``symbol`` is the symbol it was for, or ``""`` when unknown (generic files)."""

    file: str = ""


@dataclass
class TimeReport:
    """How a file's times were read: rows whose time was naive (no zone, no offset)."""

    naive_rows: int = 0


#: ISO text that names its zone: a time followed by ``Z``, ``UTC``, ``GMT`` or a numeric offset.
_AWARE_TEXT = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$",
                         re.IGNORECASE)


_ZONE_WORD = re.compile(r"\s*(?:UTC|GMT)$", re.IGNORECASE)


def resolve_timezone(name: str | None) -> str | None:
    """The IANA zone for naive file times, or None for UTC (``""``, ``UTC``); ValueError when unknown."""
    name = (name or "").strip()
    if not name or name.upper() in ("UTC", "Z", "ETC/UTC", "GMT"):
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} for naive file times (--timezone / CRYPTOFACTOR_TIMEZONE "
                         "take an IANA name such as Europe/Paris, or UTC)") from None
    return name


def _localize_naive(values: np.ndarray, naive: np.ndarray, timezone: str | None, path: Any,
                    symbol: str | None) -> np.ndarray:
    """Naive-UTC datetime64[ns] ``values``; the rows flagged ``naive`` are read as wall-clock times
    of ``timezone`` (None = UTC: unchanged) and converted to UTC."""
    if timezone is None or not naive.any():
        return values
    local = pd.Series(values[naive])
    try:
        utc = local.dt.tz_localize(timezone, ambiguous="infer", nonexistent="raise").dt.tz_convert("UTC")
    except Exception as exc:  # pandas raises several types for DST gaps / ambiguous hours
        raise _fail(path, f"naive times cannot be read as {timezone} wall-clock times "
                          f"({type(exc).__name__}: {str(exc)[:100]})", symbol) from None
    out = values.copy()
    out[naive] = utc.dt.tz_localize(None).to_numpy("datetime64[ns]")
    return out


def _fail(path: Any, message: str, symbol: str | None = None) -> SourceError:
    return SourceError(SOURCE, symbol, None, f"{Path(path).name}: {message}")


def _epoch_to_ns(values: np.ndarray) -> np.ndarray:
    """Epoch numbers -> int64 ns, unit chosen per value by magnitude (s, ms, us, ns)."""
    v = values.astype("float64")
    scale = np.where(v < 1e11, 1e9, np.where(v < 1e14, 1e6, np.where(v < 1e17, 1e3, 1.0)))
    # Exact integer arithmetic for integral inputs (float64 would round ns of a 2024 date).
    as_int = values.astype("int64") if values.dtype.kind in "iu" else np.round(v).astype("int64")
    return as_int * scale.astype("int64")


def _times_from_column(col: pd.Series, path: Any, symbol: str | None = None, line_offset: int = 2,
                       timezone: str | None = None, report: TimeReport | None = None) -> np.ndarray:
    """A time column (datetime, epoch numbers or ISO text) -> naive-UTC datetime64[ns] values.

    Epoch numbers and tz-aware values are instants; naive values are UTC, or wall-clock times of
    ``timezone`` when given (see the module docstring). ``report`` counts the naive rows.
    """
    naive = np.zeros(len(col), dtype=bool)
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        out = col.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_any_dtype(col.dtype):
        out = col
        naive[:] = True
    else:
        nums = pd.to_numeric(col, errors="coerce")
        if nums.notna().all() and len(col):
            arr = nums.to_numpy()
            if (~np.isfinite(arr.astype("float64"))).any() or (arr < 0).any() or (arr > 9.2e18).any():
                raise _fail(path, "epoch time values out of range", symbol)
            out = pd.Series(_epoch_to_ns(arr).astype("datetime64[ns]"))
        else:
            text = pd.Series(col, dtype="string").str.strip()
            naive = ~text.str.contains(_AWARE_TEXT).fillna(False).to_numpy(bool)
            # a "UTC" / "GMT" suffix (as in CoinGecko exports) is an offset the ISO parser does not know
            out = parse_text_times(text.str.replace(_ZONE_WORD, "+00:00", regex=True))
    out = pd.Series(out).astype("datetime64[ns]")
    bad = out.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(path, f"{int(bad.sum())} row(s) with an unreadable time, first at line {i + line_offset}: "
                          f"{str(col.iloc[i])[:40]!r}", symbol)
    if report is not None:
        report.naive_rows += int(naive.sum())
    return _localize_naive(out.to_numpy(), naive, timezone, path, symbol)


def parse_text_times(col: pd.Series, fmt: str = "ISO8601") -> pd.Series:
    """Text -> naive-UTC datetime64[ns], NaT where unreadable or outside pandas' ns range.

    pandas' vectorised parser can raise ``OutOfBoundsDatetime`` even with ``errors="coerce"``
    (e.g. ``"/1"`` read as year 0); the slow per-value path then isolates the bad values.
    """
    text = pd.Series(col, dtype="string").str.strip()
    try:
        out = pd.to_datetime(text, utc=True, format=fmt, errors="coerce")
        return pd.Series(out.dt.tz_localize(None).astype("datetime64[ns]").to_numpy(), index=col.index)
    except (ValueError, OverflowError, TypeError):  # OutOfBoundsDatetime is a ValueError
        pass
    values = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    for i, v in enumerate(text.to_numpy(dtype=object)):
        if v is pd.NA or v is None:
            continue
        try:
            t = pd.to_datetime(v, utc=True, format=fmt)
            values[i] = np.datetime64(t.tz_localize(None).as_unit("ns").value, "ns")
        except (ValueError, OverflowError, TypeError):
            continue
    return pd.Series(values, index=col.index)


def _numeric(col: pd.Series) -> np.ndarray:
    """Numbers; anything else (text, empty) -> NaN for the validation layer to reject."""
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64")


# ---------------------------------------------------------------------- kline readers
def read_freqtrade_feather(path: str | os.PathLike[str], symbol: str | None = None,
                           timezone: str | None = None, report: TimeReport | None = None) -> pd.DataFrame:
    """A freqtrade feather file as canonical klines (turnover NaN); naive ``date`` values in ``timezone``."""
    if symbol is None:
        parsed = freqtrade_name(path)
        if parsed is None:
            raise _fail(path, "cannot read the symbol from the name (expected e.g. BTC_USDT-5m.feather)")
        symbol = parsed[0]
    try:
        raw = pd.read_feather(path)
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise _fail(path, f"not a readable feather file ({type(exc).__name__}: {str(exc)[:80]})", symbol) from None
    missing = [c for c in ["date", *PRICE_COLUMNS] if c not in raw.columns]
    if missing:
        raise _fail(path, f"missing freqtrade columns {missing}", symbol)
    frame = pd.DataFrame({"symbol": np.full(len(raw), symbol, dtype=object),
                          "open_time": _times_from_column(raw["date"], path, symbol, timezone=timezone,
                                                          report=report)})
    for c in PRICE_COLUMNS:
        frame[c] = _numeric(raw[c])
    frame["turnover"] = np.nan
    return frame[KLINE_COLUMNS]


def read_binance_csv(path: str | os.PathLike[str], symbol: str | None = None,
                     timezone: str | None = None, report: TimeReport | None = None) -> pd.DataFrame:
    """A Binance public-data kline CSV (12 columns, ms or us timestamps; zip accepted)."""
    if symbol is None:
        parsed = binance_name(path)
        symbol = parsed[0] if parsed else Path(path).name.split("-")[0].split(".")[0].upper()
    try:
        raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return empty_klines()
    except Exception as exc:
        raise _fail(path, f"not a readable CSV ({type(exc).__name__}: {str(exc)[:80]})", symbol) from None
    line_offset = 1
    if len(raw) and pd.isna(pd.to_numeric(raw.iloc[0, 0], errors="coerce")):  # a header row
        raw, line_offset = raw.iloc[1:].reset_index(drop=True), 2
    if raw.shape[1] < 6:
        raise _fail(path, f"{raw.shape[1]} columns; a Binance kline CSV has 12", symbol)
    frame = pd.DataFrame({"symbol": np.full(len(raw), symbol, dtype=object),
                          "open_time": _times_from_column(raw[0].str.strip(), path, symbol, line_offset,
                                                          timezone=timezone, report=report)})
    for j, c in enumerate(PRICE_COLUMNS, start=1):
        frame[c] = _numeric(raw[j])
    frame["turnover"] = _numeric(raw[7]) if raw.shape[1] > 7 else np.nan
    return frame[KLINE_COLUMNS]


def read_generic_klines(path: str | os.PathLike[str], timezone: str | None = None,
                        report: TimeReport | None = None) -> pd.DataFrame:
    """A CSV or parquet with columns ``symbol, open_time, open, high, low, close, volume[, turnover]``."""
    try:
        if str(path).endswith(".parquet"):
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(path, dtype={"symbol": str, "open_time": str})
    except pd.errors.EmptyDataError:
        return empty_klines()
    except Exception as exc:
        raise _fail(path, f"not readable ({type(exc).__name__}: {str(exc)[:80]})") from None
    missing = [c for c in GENERIC_REQUIRED if c not in raw.columns]
    if missing:
        raise _fail(path, f"missing columns {missing}; generic kline files need {GENERIC_REQUIRED} [+ turnover]")
    if raw["symbol"].isna().any():
        i = int(np.flatnonzero(raw["symbol"].isna().to_numpy())[0])
        raise _fail(path, f"empty symbol at line {i + 2}")
    frame = pd.DataFrame({"symbol": raw["symbol"].astype(str).str.strip().str.upper().to_numpy(dtype=object),
                          "open_time": _times_from_column(raw["open_time"], path, timezone=timezone,
                                                          report=report)})
    for c in PRICE_COLUMNS:
        frame[c] = _numeric(raw[c])
    frame["turnover"] = _numeric(raw["turnover"]) if "turnover" in raw.columns else np.nan
    return frame[KLINE_COLUMNS]


def kline_file_kind(path: str | os.PathLike[str]) -> str:
    """``freqtrade`` | ``binance`` | ``generic`` from the name and, for CSVs, the first line."""
    name = Path(path).name
    if name.endswith(".feather"):
        return "freqtrade"
    if name.endswith(".parquet"):
        return "generic"
    if name.endswith(".zip"):
        return "binance"
    if binance_name(path):
        return "binance"
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
    except OSError as exc:
        raise _fail(path, f"cannot open ({exc.strerror})") from None
    header = [c.strip().lower() for c in first.split(",")]
    if "open_time" in header and "symbol" in header:
        return "generic"
    return "binance"


def read_kline_file(path: str | os.PathLike[str], timezone: str | None = None,
                    report: TimeReport | None = None) -> pd.DataFrame:
    """Any supported kline file as canonical klines (dispatch on :func:`kline_file_kind`);
    naive times are wall-clock times of ``timezone`` (None = UTC)."""
    kind = kline_file_kind(path)
    if kind == "freqtrade":
        return read_freqtrade_feather(path, timezone=timezone, report=report)
    if kind == "binance":
        return read_binance_csv(path, timezone=timezone, report=report)
    return read_generic_klines(path, timezone=timezone, report=report)


def file_timeframe(path: str | os.PathLike[str]) -> str | None:
    """Timeframe written in a freqtrade / Binance file name (``5m``, ``1d``...), else None."""
    parsed = freqtrade_name(path)
    if parsed:
        return parsed[1]
    parsed_b = binance_name(path)
    return parsed_b[1] if parsed_b else None


# ---------------------------------------------------------------------- market reader
@dataclass
class MarketFileStats:
    rows: int = 0
    off_midnight: int = 0
    duplicate_dates: int = 0
    #: per row: the snapshot was not at 00:00:00 UTC (floored to its date)
    off_midnight_flags: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))


def read_coingecko_csv(path: str | os.PathLike[str], coin_id: str | None = None, symbol: str | None = None,
                       stats: MarketFileStats | None = None, timezone: str | None = None,
                       report: TimeReport | None = None) -> pd.DataFrame:
    """A CoinGecko export CSV as canonical daily markets (every row kept, dates floored to UTC days).

    ``snapped_at`` normally ends in ``UTC``; a snapshot time without zone is read in ``timezone``."""
    coin_id = coin_id or coingecko_coin_id(path)
    symbol = symbol or resolve_file_symbol(coin_id, None)
    stats = stats if stats is not None else MarketFileStats()
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise _fail(path, "empty file; expected header " + ",".join(COINGECKO_COLUMNS), coin_id) from None
    except Exception as exc:
        raise _fail(path, f"not a readable CSV ({type(exc).__name__}: {str(exc)[:80]})", coin_id) from None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in COINGECKO_COLUMNS if c not in raw.columns]
    if missing:
        raise _fail(path, f"missing CoinGecko export columns {missing}", coin_id)
    text = raw["snapped_at"].str.strip()
    when = parse_text_times(text, "%Y-%m-%d %H:%M:%S UTC").to_numpy().copy()
    unread = np.isnat(when)
    if unread.any():  # tolerate other ISO spellings before giving up
        when[unread] = parse_text_times(text[unread].str.removesuffix(" UTC")).to_numpy()
    times = _times_from_column(pd.Series(when, index=text.index), path, coin_id)
    naive = ~text.str.contains(_AWARE_TEXT).fillna(False).to_numpy(bool)
    if report is not None:
        report.naive_rows += int(naive.sum())
    times = _localize_naive(times, naive, timezone, path, coin_id)
    dates = times.astype("datetime64[D]").astype("datetime64[ns]")
    stats.rows = len(raw)
    stats.off_midnight_flags = times != dates
    stats.off_midnight = int(stats.off_midnight_flags.sum())
    stats.duplicate_dates = int(pd.Series(dates).duplicated().sum())
    frame = pd.DataFrame({"coin_id": coin_id, "symbol": symbol, "date": dates,
                          "price": _numeric(raw["price"].str.strip()),
                          "market_cap": _numeric(raw["market_cap"].str.strip()),
                          "total_volume": _numeric(raw["total_volume"].str.strip())})
    return frame[MARKET_COLUMNS]


def resolve_file_symbol(coin_id: str, symbol_map: Mapping[str, str] | pd.DataFrame | None) -> str:
    """Exchange symbol for a file's coin id: the user's table (id, then ticker), defaults, guess."""
    from cryptofactor_assets.sources.coingecko import default_coin_symbols, guess_symbol, symbol_lookup

    tables = [default_coin_symbols()]
    if symbol_map is not None:
        tables.insert(0, symbol_map if isinstance(symbol_map, pd.DataFrame) else
                      pd.DataFrame({"coin_id": list(symbol_map), "symbol": list(symbol_map.values())}))
    for table in tables:
        by_id = symbol_lookup(table)
        if coin_id in by_id:
            return by_id[coin_id]
        if "cg_symbol" in table.columns:
            hit = table.loc[table["cg_symbol"].astype(str).str.lower() == coin_id.lower(), "symbol"]
            if len(hit):
                return str(hit.iloc[0])
    return guess_symbol(coin_id)


# ---------------------------------------------------------------------- cache
@dataclass
class _Parsed:
    frame: pd.DataFrame
    times: np.ndarray  # int64 ns of the time column
    sorted: bool
    t_min: int
    t_max: int
    extra: Any = None


_CACHE: OrderedDict[tuple, _Parsed] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_MAX_FILES = 1024


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


def _cached(path: str, kind: str, parse: Callable[[str], tuple[pd.DataFrame, Any]], time_col: str) -> _Parsed:
    st = os.stat(path)
    key = (os.path.abspath(path), kind, st.st_size, st.st_mtime_ns)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    frame, extra = parse(path)
    times = frame[time_col].to_numpy("datetime64[ns]").astype("int64")
    parsed = _Parsed(frame, times, bool(len(times) < 2 or (np.diff(times) >= 0).all()),
                     int(times.min()) if len(times) else 0, int(times.max()) if len(times) else -1, extra)
    with _CACHE_LOCK:
        _CACHE[key] = parsed
        while len(_CACHE) > _CACHE_MAX_FILES:
            _CACHE.popitem(last=False)
    return parsed


def _window(parsed: _Parsed, start_ns: int, end_ns: int) -> tuple[pd.DataFrame, slice | np.ndarray]:
    """Rows with time in ``[start_ns, end_ns)`` and the positional selector used."""
    if not len(parsed.times) or parsed.t_max < start_ns or parsed.t_min >= end_ns:
        return parsed.frame.iloc[0:0], slice(0, 0)
    if parsed.sorted:
        lo, hi = np.searchsorted(parsed.times, [start_ns, end_ns], side="left")
        return parsed.frame.iloc[lo:hi], slice(int(lo), int(hi))
    mask = (parsed.times >= start_ns) & (parsed.times < end_ns)
    return parsed.frame[mask], mask


def _expand(pattern: str, partition: str) -> list[str]:
    paths = sorted(p for p in globlib.glob(os.path.expanduser(pattern), recursive=True) if os.path.isfile(p))
    if not paths:
        raise SourceError(SOURCE, None, partition, f"no file matches {pattern!r}")
    return paths


def _bounds(start_day: Any, end_day: Any) -> tuple[int, int, str]:
    start, end = pd.Timestamp(start_day), pd.Timestamp(end_day)
    if start.tzinfo is not None:
        start = start.tz_convert("UTC").tz_localize(None)
    if end.tzinfo is not None:
        end = end.tz_convert("UTC").tz_localize(None)
    label = (f"{start.date()}" if end - start == pd.Timedelta(days=1) and start == start.normalize()
             else f"{start.date()}..{end.date()}")
    return int(start.value), int(end.value), label


# ---------------------------------------------------------------------- globs -> batches
@dataclass
class _Tally:
    notes: list[str] = field(default_factory=list)
    failures: list[SymbolFailure] = field(default_factory=list)


def _timezone_or_fail(timezone: str | None, partition: str) -> str | None:
    try:
        return resolve_timezone(timezone)
    except ValueError as exc:
        raise SourceError(SOURCE, None, partition, str(exc)) from None


def _naive_note(naive_files: int, timezone: str | None) -> str | None:
    if not naive_files:
        return None
    if timezone is None:
        return (f"{naive_files} file(s) with naive times (no zone, no offset) read as UTC; set --timezone / "
                "CRYPTOFACTOR_TIMEZONE if they are local times")
    return f"{naive_files} file(s) with naive times read as {timezone} wall-clock times and converted to UTC"


def file_conflicts(parts: list[tuple[str, pd.DataFrame]], key: str, values: list[str]
                   ) -> tuple[dict[str, tuple[list[str], int]], dict[str, list[str]]]:
    """Symbols whose window rows come from several files that share keys.

    Returns ``{symbol: (files, keys with different values)}`` for files that disagree (a conflict)
    and ``{symbol: files}`` for files that overlap with identical rows (harmless copies).
    """
    files_of: dict[str, list[int]] = {}
    for i, (_, part) in enumerate(parts):
        for sym in part["symbol"].unique():
            files_of.setdefault(sym, []).append(i)
    conflicts: dict[str, tuple[list[str], int]] = {}
    identical: dict[str, list[str]] = {}
    for sym, idx in sorted(files_of.items()):
        if len(idx) < 2:
            continue
        sub = pd.concat([parts[i][1].loc[parts[i][1]["symbol"] == sym, [key, *values]].assign(_file=parts[i][0])
                         for i in idx], ignore_index=True)
        files_per_key = sub.groupby(key)["_file"].nunique()
        shared = files_per_key.index[files_per_key > 1]
        if not len(shared):
            continue  # e.g. one file per month: several files, no shared key
        overlap = sub[sub[key].isin(shared)]
        versions = overlap.drop_duplicates([key, *values]).groupby(key).size()
        differing = versions.index[versions > 1]
        if len(differing):
            conflicts[sym] = (sorted(set(overlap.loc[overlap[key].isin(differing), "_file"])), len(differing))
        else:
            identical[sym] = sorted(set(overlap["_file"]))
    return conflicts, identical


def read_klines_glob(pattern: str, start_day: Any, end_day: Any, strict: bool = False,
                     timeframe: str = "5m", timezone: str | None = None,
                     log: Callable[[str], None] | None = None, progress: Progress | None = None) -> SourceBatch:
    """5-minute klines from every file matching ``pattern`` with ``open_time`` in ``[start_day, end_day)``.

    Files whose name states another timeframe (``*-1d.feather``) are skipped with a note; a file
    that cannot be parsed is a failure of its symbol (or a :class:`FileFailure` without symbol for a
    generic file), the others go on, unless ``strict``. Files of one symbol that disagree on a key
    are a failure of that symbol naming them (their rows are passed on, to be rejected). Naive
    times are wall-clock times of ``timezone`` (None / ``UTC``: UTC).

    Progress (files done / total, rows in the window per second; ``cryptofactor_assets.progress``):
    lines go to ``log`` (e.g. ``context.log.info``) and the ``cryptofactor.progress`` logger, at most
    every ~10 s plus a final line; a caller's ``progress`` is advanced instead (the caller finishes it).
    """
    start_ns, end_ns, partition = _bounds(start_day, end_day)
    tz = _timezone_or_fail(timezone, partition)
    paths = _expand(pattern, partition)
    own_progress = progress is None
    if progress is None:
        progress = Progress(f"files klines {partition}", len(paths), unit="files", amount_unit="rows",
                            log=log)
    elif progress.total is None:
        progress.total = len(paths)
    parts: list[tuple[str, pd.DataFrame]] = []
    tally = _Tally()
    skipped: dict[str, int] = {}
    kinds: dict[str, int] = {}
    empty_files = naive_files = 0
    for done, path in enumerate(paths, start=1):
        n_rows = 0
        try:
            tf = file_timeframe(path)
            if tf is not None and tf != timeframe:
                skipped[tf] = skipped.get(tf, 0) + 1
                continue

            def parse(p: str) -> tuple[pd.DataFrame, Any]:
                report = TimeReport()
                return read_kline_file(p, tz, report), report

            try:
                kind = kline_file_kind(path)
                parsed = _cached(path, f"{kind}|tz={tz or 'UTC'}", parse, "open_time")
            except SourceError as exc:
                if strict:
                    raise SourceError(SOURCE, exc.symbol, partition, str(exc)) from None
                tally.failures.append(FileFailure(exc.symbol or "", str(exc), file=Path(path).name))
                continue
            kinds[kind] = kinds.get(kind, 0) + 1
            part, _ = _window(parsed, start_ns, end_ns)
            if part.empty:
                empty_files += 1
                continue
            naive_files += bool(parsed.extra.naive_rows)
            parts.append((Path(path).name, part))
            n_rows = len(part)
        finally:
            progress.update(done if own_progress else None, advance=0 if own_progress else 1, amount=n_rows)
    if own_progress:
        progress.finish(f"{sum(kinds.values())} read, {len(tally.failures)} failed, "
                        f"{sum(skipped.values())} skipped (timeframe)")
    frame = pd.concat([p for _, p in parts], ignore_index=True) if parts else empty_klines()
    conflicts, identical = file_conflicts(parts, "open_time", PRICE_COLUMNS + ["turnover"])
    for sym, (names, n) in conflicts.items():
        message = (f"{sym}: {len(names)} files give different values for {n} open_time(s) in {partition}: "
                   f"{', '.join(names)}; which one is right is unknown, so none of its rows is applied and its "
                   "stored rows are kept (keep one file per symbol)")
        if strict:
            raise SourceError(SOURCE, sym, partition, message)
        tally.failures.append(SymbolFailure(sym, message))
    read = sum(kinds.values())
    tally.notes.append(
        f"files: {len(paths)} matched {pattern!r}, {read} read ("
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + f"), {len(frame)} rows with open_time in "
        f"{partition} (UTC, end exclusive), {frame['symbol'].nunique()} symbols")
    if skipped:
        tally.notes.append("skipped (timeframe is not " + timeframe + "): "
                           + ", ".join(f"{v} file(s) of {k}" for k, v in sorted(skipped.items())))
    if empty_files:
        tally.notes.append(f"{empty_files} file(s) have no bar in the window")
    if kinds.get("freqtrade"):
        tally.notes.append("freqtrade files carry no quote volume: turnover is NaN")
    if naive_note := _naive_note(naive_files, tz):
        tally.notes.append(naive_note)
    if identical:
        tally.notes.append("symbols in several files that overlap with identical rows (copies rejected as "
                           "duplicate_key): " + "; ".join(f"{s}: {', '.join(f)}" for s, f in identical.items()))
    zero_volume = int((frame["volume"] == 0).sum())
    if zero_volume:
        tally.notes.append(f"{zero_volume} bar(s) with zero volume")
    stats = {"files_matched": len(paths), "files_read": read,
             "files_failed": sum(isinstance(f, FileFailure) for f in tally.failures),
             "files_skipped": sum(skipped.values()), "rows": len(frame), "zero_volume_bars": zero_volume,
             "symbols_conflicting": len(conflicts), "files_naive_times": naive_files}
    return SourceBatch(frame=frame[KLINE_COLUMNS], failures=tally.failures, notes=tally.notes, stats=stats)


def read_markets_glob(pattern: str, start_day: Any, end_day: Any,
                      symbol_map: Mapping[str, str] | pd.DataFrame | None = None,
                      strict: bool = False, timezone: str | None = None) -> SourceBatch:
    """Daily markets from CoinGecko export CSVs matching ``pattern``, ``date`` in ``[start_day, end_day)``.

    Notes report files read, rows, off-midnight snapshots floored, zero and missing (NaN) market
    caps, zero volumes, duplicate dates and missing calendar days (counted, never filled).
    Failures are keyed by the exchange symbol the file's coin maps to. Two files whose coins map to
    one symbol and that disagree on a date (``btc-`` and ``bitcoin-usd-max.csv``) are a failure of
    that symbol naming both (their rows are passed on, to be rejected; stored rows are kept).
    """
    start_ns, end_ns, partition = _bounds(start_day, end_day)
    tz = _timezone_or_fail(timezone, partition)
    paths = _expand(pattern, partition)
    parts: list[tuple[str, pd.DataFrame]] = []
    tally = _Tally()
    off_midnight = duplicate_dates = missing_days = naive_files = 0
    for path in paths:
        coin_id = coingecko_coin_id(path)
        symbol = resolve_file_symbol(coin_id, symbol_map)

        def parse(p: str, coin_id: str = coin_id, symbol: str = symbol) -> tuple[pd.DataFrame, Any]:
            st, report = MarketFileStats(), TimeReport()
            frame = read_coingecko_csv(p, coin_id, symbol, st, timezone=tz, report=report)
            return frame, (st, report)  # st.off_midnight_flags: per-row flags for the window's count

        try:
            parsed = _cached(path, f"coingecko:{symbol}|tz={tz or 'UTC'}", parse, "date")
        except SourceError as exc:
            if strict:
                raise SourceError(SOURCE, symbol, partition, f"{coin_id}: {exc}") from None
            tally.failures.append(FileFailure(symbol, f"{coin_id}: {exc}", file=Path(path).name))
            continue
        part, selector = _window(parsed, start_ns, end_ns)
        if part.empty:
            continue
        st, report = parsed.extra
        parts.append((Path(path).name, part))
        dates = part["date"].to_numpy("datetime64[D]")
        unique = np.unique(dates)
        duplicate_dates += len(dates) - len(unique)
        missing_days += int((unique[-1] - unique[0]).astype(int) + 1 - len(unique))
        off_midnight += int(st.off_midnight_flags[selector].sum())
        naive_files += bool(report.naive_rows)
    frame = pd.concat([p for _, p in parts], ignore_index=True) if parts else empty_markets()
    conflicts, identical = file_conflicts(parts, "date", ["coin_id", "price", "market_cap", "total_volume"])
    for sym, (names, n) in conflicts.items():
        message = (f"{sym}: {len(names)} CoinGecko files map to it and differ on {n} date(s) in {partition}: "
                   f"{', '.join(names)}; which one is right is unknown, so none of its rows is applied and its "
                   "stored rows are kept (keep one file, or map one coin id to another symbol in coin_symbols)")
        if strict:
            raise SourceError(SOURCE, sym, partition, message)
        tally.failures.append(SymbolFailure(sym, message))
    zero_caps = int((frame["market_cap"] == 0).sum())
    nan_caps = int(frame["market_cap"].isna().sum())
    zero_volume = int((frame["total_volume"] == 0).sum())
    files_failed = sum(isinstance(f, FileFailure) for f in tally.failures)
    notes = [f"files: {len(paths)} CoinGecko export file(s) matched {pattern!r}, "
             f"{len(paths) - files_failed} read, {len(frame)} rows dated in {partition} (UTC, end exclusive), "
             f"{frame['coin_id'].nunique()} coins"]
    for count, text in ((off_midnight, "off-midnight snapshot(s) floored to their UTC date"),
                        (zero_caps, "row(s) with market_cap 0 (no circulating supply known) kept for validation"),
                        (nan_caps, "row(s) with an empty market_cap (NaN)"),
                        (zero_volume, "row(s) with total_volume 0"),
                        (duplicate_dates, "duplicate coin-date(s) after flooring"),
                        (missing_days, "missing calendar day(s) inside the coins' ranges (not filled)")):
        if count:
            notes.append(f"{count} {text}")
    if naive_note := _naive_note(naive_files, tz):
        notes.append(naive_note)
    if identical:
        notes.append("symbols in several files that overlap with identical rows (copies rejected as "
                     "duplicate_key): " + "; ".join(f"{s}: {', '.join(f)}" for s, f in identical.items()))
    notes.extend(tally.notes)
    stats = {"files_matched": len(paths), "files_failed": files_failed, "rows": len(frame),
             "off_midnight": off_midnight, "zero_market_caps": zero_caps, "nan_market_caps": nan_caps,
             "zero_volumes": zero_volume, "duplicate_dates": duplicate_dates, "missing_days": missing_days,
             "symbols_conflicting": len(conflicts), "files_naive_times": naive_files}
    return SourceBatch(frame=frame[MARKET_COLUMNS], failures=tally.failures, notes=notes, stats=stats)
