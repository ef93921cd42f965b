-- Registration fixes (hostile test, round 7). Keep in step with
-- ../sqlite/0011_registration_fixes.sql.

-- Each rate-limit window knows its own length, so the clean-up job drops a window only
-- once it is over (a day's per-PINFL window outlived the hour the job used to keep).
-- Windows counted before this migration were all an hour or shorter.
ALTER TABLE rate_limits ADD COLUMN window_ms BIGINT NOT NULL DEFAULT 3600000;

-- A key may be in only one unfinished application: submissions look it up by index.
CREATE INDEX applications_public_key_der ON applications(public_key_der);
