-- Delta CRLs (issue 7, RFC 5280 §5.2.4). Keep in step with ../sqlite/0009_delta_crls.sql.

-- Each CA's current delta CRL beside its complete one: what changed since the complete
-- CRL numbered `delta_base_number`. Complete and delta CRLs share one numbering
-- sequence, so a new complete CRL takes a number above the last delta's, and each is
-- stored with a compare-and-set on both numbers. `delta_dirty_since_ms` is set with
-- `dirty_since_ms` by every status change and cleared by the delta that includes it.
ALTER TABLE crls ADD COLUMN delta_number BIGINT;
ALTER TABLE crls ADD COLUMN delta_base_number BIGINT;
ALTER TABLE crls ADD COLUMN delta_this_update_ms BIGINT;
ALTER TABLE crls ADD COLUMN delta_next_update_ms BIGINT;
ALTER TABLE crls ADD COLUMN delta_der BYTEA;
ALTER TABLE crls ADD COLUMN delta_dirty_since_ms BIGINT;

-- A count of status changes per CA, raised with every mark above: OCSP responders poll
-- it (one small query a second per node) instead of re-reading each cached answer.
ALTER TABLE crls ADD COLUMN status_changes BIGINT NOT NULL DEFAULT 0;

-- When each certificate's status last changed (revoked, held, released), and when the
-- stored complete CRL read the records: a delta CRL lists the certificates changed
-- since (less a margin for transactions that committed late), without reading the
-- complete CRL's million entries.
ALTER TABLE certificates ADD COLUMN status_changed_at_ms BIGINT;
CREATE INDEX certificates_ca_changed ON certificates(ca_id, status_changed_at_ms);
ALTER TABLE crls ADD COLUMN read_at_ms BIGINT;
