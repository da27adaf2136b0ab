"""Forecast-evaluation metrics for the walk-forward study (pure numpy / pandas, no Dagster).

Conventions (all stored with the results, see ``walk_forward.py``):

* Out-of-sample R^2 against a benchmark forecast ``b`` (Campbell & Thompson 2008, RFS 21(4)):
  ``R2 = 1 - sum (y - yhat)^2 / sum (y - b)^2``. Two benchmarks are reported: the zero forecast
  (``b = 0``, the usual convention for excess returns in Gu, Kelly & Xiu 2020, RFS 33(5), eq. 19) and the
  historical mean of the training window (Campbell-Thompson / Welch-Goyal). In-sample, the "mean"
  benchmark is the training mean itself, i.e. the textbook R^2.
* Spearman information coefficient: per period the cross-sectional rank correlation (average ranks for
  ties) between forecast and realised return; periods with fewer than ``min_obs`` coins or a constant
  forecast / outcome are skipped. Reported: mean, standard deviation and ``t = mean / (sd / sqrt(n))``.
* Direction accuracy: share of rows with ``(yhat > 0) == (y > 0)`` (a forecast of exactly zero counts as
  "down"); for probability forecasts ``(p > 0.5) == y_up``.
* Brier score (Brier 1950): ``mean (p - y_up)^2``.
* Log-loss (cross-entropy): ``-mean [y_up log p + (1 - y_up) log(1 - p)]``, ``p`` clipped to
  ``[eps, 1 - eps]`` (an isotonic calibration can return exactly 0 or 1).
* Reliability table (DeGroot & Fienberg 1983; Niculescu-Mizil & Caruana 2005): equal-width bins of the
  forecast probability on [0, 1]; per non-empty bin the mean forecast and the realised frequency of
  ``y_up``. A calibrated forecast has ``mean_predicted ~ realised_freq`` in every bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def r2_against(y: np.ndarray, yhat: np.ndarray, benchmark: np.ndarray | float) -> float:
    """``1 - SSE(yhat) / SSE(benchmark)``; NaN when the benchmark's SSE is zero or there are no rows."""
    y = np.asarray(y, dtype=float)
    if y.size == 0:
        return float("nan")
    sse = float(np.sum((y - yhat) ** 2))
    sst = float(np.sum((y - benchmark) ** 2))
    return 1.0 - sse / sst if sst > 0 else float("nan")


def direction_accuracy(y: np.ndarray, yhat: np.ndarray) -> float:
    """Share of rows whose forecast sign matches the realised sign (zero forecast = "down")."""
    y = np.asarray(y, dtype=float)
    if y.size == 0:
        return float("nan")
    return float(np.mean((np.asarray(yhat) > 0) == (y > 0)))


def brier_score(y_up: np.ndarray, p_up: np.ndarray) -> float:
    """Mean squared error of a probability forecast of the binary outcome ``y_up``."""
    y_up = np.asarray(y_up, dtype=float)
    if y_up.size == 0:
        return float("nan")
    return float(np.mean((np.asarray(p_up, dtype=float) - y_up) ** 2))


def log_loss(y_up: np.ndarray, p_up: np.ndarray, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood of a probability forecast of ``y_up`` (``p`` clipped to [eps, 1 - eps])."""
    y_up = np.asarray(y_up, dtype=float)
    if y_up.size == 0:
        return float("nan")
    p = np.clip(np.asarray(p_up, dtype=float), eps, 1.0 - eps)
    return float(-np.mean(y_up * np.log(p) + (1.0 - y_up) * np.log1p(-p)))


def reliability_table(y_up: np.ndarray, p_up: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Reliability diagram data of a probability forecast: ``n_bins`` equal-width bins on [0, 1]
    (``[k/B, (k+1)/B)``, the last one closed), non-empty bins only.

    Columns: ``bin`` (0-based), ``bin_lower``, ``bin_upper``, ``mean_predicted`` (mean ``p`` of the bin),
    ``realised_freq`` (share of ``y_up = 1``), ``n``. The bin of ``p`` is found by ``searchsorted`` on the
    stored edges, so ``bin_lower <= p <= bin_upper`` holds exactly for every row of the bin.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be positive, not {n_bins}")
    y = np.asarray(y_up, dtype=float)
    p = np.asarray(p_up, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    b = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    n = np.bincount(b, minlength=n_bins)
    sum_p = np.bincount(b, weights=p, minlength=n_bins)
    sum_y = np.bincount(b, weights=y, minlength=n_bins)
    k = np.flatnonzero(n)
    # the clip only absorbs the rounding of sum / n (the mean of numbers in a bin lies in it)
    mean_p = np.clip(sum_p[k] / n[k], edges[k], edges[k + 1])
    return pd.DataFrame({"bin": k.astype(np.int64), "bin_lower": edges[k], "bin_upper": edges[k + 1],
                         "mean_predicted": mean_p, "realised_freq": sum_y[k] / n[k],
                         "n": n[k].astype(np.int64)})


@dataclass(frozen=True)
class ICResult:
    """Per-period Spearman IC and its summary (``t = mean / (sd / sqrt(n_periods))``)."""

    per_period: pd.Series
    mean: float
    std: float
    t: float
    n_periods: int


def spearman_ic(period: np.ndarray, y: np.ndarray, yhat: np.ndarray, min_obs: int = 3) -> ICResult:
    """Cross-sectional Spearman rank IC per period, vectorised over all periods at once.

    Ranks are taken within each period (``groupby().rank()``, average ties), then the Pearson
    correlation of the ranks is computed from grouped sums: ``cov = E[ab] - E[a]E[b]``, which is
    exact for ranks (they are small integers / half-integers, no cancellation issue).
    """
    df = pd.DataFrame({"p": np.asarray(period), "y": np.asarray(y, float), "f": np.asarray(yhat, float)})
    df = df.dropna()
    if df.empty:
        return ICResult(pd.Series(dtype=float), float("nan"), float("nan"), float("nan"), 0)
    g = df.groupby("p", sort=True)
    a = g["y"].rank(method="average")
    b = g["f"].rank(method="average")
    tmp = pd.DataFrame({"p": df["p"], "a": a, "b": b, "ab": a * b, "aa": a * a, "bb": b * b})
    s = tmp.groupby("p", sort=True).agg(n=("a", "size"), a=("a", "mean"), b=("b", "mean"),
                                         ab=("ab", "mean"), aa=("aa", "mean"), bb=("bb", "mean"))
    cov = s["ab"] - s["a"] * s["b"]
    va = s["aa"] - s["a"] ** 2
    vb = s["bb"] - s["b"] ** 2
    ok = (s["n"] >= min_obs) & (va > 1e-12) & (vb > 1e-12)
    ic = (cov / np.sqrt(va * vb)).where(ok).dropna()
    ic.name = "ic"
    n = int(ic.size)
    mean = float(ic.mean()) if n else float("nan")
    sd = float(ic.std(ddof=1)) if n > 1 else float("nan")
    t = mean / (sd / np.sqrt(n)) if n > 1 and sd > 0 else float("nan")
    return ICResult(ic, mean, sd, float(t), n)


def coefficient_stability(coefs: np.ndarray, names: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Per-feature stability of coefficients across folds (rows of ``coefs`` = folds).

    Columns: ``mean``, ``std`` (ddof=1), ``t_folds = mean / (std / sqrt(F))`` (folds overlap, so this is
    descriptive, not a test), ``selection_freq`` (share of folds with a non-zero coefficient) and
    ``sign_consistency = max(share > 0, share < 0)`` (1 = the same sign in every fold; zeros count for
    neither sign, so a feature dropped by the Lasso in half of the folds scores at most 0.5).
    """
    coefs = np.atleast_2d(np.asarray(coefs, dtype=float))
    f = coefs.shape[0]
    mean = coefs.mean(axis=0)
    std = coefs.std(axis=0, ddof=1) if f > 1 else np.full(coefs.shape[1], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(std > 0, mean / (std / np.sqrt(f)), np.nan)
    pos = (coefs > 0).mean(axis=0)
    neg = (coefs < 0).mean(axis=0)
    return pd.DataFrame({"feature": list(names), "mean": mean, "std": std, "t_folds": t,
                         "selection_freq": (coefs != 0).mean(axis=0),
                         "sign_consistency": np.maximum(pos, neg)})
