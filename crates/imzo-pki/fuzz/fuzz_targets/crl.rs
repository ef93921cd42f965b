//! CRLs, parsed and checked against the seed root: never panic.
//! The body is `imzo_pki_fuzz::crl` (src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imzo_pki_fuzz::crl(data));
