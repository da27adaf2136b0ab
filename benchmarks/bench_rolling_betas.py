"""Rolling betas: ours (full panel) vs statsmodels RollingOLS and a per-window scikit-learn loop.

Synthetic panel: 1,000 coins x 2,000 days, 3 factors, window 90 (min 60 obs), with random gaps
(3 %), late listings (40 % of the coins list during the sample), delistings (10 %) and a few
factor rows missing.  The peers are too slow for the full panel, so they run on a subset of coins
and their time is extrapolated (statsmodels by coins: its loop visits every row of every coin;
scikit-learn by estimated windows: it fits one model per estimable window).  Equality with both
peers is checked on the subset.

``ratio rolling_betas_vs_statsmodels`` compares the same job: both fits with their default,
classical standard errors.  Robust errors cost more (each window's residuals are formed exactly),
so the asset's default (``ROLLING_SE_TYPE``, HC3) is timed too and divided into the same
statsmodels classical fit (``ratio rolling_betas_asset_default_vs_statsmodels``, the strict
comparison), and each type is compared like for like: White with statsmodels
``RollingOLS.fit(cov_type="HC0")``, HC3 and Newey-West with per-window statsmodels
``OLS.fit(cov_type="HC3" | "HAC")`` on a few hundred windows (rows unusable in a window set to
zero: calendar lags), extrapolated to all windows (RollingOLS has no HC3 or HAC).

    .venv/bin/python benchmarks/bench_rolling_betas.py [--coins 1000] [--days 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptofactor_assets.estimators.rolling_ols import rolling_ols  # noqa: E402
from cryptofactor_assets.factors.compute_daily import (  # noqa: E402
    BETA_NAMES,
    ROLLING_HAC_LAGS,
    ROLLING_MIN_OBS,
    ROLLING_SE_TYPE,
    ROLLING_WINDOW_DAYS,
)

#: The rolling_betas asset's defaults (one definition: factors/compute_daily.py).
WINDOW, MIN_OBS, K, SE_TYPE = ROLLING_WINDOW_DAYS, ROLLING_MIN_OBS, len(BETA_NAMES), ROLLING_SE_TYPE


def make_panel(n_coins: int, n_days: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = rng.normal(0.001, 0.035, size=(n_days, K))
    f[rng.choice(n_days, 5, replace=False)] = np.nan  # missing factor days
    beta = rng.normal(1.0, 0.5, size=(K, n_coins))
    vol = rng.uniform(0.03, 0.12, size=n_coins)
    y = np.nan_to_num(f) @ beta + rng.standard_t(4, size=(n_days, n_coins)) * vol / np.sqrt(2)
    y[rng.random((n_days, n_coins)) < 0.03] = np.nan  # gaps
    late = rng.random(n_coins) < 0.4
    listing = np.where(late, rng.integers(1, int(0.8 * n_days), n_coins), 0)
    y[np.arange(n_days)[:, None] < listing[None, :]] = np.nan
    dead = rng.random(n_coins) < 0.1
    delist = np.where(dead, rng.integers(int(0.3 * n_days), n_days, n_coins), n_days)
    y[np.arange(n_days)[:, None] >= delist[None, :]] = np.nan
    return y, f


def time_ours(y: np.ndarray, f: np.ndarray, repeats: int = 3, **kw) -> tuple[float, float, object]:
    kw.setdefault("se_type", "classical")
    if kw["se_type"] == "hac":
        kw.setdefault("hac_lags", ROLLING_HAC_LAGS)
    t0 = time.perf_counter()
    res = rolling_ols(y, f, window=WINDOW, min_obs=MIN_OBS, **kw)
    cold = time.perf_counter() - t0
    best = cold
    for _ in range(repeats):
        del res
        t0 = time.perf_counter()
        res = rolling_ols(y, f, window=WINDOW, min_obs=MIN_OBS, **kw)
        best = min(best, time.perf_counter() - t0)
    return cold, best, res


def statsmodels_subset(y: np.ndarray, f: np.ndarray, coins: np.ndarray,
                       cov_type: str = "nonrobust") -> tuple[float, np.ndarray, np.ndarray]:
    import statsmodels.api as sm
    from statsmodels.regression.rolling import RollingOLS

    exog = sm.add_constant(f, has_constant="add")
    out = np.full((y.shape[0], len(coins), K + 1), np.nan)
    bse = np.full((y.shape[0], len(coins), K + 1), np.nan)
    t0 = time.perf_counter()
    for j, i in enumerate(coins):
        mod = RollingOLS(y[:, i], exog, window=WINDOW, min_nobs=MIN_OBS, missing="drop", expanding=True)
        res = mod.fit(cov_type=cov_type)  # params, bse, rsquared, ... (like ours)
        out[:, j] = np.asarray(res.params)
        bse[:, j] = np.asarray(res.bse)
        _ = res.rsquared, res.mse_resid
    return time.perf_counter() - t0, out, bse


def windows_statsmodels(y: np.ndarray, f: np.ndarray, coins: np.ndarray, fit_kw: dict,
                        n_windows: int = 300) -> tuple[float, int, np.ndarray, np.ndarray]:
    """Per-window statsmodels OLS ``fit(**fit_kw)`` of random estimable windows of ``coins``;
    returns time, windows fitted, their (row, coin) and standard errors."""
    import statsmodels.api as sm

    rng = np.random.default_rng(2)
    fx = np.isfinite(f).all(axis=1)
    z_all = np.column_stack([np.ones(len(f)), np.where(fx[:, None], f, 0.0)])
    cells, out = [], []
    t0 = time.perf_counter()
    for _ in range(n_windows):
        i = int(rng.choice(coins))
        t = int(rng.integers(WINDOW - 1, y.shape[0]))
        rows = slice(t - WINDOW + 1, t + 1)
        use = np.isfinite(y[rows, i]) & fx[rows]
        if use.sum() < MIN_OBS:
            continue
        z = z_all[rows] * use[:, None]
        yy = np.where(use, y[rows, i], 0.0)
        res = sm.OLS(yy, z).fit(**fit_kw)
        cells.append((t, i))
        out.append(res.bse)
    return time.perf_counter() - t0, len(cells), np.array(cells), np.array(out)


def sklearn_subset(y: np.ndarray, f: np.ndarray, coins: np.ndarray) -> tuple[float, int, np.ndarray]:
    from sklearn.linear_model import LinearRegression

    fx = np.isfinite(f).all(axis=1)
    out = np.full((y.shape[0], len(coins), K + 1), np.nan)
    fits = 0
    t0 = time.perf_counter()
    for j, i in enumerate(coins):
        ok = np.isfinite(y[:, i]) & fx
        for t in range(y.shape[0]):
            lo = max(0, t - WINDOW + 1)
            use = ok[lo : t + 1]
            if use.sum() < MIN_OBS:
                continue
            xw = f[lo : t + 1][use]
            yw = y[lo : t + 1, i][use]
            lr = LinearRegression().fit(xw, yw)
            e = yw - lr.predict(xw)
            _ = np.sqrt(e @ e / (len(yw) - K - 1)), lr.score(xw, yw)  # resid vol, R²
            out[t, j, 0] = lr.intercept_
            out[t, j, 1:] = lr.coef_
            fits += 1
    return time.perf_counter() - t0, fits, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--coins", type=int, default=1000)
    ap.add_argument("--days", type=int, default=2000)
    ap.add_argument("--sm-coins", type=int, default=12)
    ap.add_argument("--sk-coins", type=int, default=4)
    args = ap.parse_args()

    y, f = make_panel(args.coins, args.days)
    print(f"panel coins={args.coins} days={args.days} window={WINDOW} min_obs={MIN_OBS} factors={K} "
          f"missing_share={np.isnan(y).mean():.3f}")

    cold, best, res = time_ours(y, f)
    _, best_1t, _ = time_ours(y, f, repeats=1, n_threads=1)
    n_windows = int(np.isfinite(res.params).all(axis=2).sum())
    print(f"seconds rolling_betas_ours_before_peers {best:.4f}")
    print(f"seconds rolling_betas_ours_first_call {cold:.4f}")
    print(f"seconds rolling_betas_ours_single_thread {best_1t:.4f}")
    print(f"count estimated_windows {n_windows}")
    by_type = {}
    for se_type in ("white", "hc3", "hac"):
        _, by_type[se_type], res_se = time_ours(y, f, repeats=2, se_type=se_type)
        print(f"seconds rolling_betas_ours_{se_type} {by_type[se_type]:.4f}"
              + (f" (lags={res_se.hac_lags})" if se_type == "hac" else ""))
        if se_type == "hac":
            hac_res = res_se
        if se_type == "white":
            white_res = res_se
        if se_type == "hc3":
            hc3_res = res_se

    rng = np.random.default_rng(1)
    sm_coins = np.sort(rng.choice(args.coins, args.sm_coins, replace=False))
    sm_time, sm_params, _ = statsmodels_subset(y, f, sm_coins)
    sm_full = sm_time * args.coins / args.sm_coins
    diff_sm = np.nanmax(np.abs(sm_params - res.params[:, sm_coins]))
    same_mask = np.array_equal(np.isfinite(sm_params), np.isfinite(res.params[:, sm_coins]))
    print(f"seconds rolling_betas_statsmodels_subset {sm_time:.4f} coins={args.sm_coins}")
    print(f"seconds rolling_betas_statsmodels_extrapolated {sm_full:.2f} (subset x {args.coins}/{args.sm_coins})")
    print(f"check max_abs_diff_vs_statsmodels {diff_sm:.3e} same_nan_pattern={same_mask}")
    hc0_time, _, hc0_bse = statsmodels_subset(y, f, sm_coins, cov_type="HC0")
    hc0_full = hc0_time * args.coins / args.sm_coins
    diff_hc0 = np.nanmax(np.abs(hc0_bse - white_res.bse[:, sm_coins]))
    print(f"seconds rolling_betas_statsmodels_hc0_extrapolated {hc0_full:.2f}")
    print(f"check max_abs_diff_white_se_vs_statsmodels_hc0 {diff_hc0:.3e}")
    hac_kw = {"cov_type": "HAC", "cov_kwds": {"maxlags": hac_res.hac_lags, "use_correction": False}}
    hac_time, hac_n, hac_cells, hac_bse = windows_statsmodels(y, f, sm_coins, hac_kw)
    diff_hac = np.max(np.abs(hac_bse - hac_res.bse[hac_cells[:, 0], hac_cells[:, 1]]))
    hac_full = hac_time / hac_n * n_windows
    print(f"seconds rolling_betas_statsmodels_hac_windows {hac_time:.4f} windows={hac_n} "
          f"(extrapolated to all windows: {hac_full:.1f})")
    print(f"check max_abs_diff_hac_se_vs_statsmodels {diff_hac:.3e}")
    hc3_time, hc3_n, hc3_cells, hc3_bse = windows_statsmodels(y, f, sm_coins, {"cov_type": "HC3"})
    diff_hc3 = np.max(np.abs(hc3_bse - hc3_res.bse[hc3_cells[:, 0], hc3_cells[:, 1]]))
    hc3_full = hc3_time / hc3_n * n_windows
    print(f"seconds rolling_betas_statsmodels_hc3_windows {hc3_time:.4f} windows={hc3_n} "
          f"(extrapolated to all windows: {hc3_full:.1f})")
    print(f"check max_abs_diff_hc3_se_vs_statsmodels {diff_hc3:.3e}")

    sk_coins = sm_coins[: args.sk_coins]
    sk_time, fits, sk_params = sklearn_subset(y, f, sk_coins)
    sk_full = sk_time / fits * n_windows
    diff_sk = np.nanmax(np.abs(sk_params - res.params[:, sk_coins]))
    print(f"seconds rolling_betas_sklearn_subset {sk_time:.4f} coins={args.sk_coins} fits={fits}")
    print(f"seconds rolling_betas_sklearn_extrapolated {sk_full:.2f} (per-fit time x {n_windows} windows)")
    print(f"check max_abs_diff_vs_sklearn {diff_sk:.3e}")
    # The machine is shared: time ours again after the peers and keep the best of all runs.
    _, best_again, _ = time_ours(y, f, repeats=2)
    best = min(best, best_again)
    by_type[SE_TYPE] = min(by_type[SE_TYPE], time_ours(y, f, repeats=2, se_type=SE_TYPE)[1])
    print(f"seconds rolling_betas_ours_best {best:.4f}")
    print(f"seconds rolling_betas_ours_asset_default_best {by_type[SE_TYPE]:.4f} ({SE_TYPE})")
    if (diff_sm > 1e-10 or diff_sk > 1e-9 or not same_mask or diff_hc0 > 1e-10 or diff_hac > 1e-10
            or diff_hc3 > 1e-10):
        raise SystemExit("estimates differ from the peers")

    print(f"ratio rolling_betas_vs_statsmodels {sm_full / best:.1f}")
    print(f"ratio rolling_betas_asset_default_vs_statsmodels {sm_full / by_type[SE_TYPE]:.1f} ({SE_TYPE} standard "
          "errors vs the classical fit)")
    print(f"ratio rolling_betas_white_vs_statsmodels_hc0 {hc0_full / by_type['white']:.1f}")
    print(f"ratio rolling_betas_hc3_vs_statsmodels_hc3_windows {hc3_full / by_type['hc3']:.1f}")
    print(f"ratio rolling_betas_hac_vs_statsmodels_hac_windows {hac_full / by_type['hac']:.1f}")
    print(f"ratio rolling_betas_vs_sklearn_loop {sk_full / best:.1f}")


if __name__ == "__main__":
    main()
