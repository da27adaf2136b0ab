"""Simulated cross-asset monthly data with planted, regime-switching betas (the default source).

Data-generating process (monthly, ``t = 0..T-1``, month-start timestamps named ``month``):

* Markets ``FIAT`` (dollar index), ``EQUITY``, ``GOLD``, ``ENERGY``: monthly log returns
  ``f_t ~ N(mu, Sigma)`` i.i.d., ``Sigma = diag(vol) C diag(vol)`` with a mild fixed correlation ``C``.
* Regime ``s_t`` in ``{0, 1}``: a two-state Markov chain (stay probability ``p_stay``; Hamilton 1989,
  Econometrica 57(2)) or an explicit list of switch months (``switch_months``) for tests.
* Planted conditional betas of coin ``i`` to market ``k``:
  ``beta_{i,k,t} = level_{i,k}[s_t] + u_{i,k,t}``, with ``u`` a zero-mean AR(1) wobble
  (``beta_ar_rho``, ``beta_ar_vol``; 0 switches it off), so betas are time-varying within a regime and
  jump at regime switches.
* Fama-French five factors (decimal simple returns, Fama & French 2015, JFE 116(1)):
  ``Mkt-RF = expm1(f_EQUITY) - RF + noise``; SMB, HML, RMW, CMA Gaussian; ``RF`` a slow positive path.
* Coin log returns: ``r_{i,t} = a_i + sum_k beta_{i,k,t} f_{k,t} + sum_j g_{i,j} FF_{j,t} + e_{i,t}``,
  ``e ~ N(0, idio_vol^2)``, with ``FF_j`` in SMB, HML, RMW, CMA (planted loadings ``g``; the market
  factor is not added again, EQUITY already carries it).

Because the markets are correlated, the slope of a *univariate* regression of ``r_i`` on ``f_k`` is not
``beta_{i,k}`` but ``beta_{i,k} + sum_{j != k} beta_{i,j} Sigma_{jk} / Sigma_{kk}`` (omitted-variable
algebra); both paths are returned so single-market estimators are checked against the right target.
Everything is drawn from ``numpy.random.default_rng(seed)``: same seed, same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MARKETS: tuple[str, ...] = ("FIAT", "EQUITY", "GOLD", "ENERGY")
DEFAULT_COINS: tuple[str, ...] = ("BTC", "ETH", "LTC", "BCH")
FF5_COLUMNS: tuple[str, ...] = ("Mkt-RF", "SMB", "HML", "RMW", "CMA")
FF_RF = "RF"

#: Monthly log-return volatilities of the four markets (roughly DXY, S&P 500, gold, crude-oil sized).
MARKET_VOLS = np.array([0.02, 0.045, 0.04, 0.09])
MARKET_MEANS = np.array([0.0, 0.007, 0.003, 0.002])
#: Mild, fixed correlation of the markets (dollar vs gold/equity negative, equity vs energy positive).
MARKET_CORR = np.array(
    [
        [1.0, -0.2, -0.3, -0.1],
        [-0.2, 1.0, 0.1, 0.3],
        [-0.3, 0.1, 1.0, 0.2],
        [-0.1, 0.3, 0.2, 1.0],
    ]
)
#: Regime-0 ("calm") and regime-1 ("stress") beta centres per market (coins scatter around them).
BETA_CALM = np.array([-1.0, 1.0, 0.3, 0.2])
BETA_STRESS = np.array([-2.5, 3.0, -0.5, 1.0])
FF_VOLS = np.array([0.03, 0.03, 0.02, 0.02])  # SMB, HML, RMW, CMA
#: ``hidden_regime``: betas jump with a hidden Markov regime (learnable only through the returns it
#: moves); ``learnable``: betas are a smooth function of an observable lagged state (``stress_weight``).
SCENARIOS: tuple[str, ...] = ("hidden_regime", "learnable")
#: Learnable scenario: months in the trailing state, its midpoint and width (see ``stress_weight``).
STATE_MONTHS = 3
STATE_MID = 1.5
STATE_WIDTH = 0.15
#: Learnable scenario: SD of the coins' beta offsets (0.3 in the hidden-regime one), calm and stress
#: beta centres (a wider gap than the hidden regime's, in every market's univariate beta too) and the
#: volatility regime's stay probability (~7-month spells: a 12- or 36-month window mixes them).
LEARNABLE_DISPERSION = 0.1
LEARNABLE_CALM = np.array([-0.5, 0.5, 0.0, 0.2])
LEARNABLE_STRESS = np.array([-2.0, 2.0, 1.5, 1.5])
LEARNABLE_P_STAY = 0.85


def stress_weight(f: np.ndarray) -> np.ndarray:
    """The learnable scenario's observable state ``w_t`` in (0, 1), from market returns before ``t``.

    ``s_{t-1} = sqrt(mean over the last STATE_MONTHS months and the K markets of ((f - mu) / vol)^2)``
    (the trailing RMS of the markets' standardised moves, with the population mean and calm-regime
    volatility) and ``w_t = logistic((s_{t-1} - STATE_MID) / STATE_WIDTH)``: ~0 in calm markets
    (s ~ 1), ~1 after stressed ones (s ~ stress_vol = 2). Month 0 has no history: its state is calm.
    """
    z2 = (((f - MARKET_MEANS) / MARKET_VOLS) ** 2).mean(axis=1)  # (T,)
    c = np.concatenate([[0.0], np.cumsum(z2)])
    t = np.arange(len(f))
    lo = np.maximum(t - STATE_MONTHS, 0)
    n = t - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(np.where(n > 0, (c[t] - c[lo]) / np.maximum(n, 1), 1.0))
    return 1.0 / (1.0 + np.exp(-(s - STATE_MID) / STATE_WIDTH))


@dataclass(frozen=True)
class CrossAssetSimulation:
    """Simulated monthly cross-asset panel and the planted truth.

    ``betas[t, i, k]`` is the structural (multivariate) beta of coin ``i`` to market ``k`` in month ``t``;
    ``univariate_betas`` the implied population slope of a single-market regression.
    """

    coin_returns: pd.DataFrame  # month x coin, monthly log returns
    market_returns: pd.DataFrame  # month x market, monthly log returns
    ff5: pd.DataFrame  # month x (Mkt-RF, SMB, HML, RMW, CMA, RF), decimal simple returns
    betas: np.ndarray  # (T, N, K)
    univariate_betas: np.ndarray  # (T, N, K)
    regimes: pd.Series  # month -> 0/1
    alphas: pd.Series  # coin -> a_i
    ff_loadings: pd.DataFrame  # coin x (SMB, HML, RMW, CMA)
    market_cov: np.ndarray  # (K, K)
    seed: int

    @property
    def coins(self) -> tuple[str, ...]:
        return tuple(self.coin_returns.columns)

    @property
    def markets(self) -> tuple[str, ...]:
        return tuple(self.market_returns.columns)

    @property
    def switch_months(self) -> pd.DatetimeIndex:
        """Months whose regime differs from the previous month's."""
        r = self.regimes.to_numpy()
        return self.regimes.index[1:][r[1:] != r[:-1]]

    def beta_path(self, coin: str, market: str, univariate: bool = False) -> pd.Series:
        src = self.univariate_betas if univariate else self.betas
        i, k = self.coins.index(coin), self.markets.index(market)
        return pd.Series(src[:, i, k], index=self.coin_returns.index, name=f"{coin}/{market}")

    def beta_frame(self, market: str, univariate: bool = False) -> pd.DataFrame:
        """Month x coin planted betas to one market."""
        src = self.univariate_betas if univariate else self.betas
        k = self.markets.index(market)
        return pd.DataFrame(src[:, :, k], index=self.coin_returns.index, columns=list(self.coins))

    def excess_returns(self) -> pd.DataFrame:
        """Simple coin returns in excess of the risk-free rate: ``expm1(r) - RF``."""
        return np.expm1(self.coin_returns).sub(self.ff5[FF_RF], axis=0)


def _regime_path(
    rng: np.random.Generator, n: int, p_stay: float, switch_months: Sequence[int] | None
) -> np.ndarray:
    if switch_months is not None:
        s = np.zeros(n, dtype=int)
        for m in sorted(switch_months):
            if not 0 < m < n:
                raise ValueError(f"switch month index {m} outside 1..{n - 1}")
            s[m:] = 1 - s[m:]  # each listed month flips the regime from then on
        return s
    # Vectorised two-state chain: a flip happens with probability 1 - p_stay each month after the first.
    flips = rng.random(n) > p_stay
    flips[0] = False
    return np.cumsum(flips) % 2


def simulate_cross_asset(
    n_months: int = 180,
    coins: Sequence[str] = DEFAULT_COINS,
    seed: int = 0,
    start: str = "2014-01-01",
    idio_vol: float = 0.05,
    p_stay: float | None = None,
    switch_months: Sequence[int] | None = None,
    beta_ar_rho: float = 0.9,
    beta_ar_vol: float = 0.05,
    coin_beta_dispersion: float | None = None,
    ff_loading_scale: float = 0.5,
    active_markets: Sequence[str] | None = None,
    scenario: str = "hidden_regime",
    stress_vol: float = 2.0,
) -> CrossAssetSimulation:
    """Draw the cross-asset panel described in the module docstring.

    ``idio_vol`` sets how recoverable the betas are: real crypto idiosyncratic vol (~20 % a month)
    makes 12-month betas very noisy; the default 5 % keeps the demo's planted paths visible.
    ``active_markets``: markets the coins load on (the others get beta 0), e.g. ``["EQUITY"]`` for a
    clean single-market test where no omitted market adds noise to a univariate regression.
    """
    if n_months < 24:
        raise ValueError("need at least 24 months")
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    if coin_beta_dispersion is None:  # learnable: coins share the beta function, small coin offsets
        coin_beta_dispersion = 0.3 if scenario == "hidden_regime" else LEARNABLE_DISPERSION
    if p_stay is None:
        p_stay = 0.96 if scenario == "hidden_regime" else LEARNABLE_P_STAY
    calm, stress = (BETA_CALM, BETA_STRESS) if scenario == "hidden_regime" else (LEARNABLE_CALM, LEARNABLE_STRESS)
    rng = np.random.default_rng(seed)
    coins = tuple(coins)
    n, k_mk = len(coins), len(MARKETS)
    months = pd.date_range(start=start, periods=n_months, freq="MS", name="month")

    cov = np.outer(MARKET_VOLS, MARKET_VOLS) * MARKET_CORR
    f = rng.multivariate_normal(MARKET_MEANS, cov, size=n_months)  # (T, K)

    regimes = _regime_path(rng, n_months, p_stay, switch_months)
    # Coin-specific levels: a common centre per regime plus a coin offset (the same offset in both
    # regimes scaled by the regime so coins keep their ordering most of the time).
    offsets = rng.normal(0.0, coin_beta_dispersion, size=(n, k_mk))
    level = np.stack([calm + offsets, stress + 1.5 * offsets], axis=-1)  # (N, K, 2)
    # AR(1) wobble u_t = rho u_{t-1} + vol e_t, started from its stationary distribution.
    shocks = rng.normal(0.0, beta_ar_vol, size=(n_months, n, k_mk))
    u = np.empty_like(shocks)
    u[0] = shocks[0] / np.sqrt(max(1.0 - beta_ar_rho**2, 1e-12))
    for t in range(1, n_months):  # recursion over time only (vectorised across coins and markets)
        u[t] = beta_ar_rho * u[t - 1] + shocks[t]
    if scenario == "learnable":
        # The regime scales every market's volatility (x stress_vol in stress), drawn from the same
        # normals, so the regime shows in the markets' own returns; the beta follows the observable
        # state of the last three months (stress_weight), not the hidden regime itself.
        scale = np.where(regimes == 1, stress_vol, 1.0)
        f = MARKET_MEANS + (f - MARKET_MEANS) * scale[:, None]
        w = stress_weight(f)
        betas = (level[None, :, :, 0] + w[:, None, None] * (level[:, :, 1] - level[:, :, 0])[None]) + u
    else:
        betas = level[:, :, regimes].transpose(2, 0, 1) + u  # (T, N, K)
    if active_markets is not None:
        unknown = set(active_markets) - set(MARKETS)
        if unknown:
            raise ValueError(f"unknown markets {sorted(unknown)}")
        betas[:, :, [m not in active_markets for m in MARKETS]] = 0.0

    # Omitted-variable algebra: univariate slope on f_k = sum_j beta_j Sigma_jk / Sigma_kk.
    univariate = np.einsum("tij,jk->tik", betas, cov) / np.diag(cov)

    rf = 0.001 + 0.002 * (1 + np.sin(np.linspace(0.0, 3.0, n_months))) / 2
    ff_other = rng.normal(0.0, 1.0, size=(n_months, 4)) * FF_VOLS
    mkt_rf = np.expm1(f[:, 1]) - rf + rng.normal(0.0, 0.005, size=n_months)
    ff5 = pd.DataFrame(
        np.column_stack([mkt_rf, ff_other, rf]), index=months, columns=[*FF5_COLUMNS, FF_RF]
    )
    ff_load = rng.normal(0.0, ff_loading_scale, size=(n, 4))

    alphas = rng.normal(0.01, 0.005, size=n)
    eps = rng.normal(0.0, idio_vol, size=(n_months, n))
    r = alphas + np.einsum("tik,tk->ti", betas, f) + ff_other @ ff_load.T + eps

    return CrossAssetSimulation(
        coin_returns=pd.DataFrame(r, index=months, columns=list(coins)),
        market_returns=pd.DataFrame(f, index=months, columns=list(MARKETS)),
        ff5=ff5,
        betas=betas,
        univariate_betas=univariate,
        regimes=pd.Series(regimes, index=months, name="regime"),
        alphas=pd.Series(alphas, index=list(coins), name="alpha"),
        ff_loadings=pd.DataFrame(ff_load, index=list(coins), columns=list(FF5_COLUMNS[1:])),
        market_cov=cov,
        seed=seed,
    )
