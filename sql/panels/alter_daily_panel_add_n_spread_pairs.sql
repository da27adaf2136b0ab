-- Alter daily_panel written before the spread estimates: add the n_spread_pairs column (NULL until the day is rebuilt).
ALTER TABLE daily_panel ADD COLUMN IF NOT EXISTS n_spread_pairs INTEGER;
