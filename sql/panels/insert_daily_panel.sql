-- Insert daily_panel: per coin-day close, returns, market cap, volumes, bar count and universe flag for [$start, $end).
INSERT INTO daily_panel BY NAME
WITH bars AS (
    SELECT
        symbol,
        CAST(open_time AS DATE) AS date,
        max_by(close, open_time) AS close,          -- last 5-minute close of the UTC day
        sum(volume) AS volume,
        sum(coalesce(turnover, close * volume)) AS dollar_volume,
        count(*) AS n_bars
    FROM raw_klines_5m
    -- from the day before the window: the first day's return needs the previous close
    WHERE open_time >= CAST($start AS TIMESTAMP) - INTERVAL 1 DAY AND open_time < CAST($end AS TIMESTAMP)
    GROUP BY ALL
),
markets AS (
    SELECT symbol, date, price, market_cap, total_volume
    FROM raw_coin_markets
    WHERE date >= CAST($start AS DATE) - 1 AND date < CAST($end AS DATE)
),
joined AS (
    SELECT
        coalesce(b.symbol, m.symbol) AS symbol,
        coalesce(b.date, m.date) AS date,
        coalesce(b.close, m.price) AS close,
        CASE WHEN b.close IS NOT NULL THEN 'klines' ELSE 'markets' END AS close_source,
        m.market_cap,
        b.volume,
        coalesce(b.dollar_volume, m.total_volume) AS dollar_volume,
        CASE WHEN b.dollar_volume IS NOT NULL THEN 'klines' WHEN m.total_volume IS NOT NULL THEN 'markets' END
            AS volume_source,
        coalesce(b.n_bars, 0) AS n_bars
    FROM bars AS b
    FULL OUTER JOIN markets AS m ON b.symbol = m.symbol AND b.date = m.date
),
with_previous AS (
    SELECT *,
        lag(close) OVER w AS prev_close,
        lag(date) OVER w AS prev_date
    FROM joined
    WINDOW w AS (PARTITION BY symbol ORDER BY date)
),
returns AS (
    SELECT *,
        -- a return only from the calendar day before: never across a missing day
        CASE WHEN prev_date = date - 1 THEN close / prev_close - 1 END AS ret,
        CASE WHEN prev_date = date - 1 THEN ln(close / prev_close) END AS log_ret
    FROM with_previous
)
SELECT
    symbol, date, close, close_source, ret, log_ret, market_cap, volume, dollar_volume, volume_source,
    CAST(n_bars AS INTEGER) AS n_bars,
    coalesce(market_cap >= 1e6 AND ret IS NOT NULL AND dollar_volume IS NOT NULL, false) AS in_universe
FROM returns
WHERE date >= CAST($start AS DATE) AND date < CAST($end AS DATE);
