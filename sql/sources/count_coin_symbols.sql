-- Count the rows of coin_symbols.
SELECT count(*) FROM coin_symbols;
