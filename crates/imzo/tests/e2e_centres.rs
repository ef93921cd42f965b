//! Cross-centre isolation over HTTP against the real binary, on SQLite and PostgreSQL: an
//! operator of centre 2 can neither see (queue, application, documents) nor decide an
//! application of centre 1 or 3; an applicant who chose centre 3 gets a certificate that
//! rc3 issued (OpenSSL verifies the chain) and rc3's OCSP answers `good` for it, which
//! OpenSSL checks against rc3.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::postgres;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

const BCV_ENV: (&str, &str) = ("IMZO_FEES_BCV", "2020-01-01=270000");
const FEE_TIYIN: i64 = 1_890_000;
const PASSWORD: &str = "correct horse battery staple\n";

/// Applies to `centre` with `imzo enroll --centre`, answering the SMS code from the
/// outbox; returns the application number and the .pfx.
fn enroll(server: &Server, work: &Path, centre: &str, pinfl: &str, phone_input: &str, phone: &str) -> (String, PathBuf) {
    std::fs::create_dir_all(work).unwrap();
    let passport = work.join("passport.pdf");
    let selfie = work.join("selfie.png");
    write_pdf(&passport);
    write_png(&selfie);
    std::fs::write(work.join("holder.password"), PASSWORD).unwrap();
    let after = server.outbox_last_id();
    let mut child = imzo()
        .args(["enroll", "--server", &server.base, "--centre", centre, "--type", "individual", "--pinfl", pinfl])
        .args(["--surname", "Aliyev", "--given-name", "Vali", "--patronymic", "G'aniyevich"])
        .args(["--birth-date", "1981-08-28", "--region", "Samarqand viloyati", "--passport", "AA1234567"])
        .args(["--phone", phone_input, "--passport-scan"])
        .arg(&passport)
        .arg("--selfie")
        .arg(&selfie)
        .arg("--keys")
        .arg(work.join("keys"))
        .arg("--password-file")
        .arg(work.join("holder.password"))
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
    (field(&stdout, "Application number:"), PathBuf::from(field(&stdout, "Key file:")))
}

fn field(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{stdout}"))
}

fn pay(server: &Server, number: &str, txn: &str) {
    let account = serde_json::json!({ "application": number });
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let create = server.payme(
        "CreateTransaction",
        serde_json::json!({ "id": txn, "time": now, "amount": FEE_TIYIN, "account": account }),
    );
    assert_eq!(create["result"]["state"], 1, "{create}");
    let perform = server.payme("PerformTransaction", serde_json::json!({ "id": txn }));
    assert_eq!(perform["result"]["state"], 2, "{perform}");
}

/// `imzo operator ARGS` as operator `n` of the deployment.
fn operator(server: &Server, n: u32, args: &[&str]) -> std::process::Output {
    run(imzo()
        .arg("operator")
        .args(args)
        .arg("--pfx")
        .arg(server.data.join(format!("operators/operator{n}.pfx")))
        .arg("--password-file")
        .arg(server.data.join(format!("operators/operator{n}.password")))
        .args(["--server", &server.base]))
}

fn refused(out: &std::process::Output, what: &str) {
    assert_eq!(out.status.code(), Some(1), "{what}: {}\n{}", text(&out.stdout), text(&out.stderr));
}

fn walk(database: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let data = work.join("data");
    let server = Server::start(&data, database, &[BCV_ENV]);
    let root = data.join("pki/root.pem");
    let rc3 = data.join("pki/rc3.pem");

    let (one, _) = enroll(&server, &work.join("one"), "1", "32808810170066", "+998 90 123-45-67", "998901234567");
    let (three, pfx) = enroll(&server, &work.join("three"), "3", "32808810170073", "+998 91 765 43 21", "998917654321");
    pay(&server, &one, "5e730e8e0b852a417aa4c001");
    pay(&server, &three, "5e730e8e0b852a417aa4c003");

    // Operator 2 sees neither in the queue, nor either application or its documents.
    let queue = operator(&server, 2, &["queue"]);
    assert!(queue.status.success(), "{}", text(&queue.stderr));
    let listed = text(&queue.stdout);
    assert!(!listed.contains(&one) && !listed.contains(&three), "{listed}");
    let docs = work.join("docs2");
    for number in [&one, &three] {
        refused(&operator(&server, 2, &["show", number]), "operator 2 shows another centre's application");
        refused(
            &operator(&server, 2, &["show", number, "--documents", docs.to_str().unwrap()]),
            "operator 2 saves another centre's documents",
        );
        refused(&operator(&server, 2, &["approve", number]), "operator 2 approves another centre's application");
    }
    assert!(!docs.exists() || std::fs::read_dir(&docs).unwrap().next().is_none(), "no document was saved");

    // Operators 1 and 3 each see their own.
    let queue1 = text(&operator(&server, 1, &["queue"]).stdout);
    assert!(queue1.contains(&one) && !queue1.contains(&three), "{queue1}");
    let queue3 = text(&operator(&server, 3, &["queue"]).stdout);
    assert!(queue3.contains(&three) && !queue3.contains(&one), "{queue3}");
    refused(&operator(&server, 3, &["approve", &one]), "operator 3 approves centre 1's application");
    let out = operator(&server, 3, &["approve", &three]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));

    // The certificate is rc3's: the chain verifies, the issuer is rc3.
    let password_file = work.join("three/holder.password");
    let confirmed = ok(imzo()
        .args(["enroll", "confirm", &three, "--server", &server.base])
        .arg("--pfx")
        .arg(&pfx)
        .arg("--password-file")
        .arg(&password_file));
    assert!(confirmed.contains("Serial:"), "{confirmed}");
    let holder = work.join("holder3.pem");
    let pass_arg = format!("file:{}", password_file.display());
    let (exported, out) = openssl(&[
        "pkcs12", "-in", pfx.to_str().unwrap(), "-passin", &pass_arg, "-clcerts", "-nokeys", "-out", holder.to_str().unwrap(),
    ]);
    assert!(exported, "{out}");
    let (good, out) =
        openssl(&["verify", "-CAfile", root.to_str().unwrap(), "-untrusted", rc3.to_str().unwrap(), holder.to_str().unwrap()]);
    assert!(good, "{out}");
    let rc1 = data.join("pki/rc1.pem");
    let (good, _) =
        openssl(&["verify", "-CAfile", root.to_str().unwrap(), "-untrusted", rc1.to_str().unwrap(), holder.to_str().unwrap()]);
    assert!(!good, "rc1 must not be the issuer");
    let (_, issuer) = openssl(&["x509", "-in", holder.to_str().unwrap(), "-noout", "-issuer"]);
    assert!(issuer.contains("Registration Centre 3"), "{issuer}");

    // rc3's OCSP answers for it; OpenSSL checks the answer's signature against rc3.
    let (good, out) = openssl(&[
        "ocsp", "-issuer", rc3.to_str().unwrap(), "-cert", holder.to_str().unwrap(), "-url", &format!("{}/ocsp", server.base),
        "-CAfile", root.to_str().unwrap(), "-no_nonce",
    ]);
    assert!(good, "{out}");
    assert!(out.contains(&format!("{}: good", holder.display())), "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    // A relying party (the E-IMZO server API) checks a signature of centre 3's holder as
    // it checks centre 1's: the status comes from rc3's responder.
    let doc = work.join("doc3.txt");
    std::fs::write(&doc, b"Ariza: ishga qabul qilish").unwrap();
    let signed = work.join("doc3.p7s");
    ok(imzo()
        .args(["sign", "--pfx"])
        .arg(&pfx)
        .arg("--password-file")
        .arg(&password_file)
        .arg(&doc)
        .arg("-o")
        .arg(&signed));
    let relying = |what: &str| -> serde_json::Value {
        use base64::Engine as _;
        let body = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&signed).unwrap());
        let answer = http().post(format!("{}/backend/pkcs7/verify/attached", server.base)).body(body).send().unwrap();
        let json: serde_json::Value = answer.json().unwrap();
        println!("{what}: {json}");
        json
    };
    let answer = relying("before");
    assert_eq!(answer["status"], 1, "{answer}");
    let signer = &answer["pkcs7Info"]["signers"][0];
    assert_eq!(signer["certificate"][0]["subjectName"]["1.2.860.3.16.1.2"], "32808810170073", "{answer}");
    assert_eq!(signer["revokedStatusInfo"]["status"], "good", "{answer}");
    // Asked as if centre 1 had issued it, the responder does not vouch for it.
    let (_, out) = openssl(&[
        "ocsp", "-issuer", rc1.to_str().unwrap(), "-cert", holder.to_str().unwrap(), "-url", &format!("{}/ocsp", server.base),
        "-CAfile", root.to_str().unwrap(), "-no_nonce",
    ]);
    assert!(!out.contains(": good"), "{out}");

    // Status changes stay in the centre too: operator 2 cannot hold rc3's certificate,
    // operator 3 can (and release it); the holder revokes it with its own key.
    let (_, serial) = openssl(&["x509", "-in", holder.to_str().unwrap(), "-noout", "-serial"]);
    let serial = serial.trim().trim_start_matches("serial=").to_string();
    refused(&operator(&server, 2, &["hold", &serial]), "operator 2 holds centre 3's certificate");
    // Nor does an operator change an authorised person's (root-issued) certificate.
    let op2 = work.join("op2.pem");
    let op2_password = format!("file:{}", server.data.join("operators/operator2.password").display());
    let (exported, out) = openssl(&[
        "pkcs12", "-in", server.data.join("operators/operator2.pfx").to_str().unwrap(), "-passin", &op2_password, "-clcerts",
        "-nokeys", "-out", op2.to_str().unwrap(),
    ]);
    assert!(exported, "{out}");
    let (_, op2_serial) = openssl(&["x509", "-in", op2.to_str().unwrap(), "-noout", "-serial"]);
    refused(&operator(&server, 3, &["hold", op2_serial.trim().trim_start_matches("serial=")]), "operator 3 holds operator 2");
    let ask_rc3 = || {
        openssl(&[
            "ocsp", "-issuer", rc3.to_str().unwrap(), "-cert", holder.to_str().unwrap(), "-url", &format!("{}/ocsp", server.base),
            "-CAfile", root.to_str().unwrap(), "-no_nonce",
        ])
    };
    assert!(ask_rc3().1.contains(": good"), "{}", ask_rc3().1);
    let out = operator(&server, 3, &["hold", &serial]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(ask_rc3().1.contains(": revoked"), "{}", ask_rc3().1);
    let out = operator(&server, 3, &["release", &serial]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let out = run(imzo()
        .args(["revoke", "--reason", "keyCompromise", "--server", &server.base])
        .arg("--pfx")
        .arg(&pfx)
        .arg("--password-file")
        .arg(&password_file));
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let (good, out) = ask_rc3();
    assert!(good && out.contains(": revoked") && out.contains("keyCompromise"), "{out}");
    let answer = relying("after the holder revoked it");
    assert_ne!(answer["status"], 1, "{answer}");
    assert_eq!(answer["pkcs7Info"]["signers"][0]["revokedStatusInfo"]["status"], "revoked", "{answer}");
    server.stop();
}

#[test]
fn centres_isolated_sqlite() {
    walk(None);
}

#[test]
fn centres_isolated_postgres() {
    let admin = std::env::var("IMZO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let Some(db) = postgres::FreshDatabase::create(&admin) else {
        if std::env::var_os("CI").is_some() {
            panic!("PostgreSQL at {admin} is unreachable (run scripts/ensure-postgres.sh)");
        }
        eprintln!("SKIPPED centres_isolated_postgres: PostgreSQL at {admin} is unreachable");
        return;
    };
    walk(Some(&db.url));
}

