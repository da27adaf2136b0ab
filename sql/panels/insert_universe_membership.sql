-- Insert universe_membership from daily_panel: every stored coin-day, plus each first day a coin has no data after a day it had (known that day).
INSERT INTO universe_membership BY NAME
WITH panel AS (
    SELECT symbol, date, in_universe, market_cap, dollar_volume, ret,
           lead(date) OVER (PARTITION BY symbol ORDER BY date) AS next_date,
           min(date) OVER (PARTITION BY symbol) AS first_date
    FROM daily_panel
),
last_day AS (SELECT max(date) AS d FROM daily_panel),
present AS (
    SELECT symbol, date, in_universe AS eligible,
           CASE WHEN in_universe THEN NULL
                WHEN market_cap IS NULL THEN 'no_market_cap'
                WHEN market_cap < $min_cap THEN 'below_min_cap'
                WHEN ret IS NULL THEN 'no_return'
                ELSE 'no_volume' END AS reason,
           market_cap, dollar_volume, date AS last_seen,
           CAST(date - first_date AS INTEGER) AS days_listed
    FROM panel
),
-- the day after a coin's data stop (for good, or before a gap): on that day it is not tradable, and
-- that is all that is known that day (whether it comes back is not)
absent AS (
    SELECT p.symbol, p.date + 1 AS date, false AS eligible, 'no_data' AS reason,
           CAST(NULL AS DOUBLE) AS market_cap, CAST(NULL AS DOUBLE) AS dollar_volume, p.date AS last_seen,
           CAST(p.date + 1 - p.first_date AS INTEGER) AS days_listed
    FROM panel AS p, last_day
    WHERE (p.next_date IS NULL OR p.next_date > p.date + 1) AND p.date < last_day.d
)
SELECT * FROM present
UNION ALL
SELECT * FROM absent;
