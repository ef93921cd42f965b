//! `imzo sign / verify / pfx info / x509 verify` driven as a user would, with keys and
//! certificates made by the OpenSSL CLI, and our output checked by `openssl cms -verify`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn openssl(dir: &Path, args: &[&str]) -> Output {
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
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn imzo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imzo"))
        .current_dir(dir)
        .env_remove("IMZO_TRUST")
        .args(args)
        .output()
        .unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn show(out: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const LEAF_CONFIG: &str = "\
oid_section = new_oids
[ new_oids ]
pinfl = 1.2.860.3.16.1.2
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = Valiyev Ali
UID = 123456789
pinfl = 30101901234567
C = UZ
";

/// Root, other root, a holder with PINFL and UID, and its .pfx (password in pass.txt).
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, cn) in [("root", "Imzo CLI Root"), ("other", "Other Root")] {
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
        openssl_ok(
            d,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-subj",
                &format!("/CN={cn}/C=UZ"),
                "-days",
                "3650",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
    std::fs::write(d.join("leaf.cnf"), LEAF_CONFIG).unwrap();
    std::fs::write(
        d.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "leaf.key",
        ],
    );
    openssl_ok(
        d,
        &[
            "req", "-new", "-key", "leaf.key", "-config", "leaf.cnf", "-out", "leaf.csr",
        ],
    );
    openssl_ok(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-days",
            "730",
            "-sha256",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ],
    );
    openssl_ok(
        d,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "leaf.key",
            "-in",
            "leaf.pem",
            "-certfile",
            "root.pem",
            "-name",
            "valiyev ali",
            "-passout",
            "pass:S3cret parol",
            "-out",
            "leaf.pfx",
        ],
    );
    std::fs::write(d.join("pass.txt"), "S3cret parol\n").unwrap();
    std::fs::write(d.join("wrong.txt"), "not it\n").unwrap();
    std::fs::write(d.join("doc.txt"), "Shartnoma No 17, summa 2 500 000 so'm\n").unwrap();
    dir
}

fn sign(d: &Path, extra: &[&str], out: &str) -> Output {
    let mut args = vec!["sign", "--pfx", "leaf.pfx", "--password-file", "pass.txt"];
    args.extend_from_slice(extra);
    args.extend(["doc.txt", "-o", out]);
    imzo(d, &args)
}

#[test]
fn sign_then_verify_attached_and_detached() {
    let dir = setup();
    let d = dir.path();

    let out = sign(d, &[], "doc.p7s");
    assert_eq!(code(&out), 0, "{}", show(&out));
    let out = imzo(d, &["verify", "doc.p7s", "--trust", "root.pem"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Valiyev Ali")
            && text.contains("30101901234567")
            && text.contains("Asia/Tashkent"),
        "{text}"
    );
    openssl_ok(
        d,
        &[
            "cms", "-verify", "-inform", "DER", "-in", "doc.p7s", "-CAfile", "root.pem",
            "-purpose", "any", "-binary", "-out", "back.txt",
        ],
    );
    assert_eq!(
        std::fs::read(d.join("back.txt")).unwrap(),
        std::fs::read(d.join("doc.txt")).unwrap()
    );

    let out = sign(d, &["--detached", "--pem"], "doc.pem");
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(
        std::fs::read_to_string(d.join("doc.pem"))
            .unwrap()
            .starts_with("-----BEGIN CMS-----\n")
    );
    openssl_ok(
        d,
        &[
            "cms",
            "-verify",
            "-inform",
            "PEM",
            "-in",
            "doc.pem",
            "-content",
            "doc.txt",
            "-binary",
            "-CAfile",
            "root.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );
    let out = imzo(
        d,
        &[
            "verify",
            "doc.pem",
            "--content",
            "doc.txt",
            "--trust",
            "root.pem",
        ],
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    // Detached without the content: we cannot judge.
    let out = imzo(d, &["verify", "doc.pem", "--trust", "root.pem"]);
    assert_eq!(code(&out), 2, "{}", show(&out));
}

#[test]
fn json_report_has_the_contract_fields() {
    let dir = setup();
    let d = dir.path();
    assert_eq!(code(&sign(d, &[], "doc.p7s")), 0);
    let out = imzo(d, &["verify", "doc.p7s", "--trust", "root.pem", "--json"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["errors"], serde_json::json!([]));
    let s = &v["signers"][0];
    assert!(
        s["subject"].as_str().unwrap().contains("Valiyev Ali"),
        "{s}"
    );
    assert_eq!(s["pinfl"], "30101901234567");
    assert_eq!(s["inn"], "123456789");
    assert!(
        s["serial"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_hexdigit())
    );
    assert!(s["issuer"].as_str().unwrap().contains("Imzo CLI Root"));
    let signing_time = s["signing_time"].as_str().unwrap();
    assert!(signing_time.ends_with('Z'), "{signing_time}");
    assert!(s["timestamp"].is_null());
    assert_eq!(s["chain_valid"], true);
    assert_eq!(s["revocation"]["status"], "not_checked");
    assert!(s["revocation"]["source"].is_null());
}

#[test]
fn tampered_garbage_and_untrusted() {
    let dir = setup();
    let d = dir.path();
    assert_eq!(code(&sign(d, &["--detached"], "doc.sig")), 0);
    std::fs::write(
        d.join("changed.txt"),
        "Shartnoma No 17, summa 9 500 000 so'm\n",
    )
    .unwrap();
    let out = imzo(
        d,
        &[
            "verify",
            "doc.sig",
            "--content",
            "changed.txt",
            "--trust",
            "root.pem",
            "--json",
        ],
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["code"], "digest_mismatch");

    let mut sig = std::fs::read(d.join("doc.sig")).unwrap();
    let last = sig.len() - 1;
    sig[last] ^= 0x40;
    std::fs::write(d.join("flipped.sig"), &sig).unwrap();
    let out = imzo(
        d,
        &[
            "verify",
            "flipped.sig",
            "--content",
            "doc.txt",
            "--trust",
            "root.pem",
        ],
    );
    assert_eq!(code(&out), 1, "{}", show(&out));

    std::fs::write(d.join("garbage.sig"), b"this is not a signature").unwrap();
    let out = imzo(
        d,
        &[
            "verify",
            "garbage.sig",
            "--content",
            "doc.txt",
            "--trust",
            "root.pem",
        ],
    );
    assert_eq!(code(&out), 2, "{}", show(&out));
    let out = imzo(d, &["verify", "missing.sig", "--trust", "root.pem"]);
    assert_eq!(code(&out), 2, "{}", show(&out));

    let out = imzo(
        d,
        &[
            "verify",
            "doc.sig",
            "--content",
            "doc.txt",
            "--trust",
            "other.pem",
            "--json",
        ],
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"][0]["code"], "untrusted");
    assert_eq!(v["signers"][0]["chain_valid"], false);
}

#[test]
fn trust_sources() {
    let dir = setup();
    let d = dir.path();
    assert_eq!(code(&sign(d, &[], "doc.p7s")), 0);
    // No --trust, no IMZO_TRUST, no ./imzo-data: usage error.
    let out = imzo(d, &["verify", "doc.p7s"]);
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("IMZO_TRUST"));

    let out = Command::new(env!("CARGO_BIN_EXE_imzo"))
        .current_dir(d)
        .env("IMZO_TRUST", d.join("root.pem"))
        .args(["verify", "doc.p7s"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));

    let pki: PathBuf = d.join("deployment").join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    std::fs::copy(d.join("root.pem"), pki.join("root.pem")).unwrap();
    let out = imzo(d, &["verify", "doc.p7s", "--data", "deployment"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    std::fs::rename(d.join("deployment"), d.join("imzo-data")).unwrap();
    let out = imzo(d, &["verify", "doc.p7s"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
}

#[test]
fn passwords_and_pfx_info() {
    let dir = setup();
    let d = dir.path();
    let out = imzo(
        d,
        &[
            "sign",
            "--pfx",
            "leaf.pfx",
            "--password-file",
            "wrong.txt",
            "doc.txt",
            "-o",
            "x.p7s",
        ],
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));
    assert!(!d.join("x.p7s").exists());

    let out = imzo(
        d,
        &[
            "sign",
            "--pfx",
            "leaf.pfx",
            "--password-file",
            "pass.txt",
            "--tsa",
            "http://127.0.0.1:9/tsa",
            "doc.txt",
            "-o",
            "x.p7s",
        ],
    );
    assert_eq!(code(&out), 2, "{}", show(&out));
    // No TSA listens there: a clear message, exit 2, and no file written.
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the TSA"), "{}", show(&out));
    assert!(!d.join("x.p7s").exists());

    let out = imzo(
        d,
        &["pfx", "info", "leaf.pfx", "--password-file", "wrong.txt"],
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong password"));

    let out = imzo(
        d,
        &[
            "pfx",
            "info",
            "leaf.pfx",
            "--password-file",
            "pass.txt",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["alias"], "valiyev ali");
    assert_eq!(v["pinfl"], "30101901234567");
    assert!(v["subject"].as_str().unwrap().contains("Valiyev Ali"));
    assert_eq!(v["chain"].as_array().unwrap().len(), 2);
    assert!(v["not_after"].as_str().unwrap().ends_with('Z'));

    let out = imzo(
        d,
        &["pfx", "info", "doc.txt", "--password-file", "pass.txt"],
    );
    assert_eq!(code(&out), 2, "{}", show(&out));
}

#[test]
fn x509_verify() {
    let dir = setup();
    let d = dir.path();
    let out = imzo(
        d,
        &[
            "x509", "verify", "leaf.pem", "--trust", "root.pem", "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);

    let out = imzo(
        d,
        &[
            "x509",
            "verify",
            "leaf.pem",
            "--trust",
            "other.pem",
            "--json",
        ],
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"][0]["code"], "untrusted");

    let out = imzo(
        d,
        &[
            "x509",
            "verify",
            "leaf.pem",
            "--trust",
            "root.pem",
            "--at",
            "2099-01-01T00:00:00Z",
        ],
    );
    assert_eq!(code(&out), 1, "{}", show(&out));

    let out = imzo(
        d,
        &[
            "x509", "verify", "leaf.pem", "--trust", "root.pem", "--crl", "none.crl",
        ],
    );
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none.crl"), "{}", show(&out));

    let out = imzo(d, &["x509", "verify", "doc.txt", "--trust", "root.pem"]);
    assert_eq!(code(&out), 2, "{}", show(&out));
}
