//! Two `imzo up` nodes on one PostgreSQL database, sharing the CA key files (node B's
//! data folder is a copy of node A's, made after A bootstrapped it). One application
//! walks across them: start, SMS code and submit on A, sandbox payment on B, operator
//! approval on A, confirmation and download on B. The certificate is issued once and
//! both nodes' status services know it; the background jobs, which both nodes run (SMS
//! sender every 2 s, deadlines every 5 s), do each piece of work exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::postgres;
#[path = "common/flow.rs"]
mod flow;

use common::*;
use flow::*;
use std::path::Path;
use std::time::Duration;

/// Copies folder `from` to `to` (files and sub-folders, permissions kept).
fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(status.success());
}

fn count(url: &str, sql: &str) -> i64 {
    query(url, sql)[0][0].parse().unwrap()
}

#[test]
fn flow_across_two_nodes_on_one_postgres() {
    let admin = std::env::var("IMZO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let Some(db) = postgres::FreshDatabase::create(&admin) else {
        if std::env::var_os("CI").is_some() {
            panic!("PostgreSQL at {admin} is unreachable (run scripts/ensure-postgres.sh)");
        }
        eprintln!("SKIPPED two_nodes: PostgreSQL at {admin} is unreachable (run scripts/ensure-postgres.sh)");
        return;
    };
    let url = db.url.clone();
    let work = tempfile::tempdir().unwrap();
    let data_a = work.path().join("node-a");
    let data_b = work.path().join("node-b");
    let env = [BCV_ENV, STARTS_ENV, ("IMZO_STATUS_CRL_DELAY_SECONDS", "1")];
    let a = Server::start(&data_a, Some(&url), &env);
    copy_dir(&data_a, &data_b);
    let b = Server::start(&data_b, Some(&url), &env);
    assert_ne!(a.base, b.base);
    // One deployment: the same root and centre CA served by both.
    for ca in ["root", "rc1"] {
        let get = |base: &str| http().get(format!("{base}/ca/{ca}.crt")).send().unwrap().bytes().unwrap();
        assert_eq!(get(&a.base), get(&b.base), "{ca}.crt differs between the nodes");
    }

    // Start, SMS code and submit on A (the code read from B's outbox: one database).
    let holder = Person::new(1, work.path());
    let (number, pfx) = enroll(&a.base, &b.base, &holder).unwrap();
    assert_eq!(count(&url, &format!("SELECT COUNT(*) FROM applications WHERE number = '{number}' AND state = 'awaiting_payment'")), 1);

    // Pay on B.
    sandbox_pay(&b.base, &number).unwrap();
    // A second payment of the same application, on A, is refused: paid once.
    assert!(sandbox_pay(&a.base, &number).is_err(), "a paid application was paid again");
    assert_eq!(count(&url, &format!(
        "SELECT COUNT(*) FROM payments p JOIN applications a ON a.id = p.application_id WHERE a.number = '{number}' AND p.state = 2")), 1);

    // The operator on A sees it paid and approves it.
    let out = operator(&a.base, &data_a, &["show", &number]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("Application {number}: paid")), "{}", text(&out.stdout));
    let out = operator(&a.base, &data_a, &["approve", &number]);
    assert!(out.status.success(), "approve failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    // The same decision sent to B is refused: decided once.
    let out = operator(&b.base, &data_b, &["approve", &number]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));

    // Confirm and download on B; confirming again on A returns the same certificate.
    let placeholder = std::fs::read(&pfx).unwrap();
    let serial = confirm(&b.base, &number, &pfx, &holder).unwrap();
    std::fs::write(&pfx, &placeholder).unwrap();
    let again = confirm(&a.base, &number, &pfx, &holder).unwrap();
    assert_eq!(serial, again, "the nodes report different certificates");
    let rows = query(&url, &format!(
        "SELECT c.serial, a.state, a.certificate_serial FROM certificates c JOIN applications a ON a.id = c.application_id \
         WHERE a.number = '{number}'"));
    assert_eq!(rows, vec![vec![serial.clone(), "issued".to_string(), serial.clone()]], "issued exactly once");
    for node in [&a, &b] {
        let out = operator(&node.base, &node.data, &["show", &number]);
        let shown = text(&out.stdout);
        assert!(out.status.success() && shown.contains(&format!("Application {number}: issued")), "{shown}");
    }

    // B's OCSP responder knows the certificate (good), and after the operator revokes it
    // on A, B's OCSP says revoked and B's CRL of rc1 lists it.
    let w = |name: &str| work.path().join(name).to_str().unwrap().to_string();
    let pass = format!("file:{}", holder.password_file().display());
    let (ok, out) = openssl(&["pkcs12", "-in", pfx.to_str().unwrap(), "-passin", &pass, "-clcerts", "-nokeys", "-out", &w("holder.pem")]);
    assert!(ok, "{out}");
    let root = data_b.join("pki/root.pem");
    let rc1 = data_b.join("pki/rc1.pem");
    let ask_b = || {
        openssl(&[
            "ocsp", "-issuer", rc1.to_str().unwrap(), "-cert", &w("holder.pem"), "-url", &format!("{}/ocsp", b.base),
            "-CAfile", root.to_str().unwrap(), "-no_nonce",
        ])
    };
    let (ok, out) = ask_b();
    assert!(ok && out.contains("Response verify OK") && out.contains("holder.pem: good"), "{out}");
    let out = operator(&a.base, &data_a, &["revoke", &serial, "--reason", "keyCompromise"]);
    assert!(out.status.success(), "revoke failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    let mut last = String::new();
    assert!(
        eventually(Duration::from_secs(10), || {
            last = ask_b().1;
            last.contains("holder.pem: revoked")
        }),
        "node B's OCSP does not know of the revocation made on node A:\n{last}"
    );
    let crl_lists_serial = || {
        let bytes = http().get(format!("{}/crl/rc1.crl", b.base)).send().unwrap().bytes().unwrap();
        std::fs::write(w("rc1.crl"), &bytes).unwrap();
        let (ok, out) = openssl(&["crl", "-inform", "DER", "-in", &w("rc1.crl"), "-noout", "-text"]);
        assert!(ok, "{out}");
        out.to_ascii_lowercase().replace(':', "").contains(&serial)
    };
    assert!(eventually(Duration::from_secs(10), crl_lists_serial), "node B's rc1.crl does not list {serial}");

    // The SMS sender runs on both nodes: the code SMS is in the outbox once, identically
    // on both, and was delivered in exactly one attempt.
    let codes = |base: &str| -> Vec<serde_json::Value> {
        outbox_of(base, 0).unwrap().into_iter().filter(|m| m["phone"] == holder.phone.as_str()).collect()
    };
    assert_eq!(codes(&a.base), codes(&b.base), "the nodes' outboxes differ");
    let code_rows = |state: &str| {
        query(&url, &format!(
            "SELECT COUNT(*), MAX(attempts) FROM sms_outbox WHERE phone = '{}' AND kind = 'code' AND status = '{state}'",
            holder.phone
        ))
    };
    assert!(eventually(Duration::from_secs(10), || code_rows("sent")[0][0] == "1"), "{:?}", code_rows("queued"));
    assert_eq!(count(&url, &format!("SELECT COUNT(*) FROM sms_outbox WHERE phone = '{}' AND kind = 'code'", holder.phone)), 1);
    // Every message of this applicant was sent exactly once, whichever node took it.
    let all = query(&url, &format!("SELECT status, attempts FROM sms_outbox WHERE phone = '{}'", holder.phone));
    assert!(eventually(Duration::from_secs(10), || query(&url, &format!(
        "SELECT COUNT(*) FROM sms_outbox WHERE phone = '{}' AND status <> 'sent'", holder.phone))[0][0] == "0"), "{all:?}");
    for row in query(&url, &format!("SELECT id, status, attempts FROM sms_outbox WHERE phone = '{}'", holder.phone)) {
        assert_eq!((row[1].as_str(), row[2].as_str()), ("sent", "1"), "SMS {} delivered more than once: {row:?}", row[0]);
    }

    // The payment deadline, judged by both nodes' jobs: an application submitted on B
    // whose deadline has passed is cancelled once (one audit entry, one SMS).
    let late = Person::new(2, work.path());
    let (late_number, _) = enroll(&b.base, &a.base, &late).unwrap();
    execute(&url, &format!("UPDATE applications SET pay_before_ms = 1000 WHERE number = '{late_number}'"));
    let state = || query(&url, &format!("SELECT state FROM applications WHERE number = '{late_number}'"))[0][0].clone();
    assert!(eventually(Duration::from_secs(15), || state() == "cancelled"), "not cancelled: {}", state());
    // Both nodes have run their deadline job at least once more since.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        count(&url, &format!("SELECT COUNT(*) FROM audit_log WHERE subject = '{late_number}' AND action = 'application.cancelled'")),
        1,
        "the deadline was acted on more than once"
    );
    assert_eq!(count(&url, &format!("SELECT COUNT(*) FROM sms_outbox WHERE phone = '{}' AND kind = 'cancelled'", late.phone)), 1);
    assert!(sandbox_pay(&a.base, &late_number).is_err(), "a cancelled application was paid");

    // Serial numbers are unique and the shared audit chain is intact.
    assert_eq!(count(&url, "SELECT COUNT(*) - COUNT(DISTINCT serial) FROM certificates"), 0);
    a.stop();
    b.stop();
    let (code, out) = audit_verify(&url);
    assert_eq!(code, Some(0), "{out}");
}

