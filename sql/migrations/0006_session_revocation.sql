-- Sessions that can be ended. Every access token carries its account's token_version;
-- a role change, a password change or a sign-out everywhere bumps it, and the gateway
-- refuses tokens of an older version (checked through a short per-process cache).
-- replaced_by links a spent refresh token to the one it was traded for, so a second
-- refresh of the same token within the grace window gets that same successor instead of
-- revoking the sign-in (two tabs refreshing at once).
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN replaced_by uuid DEFAULT NULL;
-- The session check reads the families revoked lately, per user.
CREATE INDEX refresh_tokens_user_revoked_idx ON refresh_tokens (user_id, revoked_at)
    WHERE revoked_at IS NOT NULL;
