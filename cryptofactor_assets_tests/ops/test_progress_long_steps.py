"""Progress lines of the long steps: walk-forward refits, neural-beta months, grid
configurations and users' kline files report "done/total" through ``progress.Progress``; the numerics
take an optional ``progress(done, total)`` callback and give identical results with or without it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptofactor_assets.neural.compute import compute_neural_betas
from cryptofactor_assets.neural.cross_asset import simulation
from cryptofactor_assets.neural.grid import config_grid, grid_search
from cryptofactor_assets.neural.neural_beta import NetConfig, walk_forward_neural_betas
from cryptofactor_assets.neural.simulation import simulate_cross_asset
from cryptofactor_assets.prediction.walk_forward import WalkForwardConfig, make_panel, run_walk_forward
from cryptofactor_assets.progress import PROGRESS_SECONDS_ENV, Progress
from cryptofactor_assets.sources import files
from cryptofactor_assets_tests.prediction.test_prediction_walk_forward import FEATURES, SMALL, sim_panel


@pytest.fixture(autouse=True)
def every_update_logs(monkeypatch):
    monkeypatch.setenv(PROGRESS_SECONDS_ENV, "0")


def _progress(label: str, unit: str, total: int | None = None, **kw) -> tuple[Progress, list[str]]:
    lines: list[str] = []
    return Progress(label, total, unit=unit, log=lines.append, echo=False, **kw), lines


def _counts(lines: list[str], unit: str) -> list[tuple[int, int]]:
    """(done, total) of every line, in order."""
    found = [re.search(rf"(\d[\d,]*)/(\d[\d,]*) {unit}", line) for line in lines]
    assert all(found), lines
    return [(int(m[1].replace(",", "")), int(m[2].replace(",", ""))) for m in found]


def test_a_progress_is_the_done_total_callback():
    p, lines = _progress("step", "refits")
    assert p(1, 4) and p.total == 4 and lines == ["step: 1/4 refits (25%), 0.0 s elapsed"]
    assert not p(4, 4)  # the completing update is left to the final line
    assert p.finish() == lines[-1] and lines[-1].startswith("step: done: 4/4 refits in ")


def test_walk_forward_reports_refits_done_of_total_and_results_are_unchanged():
    panel = make_panel(sim_panel(), FEATURES)
    cfg = WalkForwardConfig(**SMALL)
    models = ("ols", "ridge", "lasso")
    plain = run_walk_forward(panel, cfg, models)
    p, lines = _progress("prediction_walk_forward expanding", "refits")
    tracked = run_walk_forward(panel, cfg, models, progress=p)
    p.finish()
    n_folds = len(plain.folds)
    total = n_folds * len(models)
    counts = _counts(lines, "refits")
    assert counts[0] == (n_folds, total)  # the vectorised Ridge counts its folds at once
    assert counts[:-1] == [(d, total) for d in range(n_folds, total)]  # one line per refit when not held back
    assert counts[-1] == (total, total) and "done:" in lines[-1]
    for name in models:
        pd.testing.assert_frame_equal(plain.runs[name].predictions, tracked.runs[name].predictions)
        pd.testing.assert_frame_equal(plain.runs[name].coefs, tracked.runs[name].coefs)
    pd.testing.assert_frame_equal(plain.model_comparison(), tracked.model_comparison())


def test_walk_forward_neural_betas_report_months_done_of_total():
    sim = simulate_cross_asset(n_months=66, seed=8)
    kw = dict(markets=["EQUITY"], min_train=24, refit_every=12, config=NetConfig(epochs=20))
    plain = walk_forward_neural_betas(sim.coin_returns, sim.market_returns, **kw)
    p, lines = _progress("neural betas", "months")
    tracked = walk_forward_neural_betas(sim.coin_returns, sim.market_returns, progress=p, **kw)
    p.finish()
    total = 66 - (12 + 24)
    assert _counts(lines, "months") == [(12, total), (24, total), (total, total)]  # 30 months: 12, 12, 6
    np.testing.assert_array_equal(plain.betas, tracked.betas)
    np.testing.assert_array_equal(plain.alphas, tracked.alphas)


def test_compute_neural_betas_reports_months_done_of_total():
    sim = simulation(7)
    coins = sim.coin_returns.loc[:"2021-06-01", ["BTC", "ETH", "LTC"]]
    markets = sim.market_returns.loc[:"2021-06-01", ["EQUITY", "GOLD"]]
    targets = pd.date_range("2020-11-01", "2021-06-01", freq="MS")  # refit months 2020-07 and 2021-01
    cfg = NetConfig(epochs=20)
    plain = compute_neural_betas(coins, markets, targets, cfg, joint=False)
    p, lines = _progress("neural_betas 2020-11..2021-06", "months", len(targets))
    tracked = compute_neural_betas(coins, markets, targets, cfg, joint=False, progress=p)
    p.finish()
    assert _counts(lines, "months") == [(0, 8), (2, 8), (8, 8)]
    pd.testing.assert_frame_equal(plain, tracked)


def test_grid_search_reports_configurations_done_of_total():
    sim = simulate_cross_asset(n_months=60, seed=21)
    grid = config_grid((4,), (0.01,), ("identity", "tanh"), NetConfig(epochs=15, n_seeds=1))
    kw = dict(markets=["EQUITY"], grid=grid, n_jobs=1)
    plain = grid_search(sim.coin_returns, sim.market_returns, **kw)
    p, lines = _progress("neural_beta_grid", "configurations")
    tracked = grid_search(sim.coin_returns, sim.market_returns, progress=p, **kw)
    p.finish()
    total = len(grid)  # one market: no combination, no JOINT
    assert _counts(lines, "configurations") == [(d, total) for d in range(1, total + 1)]
    pd.testing.assert_frame_equal(plain.table, tracked.table)
    assert plain.best == tracked.best


def _feather(path: Path, start: str, n: int) -> None:
    close = 100 + np.random.default_rng(7).normal(size=n).cumsum()
    pd.DataFrame({"date": pd.date_range(start, periods=n, freq="5min", tz="UTC"), "open": close, "high": close + 1,
                  "low": close - 1, "close": close, "volume": 1.0}).to_feather(path)


def test_kline_files_report_files_done_of_total_and_rows(tmp_path):
    for sym in ("BTC", "ETH", "SOL"):
        _feather(tmp_path / f"{sym}_USDT-5m.feather", "2024-01-01", 288)
    _feather(tmp_path / "XRP_USDT-1d.feather", "2024-01-01", 3)  # skipped: another timeframe
    pattern = str(tmp_path / "*.feather")
    files.clear_cache()
    plain = files.read_klines_glob(pattern, "2024-01-01", "2024-01-02")
    files.clear_cache()
    lines: list[str] = []
    tracked = files.read_klines_glob(pattern, "2024-01-01", "2024-01-02", log=lines.append)
    assert _counts(lines, "files") == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert lines[0].startswith("files klines 2024-01-01: 1/4 files (25%), 288 rows")
    assert "done: 4/4 files, 864 rows in " in lines[-1] and " rows/s)" in lines[-1]
    assert lines[-1].endswith("; 3 read, 0 failed, 1 skipped (timeframe)")
    pd.testing.assert_frame_equal(plain.frame, tracked.frame)
    assert plain.stats == tracked.stats and plain.notes == tracked.notes
    # a caller's Progress is advanced (the caller finishes it)
    p, own = _progress("ingest files", "files")
    files.read_klines_glob(pattern, "2024-01-01", "2024-01-02", progress=p)
    assert p.total == 4 and p.done == 4 and p.amount == 864 and not any("done:" in x for x in own)
