"""Fama-MacBeth (1973) gammas and premia as pure table functions (frames in, frames out; no Dagster).

First step per weekly partition (:func:`compute_fm_gammas`), second step over every stored week
(:func:`compute_fm_premia`, with the Shanken 1992 correction for the `betas` spec, and the pooled
OLS of the same coin-weeks with Driscoll-Kraay 1998 errors, rebuilt from each week's stored gammas
and X'X row: :func:`~cryptofactor_assets.estimators.fama_macbeth.pooled_from_cross_sections`).

The `betas` spec regresses on the rolling betas of every factor the rolling regressions used (their
``factors`` column on the formation day: MKT, SIZE, MOM and, where their inputs exist, VOL, FUND,
CHAIN); the regressors are stored per week (``regressors``). The premia of a spec are taken over the
weeks whose regressors are those of its latest week (the model in force), so a week estimated before
an input existed (fewer betas) never mixes with the others.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators import panels
from cryptofactor_assets.estimators.fama_macbeth import (
    cross_section_gammas,
    pooled_from_cross_sections,
    shanken_adjust_fm_cov,
)
from cryptofactor_assets.factors import research
from cryptofactor_assets.factors.compute_daily import ALL_BETA_NAMES, ALL_FACTOR_NAMES, FACTOR_NAMES
from cryptofactor_assets.factors.compute_weekly import DAILY_TO_WEEKLY

#: Fewest weeks of gammas for a premium (mean, t and Newey-West t need a few periods).
FM_MIN_PERIODS = 4


def format_xtx_row(row: np.ndarray) -> str:
    """One row of a week's X'X as stored in ``fama_macbeth_gammas.xtx_row``: comma-separated
    shortest round-trip reprs (exact)."""
    return ",".join(repr(float(v)) for v in row)


def parse_xtx_rows(rows: list[str]) -> np.ndarray:
    """The (P, P) X'X of a week from its P stored rows (see :func:`format_xtx_row`)."""
    return np.array([[float(v) for v in r.split(",")] for r in rows])


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
    x_beta = (np.stack([panels.pivot_panel(betas, b, index=beta_days, symbols=symbols).to_numpy()
                        if b in betas.columns else np.full((len(weeks), len(symbols)), np.nan)
                        for b in ALL_BETA_NAMES], axis=-1) if len(betas)
              else np.full((len(weeks), len(symbols), len(ALL_BETA_NAMES)), np.nan))
    return y, {"betas": x_beta, "characteristics": x_char}, symbols


def beta_factor_sets(betas: pd.DataFrame, weeks: pd.DatetimeIndex) -> list[tuple[str, ...]]:
    """Per holding week, the factors of the rolling regressions on its formation day (the day before):
    the most common ``factors`` value of that day's rolling_betas rows (MKT, SIZE, MOM for rows stored
    before the column existed, or a day without rows)."""
    core = ",".join(FACTOR_NAMES)
    if betas.empty:
        return [FACTOR_NAMES] * len(weeks)
    by_day = (betas.assign(_f=betas["factors"].fillna(core) if "factors" in betas.columns else core)
              .groupby("date")["_f"].agg(lambda s: s.mode().iloc[0]))
    by_day.index = pd.DatetimeIndex(by_day.index)
    days = weeks - pd.Timedelta(days=1)
    return [tuple(by_day.get(d, core).split(",")) for d in days]


def compute_fm_gammas(chars: pd.DataFrame, betas: pd.DataFrame, weeks: pd.DatetimeIndex,
                      characteristics=("mcap", "r3_0"), standardise: bool = True, min_coins: int = 0,
                      rf=0.0) -> pd.DataFrame:
    """Long frame of per-week gammas for the specs 'betas' and 'characteristics' (weeks with an estimate).

    Besides the gamma, each (week, spec, coefficient j) row stores ``xtx_row``, row j of the week's
    ``X'X`` (sum over its coins of z z', z = [1, regressors]): with the gammas it gives the pooled OLS
    and its Driscoll-Kraay errors over all stored weeks without re-reading the panel."""
    characteristics = list(characteristics)
    y, xs, _ = fm_inputs(chars, betas, weeks, characteristics, rf)
    everyweek = np.ones(len(weeks), dtype=bool)
    runs = [("characteristics", xs["characteristics"], characteristics, everyweek)]
    sets = beta_factor_sets(betas, weeks)
    for factors in sorted(set(sets), key=len, reverse=True):
        idx = [ALL_FACTOR_NAMES.index(f) for f in factors]
        runs.append(("betas", xs["betas"][..., idx], [ALL_BETA_NAMES[i] for i in idx],
                     np.array([s == factors for s in sets], dtype=bool)))
    frames = []
    for spec, x, names, weeks_of in runs:
        k = x.shape[2]
        mc = min_coins if min_coins > 0 else k + 2
        std = spec == "characteristics" and standardise
        yy, x = np.where(weeks_of[:, None], y, np.nan), np.asarray(x, dtype=float)
        if std:
            mask = np.isfinite(yy) & np.all(np.isfinite(x), axis=2)
            x = panels.standardise_cross_section(x, mask)
        # the batched per-week solver of fama_macbeth (research.fm_cross_sections), with X'X
        cs = cross_section_gammas(np.asarray(yy, dtype=float), x, True, mc, 1e-10)
        used = np.flatnonzero(cs["used"])
        coefs = ["const", *names]
        for j, coef in enumerate(coefs):
            frames.append(pd.DataFrame({
                "week_start": weeks[used], "formation_week": weeks[used] - pd.Timedelta(weeks=1),
                "spec": spec, "coefficient": coef, "gamma": cs["gammas"][used, j], "cs_r2": cs["r2"][used],
                "n_coins": cs["n"][used].astype(np.int64), "regressors": ",".join(names),
                "standardised": std, "min_coins": mc,
                "xtx_row": [format_xtx_row(cs["xtx"][t, j]) for t in used],
            }))
    return pd.concat(frames, ignore_index=True).sort_values(["week_start", "spec"], kind="mergesort",
                                                            ignore_index=True)


def compute_fm_premia(gammas: pd.DataFrame, weekly_factors: pd.DataFrame | None, lag_rule="4t100",
                      periods_per_year: float = 52.0, min_periods: int = FM_MIN_PERIODS) -> pd.DataFrame:
    """Per spec and coefficient: FM mean, std, t, NW t (lag stored), annualised premium; Shanken (1992)
    t for the `betas` spec with the covariance over the same weeks of the weekly factors built like the
    daily ones of its betas (CMKT, CSMB, CMOM, and CVOL, CFUND, CCHAIN when the betas include them);
    the pooled OLS coefficient of the same coin-weeks with its Driscoll-Kraay (1998) se and t, with
    the Newey-West lags (NaN where a week's ``xtx_row`` is missing: rows stored before it existed).

    The FM Newey-West se is robust to cross-sectional correlation by construction (the weekly slopes
    are averaged) and to serial correlation by its kernel; the Driscoll-Kraay se is the same kernel
    on the pooled estimator's weekly score sums.  They coincide on a balanced panel with regressors
    that do not change over time (see :mod:`cryptofactor_assets.estimators.fama_macbeth`)."""
    rows = []
    for spec, g in gammas.groupby("spec", sort=True):
        latest = g.loc[g["week_start"] == g["week_start"].max(), "regressors"].iloc[0]
        g = g.loc[g["regressors"] == latest]  # the weeks of the model in force (module docstring)
        coefs = ["const", *latest.split(",")]
        wide = g.pivot(index="week_start", columns="coefficient", values="gamma")[coefs].sort_index().dropna()
        if len(wide) < min_periods:
            continue
        s = research.summarise_gammas(wide.to_numpy(), lag_rule)
        t_len = int(s["n_periods"])
        sh_se = np.full(len(coefs), np.nan)
        sh_c = np.nan
        if spec == "betas" and weekly_factors is not None:
            weekly = [DAILY_TO_WEEKLY[c.removeprefix("beta_")] for c in coefs[1:]]
            f = weekly_factors.reindex(index=wide.index, columns=weekly).dropna()
            if len(f) > len(weekly) + 1:
                sh = shanken_adjust_fm_cov(s["cov"], np.cov(f.to_numpy(), rowvar=False, ddof=1), s["mean"][1:],
                                           t_len)
                # a non-positive adjusted variance (few weeks, many factors) leaves the Shanken se undefined
                sh_se, sh_c = np.where(sh.se > 0, sh.se, np.nan), sh.c
        r2 = g.drop_duplicates("week_start").set_index("week_start")["cs_r2"]
        dk = _pooled_dk(g, coefs, wide, int(s["nw_lags"]))
        for j, coef in enumerate(coefs):
            rows.append({
                "spec": spec, "coefficient": coef, "mean": s["mean"][j], "std": s["std"][j], "se": s["se"][j],
                "t": s["tstat"][j], "nw_se": s["nw_se"][j], "nw_t": s["nw_tstat"][j], "nw_lags": int(s["nw_lags"]),
                "lag_rule": str(s["lag_rule"]), "shanken_se": sh_se[j],
                "shanken_t": s["mean"][j] / sh_se[j] if np.isfinite(sh_se[j]) else np.nan, "shanken_c": sh_c,
                "n_periods": t_len, "annualised": periods_per_year * s["mean"][j],
                "periods_per_year": periods_per_year, "avg_cs_r2": float(r2.reindex(wide.index).mean()),
                "first_week": wide.index.min(), "last_week": wide.index.max(),
                "pooled_coef": dk["params"][j], "dk_se": dk["se"][j], "dk_t": dk["t"][j],
                "pooled_n_obs": dk["nobs"],
            })
    return pd.DataFrame(rows)


def _pooled_dk(g: pd.DataFrame, coefs: list[str], wide: pd.DataFrame, lags: int) -> dict:
    """Pooled OLS with Driscoll-Kraay errors over the weeks of ``wide`` from the stored gammas and
    X'X rows of one spec (NaN when a row is missing or the pooled X'X is singular)."""
    p = len(coefs)
    nan = {"params": np.full(p, np.nan), "se": np.full(p, np.nan), "t": np.full(p, np.nan), "nobs": pd.NA}
    if "xtx_row" not in g.columns or g["xtx_row"].isna().any():
        return nan
    rows = g.set_index(["week_start", "coefficient"])["xtx_row"]
    try:
        xtx = np.stack([parse_xtx_rows([rows.loc[(w, c)] for c in coefs]) for w in wide.index])
        res = pooled_from_cross_sections(wide.to_numpy(), xtx, names=coefs, lags=lags)
    except (KeyError, ValueError, np.linalg.LinAlgError):
        return nan
    return {"params": res.params, "se": res.se, "t": res.tstat, "nobs": int(round(xtx[:, 0, 0].sum()))}
