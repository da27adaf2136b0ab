"""Tier 2: the factor assets materialised on the 12-coin simulated market (4 months) into DuckDB.

Each stored table is compared with the pure numerics applied to the stored inputs, keys are unique,
re-materialising gives identical rows, and changing data after a date leaves outputs up to it alone.
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

from cryptofactor_assets.estimators import panels
from cryptofactor_assets.estimators.fama_macbeth import fama_macbeth, shanken_adjust_fm_cov
from cryptofactor_assets.estimators.rolling_ols import rolling_ols
from cryptofactor_assets.factors import assets_daily, assets_summary, assets_weekly, research
from cryptofactor_assets.factors import signals as sg
from cryptofactor_assets.factors import tables as ft
from cryptofactor_assets.factors.characteristics import weekly_characteristics
from cryptofactor_assets.factors.compute_fama_macbeth import fm_inputs
from cryptofactor_assets.factors.compute_summary import compute_ltw_replication
from cryptofactor_assets.factors.compute_weekly import compute_characteristic_portfolios
from cryptofactor_assets.factors.construction import factor_returns, momentum_signal
from cryptofactor_assets.panels.assets import daily_panel, weekly_panel
from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
from cryptofactor_assets.sources.assets_funding import raw_funding_rates
from cryptofactor_assets.sources.assets_onchain import raw_onchain_activity
from cryptofactor_assets.sources.resources import MarketSourceResource, RiskFreeResource
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets_tests.conftest import SMALL_COINS, marked_copy, query, query_dates, sorted_rows

DAY0, DAY1 = "2023-11-20", "2024-03-31"
WEEK0, WEEK1 = "2023-11-20", "2024-03-25"
WINDOW, MIN_OBS = 30, 20
DAILY = [raw_klines_5m, raw_coin_markets, daily_panel]
# daily rows in weekly (ISO week) partitions: built over WEEK0..WEEK1, the same days as DAY0..DAY1
FACTOR_DAILY = [assets_daily.factor_returns_daily_asset, assets_daily.rolling_betas_asset]
FACTOR_WEEKLY = [assets_weekly.weekly_characteristics_asset, assets_weekly.characteristic_portfolios_asset,
                 assets_weekly.factor_returns_weekly_asset]
# the Fama-MacBeth first step is unpartitioned (every stored week in one pass), built with the summaries
SUMMARY = [assets_weekly.fama_macbeth_gammas_asset, assets_summary.fama_macbeth_premia_asset,
           assets_summary.long_short_alphas_asset, assets_summary.regime_signals_asset,
           assets_summary.ltw_replication_asset]
# 12 coins leave some of the six double-sort cells empty (CMOM NULL): the tests use the single sort.
SORT = "single_sort"
RUN_CONFIG = {"ops": {
    ft.FACTOR_RETURNS_DAILY: {"config": {"construction": SORT}},
    ft.LONG_SHORT_ALPHAS: {"config": {"construction": SORT}},
    ft.ROLLING_BETAS: {"config": {"window": WINDOW, "min_obs": MIN_OBS}},
    ft.REGIME_SIGNALS: {"config": {"horizon_days": WINDOW, "recent_days": 30}},
    ft.FAMA_MACBETH_PREMIA: {"config": {"lag_rule": "2", "factor_construction": SORT}},
}}


def _run(assets, resources, first=None, last=None, ops=None):
    tags = {} if first is None else {"dagster/asset_partition_range_start": first,
                                     "dagster/asset_partition_range_end": last}
    keys = {a.key.to_user_string() for a in assets}
    config = {"ops": {k: v for k, v in RUN_CONFIG["ops"].items() if k in keys and (ops is None or k in ops)}}
    result = dg.materialize(assets, resources=resources, tags=tags, run_config=config, raise_on_error=False)
    assert result.success
    return result


def _build_factor_layer(resources):
    _run(FACTOR_DAILY, resources, WEEK0, WEEK1)
    _run(FACTOR_WEEKLY, resources, WEEK0, WEEK1)
    _run(SUMMARY, resources)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("factors") / "f.duckdb")
    resources = {"duckdb": DuckDBResource(database=path),
                 "market_source": MarketSourceResource(kind="simulated", sim_coins=SMALL_COINS),
                 "risk_free": RiskFreeResource()}
    _run(DAILY, resources, DAY0, DAY1)
    _run([weekly_panel, raw_funding_rates, raw_onchain_activity], resources, WEEK0, WEEK1)
    _build_factor_layer(resources)
    return path, resources


KEYS = {
    "weekly_characteristics": ["symbol", "week_start"],
    "characteristic_portfolios": ["characteristic", "week_start", "portfolio"],
    "factor_returns_weekly": ["week_start", "construction"],
    "factor_returns_daily": ["date"],
    "rolling_betas": ["symbol", "date"],
    "fama_macbeth_gammas": ["week_start", "spec", "coefficient"],
    "fama_macbeth_premia": ["spec", "coefficient"],
    "long_short_alphas": ["characteristic", "weighting"],
    "regime_signals": ["symbol"],
    "ltw_replication": ["series", "name", "portfolio", "weighting", "week_start"],
}


def test_tables_have_rows_unique_keys_and_parameters(built):
    path, _ = built
    for table, key in KEYS.items():
        cols = ", ".join(key)
        n, distinct = query(path, f"SELECT count(*), count(DISTINCT ({cols})) FROM {table}").iloc[0]
        assert n > 0 and n == distinct, table
    ports = query(path, "SELECT DISTINCT portfolio, n_quantiles, breakpoint_universe FROM characteristic_portfolios")
    assert set(ports.portfolio) == {"Q1", "Q2", "Q3", "Q4", "Q5", "LS"}
    assert set(ports.breakpoint_universe) == {"all"} and set(ports.n_quantiles) == {5}
    fw = query(path, "SELECT DISTINCT construction, rf_source FROM factor_returns_weekly")
    assert set(fw.construction) == {"double_sort", "single_sort"}
    rb = query(path, "SELECT DISTINCT window_days, min_obs, construction FROM rolling_betas")
    assert rb.to_dict("records") == [{"window_days": WINDOW, "min_obs": MIN_OBS, "construction": SORT}]
    prem = query(path, "SELECT DISTINCT spec, lag_rule, nw_lags FROM fama_macbeth_premia")
    assert set(prem.spec) == {"betas", "characteristics"} and set(prem.nw_lags) == {2}
    # every stored holding week w is formed at w - 1
    for table in ("characteristic_portfolios", "factor_returns_weekly", "fama_macbeth_gammas"):
        bad = query(path, f"SELECT count(*) FROM {table} WHERE formation_week <> week_start - 7").iloc[0, 0]
        assert bad == 0, table


def test_characteristics_portfolios_and_factors_equal_pure_functions(built):
    path, _ = built
    panel = query_dates(path, "SELECT * FROM weekly_panel", ["week_start"])
    stored = query_dates(path, "SELECT * FROM weekly_characteristics", ["week_start"])
    expected = weekly_characteristics(panel, (0.01, 0.99), calendar="iso")
    expected = expected.loc[expected.week_start.isin(stored.week_start.unique())]
    cols = ["symbol", "week_start", "mcap", "prc", "maxdprc", "r1_0", "r3_0", "r4_1", "vol", "prcvol",
            "stdprcvol", "age", "market_cap", "ret", "in_universe"]
    pd.testing.assert_frame_equal(sorted_rows(stored[cols], ["symbol", "week_start"]),
                                  sorted_rows(expected[cols], ["symbol", "week_start"]), check_dtype=False, rtol=1e-12)

    ports = query_dates(path, "SELECT * FROM characteristic_portfolios", ["week_start", "formation_week"])
    exp_ports = compute_characteristic_portfolios(stored, WEEK0, pd.Timestamp(WEEK1) + pd.Timedelta(days=7))
    key = KEYS["characteristic_portfolios"]
    cols = [*key, "formation_week", "ew_ret", "vw_ret", "n_coins", "n_formed"]
    pd.testing.assert_frame_equal(sorted_rows(ports[cols], key), sorted_rows(exp_ports[cols], key), check_dtype=False,
                                  rtol=1e-12)
    # LS = Q5 - Q1 of the stored rows
    wide = ports.pivot_table(index=["characteristic", "week_start"], columns="portfolio", values="vw_ret")
    np.testing.assert_allclose(wide["LS"], wide["Q5"] - wide["Q1"], rtol=1e-12, atol=1e-15)

    fac = query_dates(path, "SELECT * FROM factor_returns_weekly", ["week_start"])
    for construction in ("double_sort", "single_sort"):
        exp = factor_returns(stored, momentum_col="r3_0", cmom_construction=construction)
        got = fac.loc[fac.construction == construction].set_index("week_start").sort_index()
        exp = exp.set_index("period").reindex(got.index)
        np.testing.assert_allclose(got[["cmkt", "csmb", "cmom", "mkt_ret"]].to_numpy(dtype=float),
                                   exp[["cmkt", "csmb", "cmom", "mkt_ret"]].to_numpy(dtype=float), rtol=1e-12)
        # the first stored week is formed on a week before WEEK0? never: formation weeks are stored weeks
        assert (got["n_coins"] > 0).all()


def test_daily_factors_and_rolling_betas_equal_pure_functions(built):
    path, _ = built
    daily = query_dates(path, "SELECT * FROM daily_panel ORDER BY date, symbol", ["date"])
    stored = query_dates(path, "SELECT * FROM factor_returns_daily ORDER BY date", ["date", "formation_date"])
    panel = daily.copy()
    panel["mom"] = momentum_signal(panel, 21, period_col="date", calendar="daily")
    days = panels.day_range(DAY0, pd.Timestamp(DAY1) + pd.Timedelta(days=1))
    funding = sg.daily_funding(query_dates(path, "SELECT * FROM raw_funding_rates", ["funding_time"]))
    onchain = query_dates(path, "SELECT * FROM raw_onchain_activity", ["date"])
    panel = sg.attach_signals(panel, {"vol_signal": sg.volatility_signal(daily, days),
                                      "fund_signal": sg.funding_signal(funding, days),
                                      "chain_signal": sg.chain_signal(onchain, days)})
    exp = factor_returns(panel, period_col="date", calendar="daily", momentum_col="mom",
                         cmom_construction=SORT, signals=sg.SIGNAL_FACTORS).set_index("period")
    exp = exp.reindex(stored.date)
    np.testing.assert_allclose(stored[["mkt", "size", "mom", "vol", "fund", "chain"]].to_numpy(dtype=float),
                               exp[["cmkt", "csmb", "cmom", "vol", "fund", "chain"]].to_numpy(dtype=float),
                               rtol=1e-12)
    # day 0 has no return (no previous close), so day 1 is the first eligible formation day
    assert stored.date.min() == pd.Timestamp(DAY0) + pd.Timedelta(days=2)
    # VOL from 20 returns, FUND from a week of settlements, CHAIN from 7 + 20 days of activity (the
    # minimum counts of its two windows)
    first = stored.set_index("date")[["vol", "fund", "chain"]].apply(lambda c: c.first_valid_index())
    assert first["vol"] == pd.Timestamp(DAY0) + pd.Timedelta(days=21)
    assert first["fund"] == pd.Timestamp(DAY0) + pd.Timedelta(days=7)
    assert first["chain"] == pd.Timestamp(DAY0) + pd.Timedelta(days=27)

    betas = query_dates(path, "SELECT * FROM rolling_betas", ["date"])
    y = panels.pivot_panel(daily, "ret", index=days)
    f = stored.set_index("date").reindex(days)
    # the factors of each week: MKT, SIZE, MOM and every other with a value in the days it reads
    week = days - pd.to_timedelta(days.day_of_week, unit="D")
    expected_sets = {}
    for monday in sorted(set(week)):
        read = f.loc[monday - pd.Timedelta(days=WINDOW - 1):monday + pd.Timedelta(days=6)]
        expected_sets[monday] = ",".join(["mkt", "size", "mom", *[c for c in ("vol", "fund", "chain")
                                                                   if read[c].notna().any()]])
    got_sets = betas.assign(week=betas.date - pd.to_timedelta(betas.date.dt.day_of_week, unit="D"))
    assert (got_sets["factors"] == got_sets["week"].map(expected_sets)).all()
    assert len(set(expected_sets.values())) >= 2  # the first weeks read no CHAIN (too short a history)
    n_expected = 0
    for names in set(expected_sets.values()):
        cols = names.split(",")
        res = rolling_ols(y.to_numpy() - f["rf"].to_numpy()[:, None], f[cols].to_numpy(),
                          window=WINDOW, min_obs=MIN_OBS, se_type="hc3")
        mine = pd.Series(week.map(expected_sets) == names, index=days)
        for j, c in enumerate(cols):
            exp_beta = pd.DataFrame(res.params[..., 1 + j], index=days, columns=y.columns).stack().rename("b")
            exp_se = pd.DataFrame(res.bse[..., 1 + j], index=days, columns=y.columns).stack().rename("se")
            exp_beta = pd.concat([exp_beta, exp_se], axis=1).reset_index()
            exp_beta.columns = ["date", "symbol", "b", "se"]
            exp_beta = exp_beta.loc[mine.reindex(exp_beta["date"]).to_numpy()]
            merged = betas.loc[betas["factors"] == names].merge(exp_beta, on=["date", "symbol"], how="left")
            np.testing.assert_allclose(merged[f"beta_{c}"], merged.b, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(merged[f"beta_{c}_se"], merged.se, rtol=1e-9, atol=1e-12)
        # every finite estimate on a day the coin has a panel row is stored
        n_expected += len(daily[["date", "symbol"]].merge(exp_beta.dropna(), on=["date", "symbol"]))
        unused = [c for c in ("vol", "fund", "chain") if c not in cols]
        assert betas.loc[betas["factors"] == names, [f"beta_{c}" for c in unused]].isna().all().all()
    assert n_expected == len(betas)
    assert (betas.n_obs >= MIN_OBS).all() and (betas.n_obs <= WINDOW).all()


def test_fama_macbeth_gammas_and_premia_equal_fama_macbeth(built):
    path, _ = built
    chars = query_dates(path, "SELECT * FROM weekly_characteristics", ["week_start"])
    betas = query_dates(path, "SELECT * FROM rolling_betas", ["date"])
    gammas = query_dates(path, "SELECT * FROM fama_macbeth_gammas", ["week_start"])
    premia = query(path, "SELECT * FROM fama_macbeth_premia").set_index(["spec", "coefficient"])
    weeks = pd.date_range(WEEK0, WEEK1, freq="W-MON").astype("datetime64[ns]")
    y, xs, _ = fm_inputs(chars, betas, weeks, ["mcap", "r3_0"])
    # the betas spec regresses on the betas of the factors the rolling regressions used on the formation day;
    # its premia are over the weeks of the latest week's regressors
    day_sets = betas.groupby("date")["factors"].first()
    sets = [day_sets.get(w - pd.Timedelta(days=1), "") for w in weeks]
    latest = gammas.loc[(gammas.spec == "betas") & (gammas.week_start == gammas.week_start.max()), "regressors"]
    assert latest.iloc[0] == "beta_mkt,beta_size,beta_mom,beta_vol,beta_fund,beta_chain"
    for spec, x in xs.items():
        names = latest.iloc[0].split(",") if spec == "betas" else ["mcap", "r3_0"]
        if spec == "characteristics":
            x = panels.standardise_cross_section(x, np.isfinite(y) & np.all(np.isfinite(x), axis=2))
            yy = y
        else:
            x = x[..., :len(names)]
            yy = np.where(np.array([s == ",".join(n.removeprefix("beta_") for n in names) for s in sets])[:, None],
                          y, np.nan)
        fm = fama_macbeth(yy, x, names=names, lags=2, driscoll_kraay=True)
        got = gammas.loc[(gammas.spec == spec) & (gammas.regressors == ",".join(names))].pivot(
            index="week_start", columns="coefficient", values="gamma")
        exp = pd.DataFrame(fm.gammas, index=weeks, columns=fm.names).loc[fm.used]
        pd.testing.assert_frame_equal(got[list(fm.names)], exp, check_names=False, check_freq=False, rtol=1e-10)
        p = premia.loc[spec].loc[list(fm.names)]
        np.testing.assert_allclose(p["mean"], fm.mean, rtol=1e-10)
        np.testing.assert_allclose(p["nw_t"], fm.nw_tstat, rtol=1e-10)
        np.testing.assert_allclose(p["t"], fm.tstat, rtol=1e-10)
        assert (p["n_periods"] == fm.n_periods).all() and (p["nw_lags"] == 2).all()
        # the pooled OLS with Driscoll-Kraay errors, rebuilt from the stored gammas and X'X rows
        np.testing.assert_allclose(p["pooled_coef"], fm.pooled.params, rtol=1e-9)
        np.testing.assert_allclose(p["dk_t"], fm.pooled.tstat, rtol=1e-8)
        assert (p["pooled_n_obs"] == fm.pooled.nobs).all()
        if spec == "betas":
            fac = query_dates(path, f"SELECT * FROM factor_returns_weekly WHERE construction = '{SORT}'", ["week_start"])
            f = fac.set_index("week_start").reindex(weeks[fm.used])[
                ["cmkt", "csmb", "cmom", "cvol", "cfund", "cchain"]].dropna()
            assert len(f) >= 8 and p["shanken_t"].notna().any()
            sh = shanken_adjust_fm_cov(fm.cov, np.cov(f.to_numpy(), rowvar=False), fm.mean[1:], fm.n_periods)
            # with 12 weeks and six factors an adjusted variance can be negative: its t is undefined (NaN)
            want = np.where(sh.se > 0, fm.mean / np.where(sh.se > 0, sh.se, 1.0), np.nan)
            np.testing.assert_allclose(p["shanken_t"], want, rtol=1e-10)
        else:
            assert p["shanken_t"].isna().all()
    # standardised characteristics: mean 0, sd 1 across the coins of each week
    z = panels.standardise_cross_section(xs["characteristics"], np.isfinite(y) & np.all(np.isfinite(xs["characteristics"]), 2))
    ok = np.isfinite(z[..., 0]).sum(axis=1) > 2
    np.testing.assert_allclose(np.nanmean(z[ok], axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(np.nanstd(z[ok], axis=1, ddof=1), 1, rtol=1e-12)


def test_long_short_alphas_equal_statsmodels_hac(built):
    path, _ = built
    stored = query(path, "SELECT * FROM long_short_alphas").set_index(["characteristic", "weighting"])
    ls = query_dates(path, "SELECT * FROM characteristic_portfolios WHERE portfolio = 'LS'", ["week_start"])
    fac = query_dates(path, f"SELECT * FROM factor_returns_weekly WHERE construction = '{SORT}'", ["week_start"])
    fac = fac.set_index("week_start")[["cmkt", "csmb", "cmom"]]
    assert len(stored) >= 10
    for (char, weighting), row in stored.iterrows():
        r = ls.loc[ls.characteristic == char].set_index("week_start")[f"{weighting}_ret"].dropna()
        j = pd.concat([r.rename("r"), fac], axis=1, join="inner").dropna()
        lags = int(row["nw_lags"])
        capm = sm.OLS(j.r, sm.add_constant(j[["cmkt"]])).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
        ff3 = sm.OLS(j.r, sm.add_constant(j[["cmkt", "csmb", "cmom"]])).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
        mean = sm.OLS(r, np.ones(len(r))).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
        assert row["nw_lags"] == int(np.floor(4 * (len(r) / 100) ** (2 / 9) + 1e-9))
        np.testing.assert_allclose(row[["capm_alpha", "capm_alpha_t", "f3_alpha", "f3_alpha_t", "mean_t_nw"]]
                                   .to_numpy(dtype=float),
                                   [capm.params["const"], capm.tvalues["const"], ff3.params["const"],
                                    ff3.tvalues["const"], mean.tvalues.iloc[0]], rtol=1e-8)
        assert row["ann_return"] == pytest.approx(52 * r.mean(), rel=1e-12)


def test_regime_signals_and_ltw_replication_equal_pure_functions(built):
    path, _ = built
    betas = query_dates(path, "SELECT * FROM rolling_betas", ["date"])
    stored = query_dates(path, "SELECT * FROM regime_signals ORDER BY symbol", ["first_date", "last_date"])
    exp = research.regime_signals(betas, horizon=WINDOW, recent_days=30)
    np.testing.assert_allclose(stored.beta_cv, exp.beta_cv, rtol=1e-12)
    np.testing.assert_allclose(stored.r2_decay, exp.r2_decay, rtol=1e-12, atol=1e-15)
    assert list(stored.n_shifts) == list(exp.n_shifts)
    cv = betas.groupby("symbol").beta_mkt.agg(lambda b: b.std(ddof=1) / abs(b.mean()))
    np.testing.assert_allclose(stored.set_index("symbol").beta_cv, cv.loc[stored.symbol], rtol=1e-12)

    daily = query_dates(path, "SELECT * FROM daily_panel", ["date"])
    rep = query_dates(path, "SELECT * FROM ltw_replication", ["week_start", "formation_week"])
    exp = compute_ltw_replication(daily)
    key = KEYS["ltw_replication"]
    pd.testing.assert_frame_equal(sorted_rows(rep[[*key, "ret", "n_coins"]], key),
                                  sorted_rows(exp[[*key, "ret", "n_coins"]], key), check_dtype=False, rtol=1e-12)
    # LTW weeks start on Jan 1 + 7k days
    doy = rep.week_start.dt.dayofyear
    assert ((doy - 1) % 7 == 0).all() and set(rep.calendar) == {"ltw"}


def _snapshot(path: str, cutoff: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """Rows of every partitioned factor table dated on or before ``cutoff`` (a week by its last day)."""
    # The cut-off is bound as $1; the table names are quoted (constants of this test).
    sqls = {
        "factor_returns_daily": "date <= $1",
        "rolling_betas": "date <= $1",
        "weekly_characteristics": "week_start + 6 <= $1",
        "characteristic_portfolios": "week_start + 6 <= $1",
        "factor_returns_weekly": "week_start + 6 <= $1",
        "fama_macbeth_gammas": "week_start + 6 <= $1",
    }
    return {t: _numeric_xtx(sorted_rows(query(path, f"SELECT * FROM {quote_ident(t)} WHERE {w}", [cutoff.date()]),
                                        KEYS[t]))
            for t, w in sqls.items()}


def _numeric_xtx(frame: pd.DataFrame) -> pd.DataFrame:
    """fama_macbeth_gammas' text column xtx_row (a row of the week's X'X) as numeric columns, so that
    it compares with a tolerance like the other estimates."""
    if "xtx_row" not in frame.columns:
        return frame
    parts = frame["xtx_row"].str.split(",", expand=True).astype(float)
    parts.columns = [f"xtx_{i}" for i in range(parts.shape[1])]
    return frame.drop(columns="xtx_row").join(parts)


def test_rematerialising_and_changing_the_future(built):
    path, resources = built
    cutoff = pd.Timestamp("2024-02-18")  # a Sunday: the end of the ISO week of 2024-02-12
    before = _snapshot(path, cutoff)
    assert all(len(v) for v in before.values())
    # the same partitions twice: identical rows (and equal to the backfill's up to rounding: a
    # shorter read range changes the causal shift of rolling_ols, not the estimates)
    snaps = []
    for _ in range(2):
        _run(FACTOR_DAILY, resources, "2024-02-05", "2024-02-12")  # the weeks holding 2024-02-10 .. 12
        _run(FACTOR_WEEKLY, resources, "2024-02-05", "2024-02-12")
        snaps.append(_snapshot(path, cutoff))
    for t in before:
        pd.testing.assert_frame_equal(snaps[0][t], snaps[1][t], obj=t, check_exact=True)
        pd.testing.assert_frame_equal(before[t], snaps[1][t], obj=t, check_exact=False, rtol=1e-10)
    # scramble everything after the cutoff, rebuild the whole factor layer: nothing up to it moves
    con = duckdb.connect(path)
    try:
        con.execute("UPDATE daily_panel SET ret = ret * 3 - 0.01, market_cap = market_cap * (1 + random()) "
                    "WHERE date > ?", [cutoff.date()])
        con.execute("UPDATE weekly_panel SET ret = -ret, market_cap = market_cap * 7, close = close * 2 "
                    "WHERE week_start > ?", [cutoff.date() - dt.timedelta(days=6)])
        con.execute("UPDATE raw_funding_rates SET funding_rate = -3 * funding_rate WHERE funding_time >= ?",
                    [cutoff.date() + dt.timedelta(days=1)])
        con.execute("UPDATE raw_onchain_activity SET active_addresses = active_addresses * (1 + 5 * random()) "
                    "WHERE date > ?", [cutoff.date()])
    finally:
        con.close()
    _build_factor_layer(resources)
    after = _snapshot(path, cutoff)
    for t in before:
        pd.testing.assert_frame_equal(before[t], after[t], obj=t, check_exact=False, rtol=1e-12)
    # ... while rows after it did change
    fac = query(path, "SELECT count(*) FROM factor_returns_daily WHERE date > ?", [cutoff.date()]).iloc[0, 0]
    assert fac > 0


# --------------------------------------------------------------------------------------------
# weekly partitions of daily rows: week-by-week runs equal the backfill, a week's run
# replaces exactly its 7 days, and its checks look at that week only
# --------------------------------------------------------------------------------------------
DAILY_ROW_TABLES = {"factor_returns_daily": ["date"], "rolling_betas": ["symbol", "date"]}
#: A column of each table that no asset of FACTOR_DAILY reads: marked outside the week re-run.
MARK = {"factor_returns_daily": "mkt_ret", "rolling_betas": "resid_vol"}
WEEKS_2M = [d.date().isoformat() for d in pd.date_range("2024-01-29", WEEK1, freq="W-MON")]


def _daily_rows(path: str) -> dict[str, pd.DataFrame]:
    return {t: sorted_rows(query_dates(path, f"SELECT * FROM {t}", ["date"]), k) for t, k in DAILY_ROW_TABLES.items()}


def test_week_by_week_runs_equal_the_backfill_and_the_pure_functions(built, tmp_path):
    path, resources = built
    backfill = _daily_rows(path)
    other = str(tmp_path / "weekly.duckdb")
    shutil.copy(path, other)
    first = WEEKS_2M[0]
    con = duckdb.connect(other)
    try:  # the two months' rows are gone: only the week-by-week runs below write them again
        for t in DAILY_ROW_TABLES:
            con.execute(f"DELETE FROM {t} WHERE date >= ?", [dt.date.fromisoformat(first)])
    finally:
        con.close()
    res = {**resources, "duckdb": DuckDBResource(database=other)}
    config = {"ops": {k: v for k, v in RUN_CONFIG["ops"].items() if k in DAILY_ROW_TABLES}}
    for week in WEEKS_2M:  # one run per weekly partition, in order (as the weekly schedule runs them)
        result = dg.materialize(FACTOR_DAILY, resources=res, partition_key=week, run_config=config,
                                raise_on_error=False)
        assert result.success, week
        assert all(c.passed for c in result.get_asset_check_evaluations()), week
    weekly = _daily_rows(other)
    for t in DAILY_ROW_TABLES:
        got, exp = weekly[t], backfill[t]
        assert set(got.loc[got.date >= pd.Timestamp(first), "date"]) == set(
            exp.loc[exp.date >= pd.Timestamp(first), "date"]), t
        # same rows, same columns, same values (rolling_ols over a shorter read: rounding only)
        pd.testing.assert_frame_equal(got, exp, obj=t, check_exact=False, rtol=1e-10, atol=1e-14)
    # and the daily factors of the weekly runs equal the pure function over the whole window
    daily = query_dates(other, "SELECT * FROM daily_panel ORDER BY date, symbol", ["date"])
    panel = daily.assign(mom=momentum_signal(daily, 21, period_col="date", calendar="daily"))
    pure = factor_returns(panel, period_col="date", calendar="daily", momentum_col="mom",
                          cmom_construction=SORT).set_index("period")
    got = weekly["factor_returns_daily"].set_index("date")
    assert got.index.max() == pd.Timestamp(DAY1) and len(got.loc[first:]) == 7 * len(WEEKS_2M)
    np.testing.assert_allclose(got[["mkt", "size", "mom"]].to_numpy(dtype=float),
                               pure.reindex(got.index)[["cmkt", "csmb", "cmom"]].to_numpy(dtype=float), rtol=1e-12)


def test_rerunning_one_week_replaces_exactly_its_seven_days(built, tmp_path):
    path, resources = built
    backfill = _daily_rows(path)
    # NaN everywhere in a column nothing reads: a check over more than the week would fail
    other = marked_copy(path, tmp_path / "one_week.duckdb", MARK)
    week = "2024-02-12"
    lo, hi = pd.Timestamp(week), pd.Timestamp(week) + pd.Timedelta(days=7)
    res = {**resources, "duckdb": DuckDBResource(database=other)}
    config = {"ops": {k: v for k, v in RUN_CONFIG["ops"].items() if k in DAILY_ROW_TABLES}}
    result = dg.materialize(FACTOR_DAILY, resources=res, partition_key=week, run_config=config,
                            raise_on_error=False)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [(c.asset_check_key, c.metadata) for c in checks
                                                       if not c.passed]
    after = _daily_rows(other)
    for t, col in MARK.items():
        got, exp = after[t], backfill[t]
        inside = (got.date >= lo) & (got.date < hi)
        assert got.loc[inside, "date"].nunique() == 7, t  # the 7 days of the week
        pd.testing.assert_frame_equal(got.loc[inside].reset_index(drop=True),
                                      exp.loc[(exp.date >= lo) & (exp.date < hi)].reset_index(drop=True),
                                      obj=t, check_exact=False, rtol=1e-10, atol=1e-14)
        # every row outside the week is the backfill's, still marked: not rewritten
        assert got.loc[~inside, col].isna().all() and len(got) == len(exp), t
        rest = [c for c in got.columns if c != col]
        pd.testing.assert_frame_equal(got.loc[~inside, rest].reset_index(drop=True),
                                      exp.loc[(exp.date < lo) | (exp.date >= hi), rest].reset_index(drop=True),
                                      obj=t, check_exact=True)
    meta = result.asset_materializations_for_node(ft.FACTOR_RETURNS_DAILY)[0]
    assert meta.partition == week
