-- Seats used per organization and license type, kept by a trigger in the
-- same transaction as every change to users, so that deciding an
-- assignment reads one small row instead of counting licensed users.
CREATE TABLE seat_usage (
	org_id       TEXT NOT NULL,
	license_type TEXT NOT NULL,
	used         BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (org_id, license_type)
);
INSERT INTO seat_usage (org_id, license_type, used)
	SELECT org_id, license_type, COUNT(*) FROM users WHERE state = 'licensed' GROUP BY org_id, license_type;

CREATE FUNCTION licet_seat_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state = 'licensed' THEN
		UPDATE seat_usage SET used = used - 1 WHERE org_id = OLD.org_id AND license_type = OLD.license_type;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.state = 'licensed' THEN
		INSERT INTO seat_usage (org_id, license_type, used) VALUES (NEW.org_id, NEW.license_type, 1)
			ON CONFLICT (org_id, license_type) DO UPDATE SET used = seat_usage.used + 1;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER users_seat_usage AFTER INSERT OR DELETE OR UPDATE OF state, license_type ON users
	FOR EACH ROW EXECUTE FUNCTION licet_seat_usage();
