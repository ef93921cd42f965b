//! CMS parsing and verification on arbitrary bytes: must return, never panic.
#![no_main]

use imzo_pki::cms::{self, VerifyOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = VerifyOptions {
        anchors: Vec::new(),
        at: None,
    };
    let _ = cms::verify(data, None, &options);
    let _ = cms::verify(data, Some(b"content"), &options);
    let _ = cms::verify_proof_of_possession(data, b"challenge", &[]);
});
