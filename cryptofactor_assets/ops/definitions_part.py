"""The operations domain's part of the code location: freshness checks and their sensor.

``definitions.py`` builds them from the assets it loads (one discovery of the domain modules); this
module exposes them by name for tests and tooling.
"""

from __future__ import annotations

import dagster as dg

from cryptofactor_assets.definitions import defs
from cryptofactor_assets.ops.freshness import FRESHNESS_SENSOR, partitioned_asset_keys

_repo = defs.get_repository_def()
DAILY_KEYS, WEEKLY_KEYS = partitioned_asset_keys(defs.assets or [])
#: Time-partition freshness checks on every daily and weekly asset.
FRESHNESS_CHECKS: list[dg.AssetChecksDefinition] = list(defs.asset_checks or [])
#: The sensor evaluating them (stopped by default, like the schedules).
SENSORS: list[dg.SensorDefinition] = [s for s in (defs.sensors or []) if s.name == FRESHNESS_SENSOR]
