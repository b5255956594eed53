-- name: insert
-- Create an account; the unique index on lower(email) rejects a duplicate.
INSERT INTO users (email, display_name, password_hash, role)
VALUES (:email, :display_name, :password_hash, :role)
RETURNING id, email, display_name, role, created_at, token_version

-- name: credentials_by_email
-- What sign-in needs: the account's id, role and password hash, by email in any case.
SELECT id, role, password_hash FROM users WHERE lower(email) = lower(:email)

-- name: password_hash_by_id
-- An account's password hash, to check the current password before changing it.
SELECT password_hash FROM users WHERE id = :id

-- name: account_by_id
-- The account as its owner sees it (never the password hash), with its token version.
SELECT id, email, display_name, role, created_at, token_version FROM users WHERE id = :id

-- name: public_by_ids
-- Public profiles (id and display name only) for a batch of ids.
SELECT id, display_name FROM users WHERE id = ANY(:ids::bigint[])

-- name: session_state
-- What decides whether an account's access tokens still hold: its token version, its role,
-- and the sign-ins (refresh-token families) revoked within the last :seconds.
SELECT u.token_version, u.role,
       COALESCE(array_agg(DISTINCT t.family_id) FILTER (WHERE t.family_id IS NOT NULL),
                '{}') AS revoked
FROM users u
LEFT JOIN refresh_tokens t
  ON t.user_id = u.id AND t.revoked_at > now() - make_interval(secs => :seconds)
WHERE u.id = :id
GROUP BY u.id

-- name: set_password
-- Replace an account's password hash by email, ending its tokens; the id when it exists.
UPDATE users SET password_hash = :password_hash, token_version = token_version + 1
WHERE lower(email) = lower(:email) RETURNING id

-- name: change_password
-- Replace an account's password hash by id and end every token issued before.
UPDATE users SET password_hash = :password_hash, token_version = token_version + 1
WHERE id = :id
RETURNING id, email, display_name, role, created_at, token_version

-- name: lock_roles
-- Serialize role changes, so two admins demoting each other cannot leave no admin at all.
SELECT pg_advisory_xact_lock(hashtext('gateway.users.roles'))

-- name: other_admins
-- How many admins there are besides :id.
SELECT count(*) FROM users WHERE role = 'admin' AND id <> :id

-- name: set_role
-- Change an account's role; a real change ends the tokens issued for the old one.
UPDATE users
SET role = :role, token_version = token_version + (role <> :role)::int
WHERE id = :id
RETURNING id, email, display_name, role, created_at, token_version
