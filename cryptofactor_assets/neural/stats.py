"""Summaries of beta panels: descriptive statistics, annual trajectories, out-of-sample forecasts.

* :func:`describe_betas`: per coin and market N, mean, std (ddof 1), skewness (adjusted
  Fisher-Pearson, = ``pandas.Series.skew`` = ``scipy.stats.skew(bias=False)``), kurtosis in both forms
  with the same bias-corrected estimator: ``excess_kurtosis`` G2 (= ``pandas.Series.kurt`` =
  ``scipy.stats.kurtosis(fisher=True, bias=False)``, 0 for a normal) and ``kurtosis`` = G2 + 3 (plain,
  Pearson: ``scipy.stats.kurtosis(fisher=False, bias=False)``, 3 for a normal; the seed's table reports
  this one), min, max over non-NaN months. Both need N >= 4 (NaN below).
* :func:`annual_mean_betas`: calendar-year means per coin and market.
* :func:`annual_trajectories` / :func:`trajectory_png`: per market and calendar year, the mean over
  coins of each method's annual mean betas beside the planted ones, and their one-PNG line chart.
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

from cryptofactor_assets.analytics.plots import new_figure, panels_png
from cryptofactor_assets.neural.baseline import BetaPanel, rolling_ols
from cryptofactor_assets.neural.simulation import MARKETS

FF5 = ["Mkt-RF", "SMB", "HML", "RMW", "CMA"]


def describe_betas(panel: BetaPanel) -> pd.DataFrame:
    """Rows (coin, market) x columns N, mean, std, skew, kurtosis (plain), excess_kurtosis, min, max."""
    long = panel.long()
    g = long.groupby(["coin", "market"])["beta"]
    excess = g.apply(lambda s: s.kurt())
    out = pd.DataFrame({"N": g.count(), "mean": g.mean(), "std": g.std(ddof=1), "skew": g.skew(),
                        "kurtosis": excess + 3.0, "excess_kurtosis": excess, "min": g.min(), "max": g.max()})
    out["method"] = panel.method
    return out


def annual_mean_betas(panel: BetaPanel) -> pd.DataFrame:
    """Calendar-year mean beta per coin and market: index year, columns (coin, market)."""
    long = panel.long()
    long["year"] = pd.DatetimeIndex(long["month"]).year
    return long.pivot_table(index="year", columns=["coin", "market"], values="beta", aggfunc="mean")


#: Planted column of ``cross_asset_truth`` and series label per model: a single-market regression
#: estimates the univariate (omitted-variable) slope, the joint model the structural beta.
PLANTED = {"single": ("univariate_beta", "planted single (univariate)"),
           "joint": ("beta", "planted joint (structural)")}


def annual_trajectories(annual: pd.DataFrame, truth: pd.DataFrame | None = None,
                        first=None, last=None) -> pd.DataFrame:
    """Per market and calendar year, the mean over coins of the annual mean betas of each (method, model).

    ``annual``: rows ``method, model, coin, market, year, mean_beta`` (``neural_beta_annual``): column
    ``"<method> <model>"`` = mean over the coins of that (method, model, market, year)'s ``mean_beta``.
    ``truth``: rows ``month_start, coin, market, beta, univariate_beta`` (``cross_asset_truth``; None or
    empty for real data): for each model present in ``annual``, the planted series of ``PLANTED``
    (univariate for ``single``, structural for ``joint``) averaged the same way (per coin and year over
    the months ``first <= month_start <= last``, then over the coins that model has rows for), on the
    markets of ``annual``. Index ``(market, year)``; columns per model: methods (sorted), then planted.
    """
    if annual.empty:
        return pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=["market", "year"]))
    a = annual.assign(year=annual["year"].astype(int))
    est = a.groupby(["market", "year", "model", "method"])["mean_beta"].mean().unstack(["model", "method"])
    series: dict[str, pd.Series] = {}
    t = None
    if truth is not None and len(truth):
        t = truth.assign(month=pd.to_datetime(truth["month_start"]))
        if first is not None:
            t = t[t["month"] >= pd.Timestamp(first)]
        if last is not None:
            t = t[t["month"] <= pd.Timestamp(last)]
        t = t[t["market"].isin(set(a["market"]))].assign(year=lambda x: x["month"].dt.year.astype(int))
    models = set(a["model"])
    for model in [m for m in PLANTED if m in models] + sorted(models - set(PLANTED)):
        for method in sorted(set(a.loc[a["model"] == model, "method"])):
            series[f"{method} {model}"] = est[(model, method)]
        if t is not None and model in PLANTED:
            col, label = PLANTED[model]
            sub = t[t["coin"].isin(set(a.loc[a["model"] == model, "coin"]))]
            if len(sub):
                series[label] = sub.groupby(["market", "year", "coin"])[col].mean().groupby(
                    ["market", "year"]).mean()
    out = pd.concat(series, axis=1).sort_index()
    out.index = out.index.set_names(["market", "year"])
    return out


def trajectory_png(traj: pd.DataFrame) -> bytes:
    """One small palette PNG of :func:`annual_trajectories`: a panel per market, a line per series
    (colour per method, planted black; solid single-market, dashed joint), one legend below."""
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415 - plotting only on demand

    present = list(dict.fromkeys(traj.index.get_level_values("market")))
    markets = [m for m in MARKETS if m in present] + sorted(m for m in present if m not in MARKETS)
    ncols = 2 if len(markets) > 1 else 1
    nrows = max(1, -(-len(markets) // ncols))
    fig = new_figure(figsize=(8.0, 2.3 * nrows + 0.7), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    methods = sorted({c.rsplit(" ", 1)[0] for c in traj.columns if not c.startswith("planted")})
    colours = dict(zip(methods, ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown"], strict=False))
    handles: dict[str, object] = {}
    for ax, mk in zip(axes, markets, strict=False):
        part = traj.xs(mk, level="market")
        for col in traj.columns:
            s = part[col].dropna()
            if s.empty:
                continue
            planted = col.startswith("planted")
            colour = "black" if planted else colours.get(col.rsplit(" ", 1)[0], "tab:gray")
            style = "--" if "joint" in col else "-"
            (line,) = ax.plot(s.index.to_numpy(), s.to_numpy(float), linestyle=style, color=colour, marker="o",
                              markersize=3, linewidth=1.6 if planted else 1.2)
            handles.setdefault(col, line)
        ax.set_title(mk, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return panels_png(fig, axes, len(markets), "Annual mean beta (mean over coins)", handles, ncol=3, fontsize=10,
                      legend_size="small")


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
