"""ltw_replication's return rule and its companion table ltw_long_short_alphas (LTW Table VIII on the LTW
calendar): statsmodels OLS HAC oracle, a planted alpha recovered, the asset's stored tables equal the pure
functions with every choice stored, and the return rule threaded through."""

from __future__ import annotations

import math

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.estimators.ltw_calendar import aggregate_weekly, ltw_week_start
from cryptofactor_assets.factors import assets_summary
from cryptofactor_assets.factors import tables as ft
from cryptofactor_assets.factors.compute_summary import (
    LTW_CHOICE_COLUMNS,
    compute_ltw_long_short_alphas,
    compute_ltw_replication,
)
from cryptofactor_assets.sources.resources import RiskFreeResource
from cryptofactor_assets.storage.warehouse import ensure_table
from cryptofactor_assets_tests.conftest import query, query_dates, sorted_rows

FACTORS = ["cmkt", "csmb", "cmom"]


def _daily(seed: int = 5, n_coins: int = 40, start: str = "2018-01-01", end: str = "2020-12-31",
           p_missing: float = 0.01) -> pd.DataFrame:
    """Coins with a common market factor, random missing days and late listings (daily_panel layout)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, end, freq="D")
    market = rng.normal(0.002, 0.04, dates.size)
    frames = []
    for i in range(n_coins):
        beta = rng.uniform(0.5, 1.5)
        log_p = np.cumsum(beta * market + rng.normal(0, 0.05, dates.size)) + rng.normal(0, 2)
        f = pd.DataFrame({"symbol": f"C{i:02d}", "date": dates, "close": np.exp(log_p)})
        f["market_cap"] = f["close"] * np.exp(rng.normal(16, 1.5))
        f["dollar_volume"] = f["market_cap"] * rng.uniform(0.01, 0.1, dates.size)
        f["volume"] = f["dollar_volume"] / f["close"]
        keep = rng.uniform(size=dates.size) > p_missing
        keep[: rng.integers(0, 200)] = False  # late listings
        f = f.loc[keep].reset_index(drop=True)
        day = f["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        prev_ok = np.r_[False, np.diff(day) == 1]
        f["ret"] = np.where(prev_ok, f["close"] / f["close"].shift(1) - 1, np.nan)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _lags_4t100(t: int) -> int:
    return math.floor(4 * (t / 100) ** (2 / 9))


def _hac(y: pd.Series, x: pd.DataFrame | None, lags: int):
    design = np.ones((len(y), 1)) if x is None else sm.add_constant(x.to_numpy(dtype=float))
    return sm.OLS(y.to_numpy(dtype=float), design).fit(cov_type="HAC", cov_kwds={"maxlags": lags})


@pytest.fixture(scope="module")
def replication() -> pd.DataFrame:
    return compute_ltw_replication(_daily(), cmom_construction="single_sort", vol_column="avg_dollar_volume")


@pytest.mark.parametrize("lag_rule", ["4t100", 3])
def test_alphas_equal_statsmodels_ols_hac(replication, lag_rule):
    out = compute_ltw_long_short_alphas(replication, lag_rule).set_index(["characteristic", "weighting"])
    ls = replication[(replication.series == "portfolio") & (replication.portfolio == "LS")]
    fac = replication[replication.series == "factor"].pivot(index="week_start", columns="name", values="ret")[FACTORS]
    assert len(out) == ls.groupby(["name", "weighting"]).ngroups == 2 * 12  # 12 characteristics, EW and VW
    for (char, weighting), row in out.iterrows():
        r = ls[(ls.name == char) & (ls.weighting == weighting)].set_index("week_start")["ret"].dropna().sort_index()
        lags = (lambda t: _lags_4t100(t)) if lag_rule == "4t100" else (lambda t: lag_rule)
        mean = _hac(r, None, lags(len(r)))
        assert row["n_weeks"] == len(r) and row["mean_nw_lags"] == lags(len(r))
        assert row["mean"] == pytest.approx(r.mean(), rel=1e-12)
        assert row["mean_t_nw"] == pytest.approx(mean.tvalues[0], rel=1e-9)
        for prefix, cols in (("capm", ["cmkt"]), ("f3", FACTORS)):
            joined = pd.concat([r.rename("y"), fac[cols]], axis=1, join="inner").dropna()
            fit = _hac(joined["y"], joined[cols], lags(len(joined)))
            assert row[f"{prefix}_weeks"] == len(joined) and row[f"{prefix}_nw_lags"] == lags(len(joined))
            assert row[f"{prefix}_alpha"] == pytest.approx(fit.params[0], rel=1e-9, abs=1e-14)
            assert row[f"{prefix}_alpha_t"] == pytest.approx(fit.tvalues[0], rel=1e-9)
            assert row[f"{prefix}_r2"] == pytest.approx(fit.rsquared, rel=1e-9)
        assert row["capm_beta"] == pytest.approx(_hac(*_xy(r, fac, ["cmkt"]), 0).params[1], rel=1e-9)
        f3 = _hac(*_xy(r, fac, FACTORS), 0)
        for i, name in enumerate(FACTORS):
            assert row[f"f3_beta_{name}"] == pytest.approx(f3.params[1 + i], rel=1e-9, abs=1e-14)
        assert row["lag_rule"] == str(lag_rule) and row["calendar"] == "ltw"


def _xy(r, fac, cols):
    joined = pd.concat([r.rename("y"), fac[cols]], axis=1, join="inner").dropna()
    return joined["y"], joined[cols]


def test_the_replications_choices_are_on_every_row(replication):
    out = compute_ltw_long_short_alphas(replication)
    for c in LTW_CHOICE_COLUMNS:
        assert out[c].nunique() == 1 and out[c].iloc[0] == replication[c].iloc[0], c
    assert set(out["return_rule"]) == {"last_price"} and set(out["cmom_construction"]) == {"single_sort"}
    assert set(out["vol_column"]) == {"avg_dollar_volume"} and set(out["investable_top_n"]) == {100}
    # the weeks are LTW weeks (Jan 1 + 7 k)
    doy = pd.DatetimeIndex(out["first_week"]).dayofyear
    assert ((doy - 1) % 7 == 0).all()


def _planted(alpha: float, seed: int, n_weeks: int = 340) -> pd.DataFrame:
    """A replication-shaped frame on 340 LTW weeks from 2014: factors iid, one long-short with a planted
    alpha and betas 0.5 / -0.3 / 0.2, and CMOM missing in the first 100 weeks."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2014-01-01", periods=7 * 400, freq="D")
    weeks = pd.DatetimeIndex(np.unique(ltw_week_start(days)))[:n_weeks]
    f = pd.DataFrame(rng.normal([0.013, 0.02, 0.02], [0.11, 0.14, 0.13], (n_weeks, 3)), index=weeks, columns=FACTORS)
    ls = alpha + f.to_numpy() @ np.array([0.5, -0.3, 0.2]) + rng.normal(0, 0.05, n_weeks)
    f.loc[f.index[:100], "cmom"] = np.nan
    rows = [pd.DataFrame({"series": "factor", "name": c, "portfolio": "", "weighting": "vw", "week_start": weeks,
                          "ret": f[c].to_numpy()}) for c in FACTORS]
    rows.append(pd.DataFrame({"series": "portfolio", "name": "mcap", "portfolio": "LS", "weighting": "vw",
                              "week_start": weeks, "ret": ls}))
    frame = pd.concat(rows, ignore_index=True)
    return frame.assign(calendar="ltw", return_rule="last_price", breakpoint_universe="all", investable_top_n=20,
                        cmom_construction="double_sort", n_quantiles=5, vol_column="avg_dollar_volume",
                        rf_source="default")


def test_a_planted_alpha_is_recovered_and_none_is_not_found():
    row = compute_ltw_long_short_alphas(_planted(0.01, 1)).iloc[0]
    se = row["f3_alpha"] / row["f3_alpha_t"]
    assert abs(row["f3_alpha"] - 0.01) < 3 * se and row["f3_alpha_t"] > 2.5
    assert row["f3_weeks"] == 240 and row["capm_weeks"] == 340 and row["n_weeks"] == 340
    assert row["f3_beta_cmkt"] == pytest.approx(0.5, abs=0.05) and row["f3_beta_csmb"] == pytest.approx(-0.3, abs=0.05)
    assert row["f3_nw_lags"] == _lags_4t100(240) and row["capm_nw_lags"] == _lags_4t100(340)
    null = [compute_ltw_long_short_alphas(_planted(0.0, s)).iloc[0]["f3_alpha_t"] for s in range(2, 42)]
    assert np.mean(np.abs(null) > 1.96) < 0.2  # about 5 % rejections under no alpha (40 draws)


def test_a_regression_without_enough_weeks_is_null_and_the_row_kept():
    frame = _planted(0.01, 3)
    frame.loc[(frame.name == "cmom") & frame.ret.notna(), "ret"] = np.nan
    frame.loc[(frame.name == "cmom") & (frame.week_start == frame.week_start.max()), "ret"] = 0.01
    row = compute_ltw_long_short_alphas(frame, min_weeks=8).iloc[0]
    assert row["f3_weeks"] == 1 and np.isnan(row["f3_alpha"]) and pd.isna(row["f3_nw_lags"])
    assert np.isfinite(row["capm_alpha"]) and row["capm_weeks"] == 340
    assert compute_ltw_long_short_alphas(frame.iloc[:0]).empty


def test_the_return_rule_reaches_the_replication():
    """complete_week drops a coin-week with a missing day; last_price keeps it: the factors differ exactly in
    the weeks touched by a missing day, and each rule's weekly panel is aggregate_weekly's."""
    daily = _daily(p_missing=0.02)
    reps = {rule: compute_ltw_replication(daily, return_rule=rule) for rule in ("last_price", "complete_week")}
    for rule, rep in reps.items():
        assert set(rep["return_rule"]) == {rule}
    cmkt = {rule: rep[(rep.series == "factor") & (rep.name == "cmkt")].set_index("week_start")["ret"]
            for rule, rep in reps.items()}
    weekly = {rule: aggregate_weekly(daily, "ltw", return_rule=rule) for rule in reps}
    assert weekly["last_price"]["in_universe"].sum() > weekly["complete_week"]["in_universe"].sum()
    differs = (cmkt["last_price"] - cmkt["complete_week"]).abs() > 1e-12
    assert 0 < differs.sum() < len(differs)


# --------------------------------------------------------------------------------------------
# The asset writes both tables, with its checks
# --------------------------------------------------------------------------------------------
def _store_daily(path: str, daily: pd.DataFrame) -> None:
    frame = daily.assign(log_ret=np.log1p(daily["ret"]), close_source="markets", volume_source="markets", n_bars=0,
                         in_universe=(daily["market_cap"] >= 1e6) & daily["ret"].notna())
    con = duckdb.connect(path)
    try:
        ensure_table(con, "daily_panel")
        con.register("incoming", frame)
        con.execute("INSERT INTO daily_panel BY NAME SELECT * FROM incoming")
    finally:
        con.close()


@pytest.mark.parametrize("rule", ["last_price", "complete_week"])
def test_the_asset_stores_both_tables_equal_to_the_pure_functions(tmp_path, rule):
    path = str(tmp_path / "ltw.duckdb")
    daily = _daily(7, 30, "2019-01-01", "2020-06-30", 0.02)
    _store_daily(path, daily)
    config = {"cmom_construction": "single_sort", "investable_top_n": 20, "vol_column": "avg_dollar_volume",
              "return_rule": rule, "lag_rule": "3"}
    result = dg.materialize([assets_summary.ltw_replication_asset], raise_on_error=False,
                            resources={"duckdb": DuckDBResource(database=path), "risk_free": RiskFreeResource()},
                            run_config={"ops": {ft.LTW_REPLICATION: {"config": config}}})
    assert result.success
    checks = result.get_asset_check_evaluations()
    names = {c.check_name for c in checks}
    assert {"ltw_long_short_alphas_unique_key", "ltw_long_short_alphas_finite_values"} <= names
    assert all(c.passed for c in checks)
    stored = query_dates(path, "SELECT * FROM ltw_replication", ["week_start", "formation_week"])
    stored_daily = query_dates(path, "SELECT * FROM daily_panel", ["date"])
    exp = compute_ltw_replication(stored_daily, "all", "single_sort", 20, 5, "avg_dollar_volume", return_rule=rule)
    key = ["series", "name", "portfolio", "weighting", "week_start"]
    pd.testing.assert_frame_equal(sorted_rows(stored, key), sorted_rows(exp, key), check_dtype=False, rtol=1e-12)
    alphas = query_dates(path, "SELECT * FROM ltw_long_short_alphas", ["first_week", "last_week"])
    exp_alphas = compute_ltw_long_short_alphas(exp, 3)
    cols = list(exp_alphas.columns)
    pd.testing.assert_frame_equal(sorted_rows(alphas[cols], ["characteristic", "weighting"]),
                                  sorted_rows(exp_alphas, ["characteristic", "weighting"]), check_dtype=False,
                                  rtol=1e-10)
    assert set(alphas["return_rule"]) == {rule} and set(alphas["mean_nw_lags"]) == {3}
    assert set(query(path, "SELECT DISTINCT investable_top_n, vol_column, return_rule FROM ltw_replication")
               .itertuples(index=False, name=None)) == {(20, "avg_dollar_volume", rule)}
    meta = result.asset_materializations_for_node(ft.LTW_REPLICATION)[0].metadata
    assert f"return_rule={rule}" in meta["parameters"].value and "long_short_alphas" in meta
