"""Statistics of the tear sheet over stored frames (pure: frames in, frames out; no Dagster, no SQL).

Summary statistics of a return series are those of :func:`cryptofactor_assets.analytics.backtest.
backtest_report` (mean, annualised return P x mean, annualised vol, Sharpe mean / sd x sqrt(P),
Newey-West t of the mean, max drawdown; P = 52 for weekly series, 365 for daily ones). Premia
intervals are mean +- z_0.975 x se, z_0.975 = 1.95996 (normal approximation, as the stored t-stats).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cryptofactor_assets.analytics.backtest import backtest_report

#: Two-sided 95 % normal quantile used for the premia confidence intervals.
Z_95 = statistics.NormalDist().inv_cdf(0.975)
#: Portfolio labels meaning "the long-short" in a portfolio column.
LONG_SHORT_LABELS = {"LS", "L-S", "LONG_SHORT", "LONG-SHORT", "HML", "H-L"}
_QN_MINUS_Q1 = re.compile(r"^Q\d+\s*-\s*Q\d+$", re.IGNORECASE)
#: Backtest statistics shown from a long-format (stat, value) backtest table, in this order.
BACKTEST_STATS = ("n_periods", "ann_return", "ann_vol", "sharpe", "mean_t_nw", "max_drawdown", "cagr",
                  "beta", "alpha_ann", "alpha_t_nw")


def pick_variant(frame: pd.DataFrame, columns: Sequence[str],
                 prefer: Mapping[str, object] | None = None) -> tuple[pd.DataFrame, str]:
    """Rows of ONE parameter combination of ``columns`` (those present) and a label saying which.

    Tables store one row per estimator variant (construction, universe, window...); a chart mixes
    nothing: the combination matching most ``prefer`` values wins, then the one with most rows.
    """
    cols = [c for c in columns if c in frame.columns]
    if not cols or frame.empty:
        return frame, ""
    combos = frame.groupby(cols, dropna=False).size().reset_index(name="_n")
    score = np.zeros(len(combos), dtype=int)
    for col, value in (prefer or {}).items():
        if col in combos:
            score += (combos[col] == value).to_numpy(dtype=int)
    ranked = combos.assign(_score=score).sort_values(["_score", "_n"], ascending=False, kind="stable")
    best = {c: ranked[c].iloc[0] for c in cols}  # per column: a row would upcast ints to floats
    mask = np.ones(len(frame), dtype=bool)
    for c in cols:
        value = best[c]
        mask &= (frame[c].isna() if pd.isna(value) else frame[c].eq(value)).to_numpy(dtype=bool)
    label = ", ".join(f"{c} = {best[c]}" for c in cols)
    if len(combos) > 1:
        label += f" (one of {len(combos)} stored variants)"
    return frame.loc[mask], label


def return_statistics(wide: pd.DataFrame, periods_per_year: float) -> pd.DataFrame:
    """One row per column of ``wide`` (simple period returns): backtest statistics, returns in %."""
    rows = []
    for col in wide.columns:
        r = pd.Series(wide[col], dtype=float).dropna()
        row: dict[str, object] = {"series": str(col), "n": len(r)}
        if len(r) >= 3:
            rep = backtest_report(r, periods_per_year=periods_per_year)
            row.update({
                "first": rep.start, "last": rep.end,
                "mean_pct": 100 * rep.mean, "ann_return_pct": 100 * rep.ann_return,
                "ann_vol_pct": 100 * rep.ann_vol, "sharpe": rep.sharpe, "t_nw": rep.mean_t_nw,
                "max_drawdown_pct": 100 * rep.max_drawdown, "total_return_pct": 100 * rep.total_return,
            })
        rows.append(row)
    return pd.DataFrame(rows)


def premia_intervals(premia: pd.DataFrame, z: float = Z_95) -> pd.DataFrame:
    """Premia table with 95 % intervals in % per week: mean +- z se (NW se, else plain se), Shanken too."""
    out = pd.DataFrame({"spec": premia.get("spec", pd.Series("", index=premia.index)),
                        "coefficient": premia["coefficient"]})
    mean = premia["mean"].astype(float)
    se = premia["nw_se"].astype(float) if "nw_se" in premia else pd.Series(np.nan, index=premia.index)
    if "se" in premia:
        se = se.fillna(premia["se"].astype(float))  # plain se where Newey-West is not stored
    out["mean_pct"] = 100 * mean
    out["se_pct"] = 100 * se
    out["ci_low_pct"] = 100 * (mean - z * se)
    out["ci_high_pct"] = 100 * (mean + z * se)
    if "nw_t" in premia:
        out["t_nw"] = premia["nw_t"].astype(float)
    if "shanken_se" in premia and premia["shanken_se"].notna().any():
        sh = premia["shanken_se"].astype(float)
        out["shanken_t"] = mean / sh
        out["shanken_low_pct"] = 100 * (mean - z * sh)
        out["shanken_high_pct"] = 100 * (mean + z * sh)
    for col in ("n_periods", "annualised", "avg_cs_r2"):
        if col in premia:
            out[col if col != "annualised" else "annualised_pct"] = (
                100 * premia[col].astype(float) if col == "annualised" else premia[col])
    return out.reset_index(drop=True)


def is_long_short(labels: pd.Series) -> pd.Series:
    """True where a portfolio label names the long-short (LS, L-S, HML, Qn - Q1...)."""
    text = labels.astype(str).str.strip()
    return text.str.upper().isin(LONG_SHORT_LABELS) | text.str.match(_QN_MINUS_Q1)


def backtest_table(bt: pd.DataFrame) -> pd.DataFrame:
    """A stored backtest table for display: long (stat, value) rows pivoted to one row per series,
    long-short rows first; any other layout is shown as stored (all-NULL columns dropped)."""
    if not {"stat", "value"} <= set(bt.columns):
        return bt.dropna(axis=1, how="all")
    keys = [c for c in ("portfolio", "weighting", "returns") if c in bt.columns]
    wide = bt.pivot_table(index=keys, columns="stat", values="value", aggfunc="first") if keys else (
        bt.set_index("stat")["value"].to_frame().T)
    stats = [c for c in BACKTEST_STATS if c in wide.columns] or list(wide.columns)
    wide = wide[stats].reset_index() if keys else wide[stats]
    if "portfolio" in wide.columns:
        order = (~is_long_short(wide["portfolio"])).astype(int)
        wide = wide.assign(_o=order).sort_values(["_o", *keys], kind="stable").drop(columns="_o")
    return wide.reset_index(drop=True)
