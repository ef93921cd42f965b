//! Interoperability of issuance and path validation with the OpenSSL command line:
//! a chain issued here must satisfy `openssl verify` (also `-x509_strict`), a chain made
//! by OpenSSL must satisfy `path::validate`, and tampering must be caught by both.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::name::Subject;
use imzo_pki::path::{self, PathOptions};
use imzo_pki::{Certificate, PkiError, RawSigner, SignatureAlgorithm, pem};
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use p256::pkcs8::EncodePublicKey;
use std::path::Path;
use std::process::Command;
use time::{Duration, OffsetDateTime};

/// A throw-away in-memory P-256 signer (imzo-keys has the real one).
struct TestKey(SigningKey, Vec<u8>);

impl TestKey {
    fn new(seed: u8) -> TestKey {
        let mut bytes = [seed; 32];
        bytes[0] = 0x11;
        let sk = SigningKey::from_slice(&bytes).expect("key");
        let spki = sk
            .verifying_key()
            .to_public_key_der()
            .expect("spki")
            .into_vec();
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

fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

struct Chain {
    root: Certificate,
    ca: Certificate,
    holder: Certificate,
}

fn issue_chain() -> Chain {
    let now = OffsetDateTime::now_utc();
    let root_key = TestKey::new(1);
    let ca_key = TestKey::new(2);
    let holder_key = TestKey::new(3);
    let root = cert::issue(
        None,
        &root_key,
        &IssueParams {
            subject: Subject {
                common_name: "Imzo Test Root".into(),
                organization: Some("Vakolatli organ".into()),
                country: Some("UZ".into()),
                ..Default::default()
            },
            subject_public_key_der: root_key.1.clone(),
            serial: vec![0x01],
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(3650),
            profile: Profile::Root,
            urls: PublicationUrls::default(),
            policy_oid: None,
        },
    )
    .expect("root");
    let urls = PublicationUrls {
        crl: Some("http://127.0.0.1:8080/crl/centre-1.crl".into()),
        ocsp: Some("http://127.0.0.1:8080/ocsp".into()),
        ca_issuers: Some("http://127.0.0.1:8080/ca/centre-1.cer".into()),
        freshest_crl: Some("http://127.0.0.1:8080/crl/centre-1-delta.crl".into()),
    };
    let ca = cert::issue(
        Some(&root),
        &root_key,
        &IssueParams {
            subject: Subject {
                common_name: "Imzo Centre 1 CA".into(),
                organization: Some("Markaz 1".into()),
                country: Some("UZ".into()),
                ..Default::default()
            },
            subject_public_key_der: ca_key.1.clone(),
            serial: vec![0x80, 0x02],
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(1825),
            profile: Profile::CentreCa,
            urls: urls.clone(),
            policy_oid: Some("1.2.860.3.2.2.1.1".into()),
        },
    )
    .expect("centre CA");
    let holder = cert::issue(
        Some(&ca),
        &ca_key,
        &IssueParams {
            subject: Subject {
                common_name: "ALIYEV VALI KARIMOVICH".into(),
                surname: Some("ALIYEV".into()),
                given_name: Some("VALI".into()),
                locality: Some("CHILONZOR TUMANI".into()),
                state: Some("TOSHKENT SHAHRI".into()),
                country: Some("UZ".into()),
                uid: Some("512345678".into()),
                pinfl: Some("32808810170066".into()),
                ..Default::default()
            },
            subject_public_key_der: holder_key.1.clone(),
            serial: hex::decode("5e1f00aa0102030405060708090a0b0c0d0e0f10").expect("hex"),
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(730),
            profile: Profile::Holder,
            urls,
            policy_oid: Some("1.2.860.3.2.2.1.1".into()),
        },
    )
    .expect("holder");
    Chain { root, ca, holder }
}

fn write(dir: &Path, name: &str, cert: &Certificate) {
    std::fs::write(dir.join(name), cert::to_pem(cert).expect("pem")).expect("write");
}

fn options_now() -> PathOptions {
    PathOptions {
        at: OffsetDateTime::now_utc(),
        max_depth: 4,
    }
}

#[test]
fn our_chain_passes_openssl_verify_and_ours() {
    let chain = issue_chain();
    let got = path::validate(
        &chain.holder,
        std::slice::from_ref(&chain.ca),
        std::slice::from_ref(&chain.root),
        &options_now(),
    )
    .expect("our validation");
    assert_eq!(got.len(), 3);

    if !openssl_available() {
        eprintln!("skipped the OpenSSL half: no openssl binary");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "root.pem", &chain.root);
    write(dir.path(), "ca.pem", &chain.ca);
    write(dir.path(), "holder.pem", &chain.holder);
    for strict in [false, true] {
        let mut args = vec!["verify"];
        if strict {
            args.push("-x509_strict");
        }
        args.extend(["-CAfile", "root.pem", "-untrusted", "ca.pem", "holder.pem"]);
        let (ok, text) = openssl(dir.path(), &args);
        assert!(
            ok && text.contains("holder.pem: OK"),
            "openssl verify (strict {strict}): {text}"
        );
    }
    let (ok, text) = openssl(dir.path(), &["verify", "-CAfile", "root.pem", "ca.pem"]);
    assert!(ok && text.contains("ca.pem: OK"), "{text}");

    let (ok, text) = openssl(
        dir.path(),
        &["x509", "-in", "holder.pem", "-noout", "-text"],
    );
    assert!(ok, "{text}");
    for needle in [
        "1.2.860.3.16.1.2 = 32808810170066",
        "Digital Signature, Non Repudiation",
        "E-mail Protection",
        "TLS Web Client Authentication",
        "CA:FALSE",
        "X509v3 Subject Key Identifier",
        "X509v3 Authority Key Identifier",
        "URI:http://127.0.0.1:8080/crl/centre-1.crl",
        "X509v3 Freshest CRL",
        "URI:http://127.0.0.1:8080/crl/centre-1-delta.crl",
        "OCSP - URI:http://127.0.0.1:8080/ocsp",
        "CA Issuers - URI:http://127.0.0.1:8080/ca/centre-1.cer",
        "Policy: 1.2.860.3.2.2.1.1",
        "GN = VALI",
        "SN = ALIYEV",
        "C = UZ",
        "5e:1f:00:aa:01:02",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // documentSigning: OpenSSL 3.0 prints it by OID or by name, depending on version.
    assert!(
        text.contains("1.3.6.1.5.5.7.3.36") || text.contains("Document Signing"),
        "{text}"
    );
    let (ok, text) = openssl(dir.path(), &["x509", "-in", "ca.pem", "-noout", "-text"]);
    assert!(
        ok && text.contains("CA:TRUE, pathlen:0") && text.contains("Certificate Sign, CRL Sign"),
        "{text}"
    );
    let (ok, text) = openssl(dir.path(), &["x509", "-in", "root.pem", "-noout", "-text"]);
    assert!(
        ok && text.contains("CA:TRUE") && text.contains("Certificate Sign, CRL Sign"),
        "{text}"
    );
}

#[test]
fn tampered_signature_fails_both() {
    let chain = issue_chain();
    let mut der = cert::to_der(&chain.holder).expect("der");
    let last = der.len() - 1;
    der[last] ^= 0x5a;
    let tampered = pem::read_certificates(&der)
        .expect("still parses")
        .remove(0);
    let err = path::validate(
        &tampered,
        std::slice::from_ref(&chain.ca),
        std::slice::from_ref(&chain.root),
        &options_now(),
    )
    .expect_err("tampered must fail");
    assert_eq!(err.code(), "bad_certificate_signature", "{err}");

    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "root.pem", &chain.root);
    write(dir.path(), "ca.pem", &chain.ca);
    write(dir.path(), "holder.pem", &tampered);
    let (ok, text) = openssl(
        dir.path(),
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "ca.pem",
            "holder.pem",
        ],
    );
    assert!(
        !ok && !text.contains("holder.pem: OK"),
        "openssl accepted a tampered certificate: {text}"
    );
}

#[test]
fn expiry_uses_options_at() {
    let chain = issue_chain();
    let inter = [chain.ca.clone()];
    let anchors = [chain.root.clone()];
    let later = PathOptions {
        at: OffsetDateTime::now_utc() + Duration::days(731),
        max_depth: 4,
    };
    let err = path::validate(&chain.holder, &inter, &anchors, &later).expect_err("expired");
    assert_eq!(err.code(), "expired");
    let earlier = PathOptions {
        at: OffsetDateTime::now_utc() - Duration::days(1),
        max_depth: 4,
    };
    assert_eq!(
        path::validate(&chain.holder, &inter, &anchors, &earlier)
            .expect_err("not yet")
            .code(),
        "not_yet_valid"
    );
    let inside = PathOptions {
        at: OffsetDateTime::now_utc() + Duration::days(700),
        max_depth: 4,
    };
    assert!(path::validate(&chain.holder, &inter, &anchors, &inside).is_ok());
}

#[test]
fn openssl_made_chain_passes_our_validation() {
    if !openssl_available() {
        eprintln!("skipped: no openssl binary");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let run = |args: &[&str]| {
        let (ok, text) = openssl(d, args);
        assert!(ok, "openssl {args:?}: {text}");
    };
    run(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "root.key",
    ]);
    run(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "ca.key",
    ]);
    run(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "leaf.key",
    ]);
    run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "root.key",
        "-subj",
        "/C=UZ/O=OpenSSL Test/CN=OpenSSL Root",
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        "root.pem",
    ]);
    std::fs::write(
        d.join("ca.ext"),
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .expect("ext");
    std::fs::write(
        d.join("leaf.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=emailProtection,clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .expect("ext");
    run(&[
        "req",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/C=UZ/O=OpenSSL Test/CN=OpenSSL CA",
        "-out",
        "ca.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "ca.csr",
        "-CA",
        "root.pem",
        "-CAkey",
        "root.key",
        "-set_serial",
        "2",
        "-days",
        "20",
        "-extfile",
        "ca.ext",
        "-sha256",
        "-out",
        "ca.pem",
    ]);
    // OpenSSL's -subj skips unknown OIDs: name the PINFL attribute in a config file.
    std::fs::write(
        d.join("leaf.cnf"),
        "oid_section = oids\n[oids]\npinfl = 1.2.860.3.16.1.2\n[req]\nprompt = no\ndistinguished_name = dn\n[dn]\nC = UZ\nCN = OpenSSL Leaf\npinfl = 32808810170066\n",
    )
    .expect("cnf");
    run(&[
        "req", "-new", "-key", "leaf.key", "-config", "leaf.cnf", "-out", "leaf.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "3",
        "-days",
        "10",
        "-extfile",
        "leaf.ext",
        "-sha256",
        "-out",
        "leaf.pem",
    ]);
    // A direct leaf under the root made without an extension file (OpenSSL's defaults).
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "root.pem",
        "-CAkey",
        "root.key",
        "-set_serial",
        "4",
        "-days",
        "10",
        "-out",
        "plain.pem",
    ]);
    let read = |name: &str| {
        pem::read_certificates(&std::fs::read(d.join(name)).expect("read"))
            .expect("parse")
            .remove(0)
    };
    let (root, ca, leaf, plain) = (
        read("root.pem"),
        read("ca.pem"),
        read("leaf.pem"),
        read("plain.pem"),
    );

    // The re-encoding of OpenSSL's certificates is byte-exact (signatures depend on it).
    for name in ["root.pem", "ca.pem", "leaf.pem", "plain.pem"] {
        let text = std::fs::read(d.join(name)).expect("read");
        let c = pem::read_certificates(&text).expect("parse").remove(0);
        assert_eq!(
            cert::to_pem(&c).expect("pem").as_bytes(),
            text.as_slice(),
            "{name}"
        );
    }

    let p = path::validate(
        &leaf,
        std::slice::from_ref(&ca),
        std::slice::from_ref(&root),
        &options_now(),
    )
    .expect("OpenSSL chain");
    assert_eq!(p.len(), 3);
    path::validate(&plain, &[], std::slice::from_ref(&root), &options_now())
        .expect("OpenSSL default leaf");
    let info = cert::info(&leaf).expect("info");
    assert_eq!(info.subject_fields.pinfl.as_deref(), Some("32808810170066"));
    assert_eq!(info.serial_hex, "03");
    assert!(!info.is_ca);
    assert!(cert::info(&ca).expect("info").is_ca);

    let late = PathOptions {
        at: OffsetDateTime::now_utc() + Duration::days(15),
        max_depth: 4,
    };
    assert_eq!(
        path::validate(
            &leaf,
            std::slice::from_ref(&ca),
            std::slice::from_ref(&root),
            &late
        )
        .expect_err("leaf expired")
        .code(),
        "expired"
    );
    // Without the intermediate there is no path.
    assert_eq!(
        path::validate(&leaf, &[], std::slice::from_ref(&root), &options_now())
            .expect_err("no path")
            .code(),
        "untrusted"
    );
    // An end-entity certificate given as its own trust anchor vouches for nothing: a
    // trust anchor must be a CA certificate (a CA, even an intermediate one, may be).
    let err = path::validate(&leaf, std::slice::from_ref(&ca), std::slice::from_ref(&leaf), &options_now())
        .expect_err("an end-entity certificate is no trust anchor");
    assert_eq!(err.code(), "untrusted");
    assert!(err.to_string().contains("must be a CA"), "{err}");
    assert_eq!(
        path::validate(&leaf, &[], std::slice::from_ref(&ca), &options_now())
            .map(|p| p.len())
            .expect("intermediate CA as anchor"),
        2
    );
}

#[test]
fn openssl_rsa_chain_passes_our_validation() {
    if !openssl_available() {
        eprintln!("skipped: no openssl binary");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let run = |args: &[&str]| {
        let (ok, text) = openssl(d, args);
        assert!(ok, "openssl {args:?}: {text}");
    };
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        "root.key",
    ]);
    run(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "leaf.key",
    ]);
    run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "root.key",
        "-subj",
        "/CN=RSA Root",
        "-days",
        "30",
        "-sha384",
        "-out",
        "root.pem",
    ]);
    run(&[
        "req",
        "-new",
        "-key",
        "leaf.key",
        "-subj",
        "/CN=EC Leaf",
        "-out",
        "leaf.csr",
    ]);
    for (name, md) in [
        ("leaf256.pem", "-sha256"),
        ("leaf1.pem", "-sha1"),
        ("leaf512.pem", "-sha512"),
    ] {
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-set_serial",
            "5",
            "-days",
            "10",
            md,
            "-out",
            name,
        ]);
    }
    let read = |name: &str| {
        pem::read_certificates(&std::fs::read(d.join(name)).expect("read"))
            .expect("parse")
            .remove(0)
    };
    let root = read("root.pem");
    for name in ["leaf256.pem", "leaf1.pem", "leaf512.pem"] {
        let leaf = read(name);
        path::validate(&leaf, &[], std::slice::from_ref(&root), &options_now()).expect(name);
        let mut der = cert::to_der(&leaf).expect("der");
        let last = der.len() - 1;
        der[last] ^= 1;
        let bad = pem::read_certificates(&der).expect("parse").remove(0);
        let err =
            path::validate(&bad, &[], std::slice::from_ref(&root), &options_now()).expect_err(name);
        assert_eq!(err.code(), "bad_certificate_signature", "{name}: {err}");
    }
    // The root alone is valid as its own anchor.
    path::validate(&root, &[], std::slice::from_ref(&root), &options_now()).expect("root");
}
