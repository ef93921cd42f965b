//! `imzo backup` / `imzo restore` with the real binary: a certificate is issued, the
//! deployment is backed up while its server runs, restored into a new folder (and a new
//! database), and the restored server serves that certificate by serial, its OCSP
//! responder says good, and `imzo audit verify` passes. A backup with one byte changed is
//! refused, and so is restoring over a non-empty folder or a database holding Imzo tables.
//! Run on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::postgres;
#[path = "common/flow.rs"]
mod flow;

use common::*;
use flow::*;
use std::path::Path;

/// Applies, pays, approves and confirms one applicant on `server`: the serial.
fn issue_one(server: &Server, work: &Path) -> String {
    let holder = Person::new(1, work);
    let (number, pfx) = enroll(&server.base, &server.base, &holder).unwrap();
    sandbox_pay(&server.base, &number).unwrap();
    let out = operator(&server.base, &server.data, &["approve", &number]);
    assert!(out.status.success(), "approve failed:\n{}{}", text(&out.stdout), text(&out.stderr));
    confirm(&server.base, &number, &pfx, &holder).unwrap()
}

/// `imzo backup` / `imzo restore` with IMZO_* settings of the caller's environment kept out.
fn cli(args: &[&str]) -> std::process::Command {
    let mut cmd = imzo();
    cmd.args(args).env_remove("IMZO_DATA").env_remove("IMZO_DATABASE_URL");
    cmd
}

/// The restored server has the certificate, its OCSP says good, its audit log is intact.
fn check_restored(server: &Server, serial: &str, work: &Path, database: &str) {
    let response = http().get(format!("{}/api/v1/certificates/{serial}.pem", server.base)).send().unwrap();
    assert!(response.status().is_success(), "certificate {serial} not served after restore: {}", response.status());
    let cert = work.join("restored-holder.pem");
    std::fs::write(&cert, response.bytes().unwrap()).unwrap();
    let (ok, out) = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-serial"]);
    assert!(ok && out.to_ascii_lowercase().contains(serial), "{out}");
    let root = server.data.join("pki/root.pem");
    let rc1 = server.data.join("pki/rc1.pem");
    let (ok, out) = openssl(&[
        "ocsp", "-issuer", rc1.to_str().unwrap(), "-cert", cert.to_str().unwrap(), "-url", &format!("{}/ocsp", server.base),
        "-CAfile", root.to_str().unwrap(), "-no_nonce",
    ]);
    assert!(ok && out.contains("Response verify OK") && out.contains(": good"), "{out}");
    let (code, out) = audit_verify(database);
    assert_eq!(code, Some(0), "{out}");
}

/// The backup with the byte in its middle changed: restore refuses it and writes nothing.
fn tampered_is_refused(backup: &Path, work: &Path) {
    let tampered = work.join("tampered.imzo-backup");
    let mut bytes = std::fs::read(backup).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&tampered, bytes).unwrap();
    let target = work.join("from-tampered");
    let out = run(&mut cli(&["restore", "--in", tampered.to_str().unwrap(), "--data", target.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(2), "a tampered backup was restored:\n{}{}", text(&out.stdout), text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("not a valid Imzo backup") && err.contains("changed"), "{err}");
    assert!(!target.exists(), "a refused restore left {}", target.display());
    // The manifest itself is covered too: its last byte (inside MANIFEST.json) changed.
    let mut bytes = std::fs::read(backup).unwrap();
    let at = bytes.windows(13).rposition(|w| w == b"\"created_utc\"").expect("manifest in the backup") + 16;
    bytes[at] ^= 0x01;
    std::fs::write(&tampered, bytes).unwrap();
    let out = run(&mut cli(&["restore", "--in", tampered.to_str().unwrap(), "--data", target.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(2), "a changed manifest was accepted:\n{}", text(&out.stderr));
}

#[test]
fn backup_while_running_and_restore_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let data = work.join("data");
    let server = Server::start(&data, None, &[BCV_ENV, STARTS_ENV]);
    let serial = issue_one(&server, work);

    // Backed up while the server runs.
    let backup = work.join("imzo.backup");
    let printed = ok(&mut cli(&["backup", "--data", data.to_str().unwrap(), "--out", backup.to_str().unwrap()]));
    assert!(printed.contains("SQLite snapshot"), "{printed}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // No secret on the terminal.
    let payme_key = std::fs::read_to_string(data.join("secrets/payme-key")).unwrap();
    assert!(!printed.contains(payme_key.trim()), "{printed}");
    // A standard tar: operators can list it.
    let listing = ok(std::process::Command::new("tar").arg("-tf").arg(&backup));
    for member in ["data/pki/root.pem", "data/secrets/payme-key", "database/imzo.db", "MANIFEST.json"] {
        assert!(listing.lines().any(|l| l == member), "{member} not in the backup:\n{listing}");
    }
    // An existing file is never overwritten.
    let out = run(&mut cli(&["backup", "--data", data.to_str().unwrap(), "--out", backup.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(2));
    server.stop();

    tampered_is_refused(&backup, work);

    // Over a non-empty folder: refused, and that folder is left as it was.
    let busy = work.join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "keep me").unwrap();
    let out = run(&mut cli(&["restore", "--in", backup.to_str().unwrap(), "--data", busy.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not empty") && text(&out.stderr).contains("notes.txt"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_dir(&busy).unwrap().count(), 1);

    // Into an empty folder but onto a database that already holds Imzo tables: refused, naming them.
    let other = work.join("other");
    let out = run(&mut cli(&[
        "restore", "--in", backup.to_str().unwrap(), "--data", other.to_str().unwrap(),
        "--database", &format!("sqlite://{}/imzo.db", data.display()),
    ]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("already holds Imzo tables") && err.contains("applications"), "{err}");
    assert!(!other.exists(), "a refused restore left {}", other.display());

    // Restored into a new folder: the server starts on it and knows the certificate.
    let restored = work.join("restored");
    let printed = ok(&mut cli(&["restore", "--in", backup.to_str().unwrap(), "--data", restored.to_str().unwrap()]));
    assert!(printed.contains("imzo up --data"), "{printed}");
    assert_eq!(std::fs::read(restored.join("secrets/payme-key")).unwrap(), payme_key.as_bytes());
    let out = run(&mut cli(&["audit", "verify", "--data", restored.to_str().unwrap()]));
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let server = Server::start(&restored, None, &[BCV_ENV, STARTS_ENV]);
    check_restored(&server, &serial, work, &format!("sqlite://{}/imzo.db", restored.display()));
    server.stop();
}

#[test]
fn backup_while_running_and_restore_postgres() {
    let admin = std::env::var("IMZO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let (Some(source), Some(target)) = (postgres::FreshDatabase::create(&admin), postgres::FreshDatabase::create(&admin))
    else {
        if std::env::var_os("CI").is_some() {
            panic!("PostgreSQL at {admin} is unreachable (run scripts/ensure-postgres.sh)");
        }
        eprintln!("SKIPPED backup_restore postgres: PostgreSQL at {admin} is unreachable (run scripts/ensure-postgres.sh)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let data = work.join("data");
    let server = Server::start(&data, Some(&source.url), &[BCV_ENV, STARTS_ENV]);
    let serial = issue_one(&server, work);
    let backup = work.join("imzo.backup");
    let printed = ok(&mut cli(&["backup", "--data", data.to_str().unwrap(), "--database", &source.url, "--out", backup.to_str().unwrap()]));
    assert!(printed.contains("PostgreSQL"), "{printed}");
    let listing = ok(std::process::Command::new("tar").arg("-tf").arg(&backup));
    assert!(listing.lines().any(|l| l == "database/certificates.jsonl"), "{listing}");
    server.stop();

    tampered_is_refused(&backup, work);

    // Onto the database it came from (it holds Imzo tables): refused, naming them.
    let other = work.join("other");
    let out = run(&mut cli(&[
        "restore", "--in", backup.to_str().unwrap(), "--data", other.to_str().unwrap(), "--database", &source.url,
    ]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("already holds Imzo tables") && err.contains("certificates"), "{err}");
    assert!(!other.exists());

    let restored = work.join("restored");
    ok(&mut cli(&["restore", "--in", backup.to_str().unwrap(), "--data", restored.to_str().unwrap(), "--database", &target.url]));
    let count = |url: &str, table: &str| query(url, &format!("SELECT COUNT(*) FROM {table}"))[0][0].clone();
    for table in ["applications", "certificates", "audit_log", "payments", "documents"] {
        assert_eq!(count(&source.url, table), count(&target.url, table), "{table} differs after restore");
    }
    let server = Server::start(&restored, Some(&target.url), &[BCV_ENV, STARTS_ENV]);
    check_restored(&server, &serial, work, &target.url);
    // New rows get new ids after the restored ones (sequences were moved on).
    let second = Person::new(2, work);
    let (number, _) = enroll(&server.base, &server.base, &second).unwrap();
    assert_eq!(query(&target.url, &format!("SELECT COUNT(*) FROM applications WHERE number = '{number}'"))[0][0], "1");
    server.stop();
    let (code, out) = audit_verify(&target.url);
    assert_eq!(code, Some(0), "{out}");
}

