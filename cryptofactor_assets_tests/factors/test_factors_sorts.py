"""Quantile portfolios: hand-computed cross-sections, pandas.qcut reference, ties, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.factors.characteristics import weekly_characteristics
from cryptofactor_assets.factors.sorts import characteristic_portfolios, quantile_portfolios

T0 = pd.Timestamp("2024-01-01")
T1 = pd.Timestamp("2024-01-08")


def _frames(signal, weight, ret, eligible=None, period=T0, hold=T1):
    n = len(signal)
    formation = pd.DataFrame(
        {
            "symbol": [f"C{i}" for i in range(n)],
            "period": period,
            "signal": np.asarray(signal, dtype=float),
            "weight": np.asarray(weight, dtype=float),
            "eligible": True if eligible is None else eligible,
        }
    )
    nxt = pd.DataFrame(
        {"symbol": [f"C{i}" for i in range(n)], "period": hold, "ret": np.asarray(ret, dtype=float)}
    )
    return formation, nxt


def test_hand_computed_quintiles():
    signal = np.arange(1, 11)  # breakpoints 2.8, 4.6, 6.4, 8.2 -> two coins per quintile
    weight = np.array([1, 3, 2, 2, 5, 1, 1, 1, 4, 1], dtype=float)
    ret = np.array([0.1, -0.1, 0.2, 0.0, 0.05, 0.15, -0.2, 0.4, 0.3, -0.3])
    out = quantile_portfolios(*_frames(signal, weight, ret)).set_index("portfolio")
    assert list(out.index) == ["Q1", "Q2", "Q3", "Q4", "Q5", "Q5-Q1"]
    assert (out.loc["Q1":"Q5", "n_coins"] == 2).all() and out.loc["Q5-Q1", "n_coins"] == 4
    assert out.loc["Q1", "ew_ret"] == pytest.approx(0.0)
    assert out.loc["Q1", "vw_ret"] == pytest.approx((1 * 0.1 + 3 * -0.1) / 4)
    assert out.loc["Q3", "vw_ret"] == pytest.approx((5 * 0.05 + 1 * 0.15) / 6)
    assert out.loc["Q5", "ew_ret"] == pytest.approx(0.0)
    assert out.loc["Q5", "vw_ret"] == pytest.approx((4 * 0.3 + 1 * -0.3) / 5)
    assert out.loc["Q5-Q1", "vw_ret"] == pytest.approx(0.9 / 5 - (-0.2 / 4))
    assert out.loc["Q5-Q1", "ew_ret"] == pytest.approx(0.0)
    assert (out["period"] == T0).all() and (out["hold_period"] == T1).all()
    assert out["quantile"].tolist()[:5] == [1, 2, 3, 4, 5] and pd.isna(out.loc["Q5-Q1", "quantile"])
    assert (out["breakpoint_universe"] == "all").all() and (out["n_quantiles"] == 5).all()


def test_ties_go_to_the_lower_bin_and_min_coins():
    # quantiles of [0,0,0,0,0,0,1,2,3,4]: 0, 0, 0.4, 2.2 -> Q1 = six zeros, Q2 = Q3 = empty,
    # Q4 = {1, 2}, Q5 = {3, 4}
    signal = [0, 0, 0, 0, 0, 0, 1, 2, 3, 4]
    ret = np.linspace(-0.05, 0.4, 10)
    out = quantile_portfolios(*_frames(signal, np.ones(10), ret)).set_index("portfolio")
    assert out["n_formed"].tolist() == [6, 0, 0, 2, 2, 8]
    assert np.isnan(out.loc["Q2", "ew_ret"]) and np.isnan(out.loc["Q3", "vw_ret"])
    assert out.loc["Q4", "ew_ret"] == pytest.approx(ret[6:8].mean())
    assert out.loc["Q1", "ew_ret"] == pytest.approx(ret[:6].mean())
    thin = quantile_portfolios(*_frames(signal, np.ones(10), ret), min_coins=3).set_index("portfolio")
    assert np.isnan(thin.loc["Q4", "ew_ret"]) and np.isnan(thin.loc["Q5-Q1", "vw_ret"])
    assert thin.loc["Q1", "ew_ret"] == pytest.approx(ret[:6].mean()) and thin.loc["Q4", "n_coins"] == 2


def test_unusable_coins_and_missing_next_returns():
    signal = np.arange(1.0, 11.0)
    weight = np.ones(10)
    ret = np.full(10, 0.01)
    f, nxt = _frames(signal, weight, ret)
    f.loc[0, "eligible"] = False
    f.loc[1, "signal"] = np.nan
    f.loc[2, "weight"] = 0.0
    nxt = nxt.drop(index=9)  # C9 delisted: no t+1 return
    out = quantile_portfolios(f, nxt).set_index("portfolio")
    assert out.loc["Q1":"Q5", "n_formed"].sum() == 7
    # C9 stays in Q5 at the delisting return (0: out at its last price), never rescaled away
    assert out.loc["Q5", "n_formed"] == 2 and out.loc["Q5", "n_coins"] == 2 and out.loc["Q5", "n_delisted"] == 1
    assert out.loc["Q5", "ew_ret"] == pytest.approx(0.005) and out.loc["Q5-Q1", "n_delisted"] == 1
    lost = quantile_portfolios(f, nxt, delisting_return=-1.0).set_index("portfolio")
    assert lost.loc["Q5", "ew_ret"] == pytest.approx((0.01 - 1.0) / 2)
    old = quantile_portfolios(f, nxt, delisting_return=None).set_index("portfolio")  # the old drop rule
    assert old.loc["Q5", "n_coins"] == 1 and old.loc["Q5", "ew_ret"] == pytest.approx(0.01)
    # breakpoints never use t+1 data: same assignment when C9's return is present
    out2 = quantile_portfolios(f, _frames(signal, weight, ret)[1]).set_index("portfolio")
    assert out2["n_formed"].tolist() == out["n_formed"].tolist()
    assert out2.loc["Q5", "n_coins"] == 2
    # a formation period whose holding period has no returns yet produces no rows
    assert quantile_portfolios(f, nxt.assign(period=T1 + pd.Timedelta(weeks=1))).empty


def _random_long(seed: int, n_periods: int, n_coins: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2023-01-02", periods=n_periods + 1, freq="7D")
    rows = []
    for p in periods:
        n = rng.integers(n_coins // 2, n_coins)
        syms = rng.choice(n_coins, size=n, replace=False)
        rows.append(
            pd.DataFrame(
                {
                    "symbol": [f"C{s}" for s in syms],
                    "period": p,
                    "signal": rng.normal(size=n),
                    "weight": np.exp(rng.normal(15, 2, n)),
                    "eligible": rng.uniform(size=n) > 0.1,
                    "ret": rng.normal(0, 0.1, n),
                }
            )
        )
    df = pd.concat(rows, ignore_index=True)
    df.loc[rng.uniform(size=len(df)) < 0.05, "signal"] = np.nan
    df.loc[rng.uniform(size=len(df)) < 0.05, "ret"] = np.nan
    two = pd.concat(
        [df.assign(characteristic="a"), df.assign(characteristic="b", signal=-(df["signal"] ** 3))]
    )
    return two[["symbol", "period", "signal", "weight", "eligible", "characteristic"]], df[
        ["symbol", "period", "ret"]
    ]


def _qcut_reference(formation, nxt, n_q, universe="all", top_n=None, delisting_return=0.0):
    """Straightforward per-(characteristic, period) loop with pandas.qcut / pandas.cut; a formed coin
    without a t+1 return earns ``delisting_return`` (None: dropped, the old rule)."""
    rets = nxt.set_index(["symbol", "period"])["ret"]
    out = []
    for (ch, p), g in formation.groupby(["characteristic", "period"]):
        g = g[g["eligible"] & g["signal"].notna() & (g["weight"] > 0)].copy()
        hold = p + pd.Timedelta(weeks=1)
        r = rets.reindex(pd.MultiIndex.from_arrays([g["symbol"], [hold] * len(g)]))
        g["r"] = r.to_numpy()
        if g["r"].notna().sum() == 0:
            continue
        if delisting_return is not None:
            g["r"] = g["r"].fillna(delisting_return)
        if universe == "all":
            g["q"] = pd.qcut(g["signal"], n_q, labels=False) + 1
        else:
            top = g.nlargest(top_n, "weight", keep="all")
            bps = np.quantile(top["signal"], np.arange(1, n_q) / n_q)
            g["q"] = pd.cut(g["signal"], [-np.inf, *bps, np.inf], labels=False, right=True) + 1
        for q in range(1, n_q + 1):
            s = g[(g["q"] == q) & g["r"].notna()]
            ew = s["r"].mean() if len(s) else np.nan
            vw = (s["r"] * s["weight"]).sum() / s["weight"].sum() if len(s) else np.nan
            out.append((ch, p, f"Q{q}", ew, vw, len(s)))
    return pd.DataFrame(out, columns=["characteristic", "period", "portfolio", "ew_ret", "vw_ret", "n_coins"])


@pytest.mark.parametrize("n_q", [5, 10])
def test_equals_pandas_qcut_reference(n_q):
    formation, nxt = _random_long(3, 12, 80)
    ours = quantile_portfolios(formation, nxt, n_quantiles=n_q)
    ref = _qcut_reference(formation, nxt, n_q)
    got = ours[ours["portfolio"] != f"Q{n_q}-Q1"].reset_index(drop=True)
    assert len(got) == len(ref) > 0
    for c in ["characteristic", "portfolio"]:
        assert got[c].tolist() == ref[c].tolist()
    assert (got["period"].to_numpy() == ref["period"].to_numpy()).all()
    np.testing.assert_allclose(got["ew_ret"], ref["ew_ret"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got["vw_ret"], ref["vw_ret"], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(got["n_coins"], ref["n_coins"])
    ls = ours[ours["portfolio"] == f"Q{n_q}-Q1"].set_index(["characteristic", "period"])
    r = ref.set_index(["characteristic", "period", "portfolio"])
    for col in ["ew_ret", "vw_ret"]:
        expect = r[col].xs(f"Q{n_q}", level="portfolio") - r[col].xs("Q1", level="portfolio")
        np.testing.assert_allclose(ls[col], expect.loc[ls.index], rtol=1e-12, atol=1e-15)


def test_investable_breakpoints_equal_reference():
    formation, nxt = _random_long(5, 8, 120)
    ours = quantile_portfolios(formation, nxt, breakpoint_universe="investable", investable_top_n=20)
    ref = _qcut_reference(formation, nxt, 5, universe="investable", top_n=20)
    got = ours[ours["portfolio"] != "Q5-Q1"].reset_index(drop=True)
    np.testing.assert_allclose(got["vw_ret"], ref["vw_ret"], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(got["n_coins"], ref["n_coins"])
    assert (ours["breakpoint_universe"] == "investable").all()
    # NYSE-style breakpoints put unequal numbers of coins in the portfolios
    assert got["n_coins"].std() > 0
    # a market-cap threshold instead of top-N
    thr = quantile_portfolios(
        formation, nxt, breakpoint_universe="investable", investable_min_mcap=np.exp(17)
    )
    assert not np.allclose(
        thr.loc[thr["portfolio"] == "Q1", "n_coins"], got.loc[got["portfolio"] == "Q1", "n_coins"]
    )
    with pytest.raises(ValueError):
        quantile_portfolios(formation, nxt, breakpoint_universe="nyse")


def test_min_breakpoint_coins_skips_thin_periods():
    f, nxt = _frames([1.0, 2.0, 3.0], [1, 1, 1], [0.1, 0.2, 0.3])
    assert quantile_portfolios(f, nxt).empty  # 3 coins < 5 quantiles
    out = quantile_portfolios(f, nxt, n_quantiles=3)
    assert out["n_coins"].tolist() == [1, 1, 1, 2]


def test_no_look_ahead_perturbing_later_periods():
    formation, nxt = _random_long(8, 10, 60)
    t = pd.Timestamp("2023-01-02") + pd.Timedelta(weeks=4)
    full = quantile_portfolios(formation, nxt)
    rng = np.random.default_rng(1)
    f2, n2 = formation.copy(), nxt.copy()
    later_f = f2["period"] > t
    f2.loc[later_f, "signal"] = rng.normal(size=later_f.sum())
    f2.loc[later_f, "weight"] = rng.uniform(1, 2, later_f.sum())
    later_r = n2["period"] > t + pd.Timedelta(weeks=1)  # returns of t+1 are the holding returns of t
    n2.loc[later_r, "ret"] = rng.normal(size=later_r.sum())
    again = quantile_portfolios(f2, n2)
    a = full[full["period"] <= t].reset_index(drop=True)
    b = again[again["period"] <= t].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(full["vw_ret"].fillna(0), again["vw_ret"].fillna(0))


def test_ltw_calendar_holds_over_the_next_ltw_week():
    f, nxt = _frames(
        np.arange(10.0),
        np.ones(10),
        np.ones(10) * 0.02,
        period=pd.Timestamp("2020-12-23"),
        hold=pd.Timestamp("2021-01-01"),
    )
    out = quantile_portfolios(f, nxt, calendar="ltw")
    assert (out["hold_period"] == pd.Timestamp("2021-01-01")).all() and out["n_coins"].iloc[0] == 2
    assert quantile_portfolios(f, nxt, calendar="iso").empty  # ISO would hold over 2020-12-30


def test_characteristic_portfolios_wrapper():
    rng = np.random.default_rng(2)
    weeks = pd.date_range("2024-01-01", periods=7, freq="7D")
    rows = []
    for i in range(30):
        rows.append(
            pd.DataFrame(
                {
                    "symbol": f"C{i}",
                    "week_start": weeks,
                    "ret": rng.normal(0, 0.1, 7),
                    "close": np.exp(rng.normal(0, 2, 7)),
                    "market_cap": np.exp(rng.normal(16, 2, 7)),
                    "max_price": np.exp(rng.normal(0, 2, 7)),
                    "avg_volume": np.exp(rng.normal(5, 1, 7)),
                    "avg_dollar_volume": np.exp(rng.normal(10, 1, 7)),
                    "std_dollar_volume": np.exp(rng.normal(9, 1, 7)),
                    "age_weeks": np.arange(7),
                    "in_universe": True,
                }
            )
        )
    ch = weekly_characteristics(pd.concat(rows, ignore_index=True))
    out = characteristic_portfolios(ch, ["mcap", "r3_0"])
    assert set(out["characteristic"]) == {"mcap", "r3_0"}
    one = quantile_portfolios(
        ch.rename(
            columns={
                "week_start": "period",
                "r3_0": "signal",
                "market_cap": "weight",
                "in_universe": "eligible",
            }
        )[["symbol", "period", "signal", "weight", "eligible"]],
        ch.rename(columns={"week_start": "period"})[["symbol", "period", "ret"]],
        characteristic="r3_0",
    )
    pd.testing.assert_frame_equal(out[out["characteristic"] == "r3_0"].reset_index(drop=True), one)
    # r3_0 needs three weeks: first formation week is the third one
    assert one["period"].min() == weeks[2]
