"""HTTP plumbing shared by the API clients: a plain session, bounded retries with exponential
back-off, and a client-side rate limiter.

Retries are done here (not by urllib3's ``Retry`` adapter) so that every retry is visible: the
clients count them for the per-symbol progress log, and server-requested waits (``Retry-After``,
Bybit's ``X-Bapi-Limit-Reset-Timestamp``) are honoured exactly instead of a generic back-off.

Time is injected everywhere (``sleep``, ``clock``) so tests run instantly and deterministically.
"""

from __future__ import annotations

import collections
import email.utils
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import requests

T = TypeVar("T")

#: HTTP statuses that mean "try again later" (429: rate limit; 5xx: upstream trouble).
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})


class RetryLater(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside a retried call to ask for another try.

    ``wait`` is the server-requested wait in seconds (``Retry-After``, a rate-limit reset time);
    ``None`` means "use the exponential back-off".
    """

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class RetriesExhausted(Exception):  # noqa: N818
    """The bounded number of tries ran out; ``reason`` is the last failure."""

    def __init__(self, tries: int, reason: str):
        super().__init__(f"gave up after {tries} tries; last failure: {reason}")
        self.tries = tries
        self.reason = reason


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential back-off.

    The wait before retry ``k`` (k = 1, 2, ...) is ``min(backoff_max, backoff * factor**(k-1))``;
    a server-requested wait is used instead when given, clipped to ``[0, max_server_wait]``.
    ``max_tries`` counts every attempt, the first one included.
    """

    max_tries: int = 5
    backoff: float = 1.0
    factor: float = 2.0
    backoff_max: float = 60.0
    max_server_wait: float = 900.0

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ValueError("max_tries must be >= 1")
        if self.backoff < 0 or self.factor < 1 or self.backoff_max < 0:
            raise ValueError("backoff must be >= 0, factor >= 1, backoff_max >= 0")

    def delay(self, retry: int, server_wait: float | None = None) -> float:
        if server_wait is not None and math.isfinite(server_wait):
            return float(min(max(server_wait, 0.0), self.max_server_wait))
        return float(min(self.backoff_max, self.backoff * self.factor ** (retry - 1)))


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
    on_retry: Callable[[int, str, float], None] | None = None,
) -> T:
    """Call ``fn`` until it returns, retrying on :class:`RetryLater` and transport failures.

    Transport failures (``requests`` timeouts and connection errors) are retried with back-off;
    any other exception propagates at once (a business error must not be retried blindly).
    Raises :class:`RetriesExhausted` after ``policy.max_tries`` attempts.
    """
    reason = "no attempt made"
    for attempt in range(1, policy.max_tries + 1):
        if counter is not None:
            counter.calls += 1
        try:
            return fn()
        except RetryLater as exc:
            reason, server_wait = exc.reason, exc.wait
        except requests.Timeout as exc:
            reason, server_wait = f"timeout ({type(exc).__name__})", None
        except requests.ConnectionError as exc:
            reason, server_wait = f"connection error ({type(exc).__name__})", None
        if attempt == policy.max_tries:
            break
        wait = policy.delay(attempt, server_wait)
        if counter is not None:
            counter.retries += 1
            counter.waited_seconds += wait
        if on_retry is not None:
            on_retry(attempt, reason, wait)
        sleep(wait)
    raise RetriesExhausted(policy.max_tries, reason)


def retry_logger(log: Callable[[str], None], label: str, policy: RetryPolicy
                 ) -> Callable[[int, str, float], None]:
    """An ``on_retry`` callback for :func:`call_with_retries` that logs one progress line per retry."""

    def on_retry(attempt_no: int, reason: str, wait: float) -> None:
        log(f"{label}: retry {attempt_no}/{policy.max_tries - 1} in {wait:.1f}s after {reason}")

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

    def acquire(self) -> float:
        """Wait until a call is allowed, record it, and return the seconds waited."""
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
    """A short printable prefix of a response body for error messages."""
    if content is None:
        return ""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "")
