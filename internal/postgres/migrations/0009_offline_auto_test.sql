-- Offline licenses: automatic Update (the vendor allows it, the
-- organization's administrator switches it on), and the report of the
-- newest backend test (JSON), which the Offline page shows.
ALTER TABLE organizations ADD COLUMN offline_auto_allowed BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE organizations ADD COLUMN offline_auto_update BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE organizations ADD COLUMN offline_test TEXT NOT NULL DEFAULT '';
