-- name: lock
-- Wait for the migration lock, so replicas starting together migrate one at a time.
SELECT pg_advisory_lock(7451369713716359985)

-- name: unlock
-- Release the migration lock.
SELECT pg_advisory_unlock(7451369713716359985)

-- name: create_table
-- Create the table that records applied migrations, if it is missing.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)

-- name: applied
-- Every applied migration with its checksum, oldest first.
SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version

-- name: record
-- Record one migration as applied.
INSERT INTO schema_migrations (version, name, checksum) VALUES (:version, :name, :checksum)
