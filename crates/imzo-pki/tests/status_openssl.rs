//! CRLs and OCSP responses made here, judged by the OpenSSL command line (and GnuTLS's
//! `ocsptool` when installed); OCSP requests made by OpenSSL, read here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::crl::{self, CrlParams, RevocationReason, RevokedEntry};
use imzo_pki::name::Subject;
use imzo_pki::ocsp::{self, CertIdHash, CertStatus, IssuerHashes, Responder, SingleAnswer};
use imzo_pki::{Certificate, PkiError, RawSigner, SignatureAlgorithm};
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use p256::pkcs8::EncodePublicKey;
use std::path::Path;
use std::process::Command;
use time::{Duration, OffsetDateTime};

struct TestKey(SigningKey, Vec<u8>);

impl TestKey {
    fn new(seed: u8) -> TestKey {
        let mut bytes = [seed; 32];
        bytes[0] = 0x21;
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
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

struct Pki {
    root: Certificate,
    ca: Certificate,
    ca_key: TestKey,
    holders: Vec<Certificate>,
}

fn subject(cn: &str) -> Subject {
    Subject { common_name: cn.into(), country: Some("UZ".into()), ..Default::default() }
}

fn make_pki() -> Pki {
    let now = OffsetDateTime::now_utc();
    let root_key = TestKey::new(1);
    let ca_key = TestKey::new(2);
    let params = |s: Subject, key: &TestKey, serial: Vec<u8>, profile| IssueParams {
        subject: s,
        subject_public_key_der: key.1.clone(),
        serial,
        not_before: now - Duration::hours(1),
        not_after: now + Duration::days(365),
        profile,
        urls: PublicationUrls {
            crl: Some("http://127.0.0.1:9/crl/rc1.crl".into()),
            ocsp: Some("http://127.0.0.1:9/ocsp".into()),
            ca_issuers: None,
            freshest_crl: None,
        },
        policy_oid: None,
    };
    let root = cert::issue(None, &root_key, &params(subject("Status Test Root"), &root_key, vec![1], Profile::Root)).unwrap();
    let ca = cert::issue(Some(&root), &root_key, &params(subject("Status Test CA"), &ca_key, vec![2], Profile::CentreCa)).unwrap();
    let holders = (0..2u8)
        .map(|i| {
            let key = TestKey::new(10 + i);
            // The second serial has its top bit set: its DER INTEGER needs a zero byte.
            let serial = if i == 0 { hex::decode("5e1f00aa01").unwrap() } else { hex::decode("80ff0102").unwrap() };
            cert::issue(Some(&ca), &ca_key, &params(subject(&format!("Holder {i}")), &key, serial, Profile::Holder)).unwrap()
        })
        .collect();
    Pki { root, ca, ca_key, holders }
}

fn write_pem(dir: &Path, name: &str, certs: &[&Certificate]) {
    let text: String = certs.iter().map(|c| cert::to_pem(c).unwrap()).collect();
    std::fs::write(dir.join(name), text).unwrap();
}

fn serial(c: &Certificate) -> String {
    cert::info(c).unwrap().serial_hex
}

#[test]
fn crl_is_accepted_by_openssl_and_reports_revocation() {
    let pki = make_pki();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_pem(d, "root.pem", &[&pki.root]);
    write_pem(d, "ca.pem", &[&pki.ca]);
    write_pem(d, "chain.pem", &[&pki.ca, &pki.root]);
    write_pem(d, "h0.pem", &[&pki.holders[0]]);
    write_pem(d, "h1.pem", &[&pki.holders[1]]);
    let now = OffsetDateTime::now_utc();
    let revoked_at = now - Duration::minutes(5);
    let params = CrlParams {
        number: 7,
        this_update: now,
        next_update: now + Duration::hours(24),
        entries: vec![RevokedEntry {
            serial_hex: serial(&pki.holders[1]),
            revoked_at,
            reason: Some(RevocationReason::KeyCompromise),
        }],
    };
    let der = crl::build(&pki.ca, &pki.ca_key, &params).unwrap();
    std::fs::write(d.join("crl.der"), &der).unwrap();

    // Ours reads back what we wrote.
    let info = crl::verify(&der, &pki.ca).unwrap();
    assert_eq!(info.number, Some(7));
    assert_eq!(info.entries.len(), 1);
    assert_eq!(info.find(&serial(&pki.holders[1])).unwrap().reason, Some(RevocationReason::KeyCompromise));
    assert!(info.find(&serial(&pki.holders[0])).is_none());
    assert!(crl::verify(&der, &pki.root).is_err(), "a CRL must not verify under another issuer");

    let (ok, out) = openssl(d, &["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "chain.pem", "-noout", "-text"]);
    assert!(ok && out.contains("verify OK"), "{out}");
    assert!(out.contains("X509v3 CRL Number") && out.contains("Key Compromise"), "{out}");
    assert!(out.contains("X509v3 Authority Key Identifier"), "{out}");
    let (ok, _) = openssl(d, &["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"]);
    assert!(ok);

    let (ok, out) = openssl(d, &["verify", "-crl_check", "-CAfile", "chain.pem", "-CRLfile", "crl.pem", "h1.pem"]);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = openssl(d, &["verify", "-crl_check", "-CAfile", "chain.pem", "-CRLfile", "crl.pem", "h0.pem"]);
    assert!(ok, "{out}");

    // A flipped byte in the signed part is caught by both.
    let mut bad = der.clone();
    let pos = bad.len() / 3;
    bad[pos] ^= 0x01;
    assert!(crl::verify(&bad, &pki.ca).is_err());
}

#[test]
fn empty_crl_and_wrong_signer_are_handled() {
    let pki = make_pki();
    let now = OffsetDateTime::now_utc();
    let params = CrlParams { number: 1, this_update: now, next_update: now + Duration::hours(1), entries: vec![] };
    let der = crl::build(&pki.ca, &pki.ca_key, &params).unwrap();
    assert!(crl::verify(&der, &pki.ca).unwrap().entries.is_empty());
    assert!(matches!(crl::build(&pki.ca, &TestKey::new(99), &params), Err(PkiError::Signer(_))));
    let backwards = CrlParams { next_update: now - Duration::hours(1), ..params };
    assert!(crl::build(&pki.ca, &pki.ca_key, &backwards).is_err());
}

fn respond(pki: &Pki, request: &[u8], revoked: &str) -> Vec<u8> {
    let req = ocsp::parse_request(request).unwrap();
    let hashes = IssuerHashes::of(&pki.ca).unwrap();
    let now = OffsetDateTime::now_utc();
    let answers: Vec<SingleAnswer> = req
        .cert_ids
        .iter()
        .map(|id| {
            assert!(hashes.matches(id), "issuer hashes of {id:?}");
            let status = if id.serial_hex == revoked {
                CertStatus::Revoked { at: now - Duration::minutes(1), reason: Some(RevocationReason::KeyCompromise) }
            } else {
                CertStatus::Good
            };
            SingleAnswer { cert_id: id.clone(), status, this_update: now, next_update: Some(now + Duration::hours(1)) }
        })
        .collect();
    // The deployment's way: a delegated responder certificate issued by the CA.
    let key = TestKey::new(50);
    let delegated = cert::issue(
        Some(&pki.ca),
        &pki.ca_key,
        &IssueParams {
            subject: subject("Status Test CA OCSP Responder"),
            subject_public_key_der: key.1.clone(),
            serial: vec![0x4f, 0x01],
            not_before: now - Duration::minutes(1),
            not_after: now + Duration::days(7),
            profile: Profile::OcspResponder,
            urls: PublicationUrls::default(),
            policy_oid: None,
        },
    )
    .unwrap();
    let carried = [delegated.clone(), pki.ca.clone()];
    let responder = Responder { certificate: &delegated, signer: &key, include: &carried };
    ocsp::build_response(&responder, &answers, now, req.nonce.as_deref()).unwrap()
}

#[test]
fn responses_signed_by_the_ca_itself_are_checked_too() {
    let pki = make_pki();
    let s = serial(&pki.holders[0]);
    let req = ocsp::parse_request(&ocsp::build_request(&pki.ca, &s, CertIdHash::Sha256, None).unwrap()).unwrap();
    let now = OffsetDateTime::now_utc();
    let answers = vec![SingleAnswer { cert_id: req.cert_ids[0].clone(), status: CertStatus::Unknown, this_update: now, next_update: None }];
    let responder = Responder { certificate: &pki.ca, signer: &pki.ca_key, include: &[] };
    let resp = ocsp::build_response(&responder, &answers, now, None).unwrap();
    assert_eq!(ocsp::check_response(&resp, &pki.ca, &s).unwrap().status, CertStatus::Unknown);
    // A responder certificate without id-kp-OCSPSigning is not accepted as a delegate.
    let other = &pki.holders[0];
    let carried = [other.clone()];
    let responder = Responder { certificate: other, signer: &TestKey::new(10), include: &carried };
    let resp = ocsp::build_response(&responder, &answers, now, None).unwrap();
    assert!(ocsp::check_response(&resp, &pki.ca, &s).is_err());
}

#[test]
fn ocsp_requests_from_openssl_are_answered_and_accepted() {
    let pki = make_pki();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_pem(d, "root.pem", &[&pki.root]);
    write_pem(d, "ca.pem", &[&pki.ca]);
    write_pem(d, "h0.pem", &[&pki.holders[0]]);
    write_pem(d, "h1.pem", &[&pki.holders[1]]);
    let revoked = serial(&pki.holders[1]);
    for (digest, nonce) in [("-sha1", "-no_nonce"), ("-sha256", "-nonce")] {
        let (ok, out) =
            openssl(d, &["ocsp", digest, "-issuer", "ca.pem", "-cert", "h0.pem", "-cert", "h1.pem", nonce, "-reqout", "req.der"]);
        assert!(ok, "{out}");
        let request = std::fs::read(d.join("req.der")).unwrap();
        let parsed = ocsp::parse_request(&request).unwrap();
        assert_eq!(parsed.cert_ids.len(), 2);
        assert_eq!(parsed.nonce.is_some(), nonce == "-nonce");
        assert_eq!(parsed.cert_ids[1].serial_hex, revoked);
        let response = respond(&pki, &request, &revoked);
        std::fs::write(d.join("resp.der"), &response).unwrap();
        // Statuses, read against fresh CertIDs OpenSSL computes itself.
        let (ok, out) = openssl(
            d,
            &[
                "ocsp", "-respin", "resp.der", "-CAfile", "root.pem", "-issuer", "ca.pem", digest, "-cert", "h0.pem", "-cert", "h1.pem",
                "-no_nonce",
            ],
        );
        assert!(ok, "{out}");
        assert!(out.contains("Response verify OK"), "{out}");
        assert!(out.contains("h0.pem: good") && out.contains("h1.pem: revoked"), "{out}");
        assert!(out.contains("Key Compromise") || out.contains("keyCompromise"), "{out}");
        assert!(!out.contains("WARNING"), "status times must satisfy OpenSSL: {out}");
        // The nonce, checked against the request it answers.
        let (ok, out) = openssl(d, &["ocsp", "-reqin", "req.der", "-respin", "resp.der", "-CAfile", "root.pem"]);
        assert!(ok && out.contains("Response verify OK"), "{out}");
        assert!(!out.contains("WARNING") && !out.contains("nonce verify error"), "{out}");

        // Our client side agrees.
        let answer = ocsp::check_response(&response, &pki.ca, &revoked).unwrap();
        assert!(matches!(answer.status, CertStatus::Revoked { reason: Some(RevocationReason::KeyCompromise), .. }));
        assert_eq!(ocsp::check_response(&response, &pki.ca, &serial(&pki.holders[0])).unwrap().status, CertStatus::Good);
        assert!(ocsp::check_response(&response, &pki.root, &revoked).is_err(), "wrong issuer must not be accepted");
    }
}

#[test]
fn our_requests_are_read_by_openssl_and_by_us() {
    let pki = make_pki();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = serial(&pki.holders[0]);
    for hash in [CertIdHash::Sha1, CertIdHash::Sha256] {
        let req = ocsp::build_request(&pki.ca, &s, hash, Some(b"0123456789abcdef")).unwrap();
        std::fs::write(d.join("req.der"), &req).unwrap();
        let (ok, out) = openssl(d, &["ocsp", "-reqin", "req.der", "-req_text"]);
        assert!(ok, "{out}");
        assert!(out.to_ascii_lowercase().contains(&s[..8]), "{out}");
        assert!(out.contains("OCSP Nonce"), "{out}");
        let parsed = ocsp::parse_request(&req).unwrap();
        assert_eq!(parsed.cert_ids[0].hash, Some(hash));
        let resp = respond(&pki, &req, "none");
        let answer = ocsp::check_response(&resp, &pki.ca, &s).unwrap();
        assert_eq!(answer.status, CertStatus::Good);
        assert_eq!(answer.nonce, parsed.nonce);
    }
}

#[test]
fn tampered_response_is_refused() {
    let pki = make_pki();
    let s = serial(&pki.holders[0]);
    let req = ocsp::build_request(&pki.ca, &s, CertIdHash::Sha1, None).unwrap();
    let resp = respond(&pki, &req, "none");
    // Flip a byte inside the thisUpdate/producedAt region; any change to the signed part
    // must break the signature (or the structure).
    let mut bad = resp.clone();
    let pos = resp.windows(2).position(|w| w == b"20").unwrap() + 3;
    bad[pos] ^= 0x01;
    assert!(ocsp::check_response(&bad, &pki.ca, &s).is_err());
}

#[test]
fn gnutls_ocsptool_accepts_our_responses() {
    let Ok(probe) = Command::new("ocsptool").arg("--version").output() else {
        // The CI image installs gnutls-bin; a developer machine without it skips, loudly.
        eprintln!("SKIPPED: ocsptool (Debian gnutls-bin) is not installed");
        return;
    };
    assert!(probe.status.success());
    let pki = make_pki();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_pem(d, "root.pem", &[&pki.root]);
    write_pem(d, "ca.pem", &[&pki.ca]);
    write_pem(d, "h1.pem", &[&pki.holders[1]]);
    let revoked = serial(&pki.holders[1]);
    // GnuTLS makes the request (with a nonce); we answer; GnuTLS verifies the answer.
    let out = Command::new("ocsptool")
        .args(["--generate-request", "--load-issuer", "ca.pem", "--load-cert", "h1.pem", "--nonce", "--outfile", "req.der"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let request = std::fs::read(d.join("req.der")).unwrap();
    let response = respond(&pki, &request, &revoked);
    std::fs::write(d.join("resp.der"), &response).unwrap();
    // GnuTLS wants the delegated responder issued directly by a trusted certificate:
    // relying parties trust the issuing CA for its certificates' status.
    let out = Command::new("ocsptool")
        .args(["--verify-response", "--load-trust", "ca.pem", "--load-response", "resp.der", "--load-request", "req.der"])
        .current_dir(d)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Verifying OCSP Response: Success"), "{text}");
    assert!(text.contains("Certificate Status: revoked"), "{text}");
    // A response altered after signing is refused by GnuTLS too.
    let mut bad = response.clone();
    let pos = response.windows(2).position(|w| w == b"20").unwrap() + 3;
    bad[pos] ^= 0x01;
    std::fs::write(d.join("bad.der"), &bad).unwrap();
    let out = Command::new("ocsptool")
        .args(["--verify-response", "--load-trust", "ca.pem", "--load-response", "bad.der"])
        .current_dir(d)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains("Verifying OCSP Response: Success"), "{text}");
}
