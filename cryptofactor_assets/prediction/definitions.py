"""The prediction domain's Dagster definitions (its assets and their checks), merged by the top-level definitions."""

import dagster as dg

from cryptofactor_assets.prediction import assets_risk, assets_validation, assets_walk_forward, assets_weekly

#: The shell modules of the domain's assets.
MODULES = (assets_weekly, assets_walk_forward, assets_validation, assets_risk)


def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules(list(MODULES)))
