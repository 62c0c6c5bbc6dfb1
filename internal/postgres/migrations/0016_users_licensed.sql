-- The licensed-users index no longer carries last_seen: every sighting
-- rewrote that column, so each check of a licensed user moved an index
-- entry that no query reads (the reclaim query orders by
-- GREATEST(last_seen, assigned_at), which no column index serves), and an
-- indexed column's change rules out PostgreSQL's heap-only (HOT) update.
-- Counting and listing licensed users by organization and type still use it.
DROP INDEX users_licensed;
CREATE INDEX users_licensed ON users(org_id, license_type) WHERE state = 'licensed';

-- Seat counts move only when a user's state or type really changes; an
-- update that writes the same values no longer runs the trigger function.
DROP TRIGGER users_seat_usage ON users;
CREATE TRIGGER users_seat_usage_insert_delete AFTER INSERT OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION licet_seat_usage();
CREATE TRIGGER users_seat_usage_update AFTER UPDATE OF state, license_type ON users
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.license_type IS DISTINCT FROM NEW.license_type)
	EXECUTE FUNCTION licet_seat_usage();
