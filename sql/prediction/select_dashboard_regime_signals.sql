-- Select every stored regime signal (beta stability per coin).
SELECT * FROM regime_signals;
