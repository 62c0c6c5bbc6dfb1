-- Offline licenses: where each organization's document is uploaded, and
-- every document issued. The backend credential is a secret: the API never
-- returns it.
ALTER TABLE organizations ADD COLUMN offline_backend TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN offline_auth TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN offline_valid_days INTEGER NOT NULL DEFAULT 30;
ALTER TABLE organizations ADD COLUMN offline_location TEXT NOT NULL DEFAULT '';

CREATE TABLE offline_licenses (
	org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
	serial        BIGINT NOT NULL,
	issued_at     BIGINT NOT NULL,
	issued_by     TEXT NOT NULL,
	users         INTEGER NOT NULL,
	valid_until   BIGINT NOT NULL,
	document      BLOB NOT NULL,
	upload_status TEXT NOT NULL DEFAULT '',
	upload_detail TEXT NOT NULL DEFAULT '',
	uploaded_at   BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (org_id, serial)
);
