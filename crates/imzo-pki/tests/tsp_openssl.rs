//! RFC 3161 time-stamps made here, judged by `openssl ts -verify`; tokens made by
//! `openssl ts -reply`, read and checked here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::name::Subject;
use imzo_pki::tsp::{self, HashAlgorithm, TimeStampRequest, TokenParams};
use imzo_pki::{Certificate, PkiError, RawSigner, SignatureAlgorithm};
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
use std::path::Path;
use std::process::Command;
use time::{Duration, OffsetDateTime};

struct TestKey(SigningKey, Vec<u8>);

impl TestKey {
    fn new(seed: u8) -> TestKey {
        let mut bytes = [seed; 32];
        bytes[0] = 0x31;
        let sk = SigningKey::from_slice(&bytes).unwrap();
        let spki = sk.verifying_key().to_public_key_der().unwrap().into_vec();
        TestKey(sk, spki)
    }
}

impl RawSigner for TestKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::EcdsaP256Sha256
    }
    fn public_key_der(&self) -> &[u8] {
        &self.1
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        let s: Signature = self.0.sign(message);
        Ok(s.to_der().as_bytes().to_vec())
    }
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

struct Pki {
    root: Certificate,
    ca: Certificate,
    tsa: Certificate,
    tsa_key: TestKey,
}

fn subject(cn: &str) -> Subject {
    Subject { common_name: cn.into(), country: Some("UZ".into()), ..Default::default() }
}

fn make_pki(seed: u8) -> Pki {
    let now = OffsetDateTime::now_utc();
    let root_key = TestKey::new(seed);
    let ca_key = TestKey::new(seed + 1);
    let tsa_key = TestKey::new(seed + 2);
    let params = |s: Subject, key: &TestKey, serial: Vec<u8>, profile| IssueParams {
        subject: s,
        subject_public_key_der: key.1.clone(),
        serial,
        not_before: now - Duration::hours(1),
        not_after: now + Duration::days(365),
        profile,
        urls: PublicationUrls::default(),
        policy_oid: None,
    };
    let root = cert::issue(None, &root_key, &params(subject("TSP Test Root"), &root_key, vec![1, seed], Profile::Root)).unwrap();
    let ca = cert::issue(Some(&root), &root_key, &params(subject("TSP Test CA"), &ca_key, vec![2, seed], Profile::CentreCa)).unwrap();
    let tsa = cert::issue(Some(&ca), &ca_key, &params(subject("TSP Test TSA"), &tsa_key, vec![3, seed], Profile::TimeStamping)).unwrap();
    Pki { root, ca, tsa, tsa_key }
}

fn write_files(dir: &Path, pki: &Pki) {
    std::fs::write(dir.join("root.pem"), cert::to_pem(&pki.root).unwrap()).unwrap();
    std::fs::write(dir.join("chain.pem"), cert::to_pem(&pki.ca).unwrap()).unwrap();
    std::fs::write(dir.join("tsa.pem"), cert::to_pem(&pki.tsa).unwrap()).unwrap();
    std::fs::write(dir.join("data.txt"), b"the archive salary certificate request\n").unwrap();
}

const POLICY: &str = "1.3.6.1.4.1.99999.1.3.1";

#[test]
fn openssl_accepts_our_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(1);
    write_files(dir.path(), &pki);
    let (text, issuer_text) = openssl(dir.path(), &["x509", "-in", "tsa.pem", "-noout", "-ext", "extendedKeyUsage"]);
    assert!(text, "{issuer_text}");
    assert!(issuer_text.contains("critical") && issuer_text.contains("Time Stamping"), "{issuer_text}");
    for (cert_flag, hash) in [(true, "-sha256"), (false, "-sha512")] {
        let mut args = vec!["ts", "-query", "-data", "data.txt", hash, "-out", "q.tsq"];
        if cert_flag {
            args.push("-cert");
        }
        let (ok, out) = openssl(dir.path(), &args);
        assert!(ok, "{out}");
        let query = std::fs::read(dir.path().join("q.tsq")).unwrap();
        let request = tsp::parse_request(&query, &[POLICY]).unwrap();
        assert!(request.nonce.is_some(), "openssl sends a nonce by default");
        let gen_time = OffsetDateTime::now_utc();
        let response = tsp::grant(
            &request,
            &TokenParams {
                policy: POLICY,
                serial: &[0x42, 7],
                gen_time,
                accuracy_millis: 1500,
                certificate: &pki.tsa,
                signer: &pki.tsa_key,
                chain: &[pki.tsa.clone(), pki.ca.clone()],
            },
        )
        .unwrap();
        std::fs::write(dir.path().join("r.tsr"), &response).unwrap();
        let (ok, out) = openssl(dir.path(), &["ts", "-reply", "-in", "r.tsr", "-text"]);
        assert!(ok, "{out}");
        assert!(out.contains(POLICY) && out.contains("0x4207"), "{out}");
        assert!(out.contains("Accuracy: 0x01 seconds, 0x01F4 millis"), "{out}");
        let mut verify = vec!["ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "root.pem", "-untrusted", "chain.pem"];
        if !cert_flag {
            // Without certReq the token carries no certificate: the verifier is given it.
            std::fs::write(
                dir.path().join("both.pem"),
                format!("{}{}", cert::to_pem(&pki.tsa).unwrap(), cert::to_pem(&pki.ca).unwrap()),
            )
            .unwrap();
            verify[9] = "both.pem";
        }
        let (ok, out) = openssl(dir.path(), &verify);
        assert!(ok && out.contains("Verification: OK"), "{out}");
        let (ok, out) = openssl(dir.path(), &["ts", "-verify", "-in", "r.tsr", "-data", "data.txt", "-CAfile", "root.pem", "-untrusted", verify[9]]);
        assert!(ok && out.contains("Verification: OK"), "{out}");
        // A different root must not verify.
        let other = make_pki(40);
        std::fs::write(dir.path().join("other.pem"), cert::to_pem(&other.root).unwrap()).unwrap();
        let (ok, out) = openssl(dir.path(), &["ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "other.pem", "-untrusted", verify[9]]);
        assert!(!ok, "{out}");

        // Our own reader agrees.
        let token = tsp::token_from_response(&response, &request).unwrap();
        if cert_flag {
            let report = tsp::verify_token(&token, Some(b"the archive salary certificate request\n"), std::slice::from_ref(&pki.root)).unwrap();
            assert!(report.valid, "{:?}", report.errors);
            assert_eq!(report.info.policy, POLICY);
            assert_eq!(report.info.gen_time.unix_timestamp(), gen_time.unix_timestamp());
            assert_eq!(report.info.accuracy_micros, Some(1_500_000));
            assert!(report.info.tsa_name.as_deref().unwrap().contains("TSP Test TSA"));
        }
    }
}

fn tsa_config(dir: &Path, ess_alg: &str, precision: u8) {
    std::fs::write(dir.join("tsaserial"), "0A\n").unwrap();
    let config = format!(
        "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = ./tsaserial\ncrypto_device = builtin\n\
         signer_cert = ./tsa.pem\ncerts = ./chain.pem\nsigner_key = ./tsa.key\nsigner_digest = sha256\n\
         default_policy = {POLICY}\nother_policies = 1.2.3.4\ndigests = sha256, sha384, sha512\n\
         accuracy = secs:1, millisecs:500, microsecs:100\nclock_precision_digits = {precision}\n\
         ordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = {ess_alg}\n"
    );
    std::fs::write(dir.join("tsa.cnf"), config).unwrap();
}

#[test]
fn we_accept_openssl_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(7);
    write_files(dir.path(), &pki);
    let key_pem = pki.tsa_key.0.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
    std::fs::write(dir.path().join("tsa.key"), key_pem.as_bytes()).unwrap();
    let data = std::fs::read(dir.path().join("data.txt")).unwrap();
    for (ess_alg, precision) in [("sha256", 3u8), ("sha1", 0)] {
        tsa_config(dir.path(), ess_alg, precision);
        let request = TimeStampRequest::for_data(HashAlgorithm::Sha256, &data).unwrap();
        std::fs::write(dir.path().join("ours.tsq"), request.to_der().unwrap()).unwrap();
        let (ok, out) = openssl(dir.path(), &["ts", "-reply", "-config", "tsa.cnf", "-queryfile", "ours.tsq", "-out", "o.tsr"]);
        assert!(ok, "{out}");
        let response = std::fs::read(dir.path().join("o.tsr")).unwrap();
        let token = tsp::token_from_response(&response, &request).unwrap();
        let report = tsp::verify_token(&token, Some(&data), std::slice::from_ref(&pki.root)).unwrap();
        assert!(report.valid, "{ess_alg}: {:?}", report.errors);
        assert_eq!(report.info.policy, POLICY);
        assert_eq!(report.info.accuracy_micros, Some(1_500_100));
        assert!((report.info.gen_time - OffsetDateTime::now_utc()).abs() < Duration::minutes(1));

        let wrong = tsp::verify_token(&token, Some(b"other data"), std::slice::from_ref(&pki.root)).unwrap();
        assert!(!wrong.valid);
        assert!(wrong.errors.iter().any(|e| e.code == "imprint_mismatch"), "{:?}", wrong.errors);
        let other = make_pki(50);
        let untrusted = tsp::verify_token(&token, Some(&data), std::slice::from_ref(&other.root)).unwrap();
        assert!(!untrusted.valid);
        // A response to another request (other nonce) is refused.
        let another = TimeStampRequest::for_data(HashAlgorithm::Sha256, &data).unwrap();
        assert!(tsp::token_from_response(&response, &another).is_err());
    }
    // A TSA whose certificate is not a TSA's: openssl refuses to sign, so check that
    // our verifier refuses a token from a holder certificate made by our own TSA code.
    let holder = {
        let now = OffsetDateTime::now_utc();
        let key = TestKey::new(60);
        let ca_key = TestKey::new(8);
        let c = cert::issue(
            Some(&pki.ca),
            &ca_key,
            &IssueParams {
                subject: subject("Not a TSA"),
                subject_public_key_der: key.1.clone(),
                serial: vec![9, 9],
                not_before: now - Duration::hours(1),
                not_after: now + Duration::days(30),
                profile: Profile::Holder,
                urls: PublicationUrls::default(),
                policy_oid: None,
            },
        )
        .unwrap();
        (c, key)
    };
    let request = TimeStampRequest::for_data(HashAlgorithm::Sha256, &data).unwrap();
    let response = tsp::grant(
        &request,
        &TokenParams {
            policy: POLICY,
            serial: &[1],
            gen_time: OffsetDateTime::now_utc(),
            accuracy_millis: 0,
            certificate: &holder.0,
            signer: &holder.1,
            chain: &[holder.0.clone(), pki.ca.clone()],
        },
    )
    .unwrap();
    let token = tsp::token_from_response(&response, &request).unwrap();
    let report = tsp::verify_token(&token, Some(&data), std::slice::from_ref(&pki.root)).unwrap();
    assert!(report.errors.iter().any(|e| e.code == "not_a_tsa"), "{:?}", report.errors);
}

#[test]
fn cades_t_attribute_round_trip_keeps_signature_valid() {
    let pki = make_pki(20);
    let content = b"signed document";
    let cms = imzo_pki::cms::sign(
        content,
        &pki.tsa_key,
        &[pki.tsa.clone(), pki.ca.clone()],
        &imzo_pki::cms::SignOptions { detached: false, signing_time: OffsetDateTime::now_utc() },
    )
    .unwrap();
    let values = tsp::signature_values(&cms).unwrap();
    assert_eq!(values.len(), 1);
    let request = TimeStampRequest::for_data(HashAlgorithm::Sha256, &values[0]).unwrap();
    let response = tsp::grant(
        &request,
        &TokenParams {
            policy: POLICY,
            serial: &[5],
            gen_time: OffsetDateTime::now_utc(),
            accuracy_millis: 100,
            certificate: &pki.tsa,
            signer: &pki.tsa_key,
            chain: &[pki.tsa.clone(), pki.ca.clone()],
        },
    )
    .unwrap();
    let token = tsp::token_from_response(&response, &request).unwrap();
    let stamped = tsp::add_signature_timestamp(&cms, &values[0], &token).unwrap();
    let tokens = tsp::signature_timestamps(&stamped).unwrap();
    assert_eq!(tokens, vec![vec![token.clone()]]);
    let report = tsp::verify_token(&tokens[0][0], Some(&values[0]), std::slice::from_ref(&pki.root)).unwrap();
    assert!(report.valid, "{:?}", report.errors);
    assert!(tsp::add_signature_timestamp(&cms, b"not a signature", &token).is_err());
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &pki);
    std::fs::write(dir.path().join("s.p7s"), &stamped).unwrap();
    let (ok, out) = openssl(dir.path(), &["cms", "-verify", "-inform", "DER", "-in", "s.p7s", "-purpose", "any", "-CAfile", "root.pem", "-out", "/dev/null"]);
    assert!(ok, "{out}");
    let (ok, out) = openssl(dir.path(), &["cms", "-cmsout", "-print", "-inform", "DER", "-in", "s.p7s"]);
    assert!(ok && out.contains("id-smime-aa-timeStampToken"), "{out}");
}
