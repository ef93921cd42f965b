//! `imzo verify` and certificate status, as a hostile tester drives it: a status that
//! cannot be learnt is "cannot judge" (exit 2) unless --no-revocation-check; --crl files
//! decide instead of the network, with the issuer found among the certificates inside the
//! signature; signingTime set by `faketime` is a claim (future or before the root: not
//! valid, "not yet valid"); an end-entity certificate is no trust anchor. Keys,
//! certificates, CRLs and signatures are made by the OpenSSL CLI.
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

/// Signs doc.txt as `out` (attached, the intermediate inside), the clock set to `clock`
/// by faketime when given.
fn sign(d: &Path, out: &str, clock: Option<&str>) {
    let args = [
        "cms", "-sign", "-nodetach", "-binary", "-in", "doc.txt", "-signer", "leaf.pem", "-inkey", "leaf.key",
        "-certfile", "inter.pem", "-outform", "DER", "-out", out,
    ];
    let status = match clock {
        Some(at) => Command::new("faketime").current_dir(d).arg(at).arg("openssl").args(args).output().unwrap(),
        None => Command::new("openssl").current_dir(d).args(args).output().unwrap(),
    };
    assert!(status.status.success(), "{}", show(&status));
}

/// Root → intermediate CA → holder whose certificate names an OCSP responder and a CRL
/// address nobody answers at; the intermediate can issue CRLs with `openssl ca`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ec = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"];
    for key in ["root.key", "inter.key", "leaf.key"] {
        openssl_ok(d, &[&ec[..], &[key]].concat());
    }
    openssl_ok(
        d,
        &[
            "req", "-x509", "-new", "-key", "root.key", "-subj", "/CN=Status Test Root/C=UZ", "-days", "3650",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", "root.pem",
        ],
    );
    std::fs::write(
        d.join("inter.ext"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    openssl_ok(d, &["req", "-new", "-key", "inter.key", "-subj", "/CN=Status Test Centre/C=UZ", "-out", "inter.csr"]);
    openssl_ok(
        d,
        &[
            "x509", "-req", "-in", "inter.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-days",
            "1000", "-extfile", "inter.ext", "-out", "inter.pem",
        ],
    );
    std::fs::write(
        d.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n\
         authorityInfoAccess=OCSP;URI:http://127.0.0.1:9/ocsp\ncrlDistributionPoints=URI:http://127.0.0.1:9/inter.crl\n",
    )
    .unwrap();
    openssl_ok(d, &["req", "-new", "-key", "leaf.key", "-subj", "/CN=Valiyev Ali/C=UZ", "-out", "leaf.csr"]);
    openssl_ok(
        d,
        &[
            "x509", "-req", "-in", "leaf.csr", "-CA", "inter.pem", "-CAkey", "inter.key", "-CAcreateserial", "-days",
            "365", "-extfile", "leaf.ext", "-out", "leaf.pem",
        ],
    );
    std::fs::write(
        d.join("ca.cnf"),
        "[ ca ]\ndefault_ca = inter\n[ inter ]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\n\
         default_crl_days = 30\ncertificate = inter.pem\nprivate_key = inter.key\n",
    )
    .unwrap();
    std::fs::write(d.join("index.txt"), "").unwrap();
    std::fs::write(d.join("crlnumber"), "01\n").unwrap();
    openssl_ok(d, &["ca", "-config", "ca.cnf", "-gencrl", "-out", "empty.crl"]);
    std::fs::write(d.join("doc.txt"), "the contract text\n").unwrap();
    sign(d, "doc.p7s", None);
    dir
}

#[test]
fn unknown_status_is_cannot_judge_and_crl_files_decide() {
    let dir = setup();
    let d = dir.path();
    // Nobody answers at the certificate's OCSP and CRL addresses: cannot judge, exit 2.
    let out = imzo(d, &["verify", "doc.p7s", "--trust", "root.pem"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stdout.contains("revocation: unavailable") && stdout.contains("cannot judge"), "{}", show(&out));
    assert!(!stdout.contains("VALID") && !stdout.contains("Verdict: valid"), "{}", show(&out));
    let out = imzo(d, &["verify", "doc.p7s", "--trust", "root.pem", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["errors"].as_array().unwrap().iter().any(|e| e["code"] == "revocation_unavailable"), "{v}");
    assert_eq!(v["signers"][0]["signing_time_source"], "claimed", "{v}");
    assert_eq!(v["signers"][0]["judged_by"], "now", "{v}");

    // `imzo x509 verify` the same: cannot judge, unless waived or a CRL decides.
    let x509 = |extra: &[&str]| {
        let mut args = vec!["x509", "verify", "leaf.pem", "--untrusted", "inter.pem", "--trust", "root.pem"];
        args.extend_from_slice(extra);
        imzo(d, &args)
    };
    let out = x509(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cannot judge"), "{}", show(&out));
    assert_eq!(x509(&["--no-revocation-check"]).status.code(), Some(0));
    assert_eq!(x509(&["--crl", "empty.crl"]).status.code(), Some(0));

    // The explicit opt-out: valid, and the report says the status was not checked.
    let out = imzo(d, &["verify", "doc.p7s", "--trust", "root.pem", "--no-revocation-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--no-revocation-check"), "{}", show(&out));

    // A CRL of the intermediate (found inside the signature, not among the roots) decides.
    let out = imzo(d, &["verify", "doc.p7s", "--trust", "root.pem", "--crl", "empty.crl", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["signers"][0]["revocation"];
    assert_eq!((r["status"].as_str(), r["source"].as_str()), (Some("good"), Some("crl")), "{v}");
    openssl_ok(d, &["ca", "-config", "ca.cnf", "-revoke", "leaf.pem", "-crl_reason", "keyCompromise"]);
    openssl_ok(d, &["ca", "-config", "ca.cnf", "-gencrl", "-out", "revoked.crl"]);
    // Repeatable: a CRL of another issuer is skipped.
    let out = imzo(d, &["verify", "doc.p7s", "--trust", "root.pem", "--crl", "revoked.crl", "--crl", "empty.crl"]);
    assert_eq!(out.status.code(), Some(1), "the signature predates the CRL, but nothing proves it: {}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("revocation: revoked (from crl), reason keyCompromise"), "{}", show(&out));
    assert!(stdout.contains("Signature is NOT valid"), "{}", show(&out));
}

#[test]
fn faked_clocks_and_self_trust_are_not_valid() {
    let dir = setup();
    let d = dir.path();
    let judge = |sig: &str, trust: &str| imzo(d, &["verify", sig, "--trust", trust, "--crl", "empty.crl"]);
    // The signer's clock in 2027 (the server says -5 for this too).
    sign(d, "future.p7s", Some("2027-06-01 12:00:00"));
    let out = judge("future.p7s", "root.pem");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("bad_signing_time") && stdout.contains("in the future"), "{}", show(&out));
    // Set back to before the root existed: "not yet valid", never "expired".
    sign(d, "past.p7s", Some("2020-01-01 12:00:00"));
    let out = judge("past.p7s", "root.pem");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("not yet valid") && !stdout.contains("(expired)"), "{}", show(&out));
    assert!(stdout.contains("claimed by the signer's computer clock"), "{}", show(&out));
    // The holder's own certificate is no trust anchor.
    let out = judge("doc.p7s", "leaf.pem");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("must be a CA") && stdout.contains("Signature is NOT valid"), "{}", show(&out));
    // The honest signature with the real roots holds.
    let out = judge("doc.p7s", "root.pem");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}
