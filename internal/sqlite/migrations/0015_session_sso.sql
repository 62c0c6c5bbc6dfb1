-- The provider a session (or the session an API token was made in) was
-- opened through ('' for a password): the organizations a provider gave
-- are reached only through it.
ALTER TABLE admin_sessions ADD COLUMN sso_provider TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_tokens ADD COLUMN sso_provider TEXT NOT NULL DEFAULT '';
