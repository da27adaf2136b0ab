-- Select daily_panel closes (symbol, date, close) before $end: the coins' prices when cross_asset_monthly takes its crypto side from the stored panel.
SELECT symbol, date, close FROM daily_panel WHERE date < $end ORDER BY symbol, date;
