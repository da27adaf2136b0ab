"""The strategies domain's Dagster definitions (its assets and their checks), merged by the top-level definitions."""

import dagster as dg

from cryptofactor_assets.strategies import assets


def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules([assets]))
