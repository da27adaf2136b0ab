-- Insert the lake_write_locks row named $name unless it exists (racing inserts may add two: harmless, the UPDATE bumps both).
INSERT INTO lake_write_locks (name, generation)
SELECT $name, 0 WHERE NOT EXISTS (SELECT 1 FROM lake_write_locks WHERE name = $name);
