"""`cryptofactor fetch-cross-asset` offline: yfinance's real request and parsing code against a local
HTTP server of chart-API bodies (data/yahoo_chart, hand-built in the recorded layout, illustrative
prices), the CSV it writes read back as cross_asset_monthly reads it, and the errors (no yfinance,
a ticker without prices, bad arguments)."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import urllib.parse
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets import cli
from cryptofactor_assets.neural import assets as na
from cryptofactor_assets.neural import cross_asset as xa
from cryptofactor_assets.neural import loaders as ld
from cryptofactor_assets.neural.resources import CROSS_ASSET_SOURCE, CrossAssetSourceResource
from cryptofactor_assets_tests.conftest import query

CHARTS = Path(__file__).resolve().parents[1] / "fixtures" / "neural" / "yahoo_chart"
SERVED = {p.stem: p for p in CHARTS.glob("*.json") if p.stem != "not_found_404"}
MARKETS = "FIAT=DX-Y.NYB,EQUITY=^GSPC,GOLD=GC=F,ENERGY=CL=F"


class _ChartHandler(http.server.BaseHTTPRequestHandler):
    """Yahoo as the tests see it: chart bodies by ticker, the recorded 404 body for an unknown ticker,
    an empty 404 for everything else (the cookie, crumb and consent pages: yfinance carries on without)."""

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urllib.parse.urlsplit(self.path)
        self.server.seen.append((self.headers.get("X-Original-Host", ""), url.path, url.query))
        if url.path.startswith("/v8/finance/chart/"):
            ticker = urllib.parse.unquote(url.path.rsplit("/", 1)[1])
            code, body = ((200, SERVED[ticker].read_bytes()) if ticker in SERVED
                          else (404, (CHARTS / "not_found_404.json").read_bytes()))
        else:
            code, body = 404, b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args):
        pass


@pytest.fixture(scope="module")
def yahoo():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ChartHandler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def offline_yfinance(yahoo, monkeypatch, tmp_path):
    """yfinance with a requests session whose every URL goes to the local server (the host it was meant
    for in a header), its caches in tmp_path; skipped when yfinance is not installed."""
    yf = pytest.importorskip("yfinance", reason="yfinance (the optional cross-asset extra) is not installed")
    import requests
    from requests.adapters import HTTPAdapter

    base = f"http://127.0.0.1:{yahoo.server_port}"

    class ToLocal(HTTPAdapter):
        def send(self, request, **kwargs):
            url = urllib.parse.urlsplit(request.url)
            request.headers["X-Original-Host"] = url.netloc
            request.url = base + url.path + (f"?{url.query}" if url.query else "")
            return super().send(request, **kwargs)

    def session():
        s = requests.Session()
        s.mount("https://", ToLocal())
        s.mount("http://", ToLocal())
        return s

    from yfinance import cache
    from yfinance.data import YfData

    old = cache._TzDBManager.get_location()
    yf.set_tz_cache_location(str(tmp_path / "yfinance-cache"))
    YfData.cache_get.cache_clear()  # yfinance memoises past date ranges per process
    monkeypatch.setattr(ld, "yfinance_session", session)
    yahoo.seen.clear()
    yield yahoo
    YfData.cache_get.cache_clear()
    yf.set_tz_cache_location(old)


def _closes(ticker: str) -> pd.Series:
    """The served closes by trading day in the exchange's zone (what yfinance must give back)."""
    result = json.loads(SERVED[ticker].read_text())["chart"]["result"][0]
    tz = result["meta"]["exchangeTimezoneName"]
    days = pd.to_datetime(result["timestamp"], unit="s", utc=True).tz_convert(tz).tz_localize(None).normalize()
    return pd.Series(result["indicators"]["quote"][0]["close"], index=days, dtype=float)


def _run(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_fetch_writes_the_csv_cross_asset_monthly_reads(offline_yfinance, tmp_path, capsys):
    out = tmp_path / "cross.csv"
    code, stdout, _ = _run(["fetch-cross-asset", "--start", "2020-12-01", "--end", "2021-04-30",
                            "--coins", "BTC=BTC-USD,ETH=ETH-USD", "--out", str(out)], capsys)
    assert code == 0
    assert f"export CRYPTOFACTOR_CROSS_ASSET_CSV={out}" in stdout
    assert f"export CRYPTOFACTOR_CROSS_ASSET_TICKERS=BTC=BTC-USD,ETH=ETH-USD,{MARKETS}" in stdout
    # yfinance asked the chart API for each ticker, daily bars, up to the day after --end (exclusive)
    charts = {urllib.parse.unquote(p.rsplit("/", 1)[1]): q for host, p, q in offline_yfinance.seen
              if host == "query2.finance.yahoo.com" and p.startswith("/v8/finance/chart/") and "period1" in q}
    assert set(charts) == set(SERVED)
    for ticker, q in charts.items():
        params = urllib.parse.parse_qs(q)
        assert params["interval"] == ["1d"]
        tz = json.loads(SERVED[ticker].read_text())["chart"]["result"][0]["meta"]["exchangeTimezoneName"]
        assert int(params["period2"][0]) == int(pd.Timestamp("2021-05-01", tz=tz).timestamp())
    # the file is yf.download().to_csv()'s layout: three header rows, then one row per day
    assert out.read_text().splitlines()[:3][0].startswith("Price,")
    frame = ld.read_yfinance_csv(out)
    closes = ld.yfinance_close_prices(frame)
    for ticker in SERVED:
        want = _closes(ticker).dropna()
        got = closes[ticker].dropna()
        np.testing.assert_array_equal(got.index, want.index)
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    # monthly log returns from the last close of each month, GOLD's null 2021-03-31 close skipped
    mapping = xa.parse_tickers(f"BTC=BTC-USD,ETH=ETH-USD,{MARKETS}")
    monthly = ld.yfinance_monthly_returns(frame, mapping)
    assert monthly.loc["2021-01-01", "BTC"] == pytest.approx(np.log(33114.36 / 29001.72), rel=1e-12)
    assert monthly.loc["2021-03-01", "EQUITY"] == pytest.approx(np.log(3972.89 / 3811.15), rel=1e-12)
    assert monthly.loc["2021-03-01", "GOLD"] == pytest.approx(np.log(1731.1 / 1728.1), rel=1e-12)
    assert monthly.loc["2021-04-01", "GOLD"] == pytest.approx(np.log(1768.1 / 1731.1), rel=1e-12)
    # default tickers are recognised in the file: coins BTC, ETH and the four markets
    coins, markets, ff5, src, _ = xa.load_real_cross_asset(str(out), None, None)
    assert list(coins.columns) == ["BTC", "ETH"] and list(markets.columns) == ["FIAT", "EQUITY", "GOLD", "ENERGY"]
    assert ff5 is None and src == "yfinance_csv"


def test_fetched_csv_through_cross_asset_monthly(offline_yfinance, tmp_path, capsys):
    out = tmp_path / "cross.csv"
    assert _run(["fetch-cross-asset", "--start", "2020-12-01", "--end", "2021-04-30",
                 "--coins", "BTC=BTC-USD,ETH=ETH-USD", "--out", str(out)], capsys)[0] == 0
    db = str(tmp_path / "x.duckdb")
    res = {"duckdb": DuckDBResource(database=db),
           CROSS_ASSET_SOURCE: CrossAssetSourceResource(prices_csv=str(out))}
    config = {"ops": {"cross_asset_monthly": {"config": {"history_start": "2020-12-01"}}}}
    result = dg.materialize([na.cross_asset_monthly], resources=res, run_config=config,
                            tags={"dagster/asset_partition_range_start": "2021-01-01",
                                  "dagster/asset_partition_range_end": "2021-04-01"})
    assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
    rows = query(db, "SELECT * FROM cross_asset_monthly ORDER BY month_start, series")
    assert len(rows) == 4 * 6 and set(rows["source"]) == {"yfinance_csv"}


def test_a_ticker_without_prices_fails_and_writes_nothing(offline_yfinance, tmp_path, capsys):
    out = tmp_path / "cross.csv"
    code, _, err = _run(["fetch-cross-asset", "--start", "2020-12-01", "--end", "2021-04-30",
                         "--out", str(out)], capsys)  # default coins: LTC-USD and BCH-USD are not served
    assert code == cli.EXIT_FAILED
    assert "no price from yfinance for LTC, BCH (LTC-USD, BCH-USD)" in err and "nothing written" in err
    assert not out.exists() and not list(tmp_path.glob(".cross.csv.tmp*"))


def test_markets_only_fetches_the_four_markets(offline_yfinance, tmp_path, capsys):
    out = tmp_path / "markets.csv"
    code, stdout, _ = _run(["fetch-cross-asset", "--start", "2020-12-01", "--end", "2021-04-30", "--markets-only",
                            "--out", str(out)], capsys)
    assert code == 0 and "export CRYPTOFACTOR_CROSS_ASSET_COINS=daily_panel" in stdout
    assert set(ld.yfinance_close_prices(ld.read_yfinance_csv(out)).columns) == {"DX-Y.NYB", "^GSPC", "GC=F", "CL=F"}


def test_without_yfinance_the_command_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "yfinance", None)  # `import yfinance` raises ImportError
    code, _, err = _run(["fetch-cross-asset", "--start", "2021-01-01", "--out", str(tmp_path / "x.csv")], capsys)
    assert code == cli.EXIT_USAGE
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "pip install 'cryptofactor[cross-asset]'" in lines[0]
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("argv, message", [
    (["--markets", "FIAT"], "is not NAME=TICKER"),
    (["--markets-only", "--markets", ""], "no ticker to fetch"),
    (["--end", "2020-01-01"], "is before --start"),
])
def test_bad_arguments_exit_2(argv, message, tmp_path, capsys):
    code, _, err = _run(["fetch-cross-asset", "--start", "2021-01-01", "--out", str(tmp_path / "x.csv"), *argv],
                        capsys)
    assert code == cli.EXIT_USAGE and message in err


def test_help_names_the_loaders_default_tickers():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["fetch-cross-asset"]
    helps = {a.dest: a.help for a in sub._actions}
    assert ",".join(f"{k}={v}" for k, v in ld.DEFAULT_COIN_TICKERS.items()) in helps["coins"]
    assert ",".join(f"{k}={v}" for k, v in ld.DEFAULT_MARKET_TICKERS.items()) in helps["markets"]
