"""Quality checks of the RSJ tables (names are module constants; the assets yield the results).

Each table has a blocking unique-key check; the others check what the definitions guarantee:
RSJ in [-1, 1] and defined exactly when no reason is recorded, RS+ + RS- = RV, turnover within its
bounds and costs = fee x turnover, finite statistics.
"""

from __future__ import annotations

import dagster as dg

from cryptofactor_assets.common import check_result
from cryptofactor_assets.rsj.daily import RSJ_DAILY
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.quality import CheckOutcome

RSJ_PORTFOLIOS_DAILY = "rsj_portfolios_daily"
RSJ_BACKTEST = "rsj_backtest"

RSJ_DAILY_UNIQUE = "rsj_daily_unique_key"
RSJ_DAILY_FINITE = "rsj_daily_finite_values"
RSJ_DAILY_CONSISTENT = "rsj_daily_consistent"
PORTFOLIOS_UNIQUE = "rsj_portfolios_daily_unique_key"
PORTFOLIOS_FINITE = "rsj_portfolios_daily_finite_values"
PORTFOLIOS_BOUNDS = "rsj_portfolios_daily_turnover_and_costs"
BACKTEST_UNIQUE = "rsj_backtest_unique_key"
BACKTEST_FINITE = "rsj_backtest_finite_values"

#: Rounding slack of RSJ = SJ / RV (the sums are accumulated in parallel in DuckDB).
RSJ_TOLERANCE = 1e-12


def _count(con, sql: str, params) -> int:
    return int(con.execute(sql, params).fetchone()[0])


def rsj_daily_consistent(con, start, end) -> CheckOutcome:
    """RSJ in [-1, 1]; RSJ NULL exactly when a reason is set; |RS+ + RS- - RV| tiny; RV, RS+, RS- >= 0."""
    n = _count(con, f"""
        SELECT count(*) FROM {quote_ident(RSJ_DAILY)}
        WHERE date >= ? AND date < ? AND (
              (rsj IS NULL) <> (reason IS NOT NULL)
           OR abs(rsj) > 1 + {RSJ_TOLERANCE}
           OR rv < 0 OR rs_pos < -{RSJ_TOLERANCE} * rv OR rs_neg < -{RSJ_TOLERANCE} * rv
           OR abs(rs_pos + rs_neg - rv) > {RSJ_TOLERANCE} * greatest(rv, 1e-300)
           OR n_returns > n_bars)""", [start, end])
    return CheckOutcome(n == 0, n, f"{n} coin-days violating RSJ in [-1, 1], RSJ NULL iff reason, "
                                   "RS+ + RS- = RV, non-negative variances, n_returns <= n_bars")


def portfolio_bounds(con, start, end) -> CheckOutcome:
    """Turnover in [0, 2] per quantile and [0, 4] for LS; cost = fee_bps / 1e4 x turnover; net = gross - cost."""
    n = _count(con, f"""
        SELECT count(*) FROM {quote_ident(RSJ_PORTFOLIOS_DAILY)}
        WHERE date >= ? AND date < ? AND (
              turnover < 0
           OR turnover > CASE WHEN portfolio = 'LS' THEN 4 ELSE 2 END + 1e-9
           OR abs(cost - fee_bps * 1e-4 * turnover) > 1e-15
           OR abs(net - (gross - cost)) > 1e-15
           OR date_formed <> date - 1)""", [start, end])
    return CheckOutcome(n == 0, n, f"{n} rows with turnover out of bounds, cost <> fee x turnover, "
                                   "net <> gross - cost or date_formed <> date - 1")


def rsj_daily_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(RSJ_DAILY_UNIQUE, asset=RSJ_DAILY, blocking=True, description="(symbol, date) unique"),
        dg.AssetCheckSpec(RSJ_DAILY_FINITE, asset=RSJ_DAILY,
                          description="rv, sj, rsj, rskew, rkurt finite where defined"),
        dg.AssetCheckSpec(RSJ_DAILY_CONSISTENT, asset=RSJ_DAILY,
                          description="RSJ in [-1, 1], NULL iff a reason is set; RS+ + RS- = RV"),
    ]


def rsj_daily_results(con, start, end) -> list[dg.AssetCheckResult]:
    return [
        check_result(RSJ_DAILY_UNIQUE, quality.unique_key(con, RSJ_DAILY, ["symbol", "date"], "date", start, end)),
        check_result(RSJ_DAILY_FINITE, quality.finite(con, RSJ_DAILY, ["rv", "sj", "rsj", "rskew", "rkurt"],
                                                      "date", start, end)),
        check_result(RSJ_DAILY_CONSISTENT, rsj_daily_consistent(con, start, end)),
    ]


def portfolios_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(PORTFOLIOS_UNIQUE, asset=RSJ_PORTFOLIOS_DAILY, blocking=True,
                          description="(date, weighting, portfolio) unique"),
        dg.AssetCheckSpec(PORTFOLIOS_FINITE, asset=RSJ_PORTFOLIOS_DAILY,
                          description="gross, net, turnover, cost finite where defined"),
        dg.AssetCheckSpec(PORTFOLIOS_BOUNDS, asset=RSJ_PORTFOLIOS_DAILY,
                          description="turnover within [0, 2] (quantile) / [0, 4] (LS), cost = fee x turnover"),
    ]


def portfolios_results(con, start, end) -> list[dg.AssetCheckResult]:
    return [
        check_result(PORTFOLIOS_UNIQUE, quality.unique_key(con, RSJ_PORTFOLIOS_DAILY,
                                                           ["date", "weighting", "portfolio"], "date", start, end)),
        check_result(PORTFOLIOS_FINITE, quality.finite(con, RSJ_PORTFOLIOS_DAILY,
                                                       ["gross", "net", "turnover", "cost"], "date", start, end)),
        check_result(PORTFOLIOS_BOUNDS, portfolio_bounds(con, start, end)),
    ]


def backtest_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(BACKTEST_UNIQUE, asset=RSJ_BACKTEST, blocking=True,
                          description="(portfolio, weighting, returns, stat) unique"),
        dg.AssetCheckSpec(BACKTEST_FINITE, asset=RSJ_BACKTEST, description="statistics finite where defined"),
    ]


def backtest_results(con) -> list[dg.AssetCheckResult]:
    return [
        check_result(BACKTEST_UNIQUE, quality.unique_key(con, RSJ_BACKTEST,
                                                         ["portfolio", "weighting", "returns", "stat"])),
        check_result(BACKTEST_FINITE, quality.finite(con, RSJ_BACKTEST, ["value"])),
    ]
