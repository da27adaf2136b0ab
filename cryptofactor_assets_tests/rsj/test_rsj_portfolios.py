"""RSJ quantile portfolios: hand-computed cases, weighting fallback, universe ($1M cap filter where caps
exist), balanced legs, deterministic ties, no look-ahead, the planted premium recovered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.rsj.portfolios import quantile_of_rank, rsj_quintile_portfolios

D = pd.date_range("2024-01-01", periods=3, freq="D")


def long_frame(values: dict[str, list[float]], name: str, dates=D) -> pd.DataFrame:
    rows = [(sym, d, v) for sym, vals in values.items() for d, v in zip(dates, vals, strict=True)]
    return pd.DataFrame(rows, columns=["symbol", "date", name])


@pytest.fixture()
def small():
    rsj = long_frame({"A": [-0.5, 0.3, 0.0], "B": [-0.1, -0.2, 0.1], "C": [0.2, -0.4, 0.2],
                      "D": [0.6, 0.5, 0.3]}, "rsj")
    ret = long_frame({"A": [0.0, 0.10, 0.01], "B": [0.0, -0.05, 0.03], "C": [0.0, 0.02, -0.02],
                      "D": [0.0, 0.04, 0.05]}, "ret")
    cap = long_frame({"A": [1, 2, 1], "B": [3, 2, 1], "C": [2, 1, 1], "D": [2, 3, 1]}, "market_cap")
    cap["market_cap"] *= 1e7  # USD 10M .. 30M: above the $1M filter
    dv = long_frame({s: [10.0, 10.0, 10.0] for s in "ABCD"}, "dollar_volume")
    panel = ret.merge(cap, on=["symbol", "date"]).merge(dv, on=["symbol", "date"])
    return rsj, panel


def pick(frame: pd.DataFrame, **eq) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for k, v in eq.items():
        mask &= (frame[k] == v).to_numpy()
    return frame[mask]


def four_by_two(rsj: pd.DataFrame, panel: pd.DataFrame):
    """The portfolios of the small example: its 4 coins, 1 trailing day, 2 quantiles."""
    return rsj_quintile_portfolios(rsj, panel, top_n=4, trailing_days=1, n_quantiles=2)


def missing_on_day_1(panel: pd.DataFrame, symbol: str, column: str) -> pd.DataFrame:
    """A copy of ``panel`` without ``column`` of ``symbol`` on day 1."""
    panel = panel.copy()
    panel.loc[(panel.symbol == symbol) & (panel.date == D[1]), column] = np.nan
    return panel


def test_hand_computed_two_quantiles(small):
    rsj, panel = small
    out = rsj_quintile_portfolios(rsj, panel, top_n=4, trailing_days=1, n_quantiles=2, fee_bps=0.5)
    q, ls = out.quantiles, out.long_short
    # Formed on day 0 (Q1 = {A, B}, Q2 = {C, D}) and day 1 (Q1 = {C, B}, Q2 = {A, D}); day 2 holds nothing.
    assert list(ls.loc[ls.weighting == "ew", "date_formed"]) == list(D[:2])
    assert list(ls.loc[ls.weighting == "ew", "date_held"]) == list(D[1:])
    ew = pick(q, weighting="ew").set_index(["date_formed", "quantile"])["ret"]
    exp = {(D[0], 1): (0.10 - 0.05) / 2, (D[0], 2): (0.02 + 0.04) / 2,
           (D[1], 1): (0.03 - 0.02) / 2, (D[1], 2): (0.01 + 0.05) / 2}
    for key, value in exp.items():
        assert ew[key] == pytest.approx(value, abs=1e-15)
    vw = pick(q, weighting="vw").set_index(["date_formed", "quantile"])["ret"]
    exp_vw = {(D[0], 1): 0.25 * 0.10 + 0.75 * -0.05, (D[0], 2): 0.5 * 0.02 + 0.5 * 0.04,
              (D[1], 1): 2 / 3 * 0.03 + 1 / 3 * -0.02, (D[1], 2): 0.4 * 0.01 + 0.6 * 0.05}
    for key, value in exp_vw.items():
        assert vw[key] == pytest.approx(value, abs=1e-15)

    # Turnover, EW. Day 0: first formation, 1 per leg. Day 1, long leg: {A .5, B .5} drifted over day 1
    # = {A .55, B .475} / 1.025, new {B .5, C .5}; short leg: {C .51, D .52} / 1.03 -> {A .5, D .5}.
    to_long = 0.55 / 1.025 + abs(0.5 - 0.475 / 1.025) + 0.5
    to_short = 0.5 + 0.51 / 1.03 + abs(0.5 - 0.52 / 1.03)
    ew_ls = pick(ls, weighting="ew").reset_index(drop=True)
    np.testing.assert_allclose(ew_ls["turnover"], [2.0, to_long + to_short], rtol=1e-14)
    np.testing.assert_allclose(ew_ls["gross"], [0.025 - 0.03, 0.005 - 0.03], atol=1e-15)
    np.testing.assert_allclose(ew_ls["cost"], 0.5e-4 * ew_ls["turnover"], rtol=1e-15)
    np.testing.assert_allclose(ew_ls["net"], ew_ls["gross"] - 0.5e-4 * ew_ls["turnover"], atol=1e-16)
    assert list(ew_ls["n_long"]) == [2, 2] and list(ew_ls["n_short"]) == [2, 2]
    q_to = pick(q, weighting="ew", date_formed=D[1]).set_index("quantile")["turnover"]
    assert q_to[1] == pytest.approx(to_long, rel=1e-14) and q_to[2] == pytest.approx(to_short, rel=1e-14)
    assert set(pick(ls, weighting="vw")["weight_source"]) == {"market_cap"}
    assert set(pick(ls, weighting="ew")["weight_source"]) == {"equal"}
    assert out.notes == () and out.vw_fallback_days == 0
    # Formation weights, including the last day (formed, not yet held).
    w = pick(out.weights, weighting="vw", date_formed=D[1]).set_index("symbol")["weight"]
    np.testing.assert_allclose(w[["B", "C", "A", "D"]], [2 / 3, 1 / 3, 0.4, 0.6], rtol=1e-15)
    assert set(out.weights["date_formed"]) == set(D)


def test_vw_falls_back_to_dollar_volume_when_caps_absent(small):
    rsj, panel = small
    panel = panel.drop(columns="market_cap").assign(dollar_volume=lambda f: f["symbol"].map(
        {"A": 1.0, "B": 3.0, "C": 2.0, "D": 2.0}))
    out = four_by_two(rsj, panel)
    vw = pick(out.quantiles, weighting="vw", date_formed=D[0]).set_index("quantile")
    assert vw.loc[1, "ret"] == pytest.approx(0.25 * 0.10 + 0.75 * -0.05, abs=1e-15)
    assert set(pick(out.long_short, weighting="vw")["weight_source"]) == {"dollar_volume"}
    assert out.vw_fallback_days == 3 and "market caps absent" in out.notes[0]


def test_partial_caps_fall_back_for_that_day_only(small):
    """Without the cap filter (min_market_cap=0), a universe coin without a cap makes that day's VW
    weights use dollar volume; with it (default), the coin is out of that day's universe instead."""
    rsj, panel = small
    out = rsj_quintile_portfolios(rsj, missing_on_day_1(panel, "C", "market_cap"), top_n=4, trailing_days=1,
                                  n_quantiles=2, min_market_cap=0)
    src = pick(out.long_short, weighting="vw").set_index("date_formed")["weight_source"]
    assert src[D[0]] == "market_cap" and src[D[1]] == "dollar_volume"
    assert out.vw_fallback_days == 1 and "1 of 3" in out.notes[0]
    assert set(out.universe["cap_filter"]) == {"off"}
    filtered = four_by_two(rsj, missing_on_day_1(panel, "C", "market_cap"))
    assert filtered.vw_fallback_days == 0
    assert "C" not in set(pick(filtered.weights, date_formed=D[1])["symbol"])
    u = filtered.universe.set_index("date_formed")
    assert u.loc[D[1], "n_universe"] == 3 and u.loc[D[1], "n_cap_excluded"] == 1
    assert set(u["cap_filter"]) == {"market_cap"}


def test_missing_held_return_is_dropped_and_rescaled(small):
    rsj, panel = small
    out = four_by_two(rsj, missing_on_day_1(panel, "B", "ret"))
    row = pick(out.quantiles, weighting="vw", date_formed=D[0], quantile=1).iloc[0]
    assert row["ret"] == pytest.approx(0.10, abs=1e-15) and row["n_coins"] == 1


def test_universe_top_n_by_trailing_dollar_volume():
    dates = pd.date_range("2024-01-01", periods=4, freq="D")
    syms = list("ABCDEF")
    rsj = long_frame({s: [0.1 * i - 0.2] * 4 for i, s in enumerate(syms)}, "rsj", dates)
    # Trailing 2-day mean at day 1: A 5, B 6, C 7, D 8, E 100 (only day 1, day 0 missing), F 0.5.
    dv = {"A": [4, 6, 6, 6], "B": [6, 6, 6, 6], "C": [7, 7, 7, 7], "D": [8, 8, 8, 8],
          "E": [np.nan, 100, 1, 1], "F": [0.5, 0.5, 500, 500]}
    panel = long_frame(dv, "dollar_volume", dates).assign(ret=0.01, market_cap=1e9)
    out = rsj_quintile_portfolios(rsj, panel, top_n=4, trailing_days=2, n_quantiles=2)
    held = lambda d: set(pick(out.weights, weighting="ew", date_formed=dates[d])["symbol"])  # noqa: E731
    assert held(1) == {"B", "C", "D", "E"}
    assert held(2) == {"C", "D", "E", "F"}  # E: (100 + 1) / 2; F: (0.5 + 500) / 2; B, A drop out
    assert held(3) == {"A", "C", "D", "F"}  # E: 1; A and B tie at 6: the symbol order keeps A
    assert set(out.universe["n_universe"]) == {4}


def one_day_market(values, caps=None, symbols=None):
    """Two days of the same RSJ values (one formation day held over the next), dollar volume 1."""
    dates = pd.date_range("2024-01-01", periods=2, freq="D")
    symbols = symbols or [f"S{i:02d}" for i in range(len(values))]
    rsj = long_frame({s: [v, v] for s, v in zip(symbols, values, strict=True)}, "rsj", dates)
    caps = {s: 1e9 for s in symbols} if caps is None else dict(zip(symbols, caps, strict=True))
    panel = rsj.drop(columns="rsj").assign(ret=0.0, dollar_volume=1.0, market_cap=lambda f: f["symbol"].map(caps))
    return rsj, panel, dates


def test_quantile_sizes_and_direction():
    vals = [0.9, -0.3, 0.1, -0.8, 0.5, 0.0, 0.2]
    syms = [f"S{i}" for i in range(7)]
    rsj, panel, dates = one_day_market(vals, symbols=syms)
    out = rsj_quintile_portfolios(rsj, panel, top_n=50, n_quantiles=5)
    w = pick(out.weights, weighting="ew", date_formed=dates[0])
    # Balanced: k = floor(7 / 5) = 1 per leg; the 5 middle coins (ranks 1..5) fill Q2..Q4 as
    # 2 + floor(j' * 3 / 5), j' = 0..4: 2, 2, 3, 3, 4 (Q1 = lowest RSJ).
    by_q = w.groupby("quantile")["symbol"].apply(set).to_dict()
    assert by_q == {1: {"S3"}, 2: {"S1", "S5"}, 3: {"S2", "S6"}, 4: {"S4"}, 5: {"S0"}}
    # The earlier rule: ranks 0..6 -> floor(k * 5 / 7) + 1 = 1, 1, 2, 3, 3, 4, 5 (uneven legs).
    old = rsj_quintile_portfolios(rsj, panel, top_n=50, n_quantiles=5, balanced_legs=False)
    by_q = pick(old.weights, weighting="ew", date_formed=dates[0]).groupby("quantile")["symbol"].apply(set).to_dict()
    assert by_q == {1: {"S3", "S1"}, 2: {"S5"}, 3: {"S2", "S6"}, 4: {"S4"}, 5: {"S0"}}


def test_balanced_legs_23_coins_four_and_four():
    rng = np.random.default_rng(23)
    rsj, panel, dates = one_day_market(rng.uniform(-1, 1, 23))
    for balanced, sizes in [(True, [4, 5, 5, 5, 4]), (False, [5, 5, 4, 5, 4])]:
        out = rsj_quintile_portfolios(rsj, panel, top_n=50, n_quantiles=5, balanced_legs=balanced)
        w = pick(out.weights, weighting="ew", date_formed=dates[0])
        assert w.groupby("quantile").size().tolist() == sizes, balanced
        ls = pick(out.long_short, weighting="ew").iloc[0]
        assert (ls["n_long"], ls["n_short"]) == (sizes[0], sizes[-1])
        # Q1 holds the lowest RSJ values, Q5 the highest
        v = rsj.loc[rsj["date"] == dates[0]].set_index("symbol")["rsj"]
        assert v[w.loc[w["quantile"] == 1, "symbol"]].max() < v[w.loc[w["quantile"] == 2, "symbol"]].min()
        assert v[w.loc[w["quantile"] == 5, "symbol"]].min() > v[w.loc[w["quantile"] == 4, "symbol"]].max()
        assert out.balanced_legs == balanced


@pytest.mark.parametrize("n_quantiles", [2, 3, 5, 10])
def test_quantile_of_rank_sizes(n_quantiles):
    """Every n from n_quantiles to 60: both legs hold floor(n / q), the middle quantiles differ by <= 1,
    every coin is in one quantile (but the median coin of an odd n with 2 quantiles), ranks in order."""
    for n in range(n_quantiles, 61):
        q = quantile_of_rank(np.arange(n)[None, :], np.array([n]), n_quantiles)[0]
        sizes = np.bincount(q, minlength=n_quantiles + 1)
        k = n // n_quantiles
        assert sizes[1] == sizes[n_quantiles] == k, (n, sizes)
        assert (np.diff(q[q > 0]) >= 0).all()
        assert sizes[0] == (n % 2 if n_quantiles == 2 else 0)
        middle = sizes[2:n_quantiles]
        assert len(middle) == 0 or middle.max() - middle.min() <= 1
    assert (quantile_of_rank(np.arange(3)[None, :], np.array([2]), 2)[0] == [1, 2, 0]).all()  # rank >= n: none


def test_ties_broken_by_symbol_deterministically():
    """Equal RSJ values: ordered by symbol (the alphabetically first ranks lower, i.e. goes long);
    the same result whatever the input row order."""
    syms = ["E", "B", "A", "D", "C", "F"]
    rsj, panel, dates = one_day_market([0.2] * 6, symbols=syms)
    out = rsj_quintile_portfolios(rsj, panel, top_n=50, n_quantiles=3)
    w = pick(out.weights, weighting="ew", date_formed=dates[0])
    assert w.groupby("quantile")["symbol"].apply(sorted).to_dict() == {1: ["A", "B"], 2: ["C", "D"], 3: ["E", "F"]}
    # a tie at the long leg's border: the alphabetically first of the tied coins goes long
    rsj2, panel2, _ = one_day_market([-0.5, 0.1, 0.1, 0.3, 0.4, 0.6], symbols=["Z", "Y", "X", "W", "V", "U"])
    w2 = pick(rsj_quintile_portfolios(rsj2, panel2, top_n=50, n_quantiles=3).weights, weighting="ew",
              date_formed=dates[0])
    assert set(w2.loc[w2["quantile"] == 1, "symbol"]) == {"Z", "X"}
    rng = np.random.default_rng(1)
    shuffled = rsj_quintile_portfolios(rsj.sample(frac=1, random_state=1), panel.iloc[rng.permutation(len(panel))],
                                       top_n=50, n_quantiles=3)
    for name in ("weights", "quantiles", "long_short", "universe"):
        pd.testing.assert_frame_equal(getattr(shuffled, name), getattr(out, name))


def test_market_cap_filter_where_caps_exist():
    """Caps at formation below $1M or unknown: out of the universe, on days when some coin has a cap;
    no cap anywhere (a klines-only source): no filter, recorded; min_market_cap <= 0: off."""
    vals = np.linspace(-0.9, 0.9, 12)
    caps = [5e5, 2e6, np.nan, 1e6, 3e9, 999_999.0, 4e7, 8e6, 2e6, 5e6, 1e8, 6e6]
    rsj, panel, dates = one_day_market(vals, caps)
    out = rsj_quintile_portfolios(rsj, panel, top_n=50, n_quantiles=3)  # 9 coins: 3 per quantile, all held
    held = set(pick(out.weights, weighting="ew", date_formed=dates[0])["symbol"])
    assert held == {"S01", "S03", "S04", "S06", "S07", "S08", "S09", "S10", "S11"}  # >= 1e6 exactly included
    u = out.universe.iloc[0]
    assert (u["n_universe"], u["n_cap_excluded"], u["cap_filter"]) == (9, 3, "market_cap")
    assert any("6 coin-days with an RSJ left out on 2 formation days" in n for n in out.notes)  # 3 a day
    # the cap filter comes before the top_n ranking by dollar volume
    dv = dict(zip([f"S{i:02d}" for i in range(12)], [100.0, 1, 90, 1, 1, 80, 1, 1, 1, 1, 1, 1], strict=True))
    top = rsj_quintile_portfolios(rsj, panel.assign(dollar_volume=panel["symbol"].map(dv)), top_n=4, n_quantiles=2)
    assert len(set(pick(top.weights, weighting="ew", date_formed=dates[0])["symbol"]) & {"S00", "S02", "S05"}) == 0
    # no caps at all: no filter, the fallback recorded (and VW on dollar volume)
    none = rsj_quintile_portfolios(rsj, panel.drop(columns="market_cap"), top_n=50, n_quantiles=2)
    assert len(pick(none.weights, weighting="ew", date_formed=dates[0])) == 12
    assert set(none.universe["cap_filter"]) == {"no_caps"} and any("no_caps" in n for n in none.notes)
    off = rsj_quintile_portfolios(rsj, panel, top_n=50, n_quantiles=2, min_market_cap=0)
    assert len(pick(off.weights, weighting="ew", date_formed=dates[0])) == 12
    assert set(off.universe["cap_filter"]) == {"off"} and off.min_market_cap == 0


def test_too_few_coins_forms_nothing(small):
    rsj, panel = small
    rsj = rsj.copy()
    rsj.loc[rsj.date == D[0], "rsj"] = [np.nan, np.nan, np.nan, 0.1]
    out = four_by_two(rsj, panel)
    assert list(pick(out.long_short, weighting="ew")["date_formed"]) == [D[1]]
    assert any("fewer than 2" in n for n in out.notes)


def random_market(seed: int, n_coins: int = 25, n_days: int = 60):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=n_days, freq="D")
    idx = pd.MultiIndex.from_product([[f"C{i:02d}" for i in range(n_coins)], dates], names=["symbol", "date"])
    frame = pd.DataFrame(index=idx).reset_index()
    n = len(frame)
    frame["rsj"] = np.where(rng.random(n) < 0.1, np.nan, rng.uniform(-1, 1, n))
    frame["ret"] = np.where(rng.random(n) < 0.03, np.nan, rng.normal(0, 0.04, n))
    frame["market_cap"] = np.where(rng.random(n) < 0.02, np.nan, rng.lognormal(20, 1, n))
    frame["dollar_volume"] = np.where(rng.random(n) < 0.05, np.nan, rng.lognormal(15, 1, n))
    return frame


@pytest.mark.parametrize("cut", [10, 33])
def test_no_look_ahead(cut):
    base = random_market(3)
    t = base["date"].min() + pd.Timedelta(days=cut)
    future = base["date"] > t
    rng = np.random.default_rng(99)
    pert = base.copy()
    for col in ["rsj", "ret", "market_cap", "dollar_volume"]:
        pert.loc[future, col] = pert.loc[future, col].to_numpy()[rng.permutation(int(future.sum()))]
    pert = pert[~(future & (rng.random(len(pert)) < 0.2))]  # coins vanish after t
    extra = pert[pert["symbol"] == "C00"].assign(symbol="ZNEW", dollar_volume=1e12)  # new giant after t
    pert = pd.concat([pert, extra[extra["date"] > t]], ignore_index=True)

    def run(frame):
        return rsj_quintile_portfolios(frame[["symbol", "date", "rsj"]], frame.drop(columns="rsj"),
                                       top_n=15, trailing_days=7)

    a, b = run(base), run(pert)
    for name, col in [("weights", "date_formed"), ("quantiles", "date_held"), ("long_short", "date_held")]:
        fa, fb = getattr(a, name), getattr(b, name)
        past_a = fa[fa[col] <= t].reset_index(drop=True)
        past_b = fb[fb[col] <= t].reset_index(drop=True)
        assert len(past_a) > 0
        pd.testing.assert_frame_equal(past_a, past_b)
    # The perturbation does change the future (the test can fail).
    assert not a.long_short[a.long_short["date_held"] > t]["gross"].equals(
        b.long_short[b.long_short["date_held"] > t]["gross"])


def test_long_short_consistency_on_random_market():
    out = rsj_quintile_portfolios(random_market(4).pipe(lambda f: f[["symbol", "date", "rsj"]]),
                                  random_market(4).drop(columns="rsj"), top_n=20, trailing_days=5)
    ls = out.long_short
    q = out.quantiles.set_index(["weighting", "date_formed", "quantile"])
    for _, r in ls.iterrows():
        assert r["ret_long"] == q.loc[(r["weighting"], r["date_formed"], 1), "ret"]
        assert r["ret_short"] == q.loc[(r["weighting"], r["date_formed"], 5), "ret"]
    assert ((ls["turnover"] >= 0) & (ls["turnover"] <= 4 + 1e-12)).all()
    sums = out.weights.groupby(["weighting", "date_formed", "quantile"])["weight"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    assert set(out.universe["n_universe"]) <= set(range(5, 21))


def test_bad_arguments(small):
    rsj, panel = small
    with pytest.raises(ValueError):
        rsj_quintile_portfolios(rsj, panel, weighting=("cap",))
    with pytest.raises(ValueError):
        rsj_quintile_portfolios(rsj, panel, top_n=3, n_quantiles=5)
    with pytest.raises(ValueError, match="duplicate"):
        rsj_quintile_portfolios(pd.concat([rsj, rsj.iloc[:1]]), panel)


def simulated_rsj_long_short(config, start, end) -> dict[str, object]:
    """RSJ from the simulated market's 5-minute bars (numpy oracle) -> portfolios -> backtest."""
    from cryptofactor_assets.analytics.backtest import backtest_report
    from cryptofactor_assets.rsj.numerics import rsj_from_bars
    from cryptofactor_assets.sources.simulated import SimulatedMarket

    market = SimulatedMarket(config)
    bars = pd.concat(market.iter_klines_5m(start, end), ignore_index=True)[["symbol", "open_time", "close"]]
    # The simulator appends deliberately bad rows (validation's job): keep on-grid, first copies only.
    bars = bars[bars["open_time"].astype("int64") % (300 * 10**9) == 0]
    bars = bars[~bars.duplicated(["symbol", "open_time"], keep="first")]
    rsj = rsj_from_bars(bars.assign(symbol=bars["symbol"].astype(str)))
    st = market.state
    days = pd.to_datetime(st.days)
    log_close = pd.DataFrame(st.log_close, index=days, columns=st.symbols)
    panel = pd.DataFrame({
        "ret": (np.exp(log_close.diff()) - 1).stack(),
        "market_cap": (np.exp(log_close) * st.supply).stack(),
        "dollar_volume": pd.DataFrame(st.dollar_volume, index=days, columns=st.symbols).stack(),
    }).rename_axis(["date", "symbol"]).reset_index()
    panel = panel[(panel["date"] >= pd.Timestamp(start)) & (panel["date"] < pd.Timestamp(end))]
    out = rsj_quintile_portfolios(rsj[["symbol", "date", "rsj"]], panel, top_n=50)
    reports = {}
    for w in ("ew", "vw"):
        ls = out.long_short[out.long_short["weighting"] == w].set_index("date_held")
        # the planted premium is a property of the gross return (the default fee, 5.5 bp per unit of a
        # ~2.9 daily turnover, takes ~16 bp a day: strategy_returns reports the net under the full costs)
        reports[w] = backtest_report(ls["gross"], n_long=ls["n_long"], n_short=ls["n_short"])
    return reports


@pytest.mark.parametrize("premium, sign", [(-0.03, 1), (0.03, -1)])
def test_planted_jump_premium_is_recovered(premium, sign):
    # Simulated next-day return = premium x planted RSJ (+ factors, noise); long Q1 - short Q5 earns
    # -premium x (RSJ spread): positive for the Zhang-Zhao sign, negative when the plant is flipped.
    import datetime as dt

    from cryptofactor_assets.sources.simulated import SimConfig

    config = SimConfig(n_coins=40, jump_premium=premium, history_start=dt.date(2023, 1, 1),
                       history_end=dt.date(2023, 12, 31))
    for w, rep in simulated_rsj_long_short(config, dt.date(2023, 3, 1), dt.date(2023, 9, 17)).items():
        assert sign * rep.mean > 0, w
        assert sign * rep.mean_t_nw > 3, (w, rep.mean_t_nw)
        assert rep.n_periods > 150 and rep.avg_coins_long > 5


@pytest.mark.slow
def test_planted_jump_premium_is_significant_on_the_default_demo():
    """The `make demo` market (default SimConfig: 60 coins, planted premium) over the demo's 2 years."""
    import datetime as dt

    from cryptofactor_assets.sources.simulated import SimConfig

    config = SimConfig()
    assert config.jump_premium < 0  # the Zhang-Zhao sign: high RSJ, low next-day return
    for w, rep in simulated_rsj_long_short(config, dt.date(2023, 1, 1), dt.date(2025, 1, 1)).items():
        assert rep.mean > 0, w
        assert rep.mean_t_nw > 2.5, (w, rep.mean_t_nw)  # gross: the stored demo gives 3.55-3.79 (README)
        assert rep.n_periods > 700
