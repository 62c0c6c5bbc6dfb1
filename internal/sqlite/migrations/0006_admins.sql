-- Organization administrators: an address with a password (argon2id), the
-- organizations it administers, one-time links to set the password, and
-- browser sessions. Links and sessions are stored as SHA-256 hashes only.
CREATE TABLE admins (
	id            INTEGER PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL
);

CREATE TABLE admin_orgs (
	admin_id BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
	org_id   TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
	PRIMARY KEY (admin_id, org_id)
);

CREATE TABLE admin_links (
	token_hash TEXT PRIMARY KEY,
	admin_id   BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE admin_sessions (
	token_hash TEXT PRIMARY KEY,
	admin_id   BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
