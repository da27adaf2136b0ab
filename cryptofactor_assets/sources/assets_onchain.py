"""On-chain activity per coin and UTC day, ingested from the user's CSV files or the simulated market (the
ingest shell of ``assets_raw``).

Partitioned by ISO week (a partition holds the rows dated in [Monday, next Monday)), not by day: a few
rows a coin and week, and every partition costs Dagster bookkeeping. The week is replaced in one
transaction by :func:`ingest.ingest_window` with the guarantees of the other raw tables: the shrink
guard per (symbol, UTC day), bad rows in ``rejected_rows`` with a reason, strict mode,
``source_fetch_complete``.
"""

from cryptofactor_assets.partitions import weekly_partitions
from cryptofactor_assets.sources.assets_raw import ingest_asset
from cryptofactor_assets.sources.assets_reference import read_coin_symbols
from cryptofactor_assets.sources.checks import RAW_ONCHAIN_ACTIVITY_CHECKS
from cryptofactor_assets.sources.resources import MarketSourceResource
from cryptofactor_assets.sources.validation import ingest_onchain


@ingest_asset(RAW_ONCHAIN_ACTIVITY_CHECKS, "coin", ingest_onchain, "date", partitions_def=weekly_partitions,
              unit="week", streams="onchain_streams")
def raw_onchain_activity(market_source: MarketSourceResource, con, start, end, label: str, log):
    """Daily on-chain activity per coin (UTC days), validated; bad rows go to `rejected_rows`.

    One row per (symbol, date): `active_addresses` (distinct addresses active that day) and `tx_count`
    (transactions that day), either may be NULL (unknown) but not both; `coin` is the coin as the
    source names it, `symbol` the exchange symbol it maps to (`coin_symbols`). It feeds the CHAIN
    factor (on-chain activity growth). Source: your CSV files (`--onchain GLOB`, layout
    `date,coin,active_addresses,tx_count`), whatever the market source; else simulated on the
    simulated market (activity independent of prices, its growth carrying a planted premium, see
    `sim_truth`); other sources without files have none and leave the table untouched.
    Partitioned by ISO week.
    """
    return market_source.onchain_batches(start, end, label, log=log, symbol_map=read_coin_symbols(con))
