-- name: insert
-- Store a new refresh token (its secret's hash) in a family; :issued_at is also the iat of
-- the access token issued with it, so a replay in the grace window can issue it again.
INSERT INTO refresh_tokens (id, family_id, user_id, secret_hash, created_at, expires_at)
VALUES (:id, :family_id, :user_id, :secret_hash, to_timestamp(:issued_at),
        now() + make_interval(secs => :ttl))

-- name: use
-- Spend a live token exactly once, naming its successor: the row lock lets one caller win.
UPDATE refresh_tokens t SET used_at = now(), replaced_by = :successor
FROM users u
WHERE t.id = :id AND t.secret_hash = :secret_hash AND u.id = t.user_id
  AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > now()
RETURNING t.family_id, t.user_id

-- name: spent
-- A token whose secret matches, whatever its state, with its successor: whether it was
-- spent within the last :grace seconds, and whether that successor is still live.
SELECT t.family_id, t.user_id, t.replaced_by,
       t.revoked_at IS NULL AND t.used_at > now() - make_interval(secs => :grace) AS in_grace,
       s.revoked_at IS NULL AND s.expires_at > now() AS successor_live,
       extract(epoch FROM s.created_at)::bigint AS successor_issued_at
FROM refresh_tokens t
LEFT JOIN refresh_tokens s ON s.id = t.replaced_by
WHERE t.id = :id AND t.secret_hash = :secret_hash

-- name: revoke_family
-- Revoke every token of a family (reuse detected, or sign-out).
UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = :family_id AND revoked_at IS NULL

-- name: revoke_user
-- Revoke every token of an account (password changed).
UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = :user_id AND revoked_at IS NULL
