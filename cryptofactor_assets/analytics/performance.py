"""Performance of a strategy: statistics of its gross and net returns with drawdown durations, the cost
drag by component and the turnover; a factor regression with Newey-West inference and the per-period
attribution of the returns to the factors.

Builds on :mod:`cryptofactor_assets.analytics.backtest` (one copy of each formula: the statistics are
those of :func:`~cryptofactor_assets.analytics.backtest.backtest_report`, the drawdowns those of its
:func:`~cryptofactor_assets.analytics.backtest.drawdown_series`, the regression its
:func:`~cryptofactor_assets.analytics.backtest.regress_on_common_periods` over
:func:`~cryptofactor_assets.estimators.hac.ols_hac`). Pure numpy / pandas; no Dagster, no SciPy at import.

Definitions for simple period returns r_1..r_T (NaN periods dropped), P = periods per year (365 for daily
crypto, 52 for the LTW weeks). "Per period" values are fractions per period, "annualised" ones fractions
per year.

Return statistics (:class:`ReturnStats`):

* mean = (1/T) sum r_t per period; ann_return = P x mean (arithmetic); cagr = (prod (1 + r_t))^(P/T) - 1
  (geometric, T / P years); total_return = prod (1 + r_t) - 1.
* ann_vol = sd(r) sqrt(P), sample sd (ddof 1).
* sharpe = mean / sd(r) x sqrt(P) (Sharpe 1994, J. Portfolio Management 21(1)); no risk-free rate is
  subtracted (the strategies' and factors' returns are zero-investment, i.e. already excess returns).
* mean_t_nw: the Newey & West (1987, Econometrica 55(3)) t of the mean, mean / se, with
  se^2 = (1/T^2) [sum e_t^2 + 2 sum_{j=1..L} (1 - j/(L+1)) sum_{t>j} e_t e_{t-j}], e_t = r_t - mean
  (Bartlett kernel; OLS of r on a constant with statsmodels' ``cov_type="HAC"``, no small-sample
  correction). It is the t of H0: Sharpe = 0 (the Sharpe ratio is zero exactly when the mean is); Lo
  (2002, Financial Analysts Journal 58(4)) derives the standard error of the Sharpe ratio itself, which
  is not reported. L (nw_lags) is an int or a rule of :func:`~cryptofactor_assets.estimators.hac.nw_lag`
  (default ``"4t100"``: floor(4 (T/100)^(2/9))).
* sortino = mean / DD x sqrt(P), downside deviation DD = sqrt((1/T) sum min(r_t, 0)^2) (target 0, all
  T periods in the denominator; Sortino & Price 1994, J. Investing 3(3)).
* win_rate = share of the T periods with r_t > 0 (a zero return is no win and stays in the denominator).
* Drawdowns: E_0 = 1, E_t = prod_{s<=t} (1 + r_s), D_t = 1 - E_t / max(E_0, ..., E_t) (a positive
  fraction, 0 at a peak). max_drawdown = max_t D_t. A drawdown spell is a maximal run of periods a..b
  with D_t > 0; its peak is period a - 1 (0 = the starting capital), its trough the period of its
  largest D_t (its depth), its recovery the period b + 1 (the first one back at or above the peak)
  when b < T. Its duration is in periods from the peak to the recovery, (b + 1) - (a - 1), or to the
  last period when it has not recovered, T - (a - 1). max_drawdown_duration is the duration of the
  deepest spell (the first if tied), longest_drawdown_duration the longest spell's.

Costs and turnover (:func:`strategy_performance`): each cost component is a return lost per period
(positive = paid; negative = received, e.g. funding), so net_t = gross_t - fees_t - spread_t - funding_t.

* X_drag = P x mean_t X_t for X in fees, spread, funding (annualised arithmetic, fraction per year);
  cost_drag = P x mean_t (gross_t - net_t) = gross.ann_return - net.ann_return; other_drag = cost_drag
  minus the given components' drags (0 up to rounding when they explain gross - net). So
  fees_drag + spread_drag + funding_drag + other_drag = cost_drag. The drag is additive in arithmetic
  annual returns only: gross.cagr - net.cagr is not the sum of the components.
* avg_turnover = (1/T) sum turnover_t per period (in the caller's unit, e.g. sum_i |w_i,t - w_i,t-1|);
  ann_turnover = P x avg_turnover.

Factor regression and attribution (:func:`factor_regression`): r_t = alpha + sum_k beta_k f_k,t + e_t by
OLS over the periods where the return and every factor exist, with Newey-West (Bartlett, L lags)
standard errors in statsmodels' ``cov_type="HAC"`` conventions (``use_correction=False``, normal
p-values); t = coefficient / se; alpha per period, alpha_ann = P x alpha; R^2 centred. The attribution
of period t: factor part of factor k = beta_k f_k,t; factor = sum_k beta_k f_k,t; alpha = alpha;
residual = r_t - factor - alpha (the OLS residual), so return = factor + alpha + residual in every
period. The OLS residuals sum to zero, so contrib_ann_k = P x beta_k x mean_t f_k,t and
ann_return = alpha_ann + sum_k contrib_ann_k over the regression's periods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from cryptofactor_assets.analytics.backtest import (
    DEFAULT_LAG_RULE,
    ReturnSummary,
    backtest_report,
    drawdown_series,
    fmt_num,
    fmt_pct,
    markdown_table,
    period_label,
    plain_dict,
    regress_on_common_periods,
    summary_rows,
)
from cryptofactor_assets.estimators.hac import LagRule

__all__ = [
    "COST_COMPONENTS",
    "FactorRegression",
    "ReturnStats",
    "StrategyPerformance",
    "drawdown_spells",
    "factor_regression",
    "return_stats",
    "strategy_performance",
]

#: The cost components of a strategy, in the order of the reports.
COST_COMPONENTS = ("fees", "spread", "funding")
#: Columns of the attribution frame besides one per factor (a factor may not take these names).
ATTRIBUTION_COLUMNS = ("return", "factor", "alpha", "residual")
#: The peak label of a drawdown from the starting capital (before the first period).
START = "start"


@dataclass(frozen=True)
class ReturnStats(ReturnSummary):
    """Statistics of one return series: those of every backtest report (:class:`~cryptofactor_assets.
    analytics.backtest.ReturnSummary`) and the drawdown durations; definitions in the module docstring.
    Per period: ``mean``; annualised: ``ann_return``, ``cagr``, ``ann_vol``, ``sharpe``, ``sortino``; whole
    sample: ``total_return``, ``max_drawdown`` (positive fraction), ``win_rate``; ``mean_t_nw`` the
    Sharpe's t; durations in periods; labels as text (``max_drawdown_peak`` is ``"start"`` for the
    starting capital; ``max_drawdown_recovery`` None when not recovered; the three None when there is no
    drawdown)."""

    max_drawdown_duration: int
    max_drawdown_peak: str | None
    max_drawdown_trough: str | None
    max_drawdown_recovery: str | None
    longest_drawdown_duration: int

    def rows(self) -> list[tuple[str, str]]:
        """(statistic, text) rows: those of every backtest report, then the drawdown durations."""
        if self.max_drawdown_duration == 0:
            spell = "0 periods"
        else:
            until = self.max_drawdown_recovery or f"{self.end}, not recovered"
            spell = (f"{self.max_drawdown_duration} periods (peak {self.max_drawdown_peak}, "
                     f"trough {self.max_drawdown_trough}, until {until})")
        return summary_rows(self) + [("max drawdown duration", spell),
                                     ("longest drawdown", f"{self.longest_drawdown_duration} periods")]

    def to_markdown(self) -> str:
        """A two-column markdown table (returns in %, t-statistics in brackets)."""
        return markdown_table(("statistic", "value"), self.rows())


@dataclass(frozen=True)
class StrategyPerformance:
    """Gross and net statistics on the same periods, the annualised cost drag (fractions per year:
    ``cost_drag`` = P x mean(gross - net), each component's P x mean, None for a component not given;
    ``other_drag`` the part of ``cost_drag`` the given components leave unexplained) and the turnover
    (``avg_turnover`` per period, ``ann_turnover`` per year; None without a turnover series)."""

    gross: ReturnStats
    net: ReturnStats
    cost_drag: float
    fees_drag: float | None
    spread_drag: float | None
    funding_drag: float | None
    other_drag: float
    avg_turnover: float | None
    ann_turnover: float | None

    def as_dict(self) -> dict[str, float | int | str | None]:
        """Flat plain-Python dict: ``gross_<stat>``, ``net_<stat>``, then the cost and turnover fields."""
        own = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("gross", "net")}
        return {**{f"gross_{k}": v for k, v in self.gross.as_dict().items()},
                **{f"net_{k}": v for k, v in self.net.as_dict().items()}, **plain_dict(own)}

    def to_markdown(self) -> str:
        """The statistics (statistic | gross | net), then the annualised cost drag and turnover."""
        stats = [(label, g, n) for (label, g), (_, n) in zip(self.gross.rows(), self.net.rows(), strict=True)]
        costs = [(f"{name} drag, annualised", fmt_pct(getattr(self, f"{name}_drag")))
                 for name in COST_COMPONENTS if getattr(self, f"{name}_drag") is not None]
        costs += [("other drag, annualised", fmt_pct(self.other_drag)),
                  ("cost drag, annualised (gross - net)", fmt_pct(self.cost_drag))]
        if self.avg_turnover is not None:
            costs += [("turnover per period", fmt_num(self.avg_turnover, 4)),
                      ("turnover, annualised", fmt_num(self.ann_turnover, 1))]
        return (markdown_table(("statistic", "gross", "net"), stats) + "\n\n"
                + markdown_table(("cost and turnover", "value"), costs))


@dataclass(frozen=True)
class FactorRegression:
    """OLS of returns on factors with Newey-West t's; definitions in the module docstring. ``alpha`` per
    period, ``alpha_ann`` = P x alpha per year; ``betas``, ``beta_t_nw`` and ``contrib_ann`` (P x beta_k x
    mean f_k, per year) keyed by factor; ``attribution``: one row per regression period, columns
    ``return``, one per factor (beta_k f_k,t), ``factor``, ``alpha``, ``residual`` (per period; an
    in-sample decomposition, see :func:`factor_regression`)."""

    factors: tuple[str, ...]
    n_periods: int
    periods_per_year: float
    start: str
    end: str
    nw_lags: int
    alpha: float
    alpha_ann: float
    alpha_t_nw: float
    betas: Mapping[str, float]
    beta_t_nw: Mapping[str, float]
    contrib_ann: Mapping[str, float]
    r2: float
    attribution: pd.DataFrame = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, float | int | str | None]:
        """Flat plain-Python dict: the scalars, then ``beta_<f>``, ``beta_t_nw_<f>``, ``contrib_ann_<f>``
        per factor (``factors`` comma-joined; the attribution frame left out)."""
        out: dict = {f.name: getattr(self, f.name) for f in fields(self)
                     if f.name not in ("factors", "betas", "beta_t_nw", "contrib_ann", "attribution")}
        out["factors"] = ",".join(self.factors)
        for name in self.factors:
            out[f"beta_{name}"] = self.betas[name]
            out[f"beta_t_nw_{name}"] = self.beta_t_nw[name]
            out[f"contrib_ann_{name}"] = self.contrib_ann[name]
        return plain_dict(out)

    def to_markdown(self) -> str:
        """A two-column markdown table (returns in %, t-statistics in brackets)."""
        rows = [
            ("periods", f"{self.n_periods} ({self.start} to {self.end}, {self.periods_per_year:g} per year, "
                        f"{self.nw_lags} NW lags)"),
            ("alpha per period", f"{fmt_pct(self.alpha)} (t_NW {fmt_num(self.alpha_t_nw)})"),
            ("alpha, annualised", fmt_pct(self.alpha_ann)),
        ]
        rows += [(f"beta {name}", f"{fmt_num(self.betas[name], 3)} (t_NW {fmt_num(self.beta_t_nw[name])}), "
                                  f"contributes {fmt_pct(self.contrib_ann[name])} a year") for name in self.factors]
        rows.append(("R^2", fmt_num(self.r2, 3)))
        return markdown_table(("statistic", "value"), rows)


def drawdown_spells(returns: pd.Series) -> pd.DataFrame:
    """One row per drawdown spell of ``returns`` (NaN periods dropped), in time order.

    Columns: ``peak`` (label of the peak period; None for the starting capital), ``trough``, ``recovery``
    (label of the first period back at or above the peak; None if not recovered), ``depth`` (positive
    fraction), ``duration`` (periods from the peak to the recovery, or to the last period if not
    recovered), ``recovered``. Definitions in the module docstring.
    """
    r = pd.Series(returns, dtype=float).dropna()
    dd = drawdown_series(r.to_numpy())
    t = dd.size
    edges = np.flatnonzero(np.diff(np.concatenate([[0], (dd > 0).astype(int), [0]])))
    spells: dict[str, list] = {c: [] for c in ("peak", "trough", "recovery", "depth", "duration", "recovered")}
    for first, after in zip(edges[0::2], edges[1::2], strict=True):  # underwater periods first..after-1
        trough = first + int(np.argmax(dd[first:after]))
        recovered = bool(after < t)
        spells["peak"].append(r.index[first - 1] if first > 0 else None)
        spells["trough"].append(r.index[trough])
        spells["recovery"].append(r.index[after] if recovered else None)
        spells["depth"].append(float(dd[trough]))
        spells["duration"].append(int((after + 1 if recovered else t) - first))
        spells["recovered"].append(recovered)
    dtypes = {"peak": object, "trough": object, "recovery": object, "depth": float, "duration": int,
              "recovered": bool}
    return pd.DataFrame({c: pd.Series(v, dtype=dtypes[c]) for c, v in spells.items()})


def return_stats(returns: pd.Series, periods_per_year: float = 365,
                 nw_lags: LagRule | None = None) -> ReturnStats:
    """Statistics of the simple period returns ``returns`` (index: dates or periods; NaN dropped; at least
    3 returns). ``nw_lags``: an int or a lag rule name; None = ``"4t100"``. Definitions in the module
    docstring; the shared ones are :func:`~cryptofactor_assets.analytics.backtest.backtest_report`'s."""
    r = pd.Series(returns, dtype=float).dropna()
    report = backtest_report(r, periods_per_year=periods_per_year, nw_lags=nw_lags)
    shared = {f.name: getattr(report, f.name) for f in fields(ReturnSummary)}
    spells = drawdown_spells(r)
    if spells.empty:
        deepest = {"max_drawdown_duration": 0, "max_drawdown_peak": None, "max_drawdown_trough": None,
                   "max_drawdown_recovery": None}
        longest = 0
    else:
        row = spells.iloc[int(np.argmax(spells["depth"].to_numpy()))]
        deepest = {"max_drawdown_duration": int(row["duration"]),
                   "max_drawdown_peak": period_label(row["peak"]) if row["peak"] is not None else START,
                   "max_drawdown_trough": period_label(row["trough"]),
                   "max_drawdown_recovery": period_label(row["recovery"]) if row["recovered"] else None}
        longest = int(spells["duration"].max())
    return ReturnStats(**shared, **deepest, longest_drawdown_duration=longest)


def strategy_performance(
    gross: pd.Series,
    net: pd.Series | None = None,
    *,
    fees: pd.Series | None = None,
    spread: pd.Series | None = None,
    funding: pd.Series | None = None,
    turnover: pd.Series | None = None,
    periods_per_year: float = 365,
    nw_lags: LagRule | None = None,
) -> StrategyPerformance:
    """Gross and net statistics, cost drag and turnover of one strategy (series aligned by index label).

    The periods are those where ``gross`` and ``net`` both exist (``net`` None: gross minus the given cost
    components); a given cost component or ``turnover`` must then exist in each of them (ValueError
    otherwise: a missing cost is not a zero cost). Costs are return losses per period (positive = paid),
    net = gross - fees - spread - funding. Definitions in the module docstring.
    """
    costs = {name: s for name, s in zip(COST_COMPONENTS, (fees, spread, funding), strict=True) if s is not None}
    given = {"gross": gross, "net": net, **costs, "turnover": turnover}
    frame = pd.concat({k: pd.Series(v, dtype=float) for k, v in given.items() if v is not None}, axis=1)
    frame = frame[frame["gross"].notna() & (frame["net"].notna() if net is not None else True)]
    missing = [c for c in frame.columns if c not in ("gross", "net") and frame[c].isna().any()]
    if missing:
        raise ValueError(f"missing values in {missing} on periods with returns")
    if net is None:
        frame["net"] = frame["gross"] - frame[list(costs)].sum(axis=1)
    p = float(periods_per_year)

    def drag(values: pd.Series) -> float:
        return p * float(values.mean())

    cost_drag = drag(frame["gross"] - frame["net"])
    drags = {f"{name}_drag": drag(frame[name]) if name in costs else None for name in COST_COMPONENTS}
    avg_turnover = float(frame["turnover"].mean()) if turnover is not None else None
    return StrategyPerformance(
        gross=return_stats(frame["gross"], p, nw_lags),
        net=return_stats(frame["net"], p, nw_lags),
        cost_drag=cost_drag,
        **drags,
        other_drag=drag(frame["gross"] - frame["net"] - frame[list(costs)].sum(axis=1)),
        avg_turnover=avg_turnover,
        ann_turnover=None if avg_turnover is None else p * avg_turnover,
    )


def factor_regression(returns: pd.Series, factors: pd.DataFrame, periods_per_year: float = 365,
                      nw_lags: LagRule | None = None) -> FactorRegression:
    """OLS of ``returns`` on a constant and the columns of ``factors`` (e.g. CMKT, CSMB, CMOM; aligned by
    index label, periods with any NaN dropped) with Newey-West (Bartlett) t's, and the per-period
    attribution ``return = sum_k beta_k f_k,t + alpha + residual``.

    ``nw_lags``: an int or a lag rule name of :func:`~cryptofactor_assets.estimators.hac.nw_lag` applied to
    the regression's number of periods; None = ``"4t100"``. Standard errors equal statsmodels'
    ``OLS(y, add_constant(F)).fit(cov_type="HAC", cov_kwds={"maxlags": L, "use_correction": False})``.

    The alpha and betas are full-sample estimates, so the attribution is an in-sample (ex-post)
    decomposition: period t's split uses betas estimated with the periods after t too; it says how the
    realised returns divide between factor exposure, alpha and noise, not what a model known at t - 1
    would have attributed (for that, use betas estimated on data up to t - 1).
    """
    frame = pd.DataFrame(factors).rename(columns=str)
    names = tuple(frame.columns)
    clash = sorted(set(names) & set(ATTRIBUTION_COLUMNS))
    if clash or len(set(names)) != len(names) or not names:
        raise ValueError(f"factor columns must be distinct, at least one, and none of {ATTRIBUTION_COLUMNS}: "
                         f"{list(names)}")
    rule: LagRule = DEFAULT_LAG_RULE if nw_lags is None else nw_lags
    joined, fit = regress_on_common_periods(returns, frame, rule)
    y = joined[("y", "return")].rename("return")
    parts = joined["x"] * fit.params[1:]
    alpha = float(fit.params[0])
    factor = parts.sum(axis=1)
    attribution = pd.concat([y, parts, factor.rename("factor")], axis=1).assign(
        alpha=alpha, residual=y - factor - alpha)
    p = float(periods_per_year)
    return FactorRegression(
        factors=names,
        n_periods=int(fit.nobs),
        periods_per_year=p,
        start=period_label(y.index[0]),
        end=period_label(y.index[-1]),
        nw_lags=int(fit.lags),
        alpha=alpha,
        alpha_ann=p * alpha,
        alpha_t_nw=float(fit.tvalues[0]),
        betas=dict(zip(names, map(float, fit.params[1:]), strict=True)),
        beta_t_nw=dict(zip(names, map(float, fit.tvalues[1:]), strict=True)),
        contrib_ann={name: p * float(parts[name].mean()) for name in names},
        r2=float(fit.r2),
        attribution=attribution,
    )
