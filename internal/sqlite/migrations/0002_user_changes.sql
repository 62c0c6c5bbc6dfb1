-- Which users changed, per organization, in commit order: every transaction
-- that changes a user's license, enabled state or existence bumps its
-- organization's user_seq (under the organization's row lock, so one
-- organization's changes never commit out of order) and records the users
-- here. Processes poll them to drop exactly those users from their caches.
ALTER TABLE organizations ADD COLUMN user_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE user_changes (
	org_id  TEXT NOT NULL,
	seq     BIGINT NOT NULL,
	user_id TEXT NOT NULL,
	at      BIGINT NOT NULL,
	PRIMARY KEY (org_id, seq, user_id)
);
CREATE INDEX user_changes_at ON user_changes(at);
