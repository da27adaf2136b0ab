"""Bybit v5 public market data: ``GET /v5/market/kline`` and ``GET /v5/market/instruments-info``.

Layouts follow the official v5 docs (``docs/v5/market/kline.mdx``, ``docs/v5/error.mdx``,
``docs/v5/rate-limit``), summarised in ``shared/reference/api-layouts.md``:

* every response is an envelope ``{retCode, retMsg, result, retExtInfo, time}`` with HTTP 200 even
  for business errors, so ``retCode`` is checked on every call;
* kline rows are 7 strings ``[startTime ms, open, high, low, close, volume, turnover]``, **newest
  first**; the still-open candle is included when ``end`` reaches "now".

Paging. A window ``[start, end)`` is cut into chunks of ``limit`` candles
(``limit * interval`` long), so a chunk fits one page whichever end of the range the server serves
first; inside a chunk the client also pages backwards (``end = oldest - 1``) until it reaches the
chunk start or gets an empty page, which covers a server that caps pages below ``limit``. Rows
are re-ordered ascending and de-duplicated on ``open_time`` (overlapping pages), the still-open
candle (``open_time + interval > now``) is dropped, and every removal is counted in the stats.

Errors (``SourceError`` naming source, symbol and partition):
``retCode`` 10001 (unknown symbol) -> a clear "symbol not listed" error; 10006 (rate limit) -> wait
until ``X-Bapi-Limit-Reset-Timestamp`` then retry; HTTP 403 (IP ban, "access too frequent") ->
:class:`BybitIpBanError`, never retried, and it stops a multi-symbol fetch even in non-strict
mode (every further request would extend the ban); HTTP 429 (``Retry-After``) / 5xx (whatever the
body, a proxy's HTML page included) / timeouts / cut or truncated bodies / retCode 10000 and 10016
-> retried, exponential back-off unless the server names a wait; an HTML page or other non-JSON
text with HTTP 200 -> error at once. Budget (``sources/http.py``): 8 tries per request (7 faults in
a row survived); a server-requested wait above ``CRYPTOFACTOR_MAX_RETRY_WAIT`` (default 120 s)
fails at once with the reason instead of being slept; every wait is logged with its length
(WARNING from 5 s). Messages are redacted and raised without chained exceptions.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import requests

from cryptofactor_assets import settings
from cryptofactor_assets.sources.base import (
    KLINE_COLUMNS,
    FetchStats,
    SourceBatch,
    SourceError,
    empty_klines,
    fetch_each,
    window_label,
)
from cryptofactor_assets.sources.http import (
    RETRYABLE_STATUSES,
    RetryCounter,
    RetryLater,
    body_snippet,
    call_or_source_error,
    client_retry_policy,
    logging_to,
    looks_truncated,
    make_session,
    parse_retry_after,
)
from cryptofactor_assets.sources.redaction import redact

SOURCE = "bybit"
BASE_URL_ENV = settings.BYBIT_BASE_URL_ENV
DEFAULT_BASE_URL = "https://api.bybit.com"
#: Candle length per supported interval, in milliseconds.
INTERVAL_MS = {"5": 300_000, "D": 86_400_000}
CATEGORIES = ("linear", "spot")
MAX_LIMIT = 1000
#: retCodes that are transient server trouble (docs/v5/error.mdx): retried with back-off.
TRANSIENT_RET_CODES = frozenset({10000, 10016})
#: Sanity bounds for a candle start time (ms): 2009-01-01 .. 2100-01-01.
_MIN_MS, _MAX_MS = 1_230_768_000_000, 4_102_444_800_000

_logger = logging.getLogger(__name__)


class BybitIpBanError(SourceError):
    """HTTP 403 from Bybit: the IP exceeded 600 requests / 5 s and is blocked (>= 10 minutes)."""


@dataclass
class KlineFetchStats(FetchStats):
    """What one ``klines`` call did (``rows``, ``retries``, ``notes`` and the paging counts)."""

    pages: int = 0
    duplicates: int = 0
    conflicting_duplicates: int = 0
    open_candle_dropped: int = 0
    outside_window: int = 0


def to_utc_ms(value: Any) -> int:
    """Epoch milliseconds of a date / datetime / Timestamp / ISO text; naive values are UTC."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.tz_convert("UTC").value // 1_000_000)


def _ms_to_naive_utc(ms: np.ndarray) -> np.ndarray:
    return ms.astype("int64").astype("datetime64[ms]").astype("datetime64[ns]")


def parse_kline_list(
    rows: Any, symbol: str, partition: str | None = None, source: str = SOURCE
) -> pd.DataFrame:
    """Parse Bybit's ``result.list`` into a canonical kline frame, in the order received.

    Structure is strict, values are not: the list and every row must be lists of >= 6 fields with
    an integral ``startTime`` (ms, 2009..2100), else the whole page is unusable and a
    ``SourceError`` is raised. Price / volume fields that are not numbers become NaN and are left
    for the validation layer to reject (so no row disappears here). A missing 7th field
    (turnover) is NaN.
    """
    if not isinstance(rows, list):
        raise SourceError(source, symbol, partition, f"kline 'list' is {type(rows).__name__}, not a list")
    if not rows:
        return empty_klines()
    for i, row in enumerate(rows):
        if not isinstance(row, list | tuple) or len(row) < 6:
            raise SourceError(source, symbol, partition,
                              f"kline row {i} is not a list of >= 6 fields: {body_snippet(repr(row), 80)}")
    width = 7
    table = np.full((len(rows), width), None, dtype=object)
    for i, row in enumerate(rows):
        k = min(len(row), width)
        table[i, :k] = row[:k]
    start = pd.to_numeric(pd.Series(table[:, 0]), errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(start) | (start != np.round(start)) | (start < _MIN_MS) | (start > _MAX_MS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SourceError(source, symbol, partition,
                          f"{int(bad.sum())} kline row(s) with an unusable startTime, first at row {i}: "
                          f"{body_snippet(repr(table[i, 0]), 60)}")
    frame = pd.DataFrame({"symbol": np.full(len(rows), symbol, dtype=object),
                          "open_time": _ms_to_naive_utc(start)})
    for j, name in enumerate(["open", "high", "low", "close", "volume", "turnover"], start=1):
        # Non-numeric text, None, bools, nested lists -> NaN (validation rejects them visibly).
        col = pd.Series(table[:, j]).map(_as_float)
        frame[name] = col.to_numpy(dtype="float64")
    return frame[KLINE_COLUMNS]


def _as_float(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return float("nan")
    if isinstance(value, int | float | str):
        try:
            return float(value)
        except (ValueError, OverflowError):
            return float("nan")
    return float("nan")


def decode_json(response: requests.Response, symbol: str | None, partition: str | None,
                source: str = SOURCE) -> Any:
    """The JSON body, else what came instead.

    A body that ends too early (:func:`looks_truncated`: cut by a proxy or a dropped connection) is
    a transient fault: :class:`RetryLater`. An HTML page or other text is a ``SourceError`` at once
    (with HTTP 200 it is not retried; see ``sources/http.py``). Raised outside the ``except``
    block: no chained decoder error.
    """
    content = response.content
    ctype = response.headers.get("Content-Type", "")
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        error_name = type(exc).__name__
    looks_html = "html" in ctype.lower() or content.lstrip()[:1] == b"<"
    truncated = not looks_html and looks_truncated(content)
    kind = ("truncated JSON (the document ends early)" if truncated
            else "an HTML page" if looks_html else "not JSON (invalid, not truncated)")
    described = (f"HTTP {response.status_code} response is {kind} ({len(content)} bytes, Content-Type "
                 f"{ctype or '-'}): {error_name}; body starts {body_snippet(content, 80)!r}")
    if truncated:
        raise RetryLater(described)
    raise SourceError(source, symbol, partition, described)


class BybitClient:
    """Bybit v5 public market-data client (no key needed for market endpoints).

    Parameters
    ----------
    base_url : host, default env ``BYBIT_BASE_URL`` or ``https://api.bybit.com``.
    category : ``"linear"`` (USDT perpetuals) or ``"spot"``.
    session : a ``requests.Session``; default a keep-alive session without transport retries.
    max_tries, backoff, backoff_max : bounded exponential back-off (see ``RetryPolicy``); the
        default 8 tries survive 7 transient faults in a row.
    max_retry_wait : longest server-requested wait honoured (seconds); default env
        ``CRYPTOFACTOR_MAX_RETRY_WAIT`` or 120. A longer one fails the call at once.
    sleep : injectable ``sleep(seconds)``; tests pass a recorder.
    now : injectable ``now() -> datetime`` (UTC); decides the still-open candle and 10006 waits.
    timeout : seconds per HTTP request (connect and read).
    limit : rows per page (1..1000); smaller values only make sense in tests.
    log : ``log(message)`` for progress lines; default ``logging.getLogger(__name__).info``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        category: str = "linear",
        session: requests.Session | None = None,
        max_tries: int = 8,
        backoff: float = 1.0,
        backoff_max: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] | None = None,
        timeout: float = 10.0,
        limit: int = MAX_LIMIT,
        log: Callable[[str], None] | None = None,
        max_retry_wait: float | None = None,
    ):
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES}, got {category!r}")
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be in 1..{MAX_LIMIT}")
        self.base_url = (base_url or settings.bybit_base_url() or DEFAULT_BASE_URL).rstrip("/")
        self.category = category
        self.session = session if session is not None else make_session()
        self.policy = client_retry_policy(max_tries, backoff, backoff_max, max_retry_wait)
        self.sleep = sleep
        self.now = now if now is not None else (lambda: dt.datetime.now(dt.UTC))
        self.timeout = timeout
        self.limit = limit
        self.log = log if log is not None else _logger.info
        self.counter = RetryCounter()

    # ------------------------------------------------------------------ transport
    def _now_ms(self) -> int:
        return to_utc_ms(self.now())

    def get(self, path: str, params: dict[str, Any], symbol: str | None = None,
            partition: str | None = None) -> Any:
        """GET ``path`` and return the envelope's ``result`` after checking ``retCode``.

        Transient faults are retried within ``self.policy`` (budget, wait cap and worst case in
        ``sources/http.py``), each wait logged with its length. Every error is a ``SourceError``
        (or :class:`BybitIpBanError`) with a redacted message and no chained exception.
        """
        url = f"{self.base_url}{path}"
        label = f"bybit {symbol or path}"

        def attempt() -> Any:
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError):
                raise  # retried by call_with_retries, which keeps only the exception's type name
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
                failure: Exception = RetryLater(f"incomplete response body ({type(exc).__name__})")
            except requests.RequestException as exc:
                failure = SourceError(SOURCE, symbol, partition, f"request failed: {redact(exc)}")
            else:
                return self._interpret(response, symbol, partition)
            raise failure  # outside the except block: no chained requests exception (it holds the URL)

        return call_or_source_error(
            self, attempt, label=label, server="Bybit",
            error=lambda text: SourceError(SOURCE, symbol, partition, text),
            exhausted=lambda exc: f"Bybit {path}: {exc}", too_long=lambda exc: f"{exc} [{path}]")

    def _interpret(self, response: requests.Response, symbol: str | None, partition: str | None) -> Any:
        status = response.status_code
        if status == 403:
            raise BybitIpBanError(
                SOURCE, symbol, partition,
                "HTTP 403 from Bybit: IP rate limit breached or IP banned (access too frequent, or a "
                "blocked region). Stopped: stop all sessions and wait at least 10 minutes before retrying",
            )
        if status in RETRYABLE_STATUSES:
            wait = parse_retry_after(response.headers.get("Retry-After"), now=self._now_ms() / 1000)
            raise RetryLater(f"HTTP {status}: {body_snippet(response.content, 60) or 'empty body'}", wait,
                             "Retry-After" if wait is not None else None)
        if status != 200:
            raise SourceError(SOURCE, symbol, partition,
                              f"HTTP {status} from Bybit: {body_snippet(response.content)}")
        payload = decode_json(response, symbol, partition)
        if not isinstance(payload, dict) or "retCode" not in payload:
            raise SourceError(SOURCE, symbol, partition,
                              f"response is not a Bybit v5 envelope: {body_snippet(response.content, 80)}")
        code, msg = payload.get("retCode"), redact(payload.get("retMsg", ""))
        if code == 0:
            if not isinstance(payload.get("result"), dict):
                raise SourceError(SOURCE, symbol, partition, "Bybit envelope without a 'result' object")
            return payload["result"]
        if code == 10006:
            reset = response.headers.get("X-Bapi-Limit-Reset-Timestamp")
            wait = None
            try:
                wait = max(0.0, (int(reset) - self._now_ms()) / 1000.0) if reset is not None else None
            except ValueError:
                wait = None
            raise RetryLater(f"retCode 10006 {msg!r} (rate limit)", wait,
                             "X-Bapi-Limit-Reset-Timestamp" if wait is not None else None)
        if code in TRANSIENT_RET_CODES:
            raise RetryLater(f"retCode {code} {msg!r}")
        if code == 10001:
            raise SourceError(SOURCE, symbol, partition,
                              f"Bybit rejected the request for symbol {symbol!r} in category "
                              f"{self.category!r}: {msg} (retCode 10001). Is the symbol listed there?")
        raise SourceError(SOURCE, symbol, partition, f"Bybit error: {msg} (retCode {code})")

    # ------------------------------------------------------------------ klines
    def klines(self, symbol: str, interval: str, start: Any, end: Any,
               partition: str | None = None) -> pd.DataFrame:
        """Closed candles of ``symbol`` for ``[start, end)``, ascending; rows the server sent outside the window
        are included (the validation layer rejects them as ``outside_partition``, with a reason)."""
        return self.klines_with_stats(symbol, interval, start, end, partition)[0]

    def klines_with_stats(self, symbol: str, interval: str, start: Any, end: Any,
                          partition: str | None = None) -> tuple[pd.DataFrame, KlineFetchStats]:
        if interval not in INTERVAL_MS:
            raise ValueError(f"interval must be one of {sorted(INTERVAL_MS)}, got {interval!r}")
        step_ms = INTERVAL_MS[interval]
        start_ms, end_ms = to_utc_ms(start), to_utc_ms(end)
        stats = KlineFetchStats()
        retries_before = self.counter.retries
        pages: list[pd.DataFrame] = []
        chunk_len = self.limit * step_ms
        for chunk_start in range(start_ms, end_ms, chunk_len):
            chunk_end = min(chunk_start + chunk_len, end_ms) - 1  # Bybit's end is inclusive
            request_end = chunk_end
            while True:
                params = {"category": self.category, "symbol": symbol, "interval": interval,
                          "start": chunk_start, "end": request_end, "limit": self.limit}
                result = self.get("/v5/market/kline", params, symbol, partition)
                page = parse_kline_list(result.get("list"), symbol, partition)
                stats.pages += 1
                if page.empty:
                    break
                pages.append(page)
                oldest = int(page["open_time"].min().value // 1_000_000)
                # Done when the chunk start is reached, or the server made no progress backwards.
                if oldest <= chunk_start or oldest - 1 >= request_end:
                    break
                request_end = oldest - 1
        stats.retries = self.counter.retries - retries_before
        frame = pd.concat(pages, ignore_index=True) if pages else empty_klines()
        frame = self._tidy(frame, start_ms, end_ms, step_ms, stats)
        stats.rows = len(frame) - stats.outside_window  # rows in [start, end); the others go on to be rejected
        return frame, stats

    def _tidy(self, frame: pd.DataFrame, start_ms: int, end_ms: int, step_ms: int,
              stats: KlineFetchStats) -> pd.DataFrame:
        """Ascending rows without the still-open candle and without exact copies (overlapping pages).

        Only what is certainly not data is removed here. Rows outside ``[start_ms, end_ms)`` and rows
        sharing an ``open_time`` with different values are KEPT (counted in ``stats.outside_window``
        and ``stats.conflicting_duplicates``): the validation layer rejects them with a reason
        (``outside_partition``, ``conflicting_duplicate``), so they are never counted as stored.
        """
        if frame.empty:
            return empty_klines()
        ms = frame["open_time"].to_numpy("datetime64[ms]").astype("int64")
        still_open = ms + step_ms > self._now_ms()
        stats.open_candle_dropped = int(still_open.sum())
        frame, ms = frame[~still_open], ms[~still_open]
        inside = (ms >= start_ms) & (ms < end_ms)
        stats.outside_window = int((~inside).sum())
        if stats.outside_window:
            stats.notes.append(f"{stats.outside_window} row(s) outside the requested window: passed to "
                               "validation (rejected as outside_partition)")
        # Stable sort keeps fetch order among equal times.
        frame = frame.sort_values("open_time", kind="stable")
        exact = frame.duplicated(keep="first")  # every column equal: the same row served twice
        stats.duplicates = int(exact.sum())
        frame = frame[~exact]
        stats.conflicting_duplicates = int(frame.duplicated("open_time", keep=False).sum())
        if stats.duplicates:
            stats.notes.append(f"{stats.duplicates} identical duplicate row(s) across pages removed")
        if stats.conflicting_duplicates:
            stats.notes.append(f"{stats.conflicting_duplicates} row(s) share an open_time with different values: "
                               "passed to validation (all quarantined as conflicting_duplicate)")
        return frame.reset_index(drop=True)[KLINE_COLUMNS]

    # ------------------------------------------------------------------ universe
    def instruments(self, status: str | None = "Trading", quote_coin: str | None = None) -> pd.DataFrame:
        """Instruments of the category (``/v5/market/instruments-info``, cursor paging).

        Returns ``symbol, base_coin, quote_coin, status, contract_type, launch_time`` (naive UTC;
        NaT for spot, whose rows carry no launch time).
        """
        rows: list[dict[str, Any]] = []
        cursor, seen = None, set()
        while True:
            params: dict[str, Any] = {"category": self.category, "limit": MAX_LIMIT}
            if status:
                params["status"] = status
            if cursor:
                params["cursor"] = cursor
            result = self.get("/v5/market/instruments-info", params)
            items = result.get("list")
            if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
                raise SourceError(SOURCE, None, None, "instruments-info 'list' is not a list of objects")
            rows.extend(items)
            cursor = result.get("nextPageCursor") or None
            if not cursor or cursor in seen:
                break
            seen.add(cursor)
        frame = pd.DataFrame({
            "symbol": [str(x.get("symbol", "")) for x in rows],
            "base_coin": [x.get("baseCoin") for x in rows],
            "quote_coin": [x.get("quoteCoin") for x in rows],
            "status": [x.get("status") for x in rows],
            "contract_type": [x.get("contractType") for x in rows],
            "launch_time": pd.to_datetime(
                pd.to_numeric(pd.Series([x.get("launchTime") for x in rows], dtype=object), errors="coerce"),
                unit="ms"),
        })
        if quote_coin:
            frame = frame[frame["quote_coin"] == quote_coin].reset_index(drop=True)
        return frame

    # ------------------------------------------------------------------ batch
    def fetch_klines_5m(self, symbols: Iterable[str], start_day: Any, end_day: Any,
                        strict: bool = False, log: Callable[[str], None] | None = None) -> SourceBatch:
        """5-minute klines of every symbol for UTC days ``[start_day, end_day)`` (end exclusive).

        A symbol whose fetch fails is recorded in ``failures`` and the others go on, unless
        ``strict``. An IP ban (HTTP 403) always stops the batch: every further call would extend it.
        ``log`` (default: the client's) receives progress lines (``cryptofactor_assets.progress``): the
        first and the last symbol, one line at most every ~10 s in between (symbols done / total, bars,
        bars per second), every failed symbol, every retry, and a final line.
        """
        if log is not None:
            with logging_to(self, log):
                return self.fetch_klines_5m(symbols, start_day, end_day, strict=strict)
        from cryptofactor_assets.progress import Progress

        symbols = list(dict.fromkeys(symbols))
        start, end = pd.Timestamp(start_day).normalize(), pd.Timestamp(end_day).normalize()
        partition = window_label(start, end)
        totals = {"symbols": len(symbols), "symbols_failed": 0, "pages": 0, "retries": 0, "rows": 0,
                  "duplicates": 0, "open_candles_dropped": 0, "outside_window": 0}
        progress = Progress(f"bybit {self.category} 5m klines {partition}", len(symbols), unit="symbols",
                            amount_unit="bars", log=self.log)
        frames, failures, notes = fetch_each(
            symbols, lambda symbol: self.klines_with_stats(symbol, "5", start, end, partition),
            source="bybit", progress=progress, totals=totals, failed_key="symbols_failed",
            counts={"pages": "pages", "retries": "retries", "rows": "rows", "duplicates": "duplicates",
                    "open_candles_dropped": "open_candle_dropped", "outside_window": "outside_window"},
            describe=lambda st: f"{st.rows} rows, {st.pages} pages, {st.retries} retries",
            strict=strict, stop_on=BybitIpBanError, stop_message="HTTP 403 IP ban, batch stopped")
        progress.finish(f"{totals['symbols_failed']} failed, {totals['pages']} pages, {totals['retries']} retries")
        out = pd.concat(frames, ignore_index=True) if frames else empty_klines()
        notes.insert(0, f"bybit {self.category} 5m klines {partition} (UTC, end exclusive): "
                        f"{len(symbols) - totals['symbols_failed']}/{len(symbols)} symbols, {totals['rows']} rows, "
                        f"{totals['pages']} pages, {totals['retries']} retries")
        if totals["open_candles_dropped"]:
            notes.append(f"{totals['open_candles_dropped']} still-open candle(s) not stored")
        return SourceBatch(frame=out[KLINE_COLUMNS], failures=failures, notes=notes, stats=totals)
