-- Registration hardening (round 2, F1). Keep in step with ../sqlite/0006_key_reuse.sql.

-- SHA-256 (lower-case hex) of each certificate's SubjectPublicKeyInfo, so a request for
-- a key we certified before is found by index. Rows recorded before this migration are
-- filled in by the workflow (certificates::fill_missing_spki_hashes).
ALTER TABLE certificates ADD COLUMN spki_sha256 TEXT;
CREATE INDEX certificates_spki_sha256 ON certificates(spki_sha256);
