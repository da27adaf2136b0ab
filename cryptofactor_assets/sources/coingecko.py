"""CoinGecko daily markets (price, market cap, 24h volume) through ``pycoingecko``.

Endpoints (docs.coingecko.com; layouts in ``shared/reference/api-layouts.md``):

* ``/coins/markets`` -> the top-N universe (array of objects, ``market_cap_desc``, 250 per page);
* ``/coins/{id}/market_chart/range`` -> ``{"prices": [[ms, v], ...], "market_caps": ...,
  "total_volumes": ...}``. Granularity is automatic: ranges longer than 90 days give **daily points
  at 00:00 UTC**, so a short window is widened to 91 days ending at the window's end (and then
  cut back), which keeps one daily row per date whatever window a partition asks for.

Daily rows: a point's date is its UTC timestamp floored to the day. When a date has several points
(the live "now" point next to the 00:00 snapshot) the earliest one is kept; the live point of the
current UTC day is never stored (like Bybit's still-open candle); off-midnight points that are the
only point of their (past) date are kept and counted. ``market_cap`` 0 and NaN are kept: the
validation layer decides.

How ``pycoingecko`` 3.2 works (read from its ``api.py``), and what this module does about it:

* URLs are ``api_base_url + "coins/markets"`` with ``api_base_url`` an instance attribute
  (``https://api.coingecko.com/api/v3/`` keyless/demo, ``https://pro-api.coingecko.com/api/v3/``
  pro), so ``COINGECKO_BASE_URL`` simply overrides it (tests point it at a local server);
* the key travels as a query parameter (``x_cg_pro_api_key`` / ``x_cg_demo_api_key``), and
  ``requests``' own errors quote the full URL ("401 Client Error: Unauthorized for url:
  ...&x_cg_demo_api_key=KEY"). So the key is registered with ``sources/redaction.py``, every
  message raised or logged goes through ``redact``, and no error is raised with a chained
  exception: errors are built inside the ``except`` block and raised after it (a chained
  ``HTTPError`` would land, URL and key included, in Dagster's event log and on the console);
* its session retries 502/503/504 inside urllib3 (https only); it is replaced by a plain session
  so that retries are counted here and ``retry-after`` is honoured;
* on an HTTP error with a JSON body it raises ``ValueError(<body dict>)`` (status and headers
  lost), with a non-JSON body it re-raises ``requests.HTTPError``. A response hook on the session
  keeps the last response, which gives back the status code and the ``retry-after`` header.

Survivorship. The coins fetched are the ids the user lists (``--coingecko-ids``); ``top_coins`` returns
*today's* top N. A universe built from either is survivorship-biased: coins that died before today
are missing, and every backtest on it overstates the returns of small coins (LTW include dead coins).
``--dead-coingecko-ids`` adds the user's list of dead coins (CoinGecko lists them with
``/coins/list?status=inactive``; their history is served while CoinGecko keeps it, and an id it no
longer serves fails for that coin with the 404 reason, reported in ``source_fetch_complete``). The
strategies' daily book closes a position whose coin's data end for good at the configured
delisting return instead of rescaling the others.

Errors: 429 -> wait ``retry-after`` (else back-off) and retry; 5xx (an HTML page included) /
timeouts / cut or truncated bodies -> back-off and retry; 401 with error_code 10012 (history beyond
the plan) -> ``SourceError`` naming the coin and the range; other 401/403 -> key / plan error; 404
-> unknown coin id; an HTML page or other non-JSON text with HTTP 200, or a body that is not the
expected JSON -> ``SourceError`` at once. Budget (``sources/http.py``): 8 tries per request; a
``retry-after`` above ``CRYPTOFACTOR_MAX_RETRY_WAIT`` (default 120 s) fails at once with the reason;
every wait (retries and the client-side sliding-window rate limiter that keeps calls per minute
under the plan) is logged with its length, at WARNING from 5 s.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import requests
from pycoingecko import CoinGeckoAPI

from cryptofactor_assets import settings
from cryptofactor_assets.sources.base import (
    MARKET_COLUMNS,
    FetchStats,
    SourceBatch,
    SourceError,
    empty_markets,
    fetch_each,
    window_label,
)
from cryptofactor_assets.sources.http import (
    RETRYABLE_STATUSES,
    RateLimiter,
    RetryCounter,
    RetryLater,
    body_snippet,
    call_or_source_error,
    client_retry_policy,
    fmt_seconds,
    log_wait,
    logging_to,
    looks_truncated,
    make_session,
    parse_retry_after,
)
from cryptofactor_assets.sources.redaction import redact, register_secret

SOURCE = "coingecko"
API_KEY_ENV = settings.COINGECKO_API_KEY_ENV
PLAN_ENV = settings.COINGECKO_PLAN_ENV
BASE_URL_ENV = settings.COINGECKO_BASE_URL_ENV
CALLS_PER_MINUTE_ENV = settings.COINGECKO_CALLS_PER_MINUTE_ENV
PLANS = ("keyless", "demo", "pro")
#: Conservative defaults below the published limits (public ~5-15/min, demo 30/min, paid >= 500/min).
DEFAULT_CALLS_PER_MINUTE = {"keyless": 5.0, "demo": 25.0, "pro": 250.0}
#: Ranges longer than 90 days come back as daily points (CoinGecko auto-granularity).
DAILY_SPAN = pd.Timedelta(days=91)
MS_PER_DAY = 86_400_000

_logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------- coin id <-> exchange symbol
#: Default CoinGecko id -> (CoinGecko ticker, exchange symbol). The pipeline copies it into the
#: user-editable ``coin_symbols`` table; exchange symbols follow the "<TICKER>USDT" spot naming
#: (Bybit linear lists a few coins per 1000 units, e.g. SHIB1000USDT: edit the table for those).
_DEFAULT_COINS: tuple[tuple[str, str, str], ...] = (
    ("bitcoin", "btc", "BTCUSDT"), ("ethereum", "eth", "ETHUSDT"), ("binancecoin", "bnb", "BNBUSDT"),
    ("solana", "sol", "SOLUSDT"), ("ripple", "xrp", "XRPUSDT"), ("cardano", "ada", "ADAUSDT"),
    ("dogecoin", "doge", "DOGEUSDT"), ("tron", "trx", "TRXUSDT"), ("avalanche-2", "avax", "AVAXUSDT"),
    ("polkadot", "dot", "DOTUSDT"), ("chainlink", "link", "LINKUSDT"), ("litecoin", "ltc", "LTCUSDT"),
    ("bitcoin-cash", "bch", "BCHUSDT"), ("near", "near", "NEARUSDT"), ("matic-network", "matic", "MATICUSDT"),
    ("uniswap", "uni", "UNIUSDT"), ("stellar", "xlm", "XLMUSDT"), ("cosmos", "atom", "ATOMUSDT"),
    ("ethereum-classic", "etc", "ETCUSDT"), ("filecoin", "fil", "FILUSDT"), ("aptos", "apt", "APTUSDT"),
    ("arbitrum", "arb", "ARBUSDT"), ("optimism", "op", "OPUSDT"), ("internet-computer", "icp", "ICPUSDT"),
    ("hedera-hashgraph", "hbar", "HBARUSDT"), ("injective-protocol", "inj", "INJUSDT"),
    ("aave", "aave", "AAVEUSDT"), ("maker", "mkr", "MKRUSDT"), ("the-graph", "grt", "GRTUSDT"),
    ("algorand", "algo", "ALGOUSDT"), ("fantom", "ftm", "FTMUSDT"), ("tezos", "xtz", "XTZUSDT"),
    ("theta-token", "theta", "THETAUSDT"), ("shiba-inu", "shib", "SHIBUSDT"), ("pepe", "pepe", "PEPEUSDT"),
    ("dogwifcoin", "wif", "WIFUSDT"), ("bittensor", "tao", "TAOUSDT"), ("fetch-ai", "fet", "FETUSDT"),
    ("sui", "sui", "SUIUSDT"), ("sei-network", "sei", "SEIUSDT"), ("celestia", "tia", "TIAUSDT"),
    ("kusama", "ksm", "KSMUSDT"), ("compound-governance-token", "comp", "COMPUSDT"),
    ("curve-dao-token", "crv", "CRVUSDT"), ("havven", "snx", "SNXUSDT"), ("yearn-finance", "yfi", "YFIUSDT"),
    ("sushi", "sushi", "SUSHIUSDT"), ("pancakeswap-token", "cake", "CAKEUSDT"), ("loopring", "lrc", "LRCUSDT"),
    ("balancer", "bal", "BALUSDT"), ("arweave", "ar", "ARUSDT"), ("helium", "hnt", "HNTUSDT"),
    ("dydx", "dydx", "DYDXUSDT"), ("ftx-token", "ftt", "FTTUSDT"), ("terra-luna", "lunc", "LUNCUSDT"),
    ("terra-luna-2", "luna", "LUNAUSDT"), ("raydium", "ray", "RAYUSDT"), ("serum", "srm", "SRMUSDT"),
    ("lido-dao", "ldo", "LDOUSDT"), ("the-sandbox", "sand", "SANDUSDT"), ("decentraland", "mana", "MANAUSDT"),
    ("axie-infinity", "axs", "AXSUSDT"), ("apecoin", "ape", "APEUSDT"), ("bitcoin-cash-sv", "bsv", "BSVUSDT"),
    ("eos", "eos", "EOSUSDT"), ("monero", "xmr", "XMRUSDT"), ("zcash", "zec", "ZECUSDT"), ("dash", "dash", "DASHUSDT"),
)


def default_coin_symbols() -> pd.DataFrame:
    """The default ``coin_symbols`` table: ``coin_id`` (CoinGecko id), ``cg_symbol``, ``symbol``."""
    return pd.DataFrame(list(_DEFAULT_COINS), columns=["coin_id", "cg_symbol", "symbol"])


def guess_symbol(ticker: str, quote: str = "USDT") -> str:
    """Exchange symbol from a CoinGecko ticker (``btc`` -> ``BTCUSDT``)."""
    return f"{ticker.strip().upper()}{quote}"


def symbol_lookup(symbol_map: Mapping[str, str] | pd.DataFrame | None) -> dict[str, str]:
    """coin_id -> exchange symbol from a mapping or a ``coin_symbols``-like frame (default table)."""
    if symbol_map is None:
        symbol_map = default_coin_symbols()
    if isinstance(symbol_map, pd.DataFrame):
        if not {"coin_id", "symbol"} <= set(symbol_map.columns):
            raise ValueError("a coin_symbols frame needs columns coin_id and symbol")
        pairs = symbol_map.dropna(subset=["coin_id", "symbol"])
        return dict(zip(pairs["coin_id"].astype(str), pairs["symbol"].astype(str), strict=True))
    return {str(k): str(v) for k, v in symbol_map.items()}


# ---------------------------------------------------------------------- parsing (pure)
def _error_parts(body: Any) -> tuple[int | None, str]:
    """(error_code, message) from either CoinGecko error envelope (``status`` or ``error.status``)."""
    if not isinstance(body, dict):
        return None, body_snippet(str(body))
    status = body.get("status")
    if not isinstance(status, dict) and isinstance(body.get("error"), dict):
        status = body["error"].get("status")
    if isinstance(status, dict):
        code = status.get("error_code")
        return (code if isinstance(code, int) else None), str(status.get("error_message", ""))
    if "error" in body:
        return None, str(body["error"])
    return None, body_snippet(json.dumps(body, default=str))


def _series(payload: dict[str, Any], key: str, coin_id: str, partition: str | None) -> pd.Series:
    points = payload.get(key, [])
    if points is None:
        points = []
    if not isinstance(points, list):
        raise SourceError(SOURCE, coin_id, partition, f"'{key}' is {type(points).__name__}, not a list")
    ts = np.empty(len(points), dtype="float64")
    values = np.empty(len(points), dtype="float64")
    for i, point in enumerate(points):
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise SourceError(SOURCE, coin_id, partition, f"'{key}' point {i} is not [timestamp_ms, value]")
        t, v = point
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or not 0 <= t < 4.2e12:
            raise SourceError(SOURCE, coin_id, partition, f"'{key}' point {i} has an unusable timestamp {t!r}")
        ts[i] = t
        values[i] = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan
    s = pd.Series(values, index=ts.astype("int64"), name=key)
    # Duplicate timestamps inside one series: keep the first (the API does not send them).
    return s[~s.index.duplicated(keep="first")]


@dataclass
class ChartStats(FetchStats):
    """What one market-chart call did (``rows``, ``retries``, ``notes`` and the point counts)."""

    points: int = 0
    off_midnight: int = 0
    intraday_dropped: int = 0
    live_dropped: int = 0
    zero_market_caps: int = 0
    nan_market_caps: int = 0


def parse_market_chart(payload: Any, coin_id: str, symbol: str, partition: str | None = None,
                       today: dt.date | None = None, stats: ChartStats | None = None) -> pd.DataFrame:
    """Daily canonical market rows from a ``market_chart(/range)`` body.

    The three series are joined on their timestamps (a series without a point -> NaN); the date is
    the UTC floor of the timestamp; per date the earliest point is kept; an off-midnight point on
    ``today`` (UTC) is the live price and is dropped. Returns all dates (no window cut).
    """
    stats = stats if stats is not None else ChartStats()
    if not isinstance(payload, dict) or "prices" not in payload:
        raise SourceError(SOURCE, coin_id, partition,
                          f"market_chart body is not an object with 'prices': {body_snippet(repr(payload), 80)}")
    cols = {key: _series(payload, key, coin_id, partition) for key in ("prices", "market_caps", "total_volumes")}
    table = pd.concat(cols, axis=1).sort_index()
    stats.points = len(table)
    if table.empty:
        return empty_markets()
    ms = table.index.to_numpy(dtype="int64")
    day_ms = ms - ms % MS_PER_DAY
    off = ms != day_ms
    first_of_day = ~pd.Series(day_ms).duplicated(keep="first").to_numpy()
    live = np.zeros(len(ms), dtype=bool)
    if today is not None:
        today_ms = int(pd.Timestamp(today).value // 1_000_000)
        live = off & (day_ms >= today_ms)
    keep = first_of_day & ~live
    stats.intraday_dropped = int((~first_of_day & ~live).sum())
    stats.live_dropped = int(live.sum())
    stats.off_midnight = int((keep & off).sum())
    out = pd.DataFrame({
        "coin_id": coin_id,
        "symbol": symbol,
        "date": day_ms[keep].astype("datetime64[ms]").astype("datetime64[ns]"),
        "price": table["prices"].to_numpy()[keep],
        "market_cap": table["market_caps"].to_numpy()[keep],
        "total_volume": table["total_volumes"].to_numpy()[keep],
    })
    return out[MARKET_COLUMNS]


# ---------------------------------------------------------------------- client
class CoinGeckoSource:
    """CoinGecko market data with retries, a rate limiter and a redacted key.

    Parameters
    ----------
    api_key : key; default env ``COINGECKO_API_KEY`` (none = keyless public API).
    plan : ``"demo"`` or ``"pro"``; default env ``COINGECKO_API_PLAN``, else ``demo`` with a key.
    calls_per_minute : client-side limit; default env ``COINGECKO_CALLS_PER_MINUTE`` or per plan.
    base_url : API root (``.../api/v3/``); default env ``COINGECKO_BASE_URL`` or pycoingecko's.
    api : an existing ``CoinGeckoAPI`` (its session is replaced so retries are counted here).
    max_tries, backoff, backoff_max : bounded exponential back-off (``RetryPolicy``; 8 tries).
    max_retry_wait : longest ``retry-after`` honoured (seconds); default env
        ``CRYPTOFACTOR_MAX_RETRY_WAIT`` or 120. A longer one fails the call at once.
    sleep, clock : injectable time (tests); ``now`` gives the UTC day for the live-point rule
        and the reference time of an HTTP-date ``retry-after``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        plan: str | None = None,
        calls_per_minute: float | None = None,
        base_url: str | None = None,
        api: CoinGeckoAPI | None = None,
        max_tries: int = 8,
        backoff: float = 2.0,
        backoff_max: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] | None = None,
        timeout: float = 30.0,
        vs_currency: str = "usd",
        log: Callable[[str], None] | None = None,
        max_retry_wait: float | None = None,
    ):
        key = api_key if api_key is not None else settings.coingecko_api_key()
        register_secret(key)
        plan = (plan or settings.coingecko_plan() or ("demo" if key else "keyless")).lower()
        if plan not in PLANS:
            raise ValueError(f"{PLAN_ENV} must be demo or pro, got {plan!r}")
        if plan != "keyless" and not key:
            raise ValueError(f"plan {plan!r} needs a key ({API_KEY_ENV})")
        if plan == "keyless" and key:
            plan = "demo"
        self.plan = plan
        self._key = key
        if api is None:
            api = CoinGeckoAPI(api_key=key) if plan == "pro" else CoinGeckoAPI(demo_api_key=key)
        base_url = base_url or settings.coingecko_base_url()
        if base_url:
            api.api_base_url = base_url.rstrip("/") + "/"
        api.request_timeout = timeout
        session = make_session()
        session.hooks["response"].append(self._remember)
        api.session = session
        self.api = api
        self._last_response: requests.Response | None = None
        cpm = calls_per_minute or settings.coingecko_calls_per_minute() or DEFAULT_CALLS_PER_MINUTE[plan]
        self.limiter = RateLimiter(cpm, clock=clock, sleep=sleep)
        self.policy = client_retry_policy(max_tries, backoff, backoff_max, max_retry_wait)
        self.sleep = sleep
        self.now = now if now is not None else (lambda: dt.datetime.now(dt.UTC))
        self.vs_currency = vs_currency
        self.log = log if log is not None else _logger.info
        self.counter = RetryCounter()
        self._cache: OrderedDict[tuple, Any] = OrderedDict()

    @classmethod
    def from_env(cls, **kwargs: Any) -> CoinGeckoSource:
        """A source configured from ``COINGECKO_*`` environment variables."""
        return cls(**kwargs)

    def __repr__(self) -> str:  # never show the key
        return f"CoinGeckoSource(plan={self.plan!r}, base_url={self.api.api_base_url!r})"

    # ------------------------------------------------------------------ transport
    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self._last_response = response
        return response

    def redact(self, text: str) -> str:
        """``text`` with the key (and every other configured secret) masked; see ``redaction.py``."""
        return redact(text)

    def _call(self, method: str, what: str, coin_id: str | None, partition: str | None,
              *args: Any, **kwargs: Any) -> Any:
        """Call ``self.api.<method>`` through the rate limiter, with retries (``sources/http.py``).

        Every error is a ``SourceError`` with a redacted message and no chained exception.
        """
        fn = getattr(self.api, method)
        label = f"coingecko {coin_id or what}"

        def on_limiter_wait(seconds: float) -> None:
            log_wait(self.log, f"{label}: waiting {fmt_seconds(seconds)} s for the client-side rate limit "
                               f"({self.limiter.capacity} calls/min, {self.plan} plan; {CALLS_PER_MINUTE_ENV})",
                     seconds)

        def attempt() -> Any:
            self.limiter.acquire(on_wait=on_limiter_wait)
            self._last_response = None
            failure: Exception
            try:
                return fn(*args, **kwargs)
            except json.JSONDecodeError:  # pycoingecko: a 2xx body that is not JSON
                failure = self._undecodable(what, coin_id, partition)
            except (requests.Timeout, requests.ConnectionError):
                raise  # retried by call_with_retries, which keeps only the exception's type name
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
                failure = RetryLater(f"incomplete response body ({type(exc).__name__})")
            except requests.HTTPError:  # pycoingecko: an HTTP error with a non-JSON body
                failure = self._error_for(None, what, coin_id, partition)
            except requests.RequestException as exc:  # (InvalidURL & co are ValueErrors too: caught first)
                failure = SourceError(SOURCE, coin_id, partition, f"{what}: request failed: {redact(exc)}")
            except ValueError as exc:  # pycoingecko: an HTTP error with a JSON body, ValueError(<body>)
                failure = self._error_for(exc.args[0] if exc.args else None, what, coin_id, partition)
            # Raised outside the except block: the caught exception (whose text holds the URL and
            # the key) is not chained to it.
            raise failure

        return call_or_source_error(
            self, attempt, label=label, server="CoinGecko",
            error=lambda text: SourceError(SOURCE, coin_id, partition, text),
            exhausted=lambda exc: f"{what}: {exc}", too_long=lambda exc: f"{what}: {exc}")

    def _retry_after(self, resp: requests.Response | None) -> tuple[float | None, str | None]:
        """(seconds, "retry-after") from the response's ``retry-after`` header, or (None, None)."""
        if resp is None:
            return None, None
        wait = parse_retry_after(resp.headers.get("retry-after"), now=self.now().timestamp())
        return wait, ("retry-after" if wait is not None else None)

    def _undecodable(self, what: str, coin_id: str | None, partition: str | None) -> Exception:
        """What to raise for a body pycoingecko could not decode (it raised ``JSONDecodeError``)."""
        resp = self._last_response
        status = resp.status_code if resp is not None else None
        content = resp.content if resp is not None else b""
        if status in RETRYABLE_STATUSES:
            return RetryLater(f"HTTP {status}: {body_snippet(content, 60) or 'empty body'}", *self._retry_after(resp))
        looks_html = content.lstrip()[:1] == b"<"
        if not looks_html and looks_truncated(content):
            return RetryLater(f"HTTP {status} response is truncated JSON (the document ends early, "
                              f"{len(content)} bytes)")
        kind = "an HTML page" if looks_html else "not JSON (invalid, not truncated)"
        return SourceError(SOURCE, coin_id, partition,
                           f"{what}: HTTP {status} response is {kind}: {body_snippet(content, 80)!r}")

    def _error_for(self, body: Any, what: str, coin_id: str | None, partition: str | None) -> Exception:
        """What to raise for an HTTP error response (``body``: its decoded JSON, or None)."""
        resp = self._last_response
        status = resp.status_code if resp is not None else None
        code, message = _error_parts(body) if body is not None else (None, "")
        message = redact(message.strip())
        snippet = body_snippet(resp.content if resp is not None else b"", 80)
        coded = f" (error {code})" if code is not None else ""
        if status == 429 or code == 429:
            return RetryLater("HTTP 429 rate limit", *self._retry_after(resp))
        if status in RETRYABLE_STATUSES:
            return RetryLater(f"HTTP {status}{coded}: {message or snippet or 'empty body'}", *self._retry_after(resp))
        if code == 10012:
            return SourceError(
                SOURCE, coin_id, partition,
                f"{what}: CoinGecko refused the history (error 10012, HTTP {status}): {message} "
                f"Plan {self.plan!r}: keyless/demo keys only reach the past 365 days; use a paid key "
                f"({API_KEY_ENV} with {PLAN_ENV}=pro) or CoinGecko export CSV files (--source files --markets)")
        if status in (401, 403):
            return SourceError(
                SOURCE, coin_id, partition,
                f"{what}: HTTP {status} from CoinGecko{coded}: {message or snippet or 'unauthorized'}. "
                f"Check {API_KEY_ENV} and {PLAN_ENV} (demo keys use api.coingecko.com, pro keys pro-api)")
        if status == 404:
            return SourceError(SOURCE, coin_id, partition,
                               f"{what}: HTTP 404, unknown CoinGecko id or path: {message or snippet}")
        return SourceError(SOURCE, coin_id, partition, f"{what}: HTTP {status}{coded}: {message or snippet}")

    # ------------------------------------------------------------------ endpoints
    def top_coins(self, n: int, vs_currency: str | None = None) -> pd.DataFrame:
        """Top ``n`` coins by market cap now (``/coins/markets``, 250 per page).

        Columns: ``coin_id, cg_symbol, name, market_cap_rank, market_cap, current_price,
        total_volume, symbol`` (exchange symbol from the default table, else guessed).
        """
        if n < 1:
            raise ValueError("n must be >= 1")
        vs = vs_currency or self.vs_currency
        rows: list[dict[str, Any]] = []
        per_page = min(250, n)
        for page in range(1, math.ceil(n / per_page) + 1):
            body = self._call("get_coins_markets", f"/coins/markets page {page}", None, None,
                              vs_currency=vs, order="market_cap_desc", per_page=per_page, page=page)
            if not isinstance(body, list) or not all(isinstance(x, dict) and "id" in x for x in body):
                raise SourceError(SOURCE, None, None, "/coins/markets did not return an array of coin objects")
            rows.extend(body)
            if len(body) < per_page:
                break
        rows = rows[:n]
        known = symbol_lookup(None)

        def num(x: Any) -> float:
            return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else np.nan

        return pd.DataFrame({
            "coin_id": [str(x["id"]) for x in rows],
            "cg_symbol": [str(x.get("symbol", "")) for x in rows],
            "name": [x.get("name") for x in rows],
            "market_cap_rank": [num(x.get("market_cap_rank")) for x in rows],
            "market_cap": [num(x.get("market_cap")) for x in rows],
            "current_price": [num(x.get("current_price")) for x in rows],
            "total_volume": [num(x.get("total_volume")) for x in rows],
            "symbol": [known.get(str(x["id"]), guess_symbol(str(x.get("symbol", "")))) for x in rows],
        })

    def request_range(self, start: Any, end: Any) -> tuple[int, int]:
        """UNIX seconds ``(from, to)`` asked for a window ``[start, end)``: at least 91 days long."""
        start_ts, end_ts = _utc(start), _utc(end)
        from_ts = min(start_ts, end_ts - DAILY_SPAN)
        return int(from_ts.timestamp()), int(end_ts.timestamp()) - 1

    def market_chart_range(self, coin_id: str, start: Any, end: Any, symbol: str | None = None,
                           partition: str | None = None) -> pd.DataFrame:
        """Daily rows of ``coin_id`` with ``date`` in ``[start, end)``."""
        return self.market_chart_range_with_stats(coin_id, start, end, symbol, partition)[0]

    def market_chart_range_with_stats(self, coin_id: str, start: Any, end: Any, symbol: str | None = None,
                                      partition: str | None = None) -> tuple[pd.DataFrame, ChartStats]:
        symbol = symbol or symbol_lookup(None).get(coin_id) or guess_symbol(coin_id)
        start_ts, end_ts = _utc(start), _utc(end)
        frm, to = self.request_range(start_ts, end_ts)
        today = self.now().astimezone(dt.UTC).date()
        what = (f"market_chart/range of {coin_id!r} {start_ts.date()}..{end_ts.date()} (end exclusive; "
                f"asked {dt.datetime.fromtimestamp(frm, dt.UTC):%Y-%m-%d}.."
                f"{dt.datetime.fromtimestamp(to, dt.UTC):%Y-%m-%d %H:%M:%S})")
        key = (coin_id, self.vs_currency, frm, to)
        retries_before = self.counter.retries
        if key in self._cache:
            payload = self._cache[key]
            self._cache.move_to_end(key)
        else:
            payload = self._call("get_coin_market_chart_range_by_id", what, coin_id, partition,
                                 coin_id, self.vs_currency, frm, to)
            # Cache only ranges entirely in the past (today's data still changes).
            if pd.Timestamp(to, unit="s").date() < today:
                self._cache[key] = payload
                while len(self._cache) > 256:
                    self._cache.popitem(last=False)
        stats = ChartStats(retries=self.counter.retries - retries_before)
        frame = parse_market_chart(payload, coin_id, symbol, partition, today=today, stats=stats)
        inside = (frame["date"] >= start_ts.tz_localize(None)) & (frame["date"] < end_ts.tz_localize(None))
        frame = frame[inside].reset_index(drop=True)
        stats.rows = len(frame)
        stats.zero_market_caps = int((frame["market_cap"] == 0).sum())
        stats.nan_market_caps = int(frame["market_cap"].isna().sum())
        if stats.off_midnight:
            stats.notes.append(f"{stats.off_midnight} off-midnight point(s) floored to their UTC date")
        if stats.live_dropped:
            stats.notes.append(f"{stats.live_dropped} live point(s) of the current UTC day not stored")
        return frame, stats

    def fetch_markets(self, coin_ids: Iterable[str], start: Any, end: Any,
                      symbol_map: Mapping[str, str] | pd.DataFrame | None = None,
                      strict: bool = False, log: Callable[[str], None] | None = None) -> SourceBatch:
        """Daily markets of every coin for ``[start, end)``; failures recorded unless ``strict``.

        ``symbol_map`` (coin_id -> exchange symbol, or a ``coin_symbols`` frame) overrides
        :func:`default_coin_symbols`; ids in neither get ``<ID>USDT`` and a note.
        """
        if log is not None:
            with logging_to(self, log):
                return self.fetch_markets(coin_ids, start, end, symbol_map, strict)
        from cryptofactor_assets.progress import Progress

        coin_ids = list(dict.fromkeys(coin_ids))
        # The user's table wins; ids it lacks fall back to the default table, then to a guess.
        lookup = {**symbol_lookup(None), **symbol_lookup(symbol_map)} if symbol_map is not None else symbol_lookup(None)
        start_ts, end_ts = _utc(start), _utc(end)
        partition = window_label(start_ts, end_ts)
        guessed: list[str] = []
        totals = {"coins": len(coin_ids), "coins_failed": 0, "rows": 0, "retries": 0, "off_midnight": 0,
                  "zero_market_caps": 0, "nan_market_caps": 0, "live_dropped": 0}
        # the first and last coin, at most one line per ~10 s in between, every failure, a final line
        progress = Progress(f"coingecko daily markets {partition}", len(coin_ids), unit="coins",
                            amount_unit="rows", log=self.log)

        def fetch(coin_id: str) -> tuple[pd.DataFrame, ChartStats]:
            symbol = lookup.get(coin_id)
            if symbol is None:
                symbol = guess_symbol(coin_id)
                guessed.append(f"{coin_id}->{symbol}")
            return self.market_chart_range_with_stats(coin_id, start_ts, end_ts, symbol, partition)

        frames, failures, notes = fetch_each(
            coin_ids, fetch, source="coingecko", progress=progress, totals=totals, failed_key="coins_failed",
            counts={k: k for k in ("rows", "retries", "off_midnight", "zero_market_caps", "nan_market_caps",
                                   "live_dropped")},
            describe=lambda st: f"{st.rows} rows, 1 request, {st.retries} retries",
            strict=strict, error_text=redact)
        progress.finish(f"{totals['coins_failed']} failed, {totals['retries']} retries")
        out = pd.concat(frames, ignore_index=True) if frames else empty_markets()
        notes.insert(0, f"coingecko ({self.plan} plan) daily markets {partition} (UTC, end exclusive): "
                        f"{len(coin_ids) - totals['coins_failed']}/{len(coin_ids)} coins, {totals['rows']} rows, "
                        f"{totals['retries']} retries")
        if guessed:
            notes.append("symbols guessed (not in coin_symbols): " + ", ".join(guessed))
        if totals["zero_market_caps"]:
            notes.append(f"{totals['zero_market_caps']} row(s) with market_cap 0 kept for validation")
        return SourceBatch(frame=out[MARKET_COLUMNS], failures=failures, notes=notes, stats=totals)


#: Alias: the name used in the issue's wording.
CoinGeckoClient = CoinGeckoSource


def _utc(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
