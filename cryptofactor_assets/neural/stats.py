"""Summaries of beta panels: descriptive statistics, annual trajectories, out-of-sample forecasts.

* :func:`describe_betas`: per coin and market N, mean, std (ddof 1), skewness (adjusted
  Fisher-Pearson, = ``pandas.Series.skew`` = ``scipy.stats.skew(bias=False)``), excess kurtosis
  (= ``pandas.Series.kurt`` = ``scipy.stats.kurtosis(bias=False)``), min, max over non-NaN months.
* :func:`annual_mean_betas`: calendar-year means per coin and market.
* :func:`forecast_comparison`: out-of-sample RMSE of return forecasts ``a_t + beta_t' f_t`` (ex-ante
  betas, realised market returns of month ``t``), on the months where every compared model has a
  forecast. ``with FF5``: the forecast residual's loadings on the five Fama-French factors are
  estimated by rolling OLS over the previous ``ff_window`` months (ex ante, window ending ``t-1``)
  and ``gamma_t' FF_t`` is added (two-step; the FF loadings never see month ``t``).
* :func:`switch_adaptation`: the regime-switch criterion (mean absolute beta error over the first
  ``horizon`` months after each planted switch, and months until the estimate first crosses the
  midpoint between the old and the new planted level).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cryptofactor_assets.neural.baseline import BetaPanel, rolling_ols

FF5 = ["Mkt-RF", "SMB", "HML", "RMW", "CMA"]


def describe_betas(panel: BetaPanel) -> pd.DataFrame:
    """Rows (coin, market) x columns N, mean, std, skew, kurtosis, min, max."""
    long = panel.long()
    g = long.groupby(["coin", "market"])["beta"]
    out = pd.DataFrame({"N": g.count(), "mean": g.mean(), "std": g.std(ddof=1), "skew": g.skew(),
                        "kurtosis": g.apply(lambda s: s.kurt()), "min": g.min(), "max": g.max()})
    out["method"] = panel.method
    return out


def annual_mean_betas(panel: BetaPanel) -> pd.DataFrame:
    """Calendar-year mean beta per coin and market: index year, columns (coin, market)."""
    long = panel.long()
    long["year"] = pd.DatetimeIndex(long["month"]).year
    return long.pivot_table(index="year", columns=["coin", "market"], values="beta", aggfunc="mean")


def _ff_adjustment(resid: np.ndarray, ff: np.ndarray, window: int) -> np.ndarray:
    """Ex-ante rolling-OLS fit of ``resid (T, N)`` on FF5 ``(T, 5)``, applied to ``FF_t``."""
    res = rolling_ols(resid, ff, window, min_obs=window, ex_ante=True)
    z = np.concatenate([np.ones((len(ff), 1)), ff], axis=1)
    return np.einsum("tnp,tp->tn", res.params, z)


def forecast_comparison(
    coin_returns: pd.DataFrame,
    market_returns: pd.DataFrame,
    panels: Mapping[str, BetaPanel],
    ff5: pd.DataFrame | None = None,
    ff_window: int = 36,
) -> pd.DataFrame:
    """Out-of-sample RMSE per model, market (``JOINT`` for joint panels) and FF5 setting.

    Rows ``model, market, ff5 (bool), n, rmse``; every row of one (market, ff5) group is computed on
    the same coin-months (intersection of the models' available forecasts).
    """
    y = coin_returns.to_numpy(float)
    fc: dict[tuple[str, str], np.ndarray] = {}
    for name, p in panels.items():
        pred = p.forecast(market_returns)
        if p.joint:
            fc[(name, "JOINT")] = pred
        else:
            for k, mk in enumerate(p.markets):
                fc[(name, mk)] = pred[:, :, k]
    ff = None if ff5 is None else ff5.reindex(coin_returns.index)[FF5].to_numpy(float)
    rows = []
    for mk in dict.fromkeys(m for _, m in fc):
        group = {name: v for (name, m), v in fc.items() if m == mk}
        variants = [(False, group)]
        if ff is not None:
            variants.append((True, {n: v + _ff_adjustment(y - v, ff, ff_window) for n, v in group.items()}))
        for with_ff, preds in variants:
            common = np.isfinite(y) & np.logical_and.reduce([np.isfinite(v) for v in preds.values()])
            for name, v in preds.items():
                e = (y - v)[common]
                rows.append({"model": name, "market": mk, "ff5": with_ff, "n": int(common.sum()),
                             "rmse": float(np.sqrt(np.mean(e**2))) if e.size else np.nan})
    return pd.DataFrame(rows)


def switch_adaptation(
    estimated: np.ndarray, planted: np.ndarray, switch_index: Sequence[int], horizon: int = 6,
) -> pd.DataFrame:
    """Adaptation after planted switches, for arrays ``(T, N, K)`` of ex-ante and planted betas.

    Per switch month ``s`` (index into T) with a full horizon and a finite estimate at ``s-1``:
    ``mae`` = mean |estimate - planted| over months ``s .. s+horizon-1`` (all coins and markets);
    ``cross`` = mean over coin-markets of the first ``h`` in ``0..horizon-1`` at which the estimate is
    on the new side of the midpoint ``(planted_{s-1} + planted_s) / 2`` (``horizon`` when it never
    crosses). Lower is faster.
    """
    rows = []
    t_len = estimated.shape[0]
    for s in switch_index:
        if s < 1 or s + horizon > t_len or not np.isfinite(estimated[s - 1 : s + horizon]).all():
            continue
        err = np.abs(estimated[s : s + horizon] - planted[s : s + horizon]).mean()
        mid = (planted[s - 1] + planted[s]) / 2
        up = planted[s] > planted[s - 1]
        crossed = np.where(up, estimated[s : s + horizon] > mid, estimated[s : s + horizon] < mid)
        first = np.where(crossed.any(axis=0), crossed.argmax(axis=0), horizon)
        rows.append({"switch": int(s), "mae": float(err), "cross": float(first.mean())})
    return pd.DataFrame(rows, columns=["switch", "mae", "cross"])
