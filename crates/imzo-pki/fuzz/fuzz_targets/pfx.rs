//! PKCS#12 files read with the seeds' password: never panic (iteration counts are bounded).
//! The body is `imzo_pki_fuzz::pfx` (src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imzo_pki_fuzz::pfx(data));
