-- The licensed-users index no longer carries last_seen: every sighting
-- rewrote that column, so each check of a licensed user moved an index
-- entry that no query reads (the reclaim query orders by
-- MAX(last_seen, assigned_at), which no column index serves). Counting and
-- listing licensed users by organization and type still use it.
DROP INDEX users_licensed;
CREATE INDEX users_licensed ON users(org_id, license_type) WHERE state = 'licensed';

-- Seat counts move only when a user's state or type really changes; an
-- upsert that writes the same values no longer runs the trigger's work.
DROP TRIGGER users_seats_update;
CREATE TRIGGER users_seats_update AFTER UPDATE OF state, license_type ON users
	WHEN OLD.state IS NOT NEW.state OR OLD.license_type IS NOT NEW.license_type BEGIN
	UPDATE seat_usage SET used = used - 1
		WHERE OLD.state = 'licensed' AND org_id = OLD.org_id AND license_type = OLD.license_type;
	INSERT INTO seat_usage (org_id, license_type, used) SELECT NEW.org_id, NEW.license_type, 1 WHERE NEW.state = 'licensed'
		ON CONFLICT (org_id, license_type) DO UPDATE SET used = used + 1;
END;
