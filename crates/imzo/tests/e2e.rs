//! The whole flow against the real binary: `imzo up`, enrolment with real documents,
//! payment through the Payme merchant endpoint, a signed operator decision, proof of
//! possession and issuance, then signatures checked by `imzo verify` and OpenSSL.
//! Run once on SQLite and once on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::postgres;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// 270 000 sum in force: 7 % for an individual is 18 900 sum, 10 % for a legal entity
/// 27 000 sum.
const BCV_ENV: (&str, &str) = ("IMZO_FEES_BCV", "2020-01-01=270000");
const FEE_TIYIN: i64 = 1_890_000;
const LEGAL_FEE_TIYIN: i64 = 2_700_000;

struct Applicant {
    pinfl: &'static str,
    phone_input: &'static str,
    phone: &'static str,
    /// `--type …` and, for a company, its arguments.
    kind: &'static [&'static str],
    /// The fee as `imzo enroll` prints it (thousands, then the rest).
    fee_shown: (&'static str, &'static str),
    /// Whose number names the key file (`DS<id>0001.pfx`): the PINFL, or a company's INN.
    key_file_id: &'static str,
}

const INDIVIDUAL: &[&str] = &["--type", "individual"];
const HOLDER: Applicant = Applicant {
    pinfl: "32808810170066",
    phone_input: "+998 90 123-45-67",
    phone: "998901234567",
    kind: INDIVIDUAL,
    fee_shown: ("18", "900"),
    key_file_id: "",
};
const REJECTED: Applicant = Applicant {
    pinfl: "32808810170073",
    phone_input: "+998 91 765 43 21",
    phone: "998917654321",
    kind: INDIVIDUAL,
    fee_shown: ("18", "900"),
    key_file_id: "",
};
const COMPANY_INN: &str = "301234567";
const COMPANY_NAME: &str = "Toshkent Savdo MChJ";
const TITLE: &str = "Direktor";
const DIRECTOR: Applicant = Applicant {
    pinfl: "32808810170080",
    phone_input: "+998 93 555 12 34",
    phone: "998935551234",
    kind: &["--type", "legal-entity", "--company-inn", COMPANY_INN, "--company-name", COMPANY_NAME, "--title", TITLE],
    fee_shown: ("27", "000"),
    key_file_id: COMPANY_INN,
};

/// Applies with `imzo enroll`, answering the SMS code it asks for from the outbox.
/// Returns the application number and the .pfx path.
fn enroll(server: &Server, work: &Path, who: &Applicant) -> (String, PathBuf) {
    let passport = work.join("passport.pdf");
    let selfie = work.join("selfie.png");
    write_pdf(&passport);
    write_png(&selfie);
    let password_file = work.join("holder.password");
    std::fs::write(&password_file, "correct horse battery staple\n").unwrap();
    let keys = work.join(format!("keys-{}", who.pinfl));
    let after = server.outbox_last_id();
    let mut child = imzo()
        .args(["enroll", "--server", &server.base])
        .args(who.kind)
        .args(["--pinfl", who.pinfl])
        .args(["--surname", "Aliyev", "--given-name", "Vali", "--patronymic", "G'aniyevich"])
        .args(["--birth-date", "1981-08-28", "--region", "Toshkent shahri", "--district", "Yunusobod tumani"])
        .args(["--passport", "AA1234567", "--phone", who.phone_input])
        .arg("--passport-scan")
        .arg(&passport)
        .arg("--selfie")
        .arg(&selfie)
        .arg("--keys")
        .arg(&keys)
        .arg("--password-file")
        .arg(&password_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sms = server.wait_sms(who.phone, after);
    let code = code_in(sms["text"].as_str().unwrap());
    writeln!(child.stdin.take().unwrap(), "{code}").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "imzo enroll failed:\n{stdout}\n{}", text(&out.stderr));
    let number = field(&stdout, "Application number:");
    assert_eq!(number.len(), 12, "{stdout}");
    let (thousands, rest) = who.fee_shown;
    assert!(stdout.contains(thousands) && stdout.contains(rest), "fee of {thousands} {rest} sum not shown:\n{stdout}");
    assert!(stdout.contains("Tashkent"), "{stdout}");
    // The sandbox page with every provider, as the README documents.
    assert!(stdout.contains(&format!("/sandbox/pay/{number}")), "{stdout}");
    let pfx = PathBuf::from(field(&stdout, "Key file:"));
    assert_eq!(pfx.parent().unwrap(), keys.join("DSKEYS"));
    assert_eq!(pfx.file_name().unwrap().to_str().unwrap(), format!("DS{}0001.pfx", if who.key_file_id.is_empty() { who.pinfl } else { who.key_file_id }));
    (number, pfx)
}

fn field(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{stdout}"))
}

/// Pays `number` through `POST /pay/payme` as Payme would: Check, Create, Perform.
fn pay(server: &Server, number: &str, txn: &str) {
    pay_fee(server, number, txn, FEE_TIYIN);
}

/// [`pay`] with the fee `fee` (exactly: 100 tiyin more is refused).
fn pay_fee(server: &Server, number: &str, txn: &str, fee: i64) {
    let account = serde_json::json!({ "application": number });
    let wrong = server.payme("CheckPerformTransaction", serde_json::json!({ "amount": fee + 100, "account": account }));
    assert_eq!(wrong["error"]["code"], -31001, "{wrong}");
    let check = server.payme("CheckPerformTransaction", serde_json::json!({ "amount": fee, "account": account }));
    assert_eq!(check["result"]["allow"], true, "{check}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let create = server.payme(
        "CreateTransaction",
        serde_json::json!({ "id": txn, "time": now, "amount": fee, "account": account }),
    );
    assert_eq!(create["result"]["state"], 1, "{create}");
    let perform = server.payme("PerformTransaction", serde_json::json!({ "id": txn }));
    assert_eq!(perform["result"]["state"], 2, "{perform}");
}

fn operator(server: &Server, args: &[&str]) -> std::process::Output {
    let data = &server.data;
    run(imzo()
        .arg("operator")
        .args(args)
        .arg("--pfx")
        .arg(data.join("operators/operator1.pfx"))
        .arg("--password-file")
        .arg(data.join("operators/operator1.password"))
        .args(["--server", &server.base]))
}

fn flip_byte_of(path: &Path, needle: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.windows(needle.len()).position(|w| w == needle).expect("content found in the file");
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn walk(database: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let data = work.join("data");
    let server = Server::start(&data, database, &[BCV_ENV]);
    let root = data.join("pki/root.pem");
    let rc1 = data.join("pki/rc1.pem");

    // Apply, pay, approve, confirm.
    let (number, pfx) = enroll(&server, work, &HOLDER);
    let password_file = work.join("holder.password");
    pay(&server, &number, "5e730e8e0b852a417aa49ceb");
    let out = operator(&server, &["approve", &number]);
    assert!(out.status.success(), "approve failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("approved"), "{}", text(&out.stdout));
    let status = ok(imzo()
        .args(["enroll", "status", &number, "--server", &server.base])
        .arg("--pfx")
        .arg(&pfx)
        .arg("--password-file")
        .arg(&password_file));
    assert!(status.contains("approved"), "{status}");
    // The key file as it was before confirming: used below as if the answer had been lost.
    let placeholder = std::fs::read(&pfx).unwrap();
    let confirmed = ok(imzo()
        .args(["enroll", "confirm", &number, "--server", &server.base])
        .arg("--pfx")
        .arg(&pfx)
        .arg("--password-file")
        .arg(&password_file));
    assert!(confirmed.contains("Serial:") && confirmed.contains("32808810170066"), "{confirmed}");
    // The answer to confirm was lost (the key file still holds the placeholder): confirming
    // again with the same key fetches the issued certificate and installs it.
    let serial_line = |out: &str| out.lines().find(|l| l.contains("Serial:")).unwrap_or_default().to_string();
    std::fs::write(&pfx, &placeholder).unwrap();
    let again = ok(imzo()
        .args(["enroll", "confirm", &number, "--server", &server.base])
        .arg("--pfx")
        .arg(&pfx)
        .arg("--password-file")
        .arg(&password_file));
    assert_eq!(serial_line(&again), serial_line(&confirmed), "the same certificate, not a second one:\n{again}");

    // The .pfx is now the permanent key file: OpenSSL opens it, its certificate chains.
    let pass_arg = format!("file:{}", password_file.display());
    let (opened, info) = openssl(&["pkcs12", "-info", "-noout", "-in", pfx.to_str().unwrap(), "-passin", &pass_arg]);
    assert!(opened, "{info}");
    let holder_pem = work.join("holder.pem");
    let (exported, text_out) = openssl(&[
        "pkcs12", "-in", pfx.to_str().unwrap(), "-passin", &pass_arg, "-clcerts", "-nokeys", "-out",
        holder_pem.to_str().unwrap(),
    ]);
    assert!(exported, "{text_out}");
    let (verified, text_out) = openssl(&[
        "verify", "-CAfile", root.to_str().unwrap(), "-untrusted", rc1.to_str().unwrap(), holder_pem.to_str().unwrap(),
    ]);
    assert!(verified, "{text_out}");

    // Sign a document, attached and detached; both verifiers accept.
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
    ok(imzo().arg("verify").arg(&attached).arg("--trust").arg(&root));
    ok(imzo().arg("verify").arg(&detached).arg("--content").arg(&doc).arg("--trust").arg(&root));
    let (good, t) = openssl(&[
        "cms", "-verify", "-inform", "DER", "-in", attached.to_str().unwrap(), "-purpose", "any", "-CAfile",
        root.to_str().unwrap(), "-out", "/dev/null",
    ]);
    assert!(good, "{t}");
    let (good, t) = openssl(&[
        "cms", "-verify", "-binary", "-inform", "DER", "-in", detached.to_str().unwrap(), "-content",
        doc.to_str().unwrap(), "-purpose", "any", "-CAfile", root.to_str().unwrap(), "-out", "/dev/null",
    ]);
    assert!(good, "{t}");

    // Renewal: signed with the current key, no documents and no review; approved by the
    // background job once paid, then confirmed with the new key like any application.
    let renewed = ok(imzo()
        .args(["enroll", "renew", "--server", &server.base])
        .arg("--pfx")
        .arg(&pfx)
        .arg("--password-file")
        .arg(&password_file));
    let renewal = field(&renewed, "Application number:");
    let new_pfx = PathBuf::from(field(&renewed, "Key file:"));
    assert_ne!(new_pfx, pfx, "the renewal must make a new key file");
    pay(&server, &renewal, "5e730e8e0b852a417aa49ced");
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = ok(imzo()
            .args(["enroll", "status", &renewal, "--server", &server.base])
            .arg("--pfx")
            .arg(&new_pfx)
            .arg("--password-file")
            .arg(&password_file));
        if status.contains("approved") {
            break;
        }
        assert!(std::time::Instant::now() < give_up, "renewal not approved after payment: {status}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let confirmed = ok(imzo()
        .args(["enroll", "confirm", &renewal, "--server", &server.base])
        .arg("--pfx")
        .arg(&new_pfx)
        .arg("--password-file")
        .arg(&password_file));
    assert!(confirmed.contains("Serial:") && confirmed.contains("32808810170066"), "{confirmed}");

    // One changed byte: both verifiers reject, `imzo verify` with exit status 1.
    flip_byte_of(&attached, b"Shartnoma");
    let out = run(imzo().arg("verify").arg(&attached).arg("--trust").arg(&root));
    assert_eq!(out.status.code(), Some(1), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let (good, _) = openssl(&[
        "cms", "-verify", "-inform", "DER", "-in", attached.to_str().unwrap(), "-purpose", "any", "-CAfile",
        root.to_str().unwrap(), "-out", "/dev/null",
    ]);
    assert!(!good, "openssl accepted a changed attached signature");
    flip_byte_of(&doc, b"Shartnoma");
    let out = run(imzo().arg("verify").arg(&detached).arg("--content").arg(&doc).arg("--trust").arg(&root));
    assert_eq!(out.status.code(), Some(1), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let (good, _) = openssl(&[
        "cms", "-verify", "-binary", "-inform", "DER", "-in", detached.to_str().unwrap(), "-content",
        doc.to_str().unwrap(), "-purpose", "any", "-CAfile", root.to_str().unwrap(), "-out", "/dev/null",
    ]);
    assert!(!good, "openssl accepted changed content");

    // Rejection: the applicant is told by SMS, and the application cannot be confirmed.
    let rejected_work = work.join("second");
    std::fs::create_dir_all(&rejected_work).unwrap();
    let (second, second_pfx) = enroll(&server, &rejected_work, &REJECTED);
    pay(&server, &second, "5e730e8e0b852a417aa49cec");
    let after = server.outbox_last_id();
    let reason = "Pasport nusxasi o'qib bo'lmaydi";
    let out = operator(&server, &["reject", &second, "--reason", reason]);
    assert!(out.status.success(), "reject failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("rejected"), "{}", text(&out.stdout));
    let sms = server.wait_sms(REJECTED.phone, after);
    assert!(sms["text"].as_str().unwrap().contains(&second), "rejection SMS does not name the application: {sms}");
    let out = run(imzo()
        .args(["enroll", "confirm", &second, "--server", &server.base])
        .arg("--pfx")
        .arg(&second_pfx)
        .arg("--password-file")
        .arg(rejected_work.join("holder.password")));
    assert_eq!(out.status.code(), Some(1), "confirming a rejected application: {}", text(&out.stderr));

    // A key file still holding its enrolment placeholder cannot renew anything.
    let out = run(imzo()
        .args(["enroll", "renew", "--server", &server.base])
        .arg("--pfx")
        .arg(&second_pfx)
        .arg("--password-file")
        .arg(rejected_work.join("holder.password")));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("placeholder"), "{}", text(&out.stderr));

    // A second operator decision on a decided application is refused.
    let out = operator(&server, &["approve", &second]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));

    legal_entity(&server, &work.join("company"), &pfx, &password_file);

    server.stop();

    // A restart reuses the deployment (same root) and the data survives.
    let root_before = std::fs::read(&root).unwrap();
    let server = Server::start(&data, database, &[BCV_ENV]);
    assert_eq!(std::fs::read(&root).unwrap(), root_before);
    let status = ok(imzo()
        .args(["enroll", "status", &number, "--server", &server.base])
        .arg("--pfx")
        .arg(&pfx)
        .arg("--password-file")
        .arg(&password_file));
    assert!(status.contains("issued"), "{status}");
    server.stop();
}

/// A company's director applies: the operator sees the application in the queue, shows
/// it with the PINFL decoded and saves its documents (byte for byte the uploaded ones),
/// approves; the certificate carries O, T, the company's INN and businessCategory beside
/// the person's PINFL, and the fee was 10 % of the base value. A holder's key file is no
/// operator's.
fn legal_entity(server: &Server, work: &Path, holder_pfx: &Path, holder_password: &Path) {
    std::fs::create_dir_all(work).unwrap();
    let (number, pfx) = enroll(server, work, &DIRECTOR);
    pay_fee(server, &number, "5e730e8e0b852a417aa49cee", LEGAL_FEE_TIYIN);

    let out = operator(server, &["queue"]);
    let queue = text(&out.stdout);
    assert!(out.status.success(), "queue failed:\n{queue}\n{}", text(&out.stderr));
    assert!(queue.contains("1 application(s)") && queue.contains(&number), "{queue}");
    assert!(queue.contains(COMPANY_NAME), "{queue}");

    let saved = work.join("review");
    let out = operator(server, &["show", &number, "--documents", saved.to_str().unwrap()]);
    let shown = text(&out.stdout);
    assert!(out.status.success(), "show failed:\n{shown}\n{}", text(&out.stderr));
    for expected in [
        "PINFL:      32808810170080 (birth date 1981-08-28, male)",
        "Birth date: 1981-08-28 as typed (agrees with the PINFL)",
        "Company:    Toshkent Savdo MChJ (INN 301234567)",
        "Title:      Direktor",
        "Fee:        27000.00 sum",
        "Payment:    27000.00 sum via payme, paid",
    ] {
        assert!(shown.contains(expected), "{expected:?} not in:\n{shown}");
    }
    assert!(shown.contains(&format!("Application {number}: paid")), "{shown}");
    assert_eq!(std::fs::read(saved.join("passport.pdf")).unwrap(), std::fs::read(work.join("passport.pdf")).unwrap());
    assert_eq!(std::fs::read(saved.join("selfie.png")).unwrap(), std::fs::read(work.join("selfie.png")).unwrap());
    // Saved files are never overwritten.
    let out = operator(server, &["show", &number, "--documents", saved.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out.stderr).contains("not overwritten"), "{}", text(&out.stderr));

    // A holder's certificate chains to the root but is no operator's: refused, exit 1.
    let out = run(imzo()
        .args(["operator", "show", &number, "--server", &server.base])
        .arg("--pfx")
        .arg(holder_pfx)
        .arg("--password-file")
        .arg(holder_password));
    assert_eq!(out.status.code(), Some(1), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("not_operator"), "{}", text(&out.stderr));

    let out = operator(server, &["approve", &number]);
    assert!(out.status.success(), "approve failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    let password_file = work.join("holder.password");
    let confirmed = ok(imzo()
        .args(["enroll", "confirm", &number, "--server", &server.base])
        .arg("--pfx")
        .arg(&pfx)
        .arg("--password-file")
        .arg(&password_file));
    assert!(confirmed.contains("Serial:"), "{confirmed}");

    let pem = work.join("director.pem");
    let (exported, out) = openssl(&[
        "pkcs12", "-in", pfx.to_str().unwrap(), "-passin", &format!("file:{}", password_file.display()), "-clcerts",
        "-nokeys", "-out", pem.to_str().unwrap(),
    ]);
    assert!(exported, "{out}");
    let (read, x509) = openssl(&["x509", "-in", pem.to_str().unwrap(), "-noout", "-text", "-nameopt", "multiline"]);
    assert!(read, "{x509}");
    for expected in [
        "organizationName          = Toshkent Savdo MChJ",
        "title                     = Direktor",
        "businessCategory          = Legal entity",
        "1.2.860.3.16.1.1 = 301234567",
        "1.2.860.3.16.1.2 = 32808810170080",
    ] {
        assert!(x509.contains(expected), "{expected:?} not in the certificate:\n{x509}");
    }
    let certificate = imzo_pki::pem::read_certificates(&std::fs::read(&pem).unwrap()).unwrap().remove(0);
    let subject = imzo_pki::cert::info(&certificate).unwrap().subject_fields;
    assert_eq!(subject.organization.as_deref(), Some(COMPANY_NAME));
    assert_eq!(subject.title.as_deref(), Some(TITLE));
    assert_eq!(subject.company_inn.as_deref(), Some(COMPANY_INN));
    assert_eq!(subject.business_category.as_deref(), Some("Legal entity"));
    assert_eq!(subject.pinfl.as_deref(), Some(DIRECTOR.pinfl));
}

#[test]
fn e2e_sqlite() {
    walk(None);
}

#[test]
fn e2e_postgres() {
    let admin = std::env::var("IMZO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let Some(db) = postgres::FreshDatabase::create(&admin) else {
        if std::env::var_os("CI").is_some() {
            panic!("PostgreSQL at {admin} is unreachable (run scripts/ensure-postgres.sh)");
        }
        eprintln!("SKIPPED e2e_postgres: PostgreSQL at {admin} is unreachable (run scripts/ensure-postgres.sh)");
        return;
    };
    walk(Some(&db.url));
}


#[test]
fn usage_errors_exit_2_and_bad_settings_are_named() {
    let out = run(imzo().args(["enroll", "--type", "individual"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let tmp = tempfile::tempdir().unwrap();
    let out = run(imzo()
        .args(["up", "--data"])
        .arg(tmp.path())
        .env("IMZO_FEES_BCV", "yesterday=5")
        .env("RUST_LOG", "error"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("fees.bcv"), "{}", text(&out.stderr));
}
