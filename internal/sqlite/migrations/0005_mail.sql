-- Assignment notifications. A mail to send is written to the outbox in the
-- same transaction as the assignment; dispatchers claim due mails for a
-- while (claimed_until), so a crashed sender's mails are sent by another.
-- Assignments within an organization's window join one pending mail.
ALTER TABLE organizations ADD COLUMN notify_window_minutes INTEGER NOT NULL DEFAULT 10;

CREATE TABLE outbox (
	id            INTEGER PRIMARY KEY,
	org_id        TEXT NOT NULL,
	address       TEXT NOT NULL,
	kind          TEXT NOT NULL,
	events        TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	due_at        BIGINT NOT NULL,
	attempts      INTEGER NOT NULL DEFAULT 0,
	status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
	last_error    TEXT NOT NULL DEFAULT '',
	sent_at       BIGINT NOT NULL DEFAULT 0,
	claimed_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox(status, due_at);
CREATE INDEX outbox_org ON outbox(org_id, address, status);

-- Addresses that unsubscribed from an organization's notifications.
CREATE TABLE mail_optouts (
	org_id  TEXT NOT NULL,
	address TEXT NOT NULL,
	at      BIGINT NOT NULL,
	PRIMARY KEY (org_id, address)
);
