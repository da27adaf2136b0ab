"""The factors domain's Dagster definitions (its assets and their checks), merged by the top-level definitions."""

import dagster as dg

from cryptofactor_assets.factors import assets_daily, assets_summary, assets_weekly


def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([assets_weekly, assets_daily, assets_summary]))
