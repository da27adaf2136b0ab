"""Quality checks of the strategy tables: one ``TableChecks`` per table (names are module constants).

Every table has a blocking unique-key check and a finite-values check; the specific checks verify
what the tables promise: the Kelly book never holds a coin without a positive edge, every strategy
day's net return is its gross return minus its costs, and the attribution adds up. Statements in
``sql/strategies/count_*.sql``.
"""

from __future__ import annotations

from cryptofactor_assets.lib.checks import ExtraCheck, TableChecks
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.quality import CheckOutcome
from cryptofactor_assets.storage.warehouse import load_sql
from cryptofactor_assets.strategies import tables as t

KELLY_EDGE = "kelly_weights_positive_edge_only"
RETURNS_CONSISTENT = "strategy_returns_net_is_gross_minus_costs"
ATTRIBUTION_BALANCED = "strategy_attribution_adds_up"
#: Rounding slack of the identities (sums of a few doubles).
TOLERANCE = 1e-12


def _none_counted(name: str, what: str, params: dict | None = None):
    """A check outcome: passes when ``sql/strategies/<name>.sql`` counts no rows (``{n} {what}`` otherwise)."""
    def outcome(con, *_args) -> CheckOutcome:
        n = int(con.execute(load_sql(name, domain="strategies"), params or {}).fetchone()[0])
        return CheckOutcome(n == 0, n, f"{n} {what}")
    return outcome


def _weights(table: str, extra: tuple[ExtraCheck, ...] = ()) -> TableChecks:
    return TableChecks(table, ("strategy", "date", "symbol"), None, ("weight",), extra=extra)


FORECAST_QUINTILE_WEIGHTS = _weights(t.FORECAST_QUINTILE_WEIGHTS)
SIGNIFICANCE_WEIGHTS = _weights(t.SIGNIFICANCE_WEIGHTS)
KELLY_WEIGHTS = _weights(t.KELLY_WEIGHTS, (ExtraCheck(
    KELLY_EDGE, "a coin is held only with a positive full-Kelly edge p - (1 - p) / b on its calibrated probability",
    _none_counted("count_kelly_positions_without_edge", "Kelly positions without a positive edge"), blocking=True),))
CHARACTERISTIC_LS_WEIGHTS = _weights(t.CHARACTERISTIC_LS_WEIGHTS)
RSJ_STRATEGY_WEIGHTS = _weights(t.RSJ_STRATEGY_WEIGHTS)
STRATEGY_RETURNS = TableChecks(
    t.STRATEGY_RETURNS, ("strategy", "date"), None, ("gross", "fee", "spread", "funding", "net", "turnover"),
    extra=(ExtraCheck(RETURNS_CONSISTENT, "net = gross - fee - spread - funding; costs and turnover >= 0; "
                                          "no turnover without a rebalance",
                      _none_counted("count_strategy_returns_inconsistent", "inconsistent strategy days",
                                    {"tol": TOLERANCE})),),
)
ATTRIBUTION_UNIQUE = f"{t.STRATEGY_ATTRIBUTION}_unique_key"
#: strategy_comparison's asset also writes strategy_attribution: its checks ride on that asset
STRATEGY_COMPARISON = TableChecks(
    t.STRATEGY_COMPARISON, ("strategy", "basis"), None, ("ann_return", "ann_vol", "sharpe", "cost_drag"),
    extra=(
        ExtraCheck(ATTRIBUTION_UNIQUE, "strategy_attribution: (strategy, date) unique", blocking=True,
                   outcome=lambda con, *_: quality.unique_key(con, t.STRATEGY_ATTRIBUTION, ["strategy", "date"],
                                                              None, None, None)),
        ExtraCheck(ATTRIBUTION_BALANCED, "strategy_attribution: factor parts + alpha + residual = net return",
                   _none_counted("count_strategy_attribution_unbalanced", "unbalanced attribution days",
                                 {"tol": 1e-10})),
    ),
)
