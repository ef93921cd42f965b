//! CMS parsing and verification on arbitrary bytes: must return, never panic.
//! The body is `imzo_pki_fuzz::cms_verify` (src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imzo_pki_fuzz::cms_verify(data));
