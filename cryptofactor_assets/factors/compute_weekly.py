"""Weekly characteristics, characteristic portfolios and weekly factors as pure table functions
(frames in, frames out; no Dagster), on the ISO-week partitions of the factor assets."""

from __future__ import annotations

import pandas as pd

from cryptofactor_assets.factors.characteristics import weekly_characteristics
from cryptofactor_assets.factors.construction import factor_returns
from cryptofactor_assets.factors.sorts import characteristic_portfolios as sort_portfolios

#: Weekly factors (LTW 2022): market, size and momentum.
WEEKLY_FACTORS = ("cmkt", "csmb", "cmom")
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


def compute_weekly_factors(chars: pd.DataFrame, start, end, constructions=("double_sort", "single_sort"),
                           breakpoint_universe: str = "all", investable_top_n: int = 100,
                           min_coins_per_leg: int = 1, rf=0.0, rf_source: str = "default") -> pd.DataFrame:
    """CMKT / CSMB / CMOM held over the weeks in [start, end), one row per CMOM construction."""
    frames = []
    for construction in constructions:
        f = factor_returns(chars, period_col="week_start", calendar="iso", momentum_col="r3_0",
                           cmom_construction=construction, breakpoint_universe=breakpoint_universe,
                           investable_top_n=investable_top_n, rf=rf, min_coins_per_leg=min_coins_per_leg)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True).rename(columns={"period": "week_start",
                                                              "formation_period": "formation_week"})
    out = _in_window(out, "week_start", start, end)
    return out.assign(investable_top_n=investable_top_n, rf_source=rf_source).reset_index(drop=True)
