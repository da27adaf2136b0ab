"""Daily factors and rolling betas as pure table functions (frames in, frames out; no Dagster).

The parameters shared by the run config, these functions and the assets' look-back partition
mappings are defined here once: the momentum look-back of the daily factors, the signals of the
chapter's VOL, FUND and CHAIN factors (``factors/signals.py``) and the window and minimum number of
observations of the rolling betas; the look-backs are derived from them.

Factors: MKT, SIZE, MOM (LTW at daily frequency) and the chapter's VOL (low minus high trailing
volatility), FUND (low minus high trailing funding) and CHAIN (high minus low on-chain activity
growth), each built like MOM (``construction.factor_returns``). The rolling betas regress on a list of
them (``factors``; default all six). MKT, SIZE and MOM always enter; VOL, FUND or CHAIN enters a
week's regressions unless it has no value at all in the days those regressions read (its input does
not exist there: no funding on spot or file sources, no on-chain file), decided week by week so that a
backfill equals its weeks run one by one; the factors used are stored per row (``factors``), the betas
of a factor left out are NULL. A factor that exists but is undefined on some days (its warm-up, an
empty leg) masks those days like a missing return: a window short of ``min_obs`` usable days gives no
estimate, never a silently shorter one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators import panels
from cryptofactor_assets.estimators.hac import LagRule
from cryptofactor_assets.estimators.rolling_ols import SE_TYPES, rolling_ols
from cryptofactor_assets.factors.construction import factor_returns, momentum_signal
from cryptofactor_assets.factors.signals import (
    CHAIN_LONG_DAYS,
    CHAIN_MIN_LONG,
    CHAIN_MIN_SHORT,
    CHAIN_SHORT_DAYS,
    FUND_LOOKBACK_DAYS,
    SIGNAL_FACTORS,
    VOL_LOOKBACK_DAYS,
    VOL_MIN_OBS,
    attach_signals,
    chain_signal,
    funding_signal,
    volatility_signal,
)

#: The LTW daily factors: always in the rolling regressions (rolling_betas' NOT NULL betas).
FACTOR_NAMES = ("mkt", "size", "mom")
BETA_NAMES = ("beta_mkt", "beta_size", "beta_mom")
#: The chapter's signal factors (issue 16): VOL, FUND, CHAIN.
SIGNAL_FACTOR_NAMES = tuple(SIGNAL_FACTORS)
#: Every daily factor, and the default factor list of the rolling betas (and so of the risk model,
#: its validation, the Fama-MacBeth betas spec and the feature matrix's betas).
ALL_FACTOR_NAMES = FACTOR_NAMES + SIGNAL_FACTOR_NAMES
ALL_BETA_NAMES = tuple(f"beta_{f}" for f in ALL_FACTOR_NAMES)
DEFAULT_BETA_FACTORS = ALL_FACTOR_NAMES
#: The estimates of a rolling_betas row.
ROLLING_BETA_VALUES = ("alpha", "alpha_se", "r2", "resid_vol", "n_obs",
                       *[c for b in ALL_BETA_NAMES for c in (b, f"{b}_se")])

#: MOM of day d: the past 21 daily returns up to d-1 (LTW's 3 weeks).
MOMENTUM_LOOKBACK_DAYS = 21
#: The chapter's momentum window, selectable with ``momentum_lookback=30``: the longest the daily
#: factors' look-back declares (a longer one reads days the partition mapping does not declare).
CHAPTER_MOMENTUM_LOOKBACK_DAYS = 30
MAX_MOMENTUM_LOOKBACK_DAYS = CHAPTER_MOMENTUM_LOOKBACK_DAYS
#: Daily look-back of the daily factors: formation day d-1 needs the returns of d-1-lookback..d-1
#: (momentum) and of d-30..d-1 (VOL).
DAILY_FACTOR_LOOKBACK_DAYS = max(MAX_MOMENTUM_LOOKBACK_DAYS + 1, VOL_LOOKBACK_DAYS)
#: Days of funding settlements before the first holding day: FUND of formation day d-1 sums d-7..d-1.
FUNDING_LOOKBACK_DAYS = FUND_LOOKBACK_DAYS
#: Days of on-chain activity before the first holding day: CHAIN of d-1 reads d-35..d-1.
ONCHAIN_LOOKBACK_DAYS = CHAIN_SHORT_DAYS + CHAIN_LONG_DAYS

#: Rolling-beta window (t - window, t] in calendar days and the fewest usable days in it.
ROLLING_WINDOW_DAYS = 90
ROLLING_MIN_OBS = 60
#: Daily look-back of the rolling betas: the day itself + window - 1 days before.
ROLLING_LOOKBACK_DAYS = ROLLING_WINDOW_DAYS - 1
#: Standard errors of the rolling alphas and betas (they feed the regime-shift z-test): HC3 by
#: default (MacKinnon & White 1985: White's heteroskedasticity-robust errors with each residual
#: divided by 1 - its leverage in the window).  On the demo's simulated market, whose betas are
#: constant, HC3's beta z-scores are the best sized (sd 1.04 against 1.08 classical, 1.12 HC0,
#: 1.15 Newey-West); on real CoinGecko coins they are the most conservative (HC3 / classical se:
#: median 1.17, 90th percentile 1.69).  Also "white" (HC0), "hc1", "hac" (Newey-West, lags: the
#: rule or count below applied to the window length) and "classical" s² (X'X)^-1.
ROLLING_SE_TYPE = "hc3"
ROLLING_HAC_LAGS: LagRule = "4t100"


def compute_daily_factors(daily: pd.DataFrame, start, end, construction: str = "double_sort",
                          breakpoint_universe: str = "all", investable_top_n: int = 100,
                          momentum_lookback: int = MOMENTUM_LOOKBACK_DAYS, min_coins_per_leg: int = 1, rf=0.0,
                          rf_source: str = "default", funding: pd.DataFrame | None = None,
                          onchain: pd.DataFrame | None = None, vol_lookback: int = VOL_LOOKBACK_DAYS,
                          vol_min_obs: int = VOL_MIN_OBS, fund_lookback: int = FUND_LOOKBACK_DAYS,
                          chain_measure: str = "active_addresses", chain_short: int = CHAIN_SHORT_DAYS,
                          chain_long: int = CHAIN_LONG_DAYS) -> pd.DataFrame:
    """Daily MKT / SIZE / MOM / VOL / FUND / CHAIN held over the days in [start, end).

    ``daily``: daily_panel rows from start - DAILY_FACTOR_LOOKBACK_DAYS; ``funding``: per coin-day funding
    sums (``signals.daily_funding``) from start - fund_lookback, None or empty when the source has
    none (FUND is then NULL); ``onchain``: raw_onchain_activity rows from start - chain_short -
    chain_long, None or empty when there are none (CHAIN NULL). Signals of formation day d-1 use rows
    dated <= d-1 only (``factors.signals``)."""
    panel = daily.copy()
    panel["mom"] = momentum_signal(panel, momentum_lookback, period_col="date", calendar="daily")
    days = pd.DatetimeIndex(sorted(pd.to_datetime(panel["date"]).unique())) if len(panel) else pd.DatetimeIndex([])
    signals = {
        "vol_signal": volatility_signal(panel, days, vol_lookback, vol_min_obs),
        "fund_signal": funding_signal(funding, days, fund_lookback) if funding is not None and len(funding) else None,
        "chain_signal": (chain_signal(onchain, days, chain_short, chain_long, chain_measure,
                                      min(CHAIN_MIN_SHORT, chain_short), min(CHAIN_MIN_LONG, chain_long))
                         if onchain is not None and len(onchain) else None),
    }
    panel = attach_signals(panel, signals)
    f = factor_returns(panel, period_col="date", calendar="daily", momentum_col="mom",
                       cmom_construction=construction, breakpoint_universe=breakpoint_universe,
                       investable_top_n=investable_top_n, rf=rf, min_coins_per_leg=min_coins_per_leg,
                       signals=SIGNAL_FACTORS)
    f = f.rename(columns={"period": "date", "formation_period": "formation_date", "cmkt": "mkt",
                          "csmb": "size", "cmom": "mom"}).drop(columns=["calendar"])
    f = f.loc[(f["date"] >= pd.Timestamp(start)) & (f["date"] < pd.Timestamp(end))]
    return f.assign(investable_top_n=investable_top_n, momentum_lookback=momentum_lookback,
                    rf_source=rf_source, vol_lookback=vol_lookback, fund_lookback=fund_lookback,
                    chain_short=chain_short, chain_long=chain_long,
                    chain_measure=chain_measure).reset_index(drop=True)


def factors_in_window(factors: pd.DataFrame, lo, hi, names=DEFAULT_BETA_FACTORS) -> tuple[str, ...]:
    """The factors of ``names`` a regression over the days [lo, hi) uses: MKT, SIZE, MOM always, each other
    one unless it has no finite value on those days of ``factors`` (its input does not exist there)."""
    names = check_beta_factors(names)
    days = pd.to_datetime(factors["date"]) if len(factors) else pd.Series(dtype="datetime64[ns]")
    inside = factors.loc[((days >= pd.Timestamp(lo)) & (days < pd.Timestamp(hi))).to_numpy()]
    return tuple(f for f in names if f in FACTOR_NAMES
                 or (f in inside.columns and np.isfinite(inside[f].to_numpy(dtype=float, na_value=np.nan)).any()))


def check_beta_factors(names) -> tuple[str, ...]:
    """``names`` in the order of ALL_FACTOR_NAMES, checked: known factors, MKT, SIZE and MOM among them."""
    names = tuple(names)
    unknown = [n for n in names if n not in ALL_FACTOR_NAMES]
    if unknown or not set(FACTOR_NAMES) <= set(names):
        raise ValueError(f"rolling-beta factors must be among {ALL_FACTOR_NAMES} and include {FACTOR_NAMES} "
                         f"(rolling_betas' market, size and momentum betas are always estimated); got {list(names)}")
    return tuple(f for f in ALL_FACTOR_NAMES if f in names)


def compute_rolling_betas(daily: pd.DataFrame, factors: pd.DataFrame, start, end,
                          window: int = ROLLING_WINDOW_DAYS, min_obs: int = ROLLING_MIN_OBS,
                          se_type: str = ROLLING_SE_TYPE, hac_lags: LagRule = ROLLING_HAC_LAGS,
                          factor_names=DEFAULT_BETA_FACTORS) -> pd.DataFrame:
    """Rolling OLS of daily excess returns on the daily factors ``factor_names`` for the coin-days in [start, end).

    ``daily`` / ``factors`` cover [start - (window - 1), end).  The panel is laid on the COMPLETE
    calendar of that range (missing days = NaN rows), so a window is always ``window`` calendar days
    and gaps / late listings / days a factor is undefined are handled by the mask of ``rolling_ols``.
    A coin-day is stored when the coin has a daily_panel row that day and the window has an estimate.

    The factors used (module docstring) are decided per ISO week of [start, end) from the days its
    regressions read, [its first day - (window - 1), its last day]; weeks with the same factors share
    one vectorised ``rolling_ols`` pass. Stored per row: ``factors`` (comma-separated), the betas and
    standard errors of every factor of ``ALL_FACTOR_NAMES`` (NULL for a factor not used).

    Standard errors (``*_se``) are of type ``se_type`` (``classical`` | ``white`` | ``hac``, see
    :func:`~cryptofactor_assets.estimators.rolling_ols.rolling_ols`); ``hac_lags`` is a lag count or
    a rule of :func:`~cryptofactor_assets.estimators.hac.nw_lag` applied to ``window``.  Both are
    stored: ``se_type`` and ``se_lags`` (the Newey-West lags; 0 for White, NULL for classical).
    """
    if se_type not in SE_TYPES:
        raise ValueError(f"se_type must be one of {SE_TYPES}, got {se_type!r}")
    factor_names = check_beta_factors(factor_names)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    lo = start - pd.Timedelta(days=window - 1)
    days = panels.day_range(lo, end)
    ret = panels.pivot_panel(daily, "ret", index=days)
    symbols = list(ret.columns)
    present = panels.pivot_panel(daily.assign(_one=1.0), "_one", index=days, symbols=symbols).notna().to_numpy()
    f = factors.set_index("date").reindex(days)
    y = ret.to_numpy() - f["rf"].to_numpy(dtype=float)[:, None]
    # ISO-week blocks of [start, end) (cut at start and end) and the factors each one uses
    mondays = days - pd.to_timedelta(days.day_of_week, unit="D")
    block_of_day = pd.Series(mondays.where(days >= start), index=days)
    blocks = sorted(b for b in block_of_day.dropna().unique())
    used = {}
    for b in blocks:
        first = max(pd.Timestamp(b), start)
        last = min(pd.Timestamp(b) + pd.Timedelta(days=7), end)
        used[b] = factors_in_window(factors, first - pd.Timedelta(days=window - 1), last, factor_names)
    parts, lags = [], None
    for names in sorted(set(used.values()), key=len, reverse=True):
        x = f.reindex(columns=list(names)).to_numpy(dtype=float)
        res = rolling_ols(y, x, window=window, min_obs=min_obs, compute_bse=True, se_type=se_type,
                          hac_lags=hac_lags if se_type == "hac" else None)
        lags = None if se_type == "classical" else (res.hac_lags if se_type == "hac" else 0)
        nan = np.full(res.r2.shape, np.nan)
        arrays = {"alpha": res.params[..., 0], "alpha_se": res.bse[..., 0], "r2": res.r2,
                  "resid_vol": res.resid_vol, "n_obs": res.n_obs}
        for name in ALL_FACTOR_NAMES:
            j = names.index(name) + 1 if name in names else None
            arrays[f"beta_{name}"] = res.params[..., j] if j else nan
            arrays[f"beta_{name}_se"] = res.bse[..., j] if j else nan
        mine = block_of_day.isin([b for b, n in used.items() if n == names]).to_numpy()
        arrays["_present"] = present & mine[:, None]
        out = panels.stack_panel(arrays, days, symbols)
        keep = out["_present"].to_numpy() & np.isfinite(out["beta_mkt"].to_numpy())
        parts.append(out.loc[keep].drop(columns=["_present"]).assign(factors=",".join(names), min_obs=res.min_obs))
    if parts:
        out = pd.concat(parts, ignore_index=True).sort_values(["date", "symbol"], kind="mergesort")
        out = out.reset_index(drop=True)
    else:
        out = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "symbol": pd.Series(dtype=object),
                            **{c: pd.Series(dtype=float) for c in ROLLING_BETA_VALUES},
                            "factors": pd.Series(dtype=object), "min_obs": pd.Series(dtype=np.int64)})
    out["n_obs"] = out["n_obs"].astype(np.int64)
    return out.assign(window_days=window, se_type=se_type, se_lags=pd.array([lags] * len(out), dtype="Int64"))


def max_daily_obs(daily: pd.DataFrame, factors: pd.DataFrame, window: int, names=FACTOR_NAMES) -> int:
    """Most usable days of any coin in any ``window``-day window: a return on a day whose factors ``names``
    are all defined (what a rolling beta's ``min_obs`` is compared with)."""
    if daily.empty or factors.empty:
        return 0
    names = [n for n in names if n in factors.columns]
    ok = set(factors.dropna(subset=names)["date"])
    d = daily.loc[daily["ret"].notna() & daily["date"].isin(ok)]
    if d.empty:
        return 0
    days = panels.day_range(daily["date"].min(), daily["date"].max() + pd.Timedelta(days=1))
    usable = panels.pivot_panel(d.assign(_one=1.0), "_one", index=days).fillna(0.0)
    return int(usable.rolling(window, min_periods=1).sum().to_numpy().max())
