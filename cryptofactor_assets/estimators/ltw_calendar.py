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
    "last_date",
    "prev_close",
    "return_rule",
)

#: Weekly return rules (stored with every weekly row as ``return_rule``):
#: ``"last_price"`` (Liu, Tsyvinski & Wu 2022): ret = P(last available day of the week) / P(last available day
#: of the previous week) - 1, eligible on the week's last available day; ``"complete_week"``: ret compounds
#: the daily returns and needs every day of the week (a missing day drops the coin-week).
RETURN_RULES: tuple[str, ...] = ("last_price", "complete_week")
DEFAULT_RETURN_RULE = "last_price"


def check_return_rule(return_rule: str) -> str:
    """``return_rule`` if it is one of :data:`RETURN_RULES`, else a ValueError naming them."""
    if return_rule not in RETURN_RULES:
        raise ValueError(f"return_rule must be one of {RETURN_RULES}, got {return_rule!r}")
    return return_rule


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
    return_rule: str = DEFAULT_RETURN_RULE,
) -> pd.DataFrame:
    """Aggregate ``daily_panel`` rows to coin-weeks in the ``weekly_panel`` layout.

    Same column semantics as ``sql/panels/create_weekly_panel.sql``, on the ISO or the LTW calendar:

    * ``week_start``: first day of the (ISO or LTW) week; ``n_days`` rows, ``n_returns`` daily returns;
    * ``last_date``: the week's last row (its last available day); ``close`` / ``market_cap``: that
      row's values (a NULL market cap stays NULL: it is never filled from an earlier day);
    * ``prev_close``: ``close`` of the previous week (period id - 1) of the same coin, NaN when the coin
      has no row in that week;
    * ``ret`` by ``return_rule`` (stored in the column ``return_rule``):

      - ``"last_price"`` (LTW 2022, default): close / prev_close - 1, i.e. P(last available day of the
        week) / P(last available day of the previous week) - 1; NaN when the previous week has no row
        (never a return across a whole missing week: it would span two periods);
      - ``"complete_week"``: prod(1 + daily ret) - 1, NaN unless every day of the week has a return (7
        days; 8 or 9 for LTW week 52). Daily returns are NaN after a missing day, so a complete week's
        return equals the last_price one;

    * ``max_price`` = max daily close; ``avg_volume`` / ``avg_dollar_volume`` = mean of the
      non-missing daily values; ``std_dollar_volume`` = sample (ddof = 1) std of daily dollar volume;
    * ``age_weeks`` = period_id(week) - period_id(week of the coin's first row in the input), i.e.
      0 in the listing week (the first row is always in the past, so no look-ahead);
    * ``in_universe``: ``"last_price"``: market cap >= ``min_market_cap`` and a dollar volume on the
      week's last available day (LTW's filter: price, volume and cap present, cap >= $1M);
      ``"complete_week"``: last-day market cap >= ``min_market_cap`` and every day of the week present
      with a return, a market cap and a dollar volume.

    Uses rows of the week and the week before only (no later week). Vectorised: one sort and one
    groupby over (symbol, week).
    """
    _check_calendar(calendar)
    check_return_rule(return_rule)
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
    df["_wid"] = wid
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
            "max_price": g["close"].max(),
            "avg_volume": g["volume"].mean(),
            "avg_dollar_volume": g["dollar_volume"].mean(),
            "std_dollar_volume": g["dollar_volume"].std(ddof=1),
            "age_weeks": g["_age"].first(),
            "_wid": g["_wid"].first(),
            "_len": g["_len"].first(),
            "_n_complete": g["_complete_day"].sum(),
        }
    )
    # The last row of each week, NULLs included (groupby.last() would skip a NULL market cap).
    last_rows = df.loc[~df.duplicated(["symbol", "week_start"], keep="last")].set_index(["symbol", "week_start"])
    for col, src in (("last_date", "date"), ("close", "close"), ("market_cap", "market_cap"),
                     ("_last_dollar_volume", "dollar_volume")):
        out[col] = last_rows[src]
    out = out.reset_index()  # sorted by symbol, week_start

    # the previous row of the same coin is the previous week only when the week ids are adjacent
    same_coin = out["symbol"].eq(out["symbol"].shift(1)).to_numpy()
    adjacent = same_coin & (out["_wid"].diff().to_numpy() == 1)
    out["prev_close"] = np.where(adjacent, out["close"].shift(1).to_numpy(dtype=float), np.nan)
    if return_rule == "last_price":
        out["ret"] = out["close"] / out["prev_close"] - 1.0
        out["in_universe"] = (out["market_cap"] >= min_market_cap) & out["_last_dollar_volume"].notna()
    else:
        full = out["n_returns"] == out["_len"]
        out["ret"] = np.where(full, out["_gross"] - 1.0, np.nan)
        out["in_universe"] = (out["_n_complete"] == out["_len"]) & (out["market_cap"] >= min_market_cap)
    out["return_rule"] = return_rule
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
    "last_date": "datetime64[ns]",
    "prev_close": "float64",
    "return_rule": "object",
}
