"""Fixtures shared by the walk-forward and calibration tests: the simulated panel and one walk-forward run
(module-scoped: each test module builds its own)."""

from __future__ import annotations

import pytest

from cryptofactor_assets.prediction.walk_forward import WalkForwardConfig, make_panel, run_walk_forward


@pytest.fixture(scope="module")
def panel():
    from cryptofactor_assets_tests.prediction.test_prediction_walk_forward import FEATURES, sim_panel

    return make_panel(sim_panel(), FEATURES)


@pytest.fixture(scope="module")
def result(panel):
    from cryptofactor_assets_tests.prediction.test_prediction_walk_forward import SMALL

    return run_walk_forward(panel, WalkForwardConfig(**SMALL))
