"""Tier 1: the simulated market is deterministic per day, coherent, and plants what it says."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cryptofactor_assets.sources.simulated import BARS_PER_DAY, SimConfig, SimulatedMarket, simulate_daily

CFG = SimConfig(n_coins=15)


def _bars(start, end, **kw):
    return pd.concat(list(SimulatedMarket(CFG).iter_klines_5m(start, end, **kw)), ignore_index=True)


def test_a_day_is_identical_alone_or_inside_a_range():
    alone = _bars(dt.date(2023, 3, 10), dt.date(2023, 3, 11))
    ranged = _bars(dt.date(2023, 3, 1), dt.date(2023, 3, 20), chunk_days=7)
    inside = ranged[(ranged.open_time >= "2023-03-10") & (ranged.open_time < "2023-03-11")]
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), inside.reset_index(drop=True),
                                  check_categorical=False)
    m1 = SimulatedMarket(CFG).coin_markets(dt.date(2023, 3, 10), dt.date(2023, 3, 11))
    m2 = SimulatedMarket(CFG).coin_markets(dt.date(2023, 3, 1), dt.date(2023, 3, 20))
    m2 = m2[m2.date == "2023-03-10"]
    pd.testing.assert_frame_equal(m1.reset_index(drop=True), m2.reset_index(drop=True))


def test_bar_closes_chain_into_daily_closes_and_returns():
    st = simulate_daily(CFG)
    bars = _bars(dt.date(2023, 5, 1), dt.date(2023, 5, 3))
    good = bars.groupby(["symbol", bars.open_time.dt.normalize()], observed=True).filter(
        lambda g: len(g) == BARS_PER_DAY)
    last = good.sort_values("open_time").groupby(["symbol", good.open_time.dt.normalize()], observed=True).close.last()
    for (sym, day), close in last.items():
        i, t = st.symbols.index(sym), st.day_index(day.date())
        assert np.isclose(np.log(close), st.log_close[t, i], rtol=0, atol=1e-9)


def test_planted_structure_is_present():
    st = simulate_daily(CFG)
    T, N = st.alive.shape
    assert (st.list_day > 0).any() and (st.delist_day < T).any()  # listings and delistings
    mcap = np.exp(st.log_close + np.log(st.supply))
    assert np.nanmin(mcap[400]) < 1e6 < np.nanmax(mcap[400])  # some coins under the $1M filter
    assert (~st.has_bars).sum() == CFG.markets_only_coins
    # volatility clustering: squared market returns are autocorrelated
    m2 = (st.market_factor - st.market_factor.mean()) ** 2
    assert np.corrcoef(m2[1:], m2[:-1])[0, 1] > 0.05
    # jumps are roughly the configured share of quadratic variation
    jump_qv = (st.jump_size**2).sum(-1)[st.alive].mean()
    diff_qv = (st.diffusion_vol**2)[st.alive].mean()
    assert 0.10 < jump_qv / (jump_qv + diff_qv) < 0.26


def test_bad_rows_and_gaps_are_emitted():
    bars = _bars(dt.date(2023, 1, 1), dt.date(2023, 7, 1))
    key_dupes = bars.duplicated(["symbol", "open_time"]).sum()
    bad_price = (bars.close <= 0).sum()
    off_grid = (bars.open_time.dt.second != 0).sum()
    missing = bars.volume.isna().sum()
    ohlc = (bars.high < bars.low).sum()
    assert key_dupes + bad_price + off_grid + missing + ohlc >= 3
    per_day = bars.groupby(["symbol", bars.open_time.dt.normalize()], observed=True).size()
    assert (per_day < BARS_PER_DAY).any()  # missing bars and outages


def test_truth_table_has_parameters_betas_and_factors():
    truth = SimulatedMarket(CFG).truth()
    assert set(truth.category) == {"parameter", "coin", "factor"}
    assert (truth.query("category == 'parameter' and name == 'jump_premium'").value < 0).all()
    assert len(truth.query("category == 'coin' and name == 'beta_mkt'")) == CFG.n_coins
    assert not truth.duplicated(["category", "name", "symbol", "date"]).any()
