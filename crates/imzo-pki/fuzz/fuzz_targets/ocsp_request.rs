//! OCSP requests as the responder receives them: never panic.
//! The body is `imzo_pki_fuzz::ocsp_request` (src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imzo_pki_fuzz::ocsp_request(data));
