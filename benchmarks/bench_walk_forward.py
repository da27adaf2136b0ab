"""Walk-forward Ridge: running sufficient statistics vs refitting scikit-learn on every fold.

Panel: 300 coins x 400 weeks (random missing rows), 20 features; expanding window from 100 weeks, embargo
1, test blocks of 2 weeks -> 150 refits. Peer: ``StandardScaler`` + ``Ridge(alpha = lam * n)`` refitted on
each training window (what a user would write). Ours: per-period Grams (one pass over the data, included
in the timing) and one batched solve over all folds. Coefficients must agree to 1e-8.

Second figure: with the penalty chosen by the inner time-series CV (25 penalties x 3 inner splits per
fold). The peer loop is timed on the first 10 folds and extrapolated linearly in the number of fits
(the later, larger windows cost more, so the extrapolation understates the peer's time).

Run: ``.venv/bin/python benchmarks/bench_walk_forward.py``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptofactor_assets.prediction.walk_forward import (  # noqa: E402
    WalkForwardConfig,
    make_folds,
    make_panel,
    ridge_walk_forward,
)

N_COINS, N_WEEKS, P = 300, 400, 20
LAM = 0.01


def build_panel():
    rng = np.random.default_rng(42)
    z = rng.standard_normal((N_WEEKS, N_COINS, P))
    y = 0.02 * z[:, :, 0] - 0.01 * z[:, :, 1] + 0.1 * rng.standard_normal((N_WEEKS, N_COINS))
    df = pd.DataFrame({"symbol": np.tile(np.arange(N_COINS), N_WEEKS),
                       "week_start": np.repeat(pd.date_range("2015-01-05", periods=N_WEEKS, freq="7D"), N_COINS)})
    X = z * rng.uniform(0.5, 3, P) + rng.uniform(-5, 20, P)
    for j in range(P):
        df[f"f{j}"] = X[:, :, j].ravel()
    df["y_next"] = y.ravel()
    return make_panel(df[rng.random(len(df)) > 0.15], [f"f{j}" for j in range(P)])


def sklearn_fold(panel, rb, f, lam):
    tr = slice(rb[f.train[0]], rb[f.train[1]])
    n = rb[f.train[1]] - rb[f.train[0]]
    return make_pipeline(StandardScaler(), Ridge(alpha=lam * n)).fit(panel.X[tr], panel.y[tr])


def main() -> None:
    panel = build_panel()
    cfg = WalkForwardConfig(min_train_periods=100, test_periods=2, embargo=1)
    folds = make_folds(panel.periods.size, cfg)
    rb = panel.row_bounds
    print(f"seconds setup rows={panel.y.size} features={P} refits={len(folds)}")

    best_ours = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        rf = ridge_walk_forward(panel, folds, LAM)
        best_ours = min(best_ours, time.perf_counter() - t0)
    t0 = time.perf_counter()
    peer = [sklearn_fold(panel, rb, f, LAM) for f in folds]
    t_peer = time.perf_counter() - t0
    diff = max(np.abs(rf.coef[i] - p[-1].coef_).max() for i, p in enumerate(peer))
    assert diff < 1e-8, diff
    print(f"seconds walk_forward_ridge_ours {best_ours:.4f}")
    print(f"seconds walk_forward_ridge_sklearn {t_peer:.4f}")
    print(f"seconds max_abs_coef_diff {diff:.2e}")
    print(f"ratio walk_forward_ridge_vs_sklearn {t_peer / best_ours:.1f}")

    # penalties by inner time-series CV
    lams = np.logspace(-4, 2, 25)
    t0 = time.perf_counter()
    rcv = ridge_walk_forward(panel, folds, lams)
    t_ours_cv = time.perf_counter() - t0
    sub = folds[:10]
    t0 = time.perf_counter()
    for i, f in enumerate(sub):
        mse = []
        for lam in rcv.lambdas:
            sse = nv = 0.0
            for (a, b), (c, d) in f.inner:
                pipe = make_pipeline(StandardScaler(), Ridge(alpha=lam * (rb[b] - rb[a])))
                pipe.fit(panel.X[rb[a]:rb[b]], panel.y[rb[a]:rb[b]])
                sse += np.sum((panel.y[rb[c]:rb[d]] - pipe.predict(panel.X[rb[c]:rb[d]])) ** 2)
                nv += rb[d] - rb[c]
            mse.append(sse / nv)
        lam_i = rcv.lambdas[int(np.argmin(mse))]
        assert lam_i == rcv.lam[i]
        fin = sklearn_fold(panel, rb, f, lam_i)
        assert np.abs(fin[-1].coef_ - rcv.coef[i]).max() < 1e-8
    t_peer_cv = (time.perf_counter() - t0) * len(folds) / len(sub)
    print(f"seconds walk_forward_ridge_cv_ours {t_ours_cv:.4f}")
    print(f"seconds walk_forward_ridge_cv_sklearn_extrapolated {t_peer_cv:.2f} (timed on {len(sub)} folds)")
    print(f"ratio walk_forward_ridge_cv_vs_sklearn {t_peer_cv / t_ours_cv:.1f}")


if __name__ == "__main__":
    main()
