"""A real HTTP server on 127.0.0.1 (random port, background thread) that tests script per request.

Each path has an optional queue of scripted :class:`Reply` objects (consumed one per request, in
order) and an optional route function ``fn(request) -> Reply`` used once the queue is empty. So a
test can say "first answer 10006, then 429, then behave like Bybit", with real sockets, real
headers, real timeouts and real truncated bodies, exercising the ``requests`` stack end to end.

Helpers build Bybit v5 and CoinGecko behaviour from a small in-memory dataset:
:func:`bybit_kline_route` serves ``/v5/market/kline`` with the documented semantics (rows with
``start <= startTime <= end``, newest first, at most ``limit`` rows: the newest ones), or on request
like a server that ignores ``end`` or serves rows outside the window; :func:`bybit_empty_route`
answers every request with an empty page; :func:`bybit_funding_route` serves
``/v5/market/funding/history`` (rows with ``startTime <= fundingRateTimestamp <= endTime``, newest
first, the newest ``limit`` rows; ``startTime`` alone is an error, as the v5 docs say).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).with_name("fixtures")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


@dataclass
class Reply:
    """One scripted HTTP answer.

    ``body`` may be bytes, text, or a JSON-able object (sent as ``application/json``).
    ``delay`` sleeps before sending anything (a client with a shorter read timeout times out).
    ``declared_length`` overrides Content-Length (bigger than the body = connection cut mid-body).
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str | None = None
    declared_length: int | None = None

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/json"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), self.content_type or "text/plain; charset=utf-8"
        return json.dumps(self.body).encode("utf-8"), self.content_type or "application/json"


@dataclass
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    time: float


class FakeServer:
    """Scriptable local HTTP server. Use as a context manager; ``base_url`` is ``http://127.0.0.1:port``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._queues: dict[str, deque[Reply]] = defaultdict(deque)
        self._routes: dict[str, Callable[[Request], Reply]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                req = Request(parts.path, params, dict(self.headers.items()), time.time())
                reply = server._next_reply(req)
                if reply.delay:
                    time.sleep(reply.delay)
                body, ctype = reply.encoded()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(reply.declared_length or len(body)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    if reply.declared_length is not None:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # client gave up (timeout test)
                    pass
                if reply.declared_length is not None:
                    self.close_connection = True

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # -------------------------------------------------------------- scripting
    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, path: str, *replies: Reply) -> FakeServer:
        with self._lock:
            self._queues[path].extend(replies)
        return self

    def route(self, path: str, fn: Callable[[Request], Reply]) -> FakeServer:
        self._routes[path] = fn
        return self

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def _next_reply(self, req: Request) -> Reply:
        with self._lock:
            self.requests.append(req)
            queue = self._queues.get(req.path)
            if queue:
                return queue.popleft()
        route = self._routes.get(req.path)
        if route is not None:
            try:
                return route(req)
            except Exception as exc:  # a broken test route should be visible, not hang
                return Reply(500, f"fake server route error: {exc!r}")
        return Reply(404, {"error": f"no route for {req.path}"})

    # -------------------------------------------------------------- lifecycle
    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# ---------------------------------------------------------------------- Bybit helpers
def bybit_envelope(rows: list[list[str]], symbol: str = "BTCUSDT", category: str = "linear",
                   ret_code: int = 0, ret_msg: str = "OK") -> dict[str, Any]:
    return {"retCode": ret_code, "retMsg": ret_msg,
            "result": {"symbol": symbol, "category": category, "list": rows},
            "retExtInfo": {}, "time": 1_700_000_000_000}


def bybit_error(ret_code: int, ret_msg: str) -> dict[str, Any]:
    return {"retCode": ret_code, "retMsg": ret_msg, "result": {}, "retExtInfo": {}, "time": 1_700_000_000_000}


def make_candles(start_ms: int, n: int, interval_ms: int = 300_000, base: float = 100.0) -> list[list[str]]:
    """``n`` deterministic candles (ascending), Bybit's 7-string layout; OHLC-consistent."""
    rows = []
    for i in range(n):
        o = base + (i % 17) * 0.5
        c = base + ((i + 5) % 13) * 0.5
        rows.append([str(start_ms + i * interval_ms), repr(o), repr(max(o, c) + 1.25), repr(min(o, c) - 1.0),
                     repr(c), repr(10.0 + i % 7), repr((10.0 + i % 7) * c)])
    return rows


def bybit_kline_route(candles: dict[str, list[list[str]]], category: str = "linear",
                      ignore_end: bool = False, shift_ms: int = 0) -> Callable[[Request], Reply]:
    """Serve ``/v5/market/kline`` like Bybit: filter ``[start, end]``, newest first, newest ``limit`` rows.

    Misbehaviours (defaults off): ``ignore_end`` filters on ``start`` only (a server that ignores
    ``end``: the newest ``limit`` rows from ``start`` on, mostly outside the requested window);
    ``shift_ms`` serves the rows of ``[start + shift_ms, end + shift_ms]`` instead (rows outside the
    requested window).
    """

    def route(req: Request) -> Reply:
        symbol = req.params.get("symbol", "")
        if symbol not in candles:
            return Reply(200, {"retCode": 10001, "retMsg": "Not supported symbols",
                               "result": {"category": "", "list": []}, "retExtInfo": {}, "time": 1})
        start = int(req.params.get("start", 0)) + shift_ms
        end = 2**62 if ignore_end else int(req.params.get("end", 2**62)) + shift_ms
        limit = int(req.params.get("limit", 200))
        rows = [r for r in candles[symbol] if start <= int(r[0]) <= end]
        rows.sort(key=lambda r: int(r[0]), reverse=True)
        return Reply(200, bybit_envelope(rows[:limit], symbol, req.params.get("category", category)))

    return route


def bybit_empty_route(category: str = "linear") -> Callable[[Request], Reply]:
    """Serve ``/v5/market/kline`` with retCode 0 and an empty ``list`` for every symbol (an empty page)."""

    def route(req: Request) -> Reply:
        return Reply(200, bybit_envelope([], req.params.get("symbol", ""), req.params.get("category", category)))

    return route


def bybit_funding_envelope(rows: list[dict[str, str]], category: str = "linear") -> dict[str, Any]:
    """A ``/v5/market/funding/history`` body in the documented layout (bybit-exchange/docs
    ``docs/v5/market/history-fund-rate.mdx``): ``result = {category, list: [{symbol, fundingRate,
    fundingRateTimestamp}]}``, every value a string, newest first."""
    return {"retCode": 0, "retMsg": "OK", "result": {"category": category, "list": rows},
            "retExtInfo": {}, "time": 1_700_000_000_000}


def make_settlements(symbol: str, start_ms: int, n: int, interval_ms: int = 8 * 3_600_000,
                     base: float = 0.0001) -> list[dict[str, str]]:
    """``n`` deterministic funding settlements (ascending) every ``interval_ms`` from ``start_ms``."""
    return [{"symbol": symbol, "fundingRate": f"{base + ((i % 11) - 5) * 0.00001:.8f}",
             "fundingRateTimestamp": str(start_ms + i * interval_ms)} for i in range(n)]


def bybit_funding_route(settlements: dict[str, list[dict[str, str]]],
                        ignore_end: bool = False) -> Callable[[Request], Reply]:
    """Serve ``/v5/market/funding/history`` like Bybit: rows of ``[startTime, endTime]``, newest first, the
    newest ``limit`` (default 200) of them; ``startTime`` without ``endTime`` is a 10001 params error;
    ``endTime`` alone gives the ``limit`` rows up to it. ``ignore_end``: a server that ignores ``endTime``.
    """

    def route(req: Request) -> Reply:
        symbol = req.params.get("symbol", "")
        if req.params.get("category") not in ("linear", "inverse"):
            return Reply(200, {"retCode": 10001, "retMsg": "params error: Category is invalid",
                               "result": {}, "retExtInfo": {}, "time": 1})
        if symbol not in settlements:
            return Reply(200, {"retCode": 10001, "retMsg": "params error: symbol invalid",
                               "result": {"category": "", "list": []}, "retExtInfo": {}, "time": 1})
        if "startTime" in req.params and "endTime" not in req.params:
            return Reply(200, {"retCode": 10001, "retMsg": "params error: endTime is required",
                               "result": {}, "retExtInfo": {}, "time": 1})
        start = int(req.params.get("startTime", 0))
        end = 2**62 if ignore_end else int(req.params.get("endTime", 2**62))
        limit = int(req.params.get("limit", 200))
        rows = [r for r in settlements[symbol] if start <= int(r["fundingRateTimestamp"]) <= end]
        rows.sort(key=lambda r: int(r["fundingRateTimestamp"]), reverse=True)
        return Reply(200, bybit_funding_envelope(rows[:limit], req.params.get("category", "linear")))

    return route


class Sleeps:
    """Injected ``sleep``: records the waits instead of sleeping (clients take ``sleep=``)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
