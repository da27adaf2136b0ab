"""Quality checks of the RSJ tables: one ``TableChecks`` per table (names are module constants).

Each table has a blocking unique-key check; the others check what the definitions guarantee:
RSJ in [-1, 1] and defined exactly when no reason is recorded (stale exactly when the zero-return
share exceeds its stored threshold), RS+ + RS- = RV, turnover within its
bounds and costs = fee x turnover, finite statistics. Statements in ``sql/rsj/count_*.sql``.
"""

from __future__ import annotations

from cryptofactor_assets.lib.checks import ExtraCheck, TableChecks
from cryptofactor_assets.rsj.tables import RSJ_BACKTEST, RSJ_DAILY, RSJ_PORTFOLIOS_DAILY
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.quality import CheckOutcome
from cryptofactor_assets.storage.warehouse import load_sql

RSJ_DAILY_UNIQUE = f"{RSJ_DAILY}_unique_key"
RSJ_DAILY_FINITE = f"{RSJ_DAILY}_finite_values"
RSJ_DAILY_CONSISTENT = "rsj_daily_consistent"
PORTFOLIOS_UNIQUE = f"{RSJ_PORTFOLIOS_DAILY}_unique_key"
PORTFOLIOS_FINITE = f"{RSJ_PORTFOLIOS_DAILY}_finite_values"
PORTFOLIOS_BOUNDS = "rsj_portfolios_daily_turnover_and_costs"
BACKTEST_UNIQUE = f"{RSJ_BACKTEST}_unique_key"
BACKTEST_FINITE = f"{RSJ_BACKTEST}_finite_values"

#: Rounding slack of RSJ = SJ / RV (the sums are accumulated in parallel in DuckDB).
RSJ_TOLERANCE = 1e-12


def _count(con, name: str, params) -> int:
    return int(con.execute(load_sql(name, domain="rsj"), params).fetchone()[0])


def rsj_daily_consistent(con, start, end) -> CheckOutcome:
    """RSJ in [-1, 1]; RSJ NULL exactly when a reason is set; |RS+ + RS- - RV| tiny; RV, RS+, RS- >= 0;
    reason stale exactly when no earlier reason applies and n_zero > max_zero_share x n_returns."""
    n = _count(con, "count_rsj_daily_inconsistent", {"start": start, "end": end, "tol": RSJ_TOLERANCE})
    return CheckOutcome(n == 0, n, f"{n} coin-days violating RSJ in [-1, 1], RSJ NULL iff reason, "
                                   "RS+ + RS- = RV, non-negative variances, n_zero <= n_returns <= n_bars, "
                                   "stale iff n_zero > max_zero_share x n_returns")


def portfolio_bounds(con, start, end) -> CheckOutcome:
    """Turnover in [0, 2] per quantile and [0, 4] for LS; cost = fee_bps / 1e4 x turnover; net = gross - cost."""
    n = _count(con, "count_rsj_portfolio_bound_violations", {"start": start, "end": end})
    return CheckOutcome(n == 0, n, f"{n} rows with turnover out of bounds, cost <> fee x turnover, "
                                   "net <> gross - cost or date_formed <> date - 1")


RSJ_DAILY_CHECKS = TableChecks(RSJ_DAILY, ("symbol", "date"), "date", finite=("rv", "sj", "rsj", "rskew", "rkurt"),
                               extra=(ExtraCheck(
                                   RSJ_DAILY_CONSISTENT, "RSJ in [-1, 1], NULL iff a reason is set; RS+ + RS- = RV; "
                                   "stale iff too many zero returns",
                                   lambda con, table, col, start, end: rsj_daily_consistent(con, start, end)),))
RSJ_PORTFOLIOS_CHECKS = TableChecks(
    RSJ_PORTFOLIOS_DAILY, ("date", "weighting", "portfolio"), "date", finite=("gross", "net", "turnover", "cost"),
    extra=(ExtraCheck(PORTFOLIOS_BOUNDS, "turnover within [0, 2] (quantile) / [0, 4] (LS), cost = fee x turnover",
                      lambda con, table, col, start, end: portfolio_bounds(con, start, end)),))
#: The statistics check keeps its own description ("statistics", not the column name "value").
RSJ_BACKTEST_CHECKS = TableChecks(
    RSJ_BACKTEST, ("portfolio", "weighting", "returns", "stat"), None, finite=(),
    extra=(ExtraCheck(BACKTEST_FINITE, "statistics finite where defined",
                      lambda con, table, col, start, end: quality.finite(con, table, ["value"])),))
