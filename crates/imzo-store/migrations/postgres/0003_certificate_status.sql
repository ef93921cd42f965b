-- Certificate status publication (issue 7). Keep in step with ../sqlite/0003_certificate_status.sql.

-- The current CRL of each CA. `number` only ever grows (compare-and-set on update);
-- `dirty_since_ms` is set by a revocation, hold or release and cleared by the CRL
-- that includes it, so any node can tell that a new CRL is due.
CREATE TABLE crls (
    ca_id          TEXT PRIMARY KEY REFERENCES cas(id),
    number         BIGINT NOT NULL,
    this_update_ms BIGINT NOT NULL,
    next_update_ms BIGINT NOT NULL,
    der            BYTEA,
    entries        BIGINT NOT NULL DEFAULT 0,
    dirty_since_ms BIGINT
);

-- Pre-signed OCSP responses for nonce-less requests, one per certificate and CertID hash, refreshed
-- before next_update_ms and whenever the certificate's status changes (the row is
-- deleted then, so no stale answer is ever served).
CREATE TABLE ocsp_responses (
    serial         TEXT NOT NULL,
    hash           TEXT NOT NULL,             -- CertID hash: 'sha1' | 'sha256'
    ca_id          TEXT NOT NULL REFERENCES cas(id),
    der            BYTEA NOT NULL,
    this_update_ms BIGINT NOT NULL,
    next_update_ms BIGINT NOT NULL,
    PRIMARY KEY (serial, hash)
);
CREATE INDEX ocsp_responses_next ON ocsp_responses(next_update_ms);

CREATE INDEX certificates_ca_status ON certificates(ca_id, status);
