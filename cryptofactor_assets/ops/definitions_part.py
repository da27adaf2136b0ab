"""What the operations domain adds to the code location: freshness checks and their sensor.

``definitions.py`` passes ``asset_checks=FRESHNESS_CHECKS`` and ``sensors=SENSORS`` to its
``dg.Definitions``. The asset modules are discovered here (every ``cryptofactor_assets.<domain>.assets``
module that exists) so that this module never imports ``definitions.py`` (no import cycle).
"""

from __future__ import annotations

import importlib
import pkgutil

import dagster as dg

import cryptofactor_assets
from cryptofactor_assets.ops.freshness import (
    build_freshness_checks,
    build_freshness_sensor,
    partitioned_asset_keys,
)


def _domain_assets() -> list:
    assets: list = []
    for info in sorted(pkgutil.iter_modules(cryptofactor_assets.__path__), key=lambda m: m.name):
        if not info.ispkg:
            continue
        name = f"cryptofactor_assets.{info.name}.assets"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside an existing module must surface
                raise
            continue
        assets.extend(dg.load_assets_from_modules([module]))
    return assets


DAILY_KEYS, WEEKLY_KEYS = partitioned_asset_keys(_domain_assets())
#: Time-partition freshness checks on every daily and weekly asset.
FRESHNESS_CHECKS: list[dg.AssetChecksDefinition] = build_freshness_checks(DAILY_KEYS, WEEKLY_KEYS)
#: The sensor evaluating them (stopped by default, like the schedules).
SENSORS: list[dg.SensorDefinition] = [build_freshness_sensor(FRESHNESS_CHECKS)]
