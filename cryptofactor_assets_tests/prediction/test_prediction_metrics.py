"""Forecast metrics against scipy / hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from cryptofactor_assets.prediction import metrics as M


def test_r2_direction_brier_hand_values():
    y = np.array([0.1, -0.2, 0.3])
    f = np.array([0.05, -0.1, -0.1])
    assert M.r2_against(y, f, 0.0) == pytest.approx(1 - (0.05**2 + 0.1**2 + 0.4**2) / (0.01 + 0.04 + 0.09))
    assert M.r2_against(y, f, 0.1) == pytest.approx(1 - (0.05**2 + 0.1**2 + 0.4**2) / (0 + 0.09 + 0.04))
    assert M.direction_accuracy(y, f) == pytest.approx(2 / 3)
    assert M.direction_accuracy(np.array([0.1]), np.array([0.0])) == 0.0  # zero forecast counts as down
    assert M.brier_score(np.array([1, 0]), np.array([0.8, 0.3])) == pytest.approx((0.04 + 0.09) / 2)


def test_spearman_ic_equals_scipy_per_period():
    rng = np.random.default_rng(0)
    period = np.repeat(np.arange(12), 15)
    y = rng.standard_normal(period.size)
    f = 0.3 * y + rng.standard_normal(period.size)
    f[:15] = np.round(f[:15])  # ties in the first period
    f[15:30] = 1.0  # constant forecast: period skipped
    ic = M.spearman_ic(period, y, f)
    expected = [spearmanr(y[period == t], f[period == t]).statistic for t in range(12) if t != 1]
    np.testing.assert_allclose(ic.per_period.to_numpy(), expected, rtol=1e-12)
    assert ic.n_periods == 11
    assert ic.t == pytest.approx(np.mean(expected) / (np.std(expected, ddof=1) / np.sqrt(11)))


def test_coefficient_stability_hand_case():
    c = np.array([[1.0, 0.0, -1.0], [2.0, 0.5, 1.0], [3.0, 0.0, -2.0], [2.0, 0.0, -1.0]])
    s = M.coefficient_stability(c, ["a", "b", "c"]).set_index("feature")
    assert s.loc["a", "sign_consistency"] == 1.0 and s.loc["a", "mean"] == 2.0
    assert s.loc["b", "selection_freq"] == 0.25 and s.loc["b", "sign_consistency"] == 0.25
    assert s.loc["c", "sign_consistency"] == 0.75
    assert s.loc["a", "t_folds"] == pytest.approx(2.0 / (np.std([1, 2, 3, 2], ddof=1) / 2))
