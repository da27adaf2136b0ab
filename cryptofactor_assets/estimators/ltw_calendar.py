"""Period calendars (LTW 52-week years, ISO weeks, days) and daily -> weekly aggregation.

Liu, Tsyvinski & Wu (2022, JF 77(2), Section II.A) cut every calendar year into 52 weeks:
week 1 = January 1-7, weeks 1-51 have 7 days, week 52 takes the remaining 8 days (9 in leap
years), so a week never straddles New Year.  Production assets use ISO weeks (Monday 00:00 UTC).
Replications show results move with the calendar, so the calendar is a parameter everywhere.

Every period is identified by its first day (``week_start`` / ``date``) and by a consecutive
integer id (``period_id``): two periods are adjacent iff their ids differ by one, which is how
callers detect gaps without assuming 7-day spacing (LTW week 52 is 8 or 9 days long).

All functions are vectorised over numpy ``datetime64[D]`` arrays; date outputs are
``datetime64[ns]`` (midnight, tz-naive, meaning UTC days).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Calendar = Literal["iso", "ltw", "daily"]
CALENDARS: tuple[str, ...] = ("iso", "ltw", "daily")

#: 1970-01-05 was a Monday: ISO week ids count whole weeks from it.
_MONDAY0 = np.datetime64("1970-01-05", "D")
_ONE_DAY = np.timedelta64(1, "D")

#: Column layout of the ``weekly_panel`` table (sql/panels/create_weekly_panel.sql), in table order.
WEEKLY_PANEL_COLUMNS: tuple[str, ...] = (
    "symbol",
    "week_start",
    "ret",
    "n_days",
    "n_returns",
    "close",
    "market_cap",
    "max_price",
    "avg_volume",
    "avg_dollar_volume",
    "std_dollar_volume",
    "age_weeks",
    "in_universe",
)


def _check_calendar(calendar: str) -> None:
    if calendar not in CALENDARS:
        raise ValueError(f"calendar must be one of {CALENDARS}, got {calendar!r}")


def _to_days(dates) -> np.ndarray:
    """Any date-like array / Series / Index -> numpy ``datetime64[D]`` (time of day dropped)."""
    if isinstance(dates, pd.Series | pd.Index):
        values = pd.to_datetime(dates).to_numpy()
    else:
        values = pd.to_datetime(np.asarray(dates)).to_numpy()
    return values.astype("datetime64[D]")


def _out(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[ns]")


def as_datetime_ns(values) -> pd.Series | np.ndarray:
    """Normalise a date column to midnight ``datetime64[ns]`` (DuckDB DATE arrives as ``[us]``).

    Keeps a Series a Series (same index) so it can be assigned back into its frame; merges between
    frames only work when both sides use the same resolution.
    """
    out = _out(_to_days(values))
    if isinstance(values, pd.Series):
        return pd.Series(out, index=values.index, name=values.name)
    return out


# --------------------------------------------------------------------------------------------
# LTW calendar
# --------------------------------------------------------------------------------------------
def ltw_year_week(dates) -> tuple[np.ndarray, np.ndarray]:
    """(year, week in 1..52) of each date on the LTW calendar: week = min(floor((doy-1)/7)+1, 52)."""
    days = _to_days(dates)
    years = days.astype("datetime64[Y]")
    doy0 = (days - years.astype("datetime64[D]")).astype(np.int64)  # 0-based day of year
    week = np.minimum(doy0 // 7 + 1, 52)
    return years.astype(np.int64) + 1970, week


def ltw_week_start(dates) -> np.ndarray:
    """First day of the LTW week holding each date: Jan 1 + 7 (week - 1) days."""
    days = _to_days(dates)
    jan1 = days.astype("datetime64[Y]").astype("datetime64[D]")
    _, week = ltw_year_week(days)
    return _out(jan1 + (week - 1) * 7)


def ltw_week_end(dates) -> np.ndarray:
    """Last day of the LTW week holding each date (start + 6, or Dec 31 for week 52)."""
    days = _to_days(dates)
    years = days.astype("datetime64[Y]")
    jan1 = years.astype("datetime64[D]")
    _, week = ltw_year_week(days)
    dec31 = (years + 1).astype("datetime64[D]") - _ONE_DAY
    return _out(np.where(week == 52, dec31, jan1 + (week - 1) * 7 + 6))


def ltw_week_id(dates) -> np.ndarray:
    """Consecutive integer id of the LTW week: 52 * year + (week - 1)."""
    year, week = ltw_year_week(dates)
    return year * 52 + week - 1


# --------------------------------------------------------------------------------------------
# ISO calendar (weeks start on Monday)
# --------------------------------------------------------------------------------------------
def iso_week_id(dates) -> np.ndarray:
    """Consecutive integer id of the ISO week (whole weeks since Monday 1970-01-05)."""
    return (_to_days(dates) - _MONDAY0).astype(np.int64) // 7


def iso_week_start(dates) -> np.ndarray:
    """Monday of the ISO week holding each date."""
    return _out(_MONDAY0 + iso_week_id(dates) * 7)


def iso_week_end(dates) -> np.ndarray:
    """Sunday of the ISO week holding each date."""
    return _out(_MONDAY0 + iso_week_id(dates) * 7 + 6)


# --------------------------------------------------------------------------------------------
# Calendar-generic helpers
# --------------------------------------------------------------------------------------------
def _day_start(dates) -> np.ndarray:
    return _out(_to_days(dates))


def _day_id(dates) -> np.ndarray:
    return _to_days(dates).astype(np.int64)


def _for_calendar(dates, calendar: Calendar, ltw, iso, daily) -> np.ndarray:
    """``ltw(dates)``, ``iso(dates)`` or ``daily(dates)`` as ``calendar`` says (checked)."""
    _check_calendar(calendar)
    return {"ltw": ltw, "iso": iso, "daily": daily}[calendar](dates)


def period_start(dates, calendar: Calendar) -> np.ndarray:
    """First day of the period (LTW week, ISO week or day) holding each date."""
    return _for_calendar(dates, calendar, ltw_week_start, iso_week_start, _day_start)


def period_end(dates, calendar: Calendar) -> np.ndarray:
    """Last day of the period holding each date."""
    return _for_calendar(dates, calendar, ltw_week_end, iso_week_end, _day_start)


def period_id(dates, calendar: Calendar) -> np.ndarray:
    """Consecutive integer id of the period holding each date (adjacent periods differ by 1)."""
    return _for_calendar(dates, calendar, ltw_week_id, iso_week_id, _day_id)


def period_length(dates, calendar: Calendar) -> np.ndarray:
    """Number of days of the period holding each date (7; 8 or 9 for LTW week 52; 1 for days)."""
    start = _to_days(period_start(dates, calendar))
    end = _to_days(period_end(dates, calendar))
    return (end - start).astype(np.int64) + 1


def next_period_start(dates, calendar: Calendar) -> np.ndarray:
    """First day of the period following the one holding each date (= period end + 1 day)."""
    return _out(_to_days(period_end(dates, calendar)) + _ONE_DAY)


# --------------------------------------------------------------------------------------------
# Daily -> weekly aggregation
# --------------------------------------------------------------------------------------------
def aggregate_weekly(
    daily_panel: pd.DataFrame,
    calendar: Calendar = "iso",
    *,
    min_market_cap: float = 1e6,
) -> pd.DataFrame:
    """Aggregate ``daily_panel`` rows to coin-weeks in the ``weekly_panel`` layout.

    Same column semantics as ``sql/panels/create_weekly_panel.sql``, on the ISO or the LTW calendar:

    * ``week_start``: first day of the (ISO or LTW) week; ``n_days`` rows, ``n_returns`` daily returns;
    * ``ret`` = prod(1 + daily ret) - 1 over the week, NULL unless every day of the week has a return
      (7 days; 8 or 9 for LTW week 52).  Daily returns are NULL after a missing day, so a complete
      week's ``ret`` equals P(last day) / P(last day of the previous week) - 1 (LTW's definition);
    * ``close`` / ``market_cap``: values of the week's last row (a NULL last-day market cap stays
      NULL: it is never filled from an earlier day);
    * ``max_price`` = max daily close; ``avg_volume`` / ``avg_dollar_volume`` = mean of the
      non-missing daily values; ``std_dollar_volume`` = sample (ddof = 1) std of daily dollar volume;
    * ``age_weeks`` = period_id(week) - period_id(week of the coin's first row in the input), i.e.
      0 in the listing week (the first row is always in the past, so no look-ahead);
    * ``in_universe`` = last-day market cap >= ``min_market_cap`` and every day of the week present
      with a return, a market cap and a dollar volume ("complete" = all days of that week).

    Vectorised: one sort and one groupby over (symbol, week).
    """
    _check_calendar(calendar)
    if calendar == "daily":
        raise ValueError("aggregate_weekly needs a weekly calendar ('iso' or 'ltw')")
    needed = ["symbol", "date", "close", "ret", "market_cap", "volume", "dollar_volume"]
    missing = [c for c in needed if c not in daily_panel.columns]
    if missing:
        raise ValueError(f"daily_panel lacks columns {missing}")
    df = daily_panel[needed].copy()
    df["date"] = as_datetime_ns(df["date"])
    if df.duplicated(["symbol", "date"]).any():
        raise ValueError("daily_panel has duplicate (symbol, date) rows")
    df = df.sort_values(["symbol", "date"], kind="mergesort").reset_index(drop=True)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=_WEEKLY_DTYPES[c]) for c in WEEKLY_PANEL_COLUMNS})

    dates = df["date"].to_numpy()
    df["week_start"] = period_start(dates, calendar)
    week_len = period_length(dates, calendar)
    wid = period_id(dates, calendar)
    # Week id of each coin's first row, broadcast to its rows (frame is sorted by symbol, date).
    first_wid = pd.Series(wid).groupby(df["symbol"].to_numpy()).transform("first").to_numpy()
    df["_age"] = wid - first_wid
    df["_len"] = week_len
    df["_gross"] = 1.0 + df["ret"]
    df["_complete_day"] = (df["ret"].notna() & df["market_cap"].notna() & df["dollar_volume"].notna()).astype(
        np.int64
    )

    g = df.groupby(["symbol", "week_start"], sort=True)
    out = pd.DataFrame(
        {
            "n_days": g.size(),
            "n_returns": g["ret"].count(),
            "_gross": g["_gross"].prod(),  # skips NaN: masked below unless all days have returns
            "close": g["close"].last(),  # close is NOT NULL, so last() is the last row
            "max_price": g["close"].max(),
            "avg_volume": g["volume"].mean(),
            "avg_dollar_volume": g["dollar_volume"].mean(),
            "std_dollar_volume": g["dollar_volume"].std(ddof=1),
            "age_weeks": g["_age"].first(),
            "_len": g["_len"].first(),
            "_n_complete": g["_complete_day"].sum(),
        }
    )
    # groupby.last() would skip a NULL market cap on the last day; take the last row explicitly.
    last_rows = df.loc[~df.duplicated(["symbol", "week_start"], keep="last")]
    out["market_cap"] = last_rows.set_index(["symbol", "week_start"])["market_cap"]
    out = out.reset_index()

    full = out["n_returns"] == out["_len"]
    out["ret"] = np.where(full, out["_gross"] - 1.0, np.nan)
    out["in_universe"] = (out["_n_complete"] == out["_len"]) & (out["market_cap"] >= min_market_cap)
    out["n_days"] = out["n_days"].astype(np.int64)
    out["n_returns"] = out["n_returns"].astype(np.int64)
    out["age_weeks"] = out["age_weeks"].astype(np.int64)
    out["in_universe"] = out["in_universe"].astype(bool)
    return out[list(WEEKLY_PANEL_COLUMNS)]


_WEEKLY_DTYPES: dict[str, str] = {
    "symbol": "object",
    "week_start": "datetime64[ns]",
    "ret": "float64",
    "n_days": "int64",
    "n_returns": "int64",
    "close": "float64",
    "market_cap": "float64",
    "max_price": "float64",
    "avg_volume": "float64",
    "avg_dollar_volume": "float64",
    "std_dollar_volume": "float64",
    "age_weeks": "int64",
    "in_universe": "bool",
}
