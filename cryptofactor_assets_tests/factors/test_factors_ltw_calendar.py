"""LTW / ISO calendars and daily -> weekly aggregation, against per-date Python oracles."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.estimators.ltw_calendar import (
    WEEKLY_PANEL_COLUMNS,
    aggregate_weekly,
    iso_week_end,
    iso_week_id,
    iso_week_start,
    ltw_week_end,
    ltw_week_id,
    ltw_week_start,
    ltw_year_week,
    next_period_start,
    period_id,
    period_length,
    period_start,
)


# ------------------------------------------------------------------------------------------
# Oracles written independently with the datetime module
# ------------------------------------------------------------------------------------------
def _ltw_oracle(d: dt.date) -> tuple[int, dt.date, dt.date]:
    doy = d.timetuple().tm_yday
    week = min((doy - 1) // 7 + 1, 52)
    start = dt.date(d.year, 1, 1) + dt.timedelta(days=7 * (week - 1))
    end = dt.date(d.year, 12, 31) if week == 52 else start + dt.timedelta(days=6)
    return week, start, end


def _days(start: str, end: str) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq="D")


@pytest.mark.parametrize("year, last_week_len", [(2019, 8), (2020, 9), (2021, 8), (2024, 9)])
def test_ltw_year_has_52_weeks_last_one_8_or_9_days(year, last_week_len):
    days = _days(f"{year}-01-01", f"{year}-12-31")
    y, w = ltw_year_week(days)
    assert (y == year).all()
    counts = pd.Series(w).value_counts().sort_index()
    assert list(counts.index) == list(range(1, 53))
    assert (counts.loc[1:51] == 7).all()
    assert counts.loc[52] == last_week_len
    # week 1 = Jan 1-7
    assert (w[:7] == 1).all() and w[7] == 2
    lengths = period_length(days, "ltw")
    assert (lengths[w == 52] == last_week_len).all() and (lengths[w < 52] == 7).all()


def test_ltw_mapping_matches_datetime_oracle():
    days = _days("2013-04-28", "2021-10-17")
    week_start, week_end, wid = ltw_week_start(days), ltw_week_end(days), ltw_week_id(days)
    _, weeks = ltw_year_week(days)
    for k, d in enumerate(days.date):
        week, start, end = _ltw_oracle(d)
        assert weeks[k] == week
        assert pd.Timestamp(week_start[k]).date() == start
        assert pd.Timestamp(week_end[k]).date() == end
    # ids are consecutive: +1 exactly when a new week starts, including across New Year
    step = np.diff(wid)
    new_week = np.diff(week_start.astype("datetime64[D]").astype(np.int64)) != 0
    assert ((step == 1) == new_week).all() and set(np.unique(step)) <= {0, 1}
    assert ltw_week_id([pd.Timestamp("2021-01-01")])[0] == ltw_week_id([pd.Timestamp("2020-12-31")])[0] + 1
    assert pd.Timestamp(ltw_week_start([pd.Timestamp("2020-12-31")])[0]) == pd.Timestamp("2020-12-23")


def test_iso_mapping_matches_isocalendar():
    days = _days("2019-12-20", "2021-01-15")
    starts, ends, ids = iso_week_start(days), iso_week_end(days), iso_week_id(days)
    for k, d in enumerate(days.date):
        monday = d - dt.timedelta(days=d.isocalendar().weekday - 1)
        assert pd.Timestamp(starts[k]).date() == monday
        assert pd.Timestamp(ends[k]).date() == monday + dt.timedelta(days=6)
    assert set(np.unique(np.diff(ids))) == {0, 1}
    assert (period_length(days, "iso") == 7).all()


def test_generic_helpers_and_next_period():
    d = pd.to_datetime(["2019-12-24", "2019-12-31", "2020-01-01", "2024-01-07"])
    assert list(pd.DatetimeIndex(next_period_start(d, "ltw"))) == list(
        pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-08", "2024-01-08"])
    )
    assert list(pd.DatetimeIndex(next_period_start(d, "iso"))) == list(
        pd.to_datetime(["2019-12-30", "2020-01-06", "2020-01-06", "2024-01-08"])
    )
    assert list(pd.DatetimeIndex(next_period_start(d, "daily"))) == list(d + pd.Timedelta(days=1))
    assert np.array_equal(np.diff(period_id(d[:3], "daily")), [7, 1])
    with pytest.raises(ValueError):
        period_start(d, "monthly")


# ------------------------------------------------------------------------------------------
# aggregate_weekly
# ------------------------------------------------------------------------------------------
def _random_daily(seed: int, start: str, end: str, n_coins: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = _days(start, end)
    frames = []
    for i in range(n_coins):
        keep = rng.uniform(size=dates.size) > 0.04  # random missing days
        first = rng.integers(0, 20)  # late listings
        keep[:first] = False
        d = dates[keep]
        close = 10.0 * np.exp(np.cumsum(rng.normal(0, 0.05, d.size)))
        cap = close * rng.choice([2e4, 1e6, 5e7], size=1)[0] * rng.uniform(0.9, 1.1, d.size)
        cap[rng.uniform(size=d.size) < 0.03] = np.nan
        dv = rng.uniform(1e4, 1e6, d.size)
        dv[rng.uniform(size=d.size) < 0.03] = np.nan
        f = pd.DataFrame(
            {
                "symbol": f"C{i}",
                "date": d,
                "close": close,
                "market_cap": cap,
                "volume": rng.uniform(1, 10, d.size),
                "dollar_volume": dv,
            }
        )
        prev_ok = np.r_[False, np.diff(d.values.astype("datetime64[D]").astype(np.int64)) == 1]
        f["ret"] = np.where(prev_ok, f["close"] / f["close"].shift(1) - 1.0, np.nan)
        f["log_ret"] = np.log1p(f["ret"])
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _aggregate_oracle(daily: pd.DataFrame, calendar: str, return_rule: str = "complete_week") -> pd.DataFrame:
    """Straightforward per-(coin, week) loop with the datetime-module calendar."""
    rows = []
    for sym, g in daily.sort_values("date").groupby("symbol"):
        dates = [pd.Timestamp(x).date() for x in g["date"]]
        if calendar == "ltw":
            info = [_ltw_oracle(d) for d in dates]
            starts = [s for _, s, _ in info]
            lengths = [(e - s).days + 1 for _, s, e in info]
            ids = [s.year * 52 + w - 1 for (w, s, _) in info]
        else:
            starts = [d - dt.timedelta(days=d.weekday()) for d in dates]
            lengths = [7] * len(dates)
            ids = [(s - dt.date(1970, 1, 5)).days // 7 for s in starts]
        g = g.assign(_start=starts, _len=lengths, _id=ids)
        first_id = ids[0]
        last_close_by_id = {}
        for start, w in g.groupby("_start", sort=True):
            n_len = int(w["_len"].iloc[0])
            rets = w["ret"].dropna().to_numpy()
            complete = (w["ret"].notna() & w["market_cap"].notna() & w["dollar_volume"].notna()).sum()
            last = w.iloc[-1]
            week_id = int(w["_id"].iloc[0])
            last_close_by_id[week_id] = last["close"]
            prev_close = last_close_by_id.get(week_id - 1, np.nan)
            if return_rule == "last_price":
                ret = last["close"] / prev_close - 1
                eligible = bool(last["market_cap"] >= 1e6 and not np.isnan(last["dollar_volume"]))
            else:
                ret = float(np.prod(1 + rets) - 1) if len(rets) == n_len else np.nan
                eligible = bool(complete == n_len and last["market_cap"] >= 1e6)
            rows.append(
                {
                    "symbol": sym,
                    "week_start": pd.Timestamp(start),
                    "ret": ret,
                    "n_days": len(w),
                    "n_returns": len(rets),
                    "close": last["close"],
                    "market_cap": last["market_cap"],
                    "max_price": w["close"].max(),
                    "avg_volume": w["volume"].mean(),
                    "avg_dollar_volume": w["dollar_volume"].mean(),
                    "std_dollar_volume": w["dollar_volume"].std(ddof=1),
                    "age_weeks": int(w["_id"].iloc[0] - first_id),
                    "in_universe": eligible,
                    "last_date": pd.Timestamp(last["date"]),
                    "prev_close": prev_close,
                    "return_rule": return_rule,
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("return_rule", ["last_price", "complete_week"])
@pytest.mark.parametrize("calendar", ["iso", "ltw"])
def test_aggregate_weekly_equals_loop_oracle(calendar, return_rule):
    daily = _random_daily(1, "2019-11-20", "2021-02-10")
    ours = aggregate_weekly(daily, calendar, return_rule=return_rule)
    assert tuple(ours.columns) == WEEKLY_PANEL_COLUMNS
    ref = _aggregate_oracle(daily, calendar, return_rule)
    ours = ours.sort_values(["symbol", "week_start"]).reset_index(drop=True)
    ref = ref.sort_values(["symbol", "week_start"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        ours, ref[list(WEEKLY_PANEL_COLUMNS)], check_dtype=False, rtol=1e-12, atol=0, check_exact=False
    )
    assert ours["in_universe"].any() and (~ours["in_universe"]).any()
    assert ours["ret"].notna().any() and ours["ret"].isna().any()


def test_aggregate_weekly_ltw_year_end_week_has_9_days_and_price_ratio_return():
    # One coin, every day present: 2020 is a leap year, week 52 = Dec 23-31 (9 days).
    dates = _days("2020-12-09", "2021-01-14")
    close = np.linspace(1.0, 3.0, dates.size) ** 2
    daily = pd.DataFrame(
        {
            "symbol": "BTC",
            "date": dates,
            "close": close,
            "market_cap": close * 1e7,
            "volume": 1.0,
            "dollar_volume": close,
        }
    )
    daily["ret"] = daily["close"].pct_change()
    wk = aggregate_weekly(daily, "ltw", return_rule="complete_week").set_index("week_start")
    w52 = wk.loc[pd.Timestamp("2020-12-23")]
    assert w52["n_days"] == 9 and w52["n_returns"] == 9 and bool(w52["in_universe"])
    px = daily.set_index("date")["close"]
    # LTW weekly return = P(last day of week) / P(last day of previous week) - 1
    assert w52["ret"] == pytest.approx(px["2020-12-31"] / px["2020-12-22"] - 1, rel=1e-13)
    w1 = wk.loc[pd.Timestamp("2021-01-01")]
    assert w1["ret"] == pytest.approx(px["2021-01-07"] / px["2020-12-31"] - 1, rel=1e-13)
    assert w52["age_weeks"] == 2 and w1["age_weeks"] == 3  # listed in the week starting Dec 9
    assert wk.index[0] == pd.Timestamp("2020-12-09")
    # the first week (Dec 9 has no return) is incomplete; the last one (Jan 8-14) is complete
    assert not wk.iloc[0]["in_universe"] and np.isnan(wk.iloc[0]["ret"])
    assert wk.iloc[-1]["in_universe"] and wk.iloc[-1]["n_days"] == 7
    partial = aggregate_weekly(daily.iloc[:-1], "ltw", return_rule="complete_week").iloc[-1]  # drop Jan 14
    assert not partial["in_universe"] and np.isnan(partial["ret"]) and partial["n_days"] == 6
    # LTW's rule (the default): the same prices give the same returns; the first week has no previous week,
    # a 6-day week has the return of its last available price and is eligible on that day
    ltw = aggregate_weekly(daily, "ltw").set_index("week_start")
    assert (ltw["return_rule"] == "last_price").all() and (wk["return_rule"] == "complete_week").all()
    np.testing.assert_allclose(ltw["ret"].iloc[1:], wk["ret"].iloc[1:], rtol=1e-13)
    assert np.isnan(ltw.iloc[0]["ret"]) and ltw.iloc[0]["in_universe"]
    partial = aggregate_weekly(daily.iloc[:-1], "ltw").iloc[-1]
    assert partial["ret"] == pytest.approx(px["2021-01-13"] / px["2021-01-07"] - 1, rel=1e-13)
    assert partial["in_universe"] and partial["last_date"] == pd.Timestamp("2021-01-13")
    assert partial["prev_close"] == px["2021-01-07"]


def test_aggregate_weekly_last_day_market_cap_is_not_filled_and_thresholds():
    dates = _days("2024-01-01", "2024-01-14")  # two ISO weeks
    daily = pd.DataFrame(
        {
            "symbol": "X",
            "date": dates,
            "close": np.arange(1.0, 15.0),
            "market_cap": [2e6] * 14,
            "volume": 1.0,
            "dollar_volume": 5.0,
        }
    )
    daily["ret"] = daily["close"].pct_change()
    daily.loc[0, "ret"] = 0.0  # pretend the previous close existed
    daily.loc[6, "market_cap"] = np.nan  # last day of week 1
    daily.loc[13, "market_cap"] = 5e5  # below $1M on the last day of week 2
    wk = aggregate_weekly(daily, "iso")
    assert np.isnan(wk.loc[0, "market_cap"]) and not wk.loc[0, "in_universe"]
    assert wk.loc[1, "market_cap"] == 5e5 and not wk.loc[1, "in_universe"]
    assert wk.loc[1, "ret"] == pytest.approx(14.0 / 7.0 - 1)
    assert wk.loc[0, "std_dollar_volume"] == 0.0
    assert aggregate_weekly(daily, "iso", min_market_cap=1e5).loc[1, "in_universe"]
    with pytest.raises(ValueError):
        aggregate_weekly(pd.concat([daily, daily.iloc[:1]]), "iso")


@pytest.mark.parametrize("calendar", ["iso", "ltw"])
def test_aggregate_weekly_no_look_ahead(calendar):
    daily = _random_daily(3, "2019-11-01", "2020-03-31")
    cut = pd.Timestamp("2020-01-31")
    full = aggregate_weekly(daily, calendar)
    perturbed = daily.copy()
    later = perturbed["date"] > cut
    rng = np.random.default_rng(9)
    for col in ["close", "ret", "market_cap", "dollar_volume", "volume"]:
        perturbed.loc[later, col] = perturbed.loc[later, col] * rng.uniform(0.5, 2.0, later.sum())
    perturbed = pd.concat(
        [perturbed, pd.DataFrame({"symbol": ["NEW"], "date": [pd.Timestamp("2020-03-01")], "close": [1.0]})]
    )
    again = aggregate_weekly(perturbed, calendar)
    ends = pd.DatetimeIndex(period_start(full["week_start"], calendar)) + pd.to_timedelta(
        period_length(full["week_start"], calendar) - 1, unit="D"
    )
    done = full.loc[ends <= cut].set_index(["symbol", "week_start"])
    pd.testing.assert_frame_equal(done, again.set_index(["symbol", "week_start"]).loc[done.index])


def test_aggregate_weekly_accepts_duckdb_microsecond_dates():
    daily = _random_daily(5, "2024-01-01", "2024-02-01", n_coins=2)
    us = daily.assign(date=daily["date"].astype("datetime64[us]"))
    pd.testing.assert_frame_equal(aggregate_weekly(daily), aggregate_weekly(us))
    with pytest.raises(ValueError):
        aggregate_weekly(daily, "daily")
