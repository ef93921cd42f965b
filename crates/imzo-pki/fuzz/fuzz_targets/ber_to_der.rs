//! The BER normaliser on arbitrary bytes: never panics, and its output is a fixed point.
#![no_main]

use imzo_pki::cms::ber::to_der;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(der) = to_der(data) {
        assert_eq!(to_der(&der).ok().as_deref(), Some(der.as_slice()));
    }
});
