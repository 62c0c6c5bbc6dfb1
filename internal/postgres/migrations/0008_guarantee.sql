-- Issue 13, the license guarantee under attack.
-- The vendor's bounds per organization: temporary licenses at once (-1:
-- 10 % of the active seats, at least 1), the longest temporaryDays, the
-- admissions per minute (-1: the server's --rate-admissions; 0: no limit),
-- and whether checks must name the organization's URL host.
ALTER TABLE organizations ADD COLUMN temporary_max INTEGER NOT NULL DEFAULT -1;
ALTER TABLE organizations ADD COLUMN temporary_max_days INTEGER NOT NULL DEFAULT 30;
ALTER TABLE organizations ADD COLUMN admissions_per_minute INTEGER NOT NULL DEFAULT -1;
ALTER TABLE organizations ADD COLUMN bind_url BOOLEAN NOT NULL DEFAULT FALSE;
-- Administrators could set temporaryDays up to 3650: bring them within the
-- new maximum.
UPDATE organizations SET temporary_days = 30 WHERE temporary_days > 30;

-- When a check recorded an unknown user without a license (0: added by an
-- administrator, or licensed since): the cap on such users evicts the oldest.
ALTER TABLE users ADD COLUMN recorded_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX users_recorded ON users(org_id, recorded_at) WHERE recorded_at > 0;
CREATE INDEX users_temporary ON users(org_id, temporary_until) WHERE state = 'temporary';

-- A keyed hash (HMAC-SHA-256 under a random secret kept in meta) of every
-- user ID that held a temporary license, so that none gets a second one,
-- even after it was deleted. The ID itself is not kept.
CREATE TABLE temporary_grants (
	org_id     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
	user_hash  TEXT NOT NULL,
	granted_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, user_hash)
);

-- When each organization was last sent an "unusual license activity" mail.
CREATE TABLE activity_alerts (
	org_id    TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
	last_sent BIGINT NOT NULL
);
