//! Certificates (PEM, DER, bare base64) and what is read from them: never panic.
//! The body is `imzo_pki_fuzz::certificate` (src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imzo_pki_fuzz::certificate(data));
