"""Table keys of the sources domain (other domains import them from here)."""

RAW_KLINES_5M = "raw_klines_5m"
RAW_COIN_MARKETS = "raw_coin_markets"
#: Funding settlements of perpetual contracts: symbol, funding_time (naive UTC), funding_rate, interval_hours, source.
RAW_FUNDING_RATES = "raw_funding_rates"
#: Daily on-chain activity per coin: date, symbol, coin, active_addresses, tx_count, source (weekly partitions).
RAW_ONCHAIN_ACTIVITY = "raw_onchain_activity"
SIM_TRUTH = "sim_truth"
COIN_SYMBOLS = "coin_symbols"
REJECTED_ROWS = "rejected_rows"
SYMBOL_IDS = "symbol_ids"

#: The Dagster asset group of the domain.
GROUP = "sources"
