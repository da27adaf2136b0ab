"""Backtest summary statistics of a return series (daily strategies and weekly long-shorts alike).

Definitions for simple period returns r_1..r_T (NaN periods dropped), P = periods per year
(365 for daily crypto, 52 for the LTW weeks):

* mean = (1/T) sum r_t; ann_return = P x mean (arithmetic, the numerator of the Sharpe ratio);
  cagr = (prod (1 + r_t))^(P/T) - 1; total_return = prod (1 + r_t) - 1.
* ann_vol = sd(r) sqrt(P) with the sample sd (ddof = 1).
* sharpe = mean / sd(r) x sqrt(P). No risk-free rate is subtracted: the long-shorts are
  zero-investment, so their returns are already excess returns.
* sortino = mean / DD x sqrt(P) with the downside deviation DD = sqrt((1/T) sum min(r_t, 0)^2)
  (target 0, all T periods in the denominator; Sortino & Price 1994).
* max_drawdown = max_t (1 - E_t / max_{s<=t} E_s) with E_0 = 1 and E_t = prod_{s<=t} (1 + r_s), a
  positive fraction.
* win_rate = share of periods with r_t > 0.
* mean_t_nw: Newey-West t-statistic of the mean (OLS of r on a constant, Bartlett kernel).
* beta, alpha against ``market``: OLS r_t = alpha + beta m_t + e_t on the common periods, with
  Newey-West (Bartlett) standard errors, statsmodels' ``cov_type="HAC"`` conventions (no small-sample
  correction, normal p-values); ``alpha_ann = P x alpha``.
* nw_lags: the lag used, an int or a rule of :func:`cryptofactor_assets.estimators.hac.nw_lag` applied
  to the number of observations (default ``"4t100"`` = floor(4 (T/100)^(2/9))); stored.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators.hac import LagRule, ols_hac

DEFAULT_LAG_RULE = "4t100"


@dataclass(frozen=True)
class BacktestReport:
    """Summary statistics of one return series; definitions in the module docstring."""

    n_periods: int
    periods_per_year: float
    start: str
    end: str
    mean: float
    ann_return: float
    cagr: float
    total_return: float
    ann_vol: float
    sharpe: float
    sortino: float
    max_drawdown: float
    win_rate: float
    mean_t_nw: float
    nw_lags: int
    beta: float | None = None
    beta_t_nw: float | None = None
    alpha: float | None = None
    alpha_ann: float | None = None
    alpha_t_nw: float | None = None
    market_lags: int | None = None
    n_market_periods: int | None = None
    avg_coins_long: float | None = None
    avg_coins_short: float | None = None

    def as_dict(self) -> dict[str, float | int | str | None]:
        """Plain-Python dict (JSON / Dagster metadata friendly)."""
        return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in asdict(self).items()}

    def to_markdown(self) -> str:
        """A two-column markdown table of the statistics (returns in %, t-statistics in brackets)."""

        def pct(v: float | None) -> str:
            return "" if v is None or not np.isfinite(v) else f"{100 * v:.2f} %"

        def num(v: float | None, digits: int = 2) -> str:
            return "" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"

        rows = [
            ("periods", f"{self.n_periods} ({self.start} to {self.end}, {self.periods_per_year:g} per year)"),
            ("mean per period", f"{pct(self.mean)} (t_NW {num(self.mean_t_nw)}, {self.nw_lags} lags)"),
            ("annualised return (arithmetic)", pct(self.ann_return)),
            ("CAGR", pct(self.cagr)),
            ("total return", pct(self.total_return)),
            ("annualised volatility", pct(self.ann_vol)),
            ("Sharpe ratio", num(self.sharpe)),
            ("Sortino ratio", num(self.sortino)),
            ("max drawdown", pct(self.max_drawdown)),
            ("win rate", pct(self.win_rate)),
        ]
        if self.beta is not None:
            rows += [
                ("beta vs market", f"{num(self.beta, 3)} (t_NW {num(self.beta_t_nw)})"),
                ("alpha, annualised", f"{pct(self.alpha_ann)} (t_NW {num(self.alpha_t_nw)}, "
                                      f"{self.market_lags} lags, {self.n_market_periods} periods)"),
            ]
        if self.avg_coins_long is not None:
            rows.append(("avg coins, long leg", num(self.avg_coins_long, 1)))
        if self.avg_coins_short is not None:
            rows.append(("avg coins, short leg", num(self.avg_coins_short, 1)))
        lines = ["| statistic | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in rows]
        return "\n".join(lines)


def max_drawdown(returns: np.ndarray) -> float:
    """max_t (1 - E_t / running max of E) with E_0 = 1, E_t = prod (1 + r_s); 0 for no loss."""
    equity = np.cumprod(1.0 + np.asarray(returns, dtype=float))
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    return float(max(0.0, np.max(1.0 - equity / peak))) if equity.size else float("nan")


def _label(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return str(value)


def backtest_report(
    returns: pd.Series,
    periods_per_year: float = 365,
    market: pd.Series | None = None,
    nw_lags: LagRule | None = None,
    n_long: pd.Series | None = None,
    n_short: pd.Series | None = None,
) -> BacktestReport:
    """Summary statistics of simple period returns ``returns`` (index: dates or periods).

    ``market``: the market factor's returns on the same index (aligned by label; beta and alpha use
    the periods where both exist). ``nw_lags``: an int, or a rule name (``"t14"``, ``"4t100"``,
    ``"nw1994"``); None = ``"4t100"``. ``n_long`` / ``n_short``: coins per leg per period (averaged).
    Formulas in the module docstring.
    """
    r = pd.Series(returns, dtype=float).dropna()
    t = len(r)
    if t < 3:
        raise ValueError(f"need at least 3 non-missing returns, got {t}")
    x = r.to_numpy()
    rule: LagRule = DEFAULT_LAG_RULE if nw_lags is None else nw_lags
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    downside = math.sqrt(float(np.mean(np.minimum(x, 0.0) ** 2)))
    growth = float(np.prod(1.0 + x))
    scale = math.sqrt(periods_per_year)
    mean_fit = ols_hac(x, np.ones((t, 1)), lags=rule)

    fields: dict[str, float | int | None] = {}
    if market is not None:
        joined = pd.concat([r.rename("r"), pd.Series(market, dtype=float).rename("m")], axis=1, join="inner")
        joined = joined.dropna()
        if len(joined) < 3:
            raise ValueError("fewer than 3 periods shared by the returns and the market")
        fit = ols_hac(joined["r"].to_numpy(), joined["m"].to_numpy(), lags=rule, add_constant=True)
        fields = dict(
            alpha=float(fit.params[0]), beta=float(fit.params[1]), alpha_t_nw=float(fit.tvalues[0]),
            beta_t_nw=float(fit.tvalues[1]), alpha_ann=float(fit.params[0]) * periods_per_year,
            market_lags=int(fit.lags), n_market_periods=int(fit.nobs),
        )

    def avg(s: pd.Series | None) -> float | None:
        return None if s is None else float(pd.Series(s, dtype=float).mean())

    return BacktestReport(
        n_periods=t,
        periods_per_year=float(periods_per_year),
        start=_label(r.index[0]),
        end=_label(r.index[-1]),
        mean=mean,
        ann_return=mean * periods_per_year,
        cagr=growth ** (periods_per_year / t) - 1.0 if growth > 0 else -1.0,
        total_return=growth - 1.0,
        ann_vol=sd * scale,
        sharpe=mean / sd * scale if sd > 0 else float("nan"),
        sortino=mean / downside * scale if downside > 0 else float("nan"),
        max_drawdown=max_drawdown(x),
        win_rate=float(np.mean(x > 0)),
        mean_t_nw=float(mean_fit.tvalues[0]),
        nw_lags=int(mean_fit.lags),
        avg_coins_long=avg(n_long),
        avg_coins_short=avg(n_short),
        **fields,
    )
