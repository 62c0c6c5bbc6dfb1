CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
);

CREATE TABLE license_types (
	name       TEXT PRIMARY KEY,
	includes   TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);

CREATE TABLE organizations (
	id                  TEXT PRIMARY KEY,
	name                TEXT NOT NULL,
	url                 TEXT NOT NULL,
	auto_assign         INTEGER NOT NULL,
	assign_type         TEXT NOT NULL DEFAULT '',
	temporary_days      INTEGER NOT NULL,
	free_unused_days    INTEGER NOT NULL,
	offline             INTEGER NOT NULL DEFAULT 0,
	notifications       INTEGER NOT NULL DEFAULT 0,
	notification_emails TEXT NOT NULL DEFAULT '',
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL
);

CREATE TABLE pools (
	id           INTEGER PRIMARY KEY,
	org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
	license_type TEXT NOT NULL REFERENCES license_types(name),
	seats        INTEGER NOT NULL CHECK (seats >= 0),
	valid_from   INTEGER NOT NULL,
	valid_until  INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL
);
CREATE INDEX pools_org ON pools(org_id);

CREATE TABLE users (
	org_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
	user_id         TEXT NOT NULL,
	state           TEXT NOT NULL CHECK (state IN ('unlicensed', 'temporary', 'licensed')),
	disabled        INTEGER NOT NULL DEFAULT 0,
	license_type    TEXT NOT NULL DEFAULT '',
	assigned_at     INTEGER NOT NULL DEFAULT 0,
	assigned_by     TEXT NOT NULL DEFAULT '',
	temporary_until INTEGER NOT NULL DEFAULT 0,
	first_seen      INTEGER NOT NULL DEFAULT 0,
	last_seen       INTEGER NOT NULL DEFAULT 0,
	device_id       TEXT NOT NULL DEFAULT '',
	device_info     TEXT NOT NULL DEFAULT '',
	version         TEXT NOT NULL DEFAULT '',
	edition         TEXT NOT NULL DEFAULT '',
	org_url         TEXT NOT NULL DEFAULT '',
	org_name        TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (org_id, user_id)
);
-- Seat counting and reclaiming read only licensed users.
CREATE INDEX users_licensed ON users(org_id, license_type, last_seen) WHERE state = 'licensed';

CREATE TABLE audit (
	id      INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL,
	org_id  TEXT NOT NULL DEFAULT '',
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	user_id TEXT NOT NULL DEFAULT '',
	detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_org ON audit(org_id, id);

-- Counts committed changes to organizations, pools and license types;
-- processes poll it to know when their caches of those are stale.
CREATE TABLE changes (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT NOT NULL
);
INSERT INTO changes (id, seq) VALUES (1, 0);
