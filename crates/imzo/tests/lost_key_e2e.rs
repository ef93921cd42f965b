//! `imzo revoke --lost` against the real `imzo up`: a holder whose certificate was issued
//! revokes it without the key, through the application number, a captcha and the SMS
//! code; OCSP says revoked at once. An unknown number gets the same notice and no SMS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, code_in, imzo, ok, openssl, run, text, write_pdf, write_png};
use hmac::{KeyInit, Mac};
use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;

const PHONE: &str = "998901234567";

/// Plants a captcha whose answer the test knows, as the server would store it.
fn plant_captcha(data: &Path, answer: &str) -> String {
    let pepper = std::fs::read_to_string(data.join("secrets/otp-secret")).unwrap();
    let pepper = pepper.trim_end_matches(['\r', '\n']);
    let mut id_bytes = [0u8; 16];
    getrandom::fill(&mut id_bytes).unwrap();
    let id = hex::encode(id_bytes);
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(pepper.as_bytes()).unwrap();
    mac.update(format!("captcha:{id}").as_bytes());
    mac.update(&[0]);
    mac.update(answer.as_bytes());
    let hash = hex::encode(mac.finalize().into_bytes());
    let url = format!("sqlite://{}/imzo.db", data.display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = imzo_store::Store::connect(&url).await.unwrap();
        let expires = imzo_store::time_ms::now_ms() + 300_000;
        imzo_store::challenges::insert_captcha(store.pool(), &id, &hash, expires).await.unwrap();
    });
    id
}

fn field(stdout: &str, label: &str) -> String {
    stdout.lines().find_map(|l| l.strip_prefix(label)).map(|v| v.trim().to_string()).unwrap_or_else(|| panic!("no {label:?} in:\n{stdout}"))
}

/// Enrols, pays, has the operator approve and confirms; returns the number and .pfx.
fn issued(server: &Server, work: &Path) -> (String, std::path::PathBuf) {
    let (passport, selfie, password_file) = (work.join("passport.pdf"), work.join("selfie.png"), work.join("holder.password"));
    write_pdf(&passport);
    write_png(&selfie);
    std::fs::write(&password_file, "correct horse battery staple\n").unwrap();
    let after = server.outbox_last_id();
    let mut child = imzo()
        .args(["enroll", "--server", &server.base, "--type", "individual", "--pinfl", "32808810170066"])
        .args(["--surname", "Aliyev", "--given-name", "Vali", "--birth-date", "1981-08-28", "--region", "Toshkent shahri"])
        .args(["--passport", "AA1234567", "--phone", "+998 90 123-45-67"])
        .arg("--passport-scan")
        .arg(&passport)
        .arg("--selfie")
        .arg(&selfie)
        .arg("--keys")
        .arg(work.join("keys"))
        .arg("--password-file")
        .arg(&password_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sms = server.wait_sms(PHONE, after);
    writeln!(child.stdin.take().unwrap(), "{}", code_in(sms["text"].as_str().unwrap())).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "imzo enroll failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    let (number, pfx) = (field(&stdout, "Application number:"), std::path::PathBuf::from(field(&stdout, "Key file:")));

    let fee = 1_890_000;
    let account = serde_json::json!({ "application": number });
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let txn = "5e730e8e0b852a417aa49ceb";
    let create = server.payme("CreateTransaction", serde_json::json!({ "id": txn, "time": now, "amount": fee, "account": account }));
    assert_eq!(create["result"]["state"], 1, "{create}");
    let perform = server.payme("PerformTransaction", serde_json::json!({ "id": txn }));
    assert_eq!(perform["result"]["state"], 2, "{perform}");
    let data = &server.data;
    ok(imzo()
        .args(["operator", "approve", &number, "--server", &server.base])
        .arg("--pfx")
        .arg(data.join("operators/operator1.pfx"))
        .arg("--password-file")
        .arg(data.join("operators/operator1.password")));
    let confirmed = ok(imzo()
        .args(["enroll", "confirm", &number, "--server", &server.base])
        .arg("--pfx")
        .arg(&pfx)
        .arg("--password-file")
        .arg(&password_file));
    assert!(confirmed.contains("Serial:"), "{confirmed}");
    (number, pfx)
}

#[test]
fn holder_without_the_key_revokes_by_number_and_sms_code() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, None, &[("IMZO_FEES_BCV", "2020-01-01=270000")]);
    let (number, pfx) = issued(&server, work.path());
    let w = |name: &str| work.path().join(name).to_str().unwrap().to_string();
    let pass = format!("file:{}", w("holder.password"));
    let (ok_export, out) =
        openssl(&["pkcs12", "-in", pfx.to_str().unwrap(), "-passin", &pass, "-clcerts", "-nokeys", "-out", &w("holder.pem")]);
    assert!(ok_export, "{out}");
    let (ca, root) = (data.join("pki/rc1.pem"), data.join("pki/root.pem"));
    let ocsp = || {
        openssl(&[
            "ocsp", "-issuer", ca.to_str().unwrap(), "-cert", &w("holder.pem"), "-url", &format!("{}/ocsp", server.base),
            "-CAfile", root.to_str().unwrap(),
        ])
    };
    let (good, out) = ocsp();
    assert!(good && out.contains("holder.pem: good"), "{out}");

    // An unknown number: the same notice, no SMS, and the code (whatever it is) is wrong.
    let before = server.outbox_last_id();
    let captcha = plant_captcha(&data, "48213");
    let out = run(imzo().args([
        "revoke", "--lost", "7f00112233", "--captcha-id", &captcha, "--captcha-answer", "48213", "--code", "123456",
        "--server", &server.base,
    ]));
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("a code was sent") && text(&out.stderr).contains("wrong_code"), "{}", text(&out.stderr));
    assert_eq!(server.outbox_last_id(), before, "no SMS for an unknown number");

    // The holder's number: the code arrives by SMS and is typed in.
    let captcha = plant_captcha(&data, "48213");
    let mut child = imzo()
        .args(["revoke", "--lost", &number, "--captcha-id", &captcha, "--captcha-answer", "48213", "--reason", "keyCompromise"])
        .args(["--server", &server.base])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sms = server.wait_sms(PHONE, before);
    let sms_text = sms["text"].as_str().unwrap();
    assert!(sms_text.contains("bekor qilish"), "{sms_text}");
    writeln!(child.stdin.take().unwrap(), "{}", code_in(sms_text)).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("revoked") && text(&out.stdout).contains("keyCompromise"), "{}", text(&out.stdout));

    // OCSP says so at once (the change went through this node).
    let (answered, out) = ocsp();
    assert!(answered && out.contains("holder.pem: revoked") && out.contains("keyCompromise"), "{out}");
    server.stop();
}
