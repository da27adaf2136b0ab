"""Rolling-OLS betas (ours, vectorised) vs statsmodels RollingOLS per coin; demo grid-search time.

Prints ``ratio rolling_ols_monthly <peer/ours>`` and ``seconds ...`` lines.
"""

from __future__ import annotations

import time

import numpy as np
from statsmodels.regression.rolling import RollingOLS

from cryptofactor_assets.neural.baseline import rolling_ols
from cryptofactor_assets.neural.grid import grid_search
from cryptofactor_assets.neural.simulation import simulate_cross_asset


def main() -> None:
    rng = np.random.default_rng(0)
    t_len, n, w = 240, 500, 12
    x = rng.normal(size=(t_len, 4))
    y = x @ rng.normal(size=(4, n)) + rng.normal(size=(t_len, n))
    t0 = time.perf_counter()
    ours = rolling_ols(y, x, window=w, ex_ante=False)
    t_ours = time.perf_counter() - t0
    exog = np.column_stack([np.ones(t_len), x])
    t0 = time.perf_counter()
    ref = [RollingOLS(y[:, i], exog, window=w, missing="drop").fit().params for i in range(n)]
    t_peer = time.perf_counter() - t0
    err = max(np.nanmax(np.abs(ours.params[:, i] - ref[i])) for i in range(n))
    print(f"seconds rolling_ols_ours {t_ours:.4f}")
    print(f"seconds rolling_ols_statsmodels {t_peer:.4f}  (max abs diff {err:.1e})")
    print(f"ratio rolling_ols_monthly {t_peer / t_ours:.2f}")

    sim = simulate_cross_asset(n_months=120, seed=0)
    t0 = time.perf_counter()
    res = grid_search(sim.coin_returns, sim.market_returns)
    print(f"seconds demo_grid_36x5 {time.perf_counter() - t0:.2f}  ({len(res.table)} fits scored)")


if __name__ == "__main__":
    main()
