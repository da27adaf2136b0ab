-- Select the coin_symbols mapping the coin-markets fetch reads.
SELECT coin_id, cg_symbol, symbol FROM coin_symbols;
