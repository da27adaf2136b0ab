"""Robust t-statistics of the per-coin time-series fits (factor_model_ts_fit) against statsmodels,
the t-statistic of the cross-sectional mean alpha by hand, and the dashboard's use of it."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cryptofactor_assets.estimators.hac import nw_lag
from cryptofactor_assets.prediction import diagnostics as D
from cryptofactor_assets.prediction.dashboard import compute_dashboard, mean_alpha_t
from cryptofactor_assets.storage.warehouse import ensure_table
from cryptofactor_assets_tests.prediction.test_prediction_diagnostics import FAC, panel

T_COLS = ["t_alpha", "t_beta_cmkt", "t_beta_csmb", "t_beta_cmom"]


def _statsmodels(y: pd.Series, F: pd.DataFrame, se_type: str, lags: int | None, drop: bool):
    """Per-coin statsmodels OLS: dropped missing weeks, or kept as zero rows (zero score)."""
    use = y.notna().to_numpy()
    z = sm.add_constant(F.to_numpy(), has_constant="add")
    if drop:
        yy, zz = y.to_numpy()[use], z[use]
    else:
        yy, zz = np.where(use, y.to_numpy(), 0.0), z * use[:, None]
    kw = {"white": {"cov_type": "HC0"}, "hc1": {"cov_type": "HC1"}, "hc3": {"cov_type": "HC3"}, "classical": {},
          "hac": {"cov_type": "HAC", "cov_kwds": {"maxlags": lags, "use_correction": False}}}[se_type]
    return sm.OLS(yy, zz).fit(**kw)


@pytest.mark.parametrize("se_type", ["classical", "white", "hc1", "hc3", "hac"])
def test_coin_t_statistics_equal_statsmodels_with_gaps(se_type):
    R, F, _ = panel()
    tab = D.time_series_fit(R, F, se_type=se_type).table.set_index("symbol")
    assert (tab["se_type"] == se_type).all()
    for sym in R.columns:
        row = tab.loc[sym]
        lags = None if se_type == "classical" else int(row["nw_lags"])
        if se_type == "hac":
            assert lags == nw_lag(int(row["n_obs"]), "4t100")
        # zero rows: no score, no leverage; HC1's and the classical n are the observed weeks'
        res = _statsmodels(R[sym], F, se_type, lags, drop=se_type in ("classical", "hc1"))
        np.testing.assert_allclose(row[["alpha", "beta_cmkt", "beta_csmb", "beta_cmom"]].to_numpy(float),
                                   res.params, rtol=0, atol=1e-12)
        np.testing.assert_allclose(row[T_COLS].to_numpy(float), res.tvalues, rtol=1e-9)
    assert tab["nw_lags"].isna().all() if se_type == "classical" else tab["nw_lags"].notna().all()


def test_hac_without_inner_gaps_equals_statsmodels_on_the_dropped_weeks_and_lag_rules():
    """A coin listed late (no gap inside its sample): both gap conventions agree; an int lag rule
    and 't14' are applied to each coin's own number of weeks."""
    R, F, _ = panel(missing=0.0)
    R.iloc[:40, 3] = np.nan
    for rule, expect in ((3, 3), ("t14", nw_lag(116, "t14"))):
        tab = D.time_series_fit(R, F, lag_rule=rule).table.set_index("symbol")
        assert tab.loc["C03", "nw_lags"] == expect and tab.loc["C03", "n_obs"] == 116
        res = _statsmodels(R["C03"], F, "hac", expect, drop=True)
        np.testing.assert_allclose(tab.loc["C03", T_COLS].to_numpy(float), res.tvalues, rtol=1e-9)
    with pytest.raises(ValueError, match="se_type"):
        D.time_series_fit(R, F, se_type="hc2")
    with pytest.raises(ValueError, match="fixed lag rule"):
        D.time_series_fit(R, F, lag_rule="nw1994")


def test_mean_alpha_t_is_the_newey_west_t_of_the_equal_weighted_portfolio_on_a_balanced_panel():
    R, F, _ = panel(missing=0.0, seed=4)
    R = R.drop(columns="C00")  # the late listing
    tab = D.time_series_fit(R, F).table
    lags = int(tab["mean_alpha_lags"].iloc[0])
    assert lags == nw_lag(len(R), "4t100") and (tab["n_alpha_coins"] == R.shape[1]).all()
    ew = sm.OLS(R.mean(axis=1).to_numpy(), sm.add_constant(F.to_numpy())).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False})
    assert tab["mean_alpha"].iloc[0] == pytest.approx(ew.params[0], rel=1e-10)
    assert tab["mean_alpha_se"].iloc[0] == pytest.approx(ew.bse[0], rel=1e-9)
    assert tab["mean_alpha_t"].iloc[0] == pytest.approx(ew.tvalues[0], rel=1e-9)
    # the same for every choice of per-coin standard errors
    white = D.time_series_fit(R, F, se_type="white").table
    assert white["mean_alpha_t"].iloc[0] == pytest.approx(tab["mean_alpha_t"].iloc[0], rel=1e-12)


def test_mean_alpha_se_by_hand_on_an_unbalanced_panel():
    """psi_t = mean over fitted coins of [(X_i'X_i)^-1 x_t]_0 e_ti (0 where the coin misses week t),
    Var = sum psi_t^2 + 2 sum_j (1 - j / (L + 1)) sum_t psi_t psi_{t-j}, written out with loops."""
    R, F, _ = panel(T=80, N=6, seed=5, missing=0.15)
    tab = D.time_series_fit(R, F, min_obs=20).table.set_index("symbol")
    fitted = tab.index[tab["r2"].notna()]
    x = sm.add_constant(F.to_numpy())
    psi = np.zeros(len(R))
    alphas = []
    for sym in fitted:
        use = R[sym].notna().to_numpy()
        xi = x[use]
        coef = np.linalg.solve(xi.T @ xi, xi.T @ R[sym].to_numpy()[use])
        alphas.append(coef[0])
        inv = np.linalg.inv(xi.T @ xi)
        for t in np.flatnonzero(use):
            e = R[sym].iloc[t] - x[t] @ coef
            psi[t] += (inv[0] @ x[t]) * e / len(fitted)
    lags = nw_lag(len(R), "4t100")
    var = psi @ psi
    for j in range(1, lags + 1):
        var += 2 * (1 - j / (lags + 1)) * (psi[j:] @ psi[:-j])
    row = tab.iloc[0]
    assert row["mean_alpha"] == pytest.approx(np.mean(alphas), rel=1e-10)
    assert row["mean_alpha_se"] == pytest.approx(np.sqrt(var), rel=1e-9)
    assert row["n_alpha_coins"] == len(fitted) and row["mean_alpha_lags"] == lags


def test_mean_alpha_t_keeps_its_size_when_the_coins_share_shocks():
    """Zero alphas, residuals with a common (missing-factor) shock: the naive cross-sectional t,
    mean / (sd / sqrt(N)), rejects far too often; the stored t is close to its nominal 5 %."""
    rng = np.random.default_rng(6)
    naive, robust = [], []
    for _ in range(200):
        T, N = 156, 30
        F = pd.DataFrame(rng.normal(0, 0.05, size=(T, 3)), columns=FAC)
        R = pd.DataFrame(F.to_numpy() @ rng.normal(1, 0.3, size=(3, N)) + rng.normal(0, 0.03, size=(T, 1))
                         + rng.normal(0, 0.03, size=(T, N)))
        tab = D.time_series_fit(R, F).table
        a = tab["alpha"]
        naive.append(abs(a.mean() / (a.std(ddof=1) / np.sqrt(N))) > 1.96)
        robust.append(abs(tab["mean_alpha_t"].iloc[0]) > 1.96)
    assert np.mean(naive) > 0.4
    assert np.mean(robust) < 0.12


def test_dashboard_reports_the_t_of_the_mean_alpha():
    R, F, _ = panel(seed=7)
    tab = D.time_series_fit(R, F).table.assign(alpha_annualised=lambda d: 52 * d["alpha"], min_obs=20,
                                               construction="double_sort")
    con = duckdb.connect()
    ensure_table(con, "factor_model_ts_fit")
    con.register("frame", tab)
    con.execute("INSERT INTO factor_model_ts_fit BY NAME SELECT * FROM frame")
    dash, _ = compute_dashboard(con, "double_sort", "expanding")
    dash = dash.set_index("metric")
    assert dash.loc["t_mean_alpha", "value"] == pytest.approx(tab["mean_alpha_t"].iloc[0], rel=1e-12)
    assert "mean_alpha_t" not in dash.index
    a = tab["alpha"].dropna()
    naive = a.mean() / (a.std(ddof=1) / np.sqrt(len(a)))
    assert f"cross-sectional t (mean / (sd / sqrt(N))) = {naive:.2f}" in dash.loc["t_mean_alpha", "detail"]
    assert "hac se" in dash.loc["share_alpha_t_gt_1.96", "detail"]
    # a table stored before the column existed: NaN and a note, not an error
    con.execute("UPDATE factor_model_ts_fit SET mean_alpha_t = NULL")
    dash, notes = compute_dashboard(con, "double_sort", "expanding")
    assert np.isnan(dash.set_index("metric").loc["t_mean_alpha", "value"])
    assert any("mean-alpha t" in n for n in notes)
    value, detail = mean_alpha_t(tab.drop(columns=["mean_alpha_t", "mean_alpha_lags"]))
    assert np.isnan(value) and detail.startswith("not stored")
