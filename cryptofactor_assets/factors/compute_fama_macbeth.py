"""Fama-MacBeth (1973) gammas and premia as pure table functions (frames in, frames out; no Dagster).

First step per weekly partition (:func:`compute_fm_gammas`), second step over every stored week
(:func:`compute_fm_premia`, with the Shanken 1992 correction for the `betas` spec).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators import panels
from cryptofactor_assets.estimators.fama_macbeth import shanken_adjust_fm_cov
from cryptofactor_assets.factors import research
from cryptofactor_assets.factors.compute_daily import BETA_NAMES
from cryptofactor_assets.factors.compute_weekly import WEEKLY_FACTORS

#: Fewest weeks of gammas for a premium (mean, t and Newey-West t need a few periods).
FM_MIN_PERIODS = 4


def fm_inputs(chars: pd.DataFrame, betas: pd.DataFrame, weeks: pd.DatetimeIndex, characteristics,
              rf=0.0) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """y (T, N) weekly excess returns of the holding weeks ``weeks`` for coins eligible at w-1, and
    the regressors: betas as of day w-1 and characteristics of week w-1 (unstandardised)."""
    formation = weeks - pd.Timedelta(weeks=1)
    symbols = sorted(set(chars["symbol"]) | set(betas["symbol"]))
    ret = panels.pivot_panel(chars, "ret", index_col="week_start", index=weeks, symbols=symbols).to_numpy()
    elig = panels.pivot_panel(chars.assign(_e=chars["in_universe"].astype(float)), "_e", index_col="week_start",
                              index=formation, symbols=symbols).to_numpy() == 1.0
    rf_arr = (rf.reindex(weeks).to_numpy(dtype=float) if isinstance(rf, pd.Series)
              else np.full(len(weeks), float(rf)))
    y = np.where(elig, ret - rf_arr[:, None], np.nan)
    x_char = np.stack([panels.pivot_panel(chars, c, index_col="week_start", index=formation, symbols=symbols)
                          .to_numpy() for c in characteristics], axis=-1)
    beta_days = weeks - pd.Timedelta(days=1)
    x_beta = np.stack([panels.pivot_panel(betas, b, index=beta_days, symbols=symbols).to_numpy()
                          for b in BETA_NAMES], axis=-1) if len(betas) else np.full((len(weeks), len(symbols), 3), np.nan)
    return y, {"betas": x_beta, "characteristics": x_char}, symbols


def compute_fm_gammas(chars: pd.DataFrame, betas: pd.DataFrame, weeks: pd.DatetimeIndex,
                      characteristics=("mcap", "r3_0"), standardise: bool = True, min_coins: int = 0,
                      rf=0.0) -> pd.DataFrame:
    """Long frame of per-week gammas for the specs 'betas' and 'characteristics' (weeks with an estimate)."""
    characteristics = list(characteristics)
    y, xs, _ = fm_inputs(chars, betas, weeks, characteristics, rf)
    names = {"betas": list(BETA_NAMES), "characteristics": characteristics}
    frames = []
    for spec, x in xs.items():
        k = x.shape[2]
        mc = min_coins if min_coins > 0 else k + 2
        std = spec == "characteristics" and standardise
        if std:
            mask = np.isfinite(y) & np.all(np.isfinite(x), axis=2)
            x = panels.standardise_cross_section(x, mask)
        cs = research.fm_cross_sections(y, x, min_coins=mc)
        used = np.flatnonzero(cs["used"])
        coefs = ["const", *names[spec]]
        for j, coef in enumerate(coefs):
            frames.append(pd.DataFrame({
                "week_start": weeks[used], "formation_week": weeks[used] - pd.Timedelta(weeks=1),
                "spec": spec, "coefficient": coef, "gamma": cs["gammas"][used, j], "cs_r2": cs["r2"][used],
                "n_coins": cs["n"][used].astype(np.int64), "regressors": ",".join(names[spec]),
                "standardised": std, "min_coins": mc,
            }))
    return pd.concat(frames, ignore_index=True)


def compute_fm_premia(gammas: pd.DataFrame, weekly_factors: pd.DataFrame | None, lag_rule="4t100",
                      periods_per_year: float = 52.0, min_periods: int = FM_MIN_PERIODS) -> pd.DataFrame:
    """Per spec and coefficient: FM mean, std, t, NW t (lag stored), annualised premium; Shanken (1992)
    t for the `betas` spec with the covariance of the weekly CMKT, CSMB, CMOM over the same weeks."""
    rows = []
    for spec, g in gammas.groupby("spec", sort=True):
        coefs = ["const", *g["regressors"].iloc[0].split(",")]
        wide = g.pivot(index="week_start", columns="coefficient", values="gamma")[coefs].sort_index().dropna()
        if len(wide) < min_periods:
            continue
        s = research.summarise_gammas(wide.to_numpy(), lag_rule)
        t_len = int(s["n_periods"])
        sh_se = np.full(len(coefs), np.nan)
        sh_c = np.nan
        if spec == "betas" and weekly_factors is not None:
            f = weekly_factors.reindex(wide.index)[list(WEEKLY_FACTORS)].dropna()
            if len(f) > len(WEEKLY_FACTORS) + 1:
                sh = shanken_adjust_fm_cov(s["cov"], np.cov(f.to_numpy(), rowvar=False, ddof=1), s["mean"][1:],
                                           t_len)
                sh_se, sh_c = sh.se, sh.c
        r2 = g.drop_duplicates("week_start").set_index("week_start")["cs_r2"]
        for j, coef in enumerate(coefs):
            rows.append({
                "spec": spec, "coefficient": coef, "mean": s["mean"][j], "std": s["std"][j], "se": s["se"][j],
                "t": s["tstat"][j], "nw_se": s["nw_se"][j], "nw_t": s["nw_tstat"][j], "nw_lags": int(s["nw_lags"]),
                "lag_rule": str(s["lag_rule"]), "shanken_se": sh_se[j],
                "shanken_t": s["mean"][j] / sh_se[j] if np.isfinite(sh_se[j]) else np.nan, "shanken_c": sh_c,
                "n_periods": t_len, "annualised": periods_per_year * s["mean"][j],
                "periods_per_year": periods_per_year, "avg_cs_r2": float(r2.reindex(wide.index).mean()),
                "first_week": wide.index.min(), "last_week": wide.index.max(),
            })
    return pd.DataFrame(rows)
