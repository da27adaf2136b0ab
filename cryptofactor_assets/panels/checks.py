"""Quality checks of the panels: one ``TableChecks`` per table (names are module constants)."""

from __future__ import annotations

from cryptofactor_assets.lib.checks import ExtraCheck, TableChecks
from cryptofactor_assets.panels.tables import DAILY_PANEL, WEEKLY_PANEL
from cryptofactor_assets.storage import quality

DAILY_UNIQUE = f"{DAILY_PANEL}_unique_key"
DAILY_PRICES = "daily_panel_positive_prices"
DAILY_RETURNS = "daily_panel_finite_returns"
WEEKLY_UNIQUE = f"{WEEKLY_PANEL}_unique_key"
WEEKLY_PRICES = "weekly_panel_positive_prices"
WEEKLY_RETURNS = "weekly_panel_finite_returns"

DAILY_PANEL_CHECKS = TableChecks(DAILY_PANEL, ("symbol", "date"), "date", finite=(), extra=(
    ExtraCheck(DAILY_PRICES, "close > 0, market cap > 0 where known",
               lambda con, table, col, start, end: quality.positive(
                   con, table, ["close", "market_cap"], col, start, end, allow_null=["market_cap"])),
    ExtraCheck(DAILY_RETURNS, "returns finite where defined",
               lambda con, table, col, start, end: quality.finite(con, table, ["ret", "log_ret"], col, start, end)),
))
WEEKLY_PANEL_CHECKS = TableChecks(WEEKLY_PANEL, ("symbol", "week_start"), "week_start", finite=(), extra=(
    ExtraCheck(WEEKLY_PRICES, "close and max price > 0",
               lambda con, table, col, start, end: quality.positive(con, table, ["close", "max_price"], col, start, end)),
    ExtraCheck(WEEKLY_RETURNS, "weekly returns finite where defined",
               lambda con, table, col, start, end: quality.finite(con, table, ["ret"], col, start, end)),
))
