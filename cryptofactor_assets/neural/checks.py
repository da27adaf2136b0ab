"""Quality checks of the cross-asset / neural-beta tables (names are module constants; assets yield results)."""

from __future__ import annotations

import dagster as dg

from cryptofactor_assets.common import check_result
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.quality import CheckOutcome

CROSS_UNIQUE = "cross_asset_monthly_unique_key"
CROSS_FINITE = "cross_asset_monthly_finite_returns"
TRUTH_UNIQUE = "cross_asset_truth_unique_key"
BETAS_UNIQUE = "neural_betas_unique_key"
BETAS_FINITE = "neural_betas_finite"
BETAS_COVERAGE = "neural_betas_every_month"
GRID_UNIQUE = "neural_beta_grid_unique_key"
GRID_ONE_BEST = "neural_beta_grid_one_best_per_market"
STATS_UNIQUE = "neural_beta_stats_unique_key"
QUARTILE_UNIQUE = "beta_quartile_portfolios_unique_key"
QUARTILE_BALANCED = "beta_quartile_portfolios_balanced"


# ------------------------------------------------------------------------------------- cross-asset
def cross_asset_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(CROSS_UNIQUE, asset=asset, blocking=True, description="(month_start, series) unique"),
        dg.AssetCheckSpec(CROSS_FINITE, asset=asset, description="stored returns are finite"),
        dg.AssetCheckSpec(TRUTH_UNIQUE, asset=asset, blocking=True,
                          description="cross_asset_truth (month_start, coin, market) unique"),
    ]


def cross_asset_results(con, table: str, truth_table: str, start, end) -> list[dg.AssetCheckResult]:
    return [
        check_result(CROSS_UNIQUE, quality.unique_key(con, table, ["month_start", "series"], "month_start",
                                                      start, end)),
        check_result(CROSS_FINITE, quality.finite(con, table, ["ret"], "month_start", start, end)),
        check_result(TRUTH_UNIQUE, quality.unique_key(con, truth_table, ["month_start", "coin", "market"],
                                                      "month_start", start, end)),
    ]


# ------------------------------------------------------------------------------------------ betas
def neural_betas_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(BETAS_UNIQUE, asset=asset, blocking=True,
                          description="(month_start, coin, market, model, method) unique"),
        dg.AssetCheckSpec(BETAS_FINITE, asset=asset, description="betas and intercepts finite"),
        dg.AssetCheckSpec(BETAS_COVERAGE, asset=asset,
                          description="every month of the window has neural and OLS betas (WARN: short history)"),
    ]


def _months_missing(con, table: str, start, end) -> CheckOutcome:
    """Months of [start, end) without a neural_mlp row or without a rolling_ols row."""
    n = con.execute(
        "SELECT count(*) FROM generate_series(?::DATE, ?::DATE - INTERVAL 1 MONTH, INTERVAL 1 MONTH) g(m) "
        f"WHERE (SELECT count(DISTINCT method) FROM {quote_ident(table)} WHERE month_start = g.m::DATE) < 2",
        [start, end]).fetchone()[0]
    return CheckOutcome(n == 0, int(n), f"{n} months without both neural_mlp and rolling_ols betas")


def neural_betas_results(con, table: str, start, end, not_applicable: str | None = None
                         ) -> list[dg.AssetCheckResult]:
    """The checks of a window; ``not_applicable`` (why no month of the window can have a beta, e.g. too
    short a history) makes the coverage check pass as not applicable instead of warning."""
    key = ["month_start", "coin", "market", "model", "method"]
    coverage = (CheckOutcome(True, 0, f"not applicable: {not_applicable}") if not_applicable
                else _months_missing(con, table, start, end))
    return [
        check_result(BETAS_UNIQUE, quality.unique_key(con, table, key, "month_start", start, end)),
        check_result(BETAS_FINITE, quality.finite(con, table, ["beta", "alpha"], "month_start", start, end)),
        check_result(BETAS_COVERAGE, coverage, severity=dg.AssetCheckSeverity.WARN),
    ]


# ------------------------------------------------------------------------------------ grid, stats
def grid_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(GRID_UNIQUE, asset=asset, blocking=True,
                          description="(market, hidden, learning_rate, activation) unique"),
        dg.AssetCheckSpec(GRID_ONE_BEST, asset=asset, description="exactly one best configuration per market"),
    ]


def grid_results(con, table: str) -> list[dg.AssetCheckResult]:
    bad = con.execute(f"SELECT count(*) FROM (SELECT market FROM {quote_ident(table)} GROUP BY market "
                      "HAVING sum(is_best::INT) <> 1)").fetchone()[0]
    return [
        check_result(GRID_UNIQUE, quality.unique_key(con, table, ["market", "hidden", "learning_rate", "activation"])),
        check_result(GRID_ONE_BEST, CheckOutcome(bad == 0, int(bad), f"{bad} markets without exactly one best")),
    ]


def stats_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(STATS_UNIQUE, asset=asset, blocking=True,
                              description="(method, model, coin, market) unique")]


def stats_results(con, table: str) -> list[dg.AssetCheckResult]:
    return [check_result(STATS_UNIQUE, quality.unique_key(con, table, ["method", "model", "coin", "market"]))]


# ------------------------------------------------------------------------------------- portfolios
def quartile_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(QUARTILE_UNIQUE, asset=asset, blocking=True,
                          description="(month_start, method, model, market, quartile) unique"),
        dg.AssetCheckSpec(QUARTILE_BALANCED, asset=asset,
                          description="within a sort, quartile sizes differ by at most one coin"),
    ]


def quartile_results(con, table: str, start, end) -> list[dg.AssetCheckResult]:
    key = ["month_start", "method", "model", "market", "quartile"]
    bad = con.execute(
        f"SELECT count(*) FROM (SELECT month_start, method, model, market FROM {quote_ident(table)} "
        "WHERE month_start >= ? AND month_start < ? GROUP BY ALL HAVING max(n_coins) - min(n_coins) > 1)",
        [start, end]).fetchone()[0]
    return [
        check_result(QUARTILE_UNIQUE, quality.unique_key(con, table, key, "month_start", start, end)),
        check_result(QUARTILE_BALANCED, CheckOutcome(bad == 0, int(bad), f"{bad} unbalanced sorts")),
    ]
