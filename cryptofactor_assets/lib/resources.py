"""Resource keys every domain shares: the warehouse connection and the risk-free rate.

Configuration reaches assets one way: as Dagster resources (``dg.ConfigurableResource``), built in
``definitions.py`` from the environment through ``settings.py`` (the one module that reads it; the
README's configuration table lists the variables). A test or a notebook builds the same resources
with explicit values. The risk-free resource itself, ``RiskFreeResource``, is a source:
``sources/resources.py``.
"""

from __future__ import annotations

#: Resource keys.
DUCKDB = "duckdb"
RISK_FREE = "risk_free"
