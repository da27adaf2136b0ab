"""Test-only code location for the parallel-backfill test: weekly_panel with a one-partition-per-run policy.

The product's assets use ``BackfillPolicy.single_run()`` (a backfill is ONE run over the range); to
exercise parallel runs the weekly panel is re-declared here with ``multi_run(1)`` so a backfill of
N weeks becomes N runs that the queued run coordinator starts 4 at a time. Everything else (code,
pool, resources, SQL) is the product's.
"""

import dagster as dg

from cryptofactor_assets.common import duckdb_resource
from cryptofactor_assets.panels.assets import daily_panel, weekly_panel
from cryptofactor_assets.sources.assets import raw_coin_markets, raw_klines_5m
from cryptofactor_assets.sources.resources import MarketSourceResource

defs = dg.Definitions(
    assets=[raw_klines_5m, raw_coin_markets, daily_panel,
            weekly_panel.with_attributes(backfill_policy=dg.BackfillPolicy.multi_run(1))],
    resources={"duckdb": duckdb_resource(), "market_source": MarketSourceResource.from_env()},
)
