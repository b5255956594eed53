-- name: insert
-- Store a new refresh token (its secret's hash) in a family.
INSERT INTO refresh_tokens (id, family_id, user_id, secret_hash, expires_at)
VALUES (:id, :family_id, :user_id, :secret_hash, now() + make_interval(secs => :ttl))

-- name: use
-- Spend a live token exactly once: the row lock lets only one concurrent caller win.
UPDATE refresh_tokens t SET used_at = now()
FROM users u
WHERE t.id = :id AND t.secret_hash = :secret_hash AND u.id = t.user_id
  AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now()
RETURNING t.family_id, t.user_id, u.role

-- name: family_of
-- The family of a token whose secret matches, whatever its state (to detect reuse).
SELECT family_id FROM refresh_tokens WHERE id = :id AND secret_hash = :secret_hash

-- name: revoke_family
-- Revoke every token of a family (reuse detected, or sign-out).
UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = :family_id AND revoked_at IS NULL
