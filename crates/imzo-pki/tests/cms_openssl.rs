//! CMS SignedData against the OpenSSL 3 CLI: our signatures pass `openssl cms -verify`,
//! OpenSSL's (DER, streamed BER, S/MIME PEM) pass ours, tampering and wrong roots fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use der::{DecodePem, EncodePem};
use imzo_pki::cms::{self, SignOptions, VerifyOptions};
use imzo_pki::{Certificate, PkiError, RawSigner, SignatureAlgorithm};
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};
use std::path::{Path, PathBuf};
use std::process::Command;
use time::OffsetDateTime;

/// A real P-256 key read from an OpenSSL-made PKCS#8 file.
struct TestKey {
    key: SigningKey,
    spki: Vec<u8>,
}

impl TestKey {
    fn load(path: &Path) -> TestKey {
        let pem = std::fs::read_to_string(path).unwrap();
        let key = SigningKey::from_pkcs8_pem(&pem).unwrap();
        let spki = key
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec();
        TestKey { key, spki }
    }
}

impl RawSigner for TestKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::EcdsaP256Sha256
    }
    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        let sig: DerSignature = self
            .key
            .try_sign(message)
            .map_err(|e| PkiError::Signer(e.to_string()))?;
        Ok(sig.as_bytes().to_vec())
    }
}

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn openssl_ok(dir: &Path, args: &[&str]) {
    let out = openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Root + leaf made by OpenSSL in a temporary folder.
struct Pki {
    dir: tempfile::TempDir,
    root: Certificate,
    leaf: Certificate,
    leaf_key: TestKey,
    other_root: Certificate,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cert(&self, name: &str) -> Certificate {
        Certificate::from_pem(std::fs::read(self.path(name)).unwrap()).unwrap()
    }

    fn options(&self) -> VerifyOptions {
        VerifyOptions {
            anchors: vec![self.root.clone()],
            at: None,
        }
    }
}

fn make_root(dir: &Path, name: &str, cn: &str) {
    openssl_ok(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &format!("{name}.key"),
        ],
    );
    openssl_ok(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN={cn}/O=Imzo Test/C=UZ"),
            "-days",
            "3650",
            "-out",
            &format!("{name}.pem"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectKeyIdentifier=hash",
        ],
    );
}

fn make_leaf(dir: &Path, name: &str, key_usage: &str) {
    openssl_ok(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &format!("{name}.key"),
        ],
    );
    openssl_ok(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            "/CN=Valiyev Ali/C=UZ",
            "-out",
            &format!("{name}.csr"),
        ],
    );
    std::fs::write(
        dir.join(format!("{name}.ext")),
        format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,{key_usage}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        ),
    )
    .unwrap();
    openssl_ok(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-days",
            "730",
            "-sha256",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_root(d, "root", "Imzo Test Root");
    make_root(d, "other", "Somebody Else's Root");
    make_leaf(d, "leaf", "digitalSignature,nonRepudiation");
    std::fs::write(
        d.join("content.txt"),
        b"Hujjat matni: 1 000 000 so'm\n\x00\xff binary tail",
    )
    .unwrap();
    let read = |n: &str| Certificate::from_pem(std::fs::read(d.join(n)).unwrap()).unwrap();
    let (root, leaf, other_root) = (read("root.pem"), read("leaf.pem"), read("other.pem"));
    let leaf_key = TestKey::load(&d.join("leaf.key"));
    Pki {
        dir,
        root,
        leaf,
        leaf_key,
        other_root,
    }
}

fn content(p: &Pki) -> Vec<u8> {
    std::fs::read(p.path("content.txt")).unwrap()
}

fn sign_ours(p: &Pki, detached: bool) -> Vec<u8> {
    let options = SignOptions {
        detached,
        signing_time: OffsetDateTime::now_utc(),
    };
    cms::sign(
        &content(p),
        &p.leaf_key,
        &[p.leaf.clone(), p.root.clone()],
        &options,
    )
    .unwrap()
}

fn codes(report: &cms::VerifyReport) -> Vec<String> {
    report
        .signers
        .iter()
        .flat_map(|s| s.errors.iter().map(|e| e.code.clone()))
        .collect()
}

#[test]
fn our_attached_signature_passes_openssl_and_us() {
    let p = pki();
    let sig = sign_ours(&p, false);
    std::fs::write(p.path("ours.der"), &sig).unwrap();
    openssl_ok(
        p.dir.path(),
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "ours.der",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-binary",
            "-out",
            "recovered",
        ],
    );
    assert_eq!(std::fs::read(p.path("recovered")).unwrap(), content(&p));

    let report = cms::verify(&sig, None, &p.options()).unwrap();
    assert!(report.all_valid(), "{:?}", codes(&report));
    assert_eq!(report.content, content(&p));
    let signer = &report.signers[0];
    assert!(signer.signature_valid && signer.chain_valid);
    assert_eq!(signer.certificate.as_ref(), Some(&p.leaf));
    let claimed = signer.signing_time.unwrap();
    assert!((OffsetDateTime::now_utc() - claimed).whole_seconds().abs() < 120);

    // The ESS signing-certificate-v2 attribute is there and OpenSSL can parse it.
    let out = openssl(
        p.dir.path(),
        &[
            "cms", "-cmsout", "-print", "-inform", "DER", "-in", "ours.der",
        ],
    );
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("signingCertificateV2"), "{printed}");
    assert!(printed.contains("signingTime") && printed.contains("messageDigest"));
}

#[test]
fn our_detached_signature_passes_openssl_and_us() {
    let p = pki();
    let sig = sign_ours(&p, true);
    std::fs::write(p.path("ours.der"), &sig).unwrap();
    openssl_ok(
        p.dir.path(),
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "ours.der",
            "-content",
            "content.txt",
            "-binary",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );
    let report = cms::verify(&sig, Some(&content(&p)), &p.options()).unwrap();
    assert!(report.all_valid(), "{:?}", codes(&report));

    let missing = cms::verify(&sig, None, &p.options()).unwrap();
    assert!(!missing.all_valid());
    assert!(codes(&missing).contains(&"content_missing".to_string()));
}

#[test]
fn openssl_signatures_pass_ours() {
    let p = pki();
    let d = p.dir.path();
    let base = [
        "-md",
        "sha256",
        "-binary",
        "-in",
        "content.txt",
        "-signer",
        "leaf.pem",
        "-inkey",
        "leaf.key",
    ];
    // DER, content attached.
    let mut args = vec![
        "cms",
        "-sign",
        "-nodetach",
        "-outform",
        "DER",
        "-out",
        "attached.der",
    ];
    args.extend(base);
    openssl_ok(d, &args);
    // Streamed: BER with indefinite lengths and a constructed OCTET STRING.
    let mut args = vec![
        "cms",
        "-sign",
        "-nodetach",
        "-stream",
        "-outform",
        "DER",
        "-out",
        "streamed.ber",
    ];
    args.extend(base);
    openssl_ok(d, &args);
    // S/MIME tool style: detached, PEM "PKCS7".
    let mut args = vec!["smime", "-sign", "-outform", "PEM", "-out", "smime.pem"];
    args.extend(base);
    openssl_ok(d, &args);

    let attached = std::fs::read(p.path("attached.der")).unwrap();
    let report = cms::verify(&attached, None, &p.options()).unwrap();
    assert!(report.all_valid(), "{:?}", codes(&report));
    assert_eq!(report.content, content(&p));

    let streamed = std::fs::read(p.path("streamed.ber")).unwrap();
    assert_eq!(
        &streamed[..2],
        &[0x30, 0x80],
        "expected indefinite-length BER from -stream"
    );
    let report = cms::verify(&streamed, None, &p.options()).unwrap();
    assert!(report.all_valid(), "{:?}", codes(&report));
    assert_eq!(report.content, content(&p));

    let smime = std::fs::read(p.path("smime.pem")).unwrap();
    assert!(smime.starts_with(b"-----BEGIN PKCS7-----"));
    let report = cms::verify(&smime, Some(&content(&p)), &p.options()).unwrap();
    assert!(report.all_valid(), "{:?}", codes(&report));
    let mut other = content(&p);
    other[0] ^= 1;
    let report = cms::verify(&smime, Some(&other), &p.options()).unwrap();
    assert_eq!(codes(&report), vec!["digest_mismatch"]);
}

#[test]
fn tampering_is_caught() {
    let p = pki();
    let sig = sign_ours(&p, true);
    let mut other = content(&p);
    let last = other.len() - 1;
    other[last] ^= 0x01;
    let report = cms::verify(&sig, Some(&other), &p.options()).unwrap();
    assert!(!report.all_valid());
    assert!(codes(&report).contains(&"digest_mismatch".to_string()));

    // The last byte of the message is the last byte of the ECDSA signature value.
    let mut bad = sig.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    let report = cms::verify(&bad, Some(&content(&p)), &p.options()).unwrap();
    assert!(!report.all_valid());
    assert_eq!(codes(&report), vec!["bad_signature"]);
    assert!(!report.signers[0].signature_valid);
    std::fs::write(p.path("bad.der"), &bad).unwrap();
    let out = openssl(
        p.dir.path(),
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "bad.der",
            "-content",
            "content.txt",
            "-binary",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
        ],
    );
    assert!(
        !out.status.success(),
        "openssl accepted a tampered signature"
    );

    // A changed signed attribute (inside the signing time digits) breaks the signature.
    let attached = sign_ours(&p, false);
    // The last UTCTime is the signing time: signer infos come after the certificates.
    let pos = attached
        .windows(2)
        .rposition(|w| w == [0x17, 0x0d])
        .expect("UTCTime in signed attributes");
    let mut bad = attached.clone();
    bad[pos + 2 + 11] = if bad[pos + 2 + 11] == b'1' {
        b'2'
    } else {
        b'1'
    };
    let report = cms::verify(&bad, None, &p.options()).unwrap();
    assert!(
        codes(&report).contains(&"bad_signature".to_string()),
        "{:?}",
        codes(&report)
    );
}

#[test]
fn wrong_root_is_untrusted_and_expiry_is_checked() {
    let p = pki();
    let sig = sign_ours(&p, false);
    let options = VerifyOptions {
        anchors: vec![p.other_root.clone()],
        at: None,
    };
    let report = cms::verify(&sig, None, &options).unwrap();
    assert!(!report.all_valid());
    assert!(report.signers[0].signature_valid);
    assert!(!report.signers[0].chain_valid);
    assert_eq!(codes(&report), vec!["untrusted"]);

    let later = OffsetDateTime::now_utc() + time::Duration::days(800);
    let options = VerifyOptions {
        anchors: vec![p.root.clone()],
        at: Some(later),
    };
    let report = cms::verify(&sig, None, &options).unwrap();
    assert_eq!(codes(&report), vec!["expired"]);
}

#[test]
fn key_usage_must_allow_signing() {
    let p = pki();
    make_leaf(p.dir.path(), "enc", "keyEncipherment");
    let cert = p.cert("enc.pem");
    let key = TestKey::load(&p.path("enc.key"));
    let options = SignOptions {
        detached: false,
        signing_time: OffsetDateTime::now_utc(),
    };
    let sig = cms::sign(b"data", &key, &[cert, p.root.clone()], &options).unwrap();
    let report = cms::verify(&sig, None, &p.options()).unwrap();
    assert_eq!(codes(&report), vec!["key_usage"]);
}

#[test]
fn signer_certificate_must_be_present_and_match_the_key() {
    let p = pki();
    // Our own key with somebody else's certificate is refused at signing time.
    let options = SignOptions {
        detached: false,
        signing_time: OffsetDateTime::now_utc(),
    };
    assert!(cms::sign(b"x", &p.leaf_key, std::slice::from_ref(&p.root), &options).is_err());
    assert!(cms::sign(b"x", &p.leaf_key, &[], &options).is_err());

    openssl_ok(
        p.dir.path(),
        &[
            "cms",
            "-sign",
            "-md",
            "sha256",
            "-nodetach",
            "-nocerts",
            "-binary",
            "-in",
            "content.txt",
            "-signer",
            "leaf.pem",
            "-inkey",
            "leaf.key",
            "-outform",
            "DER",
            "-out",
            "nocerts.der",
        ],
    );
    let sig = std::fs::read(p.path("nocerts.der")).unwrap();
    let report = cms::verify(&sig, None, &p.options()).unwrap();
    assert_eq!(codes(&report), vec!["no_signer_certificate"]);
}

#[test]
fn malformed_input_is_an_error() {
    let p = pki();
    for garbage in [
        &b""[..],
        b"hello",
        b"-----BEGIN CMS-----\n!!!\n-----END CMS-----\n",
        &[0x30, 0x80, 0x02, 0x01],
    ] {
        assert!(
            cms::verify(garbage, None, &p.options()).is_err(),
            "{garbage:?}"
        );
    }
    // A certificate is DER, but not a SignedData.
    let cert = p.leaf.to_pem(der::pem::LineEnding::LF).unwrap();
    let err = cms::verify(cert.as_bytes(), None, &p.options())
        .unwrap_err()
        .to_string();
    assert!(err.contains("PEM") || err.contains("CMS"), "{err}");
}

#[test]
fn proof_of_possession_round_trip() {
    let p = pki();
    let challenge = b"imzo-challenge-4f1c2a";
    let pop = cms::sign_proof_of_possession(challenge, &p.leaf_key).unwrap();
    cms::verify_proof_of_possession(&pop, challenge, &p.leaf_key.spki).unwrap();

    assert!(cms::verify_proof_of_possession(&pop, b"another challenge", &p.leaf_key.spki).is_err());
    let other = TestKey::load(&p.path("other.key"));
    assert!(cms::verify_proof_of_possession(&pop, challenge, &other.spki).is_err());

    // OpenSSL agrees on the structure: no certificates, signer by subject key id.
    std::fs::write(p.path("pop.der"), &pop).unwrap();
    let out = openssl(
        p.dir.path(),
        &[
            "cms", "-cmsout", "-print", "-inform", "DER", "-in", "pop.der",
        ],
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("subjectKeyIdentifier"), "{printed}");
    assert!(
        printed.contains("certificates:\n      <ABSENT>"),
        "{printed}"
    );
    assert!(printed.contains("eContent: <ABSENT>"), "{printed}");
    assert!(printed.contains("version: 3"), "{printed}");
}

#[test]
fn proof_of_possession_made_by_openssl() {
    let p = pki();
    std::fs::write(p.path("challenge"), b"server challenge 42").unwrap();
    // Subject key identifier form (the leaf's SKI is the SHA-1 of its key) and
    // issuer+serial form, both detached and without certificates.
    for (name, extra) in [("ski.der", Some("-keyid")), ("isn.der", None)] {
        let mut args = vec![
            "cms",
            "-sign",
            "-md",
            "sha256",
            "-nocerts",
            "-binary",
            "-in",
            "challenge",
            "-signer",
            "leaf.pem",
            "-inkey",
            "leaf.key",
            "-outform",
            "DER",
            "-out",
            name,
        ];
        args.extend(extra);
        openssl_ok(p.dir.path(), &args);
        let pop = std::fs::read(p.path(name)).unwrap();
        cms::verify_proof_of_possession(&pop, b"server challenge 42", &p.leaf_key.spki).unwrap();
        let other = TestKey::load(&p.path("other.key"));
        assert!(
            cms::verify_proof_of_possession(&pop, b"server challenge 42", &other.spki).is_err()
        );
    }
}

#[test]
fn openssl_variants_pass_ours() {
    let p = pki();
    let d = p.dir.path();
    // No signed attributes: the signature covers the content itself.
    openssl_ok(
        d,
        &[
            "cms",
            "-sign",
            "-md",
            "sha256",
            "-nodetach",
            "-noattr",
            "-binary",
            "-in",
            "content.txt",
            "-signer",
            "leaf.pem",
            "-inkey",
            "leaf.key",
            "-outform",
            "DER",
            "-out",
            "noattr.der",
        ],
    );
    let sig = std::fs::read(p.path("noattr.der")).unwrap();
    let report = cms::verify(&sig, None, &p.options()).unwrap();
    assert!(report.all_valid(), "{:?}", codes(&report));
    assert!(report.signers[0].signing_time.is_none());
    let mut other = content(&p);
    other[3] ^= 0x20;
    let report = cms::verify(&sig, Some(&other), &p.options()).unwrap();
    assert_eq!(codes(&report), vec!["bad_signature"]);

    // An RSA signer (rsaEncryption written as the signature algorithm), SHA-384 digest.
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.key",
        ],
    );
    openssl_ok(
        d,
        &[
            "req",
            "-new",
            "-key",
            "rsa.key",
            "-subj",
            "/CN=RSA Signer/C=UZ",
            "-out",
            "rsa.csr",
        ],
    );
    std::fs::write(d.join("rsa.ext"), "keyUsage=critical,digitalSignature\n").unwrap();
    openssl_ok(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "rsa.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "rsa.ext",
            "-out",
            "rsa.pem",
        ],
    );
    openssl_ok(
        d,
        &[
            "cms",
            "-sign",
            "-md",
            "sha384",
            "-binary",
            "-in",
            "content.txt",
            "-signer",
            "rsa.pem",
            "-inkey",
            "rsa.key",
            "-outform",
            "DER",
            "-out",
            "rsa.der",
        ],
    );
    let sig = std::fs::read(p.path("rsa.der")).unwrap();
    let report = cms::verify(&sig, Some(&content(&p)), &p.options()).unwrap();
    assert!(report.all_valid(), "{:?}", codes(&report));
    let report = cms::verify(&sig, Some(&other), &p.options()).unwrap();
    assert_eq!(codes(&report), vec!["digest_mismatch"]);
}

#[test]
fn chain_from_our_own_issuance_passes_openssl() {
    use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
    use imzo_pki::name::Subject;

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["root", "centre", "holder"] {
        openssl_ok(
            d,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &format!("{name}.key"),
            ],
        );
    }
    let (root_key, centre_key, holder_key) = (
        TestKey::load(&d.join("root.key")),
        TestKey::load(&d.join("centre.key")),
        TestKey::load(&d.join("holder.key")),
    );
    let now = OffsetDateTime::now_utc();
    let params = |subject: Subject, key: &TestKey, serial: u8, profile: Profile| IssueParams {
        subject,
        subject_public_key_der: key.spki.clone(),
        serial: vec![serial],
        not_before: now - time::Duration::minutes(5),
        not_after: now + time::Duration::days(730),
        profile,
        urls: PublicationUrls::default(),
        policy_oid: None,
    };
    let ca_subject = |cn: &str| Subject {
        common_name: cn.into(),
        organization: Some("Imzo".into()),
        country: Some("UZ".into()),
        ..Subject::default()
    };
    let root = cert::issue(
        None,
        &root_key,
        &params(ca_subject("Imzo Root"), &root_key, 1, Profile::Root),
    )
    .unwrap();
    let centre = cert::issue(
        Some(&root),
        &root_key,
        &params(ca_subject("Centre 1"), &centre_key, 2, Profile::CentreCa),
    )
    .unwrap();
    let holder_subject = Subject {
        common_name: "Valiyev Ali".into(),
        country: Some("UZ".into()),
        pinfl: Some("30101901234567".into()),
        ..Subject::default()
    };
    let holder = cert::issue(
        Some(&centre),
        &centre_key,
        &params(holder_subject, &holder_key, 3, Profile::Holder),
    )
    .unwrap();
    std::fs::write(d.join("root.pem"), cert::to_pem(&root).unwrap()).unwrap();
    std::fs::write(d.join("doc"), b"our own chain").unwrap();

    let options = SignOptions {
        detached: false,
        signing_time: now,
    };
    let sig = cms::sign(
        b"our own chain",
        &holder_key,
        &[holder.clone(), centre.clone()],
        &options,
    )
    .unwrap();
    std::fs::write(d.join("doc.p7s"), &sig).unwrap();
    openssl_ok(
        d,
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "doc.p7s",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-binary",
            "-out",
            "/dev/null",
        ],
    );
    let report = cms::verify(
        &sig,
        None,
        &VerifyOptions {
            anchors: vec![root],
            at: None,
        },
    )
    .unwrap();
    assert!(report.all_valid(), "{:?}", codes(&report));
    assert_eq!(report.signers[0].certificate.as_ref(), Some(&holder));
}

/// `openssl cms -sign -md sha256 -binary -in content.txt -outform DER -out OUT` with the
/// signer arguments `extra` (one or more -signer/-inkey pairs, -keyid, -nodetach, ...).
fn openssl_sign(dir: &Path, out: &str, extra: &[&str]) -> Vec<u8> {
    let mut args = vec![
        "cms",
        "-sign",
        "-md",
        "sha256",
        "-binary",
        "-in",
        "content.txt",
        "-outform",
        "DER",
        "-out",
        out,
    ];
    args.extend(extra);
    openssl_ok(dir, &args);
    std::fs::read(dir.join(out)).unwrap()
}

/// Does `openssl cms -verify` (anchor root.pem, attached content) accept `file`?
fn openssl_accepts(dir: &Path, file: &str) -> (bool, String) {
    let out = openssl(
        dir,
        &[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            file,
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-binary",
            "-out",
            "/dev/null",
        ],
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A leaf signed by root.pem with the given validity, through `openssl ca` (its
/// -startdate/-enddate exist in every OpenSSL 3; `x509 -not_before` only from 3.4).
fn make_leaf_valid(dir: &Path, name: &str, start: OffsetDateTime, end: OffsetDateTime) {
    let stamp = |t: OffsetDateTime| {
        t.format(time::macros::format_description!(
            "[year][month][day][hour][minute][second]Z"
        ))
        .unwrap()
    };
    make_leaf(dir, name, "digitalSignature,nonRepudiation");
    let ca = dir.join(format!("{name}-ca"));
    std::fs::create_dir_all(&ca).unwrap();
    std::fs::write(ca.join("index.txt"), b"").unwrap();
    std::fs::write(ca.join("serial"), b"7E57\n").unwrap();
    std::fs::write(
        dir.join(format!("{name}-ca.cnf")),
        format!(
            "[ca]\ndefault_ca = test\n[test]\ndir = {ca}\ndatabase = $dir/index.txt\n\
             new_certs_dir = $dir\nserial = $dir/serial\ndefault_md = sha256\n\
             policy = any\nunique_subject = no\ncopy_extensions = none\n\
             [any]\ncommonName = supplied\ncountryName = optional\n",
            ca = ca.display()
        ),
    )
    .unwrap();
    openssl_ok(
        dir,
        &[
            "ca",
            "-batch",
            "-notext",
            "-config",
            &format!("{name}-ca.cnf"),
            "-cert",
            "root.pem",
            "-keyfile",
            "root.key",
            "-in",
            &format!("{name}.csr"),
            "-startdate",
            &stamp(start),
            "-enddate",
            &stamp(end),
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

#[test]
fn openssl_two_signers_are_both_reported_and_valid() {
    let p = pki();
    let d = p.dir.path();
    make_leaf(d, "second", "digitalSignature");
    let second = p.cert("second.pem");
    assert_ne!(second, p.leaf);
    let sig = openssl_sign(
        d,
        "two.der",
        &[
            "-nodetach",
            "-signer",
            "leaf.pem",
            "-inkey",
            "leaf.key",
            "-signer",
            "second.pem",
            "-inkey",
            "second.key",
        ],
    );
    assert!(openssl_accepts(d, "two.der").0);
    let report = cms::verify(&sig, None, &p.options()).unwrap();
    assert_eq!(report.signers.len(), 2);
    assert!(report.all_valid(), "{:?}", codes(&report));
    assert_eq!(report.content, content(&p));
    for signer in &report.signers {
        assert!(signer.signature_valid && signer.chain_valid);
        assert!(signer.signing_time.is_some());
    }
    // Both certificates, each reported once (SET OF SignerInfo: order is DER's, not ours).
    let mut found: Vec<&Certificate> = report
        .signers
        .iter()
        .map(|s| s.certificate.as_ref().unwrap())
        .collect();
    found.sort_by_key(|c| c.tbs_certificate().serial_number().as_bytes().to_vec());
    let mut expected = vec![&p.leaf, &second];
    expected.sort_by_key(|c| c.tbs_certificate().serial_number().as_bytes().to_vec());
    assert_eq!(found, expected);

    // Detached with two signers: the same, and a changed content fails both.
    let sig = openssl_sign(
        d,
        "two-detached.der",
        &[
            "-signer",
            "leaf.pem",
            "-inkey",
            "leaf.key",
            "-signer",
            "second.pem",
            "-inkey",
            "second.key",
        ],
    );
    let report = cms::verify(&sig, Some(&content(&p)), &p.options()).unwrap();
    assert_eq!(report.signers.len(), 2);
    assert!(report.all_valid(), "{:?}", codes(&report));
    let mut other = content(&p);
    other[0] ^= 0x02;
    let report = cms::verify(&sig, Some(&other), &p.options()).unwrap();
    assert_eq!(codes(&report), vec!["digest_mismatch", "digest_mismatch"]);
    assert!(
        report
            .signers
            .iter()
            .all(|s| !s.signature_valid && s.chain_valid)
    );
}

#[test]
fn openssl_keyid_signer_is_valid() {
    let p = pki();
    let d = p.dir.path();
    let sig = openssl_sign(
        d,
        "keyid.der",
        &[
            "-nodetach",
            "-keyid",
            "-signer",
            "leaf.pem",
            "-inkey",
            "leaf.key",
        ],
    );
    // It really is the subjectKeyIdentifier form (SignerInfo version 3).
    let out = openssl(
        d,
        &[
            "cms",
            "-cmsout",
            "-print",
            "-inform",
            "DER",
            "-in",
            "keyid.der",
        ],
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("subjectKeyIdentifier"), "{printed}");
    assert!(!printed.contains("issuerAndSerialNumber"), "{printed}");

    let report = cms::verify(&sig, None, &p.options()).unwrap();
    assert!(report.all_valid(), "{:?}", codes(&report));
    assert_eq!(report.signers.len(), 1);
    assert_eq!(report.signers[0].certificate.as_ref(), Some(&p.leaf));
    assert_eq!(report.content, content(&p));

    // Streamed BER with a key-id signer, too.
    let sig = openssl_sign(
        d,
        "keyid.ber",
        &[
            "-nodetach",
            "-stream",
            "-keyid",
            "-signer",
            "leaf.pem",
            "-inkey",
            "leaf.key",
        ],
    );
    assert_eq!(&sig[..2], &[0x30, 0x80]);
    let report = cms::verify(&sig, None, &p.options()).unwrap();
    assert!(report.all_valid(), "{:?}", codes(&report));
    assert_eq!(report.signers[0].certificate.as_ref(), Some(&p.leaf));
}

#[test]
fn openssl_signature_by_an_expired_certificate_is_refused() {
    let p = pki();
    let d = p.dir.path();
    let now = OffsetDateTime::now_utc();
    make_leaf_valid(
        d,
        "expired",
        now - time::Duration::days(30),
        now - time::Duration::days(1),
    );
    let cert = p.cert("expired.pem");
    assert!(imzo_pki::cert::info(&cert).unwrap().not_after < now);
    let sig = openssl_sign(
        d,
        "expired.der",
        &[
            "-nodetach",
            "-signer",
            "expired.pem",
            "-inkey",
            "expired.key",
        ],
    );
    // OpenSSL refuses it as well.
    let (accepted, stderr) = openssl_accepts(d, "expired.der");
    assert!(!accepted, "openssl accepted an expired signer");
    assert!(stderr.contains("expired"), "{stderr}");

    let report = cms::verify(&sig, None, &p.options()).unwrap();
    assert!(!report.all_valid());
    let signer = &report.signers[0];
    assert_eq!(signer.certificate.as_ref(), Some(&cert));
    // The signature itself is sound; the certificate is not valid now.
    assert!(signer.signature_valid);
    assert!(!signer.chain_valid);
    assert_eq!(codes(&report), vec!["expired"]);

    // Judged at a time inside the certificate's validity (as a time-stamp would prove),
    // the expiry is no longer the complaint (the root was only made today, so the chain
    // is then not yet valid instead).
    let options = VerifyOptions {
        anchors: vec![p.root.clone()],
        at: Some(now - time::Duration::days(10)),
    };
    let report = cms::verify(&sig, None, &options).unwrap();
    assert!(
        !codes(&report).contains(&"expired".to_string()),
        "{:?}",
        codes(&report)
    );
}

#[test]
fn openssl_signature_by_a_key_encipherment_only_certificate_is_refused() {
    let p = pki();
    let d = p.dir.path();
    make_leaf(d, "enc", "keyEncipherment");
    let sig = openssl_sign(
        d,
        "enc.der",
        &["-nodetach", "-signer", "enc.pem", "-inkey", "enc.key"],
    );
    let report = cms::verify(&sig, None, &p.options()).unwrap();
    assert!(!report.all_valid());
    let signer = &report.signers[0];
    assert_eq!(signer.certificate.as_ref(), Some(&p.cert("enc.pem")));
    assert!(signer.signature_valid && signer.chain_valid);
    assert_eq!(codes(&report), vec!["key_usage"]);
}

#[test]
fn openssl_signature_against_the_wrong_trust_anchor_is_untrusted() {
    let p = pki();
    let d = p.dir.path();
    let sig = openssl_sign(
        d,
        "attached.der",
        &["-nodetach", "-signer", "leaf.pem", "-inkey", "leaf.key"],
    );
    let wrong = VerifyOptions {
        anchors: vec![p.other_root.clone()],
        at: None,
    };
    let report = cms::verify(&sig, None, &wrong).unwrap();
    assert!(!report.all_valid());
    assert!(report.signers[0].signature_valid);
    assert!(!report.signers[0].chain_valid);
    assert_eq!(codes(&report), vec!["untrusted"]);

    // No anchors at all: untrusted as well; the right one: valid.
    let none = VerifyOptions {
        anchors: Vec::new(),
        at: None,
    };
    assert_eq!(
        codes(&cms::verify(&sig, None, &none).unwrap()),
        vec!["untrusted"]
    );
    assert!(cms::verify(&sig, None, &p.options()).unwrap().all_valid());

    // The root embedded in the signature is no anchor: still untrusted against the other.
    let sig = openssl_sign(
        d,
        "with-root.der",
        &[
            "-nodetach",
            "-signer",
            "leaf.pem",
            "-inkey",
            "leaf.key",
            "-certfile",
            "root.pem",
        ],
    );
    assert_eq!(cms_certificate_count(&sig), 2);
    let report = cms::verify(&sig, None, &wrong).unwrap();
    assert_eq!(codes(&report), vec!["untrusted"]);
}

fn cms_certificate_count(sig: &[u8]) -> usize {
    imzo_pki::cms_tools::certificates(sig).unwrap().len()
}

#[test]
fn openssl_signature_with_tampered_content_is_invalid() {
    let p = pki();
    let d = p.dir.path();
    let original = content(&p);
    let sig = openssl_sign(
        d,
        "attached.der",
        &["-nodetach", "-signer", "leaf.pem", "-inkey", "leaf.key"],
    );
    assert!(cms::verify(&sig, None, &p.options()).unwrap().all_valid());

    // One bit of the attached content changed inside the SignedData.
    let at = sig
        .windows(original.len())
        .position(|w| w == original.as_slice())
        .expect("attached content in the DER");
    let mut bad = sig.clone();
    bad[at + 5] ^= 0x01;
    std::fs::write(p.path("tampered.der"), &bad).unwrap();
    assert!(!openssl_accepts(d, "tampered.der").0);
    let report = cms::verify(&bad, None, &p.options()).unwrap();
    assert!(!report.all_valid());
    assert!(!report.signers[0].signature_valid);
    assert_eq!(codes(&report), vec!["digest_mismatch"]);

    // Without signed attributes the signature covers the content: bad_signature.
    let sig = openssl_sign(
        d,
        "noattr.der",
        &[
            "-nodetach",
            "-noattr",
            "-signer",
            "leaf.pem",
            "-inkey",
            "leaf.key",
        ],
    );
    let at = sig
        .windows(original.len())
        .position(|w| w == original.as_slice())
        .unwrap();
    let mut bad = sig.clone();
    bad[at] ^= 0x80;
    let report = cms::verify(&bad, None, &p.options()).unwrap();
    assert_eq!(codes(&report), vec!["bad_signature"]);

    // A detached OpenSSL signature over content with one byte appended.
    let sig = openssl_sign(
        d,
        "detached.der",
        &["-signer", "leaf.pem", "-inkey", "leaf.key"],
    );
    let mut longer = original.clone();
    longer.push(b'\n');
    let report = cms::verify(&sig, Some(&longer), &p.options()).unwrap();
    assert_eq!(codes(&report), vec!["digest_mismatch"]);
    assert!(
        cms::verify(&sig, Some(&original), &p.options())
            .unwrap()
            .all_valid()
    );
}
