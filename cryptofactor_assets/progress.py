"""Rate-limited progress lines for long work: fetches, ingests, long steps (no Dagster import).

A :class:`Progress` counts items done (symbols, days, partitions) and an amount (bars, rows) and
emits a line through ``log`` (in a run: ``context.log.info``, so it lands in the run's log in the
UI) at most once per ``interval`` seconds (default 10, ``CRYPTOFACTOR_PROGRESS_SECONDS``): the first
update, then whenever ``interval`` has passed since the last line (or when forced; the update that
completes the total is left to the final line), and always a final line from :meth:`Progress.finish`. :meth:`Progress.event` lines (a failed
symbol) are never held back.

Every line is also sent to the Python logger ``cryptofactor.progress`` (INFO). Nothing prints it
by default; ``cryptofactor materialize`` attaches a console handler (see :func:`console_handler`),
so progress shows on the CLI while the Dagster console logger stays at WARNING.

Long numerical steps (walk-forward refits, neural-beta months, grid configurations) stay free of
Dagster and of this module: their loops take an optional ``progress(done, total)`` callback, called
once per outer iteration (nothing is done when it is None). A :class:`Progress` is such a callback
(:meth:`Progress.__call__`), so an asset passes one built with ``log=context.log.info`` and calls
:meth:`Progress.finish` when the step ends.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable

PROGRESS_LOGGER = "cryptofactor.progress"
PROGRESS_SECONDS_ENV = "CRYPTOFACTOR_PROGRESS_SECONDS"
DEFAULT_INTERVAL = 10.0
#: A rate measured over less than this many seconds is noise: lines with a message omit it.
MIN_RATE_SECONDS = 1.0

_logger = logging.getLogger(PROGRESS_LOGGER)


def _now() -> float:
    return time.monotonic()


def progress_interval() -> float:
    """Seconds between two progress lines of one step (``CRYPTOFACTOR_PROGRESS_SECONDS``, default 10)."""
    text = (os.environ.get(PROGRESS_SECONDS_ENV) or "").strip()
    if not text:
        return DEFAULT_INTERVAL
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{PROGRESS_SECONDS_ENV}={text!r} is not a number of seconds") from None
    if not value >= 0:
        raise ValueError(f"{PROGRESS_SECONDS_ENV}={text!r} must be >= 0")
    return value


def fmt_duration(seconds: float) -> str:
    """``8.2 s``, ``95 s``, ``4 min 05 s``, ``1 h 02 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_rate(amount: float, seconds: float) -> str:
    rate = amount / seconds if seconds > 0 else 0.0
    return f"{rate:,.0f}" if rate >= 10 else f"{rate:,.1f}"


class Progress:
    """Progress of one long piece of work, logged at most every ``interval`` seconds plus a final line.

    ``label`` names the work (``"raw_klines_5m ingest 2023-01-01..2025-01-01"``), ``total`` the items
    expected (None when unknown), ``unit`` the items (``"symbols"``, ``"days"``), ``amount_unit`` what
    is counted inside them (``"bars"``, ``"rows"``), whose rate per second is reported.
    """

    def __init__(self, label: str, total: int | None = None, *, unit: str = "items",
                 amount_unit: str = "rows", log: Callable[[str], None] | None = None,
                 interval: float | None = None, clock: Callable[[], float] | None = None,
                 echo: bool = True):
        self.label, self.total, self.unit, self.amount_unit = label, total, unit, amount_unit
        self.log = log
        self.interval = progress_interval() if interval is None else float(interval)
        self.clock = clock if clock is not None else _now
        self.echo = echo
        self.done = 0
        self.amount = 0
        self.lines: list[str] = []  # every line emitted (for tests and metadata)
        self.started = self.clock()
        self._last_emit: float | None = None
        self._finished = False

    # ------------------------------------------------------------------ state
    @property
    def elapsed(self) -> float:
        return max(0.0, self.clock() - self.started)

    def status(self) -> str:
        """``12/120 symbols (10%), 345,600 bars, 28,800 bars/s, 12 s elapsed, ~1 min 48 s left``."""
        elapsed = self.elapsed
        parts = []
        if self.total:
            parts.append(f"{self.done:,}/{self.total:,} {self.unit} ({100 * self.done / self.total:.0f}%)")
        else:
            parts.append(f"{self.done:,} {self.unit}")
        if self.amount:
            parts.append(f"{self.amount:,} {self.amount_unit}")
            if elapsed > 0:
                parts.append(f"{fmt_rate(self.amount, elapsed)} {self.amount_unit}/s")
        parts.append(f"{fmt_duration(elapsed)} elapsed")
        if self.total and 0 < self.done < self.total and elapsed >= MIN_RATE_SECONDS:
            parts.append(f"~{fmt_duration(elapsed * (self.total - self.done) / self.done)} left")
        return ", ".join(parts)

    def due(self) -> bool:
        """True when a line would be emitted now (first update, or ``interval`` passed since the last)."""
        return self._last_emit is None or self.clock() - self._last_emit >= self.interval

    # ------------------------------------------------------------------ updates
    def update(self, done: int | None = None, *, advance: int = 0, amount: int = 0,
               message: str | None = None, force: bool = False) -> bool:
        """Record progress (``done`` items in all, or ``advance`` more; ``amount`` more units) and emit a
        line when due (or ``force``). ``message`` replaces ``label: status`` (followed by ``| status`` once a second
        has passed). Returns True when a line was emitted."""
        if done is not None:
            self.done = done
        self.done += advance
        self.amount += amount
        complete = self.total is not None and self.done >= self.total
        # the update completing the total is left to finish()'s line unless forced (one line, not two)
        if not force and (complete or not self.due()):
            return False
        if message is None:
            line = f"{self.label}: {self.status()}"
        elif self.elapsed >= MIN_RATE_SECONDS:
            line = f"{message} | {self.status()}"
        else:
            line = message
        self._emit(line)
        return True

    def __call__(self, done: int, total: int | None = None) -> bool:
        """The ``progress(done, total)`` callback of the numerical loops: ``done`` items in all out of
        ``total`` (which replaces the total given at construction, e.g. once the folds are cut)."""
        if total is not None:
            self.total = total
        return self.update(done)

    def event(self, message: str) -> None:
        """A line that is never held back (a failed symbol); it does not restart the interval."""
        self._send(message)

    def finish(self, message: str | None = None, *, done: int | None = None, amount: int | None = None) -> str:
        """The final line (always emitted, once): ``label: done: N/M unit, amount in T (rate/s)[; message]``;
        ``done`` / ``amount`` set the final counts (totals, not increments)."""
        if self._finished:
            return self.lines[-1] if self.lines else ""
        self._finished = True
        if done is not None:
            self.done = done
        if amount is not None:
            self.amount = amount
        elapsed = self.elapsed
        parts = [f"{self.done:,}/{self.total:,} {self.unit}" if self.total is not None else f"{self.done:,} {self.unit}"]
        if self.amount:
            parts.append(f"{self.amount:,} {self.amount_unit}")
        text = ", ".join(parts) + f" in {fmt_duration(elapsed)}"
        if self.amount and elapsed > 0:
            text += f" ({fmt_rate(self.amount, elapsed)} {self.amount_unit}/s)"
        line = f"{self.label}: done: {text}" + (f"; {message}" if message else "")
        self._emit(line)
        return line

    # ------------------------------------------------------------------ output
    def _emit(self, line: str) -> None:
        self._last_emit = self.clock()
        self._send(line)

    def _send(self, line: str) -> None:
        self.lines.append(line)
        if self.log is not None:
            self.log(line)
        if self.echo:
            _logger.info(line)


def days_covered(times, start, n_days: int, floor: int = 0) -> int:
    """Days of the window ``[start, start + n_days)`` done once rows with these ``times`` are in
    (time-ordered chunks): through the day of the latest, never below ``floor`` nor above ``n_days``."""
    import pandas as pd

    try:
        latest = pd.to_datetime(pd.Series(times), errors="coerce").max()
    except (TypeError, ValueError):
        return floor
    if pd.isna(latest):
        return floor
    covered = (pd.Timestamp(latest).normalize() - pd.Timestamp(start)).days + 1
    return max(floor, min(n_days, covered))


class _ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"[cryptofactor]   progress: {record.getMessage()}"


def console_handler(stream=None) -> logging.Handler:
    """A handler printing ``cryptofactor.progress`` lines as ``[cryptofactor]   progress: ...``."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setLevel(logging.INFO)
    handler.setFormatter(_ConsoleFormatter())
    return handler


def attach_console(stream=None) -> logging.Handler:
    """Print progress lines on the console (the CLI); returns the handler (``detach_console`` removes it)."""
    handler = console_handler(stream)
    _logger.addHandler(handler)
    if _logger.level == logging.NOTSET or _logger.level > logging.INFO:
        _logger.setLevel(logging.INFO)
    return handler


def detach_console(handler: logging.Handler) -> None:
    _logger.removeHandler(handler)
