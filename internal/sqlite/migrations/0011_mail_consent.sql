-- Consent of notification addresses. An address an administrator types in
-- is 'pending' until its owner confirms (or 'declined'); the operator's and
-- administrators' own addresses are 'confirmed' at once. Only confirmed
-- listed addresses (and administrators) get notifications. Addresses listed
-- before consent existed are kept as confirmed.
CREATE TABLE mail_consents (
	org_id   TEXT NOT NULL,
	address  TEXT NOT NULL,
	state    TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'declined')),
	added_by TEXT NOT NULL,
	at       BIGINT NOT NULL,
	PRIMARY KEY (org_id, address)
);
CREATE INDEX mail_consents_address ON mail_consents(address);

WITH RECURSIVE split(org_id, rest, addr) AS (
	SELECT id, notification_emails || ',', '' FROM organizations WHERE notification_emails <> ''
	UNION ALL
	SELECT org_id, substr(rest, instr(rest, ',') + 1), substr(rest, 1, instr(rest, ',') - 1) FROM split WHERE rest <> ''
)
INSERT INTO mail_consents (org_id, address, state, added_by, at)
	SELECT org_id, addr, 'confirmed', 'operator', 0 FROM split WHERE addr <> '' ON CONFLICT DO NOTHING;

-- The hourly cap counts an organization's mails sent in the last hour;
-- erasure and retention find mails by address and by age.
CREATE INDEX outbox_sent ON outbox(org_id, sent_at);
CREATE INDEX outbox_address ON outbox(address);
CREATE INDEX outbox_age ON outbox(status, created_at);
