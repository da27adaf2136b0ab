"""Monte Carlo study of beta and premium estimation on simulated markets with a planted factor model.

Data-generating process (seeded ``numpy.random.Generator``), per replication:
``f_t = lambda + u_t``, ``u_t ~ N(0, diag(sd_f^2))`` (traded factors, so the premium is the factor mean);
``beta_i ~ N(beta_mean, beta_sd^2)`` per factor; ``r_it = beta_i' f_t + e_it``, ``e_it ~ N(0, noise^2)``.

Estimators:
* betas: time-series OLS with intercept per coin (vectorised over coins and replications);
* premia: Fama-MacBeth (1973) second pass, per period the cross-sectional OLS of ``r_t`` on
  ``[1, beta_hat]``, premium = mean slope (errors-in-variables bias towards zero when betas are noisy,
  Shanken 1992), compared with the planted ``lambda``.

Reported per (T, noise, parameter): ``bias`` = mean(estimate - truth), ``rmse``, and for betas the
theoretical OLS standard error ``noise / (sqrt(T) sd_f)`` (asymptotic, ignoring the intercept).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Defaults of the study (and of the diagnostics asset's ``mc_*`` config): sample lengths (periods),
#: residual noise levels, replications per cell and the random seed.
LENGTHS: tuple[int, ...] = (52, 104, 260, 520)
NOISES: tuple[float, ...] = (0.05, 0.10, 0.20)
REPS = 200
SEED = 20240601


@dataclass(frozen=True)
class MarketSpec:
    n_coins: int = 50
    premia: tuple[float, ...] = (0.01, 0.005, 0.004)  # weekly lambda per factor
    factor_sd: tuple[float, ...] = (0.10, 0.06, 0.05)
    beta_mean: tuple[float, ...] = (1.0, 0.0, 0.0)
    beta_sd: tuple[float, ...] = (0.4, 0.5, 0.5)


@dataclass(frozen=True)
class SimulatedMarkets:
    returns: np.ndarray  # (reps, T, N)
    factors: np.ndarray  # (reps, T, K)
    betas: np.ndarray  # (reps, N, K)


def simulate_markets(spec: MarketSpec, n_periods: int, noise: float, reps: int,
                     rng: np.random.Generator) -> SimulatedMarkets:
    K = len(spec.premia)
    f = np.asarray(spec.premia) + rng.standard_normal((reps, n_periods, K)) * np.asarray(spec.factor_sd)
    b = np.asarray(spec.beta_mean) + rng.standard_normal((reps, spec.n_coins, K)) * np.asarray(spec.beta_sd)
    r = np.einsum("rtk,rnk->rtn", f, b) + noise * rng.standard_normal((reps, n_periods, spec.n_coins))
    return SimulatedMarkets(r, f, b)


def estimate(m: SimulatedMarkets) -> tuple[np.ndarray, np.ndarray]:
    """(beta_hat (reps, N, K), fama-macbeth premia (reps, K)), batched over replications."""
    reps, T, _ = m.returns.shape
    X = np.concatenate([np.ones((reps, T, 1)), m.factors], axis=2)  # (reps, T, q)
    coef = np.linalg.solve(np.einsum("rtk,rtl->rkl", X, X), np.einsum("rtk,rtn->rkn", X, m.returns))
    bh = coef[:, 1:, :].transpose(0, 2, 1)  # (reps, N, K)
    Z = np.concatenate([np.ones(bh.shape[:2] + (1,)), bh], axis=2)  # (reps, N, q)
    # the cross-sectional design is the same every period, so mean of slopes = slopes of the mean return
    g = np.linalg.solve(np.einsum("rnk,rnl->rkl", Z, Z), np.einsum("rnk,rn->rk", Z, m.returns.mean(axis=1))[:, :, None])[:, :, 0]
    return bh, g[:, 1:]


def monte_carlo_study(spec: MarketSpec | None = None, lengths: Sequence[int] = LENGTHS,
                      noises: Sequence[float] = NOISES, reps: int = REPS, seed: int = SEED) -> pd.DataFrame:
    """Tidy table: n_periods, noise, parameter (``beta_<k>``, ``premium_<k>``), bias, rmse, se_theory."""
    spec = spec or MarketSpec()
    rng = np.random.default_rng(seed)
    rows = []
    for T in lengths:
        for s in noises:
            m = simulate_markets(spec, T, s, reps, rng)
            bh, ph = estimate(m)
            for k in range(len(spec.premia)):
                err = bh[:, :, k] - m.betas[:, :, k]
                rows.append({"n_periods": T, "noise": s, "parameter": f"beta_{k}", "bias": float(err.mean()),
                             "rmse": float(np.sqrt(np.mean(err ** 2))),
                             "se_theory": s / (np.sqrt(T) * spec.factor_sd[k])})
                perr = ph[:, k] - spec.premia[k]
                rows.append({"n_periods": T, "noise": s, "parameter": f"premium_{k}", "bias": float(perr.mean()),
                             "rmse": float(np.sqrt(np.mean(perr ** 2))), "se_theory": np.nan})
    return pd.DataFrame(rows)


def plot_study(table: pd.DataFrame) -> bytes:
    """RMSE against sample length, one line per noise level, beta and premium panels: PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, prefix in zip(axes, ["beta_0", "premium_0"], strict=True):
        sub = table[table["parameter"] == prefix]
        for s, g in sub.groupby("noise"):
            ax.plot(g["n_periods"], g["rmse"], marker="o", label=f"noise {s:g}")
            if prefix.startswith("beta"):
                ax.plot(g["n_periods"], g["se_theory"], ls=":", color=ax.lines[-1].get_color())
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("weeks (T)")
        ax.set_ylabel("RMSE")
        ax.set_title(f"{prefix}: RMSE (dotted: OLS theory)" if prefix.startswith("beta") else f"{prefix}: RMSE")
        ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()
