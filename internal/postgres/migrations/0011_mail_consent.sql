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

INSERT INTO mail_consents (org_id, address, state, added_by, at)
	SELECT o.id, a, 'confirmed', 'operator', 0 FROM organizations o, unnest(string_to_array(o.notification_emails, ',')) AS a
	WHERE a <> '' ON CONFLICT DO NOTHING;

-- The hourly cap counts an organization's mails sent in the last hour;
-- erasure and retention find mails by address and by age.
CREATE INDEX outbox_sent ON outbox(org_id, sent_at);
CREATE INDEX outbox_address ON outbox(address);
CREATE INDEX outbox_age ON outbox(status, created_at);
