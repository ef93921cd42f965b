//! What `imzo verify` tells a person: a detached signature without its content is "cannot
//! judge", not "NOT valid", and the report names where the trusted roots came from.
//! Keys, certificates and the signature are made by the OpenSSL CLI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn openssl_ok(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn imzo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imzo")).current_dir(dir).env_remove("IMZO_TRUST").args(args).output().unwrap()
}

fn show(out: &Output) -> String {
    format!("stdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A root in `imzo-data/pki/root.pem` (the default data folder's layout), a leaf, and a
/// detached signature `doc.sig` over `doc.txt` made by `openssl cms`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("imzo-data/pki")).unwrap();
    let ec = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"];
    openssl_ok(d, &[&ec[..], &["root.key"]].concat());
    openssl_ok(
        d,
        &[
            "req", "-x509", "-new", "-key", "root.key", "-subj", "/CN=Verify Messages Root/C=UZ", "-days", "3650",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", "imzo-data/pki/root.pem",
        ],
    );
    openssl_ok(d, &[&ec[..], &["leaf.key"]].concat());
    openssl_ok(d, &["req", "-new", "-key", "leaf.key", "-subj", "/CN=Valiyev Ali/C=UZ", "-out", "leaf.csr"]);
    std::fs::write(
        d.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    openssl_ok(
        d,
        &[
            "x509", "-req", "-in", "leaf.csr", "-CA", "imzo-data/pki/root.pem", "-CAkey", "root.key", "-CAcreateserial",
            "-days", "365", "-extfile", "leaf.ext", "-out", "leaf.pem",
        ],
    );
    std::fs::write(d.join("doc.txt"), "the contract text\n").unwrap();
    openssl_ok(
        d,
        &[
            "cms", "-sign", "-binary", "-in", "doc.txt", "-signer", "leaf.pem", "-inkey", "leaf.key", "-outform",
            "DER", "-out", "doc.sig",
        ],
    );
    dir
}

#[test]
fn a_detached_signature_without_content_cannot_be_judged() {
    let dir = setup();
    let d = dir.path();
    let out = imzo(d, &["verify", "doc.sig", "--trust", "imzo-data/pki/root.pem"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stdout.contains("cannot judge: the signature is detached; give the signed file with --content"),
        "{}",
        show(&out)
    );
    assert!(!stdout.contains("NOT valid"), "{}", show(&out));
    // With the content it holds.
    let out = imzo(d, &["verify", "doc.sig", "--content", "doc.txt", "--trust", "imzo-data/pki/root.pem"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // Changed content is a definite no.
    std::fs::write(d.join("other.txt"), "another text\n").unwrap();
    let out = imzo(d, &["verify", "doc.sig", "--content", "other.txt", "--trust", "imzo-data/pki/root.pem"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOT valid"), "{}", show(&out));
}

#[test]
fn verify_says_which_roots_it_trusted() {
    let dir = setup();
    let d = dir.path();
    // No --trust: the default data folder in the current directory.
    let out = imzo(d, &["verify", "doc.sig", "--content", "doc.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Trusted roots from imzo-data/pki/root.pem") && stdout.contains("./imzo-data"), "{stdout}");
    // --data names the folder; --json carries the source too.
    let out = imzo(d, &["verify", "doc.sig", "--content", "doc.txt", "--data", "imzo-data", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["trust_source"], "imzo-data/pki/root.pem", "{v}");
    // IMZO_TRUST.
    let out = Command::new(env!("CARGO_BIN_EXE_imzo"))
        .current_dir(d)
        .env("IMZO_TRUST", d.join("imzo-data/pki/root.pem"))
        .args(["verify", "doc.sig", "--content", "doc.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("IMZO_TRUST="), "{}", show(&out));
}
