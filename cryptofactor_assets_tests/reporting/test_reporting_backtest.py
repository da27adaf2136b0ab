"""Backtest report statistics against hand computations and statsmodels; PNG helpers."""

from __future__ import annotations

import dataclasses
import io
import math

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cryptofactor_assets.analytics.backtest import BacktestReport, backtest_report, max_drawdown
from cryptofactor_assets.analytics.plots import bar_plot_png, equity_curve_png, line_plot_png, png_markdown

R = [0.01, -0.02, 0.03, 0.00, -0.01, 0.02]
IDX = pd.date_range("2024-01-01", periods=6, freq="D")


def test_statistics_equal_hand_computation():
    rep = backtest_report(pd.Series(R, index=IDX), periods_per_year=365, nw_lags=0)
    sd = math.sqrt((0.005**2 + 0.025**2 + 0.025**2 + 0.005**2 + 0.015**2 + 0.015**2) / 5)
    growth = 1.01 * 0.98 * 1.03 * 1.00 * 0.99 * 1.02
    assert rep.n_periods == 6 and (rep.start, rep.end) == ("2024-01-01", "2024-01-06")
    assert rep.mean == pytest.approx(0.005, rel=1e-13)
    assert rep.ann_return == pytest.approx(0.005 * 365, rel=1e-13)
    assert rep.ann_vol == pytest.approx(sd * math.sqrt(365), rel=1e-13)
    assert rep.sharpe == pytest.approx(0.005 / sd * math.sqrt(365), rel=1e-13)
    downside = math.sqrt((0.02**2 + 0.01**2) / 6)
    assert rep.sortino == pytest.approx(0.005 / downside * math.sqrt(365), rel=1e-13)
    assert rep.max_drawdown == pytest.approx(0.02, rel=1e-13)  # 1.01 -> 0.9898
    assert rep.win_rate == 0.5
    assert rep.total_return == pytest.approx(growth - 1, rel=1e-13)
    assert rep.cagr == pytest.approx(growth ** (365 / 6) - 1, rel=1e-12)
    # lag 0: t = mean / sqrt(sum e^2 / T^2) (HAC with no lags = White on a constant)
    assert rep.mean_t_nw == pytest.approx(0.005 / math.sqrt(sd**2 * 5 / 36), rel=1e-12)
    assert rep.nw_lags == 0 and rep.beta is None and rep.avg_coins_long is None


def test_newey_west_t_of_mean_by_hand_default_lag():
    rep = backtest_report(pd.Series(R, index=IDX))
    lags = math.floor(4 * (6 / 100) ** (2 / 9))
    assert rep.nw_lags == lags == 2
    e = np.array(R) - 0.005
    s = sum(x * x for x in e)
    for j in range(1, lags + 1):
        s += 2 * (1 - j / (lags + 1)) * sum(e[t] * e[t - j] for t in range(j, 6))
    assert rep.mean_t_nw == pytest.approx(0.005 / math.sqrt(s / 36), rel=1e-12)


def test_weekly_scaling():
    weekly = backtest_report(pd.Series(R), periods_per_year=52, nw_lags=1)
    daily = backtest_report(pd.Series(R), periods_per_year=365, nw_lags=1)
    assert weekly.sharpe == pytest.approx(daily.sharpe * math.sqrt(52 / 365), rel=1e-13)
    assert weekly.ann_return == pytest.approx(0.005 * 52, rel=1e-13)
    assert weekly.max_drawdown == daily.max_drawdown and weekly.nw_lags == 1
    assert (weekly.start, weekly.end) == ("0", "5")


@pytest.mark.parametrize("lags", [None, 3, "t14"])
def test_alpha_beta_equal_statsmodels_hac(lags):
    rng = np.random.default_rng(11)
    idx = pd.date_range("2023-01-01", periods=300, freq="D")
    m = pd.Series(rng.normal(0.001, 0.03, 300), index=idx)
    r = 0.0005 - 0.4 * m + pd.Series(rng.normal(0, 0.01, 300), index=idx)
    r.iloc[[5, 77]] = np.nan  # dropped periods
    m_short = m.iloc[10:]  # market starts later: inner join
    rep = backtest_report(r, market=m_short, nw_lags=lags, n_long=pd.Series([10, 11, 12]),
                          n_short=pd.Series([9.0, 9.0]))
    joined = pd.concat([r, m_short], axis=1, join="inner").dropna()
    expected_lag = {None: math.floor(4 * (len(joined) / 100) ** (2 / 9)), 3: 3,
                    "t14": math.floor(len(joined) ** 0.25)}[lags]
    fit = sm.OLS(joined.iloc[:, 0], sm.add_constant(joined.iloc[:, 1])).fit(
        cov_type="HAC", cov_kwds={"maxlags": expected_lag})
    assert rep.market_lags == expected_lag and rep.n_market_periods == len(joined) == 289
    np.testing.assert_allclose([rep.alpha, rep.beta], fit.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose([rep.alpha_t_nw, rep.beta_t_nw], fit.tvalues.to_numpy(), rtol=1e-10)
    assert rep.alpha_ann == pytest.approx(365 * rep.alpha, rel=1e-15)
    assert rep.beta == pytest.approx(-0.4, abs=0.05)
    assert rep.avg_coins_long == 11.0 and rep.avg_coins_short == 9.0
    mean_fit = sm.OLS(r.dropna().to_numpy(), np.ones(298)).fit(
        cov_type="HAC", cov_kwds={"maxlags": rep.nw_lags})
    assert rep.mean_t_nw == pytest.approx(float(mean_fit.tvalues[0]), rel=1e-10)


def test_max_drawdown_edge_cases():
    assert max_drawdown(np.array([0.1, 0.2])) == 0.0
    assert max_drawdown(np.array([-0.5])) == pytest.approx(0.5)  # loss from the starting 1
    assert max_drawdown(np.array([0.1, -0.5, 0.5, -0.2])) == pytest.approx(0.5)
    # Python loop oracle on a random path
    x = np.random.default_rng(2).normal(0, 0.05, 500)
    eq, peak, worst = 1.0, 1.0, 0.0
    for v in x:
        eq *= 1 + v
        peak = max(peak, eq)
        worst = max(worst, 1 - eq / peak)
    assert max_drawdown(x) == pytest.approx(worst, rel=1e-12)


def test_markdown_and_dict():
    rep = backtest_report(pd.Series(R, index=IDX), market=pd.Series(np.linspace(-0.01, 0.02, 6), index=IDX),
                          n_long=pd.Series([3, 3]), n_short=pd.Series([2, 4]))
    md = rep.to_markdown()
    assert md.splitlines()[0] == "| statistic | value |"
    assert "| Sharpe ratio |" in md and "| beta vs market |" in md and "| avg coins, short leg | 3.0 |" in md
    assert "| max drawdown | 2.00 % |" in md and "| win rate | 50.00 % |" in md
    d = rep.as_dict()
    assert d["n_periods"] == 6 and isinstance(d["sharpe"], float)
    assert isinstance(rep, BacktestReport)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rep.sharpe = 0.0  # type: ignore[misc]


def test_too_short_series():
    with pytest.raises(ValueError):
        backtest_report(pd.Series([0.01, np.nan, 0.02]))


def decode(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return mpimg.imread(io.BytesIO(png), format="png")


def test_png_helpers():
    frame = pd.DataFrame({"ew": R, "vw": np.array(R) / 2}, index=IDX)
    a = decode(equity_curve_png(frame, title="RSJ"))
    b = equity_curve_png(frame["ew"])
    assert a.ndim == 3 and a.shape[0] > 100 and a.shape[1] > 100
    assert b != equity_curve_png(frame["vw"])
    assert decode(line_plot_png(frame, "lines", ylabel="r")).shape[1] > 100
    assert decode(bar_plot_png(frame.mean(), "means")).shape[1] > 100
    assert decode(bar_plot_png(frame, "grouped")).shape[1] > 100
    assert png_markdown(b"\x89PNG", "x").startswith("![x](data:image/png;base64,iVBORw")
