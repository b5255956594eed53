-- name: ping
-- Prove the database answers (readiness).
SELECT 1
