-- Update (bump) the lake_write_locks row named $name inside a writer's transaction: a concurrent writer doing the same conflicts at COMMIT.
UPDATE lake_write_locks SET generation = generation + 1 WHERE name = $name;
