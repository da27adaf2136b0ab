"""The daily book: hand-computed rebalances, funding, the execution lag, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.strategies.costs import FRICTIONLESS, VENUES, CostModel
from cryptofactor_assets.strategies.execution import Market, run_book

DAYS = pd.date_range("2024-01-01", periods=4, freq="D")
AB = pd.Index(["A", "B"])


def market(returns, half_spread=0.0, funding=0.0) -> Market:
    r = np.asarray(returns, dtype=float)
    return Market(DAYS[: len(r)], AB, r, np.full(r.shape, half_spread), np.broadcast_to(funding, r.shape).copy())


def decide(*rows):
    """rows: (date index, {symbol: weight}) for strategy 's'."""
    dec = pd.DataFrame({"strategy": "s", "date": [DAYS[i] for i, _ in rows]})
    w = pd.DataFrame([{"strategy": "s", "date": DAYS[i], "symbol": k, "weight": v} for i, ws in rows
                      for k, v in ws.items()])
    return dec, w


def test_a_two_asset_rebalance_by_hand():
    # day 0: buy A and B half each (from cash: turnover 1); day 1: A +10 %, B -10 %: gross 0, drifted
    # weights 0.55 / 0.45; rebalanced to 0.5 / 0.5 at day 1's close: turnover 0.1
    dec, w = decide((0, {"A": 0.5, "B": 0.5}), (1, {"A": 0.5, "B": 0.5}))
    m = market([[0.0, 0.0], [0.10, -0.10], [0.0, 0.0]], half_spread=0.0005)
    book = run_book(dec, w, m, fee_rate=0.001, lag_days=0, hold_days=1).frame.set_index("date")
    assert list(book.index) == list(DAYS[:3])
    assert book["turnover"].tolist() == pytest.approx([1.0, 0.1, 0.0], abs=1e-15)
    assert book["fee"].tolist() == pytest.approx([0.001, 0.0001, 0.0], abs=1e-15)
    assert book["spread"].tolist() == pytest.approx([0.0005, 0.00005, 0.0], abs=1e-15)
    assert book["gross"].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-15)
    assert book["net"].tolist() == pytest.approx([-0.0015, -0.00015, 0.0], abs=1e-15)


def test_a_short_earns_positive_funding_and_a_long_pays_it():
    dec, w = decide((0, {"A": -1.0, "B": 1.0}))
    m = market([[0.0, 0.0], [0.0, 0.0]], funding=np.array([[0.0, 0.0], [0.0003, 0.0001]]))
    book = run_book(dec, w, m, fee_rate=0.0, lag_days=0, hold_days=1).frame.set_index("date")
    # day 1: short A earns 3 bp, long B pays 1 bp: funding cost -0.0003 + 0.0001
    assert book.loc[DAYS[1], "funding"] == pytest.approx(-0.0002, abs=1e-15)
    assert book.loc[DAYS[1], "net"] == pytest.approx(0.0002, abs=1e-15)


def test_drift_of_a_long_short_book():
    # +1 A / -1 B; day 1: A +10 %, B +20 %: R = 0.1 - 0.2 = -0.1; NAV 0.9, positions 1.1 and -1.2
    dec, w = decide((0, {"A": 1.0, "B": -1.0}), (1, {"A": 1.0, "B": -1.0}))
    m = market([[0.0, 0.0], [0.10, 0.20], [0.0, 0.0]])
    book = run_book(dec, w, m, fee_rate=0.0, lag_days=0).frame.set_index("date")
    assert book.loc[DAYS[1], "gross"] == pytest.approx(-0.1)
    # drifted 1.1/0.9 and -1.2/0.9 -> back to +1 / -1
    assert book.loc[DAYS[1], "turnover"] == pytest.approx(abs(1 - 1.1 / 0.9) + abs(-1 + 1.2 / 0.9))


def test_the_execution_lag_skips_the_signal_day():
    dec, w = decide((0, {"A": 1.0}))
    m = market([[0.0, 0.0], [0.05, 0.0], [0.02, 0.0], [0.0, 0.0]])
    at_close = run_book(dec, w, m, 0.0, lag_days=0, hold_days=2).frame.set_index("date")
    lagged = run_book(dec, w, m, 0.0, lag_days=1, hold_days=2).frame.set_index("date")
    assert at_close.loc[DAYS[1], "gross"] == pytest.approx(0.05)
    assert DAYS[1] in lagged.index and lagged.loc[DAYS[1], "gross"] == 0.0  # traded at day 1's close
    assert lagged.loc[DAYS[2], "gross"] == pytest.approx(0.02)
    assert lagged.index.max() == DAYS[3]  # last execution (day 1) + 2 held days


def test_a_missing_return_is_zero_and_the_position_kept():
    dec, w = decide((0, {"A": 1.0}))
    m = market([[0.0, 0.0], [np.nan, 0.0], [0.03, 0.0]])
    book = run_book(dec, w, m, 0.0, lag_days=0, hold_days=2).frame.set_index("date")
    assert book["gross"].tolist() == pytest.approx([0.0, 0.0, 0.03])
    assert book["long_exposure"].tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_no_look_ahead_perturbing_the_future_leaves_the_past():
    rng = np.random.default_rng(3)
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    syms = pd.Index([f"C{i}" for i in range(8)])
    r = rng.normal(0, 0.03, (60, 8))
    hs, fu = np.full((60, 8), 0.0004), rng.normal(0.0001, 0.0002, (60, 8))
    dec = pd.DataFrame({"strategy": "s", "date": days[::7]})
    w = pd.DataFrame([{"strategy": "s", "date": d, "symbol": s, "weight": rng.normal()} for d in days[::7]
                      for s in syms])
    base = run_book(dec, w, Market(days, syms, r, hs, fu), 0.00055, lag_days=1, hold_days=7).frame
    cut = days[30]
    r2, fu2 = r.copy(), fu.copy()
    r2[31:] += rng.normal(0, 0.1, r2[31:].shape)
    fu2[31:] *= -3
    w2 = w.copy()
    w2.loc[w2["date"] > cut, "weight"] *= -2  # later decisions changed too
    moved = run_book(dec, w2, Market(days, syms, r2, hs, fu2), 0.00055, lag_days=1, hold_days=7).frame
    past = base["date"] <= cut
    pd.testing.assert_frame_equal(base[past], moved[moved["date"] <= cut])
    assert not np.allclose(base.loc[~past, "net"].to_numpy(), moved.loc[moved["date"] > cut, "net"].to_numpy())


def test_costs_and_venues():
    assert CostModel().fee_bps == 5.5 and CostModel(side="maker").fee_bps == 2.0
    assert CostModel(venue="binance_spot").fee_bps == 10.0
    assert not CostModel(venue="binance_spot").charges_funding and CostModel().charges_funding
    assert CostModel().lag_days == 1  # never at the signal's close by default
    assert FRICTIONLESS.lag_days == 0 and FRICTIONLESS.spread == "none"
    assert all(v.source for v in VENUES.values())
    with pytest.raises(ValueError, match="venue"):
        CostModel(venue="nowhere")
    assert "lag 1 day" in CostModel().describe()


def test_weights_without_a_decision_are_refused():
    dec, w = decide((0, {"A": 1.0}))
    w = pd.concat([w, w.assign(date=DAYS[2])])
    with pytest.raises(ValueError, match="without a decision"):
        run_book(dec, w, market([[0.0, 0.0]] * 4), 0.0, lag_days=0)


@pytest.mark.parametrize("delisting_return", [0.0, -1.0])
def test_a_delisting_closes_the_position_and_never_rescales_the_others(delisting_return):
    # A stops trading after day 1 (no return from day 2 on, for good); B keeps trading
    dec, w = decide((0, {"A": 0.5, "B": 0.5}))
    m = market([[0.0, 0.0], [0.10, 0.0], [np.nan, 0.02], [np.nan, 0.03]])
    book = run_book(dec, w, m, 0.0, lag_days=0, hold_days=3, delisting_return=delisting_return).frame.set_index("date")
    # day 1: A +10 %: NAV 1.05, weights A 0.55/1.05, B 0.5/1.05; day 2: A delists at the given return
    wa, wb = 0.55 / 1.05, 0.5 / 1.05
    assert book.loc[DAYS[2], "gross"] == pytest.approx(wa * delisting_return + wb * 0.02)
    assert book.loc[DAYS[2], "n_delisted"] == 1 and book["n_delisted"].sum() == 1
    assert book.loc[DAYS[2], "turnover"] == 0.0 and book.loc[DAYS[2], "fee"] == 0.0  # nothing traded
    # after day 2 only B is held, at its drifted weight (B's value over NAV), never scaled back up to 100 %
    nav2 = 1 + wa * delisting_return + wb * 0.02
    assert book.loc[DAYS[2], "long_exposure"] == pytest.approx(wb * 1.02 / nav2)
    assert book.loc[DAYS[3], "gross"] == pytest.approx(wb * 1.02 / nav2 * 0.03)


def test_a_delisted_coin_is_not_bought_and_a_gap_is_not_a_delisting():
    dec, w = decide((2, {"A": 1.0}))  # decided after A's last day
    m = market([[0.01, 0.0], [0.01, 0.0], [np.nan, 0.0], [np.nan, 0.0]])
    book = run_book(dec, w, m, 0.001, lag_days=0, hold_days=1).frame.set_index("date")
    assert (book["long_exposure"] == 0).all() and (book["fee"] == 0).all()
    dec, w = decide((0, {"A": 1.0}))
    gap = market([[0.0, 0.0], [np.nan, 0.0], [0.05, 0.0]])  # A resumes on day 2
    book = run_book(dec, w, gap, 0.0, lag_days=0, hold_days=2).frame.set_index("date")
    assert book["n_delisted"].sum() == 0 and book.loc[DAYS[2], "gross"] == pytest.approx(0.05)
