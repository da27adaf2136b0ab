"""Embedded simulated crypto market with a planted factor structure (the default, offline source).

Model (daily, log returns, coin i, UTC day t)::

    r[i,t] = a_size * size_score[i,t-1] + a_mom * mom_score[i,t-1] + a_jump * rsj_planted[i,t-1]
             + a_fund * fund_score[i,t-1] + a_vol * vol_score[i,t-1] + a_chain * chain_score[i,t-1]
             + beta_mkt[i] * m[t] + beta_smb[i] * s[t] + e[i,t] + J[i,t]

* ``m`` market factor and ``s`` a small-coin factor, each GARCH(1,1) (volatility clustering);
* ``e`` idiosyncratic GARCH(1,1) noise, larger for small coins;
* ``J`` the day's jumps (0-3 per coin-day, random signs and bar positions), about 18 % of
  quadratic variation as Zhang & Zhao (2023) report for crypto;
* ``size_score`` = minus the cross-sectional z-score of log market cap (small coins earn more),
  ``mom_score`` = z-score of the past 21-day log return (winners keep winning),
  ``rsj_planted`` = (sum J+^2 - sum J-^2) / (diffusion variance + sum J^2), the expected RSJ of the
  day, so a high realised signed jump predicts a low next-day return (``a_jump < 0``);
* the chapter's three further premia (issue 16), each on a signal of its own so that each factor is
  identifiable apart from the others:

  - ``fund_score`` = minus the cross-sectional z-score (over the coins with a perpetual) of the coin's
    persistent funding component ``carry[i,t-1]`` (below): coins whose longs pay a high funding rate
    earn less, the carry direction (``a_fund`` = ``funding_premium`` > 0);
  - ``vol_score`` = minus the z-score of the part of the log trailing volatility (sd of the last
    ``vol_lookback`` = 30 daily log returns up to t-1) that log market cap does not explain (the
    residual of a cross-sectional OLS on log market cap): low-volatility coins earn more than coins of
    their size (``a_vol`` = ``vol_premium``). Planted on the size-neutral part so the size premium
    keeps its planted value (small coins are the volatile ones);
  - ``chain_score`` = z-score of the coin's on-chain activity growth at t-1, log(mean active addresses
    of the last ``chain_short_days`` = 7 days) - log(mean of the ``chain_long_days`` = 28 days before):
    coins whose activity grows earn more (``a_chain`` = ``chain_premium``).

  Every premium is a drift of the daily LOG return, like the size and momentum premia: a portfolio of
  simple returns also earns the volatility (convexity) term sigma^2 / 2, which makes high-volatility
  coins' simple returns higher whatever is planted (see the factors' planted-truth tests).

Everything that spans days (prices, GARCH variances, listings, jumps) is drawn once for the whole
calendar at DAILY resolution (~2,000 days x 60 coins: milliseconds). The 288 five-minute bars of a day
are then generated from a generator seeded by (seed, day) only: a Brownian bridge whose increments sum
exactly to the day's diffusion return, plus the day's jumps at their bars. So day d's bars are the same
whether it is built alone or inside a two-year backfill, and bar closes chain exactly into the daily
closes (the last bar's close of day d is the daily close). Planted truths go to ``sim_truth``.

Funding of the perpetual contracts (coins with exchange bars, every day they are listed): three
settlements a day, at 00:00, 08:00 and 16:00 UTC (``interval_hours`` = 8), each::

    rate[i,t,k] = clip(funding_base + funding_momentum * R7[i,t] + carry[i,t] + funding_noise * z[i,t,k],
                       +-funding_cap)

* ``funding_base`` = 0.0001: Bybit's interest component (0.01 % per 8 h), what a calm market pays;
* ``R7[i,t]`` = sum of the coin's daily log returns of days t-7 .. t-1 = its trailing 7-day log
  return at the close of day t-1, i.e. known at 00:00 of day t, before all three settlements of the
  day (no look-ahead: a settlement never sees a price after it); days before the listing count 0;
* ``funding_momentum`` = 0.002 per unit of log return: a coin up 20 % over a week pays ~0.05 % per
  8 h (longs crowd into winners and pay the shorts), one down 20 % receives;
* ``z`` standard normal from a generator seeded by (seed, day) only, ``funding_noise`` = 0.00005;
* ``funding_cap`` = 0.0075 (0.75 % per settlement), within Bybit's caps for most contracts.

* ``carry[i,t]`` a persistent coin-level component (how crowded the coin's longs are), independent of
  prices: a stationary AR(1) with half-life ``funding_carry_halflife`` = 30 days and cross-sectional
  sd ``funding_carry_sd`` = 0.0005 per settlement (0.05 % per 8 h, ~55 % a year: the dispersion of
  altcoin funding in a crowded market, large enough that the carry, not the trailing-return part,
  drives the ranking of coins by funding), drawn for the whole calendar from a random stream of its
  own. It is added to every settlement of day t and carries the planted funding premium
  (``funding_premium`` = 0.0008 a day per unit of z-score), so FUND (low minus high trailing funding)
  is identifiable apart from momentum (the trailing-return part of the rate).

So a day's funding, like its bars, is the same whether built alone or inside a backfill. The
parameters are ``SimConfig`` fields, so they are stored in ``sim_truth`` with the others.

On-chain activity (every coin, listed on the exchange or not, every day it is alive but for a few
missing coin-days): ``log active_addresses[i,t] = level[i] + u[i,t] + noise``, ``level`` rising with
the coin's initial market cap, ``u`` the cumulated adoption growth ``g`` (a stationary AR(1) per coin,
half-life ``onchain_growth_halflife`` = 60 days, sd ``onchain_growth_sd`` = 0.005 a day), daily noise
``onchain_noise`` = 0.15; ``tx_count`` = active addresses x a coin's transactions per address. It is
independent of prices, drawn from a stream of its own; its growth carries the planted on-chain premium.

Separate random streams: the new draws (funding carry, on-chain activity) come from generators of
their own, so every draw that existed before them (prices, jumps, bars, market snapshots, funding
noise) keeps its shocks; with the three new premia at 0 the prices are exactly those of before.

Realism kept on purpose: listings and delistings during the sample, some coins under the $1M
market-cap filter, coins with market data but no exchange bars, occasional missing bars and exchange
outages, and a few deliberately bad rows (which validation must reject, never silently drop).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from cryptofactor_assets import settings
from cryptofactor_assets.settings import SIM_COINS_ENV
from cryptofactor_assets.sources.funding import FUNDING_COLUMNS, empty_funding
from cryptofactor_assets.sources.onchain import ONCHAIN_COLUMNS, empty_onchain

BARS_PER_DAY = 288
#: Funding settlements of a day (hours after 00:00 UTC) and the interval they imply.
FUNDING_HOURS = (0, 8, 16)
FUNDING_INTERVAL_HOURS = 8.0
_NS_PER_BAR = 300 * 1_000_000_000
_NS_PER_DAY = 86_400 * 1_000_000_000


@dataclass(frozen=True)
class SimConfig:
    """Parameters of the simulated market; every field is stored in ``sim_truth``."""

    seed: int = 20230101
    n_coins: int = 60
    history_start: dt.date = dt.date(2022, 1, 1)  # the market exists from here (warm-up for momentum, age)
    history_end: dt.date = dt.date(2026, 12, 31)
    market_mean: float = 0.0008  # daily drift of the market factor
    market_vol: float = 0.030  # long-run daily vol of the market factor
    smb_vol: float = 0.012  # long-run daily vol of the small-coin factor
    idio_vol_big: float = 0.025  # idiosyncratic daily vol of the largest coin
    idio_vol_small: float = 0.070  # ... of the smallest coin
    garch_alpha: float = 0.08
    garch_beta: float = 0.90
    size_premium: float = 0.0012  # daily return per unit of size_score (small minus big)
    momentum_premium: float = 0.0008  # daily return per unit of mom_score
    jump_premium: float = -0.006  # next-day return per unit of planted RSJ (negative: Zhang & Zhao)
    jump_intensity: float = 1.2  # expected jumps per coin-day
    jump_share: float = 0.18  # share of quadratic variation from jumps
    momentum_lookback: int = 21
    missing_bar_prob: float = 0.002  # independent missing 5-minute bars
    outage_prob: float = 0.004  # coin-days losing a block of 30-120 bars
    bad_row_prob: float = 0.06  # days with a deliberately bad kline row
    bad_market_row_prob: float = 0.03  # days with a deliberately bad market row
    markets_only_coins: int = 3  # coins with market data but no exchange bars
    unmapped_market_days_prob: float = 0.002  # coin-days with bars but no market snapshot
    funding_base: float = 0.0001  # funding rate per 8 h settlement of a calm market (Bybit's interest part)
    funding_momentum: float = 0.002  # funding rate per unit of trailing 7-day log return (winners pay)
    funding_lookback: int = 7  # days of the trailing return behind the funding rate
    funding_noise: float = 0.00005  # sd of the per-settlement noise of the funding rate
    funding_cap: float = 0.0075  # funding rates are clipped to +- this
    funding_carry_sd: float = 0.0005  # sd of the persistent coin-level funding component per settlement
    funding_carry_halflife: float = 30.0  # days: its AR(1) persistence
    funding_premium: float = 0.0008  # daily log return per unit of fund_score (low funding earns more)
    vol_premium: float = 0.0008  # daily log return per unit of vol_score (low volatility earns more)
    vol_lookback: int = 30  # daily returns of the trailing volatility behind vol_score
    chain_premium: float = 0.0005  # daily log return per unit of chain_score (growing activity earns more)
    chain_short_days: int = 7  # recent window of the on-chain growth signal
    chain_long_days: int = 28  # the window before it
    onchain_growth_sd: float = 0.005  # sd of the daily adoption growth of active addresses
    onchain_growth_halflife: float = 60.0  # days: persistence of that growth
    onchain_noise: float = 0.15  # sd of the daily log noise of active addresses
    onchain_missing_prob: float = 0.01  # coin-days without an on-chain row

    def __post_init__(self) -> None:
        check_n_coins(self.n_coins)


#: Fewest coins of a simulated market: a cross-section needs two (one coin has no cross-section).
MIN_COINS = 2


#: About how many 5-minute bars one chunk of ``iter_klines_5m`` holds (~60 MB of frame; the ingest keeps
#: about three chunks alive: the one stored, the one queued, the one being drawn).
CHUNK_BARS = 600_000
MAX_CHUNK_DAYS = 30


def klines_chunk_days(n_coins: int) -> int:
    """Days per chunk of simulated bars for ``n_coins`` coins: ~CHUNK_BARS bars, 1 .. MAX_CHUNK_DAYS days."""
    return max(1, min(MAX_CHUNK_DAYS, CHUNK_BARS // (max(1, n_coins) * BARS_PER_DAY)))


def check_n_coins(n_coins: int) -> int:
    """``n_coins`` when it is a usable market size, else a one-line ValueError naming the minimum."""
    if isinstance(n_coins, bool) or not isinstance(n_coins, (int, np.integer)) or n_coins < MIN_COINS:
        raise ValueError(f"simulated market needs >= {MIN_COINS} coins (--coins / {SIM_COINS_ENV}); "
                         f"got {n_coins!r}")
    return int(n_coins)


def sim_coins_from_env(default: int | None = None) -> int:
    """The simulated market size from ``CRYPTOFACTOR_SIM_COINS`` (default 60), checked."""

    raw = settings.sim_coins_text()
    if raw is None or raw.strip() == "":
        return default if default is not None else SimConfig.n_coins
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{SIM_COINS_ENV}={raw!r} is not an integer (simulated market size, >= {MIN_COINS})") from None
    return check_n_coins(value)


def coin_symbol(i: int) -> str:
    return f"C{i:02d}USDT"


def coin_id(i: int) -> str:
    return f"sim-coin-{i:02d}"


@dataclass(frozen=True)
class DailyState:
    """The whole simulated calendar at daily resolution (arrays are (days, coins))."""

    config: SimConfig
    days: np.ndarray  # datetime64[D], (T,)
    symbols: list[str]
    alive: np.ndarray  # bool (T, N)
    has_bars: np.ndarray  # bool (N,): exchange-listed (False for markets-only coins)
    log_close: np.ndarray  # (T, N) log close at end of day (NaN when not alive)
    ret: np.ndarray  # (T, N) daily log return (NaN on the listing day and when dead)
    diffusion: np.ndarray  # (T, N) non-jump part of the daily log return
    diffusion_vol: np.ndarray  # (T, N) conditional daily vol of the diffusion part
    jump_size: np.ndarray  # (T, N, 3) jump log sizes (0 where none)
    jump_bar: np.ndarray  # (T, N, 3) bar index of each jump
    rsj_planted: np.ndarray  # (T, N)
    supply: np.ndarray  # (N,)
    dollar_volume: np.ndarray  # (T, N) USD
    beta_mkt: np.ndarray  # (N,)
    beta_smb: np.ndarray  # (N,)
    market_factor: np.ndarray  # (T,)
    smb_factor: np.ndarray  # (T,)
    list_day: np.ndarray  # (N,) index into days
    delist_day: np.ndarray  # (N,) index (T when never delisted)
    funding_carry: np.ndarray  # (T, N) persistent coin-level component of the funding rate (per settlement)
    active_addresses: np.ndarray  # (T, N) on-chain active addresses (NaN when not alive)
    tx_count: np.ndarray  # (T, N) on-chain transactions (NaN when not alive)
    onchain_present: np.ndarray  # bool (T, N): an on-chain row is published that coin-day
    chain_growth: np.ndarray  # (T, N) the on-chain growth signal of day t (NaN until its windows are full)

    def day_index(self, day: dt.date) -> int:
        return int((np.datetime64(day, "D") - self.days[0]).astype(int))


def _zscore(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Cross-sectional z-score over the coins in ``mask``; 0 elsewhere."""
    n = mask.sum()
    if n < 3:
        return np.zeros_like(x)
    xm = np.where(mask, x, 0.0)
    mean = xm.sum() / n
    sd = np.sqrt((np.where(mask, (x - mean) ** 2, 0.0)).sum() / (n - 1))
    if sd == 0:
        return np.zeros_like(x)
    return np.where(mask, (x - mean) / sd, 0.0)


def _resid_zscore(y: np.ndarray, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Cross-sectional z-score of the residual of the OLS of ``y`` on [1, x] over ``mask``; 0 elsewhere."""
    n = mask.sum()
    if n < 4:
        return np.zeros_like(y)
    xm, ym = np.where(mask, x, 0.0), np.where(mask, y, 0.0)
    mx, my = xm.sum() / n, ym.sum() / n
    sxx = np.where(mask, (x - mx) ** 2, 0.0).sum()
    slope = np.where(mask, (x - mx) * (y - my), 0.0).sum() / sxx if sxx > 0 else 0.0
    return _zscore(np.where(mask, y - my - slope * (x - mx), 0.0), mask)


def trailing_growth(level: np.ndarray, short: int, long: int) -> np.ndarray:
    """log(mean of the last ``short`` rows up to t) - log(mean of the ``long`` rows before them), per
    column of the (T, N) ``level``; NaN unless every row of both windows is finite and positive."""
    T = level.shape[0]
    ok = np.isfinite(level) & (level > 0)
    cs = np.vstack([np.zeros((1, level.shape[1])), np.cumsum(np.where(ok, level, 0.0), axis=0)])
    cn = np.vstack([np.zeros((1, level.shape[1])), np.cumsum(ok, axis=0)])
    out = np.full(level.shape, np.nan)
    t = np.arange(short + long - 1, T)
    if len(t):
        a, b, c = t + 1, t + 1 - short, t + 1 - short - long
        full = (cn[a] - cn[b] == short) & (cn[b] - cn[c] == long)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.log((cs[a] - cs[b]) / short) - np.log((cs[b] - cs[c]) / long)
        out[t] = np.where(full, g, np.nan)
    return out


def _ar1(rng: np.random.Generator, T: int, N: int, sd: float, halflife: float) -> np.ndarray:
    """(T, N) stationary AR(1) paths with marginal sd ``sd`` and the given half-life in days."""
    phi = 0.5 ** (1.0 / halflife)
    eps = rng.standard_normal((T, N))
    out = np.empty((T, N))
    out[0] = sd * eps[0]
    innov = sd * np.sqrt(1.0 - phi ** 2)
    for t in range(1, T):
        out[t] = phi * out[t - 1] + innov * eps[t]
    return out


def _draw(rng: np.random.Generator, pool: np.ndarray, size: int) -> np.ndarray:
    """``size`` distinct coins from ``pool``, fewer when the pool is smaller (none from an empty pool,
    without touching the generator, so bigger markets keep their exact draws)."""
    size = min(size, len(pool))
    if size <= 0:
        return np.zeros(0, dtype=int)
    return rng.choice(pool, size=size, replace=False)


def markets_only_count(config: SimConfig) -> int:
    """Coins with market data but no exchange bars: ``markets_only_coins`` (drawn from the smaller half);
    a market of at most 10 coins (too small to be drawn before) keeps three quarters of its coins on
    the exchange, so 2 and 3 coins have bars for every coin."""
    n = config.n_coins
    if n <= 10:
        return min(config.markets_only_coins, n // 4)
    return min(config.markets_only_coins, n - n // 2)


@functools.lru_cache(maxsize=8)
def simulate_daily(config: SimConfig) -> DailyState:
    """Draw the daily calendar of the market (deterministic in ``config``)."""
    rng = np.random.default_rng([config.seed, 0])
    days = np.arange(np.datetime64(config.history_start, "D"), np.datetime64(config.history_end, "D") + 1)
    T, N = len(days), config.n_coins

    # --- coins: size, listing, delisting, betas ---------------------------------------------------
    log_mcap0 = np.sort(rng.uniform(np.log(3e5), np.log(5e10), N))[::-1]  # coin 0 is the largest
    size_rank = np.linspace(0.0, 1.0, N)  # 0 = largest, 1 = smallest
    log_price0 = rng.uniform(np.log(0.01), np.log(3000.0), N)
    log_price0[0] = np.log(20000.0)
    supply = np.exp(log_mcap0 - log_price0)
    # Small markets get what fits: late listings among coins 5.., delistings among coins 10.. (never
    # the same coin), markets-only coins in the smaller half; always >= 2 coins with bars (a market
    # of 60, the default, draws exactly what it always drew).
    list_day = np.zeros(N, dtype=int)
    late = _draw(rng, np.arange(5, N), max(1, N // 6))
    list_day[late] = rng.integers(30, max(31, T - 200), size=len(late))
    delist_day = np.full(N, T, dtype=int)
    dead = _draw(rng, np.setdiff1d(np.arange(10, N), late), max(1, N // 12))
    delist_day[dead] = rng.integers(400, max(401, T - 30), size=len(dead))
    alive = (np.arange(T)[:, None] >= list_day[None, :]) & (np.arange(T)[:, None] < delist_day[None, :])
    has_bars = np.ones(N, dtype=bool)
    has_bars[_draw(rng, np.arange(N // 2, N), markets_only_count(config))] = False
    beta_mkt = np.clip(rng.normal(1.0 + 0.4 * size_rank, 0.25), 0.2, 2.5)
    beta_mkt[0] = 1.0
    beta_smb = np.clip(rng.normal(1.6 * size_rank - 0.3, 0.2), -0.5, 1.8)
    idio_lr = config.idio_vol_big + (config.idio_vol_small - config.idio_vol_big) * size_rank

    # --- factor paths: GARCH(1,1) ------------------------------------------------------------------
    a, b = config.garch_alpha, config.garch_beta
    z_m, z_s = rng.standard_normal(T), rng.standard_normal(T)
    z_e = rng.standard_normal((T, N))
    m = np.empty(T)
    s = np.empty(T)
    e = np.empty((T, N))
    h_m, h_s = config.market_vol**2, config.smb_vol**2
    h_e = idio_lr**2
    hist_e = np.empty((T, N))
    for t in range(T):  # sequential in time only; vectorised across coins
        eps_m, eps_s = np.sqrt(h_m) * z_m[t], np.sqrt(h_s) * z_s[t]
        m[t], s[t] = config.market_mean + eps_m, eps_s
        hist_e[t] = np.sqrt(h_e)
        e[t] = hist_e[t] * z_e[t]
        h_m = config.market_vol**2 * (1 - a - b) + a * eps_m**2 + b * h_m
        h_s = config.smb_vol**2 * (1 - a - b) + a * eps_s**2 + b * h_s
        h_e = idio_lr**2 * (1 - a - b) + a * e[t] ** 2 + b * h_e
    diffusion_vol = np.sqrt(
        (beta_mkt**2)[None, :] * config.market_vol**2 + (beta_smb**2)[None, :] * config.smb_vol**2 + hist_e**2
    )

    # --- jumps: up to 3 per coin-day, ~jump_share of quadratic variation -------------------------
    n_jumps = np.minimum(rng.poisson(config.jump_intensity, (T, N)), 3)
    share = config.jump_share / (1 - config.jump_share)
    jump_sd = np.sqrt(share / config.jump_intensity) * diffusion_vol  # E[sum J^2] = share * diffusion var
    jump_size = rng.standard_normal((T, N, 3)) * jump_sd[:, :, None]
    jump_size *= np.arange(3)[None, None, :] < n_jumps[:, :, None]
    jump_bar = rng.integers(1, BARS_PER_DAY, (T, N, 3))
    pos = (np.where(jump_size > 0, jump_size, 0) ** 2).sum(-1)
    neg = (np.where(jump_size < 0, jump_size, 0) ** 2).sum(-1)
    rsj_planted = (pos - neg) / (diffusion_vol**2 + pos + neg)

    # --- funding carry and on-chain activity: streams of their own (the draws above keep their shocks)
    carry = _ar1(np.random.default_rng([config.seed, 7]), T, N, config.funding_carry_sd,
                 config.funding_carry_halflife)
    orng = np.random.default_rng([config.seed, 8])
    growth = _ar1(orng, T, N, config.onchain_growth_sd, config.onchain_growth_halflife)
    level = 0.7 * log_mcap0 - 4.0 + orng.normal(0.0, 0.5, N)  # log active addresses of the first day
    log_aa = level[None, :] + np.cumsum(growth, axis=0) + config.onchain_noise * orng.standard_normal((T, N))
    tx_per_address = np.exp(orng.normal(np.log(3.0), 0.3, N))
    log_tx = log_aa + np.log(tx_per_address)[None, :] + 0.1 * orng.standard_normal((T, N))
    onchain_present = alive & (orng.random((T, N)) >= config.onchain_missing_prob)
    active_addresses = np.where(alive, np.round(np.exp(log_aa)), np.nan)
    tx_count = np.where(alive, np.round(np.exp(log_tx)), np.nan)
    chain_growth = trailing_growth(active_addresses, config.chain_short_days, config.chain_long_days)

    # --- returns with planted characteristic premia (sequential: premia use yesterday's state) -----
    ret = np.full((T, N), np.nan)
    diffusion = np.full((T, N), np.nan)
    log_close = np.full((T, N), np.nan)
    lc = log_price0.copy()
    past = np.zeros((config.momentum_lookback, N))  # ring buffer of past log returns
    L = config.momentum_lookback
    Lv = config.vol_lookback
    vol_past = np.zeros((Lv, N))  # ring buffer of the past log returns of the trailing volatility
    for t in range(T):
        live = alive[t]
        prev_live = alive[t - 1] & live if t else np.zeros(N, dtype=bool)
        log_mcap = lc + np.log(supply)
        size_score = -_zscore(log_mcap, prev_live)
        mom_score = _zscore(past.sum(0), prev_live & (t - list_day >= L))
        premium = (
            config.size_premium * size_score
            + config.momentum_premium * mom_score
            + config.jump_premium * (rsj_planted[t - 1] if t else 0.0)
        )
        if t and config.funding_premium:
            premium = premium + config.funding_premium * -_zscore(carry[t - 1], prev_live & has_bars)
        if config.vol_premium:
            full = prev_live & (t - list_day > Lv)  # vol_lookback returns after the listing day
            sd = np.sqrt(np.maximum(vol_past.var(axis=0, ddof=1), 1e-300))
            premium = premium + config.vol_premium * -_resid_zscore(np.log(sd), log_mcap, full)
        if t and config.chain_premium:
            g = chain_growth[t - 1]
            premium = premium + config.chain_premium * _zscore(np.nan_to_num(g), prev_live & np.isfinite(g))
        d = premium + beta_mkt * m[t] + beta_smb * s[t] + e[t]
        r = d + jump_size[t].sum(-1)
        new = live & ~prev_live  # listing day: close drawn from the initial price
        lc = np.where(prev_live, lc + r, np.where(new, log_price0, lc))
        ret[t] = np.where(prev_live, r, np.nan)
        diffusion[t] = np.where(prev_live, d, np.nan)
        log_close[t] = np.where(live, lc, np.nan)
        past[t % L] = np.where(prev_live, r, 0.0)
        vol_past[t % Lv] = np.where(prev_live, r, 0.0)

    # --- dollar volume: turnover ratio x market cap, louder on big-move days ------------------------
    turnover_ratio = np.exp(rng.normal(np.log(0.03), 0.5, N))
    dollar_volume = np.exp(log_close + np.log(supply)) * turnover_ratio * np.exp(
        0.3 * rng.standard_normal((T, N)) + 4.0 * np.abs(np.nan_to_num(ret))
    )
    return DailyState(
        config=config, days=days, symbols=[coin_symbol(i) for i in range(N)], alive=alive, has_bars=has_bars,
        log_close=log_close, ret=ret, diffusion=diffusion, diffusion_vol=diffusion_vol, jump_size=jump_size,
        jump_bar=jump_bar, rsj_planted=rsj_planted, supply=supply, dollar_volume=dollar_volume,
        beta_mkt=beta_mkt, beta_smb=beta_smb, market_factor=m, smb_factor=s, list_day=list_day,
        delist_day=delist_day, funding_carry=carry, active_addresses=active_addresses, tx_count=tx_count,
        onchain_present=onchain_present, chain_growth=chain_growth,
    )


def _day_bars(state: DailyState, t: int) -> dict[str, np.ndarray]:
    """The 5-minute bars of day index ``t`` for every coin, from a generator seeded by the day only."""
    cfg = state.config
    N = len(state.symbols)
    rng = np.random.default_rng([cfg.seed, 1, t])
    z = rng.standard_normal((N, BARS_PER_DAY))
    wick = np.abs(rng.standard_normal((2, N, BARS_PER_DAY)))
    vol_noise = rng.gamma(4.0, 0.25, (N, BARS_PER_DAY))
    keep = rng.random((N, BARS_PER_DAY)) >= cfg.missing_bar_prob
    outage = rng.random(N) < cfg.outage_prob
    o_start = rng.integers(0, BARS_PER_DAY - 120, N)
    o_len = rng.integers(30, 121, N)
    bars = np.arange(BARS_PER_DAY)
    keep &= ~(outage[:, None] & (bars[None, :] >= o_start[:, None]) & (bars[None, :] < (o_start + o_len)[:, None]))

    prev_lc = state.log_close[t - 1] if t else np.full(N, np.nan)
    live = state.alive[t] & state.has_bars
    first = live & np.isnan(prev_lc)  # listing day: start from the day's own close level
    diff_total = np.where(first, 0.0, state.diffusion[t])
    sd = state.diffusion_vol[t] / np.sqrt(BARS_PER_DAY)
    # Brownian bridge increments: demeaned noise plus the day's drift sum exactly to diff_total.
    inc = sd[:, None] * (z - z.mean(1, keepdims=True)) + (np.nan_to_num(diff_total) / BARS_PER_DAY)[:, None]
    jumps = np.zeros((N, BARS_PER_DAY))
    if not first.all():
        for k in range(3):  # 3 slots: scatter-add each slot's jump at its bar
            np.add.at(jumps, (np.arange(N), state.jump_bar[t, :, k]), np.where(first, 0.0, state.jump_size[t, :, k]))
    path = np.cumsum(inc + jumps, axis=1)
    start_lc = np.where(first, state.log_close[t] - path[:, -1], prev_lc)
    close = np.exp(start_lc[:, None] + path)
    open_ = np.concatenate([np.exp(start_lc)[:, None], close[:, :-1]], axis=1)
    wick_sd = 0.35 * sd[:, None]
    high = np.maximum(open_, close) * np.exp(wick_sd * wick[0])
    low = np.minimum(open_, close) * np.exp(-wick_sd * wick[1])
    # U-shaped intraday volume profile.
    profile = 1.0 + 0.8 * np.cos(2 * np.pi * bars / BARS_PER_DAY) ** 2
    weights = profile[None, :] * vol_noise
    weights /= weights.sum(1, keepdims=True)
    dollar = np.nan_to_num(state.dollar_volume[t])[:, None] * weights
    mid = 0.5 * (open_ + close)
    volume = dollar / mid
    keep &= live[:, None]
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume, "turnover": dollar,
            "keep": keep, "rng": rng}


def _bad_kline_rows(state: DailyState, t: int, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A few deliberately bad rows of the kinds real feeds send (validation must catch each)."""
    if frame.empty or rng.random() >= state.config.bad_row_prob:
        return frame.iloc[0:0]
    row = frame.iloc[[int(rng.integers(len(frame)))]].copy()
    kind = int(rng.integers(5))
    if kind == 0:
        row["close"] = -row["close"]  # non-positive price
    elif kind == 1:
        row["high"], row["low"] = row["low"] * 0.99, row["high"] * 1.01  # high < low
    elif kind == 2:
        row["volume"] = np.nan  # missing field
    elif kind == 3:
        row["close"] = row["close"] * 1.5  # conflicting duplicate of an existing bar
        row["high"] = np.maximum(row["high"], row["close"])
    else:
        row["open_time"] = row["open_time"] + pd.Timedelta(seconds=150)  # off the 5-minute grid
    return row


def day_funding(state: DailyState, t: int) -> tuple[np.ndarray, np.ndarray]:
    """The funding rates of day index ``t``: ``(rates (3, N), listed (N,))`` (see the module docstring).

    Reads only the daily returns of days ``t - funding_lookback .. t - 1``, the day's funding carry (drawn
    independently of prices) and a generator seeded by (seed, day): the day's rates do not depend on any
    later price nor on the range being built.
    ``listed`` marks the coins with exchange bars alive on day ``t`` (the ones with funding).
    """
    cfg = state.config
    N = len(state.symbols)
    past = state.ret[max(0, t - cfg.funding_lookback):t]
    trailing = np.nansum(past, axis=0) if len(past) else np.zeros(N)
    z = np.random.default_rng([cfg.seed, 5, t]).standard_normal((len(FUNDING_HOURS), N))
    rates = (cfg.funding_base + cfg.funding_momentum * trailing[None, :] + state.funding_carry[t][None, :]
             + cfg.funding_noise * z)
    return np.clip(rates, -cfg.funding_cap, cfg.funding_cap), state.alive[t] & state.has_bars


def funding_frame(state: DailyState, days: range) -> pd.DataFrame:
    """Funding settlements of the day indices ``days`` (``funding.FUNDING_COLUMNS``), by time then symbol."""
    parts = []
    for t in days:
        rates, listed = day_funding(state, t)
        coins = np.flatnonzero(listed)
        if len(coins) == 0:
            continue
        day = state.days[t].astype("datetime64[ns]")
        times = np.array([day + np.timedelta64(h, "h") for h in FUNDING_HOURS], dtype="datetime64[ns]")
        parts.append(pd.DataFrame({
            "symbol": np.tile(np.array(state.symbols, dtype=object)[coins], len(FUNDING_HOURS)),
            "funding_time": np.repeat(times, len(coins)),
            "funding_rate": rates[:, coins].ravel(),
            "interval_hours": FUNDING_INTERVAL_HOURS,
        }))
    if not parts:
        return empty_funding()
    return pd.concat(parts, ignore_index=True)[FUNDING_COLUMNS]


def onchain_frame(state: DailyState, days: range) -> pd.DataFrame:
    """On-chain activity rows of the day indices ``days`` (``onchain.ONCHAIN_COLUMNS``): every coin alive
    that day but for the missing coin-days, by date then symbol."""
    idx = np.asarray(list(days), dtype=int)
    if len(idx) == 0:
        return empty_onchain()
    ti, ci = np.nonzero(state.onchain_present[idx])
    if len(ti) == 0:
        return empty_onchain()
    return pd.DataFrame({
        "date": state.days[idx[ti]].astype("datetime64[ns]"),
        "symbol": np.asarray(state.symbols, dtype=object)[ci],
        "coin": [coin_id(c) for c in ci],
        "active_addresses": state.active_addresses[idx[ti], ci],
        "tx_count": state.tx_count[idx[ti], ci],
    })[ONCHAIN_COLUMNS]


class SimulatedMarket:
    """The default source: deterministic bars and markets from ``SimConfig``."""

    name = "simulated"

    def __init__(self, config: SimConfig | None = None):
        self.config = config or SimConfig()

    @property
    def state(self) -> DailyState:
        return simulate_daily(self.config)

    def _day_range(self, start: dt.date, end: dt.date) -> range:
        st = self.state
        lo = max(0, st.day_index(start))
        hi = min(len(st.days), st.day_index(end))
        return range(lo, max(lo, hi))

    def iter_klines_5m(self, start: dt.date, end: dt.date, chunk_days: int | None = None) -> Iterator[pd.DataFrame]:
        """Bars with open_time in [start, end), yielded in chunks of whole days (bounded memory): by default
        as many days as hold about ``CHUNK_BARS`` bars (1 to 30 days), so a chunk's size does not grow with
        the universe (500 coins: 4 days a chunk, 60 coins: 30). A day's bars do not depend on its chunk."""
        st = self.state
        days = list(self._day_range(start, end))
        if chunk_days is None:
            chunk_days = klines_chunk_days(len(st.symbols))
        sym = pd.Categorical(st.symbols)
        for c in range(0, len(days), chunk_days):
            parts = []
            for t in days[c : c + chunk_days]:
                b = _day_bars(st, t)
                ci, bi = np.nonzero(b["keep"])
                if len(ci) == 0:
                    continue
                day_ns = st.days[t].astype("datetime64[ns]").astype(np.int64)
                frame = pd.DataFrame({
                    "symbol": sym[ci],
                    "open_time": (day_ns + bi.astype(np.int64) * _NS_PER_BAR).view("datetime64[ns]"),
                    "open": b["open"][ci, bi], "high": b["high"][ci, bi], "low": b["low"][ci, bi],
                    "close": b["close"][ci, bi], "volume": b["volume"][ci, bi], "turnover": b["turnover"][ci, bi],
                })
                parts.append(frame)
                parts.append(_bad_kline_rows(st, t, frame, b["rng"]))
            if parts:
                # symbol stays categorical (cheap); the staging SQL casts it to VARCHAR
                yield pd.concat(parts, ignore_index=True)

    def coin_markets(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """CoinGecko-like daily snapshots (price = daily close, market cap = price x supply)."""
        st = self.state
        idx = np.array(list(self._day_range(start, end)), dtype=int)
        if len(idx) == 0:
            return pd.DataFrame(columns=["coin_id", "symbol", "date", "price", "market_cap", "total_volume"])
        # per-day seeded draws, so the result does not depend on the requested range
        u = np.stack([np.random.default_rng([st.config.seed, 3, int(t)]).random(len(st.symbols)) for t in idx])
        ti, ci = np.nonzero(st.alive[idx] & (u >= st.config.unmapped_market_days_prob))
        price = np.exp(st.log_close[idx[ti], ci])
        frame = pd.DataFrame({
            "coin_id": [coin_id(c) for c in ci],
            "symbol": [st.symbols[c] for c in ci],
            "date": st.days[idx[ti]].astype("datetime64[ns]"),
            "price": price,
            "market_cap": price * st.supply[ci],
            "total_volume": st.dollar_volume[idx[ti], ci] * 1.8,  # all venues, not only this exchange
        })
        bad = []
        for t in idx:
            r = np.random.default_rng([st.config.seed, 4, int(t)])
            if r.random() < st.config.bad_market_row_prob:
                live = np.nonzero(st.alive[t])[0]
                if len(live):
                    c = int(r.choice(live))
                    bad.append({"coin_id": coin_id(c), "symbol": st.symbols[c],
                                "date": st.days[t].astype("datetime64[ns]"),
                                "price": 0.0, "market_cap": 0.0, "total_volume": -1.0})
        if bad:
            frame = pd.concat([frame, pd.DataFrame(bad)], ignore_index=True)
        return frame

    def funding_rates(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Funding settlements of the perpetuals (coins with bars) with funding_time in [start, end)."""
        return funding_frame(self.state, self._day_range(start, end))

    def onchain_activity(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Daily on-chain activity (active addresses, transactions) of every coin with date in [start, end)."""
        return onchain_frame(self.state, self._day_range(start, end))

    def truth(self) -> pd.DataFrame:
        """Planted truths in long form: (category, name, symbol, date, value)."""
        st = self.state
        rows: list[tuple] = []
        for k, v in asdict(self.config).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                rows.append(("parameter", k, "", None, float(v)))
        for i, s in enumerate(st.symbols):
            rows.append(("coin", "beta_mkt", s, None, float(st.beta_mkt[i])))
            rows.append(("coin", "beta_smb", s, None, float(st.beta_smb[i])))
            rows.append(("coin", "has_bars", s, None, float(st.has_bars[i])))
            rows.append(("coin", "supply", s, None, float(st.supply[i])))
            rows.append(("coin", "list_day", s, pd.Timestamp(st.days[st.list_day[i]]).date(), 1.0))
            if st.delist_day[i] < len(st.days):
                rows.append(("coin", "delist_day", s, pd.Timestamp(st.days[st.delist_day[i]]).date(), 1.0))
        frame = pd.DataFrame(rows, columns=["category", "name", "symbol", "date", "value"])
        days = pd.to_datetime(st.days).date
        factors = pd.DataFrame({
            "category": "factor", "name": np.repeat(["market", "smb"], len(days)), "symbol": "",
            "date": np.concatenate([days, days]),
            "value": np.concatenate([st.market_factor, st.smb_factor]),
        })
        return pd.concat([frame, factors], ignore_index=True)
