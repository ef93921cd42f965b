-- Registration workflow, strict (issue 3). Keep in step with ../postgres/0004_registration_strict.sql.

-- SMS delivery status: which gateway took the message, its id there, the last failure.
ALTER TABLE sms_outbox ADD COLUMN gateway TEXT;
ALTER TABLE sms_outbox ADD COLUMN gateway_message_id TEXT;
ALTER TABLE sms_outbox ADD COLUMN last_error TEXT;
ALTER TABLE sms_outbox ADD COLUMN sent_at_ms INTEGER;
CREATE INDEX sms_outbox_due ON sms_outbox(status, next_attempt_at_ms);

-- Review: the listed reason code beside the free text.
ALTER TABLE applications ADD COLUMN rejection_code TEXT;

-- Audit: each entry chained to the previous one of its chain (one chain per centre).
ALTER TABLE audit_log ADD COLUMN chain TEXT;
ALTER TABLE audit_log ADD COLUMN seq INTEGER;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_log_chain_seq ON audit_log(chain, seq);
-- The head of each chain; updating it serialises writers of one chain.
CREATE TABLE audit_heads (
    chain         TEXT PRIMARY KEY,
    seq           INTEGER NOT NULL,
    hash          TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Rate limits (lookup per client address), fixed windows.
CREATE TABLE rate_limits (
    bucket          TEXT NOT NULL,
    window_start_ms INTEGER NOT NULL,
    hits            INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start_ms)
);

-- Renewal: the serial (hex) of the certificate whose holder signed the application.
ALTER TABLE applications ADD COLUMN renewal_of TEXT;
