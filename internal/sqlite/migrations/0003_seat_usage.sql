-- Seats used per organization and license type, kept by triggers in the
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

CREATE TRIGGER users_seats_insert AFTER INSERT ON users WHEN NEW.state = 'licensed' BEGIN
	INSERT INTO seat_usage (org_id, license_type, used) VALUES (NEW.org_id, NEW.license_type, 1)
		ON CONFLICT (org_id, license_type) DO UPDATE SET used = used + 1;
END;

CREATE TRIGGER users_seats_delete AFTER DELETE ON users WHEN OLD.state = 'licensed' BEGIN
	UPDATE seat_usage SET used = used - 1 WHERE org_id = OLD.org_id AND license_type = OLD.license_type;
END;

CREATE TRIGGER users_seats_update AFTER UPDATE OF state, license_type ON users BEGIN
	UPDATE seat_usage SET used = used - 1
		WHERE OLD.state = 'licensed' AND org_id = OLD.org_id AND license_type = OLD.license_type;
	INSERT INTO seat_usage (org_id, license_type, used) SELECT NEW.org_id, NEW.license_type, 1 WHERE NEW.state = 'licensed'
		ON CONFLICT (org_id, license_type) DO UPDATE SET used = used + 1;
END;
