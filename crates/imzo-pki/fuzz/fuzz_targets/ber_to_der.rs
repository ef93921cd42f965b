//! The BER normaliser on arbitrary bytes: never panics, and its output is a fixed point.
//! The body is `imzo_pki_fuzz::ber_to_der` (src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imzo_pki_fuzz::ber_to_der(data));
