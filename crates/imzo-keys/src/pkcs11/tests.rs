//! Against a real SoftHSM2 token, each test in a process of its own (see [`softhsm`]).

use super::*;
use crate::RawSigner;

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

fn verify(key: &dyn RawSigner, message: &[u8], signature: &[u8]) {
    imzo_pki::alg::verify_signature(key.public_key_der(), ECDSA_SHA256, message, signature).unwrap();
}

/// The token made for this test, or `None` when this is the parent process (or
/// SoftHSM2 is missing and not required).
fn token(test: &str) -> Option<softhsm::SoftHsm> {
    softhsm::isolated(&format!("pkcs11::tests::{test}")).unwrap()
}

#[test]
fn generated_key_signs_and_reopens_by_uri() {
    let Some(hsm) = token("generated_key_signs_and_reopens_by_uri") else { return };
    let uri = hsm.key_uri("rc1");
    let key = generate_p256(&uri).unwrap();
    assert_eq!(key.algorithm(), imzo_pki::SignatureAlgorithm::EcdsaP256Sha256);
    let signature = key.sign(b"hujjat").unwrap();
    // DER ECDSA-Sig-Value: SEQUENCE of two INTEGERs.
    assert_eq!(signature[0], 0x30);
    verify(&key, b"hujjat", &signature);
    assert!(imzo_pki::alg::verify_signature(key.public_key_der(), ECDSA_SHA256, b"hujjaT", &signature).is_err());

    // Opened again by label alone: the same public key, read from the token.
    let again = Pkcs11Key::open(&uri).unwrap();
    assert_eq!(again.public_key_der(), key.public_key_der());
    verify(&again, b"again", &again.sign(b"again").unwrap());
    // The reference names the id generation gave the key, and never a PIN.
    assert!(key.reference().contains(";id="), "{}", key.reference());
    assert!(!format!("{key:?}").contains("123456"));

    // A second key on the same token is another key.
    let other = generate_p256(&hsm.key_uri("ocsp")).unwrap();
    assert_ne!(other.public_key_der(), key.public_key_der());
    // The same label again is refused rather than shadowing the first key.
    let e = generate_p256(&uri).unwrap_err().to_string();
    assert!(e.contains("already holds a private key"), "{e}");
}

#[test]
fn closed_sessions_are_reopened_once() {
    let Some(hsm) = token("closed_sessions_are_reopened_once") else { return };
    let key = generate_p256(&hsm.key_uri("ca")).unwrap();
    verify(&key, b"one", &key.sign(b"one").unwrap());
    assert_eq!(key.reopened(), 0);

    // Another user of the library in this process finalises and re-initialises it: every
    // session handle (ours included) is closed, as C_CloseAllSessions would, and the
    // login is gone.
    let other = cryptoki::context::Pkcs11::new(hsm.module()).unwrap();
    other.clone().finalize().unwrap();
    other
        .initialize(cryptoki::context::CInitializeArgs::new(cryptoki::context::CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    verify(&key, b"two", &key.sign(b"two").unwrap());
    assert_eq!(key.reopened(), 1);
    verify(&key, b"three", &key.sign(b"three").unwrap());
    assert_eq!(key.reopened(), 1, "a healthy session is not re-opened");

    // Finalised and left so: the library is initialised again by the signer.
    other.finalize().unwrap();
    verify(&key, b"four", &key.sign(b"four").unwrap());
    assert_eq!(key.reopened(), 2);
}

#[test]
fn logged_out_token_is_logged_in_again() {
    let Some(hsm) = token("logged_out_token_is_logged_in_again") else { return };
    let key = generate_p256(&hsm.key_uri("tsa")).unwrap();
    verify(&key, b"one", &key.sign(b"one").unwrap());
    // Logging out in any session logs the whole application out of the token.
    let module = module::Module::get(hsm.module()).unwrap();
    let uri = Pkcs11Uri::parse(&hsm.key_uri("tsa")).unwrap();
    let slot = matching_slots(&module, &uri).unwrap()[0];
    let session = module.context().open_ro_session(slot).unwrap();
    session.logout().unwrap();
    verify(&key, b"two", &key.sign(b"two").unwrap());
    assert_eq!(key.reopened(), 1);
}

#[test]
fn concurrent_signatures_all_verify() {
    let Some(hsm) = token("concurrent_signatures_all_verify") else { return };
    let key = std::sync::Arc::new(generate_p256(&hsm.key_uri("busy")).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let key = std::sync::Arc::clone(&key);
            std::thread::spawn(move || {
                for i in 0..50 {
                    let message = format!("{t}/{i}");
                    verify(key.as_ref(), message.as_bytes(), &key.sign(message.as_bytes()).unwrap());
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(key.reopened(), 0);
}

#[test]
fn wrong_pin_missing_key_and_other_tokens_are_named() {
    let Some(hsm) = token("wrong_pin_missing_key_and_other_tokens_are_named") else { return };
    generate_p256(&hsm.key_uri("rc1")).unwrap();
    let module = hsm.module().display().to_string();
    let cases = [
        (format!("pkcs11:token=imzo-test;object=rc1?module-path={module}&pin-value=000000"), "refused the PIN"),
        (format!("pkcs11:token=imzo-test;object=nope?module-path={module}&pin-value=123456"), "no EC private key matches"),
        (format!("pkcs11:token=other;object=rc1?module-path={module}&pin-value=123456"), "tokens present: \"imzo-test\""),
        (format!("pkcs11:token=imzo-test;object=rc1;type=public?module-path={module}"), "needs type=private"),
        (format!("pkcs11:token=imzo-test?module-path={module}&pin-value=123456"), "object=LABEL or id="),
        ("pkcs11:token=imzo-test;object=rc1".to_string(), "no module-path"),
        ("pkcs11:token=imzo-test;object=rc1?module-path=/nonexistent/lib.so".to_string(), "/nonexistent/lib.so"),
        (format!("pkcs11:token=imzo-test;object=rc1;library-version=99?module-path={module}"), "not the library the URI names"),
        (format!("pkcs11:token=imzo-test;object=rc1;colour=red?module-path={module}"), "unknown path attribute \"colour\""),
    ];
    for (uri, expected) in cases {
        let e = Pkcs11Key::open(&uri).unwrap_err().to_string();
        assert!(e.contains(expected), "{uri}: {e}");
        assert!(!e.contains("000000") && !e.contains("123456"), "a PIN leaked into: {e}");
    }
    // Without a PIN the private key is invisible; the error says what is missing.
    let e = Pkcs11Key::open(&format!("pkcs11:token=imzo-test;object=rc1?module-path={module}")).unwrap_err().to_string();
    assert!(e.contains("no PIN given"), "{e}");
}
