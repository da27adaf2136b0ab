-- Select every stored funding settlement (charged to perpetual positions).
SELECT symbol, funding_time, funding_rate FROM raw_funding_rates;
