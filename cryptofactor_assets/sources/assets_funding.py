"""Funding rates of perpetual futures, ingested from the market source (the ingest shell of ``assets_raw``).

Partitioned by ISO week (a partition holds the settlements with funding_time in [Monday, next
Monday)), not by day: three settlements a day per symbol are few rows, and every partition costs
Dagster bookkeeping. The week is replaced in one transaction by :func:`ingest.ingest_window`, with
the same guarantees as the other raw tables: the shrink guard per (symbol, UTC day), bad rows in
``rejected_rows`` with a reason, strict mode, progress lines, ``source_fetch_complete``.
"""

from cryptofactor_assets.partitions import weekly_partitions
from cryptofactor_assets.sources.assets_raw import ingest_asset
from cryptofactor_assets.sources.checks import RAW_FUNDING_RATES_CHECKS
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets.sources.validation import ingest_funding


@ingest_asset(RAW_FUNDING_RATES_CHECKS, "symbol", ingest_funding, "funding_time",
              partitions_def=weekly_partitions, unit="week")
def raw_funding_rates(market_source: MarketSourceResource, con, start, end, label: str, log):
    """Funding settlements of perpetual futures per exchange symbol (UTC), validated; bad rows go to `rejected_rows`.

    One row per (symbol, funding_time): `funding_time` is the settlement instant (naive UTC),
    `funding_rate` the rate paid at it per unit of notional (a fraction: 0.0001 = 0.01 %; positive =
    longs pay shorts), `interval_hours` the hours since the symbol's previous settlement (the funding
    interval, usually 8). A position of notional N (positive = long) held through a settlement pays
    N x funding_rate. Partitioned by ISO week. Source: simulated (three settlements a day; a model of
    the trailing 7-day return, see `sim_truth`) or bybit linear (`/v5/market/funding/history`); the
    files source and bybit spot have no funding and leave the table untouched.
    """
    return market_source.funding_batches(start, end, label, log=log)
