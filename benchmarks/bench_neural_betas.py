"""Neural betas against rolling OLS on planted betas; rolling-OLS speed; the full grid's time.

Prints, for the learnable and the hidden-regime scenario of the cross-asset simulator (default seed, the
12 coins, the first 120 months 2015-01..2024-12; betas scored over 2019-01..2024-12, the months with a
neural beta):

* ``ratio neural_vs_ols_rmse_<scenario>_<MARKET>``: best rolling-OLS RMSE (12 or 36 months) / neural RMSE
  to the planted betas (univariate betas for the single markets: the K = 1 networks, with the other markets as orthogonalised
  controls (``beta_net.model_factors``); structural for JOINT:
  the K = 4 network against the joint rolling OLS); target >= 1.25 on the learnable scenario;
* ``ratio neural_implied_vs_ols_rmse_<scenario>_<MARKET>``: the same for the single-market betas implied
  by the joint network (``neural_implied``);
* ``corr ...`` lines: correlation with the truth, neural and best OLS;
* ``ratio rolling_ols_monthly``: statsmodels RollingOLS per coin / our vectorised rolling OLS;
* ``seconds neural_full_grid``: the 36 configurations x 7 targets on the default simulated history.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from statsmodels.regression.rolling import RollingOLS

from cryptofactor_assets.neural.baseline import rolling_ols, rolling_ols_betas
from cryptofactor_assets.neural.cross_asset import DEFAULT_SEED, SIM_COINS, SIM_MONTHS, SIM_START
from cryptofactor_assets.neural.neural_beta import implied_univariate_betas, walk_forward_neural_betas
from cryptofactor_assets.neural.params import LOOKBACK, MIN_TRAIN, REFIT_EVERY
from cryptofactor_assets.neural.simulation import MARKETS, simulate_cross_asset

N_MONTHS = 120
FIRST = LOOKBACK + MIN_TRAIN  # 48: 2019-01


def _score(est: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    e, t = est[FIRST:], truth[FIRST:]
    ok = np.isfinite(e)
    return float(np.sqrt(np.mean((e[ok] - t[ok]) ** 2))), float(np.corrcoef(e[ok], t[ok])[0, 1])


def scenario_ratios(scenario: str, seed: int = DEFAULT_SEED) -> dict[str, tuple[float, float, float, float, float]]:
    """Per market (and JOINT): (ratio, neural rmse, neural corr, best OLS rmse, best OLS corr), and the
    implied single-market betas under ``<MARKET>_implied``."""
    sim = simulate_cross_asset(n_months=SIM_MONTHS, coins=SIM_COINS, seed=seed, start=SIM_START, scenario=scenario)
    cr, mr = sim.coin_returns.iloc[:N_MONTHS], sim.market_returns.iloc[:N_MONTHS]
    uni, struct = sim.univariate_betas[:N_MONTHS], sim.betas[:N_MONTHS]
    single = walk_forward_neural_betas(cr, mr, refit_every=REFIT_EVERY)
    joint = walk_forward_neural_betas(cr, mr, joint=True, refit_every=REFIT_EVERY)
    implied = implied_univariate_betas(joint.betas, mr.to_numpy(), FIRST)
    out = {}

    def best_ols(joint_model: bool, k: int | None, truth: np.ndarray) -> tuple[float, float]:
        scores = []
        for w in (12, 36):
            p = rolling_ols_betas(cr, mr, markets=list(MARKETS) if joint_model else [MARKETS[k]], window=w,
                                  joint=joint_model)
            scores.append(_score(p.betas, truth))
        return min(scores)

    for k, mk in enumerate(MARKETS):
        truth = uni[:, :, [k]]
        ols = best_ols(False, k, truth)
        for name, est in ((mk, single.betas[:, :, [k]]), (f"{mk}_implied", implied[:, :, [k]])):
            nn = _score(est, truth)
            out[name] = (ols[0] / nn[0], nn[0], nn[1], ols[0], ols[1])
    ols = best_ols(True, None, struct)
    nn = _score(joint.betas, struct)
    out["JOINT"] = (ols[0] / nn[0], nn[0], nn[1], ols[0], ols[1])
    return out


def main(argv: list[str]) -> None:
    t0 = time.perf_counter()
    for scenario, label in (("learnable", "learnable"), ("hidden_regime", "hidden")):
        res = scenario_ratios(scenario)
        for mk in (*MARKETS, "JOINT"):
            ratio, nn_rmse, nn_corr, ols_rmse, ols_corr = res[mk]
            print(f"ratio neural_vs_ols_rmse_{label}_{mk} {ratio:.2f}  (neural {nn_rmse:.3f}, corr {nn_corr:.2f}; "
                  f"best OLS {ols_rmse:.3f}, corr {ols_corr:.2f})")
        for mk in MARKETS:
            ratio, nn_rmse, nn_corr, ols_rmse, ols_corr = res[f"{mk}_implied"]
            print(f"ratio neural_implied_vs_ols_rmse_{label}_{mk} {ratio:.2f}  (implied {nn_rmse:.3f}, "
                  f"corr {nn_corr:.2f}; best OLS {ols_rmse:.3f}, corr {ols_corr:.2f})")
    print(f"seconds neural_vs_ols_both_scenarios {time.perf_counter() - t0:.1f}")

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

    if "--no-grid" not in argv:
        from cryptofactor_assets.neural.cross_asset import simulation
        from cryptofactor_assets.neural.grid import full_grid_seconds

        sim = simulation(DEFAULT_SEED)
        print(f"seconds neural_full_grid {full_grid_seconds(sim.coin_returns.iloc[:N_MONTHS], sim.market_returns.iloc[:N_MONTHS]):.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
