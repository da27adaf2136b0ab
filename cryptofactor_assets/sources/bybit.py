"""Bybit v5 public market data: ``GET /v5/market/kline``, ``GET /v5/market/funding/history`` and
``GET /v5/market/instruments-info``.

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

Funding history (``/v5/market/funding/history``, perpetuals only: ``category`` linear | inverse, so
a spot client is refused before any request). Params ``symbol``, ``startTime``, ``endTime`` (ms,
inclusive), ``limit`` 1..200 (default 200); ``result.list`` holds ``{symbol, fundingRate,
fundingRateTimestamp}`` (strings), newest first. Bybit rejects ``startTime`` alone and answers
``endTime`` alone with the 200 settlements before it, so the client always sends both and pages
backwards (``endTime = oldest - 1``) until it reaches ``startTime`` or gets an empty page. It asks
for :data:`FUNDING_LOOKBACK_MS` before the window too, so the first settlement of the window has a
predecessor: ``interval_hours`` is the gap to the symbol's previous settlement (the API does not
return the interval, which differs by symbol: 8 h for most, 1, 2 or 4 h for some). Rows are sorted
ascending, exact copies removed, rows outside ``[start, end)`` dropped, every removal counted.

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
from cryptofactor_assets.sources.funding import FUNDING_COLUMNS, empty_funding, settlement_intervals
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
FUNDING_PATH = "/v5/market/funding/history"
#: Rows per page of the funding history (Bybit: 1..200, default 200).
FUNDING_MAX_LIMIT = 200
#: Categories with funding (perpetual contracts); spot has none.
FUNDING_CATEGORIES = ("linear", "inverse")
#: Settlements fetched before the window to know the first one's interval (the longest Bybit interval).
FUNDING_LOOKBACK_MS = 8 * 3_600_000
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


@dataclass
class FundingFetchStats(FetchStats):
    """What one ``funding_history`` call did (``rows`` in the window, ``retries``, ``notes``, paging)."""

    pages: int = 0
    duplicates: int = 0
    conflicting_duplicates: int = 0
    outside_window: int = 0  # rows after the window, or before its look-back: dropped
    lookback: int = 0  # rows of the look-back before the window (used for intervals, then dropped)


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


def parse_funding_list(
    rows: Any, symbol: str, partition: str | None = None, source: str = SOURCE
) -> pd.DataFrame:
    """Parse Bybit's funding ``result.list`` into ``symbol, funding_time, funding_rate`` (received order).

    Structure is strict, values are not: the list must hold objects, each with an integral
    ``fundingRateTimestamp`` (ms, 2009..2100) and, when it names one, the requested ``symbol``;
    else the whole page is unusable and a ``SourceError`` is raised. A ``fundingRate`` that is not a
    number becomes NaN, left for the validation layer to reject (no row disappears here).
    ``interval_hours`` is not in the response: the client derives it (NaN here).
    """
    if not isinstance(rows, list):
        raise SourceError(source, symbol, partition, f"funding 'list' is {type(rows).__name__}, not a list")
    if not rows:
        return empty_funding()
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise SourceError(source, symbol, partition,
                              f"funding row {i} is not an object: {body_snippet(repr(row), 80)}")
        named = row.get("symbol")
        if named not in (None, "", symbol):
            raise SourceError(source, symbol, partition,
                              f"funding row {i} is for symbol {body_snippet(repr(named), 30)}, not {symbol!r}")
    stamps = pd.to_numeric(pd.Series([row.get("fundingRateTimestamp") for row in rows], dtype=object),
                           errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(stamps) | (stamps != np.round(stamps)) | (stamps < _MIN_MS) | (stamps > _MAX_MS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SourceError(source, symbol, partition,
                          f"{int(bad.sum())} funding row(s) with an unusable fundingRateTimestamp, first at "
                          f"row {i}: {body_snippet(repr(rows[i].get('fundingRateTimestamp')), 60)}")
    return pd.DataFrame({
        "symbol": np.full(len(rows), symbol, dtype=object),
        "funding_time": _ms_to_naive_utc(stamps),
        "funding_rate": np.array([_as_float(row.get("fundingRate")) for row in rows], dtype="float64"),
        "interval_hours": np.full(len(rows), np.nan),
    })[FUNDING_COLUMNS]


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

    # ------------------------------------------------------------------ funding
    def _require_funding_category(self) -> None:
        """Refuse a client whose category has no funding (spot), before any request."""
        if self.category not in FUNDING_CATEGORIES:
            raise ValueError(
                f"Bybit category {self.category!r} has no funding rates: funding is paid on perpetual "
                f"contracts only (category {' | '.join(FUNDING_CATEGORIES)}); use a 'linear' client")

    def funding_history(self, symbol: str, start: Any, end: Any, partition: str | None = None) -> pd.DataFrame:
        """Funding settlements of the perpetual ``symbol`` with ``funding_time`` in ``[start, end)``, ascending
        (``funding.FUNDING_COLUMNS``; see :meth:`funding_history_with_stats`)."""
        return self.funding_history_with_stats(symbol, start, end, partition)[0]

    def funding_history_with_stats(self, symbol: str, start: Any, end: Any, partition: str | None = None
                                   ) -> tuple[pd.DataFrame, FundingFetchStats]:
        """``GET /v5/market/funding/history`` paged backwards over ``[start - FUNDING_LOOKBACK_MS, end)``.

        Every request sends ``startTime`` and ``endTime`` (inclusive: ``end - 1`` ms, then ``oldest - 1``
        of the previous page) and ``limit = min(self.limit, 200)``; paging stops at the first empty
        page, when the oldest row reaches ``startTime``, or when the server makes no progress
        backwards. Then (:meth:`_tidy_funding`) rows are sorted ascending, exact copies removed,
        ``interval_hours`` set from the gaps between settlements, and rows outside ``[start, end)``
        dropped; all counted in the stats. Two versions of one settlement are both kept (the
        validation layer quarantines them as ``conflicting_duplicate``).
        """
        self._require_funding_category()
        start_ms, end_ms = to_utc_ms(start), to_utc_ms(end)
        stats = FundingFetchStats()
        if end_ms <= start_ms:
            return empty_funding(), stats
        retries_before = self.counter.retries
        first_ms = start_ms - FUNDING_LOOKBACK_MS
        request_end = end_ms - 1  # Bybit's endTime is inclusive
        limit = min(self.limit, FUNDING_MAX_LIMIT)
        pages: list[pd.DataFrame] = []
        while True:
            params = {"category": self.category, "symbol": symbol, "startTime": first_ms,
                      "endTime": request_end, "limit": limit}
            result = self.get(FUNDING_PATH, params, symbol, partition)
            page = parse_funding_list(result.get("list"), symbol, partition)
            stats.pages += 1
            if page.empty:
                break
            pages.append(page)
            oldest = int(page["funding_time"].min().value // 1_000_000)
            # Done when the start is reached, or the server made no progress backwards.
            if oldest <= first_ms or oldest - 1 >= request_end:
                break
            request_end = oldest - 1
        stats.retries = self.counter.retries - retries_before
        frame = pd.concat(pages, ignore_index=True) if pages else empty_funding()
        frame = self._tidy_funding(frame, start_ms, end_ms, first_ms, stats)
        stats.rows = len(frame)
        return frame, stats

    @staticmethod
    def _tidy_funding(frame: pd.DataFrame, start_ms: int, end_ms: int, first_ms: int,
                      stats: FundingFetchStats) -> pd.DataFrame:
        """Ascending rows of ``[start_ms, end_ms)`` without exact copies, with ``interval_hours``.

        The interval is computed before the window is cut, so the look-back rows
        (``[first_ms, start_ms)``) give the first settlement of the window its predecessor.
        """
        if frame.empty:
            return empty_funding()
        frame = frame.sort_values("funding_time", kind="stable")  # stable: fetch order among equal times
        exact = frame.duplicated(["symbol", "funding_time", "funding_rate"], keep="first")
        stats.duplicates = int(exact.sum())
        frame = frame[~exact].copy()
        frame["interval_hours"] = settlement_intervals(frame["funding_time"].to_numpy())
        ms = frame["funding_time"].to_numpy("datetime64[ms]").astype("int64")
        inside = (ms >= start_ms) & (ms < end_ms)
        lookback = (ms >= first_ms) & (ms < start_ms)
        stats.lookback = int(lookback.sum())
        stats.outside_window = int((~inside & ~lookback).sum())
        frame = frame[inside]
        stats.conflicting_duplicates = int(frame.duplicated("funding_time", keep=False).sum())
        if stats.duplicates:
            stats.notes.append(f"{stats.duplicates} identical duplicate row(s) across pages removed")
        if stats.outside_window:
            stats.notes.append(f"{stats.outside_window} row(s) the server sent outside the requested window dropped")
        if stats.conflicting_duplicates:
            stats.notes.append(f"{stats.conflicting_duplicates} row(s) share a funding_time with different rates: "
                               "passed to validation (all quarantined as conflicting_duplicate)")
        return frame.reset_index(drop=True)[FUNDING_COLUMNS]

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
        batch = self._batch(
            "5m klines", "bars", symbols, start_day, end_day,
            lambda symbol, start, end, partition: self.klines_with_stats(symbol, "5", start, end, partition),
            {"pages": "pages", "retries": "retries", "rows": "rows", "duplicates": "duplicates",
             "open_candles_dropped": "open_candle_dropped", "outside_window": "outside_window"},
            empty_klines, KLINE_COLUMNS, strict, log)
        if batch.stats["open_candles_dropped"]:
            batch.notes.append(f"{batch.stats['open_candles_dropped']} still-open candle(s) not stored")
        return batch

    def fetch_funding(self, symbols: Iterable[str], start_day: Any, end_day: Any,
                      strict: bool = False, log: Callable[[str], None] | None = None) -> SourceBatch:
        """Funding settlements of every perpetual in ``symbols`` with funding_time in UTC days
        ``[start_day, end_day)`` (end exclusive), in ``funding.FUNDING_COLUMNS``.

        Failures, strict mode, the IP-ban stop and progress lines as :meth:`fetch_klines_5m`. A spot
        client is refused at once (``ValueError``): spot pays no funding.
        """
        self._require_funding_category()
        return self._batch(
            "funding rates", "settlements", symbols, start_day, end_day, self.funding_history_with_stats,
            {"pages": "pages", "retries": "retries", "rows": "rows", "duplicates": "duplicates",
             "outside_window": "outside_window"},
            empty_funding, FUNDING_COLUMNS, strict, log)

    def _batch(self, what: str, amount_unit: str, symbols: Iterable[str], start_day: Any, end_day: Any,
               fetch_one: Callable[[str, pd.Timestamp, pd.Timestamp, str], tuple[pd.DataFrame, FetchStats]],
               counts: dict[str, str], empty: Callable[[], pd.DataFrame], columns: list[str], strict: bool,
               log: Callable[[str], None] | None) -> SourceBatch:
        """One multi-symbol fetch (``base.fetch_each``) of ``fetch_one(symbol, start, end, partition)`` over the
        UTC days ``[start_day, end_day)``: frames, failures, notes and the ``counts`` totals, with progress."""
        if log is not None:
            with logging_to(self, log):
                return self._batch(what, amount_unit, symbols, start_day, end_day, fetch_one, counts, empty,
                                   columns, strict, None)
        from cryptofactor_assets.progress import Progress

        symbols = list(dict.fromkeys(symbols))
        start, end = pd.Timestamp(start_day).normalize(), pd.Timestamp(end_day).normalize()
        partition = window_label(start, end)
        totals = {"symbols": len(symbols), "symbols_failed": 0, **dict.fromkeys(counts, 0)}
        progress = Progress(f"bybit {self.category} {what} {partition}", len(symbols), unit="symbols",
                            amount_unit=amount_unit, log=self.log)
        frames, failures, notes = fetch_each(
            symbols, lambda symbol: fetch_one(symbol, start, end, partition),
            source="bybit", progress=progress, totals=totals, failed_key="symbols_failed", counts=counts,
            describe=lambda st: f"{st.rows} rows, {st.pages} pages, {st.retries} retries",
            strict=strict, stop_on=BybitIpBanError, stop_message="HTTP 403 IP ban, batch stopped")
        progress.finish(f"{totals['symbols_failed']} failed, {totals['pages']} pages, {totals['retries']} retries")
        out = pd.concat(frames, ignore_index=True) if frames else empty()
        notes.insert(0, f"bybit {self.category} {what} {partition} (UTC, end exclusive): "
                        f"{len(symbols) - totals['symbols_failed']}/{len(symbols)} symbols, {totals['rows']} rows, "
                        f"{totals['pages']} pages, {totals['retries']} retries")
        return SourceBatch(frame=out[columns], failures=failures, notes=notes, stats=totals)
