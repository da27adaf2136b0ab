-- Alter daily_panel written before the spread estimates: add the spread_ar column (NULL until the day is rebuilt).
ALTER TABLE daily_panel ADD COLUMN IF NOT EXISTS spread_ar DOUBLE;
