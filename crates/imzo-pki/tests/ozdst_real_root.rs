//! The real self-signed root of the authorised body (O'z DSt 1092, parameter set .1)
//! verifies its own signature through our verifier, and fails with one bit changed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use imzo_pki::{Certificate, PkiError, alg, ozdst};
use std::path::PathBuf;

fn root_pem() -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/ozdst/authorised-body-root-2016.pem");
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            eprintln!("skipping: {} is absent", path.display());
            None
        }
    }
}

fn parts(pem: &[u8]) -> (Vec<u8>, Vec<u8>, String, Vec<u8>) {
    use der::Encode;
    let cert: Certificate = imzo_pki::pem::read_certificates(pem).unwrap().remove(0);
    let tbs = cert.tbs_certificate().to_der().unwrap();
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    let oid = cert.signature_algorithm().oid.to_string();
    let sig = cert.signature().raw_bytes().to_vec();
    (tbs, spki, oid, sig)
}

#[test]
fn real_root_verifies_itself() {
    let Some(pem) = root_pem() else { return };
    let (tbs, spki, oid, sig) = parts(&pem);
    assert_eq!(oid, "1.2.860.3.15.1.1.2.2.2.2");
    let key = ozdst::parse_spki(&spki).unwrap();
    assert_eq!(key.param_set(), ozdst::ParamSet::CryptoProA);
    assert_eq!(key.family(), ozdst::OidFamily::National);
    // Our SPKI encoder reproduces the real one byte for byte.
    assert_eq!(key.to_spki_der().unwrap(), spki);
    alg::verify_signature(&spki, &oid, &tbs, &sig).unwrap();
    // The key OID, as CMS signer infos write it, is accepted too.
    alg::verify_signature(&spki, "1.2.860.3.15.1.1.2.1", &tbs, &sig).unwrap();
}

#[test]
fn one_changed_bit_fails() {
    let Some(pem) = root_pem() else { return };
    let (tbs, spki, oid, sig) = parts(&pem);
    for bit in [0usize, 7, 100, 511] {
        let mut bad = sig.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        assert!(matches!(
            alg::verify_signature(&spki, &oid, &tbs, &bad),
            Err(PkiError::BadSignature(_))
        ));
    }
    for byte in [0usize, tbs.len() / 2, tbs.len() - 1] {
        let mut bad = tbs.clone();
        bad[byte] ^= 0x01;
        assert!(matches!(
            alg::verify_signature(&spki, &oid, &bad, &sig),
            Err(PkiError::BadSignature(_))
        ));
    }
}

#[test]
fn real_root_describes() {
    let Some(pem) = root_pem() else { return };
    let cert = imzo_pki::pem::read_certificates(&pem).unwrap().remove(0);
    imzo_pki::cert::info(&cert).unwrap();
}
