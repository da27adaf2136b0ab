-- Create temp table ingest_kept_keys: the keys of the stored rows the fetch guard puts back: every row of a (symbol, day) it keeps (ingest_guard), and the row of each key the fetch quarantined as conflicting_duplicate without bringing a valid one.
CREATE OR REPLACE TEMP TABLE ingest_kept_keys AS
-- ingest_new_keys predates delete_*_unapplied: that delete empties the kept (symbol, day)s, so only a conflicting
-- key on a day the fetch applies needs the check that the fetch brought no valid row for it
SELECT p.symbol, p.event_time
FROM ingest_prior_keys AS p
WHERE EXISTS (SELECT 1 FROM ingest_guard AS g
              WHERE g.kept_because IS NOT NULL AND g.symbol = p.symbol AND g.day = p.day)
   OR (EXISTS (SELECT 1 FROM rejected_rows AS r
               WHERE r.dataset = $dataset AND r.reason = 'conflicting_duplicate'
                 AND r.partition_date = p.day AND r.symbol = p.symbol AND r.event_time = p.event_time)
       AND NOT EXISTS (SELECT 1 FROM ingest_new_keys AS n WHERE n.symbol = p.symbol AND n.event_time = p.event_time));
