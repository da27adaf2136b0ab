"""Quality checks of the panels (names are module constants; the assets yield the results)."""

from __future__ import annotations

import dagster as dg

from cryptofactor_assets.common import check_result
from cryptofactor_assets.storage import quality

DAILY_UNIQUE = "daily_panel_unique_key"
DAILY_PRICES = "daily_panel_positive_prices"
DAILY_RETURNS = "daily_panel_finite_returns"
WEEKLY_UNIQUE = "weekly_panel_unique_key"
WEEKLY_PRICES = "weekly_panel_positive_prices"
WEEKLY_RETURNS = "weekly_panel_finite_returns"


def daily_panel_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(DAILY_UNIQUE, asset=asset, blocking=True, description="(symbol, date) unique"),
        dg.AssetCheckSpec(DAILY_PRICES, asset=asset, description="close > 0, market cap > 0 where known"),
        dg.AssetCheckSpec(DAILY_RETURNS, asset=asset, description="returns finite where defined"),
    ]


def daily_panel_results(con, table: str, start, end) -> list[dg.AssetCheckResult]:
    return [
        check_result(DAILY_UNIQUE, quality.unique_key(con, table, ["symbol", "date"], "date", start, end)),
        check_result(DAILY_PRICES, quality.positive(con, table, ["close", "market_cap"], "date", start, end,
                                                    allow_null=["market_cap"])),
        check_result(DAILY_RETURNS, quality.finite(con, table, ["ret", "log_ret"], "date", start, end)),
    ]


def weekly_panel_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(WEEKLY_UNIQUE, asset=asset, blocking=True, description="(symbol, week_start) unique"),
        dg.AssetCheckSpec(WEEKLY_PRICES, asset=asset, description="close and max price > 0"),
        dg.AssetCheckSpec(WEEKLY_RETURNS, asset=asset, description="weekly returns finite where defined"),
    ]


def weekly_panel_results(con, table: str, start, end) -> list[dg.AssetCheckResult]:
    return [
        check_result(WEEKLY_UNIQUE, quality.unique_key(con, table, ["symbol", "week_start"], "week_start", start, end)),
        check_result(WEEKLY_PRICES, quality.positive(con, table, ["close", "max_price"], "week_start", start, end)),
        check_result(WEEKLY_RETURNS, quality.finite(con, table, ["ret"], "week_start", start, end)),
    ]
