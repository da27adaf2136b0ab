"""What the prediction assets read from DuckDB (no Dagster): table existence, the weekly excess-return
panel and the inputs of the feature matrix and the risk model. Statements are in ``sql/``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators import panels
from cryptofactor_assets.factors.tables import (
    FACTOR_RETURNS_DAILY,
    ROLLING_BETAS,
    WEEKLY_CHARACTERISTICS,
)
from cryptofactor_assets.panels.tables import DAILY_PANEL, WEEKLY_PANEL
from cryptofactor_assets.prediction.compute import FEATURE_LOOKBACK_WEEKS
from cryptofactor_assets.rsj.tables import RSJ_DAILY
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import ensure_table, load_sql, table_exists

#: ``(periods, "weekly" | "daily") -> (rate per period, source, note)``: the ``risk_free`` resource's ``series``.
RiskFree = Callable[[pd.DatetimeIndex, str], tuple]
FAR_PAST, FAR_FUTURE = dt.date(1970, 1, 1), dt.date(2200, 1, 1)


def mondays(start, end) -> pd.DatetimeIndex:
    """Week starts (Mondays) in ``[start, end)`` as ``datetime64[ns]`` (``common.mondays`` without Dagster)."""
    return pd.date_range(pd.Timestamp(start), pd.Timestamp(end) - pd.Timedelta(days=1),
                         freq="W-MON").astype("datetime64[ns]")


def week_last_days(weeks: pd.DatetimeIndex) -> list[dt.date]:
    """The Sunday of each week (the as-of date of the week's rolling betas)."""
    return [d.date() for d in weeks + pd.Timedelta(days=6)]


def weekly_excess_returns(con, risk_free: RiskFree, notes: list | None = None,
                          universe_only: bool = False) -> pd.DataFrame:
    """Wide (week x coin) weekly excess returns from every stored ``weekly_panel`` row with a return
    (eligible rows only with ``universe_only``); the risk-free note is appended to ``notes``."""
    ensure_table(con, WEEKLY_PANEL)
    panel = read_sql_frame(con, load_sql("select_weekly_panel_window"),
                           {"start": FAR_PAST, "end": FAR_FUTURE}, ["week_start"])
    panel = panel[panel["ret"].notna() & (panel["in_universe"] if universe_only else True)]
    if panel.empty:
        return pd.DataFrame()
    wide = panels.pivot_panel(panel, "ret", index_col="week_start")
    rf, _, note = risk_free(pd.DatetimeIndex(wide.index), "weekly")
    if notes is not None:
        notes.append(note)
    rf_arr = rf.to_numpy(dtype=float) if isinstance(rf, pd.Series) else np.full(len(wide), float(rf))
    return wide.sub(rf_arr, axis=0)


def read_feature_inputs(con, start: dt.date, end: dt.date, min_rsj_days: int, risk_free: RiskFree) -> dict:
    """The inputs of the feature rows of the weeks [start - 7, end) (week ``start - 7`` for its target).

    Characteristics and betas of those weeks, daily aggregates and the weekly panel from
    ``FEATURE_LOOKBACK_WEEKS`` earlier (trailing windows), the weekly panel through week ``end`` (the
    target of the last week, when already stored), the weekly RSJ aggregates when ``rsj_daily`` exists
    and the next weeks' risk-free rates. Keys: the arguments of ``compute.compute_feature_matrix``
    and ``rsj_note`` / ``rf_note`` for the metadata.
    """
    prev = start - dt.timedelta(weeks=1)
    lo = prev - dt.timedelta(weeks=FEATURE_LOOKBACK_WEEKS)
    for t in (WEEKLY_CHARACTERISTICS, WEEKLY_PANEL, DAILY_PANEL, ROLLING_BETAS):
        ensure_table(con, t)
    chars = read_sql_frame(con, load_sql("select_weekly_characteristics_window"),
                           {"start": prev, "end": end}, ["week_start"])
    weekly = read_sql_frame(con, load_sql("select_weekly_panel_window"),
                            {"start": lo, "end": end + dt.timedelta(weeks=1)}, ["week_start"])
    agg = read_sql_frame(con, load_sql("select_daily_week_aggregates"), {"start": lo, "end": end},
                         ["week_start"])
    weeks = mondays(prev, end)
    betas = read_sql_frame(con, load_sql("select_rolling_betas_on_dates"), {"dates": week_last_days(weeks)},
                           ["date"])
    rsj_agg, rsj_note = None, "rsj_daily absent: RSJ features NULL (materialise the RSJ assets to add them)"
    if table_exists(con, RSJ_DAILY):
        rsj_agg = read_sql_frame(con, load_sql("select_rsj_week_aggregates"), {"start": prev, "end": end},
                                 ["week_start"])
        rsj_note = (f"RSJ features from rsj_daily ({len(rsj_agg)} coin-weeks, >= {min_rsj_days} days each)"
                    if len(rsj_agg) else "rsj_daily has no rows in the window: RSJ features NULL")
        rsj_agg = rsj_agg if len(rsj_agg) else None
    rf, _, rf_note = risk_free(weeks + pd.Timedelta(weeks=1), "weekly")
    return {"chars": chars, "betas": betas, "daily_agg": agg, "weekly": weekly, "rf_next": rf, "rsj_agg": rsj_agg,
            "rsj_note": rsj_note, "rf_note": rf_note}


def read_risk_inputs(con, start: dt.date, end: dt.date, lookback_weeks: int
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(rolling betas on the last day of each week of [start, end), the daily panel and the daily
    factor returns from ``lookback_weeks`` before ``start``) of the factor risk model."""
    lo = start - dt.timedelta(weeks=lookback_weeks)
    for t in (ROLLING_BETAS, FACTOR_RETURNS_DAILY, DAILY_PANEL):
        ensure_table(con, t)
    betas = read_sql_frame(con, load_sql("select_rolling_betas_on_dates"),
                           {"dates": week_last_days(mondays(start, end))}, ["date"])
    daily = read_sql_frame(con, load_sql("select_daily_panel_window"), {"start": lo, "end": end}, ["date"])
    factors = read_sql_frame(con, load_sql("select_factor_returns_daily_window"), {"start": lo, "end": end},
                             ["date"])
    return betas, daily, factors
