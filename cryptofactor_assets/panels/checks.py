"""Quality checks of the panels: one ``TableChecks`` per table (names are module constants).

The daily panel's spread check counts in ``sql/panels/count_daily_panel_spread_violations.sql``; rows
written before the spread columns existed (NULL spreads and pair counts) pass it.
"""

from __future__ import annotations

from cryptofactor_assets.estimators.spreads import MIN_SPREAD_PAIRS
from cryptofactor_assets.lib.checks import ExtraCheck, TableChecks
from cryptofactor_assets.panels.tables import DAILY_PANEL, UNIVERSE_MEMBERSHIP, WEEKLY_PANEL
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.quality import CheckOutcome
from cryptofactor_assets.storage.warehouse import load_sql

DAILY_UNIQUE = f"{DAILY_PANEL}_unique_key"
DAILY_PRICES = "daily_panel_positive_prices"
DAILY_RETURNS = "daily_panel_finite_returns"
DAILY_SPREADS = "daily_panel_valid_spreads"
WEEKLY_UNIQUE = f"{WEEKLY_PANEL}_unique_key"
WEEKLY_PRICES = "weekly_panel_positive_prices"
WEEKLY_RETURNS = "weekly_panel_finite_returns"


def daily_spreads_valid(con, start, end) -> CheckOutcome:
    """Spreads finite and >= 0 where defined, defined exactly when n_spread_pairs >= MIN_SPREAD_PAIRS,
    0 <= n_spread_pairs <= max(n_bars - 1, 0)."""
    n = int(con.execute(load_sql("count_daily_panel_spread_violations", domain="panels"),
                        {"start": start, "end": end, "min_pairs": MIN_SPREAD_PAIRS}).fetchone()[0])
    return CheckOutcome(n == 0, n, f"{n} coin-days with a non-finite or negative spread, a spread defined "
                                   f"unless n_spread_pairs >= {MIN_SPREAD_PAIRS}, or more pairs than bars - 1")


DAILY_PANEL_CHECKS = TableChecks(DAILY_PANEL, ("symbol", "date"), "date", finite=(), extra=(
    ExtraCheck(DAILY_PRICES, "close > 0, market cap > 0 where known",
               lambda con, table, col, start, end: quality.positive(
                   con, table, ["close", "market_cap"], col, start, end, allow_null=["market_cap"])),
    ExtraCheck(DAILY_RETURNS, "returns finite where defined",
               lambda con, table, col, start, end: quality.finite(con, table, ["ret", "log_ret"], col, start, end)),
    ExtraCheck(DAILY_SPREADS, f"spread_cs, spread_ar finite and >= 0 where defined (n_spread_pairs >= "
                              f"{MIN_SPREAD_PAIRS}); n_spread_pairs <= n_bars - 1",
               lambda con, table, col, start, end: daily_spreads_valid(con, start, end)),
))
WEEKLY_PANEL_CHECKS = TableChecks(WEEKLY_PANEL, ("symbol", "week_start"), "week_start", finite=(), extra=(
    ExtraCheck(WEEKLY_PRICES, "close and max price > 0",
               lambda con, table, col, start, end: quality.positive(con, table, ["close", "max_price"], col, start, end)),
    ExtraCheck(WEEKLY_RETURNS, "weekly returns finite where defined",
               lambda con, table, col, start, end: quality.finite(con, table, ["ret"], col, start, end)),
))

UNIVERSE_CONSISTENT = "universe_membership_reason_iff_not_eligible"


def universe_consistent(con, *_args) -> CheckOutcome:
    """A reason exactly when the coin-day is not eligible; last_seen never after the day."""
    n = int(con.execute(load_sql("count_universe_membership_inconsistent", domain="panels")).fetchone()[0])
    return CheckOutcome(n == 0, n, f"{n} coin-days with a reason while eligible (or none while not), or seen later")


UNIVERSE_MEMBERSHIP_CHECKS = TableChecks(UNIVERSE_MEMBERSHIP, ("symbol", "date"), None, finite=("market_cap",), extra=(
    ExtraCheck(UNIVERSE_CONSISTENT, "reason set exactly when not eligible; last_seen <= date", universe_consistent),
))
