"""End to end: COINGECKO_API_KEY never reaches Dagster's event log, compute logs or the console.

`cryptofactor materialize --source bybit --symbols BTCUSDT --coingecko-ids ...` runs as a
subprocess with an on-disk Dagster instance (DAGSTER_HOME in a tmp dir), BYBIT_BASE_URL and
COINGECKO_BASE_URL pointing at real local HTTP servers. CoinGecko answers each coin with one of
its real failure modes (the 401 / error_code 10012 body, a 401 without JSON, a 403 page, a 429
asking for 900 s, a 500, an HTML page with HTTP 200, error bodies that echo the request URL and
the key). Worst case on purpose: the instance captures urllib3's DEBUG lines (every request URL,
key included) and the console shows DEBUG. Then every file under the run's tmp dir (event log
SQLite files, compute logs, the DuckDB file) and the captured stdout / stderr are searched for
the key, raw and percent-encoded, and for a fragment of it: it must appear nowhere, strict or not.

The subprocess calls ``install_redaction()`` before ``cli.main`` (as the CLI's ``main`` does once
it is wired there), so the test does not depend on where the call sits. Non-strict mode: one run
with every failing coin next to a good one. Strict mode stops at the first failure, so it needs one
run per failure mode: one process runs ``cli.main`` once per mode (the test server is told which
mode to serve before each run), which spares seven interpreter and Dagster start-ups.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

import pandas as pd
import pytest

from cryptofactor_assets.sources.bybit import to_utc_ms
from cryptofactor_assets_tests.fake_exchange_server import (
    FakeServer,
    Reply,
    Request,
    bybit_kline_route,
    fixture_bytes,
    make_candles,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
KEY = "CG-LEAKCANARY+e2e/7=Qx"
FORMS = [KEY, quote(KEY, safe=""), quote_plus(KEY), "LEAKCANARY"]
DAY = "2024-06-03"
BOOT = textwrap.dedent("""
    import sys
    import urllib.request
    from cryptofactor_assets.sources.redaction import install_redaction
    install_redaction()
    from cryptofactor_assets.cli import main
    control, cases, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if not cases:
        sys.exit(main(args))
    codes = []
    for case in cases.split(","):
        urllib.request.urlopen(f"{control}?name={case}").read()
        print(f"[case {case}]", flush=True)
        codes.append(main(list(args)))
    print("[codes] " + ",".join(map(str, codes)), flush=True)
""")
DAGSTER_YAML = textwrap.dedent("""
    python_logs:
      python_log_level: DEBUG
      managed_python_loggers: [urllib3]
    telemetry:
      enabled: false
""")


def _echo_json(req: Request) -> Reply:
    query = urlencode(req.params)
    return Reply(400, {"status": {"error_code": 400, "error_message":
                                  f"invalid request GET https://api.coingecko.com{req.path}?{query} "
                                  f"(key {req.params.get('x_cg_demo_api_key')})"}})


def _echo_html(req: Request) -> Reply:
    return Reply(404, f"<html><body><h1>Not Found</h1><p>The requested URL {req.path}?{urlencode(req.params)} "
                      f"was not found on this server.</p></body></html>", content_type="text/html")


#: coin id -> how CoinGecko answers its market_chart/range
FAILURES = {
    "plan-10012": lambda req: Reply(401, fixture_bytes("coingecko_error_10012_time_range.json")),
    "key-401-text": lambda req: Reply(401, "Unauthorized", content_type="text/plain"),
    "blocked-403": lambda req: Reply(403, "<html><title>Access denied</title>Error 1020</html>",
                                     content_type="text/html"),
    "limited-429": lambda req: Reply(429, fixture_bytes("coingecko_error_429_rate_limit.json"),
                                     headers={"retry-after": "900"}),
    "broken-500": lambda req: Reply(500, {"error": "Internal Server Error"}, headers={"Retry-After": "0"}),
    "portal-html-200": lambda req: Reply(200, "<!DOCTYPE html><html><title>Sign in</title></html>",
                                         content_type="text/html"),
    "echo-json-400": _echo_json,
    "echo-html-404": _echo_html,
}


def _good_chart(req: Request) -> Reply:
    t0 = int(pd.Timestamp("2024-03-01").value // 1_000_000)
    ts = [t0 + i * 86_400_000 for i in range(100)]
    return Reply(200, {"prices": [[t, 60_000.0 + i] for i, t in enumerate(ts)],
                       "market_caps": [[t, 1.2e12 + i] for i, t in enumerate(ts)],
                       "total_volumes": [[t, 3e10 + i] for i, t in enumerate(ts)]})


STRICT_COIN = "strict-coin"
CONTROL = "/_serve"


@pytest.fixture(scope="module")
def servers():
    with FakeServer() as bybit, FakeServer() as coingecko:
        bybit.route("/v5/market/kline", bybit_kline_route({"BTCUSDT": make_candles(to_utc_ms(DAY), 288)}))
        coingecko.route("/api/v3/coins/bitcoin/market_chart/range", _good_chart)
        for coin, route in FAILURES.items():
            coingecko.route(f"/api/v3/coins/{coin}/market_chart/range", route)
        serving = {"name": next(iter(FAILURES))}

        def control(req: Request) -> Reply:
            serving["name"] = req.params["name"]
            return Reply(200, "ok")

        coingecko.route(CONTROL, control)
        coingecko.route(f"/api/v3/coins/{STRICT_COIN}/market_chart/range", lambda req: FAILURES[serving["name"]](req))
        yield bybit, coingecko


def _run(tmp: Path, servers, coins: list[str], strict: bool,
         cases: tuple[str, ...] = ()) -> tuple[subprocess.CompletedProcess, Path]:
    bybit, coingecko = servers
    home = tmp / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CRYPTOFACTOR_", "COINGECKO_", "BYBIT_", "DAGSTER_"))}
    env.update({
        "DAGSTER_HOME": str(home), "CRYPTOFACTOR_DUCKDB": str(tmp / "warehouse.duckdb"),
        "CRYPTOFACTOR_PARTITIONS_START": "2024-01-01", "CRYPTOFACTOR_LOG_LEVEL": "DEBUG",
        "BYBIT_BASE_URL": bybit.base_url, "COINGECKO_BASE_URL": coingecko.base_url + "/api/v3",
        "COINGECKO_API_KEY": KEY, "COINGECKO_CALLS_PER_MINUTE": "10000",
    })
    cmd = [sys.executable, "-c", BOOT, coingecko.base_url + CONTROL, ",".join(cases), "materialize", "--source", "bybit", "--symbols", "BTCUSDT",
           "--coingecko-ids", ",".join(coins), "--start", DAY, "--end", DAY, "--skip-weekly", "--skip-summary"]
    if strict:
        cmd.append("--strict")
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return proc, home


def _leaks(proc: subprocess.CompletedProcess, tmp: Path) -> list[str]:
    found = []
    for name, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        found += [f"{name}: {form!r}" for form in FORMS if form in text]
    for path in sorted(p for p in tmp.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.relative_to(tmp)}: {form!r}" for form in FORMS if form.encode() in data]
    return found


def _event_log_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (home / "history").rglob("*.db"))


def test_key_appears_nowhere_in_non_strict_mode(tmp_path, servers):
    proc, home = _run(tmp_path, servers, ["bitcoin", *FAILURES], strict=False)
    assert _leaks(proc, tmp_path) == []
    events = _event_log_bytes(home)
    # the searched files are the right ones: they hold the failures, and urllib3's request lines
    # (which carried the key) were captured, masked
    assert b"source_fetch_complete" in events and b"10012" in events and b"plan-10012" in events
    assert b"x_cg_demo_api_key=***" in events, "urllib3 DEBUG lines not captured: the worst case was not exercised"
    assert b"CoinGecko asked to wait 900 s (retry-after) > cap 120 s" in events
    assert list((home / "storage").rglob("*.err")), "no compute log files were written"
    assert "source_fetch_complete" in proc.stdout + proc.stderr  # the check failure is printed


def test_key_appears_nowhere_in_strict_mode(tmp_path, servers):
    proc, home = _run(tmp_path, servers, [STRICT_COIN], strict=True, cases=tuple(FAILURES))
    assert _leaks(proc, tmp_path) == []
    codes = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("[codes] ")]
    assert codes, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(codes[0].split(",")) == len(FAILURES) and "0" not in codes[0].split(",")  # every run failed
    outputs = proc.stdout.split("[case ")[1:]
    assert [o.split("]")[0] for o in outputs] == list(FAILURES)
    for output in outputs:  # every mode failed the step in strict mode, with the source's message
        assert "FAIL raw_coin_markets" in output and "source=coingecko" in output, output[-2000:]
    events = _event_log_bytes(home)
    assert events.count(b"STEP_FAILURE") >= len(FAILURES) and b"x_cg_demo_api_key=***" in events
    assert b"CoinGecko asked to wait 900 s (retry-after) > cap 120 s" in events
