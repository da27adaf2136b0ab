"""Quality checks of the cross-asset / neural-beta tables: one ``TableChecks`` per asset (names are
module constants)."""

from __future__ import annotations

import dagster as dg

from cryptofactor_assets.lib.checks import ExtraCheck, TableChecks
from cryptofactor_assets.neural.tables import (
    BETA_QUARTILE_PORTFOLIOS,
    CROSS_ASSET_MONTHLY,
    CROSS_ASSET_TRUTH,
    NEURAL_BETA_GRID,
    NEURAL_BETA_STATS,
    NEURAL_BETAS,
)
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.quality import CheckOutcome
from cryptofactor_assets.storage.warehouse import load_sql, table_exists

CROSS_UNIQUE = f"{CROSS_ASSET_MONTHLY}_unique_key"
CROSS_FINITE = "cross_asset_monthly_finite_returns"
CROSS_QUARANTINE = "cross_asset_monthly_no_implausible_returns"
#: The table of quarantined monthly returns (written with cross_asset_monthly, same window).
CROSS_ASSET_QUARANTINE = "cross_asset_quarantine"
#: Reasons listed in a failed quarantine check's description (the count is always the full one).
QUARANTINE_LISTED = 10
TRUTH_UNIQUE = f"{CROSS_ASSET_TRUTH}_unique_key"
BETAS_UNIQUE = f"{NEURAL_BETAS}_unique_key"
BETAS_FINITE = "neural_betas_finite"
BETAS_COVERAGE = "neural_betas_every_month"
GRID_UNIQUE = f"{NEURAL_BETA_GRID}_unique_key"
GRID_ONE_BEST = "neural_beta_grid_one_best_per_market"
STATS_UNIQUE = f"{NEURAL_BETA_STATS}_unique_key"
QUARTILE_UNIQUE = f"{BETA_QUARTILE_PORTFOLIOS}_unique_key"
QUARTILE_BALANCED = "beta_quartile_portfolios_balanced"


def _truth_unique(con, _table, column, start, end) -> CheckOutcome:
    """``cross_asset_truth`` is written with ``cross_asset_monthly`` (same asset, same window)."""
    return quality.unique_key(con, CROSS_ASSET_TRUTH, ["month_start", "coin", "market"], column, start, end)


def _quarantined(con, _table, _column, start, end) -> CheckOutcome:
    """Monthly returns of [start, end) quarantined as implausible (``cross_asset_quarantine``, written with
    the asset): WARN with their reasons (source, series, month, return, bound); none: passes."""
    if not table_exists(con, CROSS_ASSET_QUARANTINE):
        return CheckOutcome(True, 0, "no return quarantined (cross_asset_quarantine not written yet)")
    rows = con.execute(load_sql("select_cross_asset_quarantine_window", domain="neural"),
                       {"start": start, "end": end}).fetchall()
    if not rows:
        return CheckOutcome(True, 0, "no monthly return beyond its asset class's bound")
    listed = "; ".join(r[-1] for r in rows[:QUARANTINE_LISTED])
    more = f"; ... and {len(rows) - QUARANTINE_LISTED} more" if len(rows) > QUARANTINE_LISTED else ""
    return CheckOutcome(False, len(rows), f"{len(rows)} implausible monthly returns quarantined in "
                                          f"{CROSS_ASSET_QUARANTINE} (gaps in cross_asset_monthly): {listed}{more}")


def _months_missing(con, _table, _column, start, end) -> CheckOutcome:
    """Months of [start, end) without a neural_mlp row or without a rolling_ols row; not applicable
    (passes) when the window holds no row at all: no month had the history either method needs (the
    materialisation's note says how much was missing)."""
    stored, n = con.execute(load_sql("count_months_without_both_methods", domain="neural"),
                            {"start": start, "end": end}).fetchone()
    if not stored:
        return CheckOutcome(True, 0, "not applicable: no month of the window has the history a beta needs")
    return CheckOutcome(n == 0, int(n), f"{n} months without both neural_mlp and rolling_ols betas")


def _one_best(con, *_table_and_window) -> CheckOutcome:
    bad = con.execute(load_sql("count_grid_markets_without_one_best", domain="neural")).fetchone()[0]
    return CheckOutcome(bad == 0, int(bad), f"{bad} markets without exactly one best")


def _balanced(con, _table, _column, start, end) -> CheckOutcome:
    bad = con.execute(load_sql("count_unbalanced_quartile_sorts", domain="neural"),
                      {"start": start, "end": end}).fetchone()[0]
    return CheckOutcome(bad == 0, int(bad), f"{bad} unbalanced sorts")


CROSS_ASSET_CHECKS = TableChecks(CROSS_ASSET_MONTHLY, ("month_start", "series"), "month_start", finite=(), extra=(
    ExtraCheck(CROSS_FINITE, "stored returns are finite",
               lambda con, table, col, start, end: quality.finite(con, table, ["ret"], col, start, end)),
    ExtraCheck(TRUTH_UNIQUE, "cross_asset_truth (month_start, coin, market) unique", _truth_unique, blocking=True),
    ExtraCheck(CROSS_QUARANTINE, "no monthly return beyond its asset class's bound (WARN: such returns are "
               "quarantined in cross_asset_quarantine with their reason, not stored)", _quarantined,
               severity=dg.AssetCheckSeverity.WARN),
))
NEURAL_BETAS_CHECKS = TableChecks(NEURAL_BETAS, ("month_start", "coin", "market", "model", "method"), "month_start",
                                  finite=(), extra=(
    ExtraCheck(BETAS_FINITE, "betas and intercepts finite",
               lambda con, table, col, start, end: quality.finite(con, table, ["beta", "alpha"], col, start, end)),
    ExtraCheck(BETAS_COVERAGE, "every month of the window has neural and OLS betas (WARN: short history)",
               _months_missing, severity=dg.AssetCheckSeverity.WARN),
))
QUARTILE_CHECKS = TableChecks(BETA_QUARTILE_PORTFOLIOS, ("month_start", "method", "model", "market", "quartile"),
                              "month_start", finite=(), extra=(
    ExtraCheck(QUARTILE_BALANCED, "within a sort, quartile sizes differ by at most one coin", _balanced),
))
GRID_CHECKS = TableChecks(NEURAL_BETA_GRID, ("market", "hidden", "learning_rate", "activation"), None, finite=(),
                          extra=(ExtraCheck(GRID_ONE_BEST, "exactly one best configuration per market", _one_best),))
STATS_CHECKS = TableChecks(NEURAL_BETA_STATS, ("method", "model", "coin", "market"), None, finite=())
