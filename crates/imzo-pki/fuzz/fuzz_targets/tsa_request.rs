//! RFC 3161 time-stamp requests as the TSA receives them: never panic, re-encode readably.
//! The body is `imzo_pki_fuzz::tsa_request` (src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imzo_pki_fuzz::tsa_request(data));
