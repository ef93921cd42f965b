-- The authorised body and its ten registration centres (issue #9). Keep in step with
-- ../sqlite/0008_authorised_body.sql.

-- What the public register and applicants see of a centre: its number (what an
-- applicant chooses), its name in three languages, and whether the authorised body has
-- revoked its registration.
ALTER TABLE centres ADD COLUMN number BIGINT;
ALTER TABLE centres ADD COLUMN name_uz TEXT;
ALTER TABLE centres ADD COLUMN name_ru TEXT;
ALTER TABLE centres ADD COLUMN name_en TEXT;
ALTER TABLE centres ADD COLUMN status TEXT NOT NULL DEFAULT 'active';   -- 'active' | 'revoked'
ALTER TABLE centres ADD COLUMN revoked_at_ms BIGINT;
ALTER TABLE centres ADD COLUMN revocation_reason TEXT;
-- The one centre of the one-centre layout is centre 1.
UPDATE centres SET number = 1 WHERE id = 'rc1';
CREATE UNIQUE INDEX centres_number ON centres(number);

-- An authorised person acts for a centre as an operator or an officer.
ALTER TABLE operators ADD COLUMN role TEXT NOT NULL DEFAULT 'operator';  -- 'operator' | 'officer'

-- One centre's review queue is read by centre and state, oldest change first.
CREATE INDEX applications_centre_state ON applications(centre_id, state, updated_at_ms);
