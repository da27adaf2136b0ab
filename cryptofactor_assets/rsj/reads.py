"""The reads of the RSJ assets (no Dagster): their inputs with the look-back they need, the market series
of the backtest and the summary of a stored rsj_daily window. Statements in ``sql/rsj/``."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cryptofactor_assets.estimators.ltw_calendar import as_datetime_ns
from cryptofactor_assets.factors.tables import FACTOR_RETURNS_DAILY
from cryptofactor_assets.panels.tables import DAILY_PANEL
from cryptofactor_assets.rsj.compute import MARKET_MIN_COVERAGE, portfolio_lookback
from cryptofactor_assets.rsj.tables import RSJ_PORTFOLIOS_DAILY
from cryptofactor_assets.storage.warehouse import ensure_table, load_sql, table_exists


def _read(con, name: str, params=None, dates=("date",)) -> pd.DataFrame:
    frame = con.execute(load_sql(name, domain="rsj"), params if params is not None else []).df()
    for c in dates:
        if c in frame.columns:
            frame[c] = as_datetime_ns(frame[c])
    return frame


def read_portfolio_inputs(con, start, end, trailing_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """rsj_daily of the formation days [start - lookback, end - 1) and daily_panel of [start - lookback, end).

    Holding day ``start`` is formed on start-1; its turnover compares with the weights formed on
    start-2 (drifted over start-1), whose universe needs the dollar volume of (start-2-k, start-2]:
    the earliest day read is start-1-k = start - lookback. ``rsj_daily`` must have its current columns
    (``storage.warehouse.ensure_table`` on a writable connection migrates an older file's table).
    """
    lo = start - dt.timedelta(days=portfolio_lookback(trailing_days))
    rsj = _read(con, "select_rsj_formation_days", {"start": lo, "end": end - dt.timedelta(days=1)})
    panel = _read(con, "select_daily_panel_for_rsj", {"start": lo, "end": end})
    return rsj, panel


def read_rsj_portfolios(con) -> pd.DataFrame:
    """Every stored rsj_portfolios_daily row (the table is created empty when absent)."""
    ensure_table(con, RSJ_PORTFOLIOS_DAILY)
    return _read(con, "select_rsj_portfolios_daily", dates=("date", "date_formed"))


def market_returns(con, dates: pd.DatetimeIndex) -> tuple[pd.Series, str, str]:
    """(market factor per holding day, source, note): factor_returns_daily.mkt when it covers at least
    MARKET_MIN_COVERAGE of ``dates``, else the equal-weighted mean daily_panel return of the coins with a
    return that day (a proxy: no caps, no universe filter, no risk-free rate)."""
    if table_exists(con, FACTOR_RETURNS_DAILY):
        f = _read(con, "select_factor_mkt_daily")
        mkt = f.set_index("date")["mkt"].astype(float)
        covered = len(mkt.index.intersection(dates))
        if len(dates) and covered >= MARKET_MIN_COVERAGE * len(dates):
            return mkt, "factor_returns_daily.mkt", (f"market = factor_returns_daily.mkt (VW minus rf) on {covered} "
                                                     f"of {len(dates)} held days")
        reason = f"factor_returns_daily.mkt covers only {covered} of {len(dates)} held days"
    else:
        reason = "factor_returns_daily not built"
    ensure_table(con, DAILY_PANEL)  # none yet (a summary run on a fresh file): no market proxy either
    ew = _read(con, "select_daily_panel_ew_market")
    return (ew.set_index("date")["mkt"].astype(float), "daily_panel_ew",
            f"{reason}: market = equal-weighted mean daily_panel return of all coins with a return (no rf)")


def rsj_daily_summary(con, start, end) -> pd.DataFrame:
    """One-row summary of the stored window: coin-days by reason, mean RSJ, signed-jump share of QV.

    ``missing_days``: coin-days without any bar between a coin's first and last bar day of the window
    (they have no row at all). ``sj_share_qv`` = mean over defined coin-days of |SJ| / RV (= mean |RSJ|),
    the share of quadratic variation that is signed jump, coin-day by coin-day; ``sj_share_qv_pooled`` =
    sum |SJ| / sum RV (dominated by the volatile days). Zhang & Zhao's "~18 %" is of this kind (|SJ|
    relative to RV); which average they use is not stated in the notes here, so both are shown.
    """
    return con.execute(load_sql("summarize_rsj_daily", domain="rsj"), {"start": start, "end": end}).df()
