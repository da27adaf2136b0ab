"""Bid-ask spread estimates of daily_panel: the numpy oracle by hand, the SQL against the oracle, planted spreads."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.estimators.spreads import (
    MIN_SPREAD_PAIRS,
    abdi_ranaldo_pair,
    corwin_schultz_pair,
    daily_spreads,
    spreads_of_consecutive_bars,
)
from cryptofactor_assets.panels import checks
from cryptofactor_assets.panels.assets import daily_panel
from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.warehouse import ensure_table, load_sql
from cryptofactor_assets_tests.conftest import materialize_range, query

DAILY = [raw_klines_5m, raw_coin_markets, daily_panel]
SPREADS = ["spread_cs", "spread_ar", "n_spread_pairs"]
MIDNIGHT = pd.Timestamp("2024-03-01")
FIVE = pd.Timedelta(minutes=5)


# ---- the oracle by hand ---------------------------------------------------------------------------------
# With k = 3 - 2 sqrt 2 = (sqrt 2 - 1)^2: (sqrt(2 beta) - sqrt(beta)) / k = (1 + sqrt 2) sqrt(beta) and
# sqrt(gamma / k) = (1 + sqrt 2) sqrt(gamma), so alpha = (1 + sqrt 2)(sqrt(beta) - sqrt(gamma)), and
# S = 2 (e^a - 1) / (1 + e^a) = 2 tanh(alpha / 2).

def test_two_still_bars_give_the_range_as_spread():
    # Two bars trading only at bid 99 and ask 101 (mid 100, spread 2 / 100 = 0.02), close at the ask:
    #   CS: r = ln(101 / 99) = 2 atanh(1 / 100) = 0.0200006667; beta = 2 r^2, gamma = r^2 (same range)
    #       alpha = (1 + sqrt 2)(sqrt 2 - 1) r = r, e^alpha = 101 / 99, S = 2 (2 / 99) / (200 / 99) = 0.02
    #   AR: c - eta_t = ln 101 - (ln 101 + ln 99) / 2 = r / 2 = c - eta_t+1; s^2 = 4 (r / 2)^2, s = r = 0.0200006667
    est = spreads_of_consecutive_bars([101, 101], [99, 99], [101, 101])
    assert est.n_pairs == 1
    assert est.cs == pytest.approx(0.02, rel=1e-12)
    assert est.ar == pytest.approx(0.0200006667, rel=1e-9)
    assert est.ar == pytest.approx(2 * math.atanh(0.01), rel=1e-12)
    # a close at the bid gives the same: (-r / 2)(-r / 2) = r^2 / 4
    assert spreads_of_consecutive_bars([101, 101], [99, 99], [99, 99]).ar == pytest.approx(est.ar, rel=1e-12)


def test_a_trending_pair_is_negative_for_cs_and_floored():
    # Bars (H, L, C) = (101, 100, 101) then (102, 101, .): the price moved up one tick, no bounce.
    #   CS: r0 = ln 1.01 = 0.0099503309, r1 = ln(102 / 101) = 0.0098522964, r01 = ln 1.02 = 0.0198026273
    #       beta = r0^2 + r1^2 = 1.9607683e-4, sqrt(beta) = 0.0140027436
    #       alpha = 2.4142135624 (0.0140027436 - 0.0198026273) = -0.0140021578
    #       S = 2 tanh(alpha / 2) = alpha - alpha^3 / 12 + ... = -0.0140021578 + 0.0000002288 = -0.0140019290
    #   AR: c - eta_t = ln 1.01 / 2 = 0.0049751654, c - eta_t+1 = -ln(102 / 101) / 2 = -0.0049261482
    #       4 x product = -ln 1.01 ln(102 / 101) = -9.80336e-5 < 0, so s = 0
    est = spreads_of_consecutive_bars([101, 102], [100, 101], [101, 101.5])
    assert est.cs_pairs[0] == pytest.approx(-0.0140019290, rel=1e-8)
    alpha = (1 + math.sqrt(2)) * (math.sqrt(math.log(1.01) ** 2 + math.log(102 / 101) ** 2) - math.log(1.02))
    assert est.cs_pairs[0] == pytest.approx(2 * math.tanh(alpha / 2), rel=1e-10)
    assert est.cs == 0.0  # negative pair estimates count as 0
    assert est.ar_terms[0] == pytest.approx(-math.log(1.01) * math.log(102 / 101), rel=1e-10)
    assert est.ar_terms[0] == pytest.approx(-9.80336e-5, rel=1e-5)
    assert est.ar == 0.0


def test_a_close_at_the_mid_shows_almost_no_spread_to_ar():
    # (101, 99, 100) twice: c - eta = ln 100 - (ln 101 + ln 99) / 2 = -ln(0.9999) / 2 = 5.00025e-5 for both bars:
    # s = sqrt(4 (5.00025e-5)^2) = 1.00005e-4 (CS still reads the range: 0.02)
    est = spreads_of_consecutive_bars([101, 101], [99, 99], [100, 100])
    assert est.ar == pytest.approx(-math.log(0.9999), rel=1e-9)
    assert est.ar == pytest.approx(1.00005e-4, rel=1e-5)
    assert est.cs == pytest.approx(0.02, rel=1e-12)


def test_the_pair_functions_are_the_papers_formulas():
    rng = np.random.default_rng(7)
    lo = np.exp(rng.normal(0, 1, 50))
    hi = lo * np.exp(rng.uniform(0, 0.01, 50))
    h0, l0, h1, l1 = hi[:-1], lo[:-1], hi[1:], lo[1:]
    beta = np.log(h0 / l0) ** 2 + np.log(h1 / l1) ** 2
    gamma = np.log(np.maximum(h0, h1) / np.minimum(l0, l1)) ** 2
    k = 3 - 2 * np.sqrt(2)
    alpha = (np.sqrt(2 * beta) - np.sqrt(beta)) / k - np.sqrt(gamma / k)
    np.testing.assert_allclose(corwin_schultz_pair(h0, l0, h1, l1), 2 * (np.exp(alpha) - 1) / (1 + np.exp(alpha)),
                               rtol=1e-9, atol=1e-15)
    c0 = np.sqrt(h0 * l0)
    eta0, eta1 = (np.log(h0) + np.log(l0)) / 2, (np.log(h1) + np.log(l1)) / 2
    np.testing.assert_allclose(abdi_ranaldo_pair(c0, h0, l0, h1, l1),
                               4 * (np.log(c0) - eta0) * (np.log(c0) - eta1), rtol=1e-9, atol=1e-15)


def test_daily_spreads_pairs_only_adjacent_usable_bars_of_one_day():
    # bars at 00:00, 00:05, 00:15 (00:10 missing), a 23:55 bar and the next day's 00:00 bar: one pair on day 1
    t = [MIDNIGHT, MIDNIGHT + FIVE, MIDNIGHT + 3 * FIVE, MIDNIGHT + pd.Timedelta(days=1) - FIVE,
         MIDNIGHT + pd.Timedelta(days=1)]
    out = daily_spreads(["A"] * 5, t, [101] * 5, [99] * 5, [101] * 5, min_pairs=1)
    assert list(out.n_spread_pairs) == [1, 0]
    assert out.spread_cs.iloc[0] == pytest.approx(0.02, rel=1e-12) and np.isnan(out.spread_cs.iloc[1])
    # an unusable bar (high < low) in the middle breaks both of its pairs
    t3 = [MIDNIGHT, MIDNIGHT + FIVE, MIDNIGHT + 2 * FIVE]
    assert daily_spreads(["A"] * 3, t3, [101, 98, 101], [99, 99, 99], [100] * 3, 1).n_spread_pairs.tolist() == [0]
    with pytest.raises(ValueError, match="repeated"):
        daily_spreads(["A", "A"], [MIDNIGHT, MIDNIGHT], [101, 101], [99, 99], [100, 100])


# ---- the SQL on bars written directly -------------------------------------------------------------------

def _bars(symbol: str, times, high, low, close) -> pd.DataFrame:
    n = len(times)
    return pd.DataFrame({"symbol": symbol, "symbol_id": 1, "open_time": pd.to_datetime(list(times)),
                         "open": np.asarray(close, float), "high": np.asarray(high, float),
                         "low": np.asarray(low, float), "close": np.asarray(close, float),
                         "volume": np.ones(n), "turnover": np.ones(n), "log_ret": np.nan, "source": "simulated"})


def _panel_from_bars(bars: pd.DataFrame, markets: pd.DataFrame | None = None, start=MIDNIGHT.date(),
                     days: int = 2, min_pairs: int = MIN_SPREAD_PAIRS) -> pd.DataFrame:
    """daily_panel of [start, start + days) from the given bars (and market rows) with the panel's SQL."""
    con = duckdb.connect()
    try:
        for table in ("raw_klines_5m", "raw_coin_markets", "daily_panel"):
            ensure_table(con, table)
        con.register("bars_in", bars)
        con.execute("INSERT INTO raw_klines_5m BY NAME SELECT * FROM bars_in")
        if markets is not None:
            con.register("markets_in", markets)
            con.execute("INSERT INTO raw_coin_markets BY NAME SELECT * FROM markets_in")
        con.execute(load_sql("insert_daily_panel"), {"start": start, "end": start + dt.timedelta(days=days),
                                                     "min_pairs": min_pairs})
        return con.execute("SELECT * FROM daily_panel ORDER BY symbol, date").df()
    finally:
        con.close()


def test_sql_two_bar_cases_equal_the_hand_values():
    bars = pd.concat([
        _bars("STILL", [MIDNIGHT, MIDNIGHT + FIVE], [101, 101], [99, 99], [101, 101]),
        _bars("TREND", [MIDNIGHT, MIDNIGHT + FIVE], [101, 102], [100, 101], [101, 101.5]),
    ])
    panel = _panel_from_bars(bars, days=1, min_pairs=1).set_index("symbol")
    assert panel.loc["STILL", "spread_cs"] == pytest.approx(0.02, rel=1e-12)
    assert panel.loc["STILL", "spread_ar"] == pytest.approx(2 * math.atanh(0.01), rel=1e-12)
    assert panel.loc["TREND", "spread_cs"] == 0.0 and panel.loc["TREND", "spread_ar"] == 0.0
    assert panel.n_spread_pairs.tolist() == [1, 1]


def test_sql_missing_bars_midnight_bad_bars_minimum_pairs_and_days_without_bars():
    day2 = MIDNIGHT + pd.Timedelta(days=1)
    full = [MIDNIGHT + i * FIVE for i in range(288)]
    gap = [t for i, t in enumerate(full) if i != 100]  # one missing bar: 287 bars, 285 pairs
    bars = pd.concat([
        _bars("FULL", full + [day2], [101] * 289, [99] * 289, [101] * 289),  # 23:55 -> 00:00 is no pair
        _bars("GAP", gap, [101] * 287, [99] * 287, [101] * 287),
        # 13 bars with the 7th unusable (high < low: stored bars are validated, this one is written directly)
        _bars("BAD", full[:13], [101] * 6 + [98] + [101] * 6, [99] * 13, [100] * 13),
        _bars("SHORT", full[:12], [101] * 12, [99] * 12, [101] * 12),  # 11 pairs < 12: NULL
        _bars("JUST", full[:13], [101] * 13, [99] * 13, [101] * 13),   # 12 pairs: defined
    ])
    markets = pd.DataFrame({"coin_id": ["mkt-only", "full"], "symbol": ["MKTONLY", "FULL"],
                            "date": [MIDNIGHT, MIDNIGHT], "price": [5.0, 100.0],
                            "market_cap": [2e6, 3e9], "total_volume": [1e5, 1e7], "source": "simulated"})
    panel = _panel_from_bars(bars, markets).set_index(["symbol", "date"])
    d1, d2 = MIDNIGHT, day2
    pairs = panel.n_spread_pairs.to_dict()
    assert pairs[("FULL", d1)] == 287 and pairs[("FULL", d2)] == 0 and pairs[("GAP", d1)] == 285
    assert pairs[("BAD", d1)] == 10 and pairs[("SHORT", d1)] == 11 and pairs[("JUST", d1)] == 12
    assert pairs[("MKTONLY", d1)] == 0
    for key in [("FULL", d1), ("GAP", d1), ("JUST", d1)]:
        assert panel.loc[key, "spread_cs"] == pytest.approx(0.02, rel=1e-12)
        assert panel.loc[key, "spread_ar"] == pytest.approx(2 * math.atanh(0.01), rel=1e-12)
    for key in [("FULL", d2), ("BAD", d1), ("SHORT", d1), ("MKTONLY", d1)]:
        assert panel.loc[key, ["spread_cs", "spread_ar"]].isna().all(), key
    assert panel.loc[("MKTONLY", d1), "n_bars"] == 0 and panel.loc[("MKTONLY", d1), "close_source"] == "markets"
    assert panel.loc[("BAD", d1), "n_bars"] == 13  # the unusable bar still counts as a bar


# ---- the SQL against the oracle on the simulated market ----------------------------------------------------

@pytest.fixture
def built(db_path, resources):
    assert materialize_range(DAILY, resources, "2024-01-07", "2024-01-10").success
    return db_path


def test_sql_equals_the_numpy_oracle_on_simulated_bars(built):
    bars = query(built, "SELECT symbol, open_time, high, low, close FROM raw_klines_5m")
    oracle = daily_spreads(bars.symbol, bars.open_time, bars.high, bars.low, bars.close)
    oracle = oracle[oracle.date >= pd.Timestamp("2024-01-07")].set_index(["symbol", "date"]).sort_index()
    panel = query(built, "SELECT symbol, date, n_bars, spread_cs, spread_ar, n_spread_pairs FROM daily_panel")
    panel["date"] = pd.to_datetime(panel.date)
    panel = panel.set_index(["symbol", "date"]).sort_index()
    with_bars = panel[panel.n_bars > 0]
    assert list(with_bars.index) == list(oracle.index)
    assert (with_bars.n_spread_pairs.to_numpy() == oracle.n_spread_pairs.to_numpy()).all()
    assert oracle.n_spread_pairs.max() == 287 and oracle.spread_cs.notna().sum() >= 30
    for col in ["spread_cs", "spread_ar"]:
        np.testing.assert_allclose(with_bars[col].to_numpy(float), oracle[col].to_numpy(float),
                                   rtol=1e-12, atol=1e-15, err_msg=col)
    without = panel[panel.n_bars == 0]
    assert len(without) and without.spread_cs.isna().all() and without.spread_ar.isna().all()
    assert (without.n_spread_pairs == 0).all()


def test_the_spread_check_passes_and_catches_a_negative_spread(built):
    con = duckdb.connect(built)
    try:
        start, end = dt.date(2024, 1, 7), dt.date(2024, 1, 11)
        assert checks.daily_spreads_valid(con, start, end).passed
        con.execute("UPDATE daily_panel SET spread_ar = -0.001 WHERE spread_ar IS NOT NULL AND date = '2024-01-08'")
        out = checks.daily_spreads_valid(con, start, end)
        assert not out.passed and out.failures > 0
    finally:
        con.close()


def test_an_old_file_without_the_spread_columns_gains_them(built, resources):
    con = duckdb.connect(built)
    try:
        before = con.execute("SELECT * EXCLUDE (spread_cs, spread_ar, n_spread_pairs) FROM daily_panel "
                             "ORDER BY symbol, date").df()
        new_day = con.execute("SELECT * FROM daily_panel WHERE date = '2024-01-09' ORDER BY symbol").df()
        for column in reversed(SPREADS):
            con.execute(f"ALTER TABLE daily_panel DROP COLUMN {quote_ident(column)}")  # as written before the columns
        ensure_table(con, "daily_panel")  # storage.warehouse adds what create_daily_panel.sql declares
        ensure_table(con, "daily_panel")  # idempotent
        columns = con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'daily_panel' "
                              "ORDER BY column_index").df().column_name.tolist()
        assert columns[-3:] == SPREADS and len(columns) == len(before.columns) + 3
    finally:
        con.close()
    # the asset rebuilds a day on the old file: that day gains its spreads, the others keep NULLs (and pass)
    result = materialize_range([daily_panel], resources, "2024-01-09", "2024-01-09")
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())
    after = query(built, "SELECT * FROM daily_panel ORDER BY symbol, date")
    pd.testing.assert_frame_equal(after.drop(columns=SPREADS), before)
    rebuilt = after[after.date == pd.Timestamp("2024-01-09")].reset_index(drop=True)
    pd.testing.assert_frame_equal(rebuilt, new_day, check_exact=False, rtol=1e-12,
                                  check_dtype=False)  # float sums in any order; a nullable pair count
    assert after[after.date != pd.Timestamp("2024-01-09")][SPREADS].isna().all().all()


# ---- planted spreads -----------------------------------------------------------------------------------

def _bounce_bars(spread: float, sigma_bar: float, trades_per_bar: int, days: int, seed: int) -> pd.DataFrame:
    """Full days of 5-minute bars from trades at mid x (1 +- spread / 2) (side at random) around a random-walk
    log mid with volatility ``sigma_bar`` per bar; bar = (max, min, last) of its trades."""
    rng = np.random.default_rng(seed)
    n_bars = days * 288
    steps = rng.standard_normal(n_bars * trades_per_bar) * sigma_bar / np.sqrt(trades_per_bar)
    mid = 100.0 * np.exp(np.cumsum(steps))
    trades = (mid * (1 + rng.choice([-1.0, 1.0], mid.size) * spread / 2)).reshape(n_bars, trades_per_bar)
    times = MIDNIGHT + FIVE * np.arange(n_bars)
    return _bars("BOUNCE", times, trades.max(1), trades.min(1), trades[:, -1])


def test_a_planted_bid_ask_bounce_is_recovered():
    """Spread 20 bp, per-bar volatility 10 bp (1.7 % a day), 60 trades a bar, 10 days of 287 pairs.

    Tolerances (from 5 seeds of this design, the estimates ranged CS 0.86-0.96 S a day, mean 0.89-0.91 S;
    AR 0.94-1.03 S a day, mean 0.98-1.00 S): AR is unbiased here and only noisy (+-10 % a day, +-5 % over
    the days). CS reads about 10 % low: with 60 discrete trades a bar the bar's high and low miss the
    continuous path's extremes, which the paper's variance scaling between one- and two-bar ranges assumes;
    it would read high instead where the spread is small against the volatility (negative pairs floored at
    0: with no spread at all both read about 3-4 bp here, checked below). So CS within -25 % / +10 % a day and
    -15 % / +0 % on average. The SQL gives the oracle's numbers (one day checked).
    """
    spread = 0.002
    bars = _bounce_bars(spread, 0.001, 60, days=10, seed=0)
    est = daily_spreads(bars.symbol, bars.open_time, bars.high, bars.low, bars.close)
    assert (est.n_spread_pairs == 287).all() and len(est) == 10
    assert est.spread_ar.between(0.9 * spread, 1.1 * spread).all(), est.spread_ar.tolist()
    assert abs(est.spread_ar.mean() / spread - 1) < 0.05
    assert est.spread_cs.between(0.75 * spread, 1.1 * spread).all(), est.spread_cs.tolist()
    assert 0.85 * spread < est.spread_cs.mean() <= spread
    sql = _panel_from_bars(bars, days=1).iloc[0]
    assert sql.spread_cs == pytest.approx(est.spread_cs.iloc[0], rel=1e-12)
    assert sql.spread_ar == pytest.approx(est.spread_ar.iloc[0], rel=1e-12)

    no_bounce = _bounce_bars(0.0, 0.001, 60, days=3, seed=0)
    zero = daily_spreads(no_bounce.symbol, no_bounce.open_time, no_bounce.high, no_bounce.low, no_bounce.close)
    assert (zero.spread_cs < 0.0005).all() and (zero.spread_ar < 0.0005).all()
