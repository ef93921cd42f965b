//! PKCS#10 requests, parsed and self-signature checked: never panic.
//! The body is `imzo_pki_fuzz::csr` (src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imzo_pki_fuzz::csr(data));
