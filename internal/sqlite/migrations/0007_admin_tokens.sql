-- Administrators' API tokens, stored as SHA-256 hashes: shown once at
-- creation, revocable.
CREATE TABLE admin_tokens (
	id         INTEGER PRIMARY KEY,
	admin_id   BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL DEFAULT 0
);
