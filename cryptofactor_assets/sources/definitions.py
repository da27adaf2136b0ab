"""The sources domain's Dagster definitions (its assets and their checks), merged by the top-level definitions."""

import dagster as dg

from cryptofactor_assets.sources import assets_funding, assets_onchain, assets_raw, assets_reference

#: The shell modules of the domain's assets.
ASSET_MODULES = (assets_raw, assets_funding, assets_onchain, assets_reference)


def defs() -> dg.Definitions:
    return dg.Definitions(assets=dg.load_assets_from_modules(list(ASSET_MODULES)))
