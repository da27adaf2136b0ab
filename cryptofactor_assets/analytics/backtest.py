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

Drawdown durations, gross / net statistics with the cost drag, and multi-factor attribution are in
:mod:`cryptofactor_assets.analytics.performance`, which builds on this module's formulas.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators.hac import HACResult, LagRule, ols_hac

DEFAULT_LAG_RULE = "4t100"


@dataclass(frozen=True)
class ReturnSummary:
    """The statistics of one return series every report has; definitions in the module docstring."""

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

    def as_dict(self) -> dict[str, float | int | str | None]:
        """Plain-Python dict (JSON / Dagster metadata friendly)."""
        return plain_dict(asdict(self))


@dataclass(frozen=True)
class BacktestReport(ReturnSummary):
    """Summary statistics of one return series, with the market regression and the legs' coins when
    given; definitions in the module docstring."""

    beta: float | None = None
    beta_t_nw: float | None = None
    alpha: float | None = None
    alpha_ann: float | None = None
    alpha_t_nw: float | None = None
    market_lags: int | None = None
    n_market_periods: int | None = None
    avg_coins_long: float | None = None
    avg_coins_short: float | None = None

    def to_markdown(self) -> str:
        """A two-column markdown table of the statistics (returns in %, t-statistics in brackets)."""
        rows = summary_rows(self)
        if self.beta is not None:
            rows += [
                ("beta vs market", f"{fmt_num(self.beta, 3)} (t_NW {fmt_num(self.beta_t_nw)})"),
                ("alpha, annualised", f"{fmt_pct(self.alpha_ann)} (t_NW {fmt_num(self.alpha_t_nw)}, "
                                      f"{self.market_lags} lags, {self.n_market_periods} periods)"),
            ]
        if self.avg_coins_long is not None:
            rows.append(("avg coins, long leg", fmt_num(self.avg_coins_long, 1)))
        if self.avg_coins_short is not None:
            rows.append(("avg coins, short leg", fmt_num(self.avg_coins_short, 1)))
        return markdown_table(("statistic", "value"), rows)


def plain_dict(values: dict) -> dict:
    """``values`` with numpy floats as Python floats (JSON / Dagster metadata friendly)."""
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in values.items()}


def fmt_pct(v: float | None) -> str:
    """``v`` (a fraction) in % with two decimals; empty for None / NaN / inf."""
    return "" if v is None or not np.isfinite(v) else f"{100 * v:.2f} %"


def fmt_num(v: float | None, digits: int = 2) -> str:
    """``v`` with ``digits`` decimals; empty for None / NaN / inf."""
    return "" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A markdown table: the header row, the rule, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def summary_rows(rep: ReturnSummary) -> list[tuple[str, str]]:
    """The (statistic, text) rows of the return statistics every report shares."""
    return [
        ("periods", f"{rep.n_periods} ({rep.start} to {rep.end}, {rep.periods_per_year:g} per year)"),
        ("mean per period", f"{fmt_pct(rep.mean)} (t_NW {fmt_num(rep.mean_t_nw)}, {rep.nw_lags} lags)"),
        ("annualised return (arithmetic)", fmt_pct(rep.ann_return)),
        ("CAGR", fmt_pct(rep.cagr)),
        ("total return", fmt_pct(rep.total_return)),
        ("annualised volatility", fmt_pct(rep.ann_vol)),
        ("Sharpe ratio", fmt_num(rep.sharpe)),
        ("Sortino ratio", fmt_num(rep.sortino)),
        ("max drawdown", fmt_pct(rep.max_drawdown)),
        ("win rate", fmt_pct(rep.win_rate)),
    ]


def drawdown_series(returns: np.ndarray) -> np.ndarray:
    """D_t = 1 - E_t / max(1, max_{s<=t} E_s) with E_t = prod_{s<=t} (1 + r_s), t = 1..T: the loss from
    the running peak (the starting capital E_0 = 1 included) as a positive fraction, 0 at a peak."""
    equity = np.cumprod(1.0 + np.asarray(returns, dtype=float))
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    return 1.0 - equity / peak


def max_drawdown(returns: np.ndarray) -> float:
    """max_t D_t of :func:`drawdown_series` (E_0 = 1); 0 for no loss, NaN for no returns."""
    dd = drawdown_series(returns)
    return float(max(0.0, np.max(dd))) if dd.size else float("nan")


def regress_on_common_periods(returns: pd.Series, factors: pd.DataFrame, lags: LagRule,
                              what: str = "the factors") -> tuple[pd.DataFrame, HACResult]:
    """OLS with intercept of ``returns`` on the columns of ``factors`` over the periods where all exist
    (aligned by index label), Newey-West (Bartlett) covariance (:func:`~cryptofactor_assets.estimators.hac.
    ols_hac`: statsmodels' ``cov_type="HAC"``, no small-sample correction). Returns the joined frame
    (columns ``("y", "return")`` and ``("x", <factor>)``) and the fit (``params[0]`` the intercept)."""
    joined = pd.concat({"y": pd.Series(returns, dtype=float).rename("return").to_frame(),
                        "x": factors.astype(float)}, axis=1, join="inner").dropna()
    if len(joined) < 3:
        raise ValueError(f"fewer than 3 periods shared by the returns and {what}")
    fit = ols_hac(joined[("y", "return")].to_numpy(), joined["x"].to_numpy(), lags=lags, add_constant=True)
    return joined, fit


def period_label(value) -> str:
    """A period label as text: a midnight timestamp as its ISO date, any other value as str()."""
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
        _, fit = regress_on_common_periods(r, pd.Series(market, dtype=float).rename("market").to_frame(),
                                           rule, what="the market")
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
        start=period_label(r.index[0]),
        end=period_label(r.index[-1]),
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
