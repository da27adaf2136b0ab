"""Risk-free rate: a CSV of daily or weekly T-bill yields (annualised percent), a constant, or 0.

LTW (2022) subtract the 1-month T-bill from the market return (CMKT); a common mistake is the
10-year yield / 52 (``shared/reference/methodology.md``). Input convention, as the seed data and
FRED series (``DTB4WK`` daily, ``WTB4WK`` weekly) use: **annualised percent**, e.g. ``5.28``.

Conversion (documented simple-interest, calendar-day convention; crypto trades every day):

* daily simple rate  ``rf_d = y / 100 / 365``
* weekly simple rate ``rf_w = y / 100 * 7 / 365``

where ``y`` is the last observation dated **strictly before** the period starts (the day, or the
week's Monday): the rate earned over a period is known when the period begins, and using a value
published during the period would be look-ahead. Days before the first observation get NaN (and
are counted in the note). Missing values in the file (FRED writes ``.``) are skipped, so the
previous observation carries forward.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptofactor_assets import settings
from cryptofactor_assets.sources.base import SourceError

SOURCE = "risk_free"
RISK_FREE_CSV_ENV = settings.RISK_FREE_CSV_ENV
RISK_FREE_CONSTANT_ENV = settings.RISK_FREE_PCT_ENV
DAYS_PER_YEAR = 365.0
_DATE_NAMES = ("date", "observation_date", "day", "week", "time")


def daily_simple_rate(annual_pct: Any) -> Any:
    """Annualised percent -> simple daily rate: ``y / 100 / 365``."""
    return np.asarray(annual_pct, dtype="float64") / 100.0 / DAYS_PER_YEAR


def weekly_simple_rate(annual_pct: Any) -> Any:
    """Annualised percent -> simple weekly rate: ``y / 100 * 7 / 365``."""
    return np.asarray(annual_pct, dtype="float64") / 100.0 * 7.0 / DAYS_PER_YEAR


@dataclass(frozen=True)
class RiskFreeRate:
    """A risk-free source: dated observations (``date``, ``annual_pct``) or a constant.

    ``frequency`` is ``daily`` / ``weekly`` (median spacing of the file's dates) or ``constant``;
    ``note`` is the sentence for the run's metadata.
    """

    observations: pd.DataFrame
    constant_pct: float | None
    frequency: str
    source: str
    note: str

    def annual_pct_asof(self, period_starts: Any) -> pd.Series:
        """Annualised percent known before each period start (last observation dated < start)."""
        starts = pd.DatetimeIndex(pd.to_datetime(period_starts)).normalize()
        if self.constant_pct is not None:
            return pd.Series(self.constant_pct, index=starts, dtype="float64")
        obs_days = self.observations["date"].to_numpy("datetime64[ns]")
        # searchsorted(side="left") - 1 = index of the last observation strictly before the start
        idx = np.searchsorted(obs_days, starts.to_numpy("datetime64[ns]"), side="left") - 1
        values = self.observations["annual_pct"].to_numpy("float64")
        out = np.where(idx >= 0, values[np.clip(idx, 0, None)], np.nan)
        return pd.Series(out, index=starts, dtype="float64")

    def daily(self, days: Any) -> pd.Series:
        """Simple daily risk-free rate for each UTC day."""
        y = self.annual_pct_asof(days)
        return pd.Series(daily_simple_rate(y.to_numpy()), index=y.index, name="rf_daily")

    def weekly(self, week_starts: Any) -> pd.Series:
        """Simple weekly risk-free rate for each week (given by its first day)."""
        y = self.annual_pct_asof(week_starts)
        return pd.Series(weekly_simple_rate(y.to_numpy()), index=y.index, name="rf_weekly")

    def coverage_note(self, period_starts: Any) -> str:
        """``note`` plus how many periods had no observation before them (NaN)."""
        missing = int(self.annual_pct_asof(period_starts).isna().sum())
        return self.note + (f"; {missing} period(s) before the first observation have no rate (NaN)"
                            if missing else "")


def constant_risk_free(annual_pct: float) -> RiskFreeRate:
    if not np.isfinite(annual_pct):
        raise ValueError("the constant risk-free rate must be finite")
    return RiskFreeRate(_empty_obs(), float(annual_pct), "constant", "constant",
                        f"risk-free rate: constant {annual_pct:g} % a year "
                        f"(daily {daily_simple_rate(annual_pct):.3e}, weekly {weekly_simple_rate(annual_pct):.3e}, simple)")


def zero_risk_free() -> RiskFreeRate:
    return RiskFreeRate(_empty_obs(), 0.0, "constant", "default",
                        "risk-free rate: 0 (none configured; excess returns equal raw returns). "
                        f"Set {RISK_FREE_CSV_ENV} to a T-bill CSV or {RISK_FREE_CONSTANT_ENV} to a constant")


def read_risk_free_csv(path: str | os.PathLike[str], date_column: str | None = None,
                       rate_column: str | None = None) -> RiskFreeRate:
    """T-bill yields from a CSV: a date column and an annualised-percent column.

    The date column is ``date_column`` or the first of ``date, observation_date, day, week, time``
    (else the first column); the rate column is ``rate_column`` or the first other column. Values
    that are not numbers (FRED ``.``) are skipped; unreadable dates are an error.
    """
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise SourceError(SOURCE, None, None, f"{Path(path).name}: not a readable CSV ({exc})") from None
    cols = {c.strip().lower(): c for c in raw.columns}
    dcol = date_column or next((cols[n] for n in _DATE_NAMES if n in cols), raw.columns[0] if len(raw.columns) else None)
    rcol = rate_column or next((c for c in raw.columns if c != dcol), None)
    if dcol not in raw.columns or rcol not in raw.columns:
        raise SourceError(SOURCE, None, None, f"{Path(path).name}: needs a date column and a rate column")
    dates = pd.to_datetime(raw[dcol].str.strip(), format="ISO8601", errors="coerce", utc=True)
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise SourceError(SOURCE, None, None, f"{Path(path).name}: unreadable date at line {i + 2}: {raw[dcol].iloc[i]!r}")
    rates = pd.to_numeric(raw[rcol].str.strip(), errors="coerce")
    obs = pd.DataFrame({"date": dates.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]"),
                        "annual_pct": rates.astype("float64")})
    skipped = int(obs["annual_pct"].isna().sum())
    obs = obs.dropna().sort_values("date", kind="stable").drop_duplicates("date", keep="last").reset_index(drop=True)
    if obs.empty:
        raise SourceError(SOURCE, None, None, f"{Path(path).name}: no numeric rate in column {rcol!r}")
    if (obs["annual_pct"].abs() > 100).any():
        # No lower bound: 2010s T-bills really yielded 0.01..0.1 % (a fraction 0.05 cannot be told apart).
        raise SourceError(SOURCE, None, None, f"{Path(path).name}: rates must be annualised percent (e.g. 5.28); "
                                              f"got values in [{obs['annual_pct'].min()}, {obs['annual_pct'].max()}]")
    spacing = obs["date"].diff().dt.days.median() if len(obs) > 1 else np.nan
    frequency = "weekly" if spacing >= 5 else "daily"
    note = (f"risk-free rate: {frequency} T-bill yields from {Path(path).name} column {rcol!r} "
            f"({len(obs)} observations {obs['date'].iloc[0]:%Y-%m-%d}..{obs['date'].iloc[-1]:%Y-%m-%d}, "
            f"annualised %), simple rate y/100/365 per day, y/100*7/365 per week, "
            f"last observation before each period")
    if skipped:
        note += f"; {skipped} non-numeric value(s) skipped (previous value carried)"
    return RiskFreeRate(obs, None, frequency, str(path), note)


def load_risk_free(csv_path: str | None = None, constant_pct: float | None = None) -> RiskFreeRate:
    """The configured risk-free source: a CSV, else a constant, else 0 (with a note).

    Arguments default to env ``CRYPTOFACTOR_RISK_FREE_CSV`` / ``CRYPTOFACTOR_RISK_FREE_PCT``.
    """
    env_csv, env_pct = settings.risk_free_settings()
    csv_path = csv_path or env_csv or None
    if constant_pct is None and env_pct:
        constant_pct = float(env_pct)
    return configured_risk_free(csv_path, constant_pct)


def configured_risk_free(csv_path: str | None, constant_pct: float | None) -> RiskFreeRate:
    """A CSV, else a constant, else 0 (with a note): no environment read."""
    if csv_path and constant_pct is not None:
        raise ValueError("give either a risk-free CSV or a constant, not both")
    if csv_path:
        return read_risk_free_csv(csv_path)
    if constant_pct is not None:
        return constant_risk_free(constant_pct)
    return zero_risk_free()


def _empty_obs() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "annual_pct": pd.Series(dtype="float64")})
