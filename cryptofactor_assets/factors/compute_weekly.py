"""Weekly characteristics, characteristic portfolios and weekly factors as pure table functions
(frames in, frames out; no Dagster), on the ISO-week partitions of the factor assets."""

from __future__ import annotations

import pandas as pd

from cryptofactor_assets.factors.characteristics import weekly_characteristics
from cryptofactor_assets.factors.construction import factor_returns
from cryptofactor_assets.factors.signals import (
    CHAIN_LONG_DAYS,
    CHAIN_MIN_LONG,
    CHAIN_MIN_SHORT,
    CHAIN_SHORT_DAYS,
    FUND_LOOKBACK_DAYS,
    SIGNAL_FACTORS,
    VOL_MIN_OBS,
    WEEKLY_VOL_LOOKBACK_DAYS,
    attach_signals,
    chain_signal,
    funding_signal,
    volatility_signal,
)
from cryptofactor_assets.factors.sorts import characteristic_portfolios as sort_portfolios

#: Weekly factors (LTW 2022): market, size and momentum.
WEEKLY_FACTORS = ("cmkt", "csmb", "cmom")
#: The chapter's weekly factors (issue 16): low-minus-high volatility, low-minus-high funding, on-chain growth.
WEEKLY_SIGNAL_FACTORS = ("cvol", "cfund", "cchain")
ALL_WEEKLY_FACTORS = WEEKLY_FACTORS + WEEKLY_SIGNAL_FACTORS
#: The daily factor each weekly one is built like (the rolling betas' names -> the weekly factors).
DAILY_TO_WEEKLY = {"mkt": "cmkt", "size": "csmb", "mom": "cmom", "vol": "cvol", "fund": "cfund", "chain": "cchain"}
#: CMOM's signal: LTW's r3_0 (weeks t-2..t, 21 days), or r4_0 (weeks t-3..t, 28 days), the whole-week
#: look-back nearest to the chapter's 30-day momentum.
MOMENTUM_SIGNALS = ("r3_0", "r4_0")
#: Days before a holding week's Monday its signals read: daily returns of weeks t-3..t (VOL), funding of
#: week t (FUND), on-chain activity of the 35 days ending on week t's Sunday (CHAIN), t = the week before.
WEEKLY_DAILY_LOOKBACK_DAYS = WEEKLY_VOL_LOOKBACK_DAYS
WEEKLY_FUNDING_LOOKBACK_DAYS = FUND_LOOKBACK_DAYS
WEEKLY_ONCHAIN_LOOKBACK_DAYS = CHAIN_SHORT_DAYS + CHAIN_LONG_DAYS
#: Weeks of weekly_panel before week t that week t's characteristics read (r4,0 = weeks t-3..t).
CHARACTERISTICS_LOOKBACK_WEEKS = 4
#: Portfolios, factors and Fama-MacBeth regressions of holding week w are formed on week w-1.
FORMATION_LAG_WEEKS = 1


def _in_window(frame: pd.DataFrame, column: str, start, end) -> pd.DataFrame:
    return frame.loc[(frame[column] >= pd.Timestamp(start)) & (frame[column] < pd.Timestamp(end))]


def compute_weekly_characteristics(panel: pd.DataFrame, start, end, winsor: tuple[float, float] | None,
                                   winsorize_on: str = "eligible", vol_column: str = "avg_volume") -> pd.DataFrame:
    """Characteristics of the ISO weeks in [start, end) from weekly_panel rows of the weeks >= start - 4."""
    chars = weekly_characteristics(panel, winsor, calendar="iso", winsorize_on=winsorize_on, vol_column=vol_column)
    chars = _in_window(chars, "week_start", start, end)
    return chars.assign(winsorize_on=winsorize_on, vol_column=vol_column)


def compute_characteristic_portfolios(chars: pd.DataFrame, start, end, n_quantiles: int = 5,
                                      breakpoint_universe: str = "all", investable_top_n: int = 100,
                                      min_coins: int = 1) -> pd.DataFrame:
    """Quantile portfolios held over the weeks in [start, end) from characteristics of weeks >= start - 7."""
    ports = sort_portfolios(chars, None, n_quantiles, breakpoint_universe, calendar="iso",
                            investable_top_n=investable_top_n, min_coins=min_coins)
    ports = ports.rename(columns={"period": "formation_week", "hold_period": "week_start"})
    ports["portfolio"] = ports["portfolio"].where(ports["quantile"].notna(), "LS")
    ports = _in_window(ports, "week_start", start, end)
    return ports.assign(investable_top_n=investable_top_n, min_coins=min_coins).reset_index(drop=True)


def weekly_signals(chars: pd.DataFrame, daily: pd.DataFrame | None = None, funding: pd.DataFrame | None = None,
                   onchain: pd.DataFrame | None = None, vol_lookback: int = WEEKLY_VOL_LOOKBACK_DAYS,
                   vol_min_obs: int = VOL_MIN_OBS, fund_lookback: int = FUND_LOOKBACK_DAYS,
                   chain_measure: str = "active_addresses", chain_short: int = CHAIN_SHORT_DAYS,
                   chain_long: int = CHAIN_LONG_DAYS) -> pd.DataFrame:
    """``chars`` with the signals of week t as of its Sunday (``factors.signals``): ``vol_signal`` (sd of the
    daily returns of the 28 days of weeks t-3..t), ``fund_signal`` (funding paid over week t),
    ``chain_signal`` (on-chain growth on week t's Sunday); NaN where the input is None / empty."""
    sundays = pd.DatetimeIndex(sorted(pd.to_datetime(chars["week_start"]).unique())) + pd.Timedelta(days=6)
    have = {name: frame is not None and len(frame) > 0 for name, frame in
            (("daily", daily), ("funding", funding), ("onchain", onchain))}
    signals = {
        "vol_signal": volatility_signal(daily, sundays, vol_lookback, vol_min_obs) if have["daily"] else None,
        "fund_signal": funding_signal(funding, sundays, fund_lookback) if have["funding"] else None,
        "chain_signal": (chain_signal(onchain, sundays, chain_short, chain_long, chain_measure,
                                      min(CHAIN_MIN_SHORT, chain_short), min(CHAIN_MIN_LONG, chain_long))
                         if have["onchain"] else None),
    }
    return attach_signals(chars, signals, period_col="week_start", offset=pd.Timedelta(days=6))


def compute_weekly_factors(chars: pd.DataFrame, start, end, constructions=("double_sort", "single_sort"),
                           breakpoint_universe: str = "all", investable_top_n: int = 100,
                           min_coins_per_leg: int = 1, rf=0.0, rf_source: str = "default",
                           daily: pd.DataFrame | None = None, funding: pd.DataFrame | None = None,
                           onchain: pd.DataFrame | None = None, momentum_signal: str = "r3_0",
                           vol_lookback: int = WEEKLY_VOL_LOOKBACK_DAYS, vol_min_obs: int = VOL_MIN_OBS,
                           fund_lookback: int = FUND_LOOKBACK_DAYS, chain_measure: str = "active_addresses",
                           chain_short: int = CHAIN_SHORT_DAYS, chain_long: int = CHAIN_LONG_DAYS) -> pd.DataFrame:
    """CMKT / CSMB / CMOM / CVOL / CFUND / CCHAIN held over the weeks in [start, end), one row per construction.

    ``chars``: weekly_characteristics of the formation weeks; ``daily`` (daily_panel: symbol, date, ret
    from 28 days before the first formation week's Sunday), ``funding`` (per coin-day sums) and
    ``onchain`` (raw_onchain_activity rows) feed the signals (:func:`weekly_signals`); each None when
    absent (its factor is then NULL). CMOM sorts on ``momentum_signal`` (r3_0, LTW; r4_0, the 4-week
    analogue of the chapter's 30 days); CVOL, CFUND, CCHAIN are built with the same construction."""
    if momentum_signal not in MOMENTUM_SIGNALS:
        raise ValueError(f"momentum_signal must be one of {MOMENTUM_SIGNALS}, got {momentum_signal!r}")
    panel = weekly_signals(chars, daily, funding, onchain, vol_lookback, vol_min_obs, fund_lookback, chain_measure,
                           chain_short, chain_long)
    signals = {DAILY_TO_WEEKLY[name]: spec for name, spec in SIGNAL_FACTORS.items()}
    frames = []
    for construction in constructions:
        f = factor_returns(panel, period_col="week_start", calendar="iso", momentum_col=momentum_signal,
                           cmom_construction=construction, breakpoint_universe=breakpoint_universe,
                           investable_top_n=investable_top_n, rf=rf, min_coins_per_leg=min_coins_per_leg,
                           signals=signals)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True).rename(columns={"period": "week_start",
                                                              "formation_period": "formation_week"})
    out = _in_window(out, "week_start", start, end)
    return out.assign(investable_top_n=investable_top_n, rf_source=rf_source, momentum_signal=momentum_signal,
                      vol_lookback=vol_lookback, fund_lookback=fund_lookback, chain_short=chain_short,
                      chain_long=chain_long, chain_measure=chain_measure).reset_index(drop=True)
