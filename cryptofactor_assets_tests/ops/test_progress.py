"""Progress lines of long work: rate-limited (one line per ~10 s per step plus a
final line), with items done / total and a rate, in the run log and on the CLI's console."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pandas as pd
import pytest

from cryptofactor_assets import progress as progress_module
from cryptofactor_assets.progress import (
    PROGRESS_LOGGER,
    Progress,
    attach_console,
    days_covered,
    detach_console,
    fmt_duration,
    progress_interval,
)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _progress(clock, total=100, **kw) -> tuple[Progress, list[str]]:
    lines: list[str] = []
    kw.setdefault("interval", 10.0)
    return Progress("bybit linear 5m klines 2024", total, unit="symbols", amount_unit="bars",
                    log=lines.append, clock=clock, echo=False, **kw), lines


def test_first_update_then_at_most_one_line_per_interval_then_a_final_line():
    clock = Clock()
    p, lines = _progress(clock)
    for i in range(1, 101):  # 100 symbols, one every 0.5 s: 50 s of work
        clock.now += 0.5
        p.update(i, amount=288)
    p.finish("0 failed")
    # first line, then one per 10 s (at 10.5, 20.5, 30.5, 40.5 s), then the final one
    assert len(lines) == 1 + 4 + 1, lines
    assert lines[0].startswith("bybit linear 5m klines 2024: 1/100 symbols (1%), 288 bars")
    assert "5/100" not in "".join(lines) and "21/100 symbols (21%)" in lines[1]
    assert "bars/s" in lines[1] and "elapsed" in lines[1] and "left" in lines[1]
    assert lines[-1] == "bybit linear 5m klines 2024: done: 100/100 symbols, 28,800 bars in 50 s (576 bars/s); 0 failed"


def test_events_are_never_held_back_and_finish_is_emitted_once():
    clock = Clock()
    p, lines = _progress(clock, total=3)
    p.update(1, amount=10)
    clock.now += 0.1
    p.event("bybit NOPEUSDT (2 of 3): FAILED: unknown symbol")
    clock.now += 0.1
    assert not p.update(3, amount=10)  # within the interval: held back ...
    assert p.update(3, force=True)  # ... unless forced
    p.finish()
    p.finish()
    assert [ln.split(":")[0] for ln in lines] == ["bybit linear 5m klines 2024", "bybit NOPEUSDT (2 of 3)",
                                                  "bybit linear 5m klines 2024", "bybit linear 5m klines 2024"]
    assert lines[-1].startswith("bybit linear 5m klines 2024: done: 3/3 symbols, 20 bars in 0.2 s")


def test_a_message_gets_the_status_once_a_second_has_passed():
    clock = Clock()
    p, lines = _progress(clock, total=2)
    p.update(1, amount=288, message="bybit BTCUSDT (1 of 2): 288 rows")
    clock.now += 12
    assert not p.update(2, amount=288, message="bybit ETHUSDT (2 of 2): held for the final line")
    p.update(2, message="bybit ETHUSDT (2 of 2): 288 rows", force=True)
    assert lines[0] == "bybit BTCUSDT (1 of 2): 288 rows"  # a rate over a few ms is noise
    assert lines[1].startswith("bybit ETHUSDT (2 of 2): 288 rows | 2/2 symbols (100%), 576 bars, 48 bars/s")


def test_unknown_total_and_finish_with_final_counts():
    clock = Clock()
    p, lines = _progress(clock, total=None)
    p.update(advance=1)
    clock.now += 30
    p.finish(done=7, amount=700)
    assert lines[0].startswith("bybit linear 5m klines 2024: 1 symbols,")
    assert lines[-1] == "bybit linear 5m klines 2024: done: 7 symbols, 700 bars in 30 s (23 bars/s)"


def test_interval_setting(monkeypatch):
    monkeypatch.delenv("CRYPTOFACTOR_PROGRESS_SECONDS", raising=False)
    assert progress_interval() == 10.0
    monkeypatch.setenv("CRYPTOFACTOR_PROGRESS_SECONDS", "2.5")
    assert progress_interval() == 2.5 and Progress("x").interval == 2.5
    for bad in ("soon", "-1"):
        monkeypatch.setenv("CRYPTOFACTOR_PROGRESS_SECONDS", bad)
        with pytest.raises(ValueError, match="CRYPTOFACTOR_PROGRESS_SECONDS"):
            progress_interval()


def test_durations_and_days_covered():
    assert [fmt_duration(s) for s in (0.04, 8.24, 95, 245, 3720)] == ["0.0 s", "8.2 s", "95 s", "4 min 05 s",
                                                                     "1 h 02 min"]
    times = pd.Series(pd.to_datetime(["2024-01-01 00:00", "2024-01-03 23:55"]))
    assert days_covered(times, dt.date(2024, 1, 1), 31) == 3
    assert days_covered(times, dt.date(2024, 1, 1), 2) == 2  # never beyond the window
    assert days_covered(pd.Series([], dtype="datetime64[ns]"), dt.date(2024, 1, 1), 31, floor=5) == 5


def test_lines_go_to_the_progress_logger_and_the_console_handler():
    stream = io.StringIO()
    handler = attach_console(stream)
    try:
        p = Progress("raw_klines_5m ingest", 2, unit="days", log=None, interval=10)
        p.update(1, amount=5)
        p.finish()
    finally:
        detach_console(handler)
    out = stream.getvalue().splitlines()
    assert out[0].startswith("[cryptofactor]   progress: raw_klines_5m ingest: 1/2 days (50%), 5 rows")
    assert out[1].startswith("[cryptofactor]   progress: raw_klines_5m ingest: done: 1/2 days, 5 rows in")
    assert handler not in logging.getLogger(PROGRESS_LOGGER).handlers
    assert progress_module._logger.name == PROGRESS_LOGGER


def test_bybit_batch_logs_first_failures_last_and_a_final_line_with_bars_per_second(monkeypatch):
    """Many fast symbols: not one line each; the final line carries the totals and bars per second."""
    from cryptofactor_assets.sources import bybit
    from cryptofactor_assets.sources.base import SourceError
    from cryptofactor_assets.sources.bybit import BybitClient, KlineFetchStats

    clock = Clock()
    monkeypatch.setattr(progress_module, "_now", clock)

    def fake_klines(self, symbol, interval, start, end, partition=None):
        clock.now += 1.0  # one second per symbol
        if symbol == "BADUSDT":
            raise SourceError("bybit", symbol, partition, "unknown symbol (retCode 10001)")
        st = KlineFetchStats()
        st.rows, st.pages = 288, 1
        return bybit.empty_klines(), st

    monkeypatch.setattr(BybitClient, "klines_with_stats", fake_klines)
    lines: list[str] = []
    client = BybitClient(base_url="http://127.0.0.1:9", sleep=lambda s: None, log=lines.append)
    symbols = [f"C{i}USDT" for i in range(40)]
    symbols[20] = "BADUSDT"
    batch = client.fetch_klines_5m(symbols, "2024-01-01", "2024-01-02")
    assert [f.symbol for f in batch.failures] == ["BADUSDT"]
    assert lines[0].startswith("bybit C0USDT (1 of 40): 288 rows, 1 pages, 0 retries | 1/40 symbols (2%), 288 bars")
    assert any(ln.startswith("bybit BADUSDT (21 of 40): FAILED") for ln in lines)
    assert lines[-2].startswith("bybit C39USDT (40 of 40): 288 rows")
    assert lines[-1].startswith("bybit linear 5m klines 2024-01-01: done: 40/40 symbols, 11,232 bars in 40 s "
                                "(281 bars/s); 1 failed")
    # 40 s of fetching: first, three interval lines, the failure, the last symbol, the final line
    assert len(lines) <= 1 + 4 + 1 + 1 + 1, lines
