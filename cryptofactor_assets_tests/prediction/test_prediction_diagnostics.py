"""Factor-model diagnostics (vs statsmodels per coin / per period), past-only regimes, Monte Carlo study."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.diagnostic import acorr_ljungbox, het_arch
from statsmodels.stats.stattools import jarque_bera

from cryptofactor_assets.prediction import diagnostics as D
from cryptofactor_assets.prediction.monte_carlo import MarketSpec, monte_carlo_study, plot_study

FAC = ["cmkt", "csmb", "cmom"]


def panel(T=156, N=20, seed=0, missing=0.1):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2019-01-07", periods=T, freq="7D")
    F = pd.DataFrame(rng.standard_normal((T, 3)) * [0.1, 0.06, 0.05] + 0.005, index=idx, columns=FAC)
    B = rng.normal([1, 0.2, 0], 0.4, size=(N, 3))
    R = F.to_numpy() @ B.T + 0.05 * rng.standard_normal((T, N))
    R[rng.random(R.shape) < missing] = np.nan
    R[:40, 0] = np.nan  # a late listing
    return pd.DataFrame(R, index=idx, columns=[f"C{i:02d}" for i in range(N)]), F, B


def test_time_series_fit_equals_statsmodels_with_gaps():
    R, F, _ = panel()
    fit = D.time_series_fit(R, F, se_type="classical").table.set_index("symbol")  # robust: test_prediction_robust_inference
    for sym in ["C00", "C05", "C19"]:
        y = R[sym].dropna()
        res = sm.OLS(y, sm.add_constant(F.loc[y.index])).fit()
        row = fit.loc[sym]
        np.testing.assert_allclose(row[["alpha", "beta_cmkt", "beta_csmb", "beta_cmom"]].to_numpy(float),
                                   res.params.to_numpy(), atol=1e-12)
        np.testing.assert_allclose(row[["t_alpha", "t_beta_cmkt", "t_beta_csmb", "t_beta_cmom"]].to_numpy(float),
                                   res.tvalues.to_numpy(), rtol=1e-9)
        assert row["r2"] == pytest.approx(res.rsquared, abs=1e-12)
        assert row["n_obs"] == len(y)
    lt = D.loading_tstats(D.time_series_fit(R, F), FAC)
    assert len(lt) == 3 * R.shape[1] and lt.loc[lt["factor"] == "cmkt", "significant_5pct"].all()


def test_cross_sectional_r2_equals_statsmodels():
    R, F, B = panel(seed=1)
    betas = pd.DataFrame(B, index=R.columns, columns=FAC)
    cs = D.cross_sectional_r2(R, betas)
    for t in [0, 50, 155]:
        y = R.iloc[t].dropna()
        res = sm.OLS(y, sm.add_constant(betas.loc[y.index])).fit()
        assert cs["r2"].iloc[t] == pytest.approx(res.rsquared, abs=1e-12)
        np.testing.assert_allclose(cs.iloc[t][["gamma_0", "gamma_cmkt", "gamma_csmb", "gamma_cmom"]].to_numpy(float),
                                   res.params.to_numpy(), atol=1e-12)


def test_residual_tests_are_statsmodels_values():
    R, F, _ = panel(seed=2)
    fit = D.time_series_fit(R, F)
    tab = D.residual_tests(fit.residuals, F, lags=4).set_index("symbol")
    e = fit.residuals["C03"].dropna().to_numpy()
    assert tab.loc["C03", "ljung_box"] == pytest.approx(acorr_ljungbox(e, lags=[4])["lb_stat"].iloc[0])
    assert tab.loc["C03", "arch_lm"] == pytest.approx(het_arch(e, nlags=4)[0])
    assert tab.loc["C03", "jarque_bera"] == pytest.approx(jarque_bera(e)[0])
    # Gaussian homoskedastic residuals: tests should mostly not reject
    assert (tab["jarque_bera_p"] > 0.01).mean() > 0.8


def test_regime_labels_use_past_only():
    R, F, _ = panel(T=120, seed=3)
    lab = D.regime_labels(F["cmkt"], lookback=8)
    k = 60
    bad = F["cmkt"].copy()
    bad.iloc[k:] = -bad.iloc[k:] * 50  # change CMKT from week k on
    lab2 = D.regime_labels(bad, lookback=8)
    pd.testing.assert_frame_equal(lab.iloc[: k + 1], lab2.iloc[: k + 1])  # week k's label uses weeks < k
    assert not lab.iloc[k + 1:].equals(lab2.iloc[k + 1:])
    assert (lab["regime"].iloc[:8] == "unknown").all()
    t = 30
    assert lab["trailing_ret"].iloc[t] == pytest.approx(F["cmkt"].iloc[t - 8:t].sum())
    assert lab["bull"].iloc[t] == (F["cmkt"].iloc[t - 8:t].sum() > 0)


def test_regime_and_rolling_validation_on_stable_model():
    R, F, _ = panel(T=208, seed=4)
    rv = D.rolling_validation(R, F, window=52, horizon=13)
    assert len(rv) == (208 - 52 - 13) // 13 + 1
    assert (rv["train_end"] < rv["test_start"]).all()
    assert (rv["r2_out_of_sample"] > 0.5).all()  # betas are constant in this market: they carry over
    # hand check of one window with statsmodels per coin
    w = rv.iloc[2]
    tr, te = R.loc[w.train_start:w.train_end], R.loc[w.test_start:w.test_end]
    sse = sst = 0.0
    for c in R.columns:
        y = tr[c].dropna()
        res = sm.OLS(y, sm.add_constant(F.loc[y.index])).fit()
        yt = te[c].dropna()
        sse += np.sum((yt - res.predict(sm.add_constant(F.loc[yt.index], has_constant="add"))) ** 2)
        sst += np.sum((yt - y.mean()) ** 2)
    assert w.r2_out_of_sample == pytest.approx(1 - sse / sst, rel=1e-10)
    lab = D.regime_labels(F["cmkt"], lookback=8)
    reg = D.regime_validation(R, F, lab).set_index("regime")
    assert set(reg.index) == {"bull", "bear", "high_vol", "low_vol"}
    assert reg.loc["bull", "n_periods"] + reg.loc["bear", "n_periods"] == (lab["regime"] != "unknown").sum()
    assert (reg["r2_out_of_regime_betas"] > 0.5).all()


def test_monte_carlo_errors_shrink_with_length_and_match_ols_theory():
    tab = monte_carlo_study(MarketSpec(n_coins=30), lengths=(52, 208), noises=(0.05, 0.2), reps=60, seed=1)
    b = tab[tab["parameter"] == "beta_0"].set_index(["n_periods", "noise"])
    assert b.loc[(208, 0.05), "rmse"] < b.loc[(52, 0.05), "rmse"] < b.loc[(52, 0.2), "rmse"]
    # RMSE of OLS betas ~ noise / (sqrt(T) sd_f) (finite-sample factor sqrt(T / (T - K - 2)) allowed for)
    ratio = b["rmse"] / b["se_theory"]
    assert ((ratio > 0.9) & (ratio < 1.15)).all()
    assert (b["bias"].abs() < 3 * b["rmse"] / np.sqrt(60 * 30)).all()  # unbiased
    p = tab[tab["parameter"] == "premium_0"].set_index(["n_periods", "noise"])
    assert p.loc[(208, 0.05), "rmse"] < p.loc[(52, 0.05), "rmse"]
    png = plot_study(tab)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
