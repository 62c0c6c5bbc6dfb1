-- Single sign-on through OpenID Connect: providers the operator registered
-- (the client secret sealed with the data folder's key), the organizations
-- each covers and its e-mail domains (a domain belongs to one provider),
-- sign-ins under way (state stored hashed, used once), and who signed in
-- (issuer and subject: nothing else of the token but the address).
CREATE TABLE sso_providers (
	id            TEXT PRIMARY KEY,
	issuer        TEXT NOT NULL,
	client_id     TEXT NOT NULL,
	secret_sealed TEXT NOT NULL,
	claim         TEXT NOT NULL DEFAULT '',
	claim_value   TEXT NOT NULL DEFAULT '',
	required      BOOLEAN NOT NULL DEFAULT false,
	updated_at    BIGINT NOT NULL
);

CREATE TABLE sso_domains (
	domain      TEXT PRIMARY KEY,
	provider_id TEXT NOT NULL REFERENCES sso_providers(id) ON DELETE CASCADE
);

CREATE TABLE sso_provider_orgs (
	provider_id TEXT NOT NULL REFERENCES sso_providers(id) ON DELETE CASCADE,
	org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
	PRIMARY KEY (provider_id, org_id)
);
CREATE INDEX sso_provider_orgs_org ON sso_provider_orgs (org_id);

CREATE TABLE sso_logins (
	state_hash   TEXT PRIMARY KEY,
	provider_id  TEXT NOT NULL,
	nonce        TEXT NOT NULL,
	verifier     TEXT NOT NULL,
	redirect_url TEXT NOT NULL,
	next         TEXT NOT NULL,
	expires_at   BIGINT NOT NULL
);

CREATE TABLE sso_identities (
	issuer     TEXT NOT NULL,
	subject    TEXT NOT NULL,
	admin_id   BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
	last_at    BIGINT NOT NULL,
	PRIMARY KEY (issuer, subject)
);

-- Which provider made an administrator of an organization ('' for the
-- operator's invitations): a sign-in that no longer satisfies the rule
-- takes away only what that provider gave.
ALTER TABLE admin_orgs ADD COLUMN sso_provider TEXT NOT NULL DEFAULT '';
