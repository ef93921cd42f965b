//! PKCS#10, encrypted PKCS#8 and PKCS#12 against the OpenSSL command line, both ways.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::name::Subject;
use imzo_pki::{PkiError, RawSigner, SignatureAlgorithm, csr, pfx, pkcs8};
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use std::path::Path;
use std::process::Command;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

struct TestKey(SigningKey, Vec<u8>);

impl TestKey {
    fn new(seed: u8) -> TestKey {
        let mut bytes = [seed; 32];
        bytes[0] = 0x22;
        let sk = SigningKey::from_slice(&bytes).expect("key");
        let spki = sk
            .verifying_key()
            .to_public_key_der()
            .expect("spki")
            .into_vec();
        TestKey(sk, spki)
    }
    fn pkcs8(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec())
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

fn must(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = openssl(dir, args);
    assert!(ok, "openssl {args:?} failed: {text}");
    text
}

fn person() -> Subject {
    Subject {
        common_name: "Aliyev Vali".into(),
        given_name: Some("Vali".into()),
        surname: Some("Aliyev".into()),
        country: Some("UZ".into()),
        pinfl: Some("32808810170066".into()),
        ..Default::default()
    }
}

#[test]
fn csr_both_ways() {
    let key = TestKey::new(1);
    let der = csr::build(&key, &person()).expect("build");
    let info = csr::parse_and_verify(&der).expect("our own request");
    assert_eq!(info.public_key_der, key.1);

    if !openssl_available() {
        eprintln!("skipped the OpenSSL half: no openssl binary");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("ours.der"), &der).expect("write");
    let text = must(
        d,
        &[
            "req", "-verify", "-inform", "DER", "-in", "ours.der", "-noout", "-text",
        ],
    );
    assert!(text.contains("verify OK"), "{text}");
    assert!(text.contains("1.2.860.3.16.1.2 = 32808810170066"), "{text}");

    must(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec.key",
        ],
    );
    must(
        d,
        &[
            "req",
            "-new",
            "-key",
            "ec.key",
            "-subj",
            "/C=UZ/CN=From OpenSSL",
            "-out",
            "ec.csr",
        ],
    );
    let pem_bytes = std::fs::read(d.join("ec.csr")).expect("read");
    let info = csr::parse_and_verify(&pem_bytes).expect("OpenSSL's request");
    assert_eq!(info.subject, "CN=From OpenSSL,C=UZ");
    must(
        d,
        &[
            "pkey", "-in", "ec.key", "-pubout", "-outform", "DER", "-out", "ec.pub",
        ],
    );
    assert_eq!(
        info.public_key_der,
        std::fs::read(d.join("ec.pub")).expect("read")
    );

    // Tampering with the subject breaks the self-signature.
    let mut raw = std::process::Command::new("openssl")
        .args(["req", "-in", "ec.csr", "-outform", "DER"])
        .current_dir(d)
        .output()
        .expect("run")
        .stdout;
    let pos = raw
        .windows(4)
        .position(|w| w == b"From")
        .expect("subject bytes");
    raw[pos] = b'G';
    assert!(matches!(
        csr::parse_and_verify(&raw),
        Err(PkiError::BadSignature(_))
    ));

    // RSA keys are not accepted.
    must(
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
    must(
        d,
        &[
            "req", "-new", "-key", "rsa.key", "-subj", "/CN=RSA", "-out", "rsa.csr",
        ],
    );
    let rsa = std::fs::read(d.join("rsa.csr")).expect("read");
    assert!(matches!(
        csr::parse_and_verify(&rsa),
        Err(PkiError::Unsupported(_))
    ));
}

#[test]
fn encrypted_pkcs8_both_ways() {
    if !openssl_available() {
        eprintln!("skipped: no openssl binary");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let key = TestKey::new(2);
    let pem_text = pkcs8::encrypt(&key.pkcs8(), b"s3cret parol").expect("encrypt");
    std::fs::write(d.join("ours.pem"), &pem_text).expect("write");
    std::fs::write(d.join("pw"), "s3cret parol\n").expect("write");
    std::fs::write(d.join("badpw"), "wrong\n").expect("write");
    must(
        d,
        &[
            "pkey", "-in", "ours.pem", "-passin", "file:pw", "-pubout", "-outform", "DER", "-out",
            "ours.pub",
        ],
    );
    assert_eq!(std::fs::read(d.join("ours.pub")).expect("read"), key.1);
    let (ok, _) = openssl(
        d,
        &["pkey", "-in", "ours.pem", "-passin", "file:badpw", "-noout"],
    );
    assert!(!ok, "OpenSSL opened our key with a wrong password");
    let text = must(d, &["asn1parse", "-in", "ours.pem"]);
    assert!(
        text.contains("PBES2") && text.contains("hmacWithSHA256") && text.contains("aes-256-cbc"),
        "{text}"
    );

    // OpenSSL's PKCS#8 files, explicit v2 AES-256 and its default.
    must(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec.key",
        ],
    );
    must(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "ec.key",
            "-nocrypt",
            "-outform",
            "DER",
            "-out",
            "plain.der",
        ],
    );
    let plain = std::fs::read(d.join("plain.der")).expect("read");
    for (name, extra) in [
        ("v2.pem", vec!["-v2", "aes-256-cbc"]),
        ("default.pem", vec![]),
        (
            "v2sha1.pem",
            vec!["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"],
        ),
        ("des3.pem", vec!["-v2", "des3"]),
    ] {
        let mut args = vec![
            "pkcs8", "-topk8", "-in", "ec.key", "-passout", "file:pw", "-out", name,
        ];
        args.extend(extra);
        must(d, &args);
        let enc = std::fs::read(d.join(name)).expect("read");
        let got = pkcs8::decrypt(&enc, b"s3cret parol").expect(name);
        assert_eq!(got.as_slice(), plain.as_slice(), "{name}");
        assert!(
            matches!(pkcs8::decrypt(&enc, b"wrong"), Err(PkiError::WrongPassword)),
            "{name}"
        );
    }
}

fn issue_holder(
    key: &TestKey,
    root_key: &TestKey,
) -> (imzo_pki::Certificate, imzo_pki::Certificate) {
    let now = OffsetDateTime::now_utc();
    let mut p = IssueParams {
        subject: Subject {
            common_name: "PFX Test Root".into(),
            country: Some("UZ".into()),
            ..Default::default()
        },
        subject_public_key_der: root_key.1.clone(),
        serial: vec![7],
        not_before: now - Duration::hours(1),
        not_after: now + Duration::days(30),
        profile: Profile::Root,
        urls: PublicationUrls::default(),
        policy_oid: None,
    };
    let root = cert::issue(None, root_key, &p).expect("root");
    p.subject = person();
    p.subject_public_key_der = key.1.clone();
    p.serial = vec![8];
    p.profile = Profile::Holder;
    let leaf = cert::issue(Some(&root), root_key, &p).expect("leaf");
    (leaf, root)
}

#[test]
fn pfx_both_ways() {
    let key = TestKey::new(3);
    let root_key = TestKey::new(4);
    let (leaf, root) = issue_holder(&key, &root_key);
    let ours = pfx::write(
        &pfx::Pfx {
            private_key_info_der: key.pkcs8(),
            chain: vec![leaf.clone(), root.clone()],
            friendly_name: None,
        },
        "pfx parol",
    )
    .expect("write");
    let back = pfx::read(&ours, "pfx parol").expect("read ours");
    assert_eq!(back.chain, vec![leaf.clone(), root.clone()]);
    assert!(matches!(
        pfx::read(&ours, "nope"),
        Err(PkiError::WrongPassword)
    ));

    if !openssl_available() {
        eprintln!("skipped the OpenSSL half: no openssl binary");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("ours.pfx"), &ours).expect("write");
    std::fs::write(d.join("pw"), "pfx parol\n").expect("write");
    std::fs::write(d.join("badpw"), "nope\n").expect("write");
    let info = must(
        d,
        &[
            "pkcs12", "-info", "-in", "ours.pfx", "-passin", "file:pw", "-noout",
        ],
    );
    assert!(info.contains("MAC: sha256"), "{info}");
    assert!(info.contains("PBES2, PBKDF2, AES-256-CBC"), "{info}");
    let dump = must(
        d,
        &["pkcs12", "-in", "ours.pfx", "-passin", "file:pw", "-nodes"],
    );
    assert!(dump.contains("-----BEGIN PRIVATE KEY-----"), "{dump}");
    assert!(dump.contains("friendlyName: cn=aliyev vali,name=vali,surname=aliyev,c=uz,1.2.860.3.16.1.2=32808810170066,serialnumber=08,validfrom="), "{dump}");
    assert_eq!(
        dump.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "{dump}"
    );
    let (ok, _) = openssl(
        d,
        &[
            "pkcs12",
            "-info",
            "-in",
            "ours.pfx",
            "-passin",
            "file:badpw",
            "-noout",
        ],
    );
    assert!(!ok, "OpenSSL opened our pfx with a wrong password");

    // OpenSSL's own files: default (PBES2 + SHA-256 MAC) and -legacy (RC2/3DES + SHA-1 MAC).
    std::fs::write(d.join("leaf.pem"), cert::to_pem(&leaf).expect("pem")).expect("write");
    std::fs::write(d.join("root.pem"), cert::to_pem(&root).expect("pem")).expect("write");
    let key_pem = key
        .0
        .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
        .expect("pem");
    std::fs::write(d.join("leaf.key"), key_pem.as_bytes()).expect("write");
    let mut variants = vec![("default.pfx", vec![])];
    let (legacy_ok, legacy_text) = openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-legacy",
            "-inkey",
            "leaf.key",
            "-in",
            "leaf.pem",
            "-passout",
            "pass:x",
            "-out",
            "probe.pfx",
        ],
    );
    if legacy_ok {
        variants.push(("legacy.pfx", vec!["-legacy"]));
    } else {
        eprintln!("OpenSSL cannot write -legacy here (no legacy provider?): {legacy_text}");
    }
    for (name, extra) in variants {
        let mut args = vec![
            "pkcs12",
            "-export",
            "-inkey",
            "leaf.key",
            "-in",
            "leaf.pem",
            "-certfile",
            "root.pem",
            "-name",
            "my alias",
            "-passout",
            "file:pw",
            "-out",
            name,
        ];
        args.extend(extra);
        must(d, &args);
        let bytes = std::fs::read(d.join(name)).expect("read");
        let got = pfx::read(&bytes, "pfx parol").expect(name);
        assert_eq!(got.chain.first(), Some(&leaf), "{name}");
        assert_eq!(got.chain.len(), 2, "{name}");
        assert_eq!(got.friendly_name.as_deref(), Some("my alias"), "{name}");
        let opened = SigningKey::from_pkcs8_der(&got.private_key_info_der).expect(name);
        assert_eq!(opened.verifying_key(), key.0.verifying_key(), "{name}");
        assert!(
            matches!(pfx::read(&bytes, "wrong"), Err(PkiError::WrongPassword)),
            "{name}"
        );
    }
}
