"""Tier 2: the prediction / factor-model validation assets on the 12-coin simulated market (6 months).

Stored tables are compared with independent recomputations from the stored inputs (pandas group-bys for
the features, the pure walk-forward / PCA / diagnostics functions, statsmodels OLS, sample covariances),
the feature matrix is checked point-in-time by perturbing everything after a cut-off and re-running
(to 1e-12: DuckDB's parallel float sums are not bitwise reproducible between runs),
and the target of week w-1 is filled by the run of partition w.
"""

from __future__ import annotations

import datetime as dt
import shutil

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.factors import tables as ft
from cryptofactor_assets.factors.definitions import defs as factors_defs
from cryptofactor_assets.lib.resources import RISK_FREE
from cryptofactor_assets.panels.assets import daily_panel, weekly_panel
from cryptofactor_assets.prediction import diagnostics as dgn
from cryptofactor_assets.prediction import tables as pt
from cryptofactor_assets.prediction.definitions import defs as prediction_defs
from cryptofactor_assets.prediction.features import ALL_FEATURES, RSJ_FEATURES
from cryptofactor_assets.prediction.monte_carlo import monte_carlo_study
from cryptofactor_assets.prediction.pca import pca_factors
from cryptofactor_assets.prediction.walk_forward import WalkForwardConfig, walk_forward
from cryptofactor_assets.rsj.definitions import defs as rsj_defs
from cryptofactor_assets.sources.definitions import defs as sources_defs
from cryptofactor_assets.sources.resources import MarketSourceResource, RiskFreeResource
from cryptofactor_assets_tests.conftest import SMALL_COINS, query, query_dates, sorted_rows

DAY0, DAY1 = "2023-10-02", "2024-03-31"
WEEK0, WEEK1 = "2023-10-02", "2024-03-25"
SORT = "single_sort"  # 12 coins leave double-sort cells empty
# daily rows in weekly partitions: built in the weekly run over WEEK0..WEEK1 (= DAY0..DAY1)


def _assets(defs, *keys) -> list[dg.AssetsDefinition]:
    """The assets of a domain's ``Definitions`` by key, in the order given."""
    by_key = {a.key.to_user_string(): a for a in defs().assets}
    return [by_key[k] for k in keys]


raw_klines_5m, raw_coin_markets = _assets(sources_defs, "raw_klines_5m", "raw_coin_markets")
UPSTREAM_DAILY = _assets(factors_defs, ft.FACTOR_RETURNS_DAILY, ft.ROLLING_BETAS)
UPSTREAM_WEEKLY = _assets(factors_defs, ft.WEEKLY_CHARACTERISTICS, ft.FACTOR_RETURNS_WEEKLY,
                          ft.CHARACTERISTIC_PORTFOLIOS)
UPSTREAM_SUMMARY = _assets(factors_defs, ft.LONG_SHORT_ALPHAS, ft.REGIME_SIGNALS)
feature_matrix, factor_risk_model = _assets(prediction_defs, pt.FEATURE_MATRIX, pt.FACTOR_RISK_MODEL)
WEEKLY = [feature_matrix, factor_risk_model]
SUMMARY = _assets(prediction_defs, pt.PREDICTION_WALK_FORWARD, pt.PCA_FACTORS, pt.FACTOR_MODEL_DIAGNOSTICS,
                  pt.METRICS_DASHBOARD)
WF = {"min_train_periods": 8, "window_periods": 8, "embargo": 1, "test_periods": 2, "n_inner_splits": 2,
      "n_alphas": 8, "logit_lambdas": [1e-2, 1e-1]}
DIAG = {"construction": SORT, "min_obs": 10, "resid_min_obs": 12, "rolling_window": 8, "rolling_horizon": 4,
        "regime_lookback": 4, "mc_reps": 20, "mc_lengths": [26, 52], "mc_noises": [0.1]}
OPS = {
    ft.FACTOR_RETURNS_DAILY: {"construction": SORT},
    ft.ROLLING_BETAS: {"window": 30, "min_obs": 20},
    ft.LONG_SHORT_ALPHAS: {"construction": SORT},
    ft.REGIME_SIGNALS: {"horizon_days": 30, "recent_days": 30},
    pt.PREDICTION_WALK_FORWARD: WF,
    pt.PCA_FACTORS: {"construction": SORT, "min_obs": 10},
    pt.FACTOR_MODEL_DIAGNOSTICS: DIAG,
    pt.METRICS_DASHBOARD: {"construction": SORT},
}


def _resources(path: str) -> dict:
    return {"duckdb": DuckDBResource(database=path),
            "market_source": MarketSourceResource(kind="simulated", sim_coins=SMALL_COINS),
            RISK_FREE: RiskFreeResource()}


def _run(assets, path, first=None, last=None) -> dg.ExecuteInProcessResult:
    tags = {} if first is None else {"dagster/asset_partition_range_start": first,
                                     "dagster/asset_partition_range_end": last}
    keys = {a.key.to_user_string() for a in assets}
    config = {"ops": {k: {"config": v} for k, v in OPS.items() if k in keys}}
    result = dg.materialize(assets, resources=_resources(path), tags=tags, run_config=config, raise_on_error=False)
    assert result.success
    failed = [e.event_specific_data.check_name for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
              and e.event_specific_data.severity == dg.AssetCheckSeverity.ERROR]
    assert not failed, failed
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("prediction") / "p.duckdb")
    _run([raw_klines_5m, raw_coin_markets, daily_panel], path, DAY0, DAY1)
    _run([weekly_panel, *UPSTREAM_DAILY, *UPSTREAM_WEEKLY], path, WEEK0, WEEK1)
    _run(UPSTREAM_SUMMARY, path)
    _run(WEEKLY, path, WEEK0, WEEK1)
    _run(SUMMARY, path)
    return path


# --------------------------------------------------------------------------------------------- tables
TABLES = {
    "feature_matrix": ["symbol", "week_start"], "prediction_walk_forward": ["scheme", "model"],
    "model_comparison": ["scheme", "model"], "prediction_folds": ["scheme", "model", "fold"],
    "prediction_coefficients": ["scheme", "model", "fold", "feature"],
    "prediction_coef_stability": ["scheme", "model", "feature"],
    "prediction_forecasts": ["scheme", "model", "symbol", "week_start"],
    "prediction_calibration": ["scheme", "model", "kind", "bin"],
    "prediction_lasso_path": ["scheme", "alpha", "feature"], "prediction_selected_features": ["scheme", "feature"],
    "factor_risk_model": ["week_start", "symbol"], "factor_risk_model_weeks": ["week_start"],
    "pca_factors": ["week_start", "component"], "pca_explained": ["component"], "pca_loadings": ["symbol", "component"],
    "factor_model_diagnostics": ["section", "metric"], "factor_model_ts_fit": ["symbol"],
    "factor_model_cs_r2": ["week_start"], "factor_model_loadings": ["symbol", "factor"],
    "factor_model_residual_tests": ["symbol"], "factor_model_rolling_validation": ["train_start"],
    "factor_model_regimes": ["regime"], "factor_model_prediction_regimes": ["model", "regime"],
    "factor_model_monte_carlo": ["n_periods", "noise", "parameter"], "metrics_dashboard": ["section", "metric"],
}


def test_every_table_has_rows_and_unique_keys(built):
    for table, key in TABLES.items():
        cols = ", ".join(key)
        n, distinct = query(built, f"SELECT count(*), count(DISTINCT ({cols})) FROM {table}").iloc[0]
        assert n > 0 and n == distinct, table
    comp = query(built, "SELECT * FROM model_comparison")
    assert set(comp.scheme) == {"expanding", "rolling"}
    assert set(comp.model) == {"ols", "ridge", "lasso", "elastic_net", "logit_l1", "logit_l2"}
    # no rsj_daily in this graph: RSJ features NULL and said so
    fm = query(built, "SELECT DISTINCT rsj_source FROM feature_matrix")
    assert fm.rsj_source.tolist() == ["absent"]
    assert query(built, f"SELECT count({RSJ_FEATURES[0]}) FROM feature_matrix").iloc[0, 0] == 0


# ----------------------------------------------------------------------------------- feature matrix
def _oracle_features(daily: pd.DataFrame, weekly: pd.DataFrame, betas: pd.DataFrame) -> pd.DataFrame:
    """The daily/weekly features recomputed with plain pandas loops over weeks (independent of the SQL)."""
    daily = daily.assign(week_start=daily["date"] - pd.to_timedelta(daily["date"].dt.weekday, unit="D"))
    rows = []
    adv = weekly.set_index(["symbol", "week_start"])["avg_dollar_volume"]
    for (sym, w), g in daily.groupby(["symbol", "week_start"]):
        r = g["ret"].dropna()
        r4 = daily.loc[(daily.symbol == sym) & (daily.date >= w - pd.Timedelta(days=21))
                       & (daily.date < w + pd.Timedelta(days=7)), "ret"].dropna()
        ok = g["ret"].notna() & (g["dollar_volume"] > 0)
        amihud = (g.loc[ok, "ret"].abs() / g.loc[ok, "dollar_volume"]).mean()
        prev = [adv.get((sym, w - pd.Timedelta(weeks=k))) for k in range(1, 5)]
        prev = [v for v in prev if v is not None and np.isfinite(v) and v > 0]
        cur = adv.get((sym, w))
        rows.append({
            "symbol": sym, "week_start": w,
            "rvol_1w": r.std(ddof=1) if len(r) >= 5 else np.nan,
            "rvol_4w": r4.std(ddof=1) if len(r4) >= 20 else np.nan,
            "max_ret_1w": r.max() if len(r) else np.nan, "min_ret_1w": r.min() if len(r) else np.nan,
            "illiq": np.log(1e6 * amihud) if amihud > 0 else np.nan,
            "dvol_growth": np.log(cur) - np.log(np.mean(prev)) if prev and cur and cur > 0 else np.nan,
        })
    out = pd.DataFrame(rows)
    w = weekly.assign(turnover=np.log(weekly["avg_dollar_volume"] / weekly["market_cap"]))
    out = out.merge(w[["symbol", "week_start", "turnover"]], on=["symbol", "week_start"], how="left")
    nxt = weekly[["symbol", "week_start", "ret"]].assign(week_start=weekly["week_start"] - pd.Timedelta(weeks=1))
    out = out.merge(nxt.rename(columns={"ret": "ret_next"}), on=["symbol", "week_start"], how="left")
    b = betas.assign(week_start=betas["date"] - pd.Timedelta(days=6))[
        ["symbol", "week_start", "beta_mkt", "beta_size", "beta_mom", "alpha", "r2", "resid_vol"]]
    return out.merge(b.rename(columns={"alpha": "beta_alpha", "r2": "beta_r2", "resid_vol": "idio_vol"}),
                     on=["symbol", "week_start"], how="left")


def test_feature_matrix_equals_independent_recomputation(built):
    stored = query_dates(built, "SELECT * FROM feature_matrix", ["week_start", "target_week"])
    daily = query_dates(built, "SELECT * FROM daily_panel", ["date"])
    weekly = query_dates(built, "SELECT * FROM weekly_panel", ["week_start"])
    betas = query_dates(built, "SELECT * FROM rolling_betas", ["date"])
    chars = query_dates(built, "SELECT * FROM weekly_characteristics", ["week_start"])
    exp = stored[["symbol", "week_start"]].merge(_oracle_features(daily, weekly, betas), on=["symbol", "week_start"],
                                                 how="left")
    exp = exp.merge(chars, on=["symbol", "week_start"], how="left", suffixes=("", "_c"))
    got = sorted_rows(stored, ["symbol", "week_start"])
    exp = sorted_rows(exp, ["symbol", "week_start"])
    exp["log_maxdprc"] = np.log(exp["maxdprc"])
    cols = ["rvol_1w", "rvol_4w", "max_ret_1w", "min_ret_1w", "illiq", "turnover", "dvol_growth", "beta_mkt",
            "beta_size", "beta_mom", "beta_alpha", "beta_r2", "idio_vol", "mcap", "r3_0", "age", "log_maxdprc",
            "ret_next"]
    for c in cols:
        np.testing.assert_allclose(got[c].to_numpy(dtype=float), exp[c].to_numpy(dtype=float), rtol=1e-9,
                                   atol=1e-13, err_msg=c)
    assert got["in_universe"].tolist() == exp["in_universe"].astype(bool).tolist()
    np.testing.assert_allclose(got["y_next"], got["ret_next"] - got["rf_next"], rtol=0, atol=1e-15)
    has = got["y_next"].notna()
    assert (got.loc[has, "y_up"] == (got.loc[has, "y_next"] > 0)).all() and got.loc[~has, "y_up"].isna().all()
    assert (got["target_week"] == got["week_start"] + pd.Timedelta(weeks=1)).all()
    # all but the last stored week have their target (the whole range is one backfill)
    last = got["week_start"].max()
    assert got.loc[got.week_start < last, "ret_next"].notna().mean() > 0.95
    # most features are defined once the betas exist
    late = got[got.week_start >= pd.Timestamp("2023-12-04")]
    assert (late[["beta_mkt", "rvol_4w", "dvol_growth", "illiq"]].notna().mean() > 0.9).all()


def _perturb_after(path: str, cutoff: dt.date) -> None:
    """Scale every input dated after ``cutoff`` (returns, volumes, betas, characteristics)."""
    con = duckdb.connect(path)
    try:
        con.execute("UPDATE daily_panel SET ret = ret * 1.7 + 0.01, dollar_volume = dollar_volume * 3, "
                    "volume = volume * 3 WHERE date > ?", [cutoff])
        con.execute("UPDATE weekly_panel SET ret = ret * 1.7, avg_dollar_volume = avg_dollar_volume * 3, "
                    "market_cap = market_cap * 0.5 WHERE week_start > ?", [cutoff])
        con.execute("UPDATE rolling_betas SET beta_mkt = beta_mkt + 1, resid_vol = resid_vol * 2 WHERE date > ?",
                    [cutoff])
        con.execute("UPDATE weekly_characteristics SET mcap = mcap + 1, r1_0 = r1_0 * 2 WHERE week_start > ?",
                    [cutoff])
    finally:
        con.close()


def test_feature_matrix_is_point_in_time(built, tmp_path):
    path = str(tmp_path / "perturbed.duckdb")
    shutil.copy(built, path)
    week_t = pd.Timestamp("2024-01-15")
    cutoff = (week_t + pd.Timedelta(days=6)).date()  # the Sunday closing week t
    _perturb_after(path, cutoff)
    _run([feature_matrix], path, WEEK0, WEEK1)
    before = sorted_rows(query_dates(built, "SELECT * FROM feature_matrix", ["week_start"]), ["symbol", "week_start"])
    after = sorted_rows(query_dates(path, "SELECT * FROM feature_matrix", ["week_start"]), ["symbol", "week_start"])
    feats = [c for c in ALL_FEATURES if c not in RSJ_FEATURES]
    past = before.week_start <= week_t
    pd.testing.assert_frame_equal(before.loc[past, ["symbol", "week_start", *feats]],
                                  after.loc[past, ["symbol", "week_start", *feats]], check_exact=False, rtol=1e-12, atol=1e-15)
    # targets of weeks before t only use returns up to t
    early = before.week_start < week_t
    pd.testing.assert_series_equal(before.loc[early, "y_next"], after.loc[early, "y_next"], check_exact=False, rtol=1e-12, atol=1e-15)
    # and the perturbation did reach the later rows (the test can fail)
    later = before.week_start > week_t
    assert not np.allclose(before.loc[later, "rvol_1w"], after.loc[later, "rvol_1w"], equal_nan=True)
    assert not before.loc[before.week_start == week_t, "y_next"].equals(after.loc[after.week_start == week_t,
                                                                                   "y_next"])


def test_partition_w_fills_the_target_of_week_w_minus_1(built, tmp_path):
    path = str(tmp_path / "live.duckdb")
    shutil.copy(built, path)
    w_last, w_new = "2024-02-05", "2024-02-12"
    con = duckdb.connect(path)
    con.execute("CREATE TABLE held AS SELECT * FROM weekly_panel WHERE week_start >= ?", [w_new])
    con.execute("DELETE FROM weekly_panel WHERE week_start >= ?", [w_new])
    con.execute("DELETE FROM feature_matrix")
    con.close()
    _run([feature_matrix], path, WEEK0, w_last)  # "live": week w_new not closed yet
    fm = query_dates(path, "SELECT * FROM feature_matrix WHERE week_start = ?", ["week_start"], [w_last])
    assert len(fm) > 0 and fm["y_next"].isna().all() and fm["y_up"].isna().all()
    con = duckdb.connect(path)
    con.execute("INSERT INTO weekly_panel SELECT * FROM held WHERE week_start = ?", [w_new])
    con.close()
    _run([feature_matrix], path, w_new, w_new)  # the next weekly run
    got = sorted_rows(query_dates(path, "SELECT * FROM feature_matrix WHERE week_start <= ?", ["week_start"], [w_new]),
                  ["symbol", "week_start"])
    full = sorted_rows(query_dates(built, "SELECT * FROM feature_matrix WHERE week_start <= ?", ["week_start"], [w_new]),
                   ["symbol", "week_start"])
    prev = got.week_start == pd.Timestamp(w_last)
    assert got.loc[prev, "y_next"].notna().any()
    pd.testing.assert_frame_equal(got.loc[got.week_start <= pd.Timestamp(w_last)],
                                  full.loc[full.week_start <= pd.Timestamp(w_last)], check_exact=False, rtol=1e-12, atol=1e-15)
    # the new week itself waits for the week after it
    assert got.loc[got.week_start == pd.Timestamp(w_new), "y_next"].isna().all()


# ---------------------------------------------------------------------------------- walk-forward
def test_walk_forward_tables_equal_the_pure_walk_forward(built):
    fm = query_dates(built, "SELECT * FROM feature_matrix", ["week_start"])
    summary = query(built, "SELECT * FROM prediction_walk_forward")
    feats = summary["features"].iloc[0].split(",")
    # no funding or on-chain data in this build: FUND and CHAIN are NULL, so are their betas, which the
    # walk-forward's coverage rule drops (VOL, from returns, is there)
    assert fm[["beta_fund", "beta_chain"]].isna().all().all() and fm["beta_vol"].notna().any()
    assert set(feats) == {c for c in ALL_FEATURES if c not in RSJ_FEATURES and c not in ("beta_fund", "beta_chain")}
    rows = fm[fm["in_universe"]]
    comp = query(built, "SELECT * FROM model_comparison")
    folds = query_dates(built, "SELECT * FROM prediction_folds", ["train_start", "train_end", "test_start", "test_end"])
    fc = query_dates(built, "SELECT * FROM prediction_forecasts", ["week_start"])
    for scheme in ("expanding", "rolling"):
        cfg = WalkForwardConfig(scheme=scheme, min_train_periods=8, window_periods=8, embargo=1, test_periods=2,
                                n_inner_splits=2, n_alphas=8, logit_lambdas=(1e-2, 1e-1))
        res = walk_forward(rows, feats, cfg)
        exp = res.model_comparison().set_index("model")
        got = comp[comp.scheme == scheme].set_index("model").loc[exp.index]
        for a, b in [("is_r2", "is_r2"), ("oos_r2_zero", "oos_r2_zero"), ("oos_r2_mean", "oos_r2_mean"),
                     ("direction_accuracy", "direction_accuracy"), ("brier", "brier"), ("sparsity", "sparsity"),
                     ("stability", "sign_consistency"), ("ic_mean", "ic_mean"),
                     ("brier_calibrated", "brier_calibrated"), ("log_loss", "log_loss"),
                     ("log_loss_calibrated", "log_loss_calibrated")]:
            np.testing.assert_allclose(got[a].to_numpy(dtype=float), exp[b].to_numpy(dtype=float), rtol=1e-9,
                                       atol=1e-12, err_msg=f"{scheme} {a}")
        ridge = res.runs["ridge"].predictions.sort_values(["week_start", "symbol"])
        stored = fc[(fc.scheme == scheme) & (fc.model == "ridge")].sort_values(["week_start", "symbol"])
        np.testing.assert_allclose(stored["forecast"], ridge["forecast"], rtol=1e-10)
        np.testing.assert_allclose(stored["forecast_se"], ridge["forecast_se"], rtol=1e-10)
        assert stored["p_up_calibrated"].isna().all()
        logit = res.runs["logit_l2"].predictions.sort_values(["week_start", "symbol"])
        stored = fc[(fc.scheme == scheme) & (fc.model == "logit_l2")].sort_values(["week_start", "symbol"])
        np.testing.assert_allclose(stored["forecast"], logit["p_up"], rtol=1e-12)
        np.testing.assert_allclose(stored["p_up_calibrated"], logit["p_up_calibrated"], rtol=1e-12)
        assert stored["forecast_se"].isna().all()
        cal = query(built, "SELECT * FROM prediction_calibration WHERE scheme = ? ORDER BY model, kind, bin", [scheme])
        exp_cal = res.calibration_table().sort_values(["model", "kind", "bin"])
        assert set(cal["model"]) == {"logit_l1", "logit_l2"}
        np.testing.assert_array_equal(cal["n"], exp_cal["n"])
        np.testing.assert_allclose(cal[["mean_predicted", "realised_freq", "bin_lower"]],
                                   exp_cal[["mean_predicted", "realised_freq", "bin_lower"]], rtol=1e-12)
        assert (cal.groupby(["model", "kind"])["n"].sum() == exp.loc["logit_l2", "n_test"]).all()
        f = folds[(folds.scheme == scheme) & (folds.model == "ridge")].sort_values("fold")
        assert (f["train_end"] + pd.Timedelta(weeks=2) <= f["test_start"]).all()  # embargo of one week
        assert len(f) == len(res.folds) >= 3
    path = query(built, "SELECT * FROM prediction_lasso_path WHERE scheme = 'expanding'")
    assert path["alpha"].nunique() == 8 and set(path["feature"]) == set(feats)


# ------------------------------------------------------------------------------------- risk model
def test_factor_risk_model_reproduces_sample_variances(built):
    stored = query_dates(built, "SELECT * FROM factor_risk_model", ["week_start", "asof_date"])
    weeks = query_dates(built, "SELECT * FROM factor_risk_model_weeks", ["week_start"])
    assert weeks["reproduction_ok"].all() and len(weeks) >= 15
    asof = stored["asof_date"].max()
    s = stored[stored.asof_date == asof].set_index("symbol")
    window = int(s["window_days"].iloc[0])
    daily = query_dates(built, "SELECT symbol, date, ret FROM daily_panel WHERE date > ? AND date <= ?", ["date"],
               [asof - pd.Timedelta(days=window), asof])
    fac = query_dates(built, "SELECT * FROM factor_returns_daily WHERE date > ? AND date <= ?", ["date"],
             [asof - pd.Timedelta(days=window), asof]).set_index("date").sort_index()
    betas = query_dates(built, "SELECT * FROM rolling_betas WHERE date = ?", ["date"], [asof]).set_index("symbol")
    # the model's factors are the rolling betas': MKT, SIZE, MOM, VOL (no funding or on-chain data here)
    names = s["factors"].iloc[0].split(",")
    assert names == ["mkt", "size", "mom", "vol"] and (betas["factors"] == "mkt,size,mom,vol").all()
    assert s[["beta_fund", "beta_chain"]].isna().all().all()
    k = len(names)
    omega = np.cov(fac[names].to_numpy(), rowvar=False, ddof=1)
    B = betas.loc[s.index, [f"beta_{f}" for f in names]].to_numpy()
    n = betas.loc[s.index, "n_obs"].to_numpy()
    d = betas.loc[s.index, "resid_vol"].to_numpy() ** 2 * (n - 1 - k) / (n - 1)
    np.testing.assert_allclose(s["systematic_var"], np.einsum("ik,kl,il->i", B, omega, B), rtol=1e-10)
    np.testing.assert_allclose(s["total_var"], np.einsum("ik,kl,il->i", B, omega, B) + d, rtol=1e-10)
    # a coin with every day of the window: the model variance IS its sample variance (statsmodels OLS)
    wide = daily.pivot(index="date", columns="symbol", values="ret").reindex(fac.index)
    ex = wide.sub(fac["rf"], axis=0)
    complete = [c for c in s.index if ex[c].notna().all()]
    assert complete and s.loc[complete, "complete"].all()
    np.testing.assert_allclose(s.loc[complete, "total_var"], ex[complete].var(ddof=1), rtol=1e-9)
    c = complete[0]
    ols = sm.OLS(ex[c].to_numpy(), sm.add_constant(fac[names].to_numpy())).fit()
    np.testing.assert_allclose(s.loc[c, [f"beta_{f}" for f in names]].to_numpy(dtype=float),
                               ols.params[1:], rtol=1e-8)
    np.testing.assert_allclose(s.loc[c, "resid_var"], ols.ssr / (len(ex) - 1), rtol=1e-9)
    N = len(s)
    assert (s["n_params_factor"] == N * k + k * (k + 1) // 2 + N).all()
    assert (s["n_params_full"] == N * (N + 1) // 2).all()


# ------------------------------------------------------------------------------------ PCA
def test_pca_tables_equal_pure_pca(built):
    weekly = query_dates(built, "SELECT symbol, week_start, ret FROM weekly_panel WHERE ret IS NOT NULL", ["week_start"])
    wide = weekly.pivot(index="week_start", columns="symbol", values="ret")
    res = pca_factors(wide, 3, method="em", min_obs=10)  # rf = 0 by default
    expl = query(built, "SELECT * FROM pca_explained ORDER BY component")
    np.testing.assert_allclose(expl["explained_ratio"], res.explained_ratio, rtol=1e-7)
    fac = query_dates(built, "SELECT week_start, cmkt, csmb, cmom FROM factor_returns_weekly WHERE construction = ?",
             ["week_start"], [SORT]).set_index("week_start")
    stored = query_dates(built, "SELECT * FROM pca_factors", ["week_start"]).pivot(index="week_start", columns="component",
                                                                       values="value")
    joined = stored.join(fac, how="inner").dropna()
    np.testing.assert_allclose(expl["corr_cmkt"], [np.corrcoef(joined[p], joined["cmkt"])[0, 1]
                                                   for p in ("pc1", "pc2", "pc3")], rtol=1e-7)
    assert abs(expl["corr_cmkt"].iloc[0]) > 0.5  # the first component is the market


# ---------------------------------------------------------------------------------- diagnostics
def test_diagnostics_equal_statsmodels_and_pure_functions(built):
    weekly = query_dates(built, "SELECT symbol, week_start, ret FROM weekly_panel WHERE ret IS NOT NULL", ["week_start"])
    wide = weekly.pivot(index="week_start", columns="symbol", values="ret")
    fac = query_dates(built, "SELECT week_start, cmkt, csmb, cmom FROM factor_returns_weekly WHERE construction = ?",
             ["week_start"], [SORT]).set_index("week_start").dropna()
    ts = query(built, "SELECT * FROM factor_model_ts_fit").set_index("symbol")
    sym = ts["n_obs"].idxmax()
    y = wide[sym].reindex(fac.index).dropna()
    ols = sm.OLS(y.to_numpy(), sm.add_constant(fac.loc[y.index].to_numpy())).fit()
    np.testing.assert_allclose(ts.loc[sym, ["alpha", "beta_cmkt", "beta_csmb", "beta_cmom"]].to_numpy(dtype=float),
                               ols.params, rtol=1e-8)
    # t's with the default Newey-West errors (a missed week is a zero score: statsmodels on zero rows)
    assert ts.loc[sym, "se_type"] == "hac"
    use = wide[sym].reindex(fac.index).notna().to_numpy()
    z = sm.add_constant(fac.to_numpy()) * use[:, None]
    hac = sm.OLS(np.where(use, wide[sym].reindex(fac.index), 0.0), z).fit(
        cov_type="HAC", cov_kwds={"maxlags": int(ts.loc[sym, "nw_lags"]), "use_correction": False})
    np.testing.assert_allclose(ts.loc[sym, ["t_alpha", "t_beta_cmkt"]].to_numpy(dtype=float), hac.tvalues[:2],
                               rtol=1e-8)
    np.testing.assert_allclose(ts.loc[sym, "r2"], ols.rsquared, rtol=1e-10)
    np.testing.assert_allclose(ts.loc[sym, "alpha_annualised"], 52 * ols.params[0], rtol=1e-10)
    fit = dgn.time_series_fit(wide.reindex(fac.index), fac, 10)
    tests = dgn.residual_tests(fit.residuals, fac, 4, 12).set_index("symbol").sort_index()
    got = query(built, "SELECT * FROM factor_model_residual_tests").set_index("symbol").sort_index()
    np.testing.assert_allclose(got[tests.columns.drop("n_obs")], tests.drop(columns="n_obs"), rtol=1e-9)
    mc = query(built, "SELECT * FROM factor_model_monte_carlo ORDER BY n_periods, noise, parameter")
    exp = monte_carlo_study(lengths=[26, 52], noises=[0.1], reps=20).sort_values(["n_periods", "noise", "parameter"])
    np.testing.assert_allclose(mc["rmse"], exp["rmse"], rtol=1e-12)
    reg = query(built, "SELECT * FROM factor_model_regimes")
    assert set(reg.regime) == {"bull", "bear", "high_vol", "low_vol"}
    summary = query(built, "SELECT * FROM factor_model_diagnostics").set_index("metric")
    np.testing.assert_allclose(summary.loc["mean_r2", "value"].iloc[0] if isinstance(summary.loc["mean_r2", "value"],
                               pd.Series) else summary.loc["mean_r2", "value"], ts["r2"].mean(), rtol=1e-12)


def test_metrics_dashboard_equals_stored_tables(built):
    dash = query(built, "SELECT * FROM metrics_dashboard").set_index("metric")["value"]
    fac = query(built, "SELECT cmkt FROM factor_returns_weekly WHERE construction = ? AND cmkt IS NOT NULL",
                [SORT])["cmkt"]
    np.testing.assert_allclose(dash["cmkt_sharpe_annualised"], np.sqrt(52) * fac.mean() / fac.std(ddof=1), rtol=1e-12)
    comp = query(built, "SELECT * FROM model_comparison WHERE scheme = 'expanding'").set_index("model")
    np.testing.assert_allclose(dash["lasso_sparsity"], comp.loc["lasso", "sparsity"], rtol=1e-12)
    np.testing.assert_allclose(dash["ridge_ic_mean"], comp.loc["ridge", "ic_mean"], rtol=1e-12)
    ts = query(built, "SELECT * FROM factor_model_ts_fit WHERE r2 IS NOT NULL")
    np.testing.assert_allclose(dash["mean_alpha_annualised"], ts["alpha_annualised"].mean(), rtol=1e-12)
    np.testing.assert_allclose(dash["t_mean_alpha"], ts["mean_alpha_t"].iloc[0], rtol=1e-12)
    assert "mean_alpha_t" not in dash.index
    rs = query(built, "SELECT beta_cv FROM regime_signals")
    np.testing.assert_allclose(dash["median_beta_cv"], rs["beta_cv"].median(), rtol=1e-12)


def test_rsj_weekly_features_when_rsj_daily_exists(built, tmp_path):
    (rsj_daily_asset,) = _assets(rsj_defs, "rsj_daily")
    path = str(tmp_path / "rsj.duckdb")
    shutil.copy(built, path)
    _run([rsj_daily_asset], path, "2024-01-01", "2024-01-29")  # weekly partitions: days 2024-01-01 .. 02-04
    _run([feature_matrix], path, "2024-01-08", "2024-01-29")
    rsj = query_dates(path, "SELECT * FROM rsj_daily WHERE rsj IS NOT NULL", ["date"])
    rsj["week_start"] = rsj["date"] - pd.to_timedelta(rsj["date"].dt.weekday, unit="D")
    g = rsj.groupby(["symbol", "week_start"])
    exp = pd.DataFrame({"n": g.size(), "rsj_1w": g["sj"].sum() / g["rv"].sum(),
                        "log_rv_1w": np.log(g["rv"].mean()), "rskew_1w": g["rskew"].mean(),
                        "rkurt_1w": g["rkurt"].mean()}).reset_index()
    exp.loc[exp["n"] < 4, list(RSJ_FEATURES)] = np.nan
    got = query_dates(path, "SELECT * FROM feature_matrix WHERE week_start >= '2024-01-08' AND week_start <= '2024-01-29'",
             ["week_start"])
    assert set(got["rsj_source"]) == {"rsj_daily"}
    m = got.merge(exp, on=["symbol", "week_start"], how="left", suffixes=("", "_exp"))
    assert m["rsj_1w"].notna().mean() > 0.75 and m["rsj_1w"].abs().max() <= 1
    for c in RSJ_FEATURES:
        np.testing.assert_allclose(m[c].to_numpy(dtype=float), m[f"{c}_exp"].to_numpy(dtype=float), rtol=1e-10,
                                   err_msg=c)
    # the other features are unchanged by adding RSJ
    before = query_dates(built, "SELECT * FROM feature_matrix WHERE week_start >= '2024-01-08' AND week_start <= '2024-01-29'",
                ["week_start"])
    cols = ["symbol", "week_start", "beta_mkt", "rvol_4w", "y_next"]
    pd.testing.assert_frame_equal(sorted_rows(before[cols], ["symbol", "week_start"]),
                                  sorted_rows(got[cols], ["symbol", "week_start"]), check_exact=False, rtol=1e-12, atol=1e-15)
