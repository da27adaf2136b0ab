"""The performance statistics cross-checked with QuantStats (the ``test`` extra) on the same return series.

Definitions read in the source of quantstats 0.0.86 (``quantstats/stats.py``, ``utils.py``), called with
``rf=0`` and explicit ``periods`` / ``compounded``:

* the same to 1e-10: ``sharpe`` (mean / sd(ddof 1) x sqrt(periods)), ``volatility`` (sd(ddof 1)
  x sqrt(periods)), ``sortino`` (its downside deviation is sqrt(sum_{r<0} r^2 / count), the one of
  Sortino & Price with target 0 and all periods in the denominator, as ours), ``cagr`` (since the
  version pinned, years = count / periods, not calendar years of the index: (1 + comp)^(periods / T)
  - 1), ``comp`` (total return), ``greeks`` (beta = cov / var, alpha = periods x (mean r - beta mean b):
  the one-factor OLS, so our ``betas`` and ``alpha_ann``) and ``r_squared``.
* different by definition, checked as such: ``max_drawdown`` is negative (ours a positive fraction);
  ``win_rate`` and ``avg_return`` leave the zero returns out of the denominator (ours keep every
  period: a flat day is no win); ``drawdown_details``' ``days`` counts the calendar days under water,
  (end - start).days + 1, so a recovered spell is one day shorter than ours (we count from the peak to
  the recovery, the recovering day included) and an unrecovered one the same (to the end);
  ``adjusted_sortino`` is sortino / sqrt(2) (Jack Schwager's comparison with Sharpe).
* not in QuantStats: the Newey-West t of the mean (its ``smart`` ratios divide by an autocorrelation
  penalty instead), the cost drag and the turnover.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.analytics.performance import drawdown_spells, factor_regression, return_stats
from cryptofactor_assets_tests.conftest import REAL_DATA

TOL = 1e-10
BINANCE = REAL_DATA / "binance_spot_genetrader"


@pytest.fixture(scope="module")
def qs():
    """quantstats.stats, imported here only (it pulls in yfinance, seaborn and matplotlib)."""
    import quantstats

    return quantstats.stats


def fat_tailed(periods: int = 1500, freq: str = "D") -> pd.Series:
    """Student-t(3) returns (fat tails, no zero, no NaN)."""
    rng = np.random.default_rng(20240)
    return pd.Series(0.0004 + 0.02 * rng.standard_t(3, periods),
                     index=pd.date_range("2020-01-01", periods=periods, freq=freq))


def realish(periods: int = 1100) -> pd.Series:
    """A strategy-like daily series: GARCH(1,1) volatility with t(4) shocks, 15 % flat days (no position:
    exactly zero), a bull run, and a slide over the last 80 days that leaves the last drawdown open."""
    rng = np.random.default_rng(7)
    shocks = rng.standard_t(4, periods) / math.sqrt(2.0)  # unit variance
    r = np.empty(periods)
    var, prev = 0.02**2, 0.0
    for t in range(periods):  # the recursion needs the previous day: a short loop
        var = 1e-5 + 0.1 * prev**2 + 0.85 * var
        prev = r[t] = 0.0006 + math.sqrt(var) * shocks[t]
    r[300:420] += 0.004
    r[-80:] -= 0.006
    r[rng.random(periods) < 0.15] = 0.0
    return pd.Series(r, index=pd.date_range("2021-03-01", periods=periods, freq="D"))


def binance_long_short() -> tuple[pd.Series, pd.Series]:
    """ETH minus BTC, daily close-to-close (Binance spot, 2024), and BTC as the market."""
    close = {coin: pd.read_feather(BINANCE / f"{coin}_USDT-1d.feather").set_index("date")["close"]
             for coin in ("ETH", "BTC")}
    ret = pd.DataFrame(close).pct_change().dropna()
    ret.index = ret.index.tz_localize(None)  # quantstats' greeks cannot align a UTC index with its naive copy
    return (ret["ETH"] - ret["BTC"]).rename("eth_btc"), ret["BTC"]


def assert_same(ours: float, theirs: float) -> None:
    np.testing.assert_allclose(ours, float(theirs), rtol=TOL, atol=0)


def check_statistics(qs, r: pd.Series, periods: int) -> None:
    stats = return_stats(r, periods)
    assert_same(stats.sharpe, qs.sharpe(r, rf=0.0, periods=periods, annualize=True, smart=False))
    assert_same(stats.ann_vol, qs.volatility(r, periods=periods, annualize=True))
    assert_same(stats.sortino, qs.sortino(r, rf=0.0, periods=periods, annualize=True, smart=False))
    assert_same(stats.cagr, qs.cagr(r, rf=0.0, compounded=True, periods=periods))
    assert_same(stats.total_return, qs.comp(r))
    # max drawdown: QuantStats' is negative (peak from the starting 1 included, as ours)
    assert_same(stats.max_drawdown, -qs.max_drawdown(r))
    # adjusted Sortino: Sortino / sqrt(2)
    assert_same(stats.sortino / math.sqrt(2), qs.adjusted_sortino(r, rf=0.0, periods=periods, annualize=True))
    # win rate and average return over the non-zero periods there, over all periods here
    nonzero = int((r != 0).sum())
    assert_same(stats.win_rate, qs.win_rate(r, aggregate=None, compounded=True) * nonzero / len(r))
    assert_same(stats.mean, qs.avg_return(r, aggregate=None, compounded=True) * nonzero / len(r))


def check_drawdown_spells(qs, r: pd.Series, min_spells: int = 10) -> None:
    """Every spell against ``drawdown_details`` of a gap-free daily series (its days are periods)."""
    ours = drawdown_spells(r)
    theirs = qs.drawdown_details(qs.to_drawdown_series(r))
    assert len(ours) == len(theirs) >= min_spells
    np.testing.assert_allclose(ours["depth"], -theirs["max drawdown"].to_numpy() / 100, rtol=TOL, atol=0)
    # under water from the period after the peak to the one before the recovery (or the last period)
    np.testing.assert_array_equal(ours["duration"], theirs["days"] + ours["recovered"].astype(int))
    day = pd.Timedelta(days=1)
    first_under = [r.index[0] if p is None else p + day for p in ours["peak"]]
    last_under = [rec - day if ok else r.index[-1] for rec, ok in zip(ours["recovery"], ours["recovered"], strict=True)]
    iso = lambda values: [pd.Timestamp(v).tz_localize(None).strftime("%Y-%m-%d") for v in values]  # noqa: E731
    assert iso(first_under) == theirs["start"].tolist()
    assert iso(last_under) == theirs["end"].tolist()
    assert iso(ours["trough"]) == theirs["valley"].tolist()
    stats = return_stats(r)
    deepest = int(np.argmax(ours["depth"].to_numpy()))
    assert stats.max_drawdown_duration == int(theirs["days"].iloc[deepest]) + int(ours["recovered"].iloc[deepest])
    assert stats.longest_drawdown_duration == int((theirs["days"] + ours["recovered"].astype(int)).max())


def check_one_factor(qs, r: pd.Series, market: pd.Series, periods: int) -> None:
    reg = factor_regression(r, market.rename("CMKT").to_frame(), periods)
    greeks = qs.greeks(r, market, periods=periods)
    assert_same(reg.betas["CMKT"], greeks["beta"])
    assert_same(reg.alpha_ann, greeks["alpha"])
    assert_same(reg.r2, qs.r_squared(r, market))


def test_fat_tailed_daily_series(qs):
    r = fat_tailed()
    assert (r != 0).all() and r.notna().all() and r.min() < -0.2  # fat tails, no zero: win rates equal
    check_statistics(qs, r, 365)
    assert_same(return_stats(r).win_rate, qs.win_rate(r))
    check_drawdown_spells(qs, r)
    market = fat_tailed().sample(frac=1.0, random_state=1).set_axis(r.index) * 0.8 + 0.5 * r
    check_one_factor(qs, r, market, 365)


def test_fat_tailed_weekly_series(qs):
    r = fat_tailed(520, "W-MON")
    check_statistics(qs, r, 52)
    check_statistics(qs, r, 365)  # the same numbers at another annualisation: periods passed through


def test_realish_strategy_series(qs):
    r = realish()
    assert (r == 0).mean() > 0.1  # flat days: win rates differ
    check_statistics(qs, r, 365)
    assert return_stats(r).win_rate < qs.win_rate(r)
    check_drawdown_spells(qs, r)
    spells = drawdown_spells(r)
    assert not spells["recovered"].iloc[-1] and spells["recovered"].iloc[:-1].all()


@pytest.mark.real_data
def test_binance_eth_minus_btc(qs):
    if not BINANCE.is_dir():
        pytest.skip("real data folder absent")
    r, btc = binance_long_short()
    assert len(r) > 240
    check_statistics(qs, r, 365)
    check_drawdown_spells(qs, r, min_spells=2)  # ETH lagged BTC through 2024: one spell from mid-January
    check_one_factor(qs, r, btc, 365)
