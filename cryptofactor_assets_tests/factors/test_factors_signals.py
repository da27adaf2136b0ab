"""The chapter's VOL, FUND, CHAIN factors: each signal and each sort against a per-coin / per-period pandas
reference, hand-computed legs, NULL (never 0) without an input, the per-week factor sets of the rolling
betas, the chapter's 30-day momentum, no look-ahead of the signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.estimators import panels
from cryptofactor_assets.estimators.rolling_ols import rolling_ols
from cryptofactor_assets.factors import signals as sg
from cryptofactor_assets.factors.compute_daily import (
    compute_daily_factors,
    compute_rolling_betas,
    factors_in_window,
)
from cryptofactor_assets.factors.compute_weekly import compute_weekly_factors
from cryptofactor_assets.factors.construction import factor_columns, factor_returns, momentum_signal

T0, T1 = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")
DAYS = pd.date_range("2024-01-01", periods=90, freq="D")


def _random_daily(seed: int = 3, n: int = 40, days=DAYS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "symbol": np.repeat([f"C{i:02d}" for i in range(n)], days.size),
        "date": np.tile(days, n),
        "ret": rng.normal(0.0, 0.05, n * days.size) * np.repeat(rng.uniform(0.3, 2.0, n), days.size),
        "market_cap": np.exp(rng.normal(17, 2, n * days.size)),
        "in_universe": rng.uniform(size=n * days.size) > 0.05,
    })
    df.loc[rng.uniform(size=len(df)) < 0.04, "ret"] = np.nan
    return df.loc[rng.uniform(size=len(df)) > 0.03].reset_index(drop=True)  # gaps


def _random_funding(seed: int = 4, n: int = 40, days=DAYS) -> pd.DataFrame:
    """Raw settlements: three a day at 8 h, some coins on 1 h intervals, missing days, a late listing."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        hours = range(0, 24, 1) if i % 7 == 0 else (0, 8, 16)
        start = 20 if i == 5 else 0
        for d in days[start:]:
            if rng.uniform() < 0.02:
                continue  # a day without settlements
            for h in hours:
                rows.append((f"C{i:02d}", d + pd.Timedelta(hours=h), rng.normal(1e-4, 3e-4) / len(hours) * 3))
    return pd.DataFrame(rows, columns=["symbol", "funding_time", "funding_rate"])


def _random_onchain(seed: int = 5, n: int = 40, days=DAYS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "symbol": np.repeat([f"C{i:02d}" for i in range(n)], days.size),
        "date": np.tile(days, n),
        "active_addresses": np.exp(rng.normal(8, 1, n * days.size)).round(),
        "tx_count": np.exp(rng.normal(9, 1, n * days.size)).round(),
    })
    df.loc[rng.uniform(size=len(df)) < 0.01, "active_addresses"] = 0.0  # not positive: not a value
    return df.loc[rng.uniform(size=len(df)) > 0.05].reset_index(drop=True)  # publication gaps


# ------------------------------------------------------------------------------------ signals
def test_volatility_signal_equals_a_per_coin_loop():
    df = _random_daily()
    got = sg.volatility_signal(df, DAYS, 30, 20)
    for sym in ["C00", "C07", "C21"]:
        s = df[df.symbol == sym].set_index("date")["ret"]
        for d in DAYS[::7]:
            r = s[(s.index > d - pd.Timedelta(days=30)) & (s.index <= d)].dropna()
            want = r.std(ddof=1) if len(r) >= 20 else np.nan
            assert got.loc[d, sym] == pytest.approx(want, rel=1e-10, nan_ok=True), (sym, d)
    assert got.loc[DAYS[18]].isna().all() and got.loc[DAYS[40]].notna().mean() > 0.9


def test_funding_signal_equals_a_per_coin_loop():
    raw = _random_funding()
    per_day = sg.daily_funding(raw)
    assert (per_day.loc[per_day.symbol == "C00", "n_settlements"] == 24).all()  # 1-hour contract
    got = sg.funding_signal(per_day, DAYS, 7)
    for sym in ["C00", "C01", "C05", "C13"]:
        r = raw[raw.symbol == sym]
        day = r["funding_time"].dt.floor("D")
        for d in DAYS[::5]:
            inside = (day > d - pd.Timedelta(days=7)) & (day <= d)
            complete = day[inside].nunique() == 7
            want = r.loc[inside, "funding_rate"].sum() if complete else np.nan
            assert got.loc[d, sym] == pytest.approx(want, rel=1e-10, abs=1e-15, nan_ok=True), (sym, d)
    assert got.loc[DAYS[25], "C05"] != got.loc[DAYS[25], "C05"]  # listed on day 20: no full week yet
    # the settlement at 00:00 of the next day is not part of day d's signal
    later = raw.assign(funding_rate=np.where(raw.funding_time >= DAYS[50] + pd.Timedelta(days=1), 9.0,
                                             raw.funding_rate))
    np.testing.assert_array_equal(sg.funding_signal(sg.daily_funding(later), DAYS[:51], 7).to_numpy(),
                                  got.loc[DAYS[:51]].to_numpy())


@pytest.mark.parametrize("measure", ["active_addresses", "tx_count"])
def test_chain_signal_equals_a_per_coin_loop(measure):
    oc = _random_onchain()
    got = sg.chain_signal(oc, DAYS, 7, 28, measure, 5, 20)
    for sym in ["C00", "C09", "C33"]:
        s = oc[oc.symbol == sym].set_index("date")[measure]
        s = s[s > 0]
        for d in DAYS[::6]:
            recent = s[(s.index > d - pd.Timedelta(days=7)) & (s.index <= d)]
            before = s[(s.index > d - pd.Timedelta(days=35)) & (s.index <= d - pd.Timedelta(days=7))]
            want = (np.log(recent.mean()) - np.log(before.mean())
                    if len(recent) >= 5 and len(before) >= 20 else np.nan)
            assert got.loc[d, sym] == pytest.approx(want, rel=1e-10, abs=1e-14, nan_ok=True), (sym, d, measure)
    with pytest.raises(ValueError, match="measure"):
        sg.chain_signal(oc, DAYS, measure="price")


def test_signals_of_day_d_never_read_a_later_row():
    df, oc, fund = _random_daily(), _random_onchain(), sg.daily_funding(_random_funding())
    cut = DAYS[60]
    before = (sg.volatility_signal(df, DAYS), sg.funding_signal(fund, DAYS), sg.chain_signal(oc, DAYS))
    df2 = df.assign(ret=np.where(df.date > cut, 5.0, df.ret))
    oc2 = oc.assign(active_addresses=np.where(oc.date > cut, 1e9, oc.active_addresses))
    fund2 = fund.assign(funding=np.where(fund.date > cut, -1.0, fund.funding))
    after = (sg.volatility_signal(df2, DAYS), sg.funding_signal(fund2, DAYS), sg.chain_signal(oc2, DAYS))
    for b, a in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(b.loc[:cut], a.loc[:cut])
        assert not b.loc[cut + pd.Timedelta(days=1):].equals(a.loc[cut + pd.Timedelta(days=1):])


# ------------------------------------------------------------------------------------ the sorts
def _one_period(mcap, ret_next, signal) -> pd.DataFrame:
    n = len(mcap)
    sym = [f"C{i}" for i in range(n)]
    t0 = pd.DataFrame({"symbol": sym, "date": T0, "ret": 0.0, "market_cap": np.asarray(mcap, float),
                       "in_universe": True, "mom": np.nan, "sig": np.asarray(signal, float)})
    t1 = pd.DataFrame({"symbol": sym, "date": T1, "ret": np.asarray(ret_next, float), "market_cap": 1.0,
                       "in_universe": False, "mom": np.nan, "sig": np.nan})
    return pd.concat([t0, t1], ignore_index=True)


MCAP = np.arange(1, 11) * 1e6
RET = np.array([0.10, -0.05, 0.20, 0.03, -0.10, 0.07, 0.30, -0.02, 0.15, 0.01])
# volatility falls with size (small coins are volatile): an independent 2 x 3 sort would leave cells empty
VOLS = np.array([0.10, 0.09, 0.12, 0.08, 0.11, 0.04, 0.06, 0.03, 0.05, 0.02])


def _vw(idx):
    idx = list(idx)
    return float(np.sum(MCAP[idx] * RET[idx]) / np.sum(MCAP[idx]))


def test_hand_computed_dependent_double_sort_and_single_sort():
    panel = _one_period(MCAP, RET, VOLS)
    out = factor_returns(panel, period_col="date", calendar="daily", momentum_col="mom",
                         signals={"vol": ("sig", "low")})
    assert list(out.columns) == list(factor_columns(["vol"])) and len(out) == 1
    row = out.iloc[0]
    # size halves: coins 0-4 small, 5-9 big; within each half the 30/70 volatility breakpoints
    # small vols [.10 .09 .12 .08 .11]: b30 = 0.092, b70 = 0.106 -> low {1, 3}, high {2, 4}
    # big vols [.04 .06 .03 .05 .02]: b30 = 0.032, b70 = 0.048 -> low {7, 9}, high {6, 8}
    want = (_vw([1, 3]) + _vw([7, 9])) / 2 - (_vw([2, 4]) + _vw([6, 8])) / 2
    assert row["vol"] == pytest.approx(want, rel=1e-12)
    assert (row["n_vol_long"], row["n_vol_short"]) == (4, 4)
    # an independent sort (CMOM's) has no big coin in the high-volatility third: that factor is undefined
    indep = factor_returns(panel.assign(mom=panel["sig"]), period_col="date", calendar="daily", momentum_col="mom")
    assert np.isnan(indep.iloc[0]["cmom"])
    single = factor_returns(panel, period_col="date", calendar="daily", momentum_col="mom",
                            cmom_construction="single_sort", signals={"vol": ("sig", "low"), "up": ("sig", "high")})
    # vols sorted: b30 = 0.047, b70 = 0.093 -> low {5, 7, 9}, high {0, 2, 4}
    assert single.iloc[0]["vol"] == pytest.approx(_vw([5, 7, 9]) - _vw([0, 2, 4]), rel=1e-12)
    assert single.iloc[0]["up"] == pytest.approx(-single.iloc[0]["vol"], rel=1e-12)
    with pytest.raises(ValueError, match="long side"):
        factor_returns(panel, period_col="date", calendar="daily", momentum_col="mom", signals={"x": ("sig", "up")})
    with pytest.raises(ValueError, match="lacks"):
        factor_returns(panel, period_col="date", calendar="daily", momentum_col="mom", signals={"x": ("nope", "low")})


def _reference_signal_factor(panel, step, construction, signal, side, period_col="date"):
    """Per-period loop: VW legs of a 30/70 sort (within size halves for the double sort)."""
    rets = panel.set_index(["symbol", period_col])["ret"]
    rows = []
    for t, g in panel.groupby(period_col):
        g = g[g["in_universe"] & (g["market_cap"] > 0)].copy()
        if g.empty:
            continue
        g["r"] = rets.reindex(pd.MultiIndex.from_arrays([g["symbol"], [t + step] * len(g)])).to_numpy()
        if g["r"].notna().sum() == 0:
            continue
        g["r"] = g["r"].fillna(0.0)  # the delisting return
        g = g[g[signal].notna()]

        def vw(s):
            return (s["market_cap"] * s["r"]).sum() / s["market_cap"].sum() if len(s) else np.nan

        def legs(h):
            lo30, hi70 = np.quantile(h[signal], [0.3, 0.7])
            low, high = h[h[signal] <= lo30], h[h[signal] > hi70]
            return (low, high) if side == "low" else (high, low)

        if g.empty:
            rows.append((t + step, np.nan, 0, 0))
            continue
        if construction == "single_sort":
            long, short = legs(g)
            rows.append((t + step, vw(long) - vw(short), len(long), len(short)))
            continue
        med = np.median(g["market_cap"])
        halves = [g[g["market_cap"] <= med], g[g["market_cap"] > med]]
        pairs = [legs(h) for h in halves]
        f = sum(vw(lg) for lg, _ in pairs) / 2 - sum(vw(sh) for _, sh in pairs) / 2
        rows.append((t + step, f, sum(len(lg) for lg, _ in pairs), sum(len(sh) for _, sh in pairs)))
    return pd.DataFrame(rows, columns=["period", "f", "n_long", "n_short"])


@pytest.mark.parametrize("construction", ["double_sort", "single_sort"])
@pytest.mark.parametrize("side", ["low", "high"])
def test_signal_factors_equal_a_per_period_reference(construction, side):
    df = _random_daily(11, 60)
    df["mom"] = momentum_signal(df, 21)
    df["s"] = sg.attach_signals(df, {"v": sg.volatility_signal(df, DAYS)})["v"]
    ours = factor_returns(df, period_col="date", calendar="daily", momentum_col="mom", cmom_construction=construction,
                          signals={"f": ("s", side)})
    ref = _reference_signal_factor(df, pd.Timedelta(days=1), construction, "s", side)
    assert len(ours) == len(ref) == DAYS.size - 1
    np.testing.assert_allclose(ours["f"], ref["f"], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(ours["n_f_long"], ref["n_long"])
    np.testing.assert_array_equal(ours["n_f_short"], ref["n_short"])
    assert ours["f"].notna().sum() >= DAYS.size - 1 - 21  # VOL needs 20 returns
    assert (ours["n_f_long"].iloc[:18] == 0).all()


def test_daily_factors_are_null_never_zero_without_their_inputs():
    df = _random_daily()
    out = compute_daily_factors(df, DAYS[40], DAYS[-1] + pd.Timedelta(days=1))
    assert out["vol"].notna().all() and out["fund"].isna().all() and out["chain"].isna().all()
    assert (out[["n_fund_long", "n_fund_short", "n_chain_long", "n_chain_short"]] == 0).all().all()
    full = compute_daily_factors(df, DAYS[40], DAYS[-1] + pd.Timedelta(days=1),
                                 funding=sg.daily_funding(_random_funding()), onchain=_random_onchain())
    assert full[["vol", "fund", "chain"]].notna().all().all()
    pd.testing.assert_frame_equal(full[["mkt", "size", "mom", "vol"]], out[["mkt", "size", "mom", "vol"]])
    assert set(full[["vol_lookback", "fund_lookback", "chain_short", "chain_long"]].iloc[0]) == {30, 7, 28}


def test_the_chapters_30_day_momentum_and_the_weekly_r4_0():
    df = _random_daily(days=pd.date_range("2024-01-01", periods=120, freq="D"))
    start, end = pd.Timestamp("2024-03-01"), pd.Timestamp("2024-04-01")
    m21 = compute_daily_factors(df, start, end)
    m30 = compute_daily_factors(df, start, end, momentum_lookback=30)
    assert (m30["momentum_lookback"] == 30).all() and not np.allclose(m21["mom"], m30["mom"])
    panel = df.assign(mom=momentum_signal(df, 30))
    want = factor_returns(panel, period_col="date", calendar="daily", momentum_col="mom").set_index("period")
    np.testing.assert_allclose(m30["mom"], want.loc[m30["date"], "cmom"], rtol=1e-12)
    # weekly: CMOM on r4_0 (4 whole weeks, the nearest to 30 days) instead of LTW's r3_0
    chars = pd.DataFrame({"symbol": np.repeat(["A", "B", "C", "D"], 3), "market_cap": 1e7, "in_universe": True,
                          "week_start": np.tile(pd.date_range("2024-01-01", periods=3, freq="7D"), 4),
                          "ret": 0.01 * np.arange(12), "r3_0": 0.0, "r4_0": np.tile([1.0, 2.0, 3.0], 4)})
    out = compute_weekly_factors(chars, "2024-01-08", "2024-01-22", momentum_signal="r4_0")
    assert (out["momentum_signal"] == "r4_0").all() and out[["cvol", "cfund", "cchain"]].isna().all().all()
    with pytest.raises(ValueError, match="momentum_signal"):
        compute_weekly_factors(chars, "2024-01-08", "2024-01-22", momentum_signal="r30")


# ------------------------------------------------------------------------ rolling betas' factor sets
def test_rolling_betas_use_each_factor_from_the_first_week_that_reads_it():
    days = pd.date_range("2024-01-01", periods=200, freq="D")
    df = _random_daily(8, 15, days)
    rng = np.random.default_rng(9)
    fac = pd.DataFrame({"date": days, "rf": 0.0, **{c: rng.normal(0, 0.02, days.size)
                                                    for c in ("mkt", "size", "mom", "vol", "fund", "chain")}})
    fac.loc[fac.date < "2024-04-15", "chain"] = np.nan  # an on-chain file that starts later
    fac["fund"] = np.nan  # no funding at all (a spot source)
    df = df.merge(fac[["date", "mkt", "chain"]], on="date")
    df["ret"] = 0.2 * df["ret"] + 1.2 * df["mkt"] + 0.8 * df["chain"].fillna(0.0)
    start, end = pd.Timestamp("2024-03-04"), pd.Timestamp("2024-07-15")  # Mondays
    out = compute_rolling_betas(df, fac, start, end, 60, 40)
    sets = out.groupby("factors")["date"].agg(["min", "max"])
    # CHAIN enters the week whose read (its Monday - 59 days .. its Sunday) holds its first value ...
    assert list(sets.index) == ["mkt,size,mom,vol", "mkt,size,mom,vol,chain"]
    assert sets.loc["mkt,size,mom,vol", "max"] == pd.Timestamp("2024-04-14")
    assert out["beta_fund"].isna().all() and out["factors"].str.contains("fund").sum() == 0
    assert out.loc[out.factors == "mkt,size,mom,vol", "beta_chain"].isna().all()
    # ... with no estimate until 40 days of CHAIN are in a window (a new factor masks days, never shrinks)
    six = out[out.factors == "mkt,size,mom,vol,chain"]
    assert six["date"].min() >= pd.Timestamp("2024-04-15") + pd.Timedelta(days=39) > sets.loc["mkt,size,mom,vol", "max"]
    assert (six["n_obs"] >= 40).all()
    assert abs(six["beta_chain"].mean() - 0.8) < 0.15 and abs(six["beta_mkt"].mean() - 1.2) < 0.15
    # the oracle: rolling_ols on those columns
    y = panels.pivot_panel(df, "ret", index=panels.day_range(start - pd.Timedelta(days=59), end))
    f = fac.set_index("date").reindex(y.index)
    res = rolling_ols(y.to_numpy(), f[["mkt", "size", "mom", "vol", "chain"]].to_numpy(), window=60, min_obs=40,
                      se_type="hc3")
    want = pd.DataFrame(res.params[..., 5], index=y.index, columns=y.columns).stack().rename("b").reset_index()
    want.columns = ["date", "symbol", "b"]
    merged = six.merge(want, on=["date", "symbol"])
    assert len(merged) == len(six)
    np.testing.assert_allclose(merged["beta_chain"], merged["b"], rtol=1e-10)
    # week by week equals one call
    weekly = pd.concat([compute_rolling_betas(df, fac, d, d + pd.Timedelta(days=7), 60, 40)
                        for d in pd.date_range(start, end - pd.Timedelta(days=1), freq="7D")], ignore_index=True)
    pd.testing.assert_frame_equal(weekly, out)
    assert factors_in_window(fac, "2024-01-01", "2024-04-15") == ("mkt", "size", "mom", "vol")
    with pytest.raises(ValueError, match="include"):
        compute_rolling_betas(df, fac, start, end, 60, 40, factor_names=("mkt", "vol"))
    only3 = compute_rolling_betas(df, fac, start, end, 60, 40, factor_names=("mkt", "size", "mom"))
    assert set(only3["factors"]) == {"mkt,size,mom"} and only3["beta_vol"].isna().all()


def test_signal_inputs_are_none_with_a_note_without_funding_or_onchain_rows(tmp_path):
    # No table at all, then empty tables: FUND / CHAIN inputs are None (the factors NULL, never 0), each said.
    import datetime as dt

    import duckdb

    from cryptofactor_assets.factors.assets_common import read_signal_inputs
    from cryptofactor_assets.storage.warehouse import ensure_table

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for _ in range(2):
        funding, onchain, notes = read_signal_inputs(con, dt.date(2024, 1, 8), dt.date(2024, 1, 15), 7, 28)
        assert funding is None and onchain is None
        assert [n.split(":")[0] for n in notes] == ["FUND is NULL", "CHAIN is NULL"]
        assert "2024-01-01 .. 2024-01-15" in notes[0] and "2023-12-11 .. 2024-01-15" in notes[1]
        ensure_table(con, "raw_funding_rates")
        ensure_table(con, "raw_onchain_activity")
    con.close()
