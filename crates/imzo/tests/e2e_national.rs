//! The whole flow in the national algorithm against the real binary: `imzo up` with
//! `IMZO_CA_ALGORITHM=ozdst1092-a` makes a fully O'z DSt 1092 hierarchy (root, centre CA,
//! operator), `imzo enroll --algorithm ozdst1092-a` makes a national key and request,
//! payment, a national-signed operator decision, proof of possession and issuance, then
//! `imzo sign` / `imzo verify` (and `imzo x509 verify`) — valid, and invalid with one
//! byte changed. SQLite only (the database layer does not see the algorithm).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// 270 000 sum in force: 7 % for an individual is 18 900 sum.
const BCV_ENV: (&str, &str) = ("IMZO_FEES_BCV", "2020-01-01=270000");
const FEE_TIYIN: i64 = 1_890_000;
const NATIONAL_ENV: (&str, &str) = ("IMZO_CA_ALGORITHM", "ozdst1092-a");
/// OZDST-1106-2009-2-AwithOZDST-1092-2009-2.
const NATIONAL_SIGNATURE_OID: &str = "1.2.860.3.15.1.1.2.2.2.2";
/// O'z DSt 1092:2009-II key.
const NATIONAL_KEY_OID: &str = "1.2.860.3.15.1.1.2.1";
const PINFL: &str = "32808810170066";
const PHONE: &str = "998901234567";

fn field(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{stdout}"))
}

fn certificate(path: &Path) -> imzo_pki::Certificate {
    imzo_pki::pem::read_certificates(&std::fs::read(path).unwrap())
        .unwrap()
        .remove(0)
}

/// Signature algorithm and key algorithm OIDs of a certificate.
fn algorithms(cert: &imzo_pki::Certificate) -> (String, String) {
    (
        cert.signature_algorithm().oid.to_string(),
        cert.tbs_certificate()
            .subject_public_key_info()
            .algorithm
            .oid
            .to_string(),
    )
}

fn national(cert: &imzo_pki::Certificate) -> bool {
    algorithms(cert) == (NATIONAL_SIGNATURE_OID.into(), NATIONAL_KEY_OID.into())
}

/// `imzo enroll --algorithm ozdst1092-a`, answering the SMS code from the outbox.
fn enroll(server: &Server, work: &Path, password_file: &Path) -> (String, PathBuf) {
    let passport = work.join("passport.pdf");
    let selfie = work.join("selfie.png");
    write_pdf(&passport);
    write_png(&selfie);
    let keys = work.join("keys");
    let after = server.outbox_last_id();
    let mut child = imzo()
        .args(["enroll", "--server", &server.base, "--type", "individual", "--pinfl", PINFL])
        .args(["--algorithm", "ozdst1092-a"])
        .args(["--surname", "Aliyev", "--given-name", "Vali", "--patronymic", "G'aniyevich"])
        .args(["--birth-date", "1981-08-28", "--region", "Toshkent shahri"])
        .args(["--passport", "AA1234567", "--phone", "+998 90 123 45 67"])
        .arg("--passport-scan")
        .arg(&passport)
        .arg("--selfie")
        .arg(&selfie)
        .arg("--keys")
        .arg(&keys)
        .arg("--password-file")
        .arg(password_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sms = server.wait_sms(PHONE, after);
    let code = code_in(sms["text"].as_str().unwrap());
    writeln!(child.stdin.take().unwrap(), "{code}").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "imzo enroll failed:\n{stdout}\n{}", text(&out.stderr));
    (field(&stdout, "Application number:"), PathBuf::from(field(&stdout, "Key file:")))
}

/// Pays through `POST /pay/payme` as Payme would: Check, Create, Perform.
fn pay(server: &Server, number: &str) {
    let account = serde_json::json!({ "application": number });
    let check = server.payme("CheckPerformTransaction", serde_json::json!({ "amount": FEE_TIYIN, "account": account }));
    assert_eq!(check["result"]["allow"], true, "{check}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let txn = "6a730e8e0b852a417aa49ceb";
    let create = server.payme(
        "CreateTransaction",
        serde_json::json!({ "id": txn, "time": now, "amount": FEE_TIYIN, "account": account }),
    );
    assert_eq!(create["result"]["state"], 1, "{create}");
    let perform = server.payme("PerformTransaction", serde_json::json!({ "id": txn }));
    assert_eq!(perform["result"]["state"], 2, "{perform}");
}

fn flip_byte_of(path: &Path, needle: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.windows(needle.len()).position(|w| w == needle).expect("content found in the file");
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// Opens the .pfx with the module's reader: true when its key is national (set .1)
/// and belongs to its first certificate (the reader checks that).
fn pfx_key_is_national(pfx: &Path, password_file: &Path) -> bool {
    let password = std::fs::read_to_string(password_file).unwrap();
    let opened = imzo_keys::pfxfile::open(pfx, password.trim_end()).unwrap();
    opened.key.key_algorithm() == Some(imzo_keys::KeyAlgorithm::OzDst1092A)
}

#[test]
fn e2e_national_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let data = work.join("data");
    let server = Server::start(&data, None, &[BCV_ENV, NATIONAL_ENV]);
    let root = data.join("pki/root.pem");
    let rc1 = data.join("pki/rc1.pem");

    // The deployment is national from the root down, the operator included.
    let root_cert = certificate(&root);
    let centre_cert = certificate(&rc1);
    assert!(national(&root_cert), "root: {:?}", algorithms(&root_cert));
    assert!(national(&centre_cert), "centre: {:?}", algorithms(&centre_cert));
    let operator_password = data.join("operators/operator1.password");
    let operator_pfx = data.join("operators/operator1.pfx");
    assert!(pfx_key_is_national(&operator_pfx, &operator_password));

    let password_file = work.join("holder.password");
    std::fs::write(&password_file, "to'g'ri ot batareya shtapel\n").unwrap();
    let (number, pfx) = enroll(&server, work, &password_file);
    assert!(pfx_key_is_national(&pfx, &password_file));
    pay(&server, &number);
    let out = run(imzo()
        .args(["operator", "approve", &number, "--server", &server.base])
        .arg("--pfx")
        .arg(&operator_pfx)
        .arg("--password-file")
        .arg(&operator_password));
    assert!(out.status.success(), "approve failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    let confirmed = ok(imzo()
        .args(["enroll", "confirm", &number, "--server", &server.base])
        .arg("--pfx")
        .arg(&pfx)
        .arg("--password-file")
        .arg(&password_file));
    assert!(confirmed.contains("Serial:") && confirmed.contains(PINFL), "{confirmed}");

    // The installed .pfx holds a national certificate issued by the national centre.
    let holder_pem = work.join("holder.pem");
    let (exported, t) = openssl(&[
        "pkcs12", "-in", pfx.to_str().unwrap(), "-passin", &format!("file:{}", password_file.display()),
        "-clcerts", "-nokeys", "-out", holder_pem.to_str().unwrap(),
    ]);
    assert!(exported, "{t}");
    let holder_cert = certificate(&holder_pem);
    assert!(national(&holder_cert), "holder: {:?}", algorithms(&holder_cert));
    ok(imzo()
        .args(["x509", "verify"])
        .arg(&holder_pem)
        .arg("--untrusted")
        .arg(&rc1)
        .arg("--trust")
        .arg(&root));

    // Sign attached and detached; `imzo verify` accepts both.
    let doc = work.join("contract.txt");
    std::fs::write(&doc, "Shartnoma: 1 000 000 so'm, muddati 2026-12-31.\n").unwrap();
    let attached = work.join("contract.p7s");
    let detached = work.join("contract.det.p7s");
    for (out, extra) in [(&attached, None), (&detached, Some("--detached"))] {
        let mut cmd = imzo();
        cmd.arg("sign").arg("--pfx").arg(&pfx).arg("--password-file").arg(&password_file);
        if let Some(flag) = extra {
            cmd.arg(flag);
        }
        ok(cmd.arg(&doc).arg("-o").arg(out));
    }
    let report = ok(imzo().arg("verify").arg(&attached).arg("--trust").arg(&root).arg("--json"));
    assert!(report.contains(PINFL) || report.to_uppercase().contains("ALIYEV"), "{report}");
    ok(imzo().arg("verify").arg(&detached).arg("--content").arg(&doc).arg("--trust").arg(&root));
    // The signer info speaks the national algorithm with the 1106 hash.
    let (printed, dump) = openssl(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", attached.to_str().unwrap()]);
    assert!(printed, "{dump}");
    assert!(dump.contains("(1.2.860.3.15.1.3.2.1.1)") || dump.contains(": 1.2.860.3.15.1.3.2.1.1"), "{dump}");
    assert!(dump.contains(NATIONAL_SIGNATURE_OID) || dump.contains(NATIONAL_KEY_OID), "{dump}");

    // One changed byte: `imzo verify` says no (exit status 1).
    flip_byte_of(&attached, b"Shartnoma");
    let out = run(imzo().arg("verify").arg(&attached).arg("--trust").arg(&root));
    assert_eq!(out.status.code(), Some(1), "{}\n{}", text(&out.stdout), text(&out.stderr));
    flip_byte_of(&doc, b"Shartnoma");
    let out = run(imzo().arg("verify").arg(&detached).arg("--content").arg(&doc).arg("--trust").arg(&root));
    assert_eq!(out.status.code(), Some(1), "{}\n{}", text(&out.stdout), text(&out.stderr));
    server.stop();

    // The data folder is national: starting it as a P-256 deployment is refused by name.
    let out = run(imzo()
        .args(["up", "--data"])
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .env("IMZO_CA_ALGORITHM", "ecdsa-p256")
        .env("RUST_LOG", "error"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ca.algorithm"), "{}", text(&out.stderr));
}
