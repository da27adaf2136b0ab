"""The neural-beta tables as pure functions (frames in, frames out; no Dagster).

``compute_neural_betas`` (ex-ante MLP and rolling-OLS betas), ``compute_beta_quartiles`` (beta-sorted
portfolios), ``compute_grid`` (grid search and learning curves) and ``compute_stats`` (distributions,
annual means, forecast comparison) reshape the stored rows into the inputs of the numerics modules
(``neural_beta``, ``baseline``, ``grid``, ``stats``, ``portfolios``) and their outputs into rows.
Defaults come from ``params``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptofactor_assets.neural.baseline import BetaPanel, rolling_ols_betas
from cryptofactor_assets.neural.beta_net import DEFAULT_INPUTS, NetConfig, refit_betas
from cryptofactor_assets.neural.cross_asset import as_dates, monthly_index
from cryptofactor_assets.neural.grid import (
    MIN_TRAIN_MONTHS,
    grid_search,
    learning_curves_png,
    min_history_months,
)
from cryptofactor_assets.neural.neural_beta import implied_from_history
from cryptofactor_assets.neural.params import (
    FF_WINDOW,
    GRID_TRAIN_FRACTION,
    GRID_VAL_FRACTION,
    LOOKBACK,
    MIN_COINS,
    MIN_TRAIN,
    N_GROUPS,
    OLS_MIN_OBS,
    OLS_WINDOW,
    REFIT_EVERY,
)
from cryptofactor_assets.neural.portfolios import beta_sorted_portfolios
from cryptofactor_assets.neural.simulation import FF5_COLUMNS, FF_RF, MARKETS
from cryptofactor_assets.neural.stats import annual_mean_betas, describe_betas, forecast_comparison

#: Values of the ``method`` column.
NEURAL = "neural_mlp"
IMPLIED = "neural_implied"  # single-market betas implied by the joint network (omitted-variable algebra)
OLS = "rolling_ols"
JOINT = "JOINT"


def refit_month(month: pd.Timestamp, refit_every: int) -> pd.Timestamp:
    """Latest month ``<= month`` whose absolute month number ``12 y + (m - 1)`` is a multiple of
    ``refit_every``: the refit schedule depends on the calendar only, never on the requested range."""
    n = month.year * 12 + month.month - 1
    n0 = n - n % refit_every
    return pd.Timestamp(year=n0 // 12, month=n0 % 12 + 1, day=1)


def compute_neural_betas(
    coins: pd.DataFrame, markets: pd.DataFrame, targets: pd.DatetimeIndex, cfg: NetConfig,
    lookback: int = LOOKBACK, min_train: int = MIN_TRAIN, refit_every: int = REFIT_EVERY,
    joint: bool = True, ols_window: int = OLS_WINDOW, ols_min_obs: int = OLS_MIN_OBS, progress=None,
    inputs: str = DEFAULT_INPUTS, configs: dict[str, NetConfig] | None = None, config_source: str = "run_config",
    factors: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rows of ``neural_betas`` for the ``targets`` months (``progress(done, total)``, optional: called
    before each refit month with the months of the earlier ones done, and at the end).

    ``coins`` / ``markets``: month x series log returns on a full monthly index starting at the history
    start. The beta for month ``m`` comes from the network trained at ``t0 = refit_month(m)`` on targets
    ``< t0`` (windows ending before them) and applied to the window ``m-12 .. m-1``; exactly the walk-forward
    of ``neural_beta.walk_forward_neural_betas(refit_every=k)`` when its first refit falls on the calendar
    grid (tested). Arrays are sliced before month ``m`` (``refit_betas`` sees rows ``< max(targets)``).
    Methods: ``neural_mlp`` (single: one K = 1 network per market; joint: one K = 4 network),
    ``neural_implied`` (single-market betas implied by the joint network and the markets' covariance
    before the month, ``neural_beta.implied_univariate_betas``) and ``rolling_ols`` (ex ante: months
    ``m-w .. m-1``). ``configs``: per-target configs (``FIAT`` ... ``JOINT``, e.g. the grid winners),
    else ``cfg``. ``factors``: Fama-French factors for an ``ff5`` input block.
    """
    mk = [m for m in MARKETS if m in markets.columns and markets[m].notna().any()]
    cols = ["month_start", "coin", "market", "model", "method", "beta", "alpha", "beta_spread", "window_months",
            "min_obs", "refit_month", "refit_every", "train_start", "hidden", "learning_rate", "activation", "l2",
            "max_iter", "n_backfit", "random_state", "pooled", "n_seeds", "inputs", "config_source"]
    if coins.empty or not mk or len(targets) == 0:
        return pd.DataFrame(columns=cols)
    idx = coins.index
    r = coins.to_numpy(float)
    f = markets.reindex(idx)[mk].to_numpy(float)
    ff = None
    if factors is not None and set(FF5_COLUMNS) <= set(factors.columns):
        ff = factors.reindex(idx)[list(FF5_COLUMNS)].to_numpy(float)
    n_c, n_m = r.shape[1], len(mk)
    pos = {m: i for i, m in enumerate(idx)}
    t_pos = np.array([pos[m] for m in targets])
    shape = (len(targets), n_c, n_m)
    nn, nn_sd, nn_a = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    nj, nj_sd, nj_a = np.full(shape, np.nan), np.full(shape, np.nan), np.full((len(targets), n_c), np.nan)
    ni = np.full(shape, np.nan)
    refits = pd.DatetimeIndex([refit_month(m, refit_every) for m in targets])
    configs = configs or {}
    used: dict[str, NetConfig] = {}
    for anchor in refits.unique():
        sel = np.flatnonzero(refits == anchor)
        t0 = int((anchor.year - idx[0].year) * 12 + anchor.month - idx[0].month)  # may be < 0
        if progress is not None:  # months of the refit months before this one
            progress(int((refits < anchor).sum()), len(targets))
        if t0 < lookback + min_train:
            continue  # not enough history at the refit month: no beta (NaN)
        tg = list(t_pos[sel])
        end = max(tg)  # rows < end only: the window of the last target ends at end - 1
        ffe = None if ff is None else ff[:end]
        for k in range(n_m):
            used[mk[k]] = c_k = configs.get(mk[k], cfg)
            res = refit_betas(r[:end], f[:end], t0, tg, [k], c_k, lookback, min_train, inputs, ffe)
            nn[sel, :, k], nn_sd[sel, :, k], nn_a[sel, :, k] = res.betas[:, :, 0], res.spread[:, :, 0], res.alphas
        if joint:
            used[JOINT] = c_j = configs.get(JOINT, cfg)
            res = refit_betas(r[:end], f[:end], t0, tg, list(range(n_m)), c_j, lookback, min_train, inputs, ffe)
            nj[sel], nj_sd[sel], nj_a[sel] = res.betas, res.spread, res.alphas
            for j, t in zip(sel, tg, strict=True):  # the markets' covariance over months < t
                ni[j] = implied_from_history(nj[j], f[:t])
    if progress is not None:
        progress(len(targets), len(targets))
    ols = rolling_ols_betas(coins, markets, markets=mk, window=ols_window, min_obs=ols_min_obs)
    olj = rolling_ols_betas(coins, markets, markets=mk, window=ols_window, min_obs=ols_min_obs, joint=True)

    def rows(betas, alphas, spread, model: str, method: str) -> pd.DataFrame:
        sh = betas.shape
        a = alphas if alphas.ndim == 3 else np.broadcast_to(alphas[:, :, None], sh)
        out = pd.DataFrame({
            "month_start": np.repeat(as_dates(targets), sh[1] * sh[2]),
            "coin": np.tile(np.repeat(np.array(coins.columns, dtype=object), sh[2]), sh[0]),
            "market": np.tile(np.array(mk, dtype=object), sh[0] * sh[1]),
            "beta": betas.reshape(-1), "alpha": a.reshape(-1),
            "beta_spread": np.full(betas.size, np.nan) if spread is None else spread.reshape(-1),
            "refit_month": np.repeat(as_dates(refits), sh[1] * sh[2]),
        })
        keep = np.isfinite(out["beta"].to_numpy())
        out = out[keep]
        out.insert(3, "model", model)
        out.insert(4, "method", method)
        if method == OLS:
            return out.assign(window_months=ols_window, min_obs=ols_min_obs, refit_month=None, refit_every=None,
                              hidden=None, learning_rate=None, activation=None, l2=None, max_iter=None,
                              n_backfit=None, random_state=None, pooled=None, n_seeds=None, inputs=None,
                              config_source=None)
        key = np.where(out["model"] == "joint", JOINT, out["market"]) if method == NEURAL else \
            np.full(len(out), JOINT, dtype=object)
        c = [used.get(k_, cfg) for k_ in key]
        return out.assign(window_months=lookback, min_obs=min_train, refit_every=refit_every,
                          hidden=[x.hidden for x in c], learning_rate=[x.learning_rate for x in c],
                          activation=[x.activation for x in c], l2=[x.l2 for x in c],
                          max_iter=[x.epochs for x in c], n_backfit=None,
                          random_state=[x.random_state for x in c], pooled=True,
                          n_seeds=[x.n_seeds for x in c], inputs=inputs, config_source=config_source)

    parts = [rows(nn, nn_a, nn_sd, "single", NEURAL)]
    if joint:
        parts.append(rows(nj, nj_a, nj_sd, "joint", NEURAL))
        parts.append(rows(ni, np.full(shape, np.nan), None, "single", IMPLIED))
    parts.append(rows(ols.betas[t_pos], ols.alphas[t_pos], None, "single", OLS))
    parts.append(rows(olj.betas[t_pos], olj.alphas[t_pos][:, :, 0], None, "joint", OLS))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    out["train_start"] = idx[0].date()
    for c in ("refit_every", "hidden", "max_iter", "n_backfit", "random_state", "n_seeds"):
        out[c] = pd.array(out[c], dtype="Int64")
    return out[cols]


def compute_beta_quartiles(betas: pd.DataFrame, coins: pd.DataFrame, factors: pd.DataFrame,
                           n_groups: int = N_GROUPS, min_coins: int = MIN_COINS) -> pd.DataFrame:
    """Rows of ``beta_quartile_portfolios``: per (method, model, market) and holding month m, coins sorted
    on their beta for m (``portfolios.beta_sorted_portfolios``) with their excess return of month m,
    ``expm1(log return) - RF`` (RF of the factor rows; 0 where absent, flagged in ``rf_source``)."""
    cols = ["month_start", "method", "model", "market", "quartile", "n_coins", "mean_beta",
            "mean_excess_return", "rf_source", "n_groups", "min_coins"]
    if betas.empty or coins.empty:
        return pd.DataFrame(columns=cols)
    rf = factors[FF_RF] if FF_RF in factors.columns else pd.Series(np.nan, index=coins.index)
    rf = rf.reindex(coins.index)
    excess = np.expm1(coins).sub(rf.fillna(0.0), axis=0)
    b = betas.assign(month=pd.to_datetime(betas["month_start"]))
    parts = []
    for (method, model, market), g in b.groupby(["method", "model", "market"], sort=True):
        wide = g.pivot_table(index="month", columns="coin", values="beta", aggfunc="first")
        out = beta_sorted_portfolios(wide, excess, n_groups=n_groups, min_coins=min_coins)
        if out.empty:
            continue
        parts.append(pd.DataFrame({
            "month_start": as_dates(out["month"]), "method": method, "model": model, "market": market,
            "quartile": out["group"].astype(int), "n_coins": out["n_coins"].astype(int),
            "mean_beta": out["mean_beta"], "mean_excess_return": out["mean_excess_return"],
            "rf_source": np.where(rf.reindex(out["month"]).notna().to_numpy(), "ff5", "zero"),
            "n_groups": n_groups, "min_coins": min_coins}))
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)



def compute_grid(coins: pd.DataFrame, markets: pd.DataFrame, grid: list[NetConfig], lookback: int = LOOKBACK,
                 train_fraction: float = GRID_TRAIN_FRACTION, val_fraction: float = GRID_VAL_FRACTION,
                 inputs: str = DEFAULT_INPUTS, factors: pd.DataFrame | None = None, n_jobs: int | None = None,
                 progress=None) -> tuple[pd.DataFrame, pd.DataFrame, bytes]:
    """Rows of ``neural_beta_grid`` and ``neural_beta_learning_curves``, and the curves as PNG bytes.

    ``grid.grid_search`` on the targets of the present markets (each market, FIAT+EQUITY, FIAT+GOLD,
    JOINT) with the chronological train / validation / test blocks; curves of each target's winner.
    ``n_jobs``: worker processes (None: one per CPU, capped at the fits).
    """
    mk = [m for m in MARKETS if m in markets.columns and markets[m].notna().any()]
    res = grid_search(coins, markets[mk], markets=mk, grid=grid, lookback=lookback, train_fraction=train_fraction,
                      val_fraction=val_fraction, inputs=inputs, factors=factors, n_jobs=n_jobs, progress=progress)
    table = res.table
    for c in ("n_outputs", "hidden", "epochs", "n_seeds", "random_state", "rank", "lookback", "n_coins"):
        table[c] = table[c].astype("int64")
    rows = pd.concat([pd.DataFrame({"market": c.target, "epoch": np.arange(1, len(c.train_mse) + 1),
                                    "train_mse": c.train_mse, "val_mse": c.val_mse,
                                    "hidden": c.config.hidden, "learning_rate": c.config.learning_rate,
                                    "activation": c.config.activation}) for c in res.curves.values()],
                     ignore_index=True)
    return table, rows, learning_curves_png(res.curves)


def grid_lacks(coins: pd.DataFrame, markets: pd.DataFrame, lookback: int,
               train_fraction: float = GRID_TRAIN_FRACTION, val_fraction: float = GRID_VAL_FRACTION) -> str | None:
    """Why the stored history cannot feed the grid search (None when it can)."""
    if coins.empty:
        return ("cross_asset_monthly holds no months (the monthly job runs over whole calendar months "
                "of the range only)")
    if not any(m in markets.columns and markets[m].notna().any() for m in MARKETS):
        return f"cross_asset_monthly has no market series ({', '.join(MARKETS)})"
    need = min_history_months(lookback, train_fraction, val_fraction)
    if len(coins) < need:
        test = 1.0 - train_fraction - val_fraction
        return (f"needs >= {need} months of cross_asset_monthly (look-back {lookback}, then train / validation / "
                f"test blocks of {train_fraction:.0%} / {val_fraction:.0%} / {test:.0%} with >= {MIN_TRAIN_MONTHS} "
                f"train months); the history holds {len(coins)}")
    return None



def beta_panels(betas: pd.DataFrame, months: pd.DatetimeIndex) -> dict[tuple[str, str], BetaPanel]:
    """Stored rows -> one ``BetaPanel`` per (method, model) on ``months`` (NaN where not stored)."""
    out = {}
    b = betas.assign(month=pd.to_datetime(betas["month_start"]))
    coins = tuple(sorted(b["coin"].unique()))
    for (method, model), g in b.groupby(["method", "model"], sort=True):
        mk = tuple(m for m in MARKETS if m in set(g["market"]))
        cube = g.pivot_table(index="month", columns=["coin", "market"], values=["beta", "alpha"],
                             aggfunc="first")
        full = pd.MultiIndex.from_product([["beta", "alpha"], coins, mk])
        cube = cube.reindex(index=months, columns=full)
        t = len(months)
        beta = cube["beta"].to_numpy(float).reshape(t, len(coins), len(mk))
        alpha = cube["alpha"].to_numpy(float).reshape(t, len(coins), len(mk))
        joint = model == "joint"
        if joint:  # one intercept per coin-month, repeated on each market row: keep one copy
            alpha = np.nanmax(alpha, axis=2, keepdims=True, initial=-np.inf, where=np.isfinite(alpha))
            alpha[~np.isfinite(alpha)] = np.nan
        out[(method, model)] = BetaPanel(months=months, coins=coins, markets=mk, betas=beta, alphas=alpha,
                                         method=method, joint=joint, window=0)
    return out


def compute_stats(betas: pd.DataFrame, coins: pd.DataFrame, markets: pd.DataFrame, factors: pd.DataFrame,
                  truth: pd.DataFrame, ff_window: int = FF_WINDOW) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rows of ``neural_beta_stats``, ``neural_beta_annual`` and ``neural_beta_forecasts``.

    Months: every month between the first and last stored beta. ``stats.describe_betas`` /
    ``annual_mean_betas`` per (method, model); ``truth_rmse`` against ``cross_asset_truth`` (univariate
    planted beta for single-market models, structural for joint). ``stats.forecast_comparison``: neural vs
    rolling OLS on the same coin-months, without and with FF5 (residual loadings estimated ex ante over
    the previous ``ff_window`` months).
    """
    months = monthly_index(betas["month_start"].min(), betas["month_start"].max())
    panels = beta_panels(betas, months)
    first, last = months[0].date(), months[-1].date()
    tr = None
    if len(truth):
        tr = truth.assign(month=pd.to_datetime(truth["month_start"]))
    stats, annual = [], []
    for (method, model), p in panels.items():
        d = describe_betas(p).reset_index()
        d = d.rename(columns={"N": "n_months", "mean": "mean_beta", "std": "std_beta", "min": "min_beta",
                              "max": "max_beta"}).drop(columns="method")
        d.insert(0, "model", model)
        d.insert(0, "method", method)
        d["truth_rmse"] = np.nan
        if tr is not None:
            est = p.long().merge(tr, on=["month", "coin", "market"], how="inner")
            target = est["beta_y"] if model == "joint" else est["univariate_beta"]
            err = (est["beta_x"] - target) ** 2
            rmse = np.sqrt(err.groupby([est["coin"], est["market"]]).mean())
            d["truth_rmse"] = [rmse.get((c, m), np.nan) for c, m in zip(d["coin"], d["market"], strict=True)]
        stats.append(d)
        a = annual_mean_betas(p).stack(["coin", "market"], future_stack=True).dropna()
        a = a.rename("mean_beta").reset_index()
        a.insert(0, "model", model)
        a.insert(0, "method", method)
        annual.append(a)
    stats_df = pd.concat(stats, ignore_index=True).assign(first_month=first, last_month=last)
    annual_df = pd.concat(annual, ignore_index=True)
    annual_df["year"] = annual_df["year"].astype(int)
    cr = coins.reindex(months)
    mr = markets.reindex(months)
    ff = factors.reindex(months) if set(FF5_COLUMNS) <= set(factors.columns) else None
    if ff is not None and ff[list(FF5_COLUMNS)].isna().all().any():
        ff = None  # e.g. the linearmodels subset (no RMW, CMA) or no factor rows for these months
    fc = []
    for model in ("single", "joint"):
        # neural_implied carries no intercept (no return forecast of its own): betas only
        group = {method: p for (method, mdl), p in panels.items() if mdl == model and method != IMPLIED}
        if len(group) < 1:
            continue
        c = forecast_comparison(cr.reindex(columns=list(next(iter(group.values())).coins)), mr, group,
                                ff5=ff, ff_window=ff_window)
        fc.append(c.rename(columns={"model": "method"}).assign(model=model))
    fc_df = pd.concat(fc, ignore_index=True).assign(ff_window=ff_window, first_month=first, last_month=last)
    fc_df = fc_df[["method", "model", "market", "ff5", "n", "rmse", "ff_window", "first_month", "last_month"]]
    return stats_df, annual_df, fc_df

