-- Imzo schema, SQLite flavour. Keep in step with ../postgres/0001_initial.sql:
-- same tables, columns and meaning; only types differ. Times are UTC milliseconds
-- since the Unix epoch (*_ms); money is integer tiyin.

CREATE TABLE cas (
    id            TEXT PRIMARY KEY,          -- 'root', 'rc1', ...
    kind          TEXT NOT NULL,             -- 'root' | 'centre'
    parent_id     TEXT REFERENCES cas(id),
    name          TEXT NOT NULL,
    cert_der      BLOB NOT NULL,
    key_ref       TEXT NOT NULL,             -- where the signer finds the key (file path, pkcs11 URI)
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE centres (
    id            TEXT PRIMARY KEY,          -- 'rc1'
    name          TEXT NOT NULL,
    ca_id         TEXT NOT NULL REFERENCES cas(id),
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE operators (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    centre_id     TEXT NOT NULL REFERENCES centres(id),
    name          TEXT NOT NULL,
    cert_der      BLOB NOT NULL,
    cert_sha256   TEXT NOT NULL UNIQUE,
    disabled_at_ms INTEGER,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE applications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    centre_id       TEXT NOT NULL REFERENCES centres(id),
    draft_id        TEXT NOT NULL UNIQUE,
    number          TEXT UNIQUE,
    state           TEXT NOT NULL,
    applicant_type  TEXT NOT NULL,
    pinfl           TEXT NOT NULL,
    surname         TEXT NOT NULL,
    given_name      TEXT NOT NULL,
    patronymic      TEXT,
    birth_date      TEXT NOT NULL,
    region          TEXT NOT NULL,
    district        TEXT,
    passport        TEXT NOT NULL,
    phone           TEXT NOT NULL,
    company_inn     TEXT,
    company_name    TEXT,
    title           TEXT,
    csr_der         BLOB,
    public_key_der  BLOB,
    fee_tiyin       INTEGER,
    bcv_tiyin       INTEGER,
    pay_before_ms   INTEGER,
    rejection_reason TEXT,
    certificate_serial TEXT,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);
CREATE INDEX applications_state_deadline ON applications(state, pay_before_ms);

CREATE TABLE documents (
    sha256        TEXT PRIMARY KEY,
    media_type    TEXT NOT NULL,
    size          INTEGER NOT NULL,
    bytes         BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE application_documents (
    application_id INTEGER NOT NULL REFERENCES applications(id),
    kind           TEXT NOT NULL,            -- 'passport' | 'selfie'
    sha256         TEXT NOT NULL REFERENCES documents(sha256),
    file_name      TEXT,
    PRIMARY KEY (application_id, kind)
);

CREATE TABLE otp_codes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    draft_id      TEXT NOT NULL,
    phone         TEXT NOT NULL,
    code_hash     TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX otp_codes_draft ON otp_codes(draft_id);
CREATE INDEX otp_codes_phone ON otp_codes(phone, created_at_ms);

CREATE TABLE sms_outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    centre_id     TEXT NOT NULL,
    phone         TEXT NOT NULL,
    text          TEXT NOT NULL,
    kind          TEXT NOT NULL,             -- 'code' | 'accepted' | 'rejected' | 'ready'
    dedupe_key    TEXT NOT NULL UNIQUE,      -- one message per event, never two
    status        TEXT NOT NULL,             -- 'queued' | 'sent' | 'failed'
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE challenges (
    id            TEXT PRIMARY KEY,
    purpose       TEXT NOT NULL,             -- 'pop' | 'operator' | 'login'
    subject       TEXT,                      -- application number for 'pop'
    challenge     BLOB NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
);

CREATE TABLE captchas (
    id            TEXT PRIMARY KEY,
    answer_hash   TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
);

CREATE TABLE certificates (
    serial        TEXT PRIMARY KEY,          -- lower-case hex
    ca_id         TEXT NOT NULL REFERENCES cas(id),
    application_id INTEGER REFERENCES applications(id),
    subject       TEXT NOT NULL,
    pinfl         TEXT,
    inn           TEXT,
    not_before_ms INTEGER NOT NULL,
    not_after_ms  INTEGER NOT NULL,
    cert_der      BLOB NOT NULL,
    status        TEXT NOT NULL,             -- 'good' | 'revoked'
    revoked_at_ms INTEGER,
    revocation_reason INTEGER,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX certificates_pinfl ON certificates(pinfl);

CREATE TABLE payments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id  INTEGER NOT NULL REFERENCES applications(id),
    provider        TEXT NOT NULL,           -- 'payme' | 'click' | 'paynet' | 'counter' | 'sandbox'
    provider_txn_id TEXT NOT NULL,
    amount_tiyin    INTEGER NOT NULL,
    state           INTEGER NOT NULL,        -- Payme-style: 1, 2, -1, -2
    provider_time_ms INTEGER NOT NULL,
    create_time_ms  INTEGER NOT NULL,
    perform_time_ms INTEGER NOT NULL DEFAULT 0,
    cancel_time_ms  INTEGER NOT NULL DEFAULT 0,
    cancel_reason   INTEGER,
    UNIQUE (provider, provider_txn_id)
);
CREATE INDEX payments_application ON payments(application_id);
-- At most one active (created or performed) transaction per application, even under races.
CREATE UNIQUE INDEX payments_one_active ON payments(application_id) WHERE state IN (1, 2);

CREATE TABLE settings (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    run_at_ms     INTEGER NOT NULL,
    payload       TEXT NOT NULL,
    locked_until_ms INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0,
    done_at_ms    INTEGER,
    last_error    TEXT
);
CREATE INDEX jobs_due ON jobs(done_at_ms, run_at_ms);

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms         INTEGER NOT NULL,
    centre_id     TEXT,
    actor         TEXT NOT NULL,             -- 'applicant', 'operator:<id>', 'payme', 'system', ...
    action        TEXT NOT NULL,             -- 'application.started', 'certificate.issued', ...
    subject       TEXT NOT NULL,             -- application number / draft id / serial
    details       TEXT NOT NULL              -- JSON, never secrets
);
CREATE INDEX audit_log_subject ON audit_log(subject);
