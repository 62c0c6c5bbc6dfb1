-- Offline licenses: automatic Update (the vendor allows it, the
-- organization's administrator switches it on), and the report of the
-- newest backend test (JSON), which the Offline page shows.
ALTER TABLE organizations ADD COLUMN offline_auto_allowed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN offline_auto_update INTEGER NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN offline_test TEXT NOT NULL DEFAULT '';
