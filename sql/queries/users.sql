-- name: insert
-- Create an account; the unique index on lower(email) rejects a duplicate.
INSERT INTO users (email, display_name, password_hash, role)
VALUES (:email, :display_name, :password_hash, :role)
RETURNING id, email, display_name, role, created_at

-- name: credentials_by_email
-- What sign-in needs: the account's id, role and password hash, by email in any case.
SELECT id, role, password_hash FROM users WHERE lower(email) = lower(:email)

-- name: account_by_id
-- The account as its owner sees it (never the password hash).
SELECT id, email, display_name, role, created_at FROM users WHERE id = :id

-- name: public_by_ids
-- Public profiles (id and display name only) for a batch of ids.
SELECT id, display_name FROM users WHERE id = ANY(:ids::bigint[])

-- name: set_password
-- Replace an account's password hash by email; returns the id when the account exists.
UPDATE users SET password_hash = :password_hash WHERE lower(email) = lower(:email) RETURNING id
