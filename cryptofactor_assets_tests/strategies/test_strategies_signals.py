"""Signals -> weights: quantile long-shorts, sizing by significance, fractional Kelly (hand cases,
no look-ahead, the Kelly portfolio never holds a coin with a negative edge)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.factors.sorts import quantile_portfolios
from cryptofactor_assets.strategies.signals import (
    kelly_fraction,
    kelly_weights,
    payoff_ratio,
    quantile_long_short,
    significance_weights,
)


def panel(n_dates=6, n_coins=23, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-07", periods=n_dates, freq="7D")
    return pd.DataFrame([{"date": d, "symbol": f"C{i:02d}", "signal": rng.normal(), "market_cap": rng.lognormal(18, 2),
                          "forecast": rng.normal(0, 0.01), "forecast_se": rng.uniform(0.002, 0.02),
                          "p": rng.uniform(0.3, 0.8), "b": rng.uniform(0.6, 1.5)}
                         for d in dates for i in range(n_coins)])


def test_quintile_legs_match_the_characteristic_sorts():
    """The legs are the same coins as factors.sorts.quantile_portfolios (the characteristic_portfolios
    rule), and long-short returns with the same next returns agree to 1e-15."""
    x = panel()
    rng = np.random.default_rng(1)
    nxt = x[["symbol", "date"]].assign(ret=rng.normal(0, 0.05, len(x)))
    for weighting, col in (("ew", "ew_ret"), ("vw", "vw_ret")):
        w = quantile_long_short(x, "signal", weighting)
        assert np.allclose(w.groupby("date")["weight"].sum(), 0.0, atol=1e-15)
        assert np.allclose(w.groupby("date")["weight"].apply(lambda s: s.abs().sum()), 2.0)
        ours = (w.merge(nxt, on=["symbol", "date"]).assign(pnl=lambda f: f["weight"] * f["ret"])
                .groupby("date")["pnl"].sum())
        # the same returns as the "next period" of quantile_portfolios: hold_period = date
        form = x.rename(columns={"date": "period", "market_cap": "weight"}).assign(eligible=True, hold_period=lambda f: f["period"])
        ref = quantile_portfolios(form, nxt.rename(columns={"date": "period"}), 5, calendar="daily")
        ref = ref[ref["portfolio"] == "Q5-Q1"].set_index("period")[col]
        assert np.allclose(ours.to_numpy(), ref.reindex(ours.index).to_numpy(), atol=1e-15)


def test_quintile_low_long_and_thin_dates():
    x = panel(n_dates=2, n_coins=4)
    assert quantile_long_short(x, "signal").empty  # 4 coins < 5 quantiles
    y = panel(n_dates=1, n_coins=10)
    hi, lo = quantile_long_short(y, "signal", long="high"), quantile_long_short(y, "signal", long="low")
    assert np.allclose(hi.set_index("symbol")["weight"], -lo.set_index("symbol")["weight"].reindex(hi["symbol"]))


def test_significance_weights_by_hand():
    x = pd.DataFrame({"date": pd.Timestamp("2024-01-07"), "symbol": ["A", "B", "C"],
                      "forecast": [0.02, 0.01, -0.03], "forecast_se": [0.01, 0.01, 0.01]})
    w = significance_weights(x, gross_leverage=2.0).set_index("symbol")["weight"]
    # z = 2, 1, -3; mean 0; sum |z| = 6 -> w = 2 z / 6
    assert w.to_dict() == pytest.approx({"A": 2 / 3, "B": 1 / 3, "C": -1.0})
    noisy = x.assign(forecast_se=[0.04, 0.01, 0.01])  # A's forecast is noisier: it gets less
    w2 = significance_weights(noisy).set_index("symbol")["weight"]
    assert w2["A"] < w["A"]


def test_kelly_by_hand_and_never_a_negative_edge():
    # p = 0.6, b = 1: f* = 0.6 - 0.4 = 0.2; half Kelly 0.1; p = 0.45, b = 1: f* = -0.1 -> no position
    assert kelly_fraction(np.array([0.6, 0.45]), np.array([1.0, 1.0])) == pytest.approx([0.2, -0.1])
    x = pd.DataFrame({"date": pd.Timestamp("2024-01-07"), "symbol": ["A", "B", "C"],
                      "p_up_calibrated": [0.6, 0.45, 0.9], "payoff_ratio": [1.0, 1.0, 2.0]})
    w = kelly_weights(x, fraction=0.5, cap=0.3).set_index("symbol")["weight"]
    assert "B" not in w.index
    assert w["A"] == pytest.approx(0.1)
    assert w["C"] == pytest.approx(0.3)  # 0.5 x (0.9 - 0.1 / 2) = 0.425, capped at 0.3
    # random panel: every held coin has a positive full-Kelly edge, stakes within cap and budget
    y = panel().rename(columns={"p": "p_up_calibrated", "b": "payoff_ratio"})
    k = kelly_weights(y, fraction=0.5, cap=0.1, max_gross=1.0)
    edge = kelly_fraction(y["p_up_calibrated"].to_numpy(), y["payoff_ratio"].to_numpy())
    held = y.assign(edge=edge).merge(k, on=["date", "symbol"])
    assert (held["edge"] > 0).all() and (held["weight"] > 0).all() and (held["weight"] <= 0.1 + 1e-15).all()
    assert (k.groupby("date")["weight"].sum() <= 1.0 + 1e-12).all()
    negative = y.loc[edge <= 0, ["date", "symbol"]]
    assert len(negative) and negative.merge(k, on=["date", "symbol"]).empty  # none of them is held


def test_payoff_ratio():
    assert payoff_ratio(np.array([0.1, 0.3, -0.1, -0.1, np.nan])) == pytest.approx(2.0)
    assert np.isnan(payoff_ratio(np.array([0.1, 0.2])))


@pytest.mark.parametrize("builder", [
    lambda f: quantile_long_short(f, "signal", "vw"),
    lambda f: significance_weights(f),
    lambda f: kelly_weights(f.rename(columns={"p": "p_up_calibrated", "b": "payoff_ratio"})),
])
def test_no_look_ahead_weights_of_a_date_use_that_date_only(builder):
    x = panel()
    base = builder(x)
    cut = x["date"].unique()[2]
    y = x.copy()
    later = y["date"] > cut
    for c in ("signal", "forecast", "p"):
        y.loc[later, c] = y.loc[later, c].to_numpy()[::-1]
    moved = builder(y)
    pd.testing.assert_frame_equal(base[base["date"] <= cut].reset_index(drop=True),
                                  moved[moved["date"] <= cut].reset_index(drop=True))
