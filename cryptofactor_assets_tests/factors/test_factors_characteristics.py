"""LTW weekly characteristics: hand-computed panel, winsorisation oracles, gaps, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mstats

from cryptofactor_assets.estimators.ltw_calendar import WEEKLY_PANEL_COLUMNS
from cryptofactor_assets.factors.characteristics import (
    LTW_CHARACTERISTICS,
    LTW_LEVEL_CHARACTERISTICS,
    past_returns,
    weekly_characteristics,
)

MONDAYS = pd.date_range("2024-01-01", periods=8, freq="7D")


def _weekly_rows(symbol: str, weeks, rets, **extra) -> pd.DataFrame:
    n = len(weeks)
    base = {
        "symbol": symbol,
        "week_start": list(weeks),
        "ret": rets,
        "close": np.linspace(1.0, 2.0, n),
        "market_cap": np.linspace(2e6, 3e6, n),
        "max_price": np.linspace(1.5, 2.5, n),
        "avg_volume": np.full(n, 100.0),
        "avg_dollar_volume": np.full(n, 1e5),
        "std_dollar_volume": np.full(n, 1e4),
        "age_weeks": np.arange(n),
        "in_universe": True,
    }
    base.update(extra)
    return pd.DataFrame(base)


def test_hand_computed_small_panel():
    ra = [0.10, -0.20, 0.05, 0.30, -0.10, 0.02]
    a = _weekly_rows("A", MONDAYS[:6], ra)
    # B misses week 3 (index 2) entirely and has a NULL (incomplete) return in week 5 (index 4)
    b_weeks = [MONDAYS[i] for i in (0, 1, 3, 4, 5)]
    rb = [0.5, 0.5, 0.1, np.nan, 0.2]
    b = _weekly_rows("B", b_weeks, rb)
    out = weekly_characteristics(pd.concat([a, b]), winsor=None).set_index(["symbol", "week_start"])

    A = out.loc["A"]
    g = 1.0 + np.array(ra)
    t = MONDAYS[5]  # last week of A
    assert A.loc[t, "r1_0"] == pytest.approx(ra[5], abs=1e-15)
    assert A.loc[t, "r2_0"] == pytest.approx(g[4] * g[5] - 1, abs=1e-15)
    assert A.loc[t, "r3_0"] == pytest.approx(g[3] * g[4] * g[5] - 1, abs=1e-15)
    assert A.loc[t, "r4_0"] == pytest.approx(g[2] * g[3] * g[4] * g[5] - 1, abs=1e-15)
    # r4,1 = P(t-1) / P(t-4) - 1 = weeks t-3, t-2, t-1 compounded
    assert A.loc[t, "r4_1"] == pytest.approx(g[2] * g[3] * g[4] - 1, abs=1e-15)
    t3 = MONDAYS[3]
    assert A.loc[t3, "r4_0"] == pytest.approx(np.prod(g[:4]) - 1, abs=1e-15)
    assert A.loc[t3, "r4_1"] == pytest.approx(np.prod(g[:3]) - 1, abs=1e-15)
    assert np.isnan(A.loc[MONDAYS[2], "r4_1"])  # would need the week before the first one
    assert np.isnan(A.loc[MONDAYS[2], "r4_0"]) and A.loc[MONDAYS[2], "r3_0"] == pytest.approx(
        np.prod(g[:3]) - 1
    )

    B = out.loc["B"]
    assert B.loc[MONDAYS[1], "r2_0"] == pytest.approx(1.5 * 1.5 - 1)
    # week 3 follows the missing week 2: no compounding across the gap
    assert B.loc[MONDAYS[3], "r1_0"] == pytest.approx(0.1)
    assert np.isnan(B.loc[MONDAYS[3], "r2_0"])
    # week 4 has a NULL return: every window containing it is NaN
    assert np.isnan(B.loc[MONDAYS[4], "r1_0"]) and np.isnan(B.loc[MONDAYS[5], "r2_0"])
    assert B.loc[MONDAYS[5], "r1_0"] == pytest.approx(0.2)

    # level characteristics: plain logs, maxdprc in USD by default
    assert A.loc[t, "mcap"] == pytest.approx(np.log(3e6))
    assert A.loc[t, "prc"] == pytest.approx(np.log(2.0))
    assert A.loc[t, "maxdprc"] == pytest.approx(2.5)
    assert A.loc[t, "vol"] == pytest.approx(np.log(100.0))
    assert A.loc[t, "prcvol"] == pytest.approx(np.log(1e5))
    assert A.loc[t, "stdprcvol"] == pytest.approx(np.log(1e4))
    assert A.loc[t, "age"] == 5.0
    assert list(out.columns[:12]) == list(LTW_CHARACTERISTICS)
    logged = weekly_characteristics(pd.concat([a, b]), winsor=None, log_maxdprc=True)
    assert logged["maxdprc"].iloc[0] == pytest.approx(np.log(1.5))


def test_logs_of_zero_are_nan_not_log1p():
    a = _weekly_rows(
        "A",
        MONDAYS[:3],
        [0.1, 0.1, 0.1],
        avg_volume=[0.0, 5.0, 5.0],
        std_dollar_volume=[0.0, 1.0, np.nan],
        market_cap=[0.0, 2e6, 2e6],
    )
    out = weekly_characteristics(a, winsor=None)
    assert np.isnan(out.loc[0, "vol"]) and np.isnan(out.loc[0, "stdprcvol"]) and np.isnan(out.loc[0, "mcap"])
    assert out.loc[1, "stdprcvol"] == 0.0  # log(1) = 0, not log(2)
    assert np.isnan(out.loc[2, "stdprcvol"])


def test_ltw_calendar_week_52_is_consecutive():
    # LTW weeks: 2020-12-16, 2020-12-23 (9 days), 2021-01-01: consecutive although 9 days apart.
    weeks = pd.to_datetime(["2020-12-16", "2020-12-23", "2021-01-01"])
    a = _weekly_rows("A", weeks, [0.1, 0.2, 0.3])
    ltw = weekly_characteristics(a, winsor=None, calendar="ltw")
    assert ltw.loc[2, "r3_0"] == pytest.approx(1.1 * 1.2 * 1.3 - 1)
    # LTW week starts are not ISO week starts: refused rather than silently re-bucketed
    with pytest.raises(ValueError, match="period starts"):
        past_returns(a, calendar="iso")
    # a real gap on the LTW calendar (week 2020-12-23 missing) is not compounded over
    gap = weekly_characteristics(a.drop(index=1), winsor=None, calendar="ltw")
    assert np.isnan(gap.loc[1, "r2_0"]) and gap.loc[1, "r1_0"] == pytest.approx(0.3)


def _random_panel(seed: int, n_coins: int, n_weeks: int, p_missing: float = 0.05) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2023-01-02", periods=n_weeks, freq="7D")
    sym = np.repeat([f"C{i:03d}" for i in range(n_coins)], n_weeks)
    wk = np.tile(weeks, n_coins)
    n = sym.size
    df = pd.DataFrame(
        {
            "symbol": sym,
            "week_start": wk,
            "ret": rng.standard_t(3, n) * 0.1,
            "close": np.exp(rng.normal(0, 3, n)),
            "market_cap": np.exp(rng.normal(17, 2.5, n)),
            "max_price": np.exp(rng.normal(0, 3, n)),
            "avg_volume": np.exp(rng.normal(10, 2, n)),
            "avg_dollar_volume": np.exp(rng.normal(12, 2, n)),
            "std_dollar_volume": np.exp(rng.normal(11, 2, n)),
            "age_weeks": rng.integers(0, 300, n),
            "in_universe": rng.uniform(size=n) > 0.2,
        }
    )
    df.loc[rng.uniform(size=n) < p_missing, "ret"] = np.nan
    return df.loc[rng.uniform(size=n) > p_missing].reset_index(drop=True)


@pytest.mark.parametrize("winsorize_on", ["eligible", "all"])
def test_winsorisation_equals_numpy_quantile_loop(winsorize_on):
    panel = _random_panel(2, 150, 6)
    lo, hi = 0.05, 0.9
    ours = weekly_characteristics(panel, winsor=(lo, hi), winsorize_on=winsorize_on)
    raw = weekly_characteristics(panel, winsor=None)
    assert (ours[["symbol", "week_start"]].to_numpy() == raw[["symbol", "week_start"]].to_numpy()).all()
    n_clipped = 0
    for _week, idx in raw.groupby("week_start").groups.items():
        basis = raw.loc[idx, "in_universe"] if winsorize_on == "eligible" else pd.Series(True, index=idx)
        for col in LTW_LEVEL_CHARACTERISTICS:
            x = raw.loc[idx, col].to_numpy()
            sel = basis.to_numpy() & ~np.isnan(x)
            qlo, qhi = np.quantile(x[sel], [lo, hi])
            expect = np.where(sel, np.clip(x, qlo, qhi), x)
            np.testing.assert_allclose(ours.loc[idx, col].to_numpy(), expect, rtol=0, atol=0)
            n_clipped += int((expect != x)[sel].sum())
        # returns untouched
        for col in ["r1_0", "r2_0", "r3_0", "r4_0", "r4_1"]:
            np.testing.assert_array_equal(ours.loc[idx, col].to_numpy(), raw.loc[idx, col].to_numpy())
    assert n_clipped > 0


def test_winsorisation_matches_scipy_mstats_when_quantiles_hit_order_statistics():
    # With n = 101 values, the 1 % / 99 % linear quantiles are exactly the 2nd smallest / largest
    # value, which is what scipy's winsorize(limits=0.01) clips to.
    rng = np.random.default_rng(4)
    weeks = pd.date_range("2024-01-01", periods=3, freq="7D")
    frames = [
        _weekly_rows(f"C{i}", weeks, rng.normal(0, 0.1, 3), market_cap=np.exp(rng.normal(16, 3, 3)))
        for i in range(101)
    ]
    panel = pd.concat(frames, ignore_index=True)
    out = weekly_characteristics(panel, winsor=(0.01, 0.99))
    raw = weekly_characteristics(panel, winsor=None)
    for week in weeks:
        sel = raw["week_start"] == week
        ref = np.asarray(mstats.winsorize(raw.loc[sel, "mcap"].to_numpy(), limits=(0.01, 0.01)))
        np.testing.assert_allclose(out.loc[sel, "mcap"].to_numpy(), ref, rtol=1e-15, atol=0)
        assert not np.array_equal(ref, raw.loc[sel, "mcap"].to_numpy())


def test_past_returns_equal_rolling_loop_oracle():
    panel = _random_panel(7, 40, 30, p_missing=0.1)
    ours = past_returns(panel)
    for _sym, g in panel.groupby("symbol"):
        s = g.set_index("week_start")["ret"].reindex(pd.date_range("2023-01-02", periods=30, freq="7D"))
        for name, (i, j) in {"r1_0": (1, 0), "r3_0": (3, 0), "r4_0": (4, 0), "r4_1": (4, 1)}.items():
            gross = 1.0 + s.to_numpy()
            expect = np.full(gross.size, np.nan)
            for t in range(gross.size):
                window = gross[t - i + 1 : t - j + 1] if t - i + 1 >= 0 else []
                if len(window) == i - j and not np.isnan(window).any():
                    expect[t] = np.prod(window) - 1
            got = pd.Series(ours.loc[g.index, name].to_numpy(), index=g["week_start"])
            np.testing.assert_allclose(
                got.to_numpy(), pd.Series(expect, index=s.index).loc[got.index], rtol=1e-13, atol=1e-15
            )


def test_no_look_ahead_perturbing_later_weeks():
    panel = _random_panel(11, 120, 12)
    t = pd.Timestamp("2023-01-02") + pd.Timedelta(weeks=6)
    full = weekly_characteristics(panel)
    rng = np.random.default_rng(12)
    pert = panel.copy()
    later = pert["week_start"] > t
    not_perturbed = ("symbol", "week_start", "n_days", "n_returns", "age_weeks", "in_universe")
    for col in [c for c in WEEKLY_PANEL_COLUMNS if c not in not_perturbed and c in pert.columns]:
        pert.loc[later, col] = pert.loc[later, col] * rng.uniform(0.1, 10.0, later.sum())
    pert.loc[later, "in_universe"] = ~pert.loc[later, "in_universe"]
    extra = _weekly_rows(
        "LATE", pd.date_range(t + pd.Timedelta(weeks=1), periods=3, freq="7D"), [9.0, 9.0, 9.0]
    )
    again = weekly_characteristics(pd.concat([pert, extra], ignore_index=True))
    key = ["symbol", "week_start"]
    past = full.loc[full["week_start"] <= t].set_index(key).sort_index()
    past2 = again.loc[again["week_start"] <= t].set_index(key).sort_index()
    pd.testing.assert_frame_equal(past, past2)
    # sanity: later rows did change
    fut = full.loc[full["week_start"] > t].set_index(key).sort_index()
    assert not np.allclose(fut["mcap"], again.set_index(key).loc[fut.index, "mcap"])


def test_parameters_are_validated_and_stored():
    panel = _random_panel(1, 10, 3)
    out = weekly_characteristics(panel, winsor=(0.02, 0.98), calendar="iso")
    assert (out["winsor_lower"] == 0.02).all() and (out["winsor_upper"] == 0.98).all()
    assert (out["calendar"] == "iso").all()
    with pytest.raises(ValueError):
        weekly_characteristics(panel, winsor=(0.9, 0.1))
    with pytest.raises(ValueError):
        weekly_characteristics(panel, winsorize_columns=("r1_0",))
    with pytest.raises(ValueError):
        weekly_characteristics(pd.concat([panel, panel.iloc[:1]]))
