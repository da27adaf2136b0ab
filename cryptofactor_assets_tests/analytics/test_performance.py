"""Performance statistics, cost drag and factor attribution against hand computations and statsmodels."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cryptofactor_assets.analytics.backtest import backtest_report
from cryptofactor_assets.analytics.performance import (
    ReturnStats,
    drawdown_spells,
    factor_regression,
    return_stats,
    strategy_performance,
)

DAYS = pd.date_range("2024-01-01", periods=6, freq="D")
FACTORS = ["CMKT", "CSMB", "CMOM"]


def _labels(values) -> list:
    return [None if v is None else v.date().isoformat() for v in values]


def test_drawdown_duration_of_a_six_point_series_by_hand():
    # equity 1.1, 0.99, 1.0395, 1.14345, 0.91476, 0.960498
    r = pd.Series([0.10, -0.10, 0.05, 0.10, -0.20, 0.05], index=DAYS)
    spells = drawdown_spells(r)
    # spell 1: peak day 1 (1.1), underwater days 2-3, back above 1.1 on day 4: 4 - 1 = 3 periods
    # spell 2: peak day 4, underwater days 5-6, not recovered: to the end, 6 - 4 = 2 periods
    assert _labels(spells["peak"]) == ["2024-01-01", "2024-01-04"]
    assert _labels(spells["trough"]) == ["2024-01-02", "2024-01-05"]
    assert _labels(spells["recovery"]) == ["2024-01-04", None]
    assert spells["duration"].tolist() == [3, 2] and spells["recovered"].tolist() == [True, False]
    np.testing.assert_allclose(spells["depth"], [1 - 0.99 / 1.1, 1 - 0.91476 / 1.14345], rtol=1e-13)
    stats = return_stats(r, nw_lags=0)
    # the deepest spell (20 %) is not the longest one (3 periods)
    assert stats.max_drawdown == pytest.approx(0.2, rel=1e-13)
    assert stats.max_drawdown_duration == 2 and stats.longest_drawdown_duration == 3
    assert (stats.max_drawdown_peak, stats.max_drawdown_trough, stats.max_drawdown_recovery) == (
        "2024-01-04", "2024-01-05", None)


def test_drawdown_from_the_starting_capital_and_no_drawdown():
    # equity 0.9, 0.945, 1.0017 (back above the start), 0.981666, 0.981666, 1.01116
    r = pd.Series([-0.10, 0.05, 0.06, -0.02, 0.0, 0.03], index=DAYS)
    spells = drawdown_spells(r)
    assert _labels(spells["peak"]) == [None, "2024-01-03"]
    assert _labels(spells["trough"]) == ["2024-01-01", "2024-01-04"]  # the first of two equal troughs
    assert _labels(spells["recovery"]) == ["2024-01-03", "2024-01-06"]
    assert spells["duration"].tolist() == [3, 3]  # start (0) -> day 3; day 3 -> day 6
    stats = return_stats(r)
    assert (stats.max_drawdown_peak, stats.max_drawdown_recovery, stats.max_drawdown_duration) == (
        "start", "2024-01-03", 3)
    assert stats.max_drawdown == pytest.approx(0.1, rel=1e-13)
    flat = return_stats(pd.Series([0.01, 0.02, 0.0]))  # a zero return at the peak is no drawdown
    assert flat.max_drawdown == 0.0 and drawdown_spells(pd.Series([0.01, 0.02, 0.0])).empty
    assert (flat.max_drawdown_duration, flat.longest_drawdown_duration, flat.max_drawdown_peak) == (0, 0, None)
    assert flat.win_rate == pytest.approx(2 / 3)  # the zero stays in the denominator
    # integer labels stay integers (no float upcast by a None beside them)
    assert drawdown_spells(pd.Series([-0.1, 0.2, -0.1])).to_dict("list")["recovery"] == [1, None]


def test_return_stats_are_backtest_reports_statistics():
    rng = np.random.default_rng(5)
    r = pd.Series(rng.standard_t(4, 400) * 0.02 + 0.001, index=pd.date_range("2022-01-01", periods=400))
    r.iloc[[3, 50]] = np.nan
    stats = return_stats(r, 365, nw_lags="t14")
    report = backtest_report(r, 365, nw_lags="t14")
    shared = [f.name for f in dataclasses.fields(ReturnStats) if hasattr(report, f.name)]
    assert len(shared) == 15  # all but the drawdown durations and labels
    assert {k: getattr(stats, k) for k in shared} == {k: getattr(report, k) for k in shared}
    # the Sharpe's t: the Newey-West t of the mean, statsmodels HAC on a constant, no correction
    fit = sm.OLS(r.dropna().to_numpy(), np.ones(398)).fit(
        cov_type="HAC", cov_kwds={"maxlags": stats.nw_lags, "use_correction": False})
    assert stats.nw_lags == math.floor(398**0.25) == 4
    assert stats.mean_t_nw == pytest.approx(float(fit.tvalues[0]), rel=1e-10)


def test_markdown_and_dict():
    stats = return_stats(pd.Series([0.10, -0.10, 0.05, 0.10, -0.20, 0.05], index=DAYS))
    md = stats.to_markdown()
    assert md.splitlines()[:2] == ["| statistic | value |", "|---|---|"]
    assert "| max drawdown | 20.00 % |" in md and "| longest drawdown | 3 periods |" in md
    assert ("| max drawdown duration | 2 periods (peak 2024-01-04, trough 2024-01-05, "
            "until 2024-01-06, not recovered) |") in md
    d = stats.as_dict()
    assert d["max_drawdown_duration"] == 2 and isinstance(d["sharpe"], float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.sharpe = 0.0  # type: ignore[misc]


def _costs_case():
    idx = pd.date_range("2024-03-01", periods=4, freq="D")
    gross = pd.Series([0.02, -0.01, 0.015, 0.0], index=idx)
    fees = pd.Series([0.001, 0.0005, 0.001, 0.0], index=idx)
    spread = pd.Series([0.0004, 0.0002, 0.0003, 0.0001], index=idx)
    funding = pd.Series([0.0001, -0.0002, 0.0, 0.0003], index=idx)  # negative: funding received
    turnover = pd.Series([0.5, 0.2, 0.4, 0.1], index=idx)
    return gross, fees, spread, funding, turnover


def test_cost_drag_split_sums_to_gross_minus_net_by_hand():
    gross, fees, spread, funding, turnover = _costs_case()
    net = gross - fees - spread - funding
    perf = strategy_performance(gross, net, fees=fees, spread=spread, funding=funding, turnover=turnover)
    # 365 x mean: fees 0.0025 / 4, spread 0.001 / 4, funding 0.0002 / 4, all 0.0037 / 4
    assert perf.fees_drag == pytest.approx(365 * 0.0025 / 4, rel=1e-12)
    assert perf.spread_drag == pytest.approx(365 * 0.001 / 4, rel=1e-12)
    assert perf.funding_drag == pytest.approx(365 * 0.0002 / 4, rel=1e-12)
    assert perf.cost_drag == pytest.approx(365 * 0.0037 / 4, rel=1e-12)
    assert perf.fees_drag + perf.spread_drag + perf.funding_drag + perf.other_drag == pytest.approx(
        perf.cost_drag, rel=1e-14)
    assert perf.other_drag == pytest.approx(0.0, abs=1e-15)
    assert perf.cost_drag == pytest.approx(perf.gross.ann_return - perf.net.ann_return, rel=1e-12)
    assert (perf.avg_turnover, perf.ann_turnover) == pytest.approx((0.3, 109.5), rel=1e-14)
    assert perf.net.mean == pytest.approx((0.025 - 0.0037) / 4, rel=1e-12)
    # the CAGR gap is not the cost drag (compounding)
    assert perf.gross.cagr - perf.net.cagr != pytest.approx(perf.cost_drag, rel=1e-3)
    # net from the components when not given: the same report
    derived = strategy_performance(gross, fees=fees, spread=spread, funding=funding, turnover=turnover).as_dict()
    given = perf.as_dict()
    assert derived.keys() == given.keys()
    for key, value in given.items():
        assert derived[key] == (value if isinstance(value, str | None) else pytest.approx(value, rel=1e-12, abs=1e-15))


def test_cost_drag_unexplained_part_alignment_and_missing_costs():
    gross, fees, spread, funding, turnover = _costs_case()
    borrow = pd.Series(0.0002, index=gross.index)  # a cost the caller did not split out
    net = gross - fees - spread - funding - borrow
    early = pd.Series([np.nan], index=[gross.index[0] - pd.Timedelta(days=1)])
    perf = strategy_performance(pd.concat([early, gross]), net, fees=fees, spread=spread, funding=funding,
                                periods_per_year=52)
    assert perf.gross.n_periods == perf.net.n_periods == 4  # the period without returns is dropped
    assert perf.other_drag == pytest.approx(52 * 0.0002, rel=1e-12)
    assert perf.fees_drag + perf.spread_drag + perf.funding_drag + perf.other_drag == pytest.approx(
        perf.cost_drag, rel=1e-14)
    only_net = strategy_performance(gross, net)
    assert (only_net.fees_drag, only_net.avg_turnover) == (None, None)
    assert only_net.other_drag == pytest.approx(only_net.cost_drag, rel=1e-14)
    with pytest.raises(ValueError, match="fees"):
        strategy_performance(gross, net, fees=fees.iloc[1:])
    md = perf.to_markdown()
    assert "| statistic | gross | net |" in md and "| fees drag, annualised |" in md
    assert "| cost drag, annualised (gross - net) |" in md and "turnover per period" not in md
    d = perf.as_dict()
    assert {"gross_sharpe", "net_sharpe", "net_max_drawdown_duration", "cost_drag", "funding_drag"} <= set(d)


def _factor_case(seed: int = 3, t: int = 500):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2022-06-01", periods=t, freq="D")
    f = pd.DataFrame(rng.standard_t(5, (t, 3)) * 0.02, index=idx, columns=FACTORS)
    e = np.zeros(t)
    u = rng.normal(0, 0.01, t)
    for i in range(1, t):  # AR(1) noise so the lags matter
        e[i] = 0.4 * e[i - 1] + u[i]
    r = pd.Series(0.0008 + f.to_numpy() @ [0.9, -0.3, 0.2] + e, index=idx)
    r.iloc[[7, 100]] = np.nan
    f.iloc[[20], 1] = np.nan
    return r, f.iloc[5:]  # the factors start later


@pytest.mark.parametrize("lags", [None, 6, "t14"])
def test_factor_regression_equals_statsmodels_hac(lags):
    r, f = _factor_case()
    reg = factor_regression(r, f, 365, nw_lags=lags)
    joined = pd.concat([r.rename("r"), f], axis=1, join="inner").dropna()
    n = len(joined)
    expected = {None: math.floor(4 * (n / 100) ** (2 / 9)), 6: 6, "t14": math.floor(n**0.25)}[lags]
    fit = sm.OLS(joined["r"], sm.add_constant(joined[FACTORS])).fit(
        cov_type="HAC", cov_kwds={"maxlags": expected, "use_correction": False})
    assert (reg.nw_lags, reg.n_periods) == (expected, n) and n == 500 - 5 - 3
    assert reg.factors == tuple(FACTORS)
    np.testing.assert_allclose([reg.alpha, *reg.betas.values()], fit.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose([reg.alpha_t_nw, *reg.beta_t_nw.values()], fit.tvalues.to_numpy(), rtol=1e-10)
    assert reg.r2 == pytest.approx(fit.rsquared, rel=1e-10)
    assert reg.alpha_ann == pytest.approx(365 * reg.alpha, rel=1e-15)
    assert reg.betas["CMKT"] == pytest.approx(0.9, abs=0.05)
    np.testing.assert_allclose(reg.attribution["residual"], fit.resid, rtol=1e-9, atol=1e-15)


def test_attribution_identity_and_annual_contributions():
    r, f = _factor_case()
    reg = factor_regression(r, f)
    a = reg.attribution
    assert list(a.columns) == ["return", *FACTORS, "factor", "alpha", "residual"]
    assert len(a) == reg.n_periods and a.index.is_monotonic_increasing and not a.isna().any().any()
    # return = factor part + alpha + residual in every period; factor part = sum of beta_k f_k,t
    np.testing.assert_allclose(a["factor"] + a["alpha"] + a["residual"], a["return"], rtol=0, atol=1e-16)
    np.testing.assert_allclose(a[FACTORS].sum(axis=1), a["factor"], rtol=0, atol=1e-16)
    for name in FACTORS:
        np.testing.assert_allclose(a[name], reg.betas[name] * f.loc[a.index, name], rtol=1e-15)
    assert (a["alpha"] == reg.alpha).all()
    # OLS residuals with an intercept sum to zero: the arithmetic annual return splits exactly
    assert a["residual"].sum() == pytest.approx(0.0, abs=1e-14)
    assert 365 * a["return"].mean() == pytest.approx(reg.alpha_ann + sum(reg.contrib_ann.values()), rel=1e-12)
    md = reg.to_markdown()
    assert "| beta CMKT |" in md and "| alpha, annualised |" in md
    d = reg.as_dict()
    assert d["factors"] == "CMKT,CSMB,CMOM" and d["beta_CSMB"] == reg.betas["CSMB"] and "attribution" not in d


def test_one_factor_equals_backtest_reports_market_regression():
    r, f = _factor_case()
    reg = factor_regression(r, f[["CMKT"]], nw_lags=3)
    rep = backtest_report(r, market=f["CMKT"], nw_lags=3)
    assert (reg.alpha, reg.betas["CMKT"], reg.alpha_t_nw, reg.beta_t_nw["CMKT"], reg.n_periods) == (
        rep.alpha, rep.beta, rep.alpha_t_nw, rep.beta_t_nw, rep.n_market_periods)


def test_factor_names_must_not_clash_with_the_attribution_columns():
    r, f = _factor_case()
    with pytest.raises(ValueError, match="alpha"):
        factor_regression(r, f.rename(columns={"CMOM": "alpha"}))
    with pytest.raises(ValueError):
        factor_regression(r, f.iloc[:, :0])
