"""Risk-free rate: CSV (daily / weekly, annualised percent), constant, default 0; no look-ahead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.sources.base import SourceError
from cryptofactor_assets.sources.risk_free import (
    constant_risk_free,
    daily_simple_rate,
    load_risk_free,
    read_risk_free_csv,
    weekly_simple_rate,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures"


def test_conversions_by_hand():
    assert daily_simple_rate(5.0) == pytest.approx(0.05 / 365, rel=1e-15)
    assert weekly_simple_rate(5.0) == pytest.approx(0.05 * 7 / 365, rel=1e-15)
    np.testing.assert_allclose(weekly_simple_rate([3.65, 0.0]), [0.0007, 0.0], rtol=1e-14)


def test_fred_daily_csv_asof_strictly_before():
    rf = read_risk_free_csv(FIX / "tbill_4wk_daily_fred.csv")
    assert rf.frequency == "daily" and "DTB4WK" in rf.note and "1 non-numeric" in rf.note
    days = pd.date_range("2024-01-01", "2024-01-09")
    y = rf.annual_pct_asof(days)
    # 01-01 and 01-02: nothing before -> NaN; 01-03 uses 01-02 (5.28); 01-05 uses 01-03 ('.' on 01-04 skipped);
    # weekend 01-06..08 uses 01-05 (5.26); 01-09 uses 01-08 (5.25)
    expected = [np.nan, np.nan, 5.28, 5.27, 5.27, 5.26, 5.26, 5.26, 5.25]
    np.testing.assert_array_equal(y.to_numpy(), expected)
    np.testing.assert_allclose(rf.daily(days).to_numpy(), np.array(expected) / 100 / 365, rtol=1e-15)
    assert "2 period(s) before the first observation" in rf.coverage_note(days)


def test_weekly_csv_and_weekly_rates():
    rf = read_risk_free_csv(FIX / "tbill_weekly.csv")
    assert rf.frequency == "weekly"
    mondays = pd.to_datetime(["2024-01-08", "2024-01-15", "2024-01-22"])
    np.testing.assert_allclose(rf.weekly(mondays).to_numpy(), np.array([5.26, 5.25, 5.24]) / 100 * 7 / 365,
                               rtol=1e-15)


def test_future_observations_do_not_move_past_rates(tmp_path):
    base = pd.read_csv(FIX / "tbill_weekly.csv")
    days = pd.date_range("2024-01-01", "2024-01-19")
    before = read_risk_free_csv(FIX / "tbill_weekly.csv").daily(days)
    changed = base.copy()
    changed.loc[changed["date"] == "2024-01-19", "rate"] = 99.0  # the last observation
    changed = pd.concat([changed, pd.DataFrame({"date": ["2024-01-26"], "rate": [1.0]})])
    changed.to_csv(tmp_path / "rf.csv", index=False)
    after = read_risk_free_csv(tmp_path / "rf.csv").daily(days)
    # a value dated 01-19 may only affect days after 01-19
    pd.testing.assert_series_equal(before, after)


def test_constant_default_and_env(monkeypatch, tmp_path):
    monkeypatch.delenv("CRYPTOFACTOR_RISK_FREE_CSV", raising=False)
    monkeypatch.delenv("CRYPTOFACTOR_RISK_FREE_PCT", raising=False)
    zero = load_risk_free()
    assert zero.constant_pct == 0.0 and "0 (none configured" in zero.note
    assert (zero.daily(pd.date_range("2024-01-01", periods=3)) == 0).all()
    c = constant_risk_free(3.65)
    np.testing.assert_allclose(c.daily(["2024-01-01"]).to_numpy(), [0.0001], rtol=1e-14)
    monkeypatch.setenv("CRYPTOFACTOR_RISK_FREE_PCT", "2.5")
    assert load_risk_free().constant_pct == 2.5
    monkeypatch.setenv("CRYPTOFACTOR_RISK_FREE_CSV", str(FIX / "tbill_weekly.csv"))
    with pytest.raises(ValueError, match="not both"):
        load_risk_free()
    monkeypatch.delenv("CRYPTOFACTOR_RISK_FREE_PCT")
    assert load_risk_free().frequency == "weekly"


def test_bad_files(tmp_path):
    (tmp_path / "a.csv").write_text("date,rate\n2024-01-01,5\nnot a date,5\n")
    with pytest.raises(SourceError, match="line 3"):
        read_risk_free_csv(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("date,rate\n2024-01-01,.\n")
    with pytest.raises(SourceError, match="no numeric rate"):
        read_risk_free_csv(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("date,rate\n2024-01-01,528\n")
    with pytest.raises(SourceError, match="annualised percent"):
        read_risk_free_csv(tmp_path / "c.csv")
    # tiny 2010s yields are legitimate percent values
    (tmp_path / "d.csv").write_text("date,rate\n2014-01-02,0.03\n2014-01-03,0.02\n")
    assert read_risk_free_csv(tmp_path / "d.csv").annual_pct_asof(["2014-01-04"]).iloc[0] == 0.02
