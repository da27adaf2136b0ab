"""HTTP plumbing shared by the API clients: a plain session, bounded retries with exponential
back-off and a cap on server-requested waits, and a client-side rate limiter.

Retries are done here (not by urllib3's ``Retry`` adapter) so that every retry is visible: the
clients count them for the per-symbol progress log, every wait is logged with its length and its
cause (WARNING level from :data:`WARN_WAIT_SECONDS` on, so the CLI's console shows it), and
server-requested waits (``Retry-After``, Bybit's ``X-Bapi-Limit-Reset-Timestamp``) are honoured
exactly instead of a generic back-off.

Transient faults (retried): HTTP 408 / 425 / 429 and 5xx except 501 / 505 / 511 (whatever the body:
a proxy's HTML error page with a 5xx is transient), a body cut before its declared end or a 200
whose JSON ends early (:func:`looks_truncated`), timeouts, connection errors, and the clients'
own transient business codes (Bybit 10006 / 10000 / 10016). NOT retried: an HTML page (or any
non-JSON text that is not a truncated JSON document) with HTTP 200. A 200 is the server saying
"this is the answer": an HTML 200 is a captive portal, a login or consent page, or a base URL that
points at a web site instead of the API, and asking again gives the same page; it fails at once
with a message saying what came back.

Budget (:class:`RetryPolicy`, per HTTP call): ``max_tries`` attempts (default 8, so 7 faults in a
row are survived); the wait before retry ``k`` is the server-requested wait when there is one,
else ``min(backoff_max, backoff * factor**(k-1))``. A server-requested wait longer than
``max_server_wait`` (env ``CRYPTOFACTOR_MAX_RETRY_WAIT``, default 120 s) is NOT slept: the call
fails at once with :class:`WaitTooLong` ("Bybit asked to wait 900 s (X-Bapi-Limit-Reset-Timestamp)
> cap 120 s; set CRYPTOFACTOR_MAX_RETRY_WAIT to wait longer").

Worst case, per HTTP call: at most ``(max_tries - 1) * max(max_server_wait, backoff_max)`` seconds
of waiting (:meth:`RetryPolicy.worst_case_wait`: 7 x 120 = 840 s with the defaults) plus
``max_tries`` request times (each bounded by the client's connect / read timeout: 8 x 10 s for
Bybit, 8 x 30 s for CoinGecko). A fetch makes one call per page (Bybit) or per coin (CoinGecko),
and a symbol fails on its first call that runs out of tries.

Time is injected everywhere (``sleep``, ``clock``) so tests run instantly and deterministically.
"""

from __future__ import annotations

import collections
import email.utils
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import requests

from cryptofactor_assets import settings
from cryptofactor_assets.settings import DEFAULT_MAX_RETRY_WAIT, MAX_RETRY_WAIT_ENV  # noqa: F401 (re-exported)
from cryptofactor_assets.sources.redaction import redact

T = TypeVar("T")

#: HTTP statuses that mean "try again later": 408 / 425 / 429, and 5xx except the permanent ones
#: (501 not implemented, 505 HTTP version, 511 network authentication = a captive portal).
RETRYABLE_STATUSES = frozenset({408, 425, 429} | (set(range(500, 600)) - {501, 505, 511}))
#: Waits of at least this many seconds are logged at WARNING (shorter ones at INFO).
WARN_WAIT_SECONDS = 5.0


def max_retry_wait_from_env(environ: Mapping[str, str] | None = None) -> float:
    """The wait cap from ``CRYPTOFACTOR_MAX_RETRY_WAIT`` (seconds >= 0), default 120 (``settings.max_retry_wait``)."""
    return settings.max_retry_wait(environ)


def fmt_seconds(seconds: float) -> str:
    """``900`` -> ``"900"``, ``1.25`` -> ``"1.2"``: seconds for messages (one decimal at most)."""
    return f"{round(float(seconds), 1):g}"


class RetryLater(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside a retried call to ask for another try.

    ``wait`` is the server-requested wait in seconds (``Retry-After``, a rate-limit reset time);
    ``None`` means "use the exponential back-off". ``wait_source`` names where the wait came from
    (a header name) for the log line and the too-long message.
    """

    def __init__(self, reason: str, wait: float | None = None, wait_source: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.wait_source = wait_source


class RetriesExhausted(Exception):  # noqa: N818
    """The bounded number of tries ran out; ``reason`` is the last failure."""

    def __init__(self, tries: int, reason: str):
        super().__init__(f"gave up after {tries} tries; last failure: {reason}")
        self.tries = tries
        self.reason = reason


class WaitTooLong(Exception):  # noqa: N818
    """The server asked for a wait longer than the cap: not slept, the call fails at once."""

    def __init__(self, server: str, wait: float, wait_source: str | None, cap: float, reason: str):
        source = wait_source or "server-requested"
        super().__init__(f"{server} asked to wait {fmt_seconds(wait)} s ({source}) > cap {fmt_seconds(cap)} s; "
                         f"set {MAX_RETRY_WAIT_ENV} to wait longer (reply: {reason})")
        self.server, self.wait, self.wait_source, self.cap, self.reason = server, wait, wait_source, cap, reason


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential back-off with a cap on server-requested waits.

    The wait before retry ``k`` (k = 1, 2, ...) is ``min(backoff_max, backoff * factor**(k-1))``;
    a server-requested wait is used instead when given (negative -> 0). A server-requested wait
    above ``max_server_wait`` is refused (:meth:`too_long`), never clipped: sleeping less than the
    server asked would only earn another refusal. ``max_tries`` counts every attempt, the first
    one included.
    """

    max_tries: int = 8
    backoff: float = 1.0
    factor: float = 2.0
    backoff_max: float = 60.0
    max_server_wait: float = DEFAULT_MAX_RETRY_WAIT

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ValueError("max_tries must be >= 1")
        if self.backoff < 0 or self.factor < 1 or self.backoff_max < 0:
            raise ValueError("backoff must be >= 0, factor >= 1, backoff_max >= 0")
        if not self.max_server_wait >= 0:
            raise ValueError("max_server_wait must be >= 0")

    def delay(self, retry: int, server_wait: float | None = None) -> float:
        """Seconds to wait before retry ``retry`` (1-based)."""
        if server_wait is not None and math.isfinite(server_wait):
            return float(max(server_wait, 0.0))
        return float(min(self.backoff_max, self.backoff * self.factor ** (retry - 1)))

    def too_long(self, server_wait: float | None) -> bool:
        """True when a server-requested wait exceeds the cap (an infinite one always does)."""
        return server_wait is not None and not server_wait <= self.max_server_wait

    def worst_case_wait(self) -> float:
        """Upper bound of the seconds one call can spend waiting between its tries."""
        return (self.max_tries - 1) * max(self.max_server_wait, self.backoff_max)


@dataclass
class RetryCounter:
    """Mutable tally a client keeps across calls (read by the progress log)."""

    calls: int = 0
    retries: int = 0
    waited_seconds: float = 0.0


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    counter: RetryCounter | None = None,
    on_retry: Callable[[int, str, float, str], None] | None = None,
    server: str = "the server",
) -> T:
    """Call ``fn`` until it returns, retrying on :class:`RetryLater` and transport failures.

    Transport failures (``requests`` timeouts and connection errors) are retried with back-off;
    any other exception propagates at once (a business error must not be retried blindly).
    ``on_retry(attempt, reason, wait, why)`` is called before each sleep (``why``: the header
    that asked for the wait, or ``"back-off"``). Raises :class:`WaitTooLong` at once when the
    server asks for more than ``policy.max_server_wait``, :class:`RetriesExhausted` after
    ``policy.max_tries`` attempts. Both are raised outside any ``except`` block: they carry no
    chained exception (whose text, for ``requests``, holds the URL and its query-string key).
    """
    reason = "no attempt made"
    for attempt in range(1, policy.max_tries + 1):
        if counter is not None:
            counter.calls += 1
        server_wait: float | None = None
        wait_source: str | None = None
        try:
            return fn()
        except RetryLater as exc:
            reason, server_wait, wait_source = exc.reason, exc.wait, exc.wait_source
        except requests.Timeout as exc:
            reason = f"timeout ({type(exc).__name__})"
        except requests.ConnectionError as exc:
            reason = f"connection error ({type(exc).__name__})"
        if policy.too_long(server_wait):
            raise WaitTooLong(server, float(server_wait), wait_source, policy.max_server_wait, reason)
        if attempt == policy.max_tries:
            break
        wait = policy.delay(attempt, server_wait)
        why = (wait_source or "server-requested") if server_wait is not None else "back-off"
        if counter is not None:
            counter.retries += 1
            counter.waited_seconds += wait
        if on_retry is not None:
            on_retry(attempt, reason, wait, why)
        sleep(wait)
    raise RetriesExhausted(policy.max_tries, reason)


def client_retry_policy(max_tries: int, backoff: float, backoff_max: float,
                        max_retry_wait: float | None) -> RetryPolicy:
    """A client's retry budget; ``max_retry_wait`` None -> ``CRYPTOFACTOR_MAX_RETRY_WAIT``."""
    cap = max_retry_wait_from_env() if max_retry_wait is None else max_retry_wait
    return RetryPolicy(max_tries=max_tries, backoff=backoff, backoff_max=backoff_max, max_server_wait=cap)


def call_or_source_error(client, attempt: Callable[[], T], *, label: str, server: str,
                         error: Callable[[str], Exception], exhausted: Callable[[Exception], str],
                         too_long: Callable[[Exception], str]) -> T:
    """``attempt()`` retried within ``client.policy`` (``client.sleep``, ``client.counter``, ``client.log``).

    Retries exhausted or a server wait over the cap become ``error(<redacted text>)``, raised
    outside the ``except`` block (no chained exception); the refused wait is logged first.
    """
    failure: Exception
    try:
        return call_with_retries(attempt, client.policy, sleep=client.sleep, counter=client.counter,
                                 on_retry=retry_logger(client.log, label, client.policy), server=server)
    except RetriesExhausted as exc:
        failure = error(redact(exhausted(exc)))
    except WaitTooLong as exc:
        log_wait(client.log, redact(f"{label}: not waiting: {exc}"), exc.wait)
        failure = error(redact(too_long(exc)))
    raise failure


def warning_channel(log: Callable[[str], None]) -> Callable[[str], None]:
    """The WARNING twin of an INFO ``log`` callable.

    ``logger.info`` of a ``logging.Logger`` or of Dagster's ``context.log`` -> that object's
    ``warning``; any other callable (``print``, a test's ``list.append``) -> itself.
    """
    owner = getattr(log, "__self__", None)
    if getattr(log, "__name__", "") in ("info", "debug") and callable(getattr(owner, "warning", None)):
        return owner.warning
    return log


def log_wait(log: Callable[[str], None], message: str, seconds: float) -> None:
    """Log a line announcing a wait: WARNING when ``seconds >= WARN_WAIT_SECONDS``, else ``log``."""
    (warning_channel(log) if seconds >= WARN_WAIT_SECONDS else log)(message)


def retry_logger(log: Callable[[str], None], label: str, policy: RetryPolicy
                 ) -> Callable[[int, str, float, str], None]:
    """An ``on_retry`` callback for :func:`call_with_retries`: one line per retry, with the wait's
    length and cause, at WARNING when the wait is long (see :func:`log_wait`)."""

    def on_retry(attempt_no: int, reason: str, wait: float, why: str = "back-off") -> None:
        log_wait(log, f"{label}: retry {attempt_no}/{policy.max_tries - 1} in {fmt_seconds(wait)} s ({why}) "
                      f"after {reason}", wait)

    return on_retry


@contextmanager
def logging_to(client, log: Callable[[str], None]) -> Iterator[None]:
    """Send the client's progress lines (its ``log`` attribute) to ``log`` inside the block."""
    saved = client.log
    client.log = log
    try:
        yield
    finally:
        client.log = saved


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def looks_truncated(content: bytes | None) -> bool:
    """True when ``content`` is not valid JSON because it ENDS too early (a cut body): empty, a
    string, number or literal still open at the end, or a document missing its closing brackets.

    False for valid JSON, HTML or other text, and JSON broken in the middle (that is not a cut).
    """
    if content is None:
        return False
    stripped = content.strip()
    if not stripped:
        return True
    if stripped[:1] == b"<":
        return False
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data"
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text) or exc.msg.startswith("Unterminated string"):
            return True
        rest = text[exc.pos:]
        # A number or literal cut mid-way ('{"a": tr', '{"a": 1.', '{"a": -'): the decoder stops
        # where the cut scalar starts or inside it, and only the rest of that scalar follows.
        return bool(_PARTIAL_SCALAR.fullmatch(rest)) or (
            exc.msg.startswith("Invalid \\uXXXX escape") and len(rest) <= 6)
    except RecursionError:
        return False
    return False


_PARTIAL_SCALAR = re.compile(
    r"-?\d*(\.\d*)?([eE][+-]?\d*)?|t(r(ue?)?)?|f(a(l(se?)?)?)?|n(u(ll?)?)?")


class RateLimiter:
    """Client-side limit of ``calls_per_minute`` calls in any sliding 60-second window.

    ``acquire()`` blocks (through the injected ``sleep``) until one more call fits. A sliding
    window of the last call times matches how per-minute API quotas are counted, and lets a
    short burst through when the window is empty.
    """

    def __init__(
        self,
        calls_per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        period: float = 60.0,
    ):
        if not calls_per_minute or calls_per_minute <= 0:
            raise ValueError("calls_per_minute must be > 0")
        self.capacity = max(1, int(calls_per_minute * period / 60.0))
        self.period = period
        self.clock, self.sleep = clock, sleep
        self._calls: collections.deque[float] = collections.deque()
        self.waited_seconds = 0.0

    def acquire(self, on_wait: Callable[[float], None] | None = None) -> float:
        """Wait until a call is allowed, record it, and return the seconds waited.

        ``on_wait(seconds)`` is called before each sleep (to log it).
        """
        waited = 0.0
        while True:
            now = self.clock()
            while self._calls and now - self._calls[0] >= self.period:
                self._calls.popleft()
            if len(self._calls) < self.capacity:
                self._calls.append(now)
                self.waited_seconds += waited
                return waited
            wait = self.period - (now - self._calls[0])
            # A clock that does not advance with sleep (a test fake) must not spin forever.
            wait = max(wait, 1e-3)
            if on_wait is not None:
                on_wait(wait)
            self.sleep(wait)
            waited += wait


def make_session(user_agent: str = "cryptofactor/0.1 (+research)") -> requests.Session:
    """A keep-alive session with NO transport-level retries (retries are counted by the clients)."""
    session = requests.Session()
    session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
    adapter = requests.adapters.HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=4)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def body_snippet(content: bytes | str | None, limit: int = 120) -> str:
    """A short printable prefix of a response body for error messages, redacted (a body may echo
    the request URL and its key): whitespace runs become one space, then at most ``limit`` chars."""
    if content is None:
        return ""
    head = content[: 4 * limit + 1024]  # enough to redact a secret that straddles the cut
    text = head.decode("utf-8", "replace") if isinstance(head, bytes) else str(head)
    text = redact(" ".join(text.split()))
    cut = len(text) > limit or len(head) < len(content)
    return text[:limit] + ("..." if cut else "")
