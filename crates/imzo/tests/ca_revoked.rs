//! A registration centre's CA certificate revoked by the root, against the real `imzo up`:
//! `imzo verify` and `imzo x509 verify` check every certificate of the chain but the
//! trust anchor, so a holder of centre 7 is "not valid" (exit 1, naming the centre CA and
//! when it was revoked) once `imzo ca centre revoke rc7` ran — asking the root's OCSP, or
//! by the root's CRL given with --crl — while a signature time-stamped before the
//! revocation (reason cessationOfOperation) and a holder of centre 3 still verify; with
//! no status source for the centre CA the verdict is "cannot judge" (exit 2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

const BCV_ENV: (&str, &str) = ("IMZO_FEES_BCV", "2020-01-01=270000");
const FEE_TIYIN: i64 = 1_890_000;
const PASSWORD: &str = "correct horse battery staple\n";

/// A holder of `centre`: enrolled, paid, approved by the centre's operator, confirmed.
/// Returns the .pfx, its password file and the holder's certificate (PEM).
fn holder(server: &Server, work: &Path, centre: u32, pinfl: &str, phone: &str, txn: &str) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(work).unwrap();
    let (passport, selfie, password) = (work.join("passport.pdf"), work.join("selfie.png"), work.join("holder.password"));
    write_pdf(&passport);
    write_png(&selfie);
    std::fs::write(&password, PASSWORD).unwrap();
    let after = server.outbox_last_id();
    let mut child = imzo()
        .args(["enroll", "--server", &server.base, "--centre", &centre.to_string(), "--type", "individual", "--pinfl", pinfl])
        .args(["--surname", "Aliyev", "--given-name", "Vali", "--patronymic", "G'aniyevich"])
        .args(["--birth-date", "1981-08-28", "--region", "Samarqand viloyati", "--passport", "AA1234567"])
        .args(["--phone", &format!("+{phone}"), "--passport-scan"])
        .arg(&passport)
        .arg("--selfie")
        .arg(&selfie)
        .arg("--keys")
        .arg(work.join("keys"))
        .arg("--password-file")
        .arg(&password)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sms = server.wait_sms(phone, after);
    writeln!(child.stdin.take().unwrap(), "{}", code_in(sms["text"].as_str().unwrap())).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "imzo enroll failed:\n{stdout}\n{}", text(&out.stderr));
    let number = field(&stdout, "Application number:");
    let pfx = PathBuf::from(field(&stdout, "Key file:"));

    let account = serde_json::json!({ "application": number });
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let create =
        server.payme("CreateTransaction", serde_json::json!({ "id": txn, "time": now, "amount": FEE_TIYIN, "account": account }));
    assert_eq!(create["result"]["state"], 1, "{create}");
    let perform = server.payme("PerformTransaction", serde_json::json!({ "id": txn }));
    assert_eq!(perform["result"]["state"], 2, "{perform}");

    ok(imzo()
        .args(["operator", "approve", &number, "--server", &server.base])
        .arg("--pfx")
        .arg(server.data.join(format!("operators/operator{centre}.pfx")))
        .arg("--password-file")
        .arg(server.data.join(format!("operators/operator{centre}.password"))));
    ok(imzo().args(["enroll", "confirm", &number, "--server", &server.base]).arg("--pfx").arg(&pfx).arg("--password-file").arg(&password));
    let pem = work.join("me.pem");
    let (exported, out) = openssl(&[
        "pkcs12", "-in", pfx.to_str().unwrap(), "-passin", &format!("file:{}", password.display()), "-clcerts", "-nokeys",
        "-out", pem.to_str().unwrap(),
    ]);
    assert!(exported, "{out}");
    (pfx, password, pem)
}

fn field(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{stdout}"))
}

fn show(out: &Output) -> String {
    format!("exit {:?}\nstdout: {}\nstderr: {}", out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_revoked_centre_ca_takes_its_holders_down() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let data = work.join("data");
    let server = Server::start(&data, None, &[BCV_ENV, ("IMZO_STATUS_CRL_DELAY_SECONDS", "1")]);
    let (root, rc7, rc3) = (data.join("pki/root.pem"), data.join("pki/rc7.pem"), data.join("pki/rc3.pem"));

    let (pfx7, password7, me7) = holder(&server, &work.join("seven"), 7, "32808810170066", "998901234567", "5e730e8e0b852a417aa4c007");
    let (pfx3, password3, me3) = holder(&server, &work.join("three"), 3, "32808810170073", "998917654321", "5e730e8e0b852a417aa4c003");
    let doc = work.join("doc.txt");
    std::fs::write(&doc, "shartnoma matni\n").unwrap();
    let tsa = format!("{}/tsa", server.base);
    let sign = |pfx: &Path, password: &Path, out: &str, extra: &[&str]| {
        ok(imzo()
            .arg("sign")
            .arg("--pfx")
            .arg(pfx)
            .arg("--password-file")
            .arg(password)
            .args(extra)
            .arg(&doc)
            .arg("-o")
            .arg(work.join(out)));
    };
    sign(&pfx7, &password7, "c7.p7s", &[]);
    sign(&pfx7, &password7, "c7-t.p7s", &["--tsa", &tsa]);
    sign(&pfx3, &password3, "c3.p7s", &[]);
    let verify = |sig: &str, extra: &[&str]| {
        run(imzo().env_remove("IMZO_TRUST").arg("verify").arg(work.join(sig)).arg("--trust").arg(&root).args(extra))
    };
    let x509 = |leaf: &Path, ca: &Path, extra: &[&str]| {
        run(imzo()
            .args(["x509", "verify", p(leaf), "--untrusted", p(ca), "--trust", p(&root)])
            .args(extra))
    };

    // Before: the centre CA's status is asked of the root's OCSP too, and is good.
    let out = verify("c7.p7s", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ca = &v["signers"][0]["chain_revocation"][0];
    assert_eq!((ca["status"].as_str(), ca["source"].as_str()), (Some("good"), Some("ocsp")), "{v}");
    assert!(ca["subject"].as_str().unwrap().contains("Registration Centre 7"), "{v}");
    let out = x509(&me7, &rc7, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    std::thread::sleep(Duration::from_millis(1100));

    // The authorised body revokes centre 7's CA.
    let out = ok(imzo()
        .args(["ca", "centre", "revoke", "rc7", "--reason", "cessationOfOperation", "--data", p(&data)])
        .arg("--database")
        .arg(format!("sqlite://{}/imzo.db", data.display()))
        .env("RUST_LOG", "error"));
    assert!(out.contains("Centre rc7 revoked (cessationOfOperation)."), "{out}");

    // The relying-party API agrees: the signature of rc7's holder is revoked from the
    // centre's revocation on; rc3's holder is still good.
    let relying = |sig: &str| -> serde_json::Value {
        use base64::Engine as _;
        let body = base64::engine::general_purpose::STANDARD.encode(std::fs::read(work.join(sig)).unwrap());
        http().post(format!("{}/backend/pkcs7/verify/attached", server.base)).body(body).send().unwrap().json().unwrap()
    };
    let answer = relying("c7.p7s");
    assert_ne!(answer["status"], 1, "{answer}");
    assert_eq!(answer["pkcs7Info"]["signers"][0]["revokedStatusInfo"]["status"], "revoked", "{answer}");
    let answer = relying("c3.p7s");
    assert_eq!(answer["status"], 1, "{answer}");

    // imzo verify: not valid, naming the centre CA, when and why.
    let out = verify("c7.p7s", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("the CA certificate")
            && stdout.contains("Imzo Registration Centre 7")
            && stdout.contains("was revoked on")
            && stdout.contains("(Asia/Tashkent)")
            && stdout.contains("reason cessationOfOperation")
            && stdout.contains("(ca_revoked)"),
        "{}",
        show(&out)
    );
    assert!(stdout.contains("Signature is NOT valid") && !stdout.contains("VALID"), "{}", show(&out));
    let out = verify("c7.p7s", &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false, "{v}");
    let error = v["errors"].as_array().unwrap().iter().find(|e| e["code"] == "ca_revoked").expect("a ca_revoked error");
    assert!(error["message"].as_str().unwrap().contains("Imzo Registration Centre 7"), "{v}");
    let ca = &v["signers"][0]["chain_revocation"][0];
    assert_eq!((ca["status"].as_str(), ca["reason"].as_str()), (Some("revoked"), Some("cessationOfOperation")), "{v}");
    assert!(ca["revoked_at"].is_string(), "{v}");
    assert_eq!(v["signers"][0]["revocation"]["status"], "good", "the holder's own certificate is not revoked: {v}");

    // By the CRLs given: the root's (once it lists the centre CA) and the centre's.
    let fetch = |name: &str| {
        let response = http().get(format!("{}/crl/{name}", server.base)).send().unwrap();
        assert_eq!(response.status(), 200, "{name}");
        let file = work.join(name);
        std::fs::write(&file, response.bytes().unwrap()).unwrap();
        file
    };
    let rc7_serial = {
        let (good, out) = openssl(&["x509", "-in", p(&rc7), "-noout", "-serial"]);
        assert!(good, "{out}");
        out.trim().trim_start_matches("serial=").to_ascii_lowercase()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let root_crl = loop {
        let file = fetch("root.crl");
        let (good, listed) = openssl(&["crl", "-inform", "DER", "-in", p(&file), "-noout", "-text"]);
        assert!(good, "{listed}");
        if listed.to_ascii_lowercase().contains(&rc7_serial) {
            break file;
        }
        assert!(Instant::now() < deadline, "the root CRL does not list rc7:\n{listed}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let (rc7_crl, rc3_crl) = (fetch("rc7.crl"), fetch("rc3.crl"));
    let out = verify("c7.p7s", &["--crl", p(&root_crl), "--crl", p(&rc7_crl), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ca = &v["signers"][0]["chain_revocation"][0];
    assert_eq!((ca["status"].as_str(), ca["source"].as_str()), (Some("revoked"), Some("crl")), "{v}");
    assert_eq!(v["signers"][0]["revocation"]["source"], "crl", "{v}");
    // The centre's CRL alone says nothing of the centre CA: the root is asked online.
    let out = verify("c7.p7s", &["--crl", p(&rc7_crl)]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(text(&out.stdout).contains("Imzo Registration Centre 7"), "{}", show(&out));

    // imzo x509 verify: the same, online and by the CRLs.
    for extra in [&[][..], &["--crl", p(&root_crl), "--crl", p(&rc7_crl)][..]] {
        let out = x509(&me7, &rc7, extra);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("is NOT valid")
                && stdout.contains("Imzo Registration Centre 7")
                && stdout.contains("was revoked on")
                && stdout.contains("cessationOfOperation")
                && stdout.contains("(ca_revoked)"),
            "{}",
            show(&out)
        );
    }
    let out = x509(&me7, &rc7, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"][0]["code"], "ca_revoked", "{v}");
    assert_eq!(v["chain_revocation"][0]["status"], "revoked", "{v}");

    // Waiving the check still works (the user's choice, said in the report).
    let out = verify("c7.p7s", &["--no-revocation-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(x509(&me7, &rc7, &["--no-revocation-check"]).status.code(), Some(0));

    // Time-stamped before the revocation (not for a compromise): judged then, still valid,
    // the later revocation reported.
    let out = verify("c7-t.p7s", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["signers"][0]["judged_by"], "timestamp", "{v}");
    let ca = &v["signers"][0]["chain_revocation"][0];
    assert_eq!(ca["status"], "good", "{v}");
    assert!(ca["revoked_at"].is_string(), "the later revocation is still reported: {v}");

    // A holder of centre 3 is untouched.
    let out = verify("c3.p7s", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(text(&out.stdout).contains("Signature is VALID"), "{}", show(&out));
    let out = x509(&me3, &rc3, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(verify("c3.p7s", &["--crl", p(&root_crl), "--crl", p(&rc3_crl)]).status.code(), Some(0));

    // No soft-fail: the leaf judged by its centre's CRL, but nobody answers for the
    // centre CA (the server is gone, the root's CRL not given): cannot judge.
    server.stop();
    let out = verify("c3.p7s", &["--crl", p(&rc3_crl)]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Imzo Registration Centre 3") && stdout.contains("cannot judge"), "{}", show(&out));
    let out = x509(&me3, &rc3, &["--crl", p(&rc3_crl)]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stdout).contains("cannot judge"), "{}", show(&out));
    // Given both CRLs, no network is needed.
    assert_eq!(verify("c3.p7s", &["--crl", p(&root_crl), "--crl", p(&rc3_crl)]).status.code(), Some(0));
}
