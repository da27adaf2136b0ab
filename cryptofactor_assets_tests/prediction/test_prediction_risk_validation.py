"""Out-of-sample validation of the factor risk model (``prediction.risk_validation``, asset
``risk_model_validation``): estimators against oracles (sklearn's Ledoit-Wolf, SciPy's normal
log-density, hand cases of the bias statistic and EWMA), the factor forecast equal to ``risk_model``'s
and to the stored ``factor_risk_model``'s construction, no look-ahead, calibration with the true
covariance, and the factor model beating the sample covariance on planted factor structures."""

from __future__ import annotations

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.factors.compute_daily import compute_rolling_betas
from cryptofactor_assets.prediction import checks as pc
from cryptofactor_assets.prediction import risk_validation as rv
from cryptofactor_assets.prediction import tables as pt
from cryptofactor_assets.prediction.assets_risk import risk_model_validation
from cryptofactor_assets.prediction.compute import compute_risk_model
from cryptofactor_assets.prediction.risk_model import factor_risk_model, fit_time_series
from cryptofactor_assets.sources.simulated import SimConfig, simulate_daily
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.warehouse import ensure_table

FACTORS = ("mkt", "size", "mom")
SHORT = rv.ValidationConfig(window_days=60, min_window_days=60, n_random=10, min_coin_weeks=8)


def planted_market(n_days=400, n_coins=50, seed=0, start="2023-01-02"):
    """Daily excess returns R = F B' + E of a known factor structure (iid normal factors and residuals):
    (returns, factors, market caps, B, Omega, d)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, periods=n_days, freq="D")
    vols = np.array([0.03, 0.012, 0.015])
    F = rng.standard_normal((n_days, 3)) * vols
    B = np.column_stack([rng.normal(1.0, 0.3, n_coins), rng.normal(0.5, 0.5, n_coins), rng.normal(0.0, 0.4, n_coins)])
    d = rng.uniform(0.02, 0.06, n_coins) ** 2
    R = F @ B.T + rng.standard_normal((n_days, n_coins)) * np.sqrt(d)
    symbols = [f"C{i:02d}" for i in range(n_coins)]
    caps = pd.DataFrame(np.exp(rng.normal(20, 2, n_coins))[None, :] * np.exp(np.cumsum(R, axis=0)),
                        index=days, columns=symbols)
    return (pd.DataFrame(R, index=days, columns=symbols), pd.DataFrame(F, index=days, columns=list(FACTORS)), caps,
            B, np.diag(vols ** 2), d)


# ----------------------------------------------------------------------------------- estimators
def test_ledoit_wolf_equals_sklearn():
    from sklearn.covariance import LedoitWolf

    R, *_ = planted_market(n_days=60, n_coins=40)
    X = R.to_numpy()
    sk = LedoitWolf().fit(X)
    assert rv.ledoit_wolf_shrinkage(X) == pytest.approx(sk.shrinkage_, rel=1e-12)
    cov, delta = rv.shrunk_covariance(X, ddof=1)
    np.testing.assert_allclose(cov, sk.covariance_ * 60 / 59, rtol=1e-12, atol=1e-18)
    assert 0 < delta < 1


def test_ewma_hand_case():
    X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    lam = 0.5
    w = np.array([0.25, 0.5, 1.0]) / 1.75  # lambda^2, lambda, 1 (the newest row last)
    expected = sum(w[t] * np.outer(X[t], X[t]) for t in range(3))
    np.testing.assert_allclose(rv.ewma_covariance(X, lam), expected, rtol=1e-15)
    # zero mean: a constant series has a non-zero EWMA variance
    assert rv.ewma_covariance(np.ones((5, 1)), 0.94)[0, 0] == pytest.approx(1.0)


def test_bias_statistic_hand_case():
    # z = (1, -2, 1): mean 0, sd = sqrt((1 + 4 + 1) / 2) = sqrt(3); band sqrt(2 / 3)
    b, band = rv.bias_statistic(np.array([0.1, -0.2, 0.3]), np.array([0.1, 0.1, 0.3]))
    assert b == pytest.approx(np.sqrt(3.0), rel=1e-14) and band == pytest.approx(np.sqrt(2 / 3), rel=1e-14)
    z = pd.DataFrame({"p": [1.0, -2.0, 1.0], "q": [1.0, 1.0, np.nan], "r": [np.nan, np.nan, 3.0]})
    stats = rv.bias_statistics(z)
    assert list(stats.index) == ["p", "q"]  # r has one period: no standard deviation
    assert stats.loc["p", "bias"] == pytest.approx(np.sqrt(3.0)) and stats.loc["q", "bias"] == 0.0
    assert stats.loc["q", "band"] == pytest.approx(1.0)
    assert stats.loc["p", "in_band"]  # |sqrt(3) - 1| = 0.73 <= sqrt(2 / 3) = 0.82: three weeks prove little
    assert np.isnan(rv.bias_statistic(np.array([1.0]), np.array([1.0]))[0])


def test_gaussian_loglik_equals_scipy_and_min_variance_weights():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 5))
    S = A @ A.T + 0.1 * np.eye(5)
    r = rng.standard_normal(5)
    ll, q = rv.gaussian_loglik(S, r)
    assert ll == pytest.approx(multivariate_normal(np.zeros(5), S).logpdf(r) / 5, rel=1e-12)
    assert q == pytest.approx(r @ np.linalg.solve(S, r) / 5, rel=1e-12)
    assert all(np.isnan(rv.gaussian_loglik(np.ones((3, 3)), np.ones(3))))  # singular: undefined
    w = rv.min_variance_weights(S)
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(S @ w, np.full(5, w @ S @ w), rtol=1e-10)  # first-order condition: S w = c 1
    assert rv.min_variance_weights(np.ones((3, 3))) is None


def test_fixed_portfolios():
    syms = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]
    cfg = rv.ValidationConfig(n_random=3)
    caps = np.arange(10, 0, -1.0)  # A largest
    mom = np.arange(10.0)  # J the best past return
    names, types, W = rv.fixed_portfolios(syms, caps, mom, cfg)
    w = dict(zip(names, W, strict=True))
    np.testing.assert_allclose(w["size_ls"], [-1 / 3] * 3 + [0] * 4 + [1 / 3] * 3)  # long the small coins
    np.testing.assert_allclose(w["momentum_ls"], [-1 / 3] * 3 + [0] * 4 + [1 / 3] * 3)
    assert w["equal_weight"].sum() == pytest.approx(1.0)
    for j in range(3):
        assert w[f"random_long_{j:02d}"].sum() == pytest.approx(1.0) and (w[f"random_long_{j:02d}"] > 0).all()
        assert w[f"random_ls_{j:02d}"].sum() == pytest.approx(0.0, abs=1e-15)
        assert np.abs(w[f"random_ls_{j:02d}"]).sum() == pytest.approx(2.0)
    assert types.count("random_ls") == 3 and types.count("random_long") == 3
    # fixed per coin: dropping coins renormalises, it never redraws the others
    names2, _, W2 = rv.fixed_portfolios(syms[2:], None, mom[2:], cfg)
    w2 = dict(zip(names2, W2, strict=True))
    assert "size_ls" not in w2
    r = w["random_long_00"][2:]
    np.testing.assert_allclose(w2["random_long_00"], r / r.sum(), rtol=1e-14)


# ----------------------------------------------------------------------------------- consistency
def test_factor_forecast_equals_risk_model_on_the_same_window():
    R, F, *_ = planted_market(n_days=120, n_coins=12)
    origin = R.index[99]
    fc = rv.forecast_covariances(R, F, origin, SHORT)
    win = R.loc[origin - pd.Timedelta(days=59):origin]
    assert fc.n_days == len(win) == 60 and fc.symbols == tuple(R.columns)
    fit = fit_time_series(win.to_numpy(), F.loc[win.index].to_numpy(), ddof=1)
    model = factor_risk_model(fit.betas, fit.factor_cov, fit.resid_var)
    np.testing.assert_allclose(fc.covariances["factor"], 7 * model.covariance, rtol=1e-13, atol=0)
    np.testing.assert_allclose(fc.betas, fit.betas, rtol=1e-13)
    S = np.cov(win.to_numpy(), rowvar=False, ddof=1)
    np.testing.assert_allclose(fc.covariances["sample"], 7 * S, rtol=1e-13)
    # the exactness of risk_model.check_reproduction: the factor model's variances ARE the sample's
    np.testing.assert_allclose(np.diag(fc.covariances["factor"]), np.diag(fc.covariances["sample"]), rtol=1e-12)
    np.testing.assert_allclose(fc.covariances["ewma"], 7 * rv.ewma_covariance(win.to_numpy()), rtol=1e-13)
    np.testing.assert_allclose(fc.momentum, win.iloc[-21:].sum().to_numpy(), rtol=1e-13)


def _long_inputs(R: pd.DataFrame, F: pd.DataFrame, rf: float = 1e-4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(daily_panel-like rows: symbol, date, ret = excess + rf; factor_returns_daily-like rows)."""
    daily = R.add(rf).rename_axis("date").reset_index().melt(id_vars="date", var_name="symbol", value_name="ret")
    daily = daily.dropna(subset=["ret"]).reset_index(drop=True)
    factors = F.assign(rf=rf).rename_axis("date").reset_index()
    return daily, factors


def test_factor_forecast_equals_the_stored_models_construction():
    """compute_rolling_betas + compute_risk_model (what factor_risk_model stores) of week w give the
    betas and variances of the forecast made at w's Sunday for the coins complete over the window."""
    R, F, *_ = planted_market(n_days=200, n_coins=10, seed=5)
    R.iloc[:140, 3] = np.nan  # a late listing: 35 days in the window (a rolling beta, not complete)
    R.iloc[130, 4] = np.nan  # a gap inside the window
    daily, factors = _long_inputs(R, F)
    week = pd.Timestamp("2023-06-19")  # a Monday; the window of its Sunday (day 174) starts on day 85
    betas = compute_rolling_betas(daily, factors, week.date(), (week + pd.Timedelta(days=7)).date(), 90, 30)
    table, _ = compute_risk_model(betas, daily, factors, pd.DatetimeIndex([week]), ddof=1)
    stored = table.set_index("symbol")
    cfg = rv.ValidationConfig(window_days=90, min_window_days=60)
    fc = rv.forecast_covariances(R, F, week + pd.Timedelta(days=6), cfg)
    assert set(fc.symbols) == set(R.columns) - {"C03", "C04"} and {"C03", "C04"} <= set(stored.index)
    syms = list(fc.symbols)
    np.testing.assert_allclose(fc.betas, stored.loc[syms, ["beta_mkt", "beta_size", "beta_mom"]].to_numpy(),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.diag(fc.covariances["factor"]) / 7, stored.loc[syms, "total_var"], rtol=1e-9)
    # and the pure comparison the asset stores
    result = rv.RiskValidation(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {fc.origin: fc})
    cmp_ = rv.compare_with_stored(result, table.assign(week_start=week), cfg)
    assert cmp_["week_start"].tolist() == [week + pd.Timedelta(days=7)]
    assert cmp_["max_abs_beta_diff_stored"].iloc[0] < 1e-9 and cmp_["max_rel_var_diff_stored"].iloc[0] < 1e-9


# ----------------------------------------------------------------------------------- no look-ahead
def test_no_look_ahead():
    """Scrambling week t's and every later day's returns and factors leaves the forecasts for week t
    (and everything of earlier weeks) bit-identical."""
    R, F, caps, *_ = planted_market(n_days=200, n_coins=20, seed=7)
    week = pd.Timestamp("2023-05-15")  # Monday
    origin = week - pd.Timedelta(days=1)
    R2, F2, caps2 = R.copy(), F.copy(), caps.copy()
    rng = np.random.default_rng(1)
    late = R.index >= week
    R2.loc[late] = rng.standard_normal((late.sum(), R.shape[1])) * 0.5
    F2.loc[late] = rng.standard_normal((late.sum(), 3))
    caps2.loc[late] = caps2.loc[late].to_numpy()[:, ::-1]
    a = rv.forecast_covariances(R, F, origin, SHORT)
    b = rv.forecast_covariances(R2, F2, origin, SHORT)
    for m in rv.METHODS:
        np.testing.assert_array_equal(a.covariances[m], b.covariances[m])
    np.testing.assert_array_equal(a.momentum, b.momentum)
    va, vb = rv.validate(R, F, caps, config=SHORT), rv.validate(R2, F2, caps2, config=SHORT)
    before = va.portfolios["week_start"] < week
    assert before.any() and (va.weeks["week_start"] == week).any()
    pd.testing.assert_frame_equal(va.portfolios[before], vb.portfolios[vb.portfolios["week_start"] < week])
    pd.testing.assert_frame_equal(va.weeks[va.weeks["week_start"] < week], vb.weeks[vb.weeks["week_start"] < week])
    # week t itself: same portfolios and predicted risk, only the realised side moved
    cols = ["method", "portfolio", "n_coins", "sigma_pred"]
    at = [v.portfolios[v.portfolios["week_start"] == week][cols].reset_index(drop=True) for v in (va, vb)]
    pd.testing.assert_frame_equal(at[0], at[1])
    wk = [v.weeks[v.weeks["week_start"] == week][["method", "mean_pred_var", "shrinkage"]].reset_index(drop=True)
          for v in (va, vb)]
    pd.testing.assert_frame_equal(wk[0], wk[1])


# ----------------------------------------------------------------------------------- calibration
def test_the_true_covariance_is_calibrated():
    """Scored with the covariance that generated iid normal returns, every statistic sits at its
    calibrated value: bias statistics within 1 +- 3 sqrt(2/T), q_stat ~ 1, QLIKE ~ ln 2 + Euler's gamma."""
    rng = np.random.default_rng(11)
    n, T = 30, 600
    A = rng.standard_normal((n, 3)) * 0.05
    S = A @ A.T + np.diag(rng.uniform(0.02, 0.05, n) ** 2)
    L = np.linalg.cholesky(S)
    syms = tuple(f"C{i:02d}" for i in range(n))
    fc = rv.WeekForecast(pd.Timestamp("2020-01-05"), syms, 60, {m: S for m in rv.METHODS}, A, 0.0,
                         rng.standard_normal(n))
    parts = [rv.evaluate_week(fc, pd.Timestamp("2020-01-06") + pd.Timedelta(weeks=t),
                              pd.Series(L @ rng.standard_normal(n), index=syms),
                              pd.Series(np.arange(n, 0, -1.0), index=syms), SHORT) for t in range(T)]
    res = rv.RiskValidation(*(pd.concat([getattr(p, k) for p in parts], ignore_index=True)
                              for k in ("weeks", "portfolios", "coins")))
    s = rv.summarise(res, SHORT).set_index(["method", "scope", "statistic"])["value"]
    tol = 3 * np.sqrt(2 / T)
    for scope in ("equal_weight", "size_ls", "momentum_ls", "random_long", "random_ls", "min_variance", "coins"):
        assert abs(s[("factor", scope, "bias_stat")] - 1) < tol, scope
    assert abs(s[("factor", "cross_section", "q_stat")] - 1) < 0.02
    assert s[("factor", "coins", "qlike")] == pytest.approx(np.log(2) + np.euler_gamma, abs=0.05)
    assert s[("factor", "random_ls", "exceed_rate")] == pytest.approx(0.05, abs=0.015)
    assert s[("factor", "coins", "in_band_share")] > 0.8


# ----------------------------------------------------------------------------------- factor model wins
def _assert_factor_beats_sample(summary: pd.DataFrame) -> None:
    s = summary.set_index(["method", "scope", "statistic"])["value"]
    # the joint likelihood of the week's cross-section, and its Q-statistic nearer 1
    assert s[("factor", "cross_section", "loglik")] > s[("shrunk", "cross_section", "loglik")]
    assert s[("factor", "cross_section", "loglik")] > s[("sample", "cross_section", "loglik")] + 0.1
    assert abs(s[("factor", "cross_section", "q_stat")] - 1) < abs(s[("sample", "cross_section", "q_stat")] - 1)
    # Engle & Colacito: the factor model's minimum-variance portfolio is less risky, and its risk is
    # forecast far better (the sample covariance's optimised portfolio hides its risk)
    assert s[("factor", "min_variance", "realised_vol")] < s[("sample", "min_variance", "realised_vol")]
    b_f, b_s = s[("factor", "min_variance", "bias_stat")], s[("sample", "min_variance", "bias_stat")]
    assert abs(b_f - 1) < abs(b_s - 1) and b_s > 1.3
    assert s[("factor", "min_variance", "qlike")] < s[("sample", "min_variance", "qlike")]
    # per coin the two are the same forecast (the reproduction identity)
    assert s[("factor", "coins", "qlike")] == pytest.approx(s[("sample", "coins", "qlike")], rel=1e-10)
    assert s[("factor", "cross_section", "best_loglik_share")] > 0.5


def test_factor_model_beats_the_sample_covariance_on_a_planted_factor_panel():
    """50 coins, a 60-day window (N / T = 0.83: the sample covariance is invertible but noisy), iid
    normal three-factor returns, 40 weeks scored."""
    R, F, caps, *_ = planted_market(n_days=60 + 7 * 41, n_coins=50, seed=2)
    res = rv.validate(R, F, caps, config=SHORT)
    assert res.weeks["week_start"].nunique() >= 38
    _assert_factor_beats_sample(rv.summarise(res, SHORT))


def test_factor_model_beats_the_sample_covariance_on_the_simulated_market():
    """The simulator's daily state (60 coins, GARCH factors and residuals, jumps, listings): the factor
    model on its planted market and small-coin factors, a 60-day window, the weeks of 2023."""
    state = simulate_daily(SimConfig())
    days = pd.DatetimeIndex(state.days.astype("datetime64[ns]"))
    R = pd.DataFrame(state.ret, index=days, columns=state.symbols)
    F = pd.DataFrame({"mkt": state.market_factor, "smb": state.smb_factor}, index=days)
    caps = pd.DataFrame(np.exp(state.log_close) * state.supply[None, :], index=days, columns=state.symbols)
    weeks = pd.date_range("2023-01-02", "2023-12-25", freq="W-MON")
    res = rv.validate(R, F, caps, weeks, SHORT)
    assert res.weeks["week_start"].nunique() == len(weeks) and res.weeks["n_coins"].min() >= 40
    _assert_factor_beats_sample(rv.summarise(res, SHORT))


# ----------------------------------------------------------------------------------- the asset
def _warehouse(path: str, R: pd.DataFrame, F: pd.DataFrame, caps: pd.DataFrame, window: int = 60) -> None:
    """daily_panel, factor_returns_daily and factor_risk_model rows of the planted market."""
    daily, factors = _long_inputs(R, F)
    daily = daily.merge(caps.rename_axis("date").reset_index().melt(id_vars="date", var_name="symbol",
                                                                   value_name="market_cap"), on=["date", "symbol"])
    daily = daily.assign(close=1.0, close_source="klines", n_bars=288, in_universe=True)
    factors = factors.assign(formation_date=factors["date"] - pd.Timedelta(days=1), n_coins=10, n_small=3, n_big=3,
                             n_mom_long=3, n_mom_short=3, construction="single_sort", breakpoint_universe="all",
                             investable_top_n=0, momentum_lookback=21, rf_source="constant")
    weeks = pd.date_range(R.index[0] + pd.Timedelta(days=window), R.index[-1] - pd.Timedelta(days=6), freq="W-MON")
    betas = compute_rolling_betas(daily, factors, weeks[0].date(), (weeks[-1] + pd.Timedelta(days=7)).date(),
                                  window, 40)
    model, _ = compute_risk_model(betas, daily, factors, weeks, ddof=1)
    con = duckdb.connect(path)
    try:
        for table, frame in (("daily_panel", daily), ("factor_returns_daily", factors), ("factor_risk_model", model)):
            ensure_table(con, table)
            con.register("incoming", frame)
            con.execute(f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM incoming")
            con.unregister("incoming")
    finally:
        con.close()


def _materialise(path: str, config: dict | None = None):
    result = dg.materialize([risk_model_validation], resources={"duckdb": DuckDBResource(database=path)},
                            run_config={"ops": {pt.RISK_MODEL_VALIDATION: {"config": config or {}}}},
                            raise_on_error=False)
    assert result.success
    checks = {e.event_specific_data.check_name: e.event_specific_data.passed for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    meta = result.asset_materializations_for_node(pt.RISK_MODEL_VALIDATION)[0].metadata
    return checks, meta


def _query(path: str, sql: str) -> pd.DataFrame:
    con = duckdb.connect(path, read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


ASSET_CONFIG = {"window_days": 60, "min_window_days": 50, "n_random": 5}


def test_asset_stores_the_pure_validation_and_checks_the_stored_model(tmp_path):
    R, F, caps, *_ = planted_market(n_days=60 + 7 * 12, n_coins=15, seed=4)
    path = str(tmp_path / "w.duckdb")
    _warehouse(path, R, F, caps)
    checks, meta = _materialise(path, ASSET_CONFIG)
    assert checks and all(checks.values()), checks
    assert {pc.RISK_VALIDATION_STORED, pc.RISK_VALIDATION_ORIGINS} <= set(checks)
    weeks = _query(path, "SELECT * FROM risk_model_validation ORDER BY week_start, method")
    ports = _query(path, "SELECT * FROM risk_model_validation_portfolios")
    summary = _query(path, "SELECT * FROM risk_model_validation_summary")
    assert weeks["week_start"].nunique() >= 10 and set(weeks["method"]) == set(rv.METHODS)
    factor = weeks[weeks["method"] == "factor"].dropna(subset=["max_abs_beta_diff_stored"])
    assert len(factor) >= weeks["week_start"].nunique() - 2  # the stored model starts with a full window
    assert (factor["max_abs_beta_diff_stored"] < 1e-9).all() and (factor["max_rel_var_diff_stored"] < 1e-9).all()
    assert (pd.to_datetime(weeks["origin_date"]) == pd.to_datetime(weeks["week_start"]) - pd.Timedelta(days=1)).all()
    # the stored tables are the pure function's on the same data
    cfg = rv.ValidationConfig(window_days=60, min_window_days=50, n_random=5)
    pure = rv.validate(R, F, caps, config=cfg)
    got = ports.sort_values(["week_start", "method", "portfolio"]).reset_index(drop=True)
    want = pure.portfolios.sort_values(["week_start", "method", "portfolio"]).reset_index(drop=True)
    assert len(got) == len(want)
    np.testing.assert_allclose(got["sigma_pred"], want["sigma_pred"], rtol=1e-12)
    np.testing.assert_allclose(got["z"], want["z"], rtol=1e-9, atol=1e-12)  # excess = (ret + rf) - rf
    s = summary.set_index(["method", "scope", "statistic"])["value"]
    ps = rv.summarise(pure, cfg).set_index(["method", "scope", "statistic"])["value"]
    np.testing.assert_allclose(s.loc[ps.index], ps, rtol=1e-8)
    assert "summary" in meta and "rolling_bias_min_variance" not in meta  # 12 weeks < the 26-week window
    assert "b_min_variance" in meta["summary"].value


def test_asset_check_fails_when_the_stored_model_differs(tmp_path):
    R, F, caps, *_ = planted_market(n_days=60 + 7 * 6, n_coins=10, seed=8)
    path = str(tmp_path / "w.duckdb")
    _warehouse(path, R, F, caps)
    con = duckdb.connect(path)
    con.execute("UPDATE factor_risk_model SET beta_mkt = beta_mkt + 1e-6 WHERE symbol = 'C00'")
    con.close()
    checks, _ = _materialise(path, ASSET_CONFIG)
    assert checks[pc.RISK_VALIDATION_STORED] is False
    assert checks[pc.RISK_VALIDATION_ORIGINS] and checks["risk_model_validation_unique_key"]


def test_asset_on_an_empty_warehouse(tmp_path):
    path = str(tmp_path / "empty.duckdb")
    checks, meta = _materialise(path)
    assert all(checks.values())
    assert "needs daily_panel returns" in meta["note"].value
    for table in pt.RISK_VALIDATION_TABLES:
        assert _query(path, f"SELECT count(*) AS n FROM {quote_ident(table)}")["n"].iloc[0] == 0


# ----------------------------------------------------------------------------- the chapter's factors
def test_the_forecast_uses_the_rolling_betas_factors_week_by_week():
    """VOL, FUND, CHAIN enter the factor forecast exactly when they enter the rolling betas: FUND never
    (no funding data), CHAIN from the week whose regressions first read a value of it; the forecast's
    betas and variances are then the stored model's, on either side of that week."""
    R, F, caps, *_ = planted_market(n_days=260, n_coins=10, seed=7)
    rng = np.random.default_rng(8)
    F = F.assign(vol=rng.normal(0, 0.01, len(F)), fund=np.nan, chain=rng.normal(0, 0.01, len(F)))
    F.loc[F.index < "2023-06-05", "chain"] = np.nan  # an on-chain file that starts later
    R = R + 0.7 * F[["chain"]].fillna(0.0).to_numpy()
    daily, factors = _long_inputs(R, F)
    cfg = rv.ValidationConfig(window_days=60, min_window_days=40)
    for week, names in ((pd.Timestamp("2023-05-29"), ("mkt", "size", "mom", "vol")),
                        (pd.Timestamp("2023-08-14"), ("mkt", "size", "mom", "vol", "chain"))):
        betas = compute_rolling_betas(daily, factors, week.date(), (week + pd.Timedelta(days=7)).date(), 60, 40)
        assert set(betas["factors"]) == {",".join(names)}
        table, weeks = compute_risk_model(betas, daily, factors, pd.DatetimeIndex([week]), ddof=1)
        assert weeks["factors"].tolist() == [",".join(names)] and weeks["reproduction_ok"].all()
        fc = rv.forecast_covariances(R, F, week + pd.Timedelta(days=6), cfg)
        assert fc.factors == names
        stored = table.set_index("symbol")
        syms = [s for s in fc.symbols if s in stored.index]
        np.testing.assert_allclose(fc.betas, stored.loc[syms, [f"beta_{f}" for f in names]].to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(np.diag(fc.covariances["factor"]) / 7, stored.loc[syms, "total_var"], rtol=1e-9)
        result = rv.RiskValidation(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {fc.origin: fc})
        cmp_ = rv.compare_with_stored(result, table.assign(week_start=week), cfg)
        assert cmp_["max_abs_beta_diff_stored"].iloc[0] < 1e-9
    # the config's list narrows the candidates (MKT, SIZE, MOM always)
    res, weeks, _, _ = rv.compute_risk_validation(
        daily.assign(excess_ret=daily["ret"] - 1e-4, market_cap=1.0), factors,
        None, rv.ValidationConfig(window_days=60, min_window_days=40, n_random=2,
                                  factors=("mkt", "size", "mom", "chain")))
    assert set(weeks["factors"].dropna()) == {"mkt,size,mom", "mkt,size,mom,chain"}
    with pytest.raises(ValueError, match="include"):
        rv.compute_risk_validation(daily.assign(excess_ret=daily["ret"], market_cap=1.0), factors, None,
                                   rv.ValidationConfig(factors=("mkt", "chain")))
