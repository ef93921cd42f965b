//! The authorised body's ceremonies through the real binary, on SQLite and PostgreSQL:
//! `imzo ca init-root` (fingerprint as OpenSSL prints it, ceremony record, made once),
//! `imzo up` on that folder (root kept, ten centres added), `imzo ca centre new|issue`
//! (a centre the root signs, run by the deployment after its next start), `centre
//! revoke`, `centre list` and `register export`, whose file `openssl cms -verify` accepts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, http, imzo, ok, openssl, run, text};
use std::path::Path;

fn fingerprint_by_openssl(pem: &Path) -> String {
    let (good, out) = openssl(&["x509", "-in", pem.to_str().unwrap(), "-noout", "-fingerprint", "-sha256"]);
    assert!(good, "{out}");
    out.trim().rsplit('=').next().unwrap().to_string()
}

fn centres_offered(server: &Server) -> Vec<i64> {
    let list: serde_json::Value = http().get(format!("{}/api/v1/centres", server.base)).send().unwrap().json().unwrap();
    list["centres"].as_array().unwrap().iter().map(|c| c["number"].as_i64().unwrap()).collect()
}

fn ceremonies(database: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let sqlite = format!("sqlite://{}/imzo.db", data.display());
    let db = database.unwrap_or(&sqlite);
    let ca = |args: &[&str]| {
        let mut cmd = imzo();
        cmd.arg("ca").args(args).arg("--data").arg(&data).arg("--database").arg(db).env("RUST_LOG", "error");
        cmd
    };

    // init-root: the printed fingerprint is OpenSSL's; a record is left; only once.
    let out = ok(&mut ca(&["init-root"]));
    let root_pem = data.join("pki/root.pem");
    let print = fingerprint_by_openssl(&root_pem);
    assert!(out.contains(&format!("SHA-256 fingerprint: {print}")), "{out}");
    let records: Vec<_> = std::fs::read_dir(data.join("ceremonies")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(records.len(), 1);
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&records[0]).unwrap()).unwrap();
    assert_eq!(record["ceremony"], "init-root");
    assert_eq!(record["sha256"].as_str(), Some(print.as_str()));
    let again = run(&mut ca(&["init-root"]));
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("a root exists already"), "{}", text(&again.stderr));

    // `imzo up` on the folder keeps the root and adds centre 1…10 under it.
    let server = Server::start(&data, Some(db), &[]);
    assert_eq!(centres_offered(&server), (1..=10).collect::<Vec<_>>());
    server.stop();
    assert_eq!(fingerprint_by_openssl(&root_pem), print);
    for n in [1, 10] {
        let (good, out) = openssl(&["verify", "-CAfile", root_pem.to_str().unwrap(), data.join(format!("pki/rc{n}.pem")).to_str().unwrap()]);
        assert!(good, "rc{n}: {out}");
    }

    // centre new (keyed under the deployment's passphrase, so it can run the centre) → issue.
    let pki = data.join("pki");
    let mut new = imzo();
    new.args(["ca", "centre", "new", "Samarqand Markazi", "--out"]).arg(&pki).arg("--data").arg(&data);
    let out = ok(&mut new);
    assert!(out.contains("samarqand-markazi.csr.pem"), "{out}");
    let request = pki.join("samarqand-markazi.csr.pem");
    let (good, out) = openssl(&["req", "-in", request.to_str().unwrap(), "-noout", "-verify", "-subject"]);
    assert!(good && out.contains("Samarqand Markazi"), "{out}");
    let out = ok(&mut ca(&[
        "centre",
        "issue",
        request.to_str().unwrap(),
        "--name-uz",
        "Samarqand markazi",
        "--name-ru",
        "Самаркандский центр",
        "--name-en",
        "Samarkand Centre",
    ]));
    assert!(out.contains("Centre rc11 registered."), "{out}");
    let issued = pki.join("rc11.issued.pem");
    let (good, out) = openssl(&["verify", "-CAfile", root_pem.to_str().unwrap(), issued.to_str().unwrap()]);
    assert!(good, "{out}");
    let (good, out) = openssl(&["x509", "-in", issued.to_str().unwrap(), "-noout", "-ext", "basicConstraints,keyUsage"]);
    assert!(good && out.contains("CA:TRUE") && out.contains("Certificate Sign"), "{out}");
    // The same request again: refused, nothing registered.
    let twice = run(&mut ca(&["centre", "issue", request.to_str().unwrap()]));
    assert_eq!(twice.status.code(), Some(2));
    assert!(text(&twice.stderr).contains("REQ:"), "{}", text(&twice.stderr));
    // Garbage as a request: refused with the field named.
    let junk = tmp.path().join("junk.csr");
    std::fs::write(&junk, b"not a request").unwrap();
    let bad = run(&mut ca(&["centre", "issue", junk.to_str().unwrap()]));
    assert!(text(&bad.stderr).contains("REQ is not a valid PKCS#10 request"), "{}", text(&bad.stderr));

    // A centre whose key lives elsewhere, under its own passphrase; then revoked.
    let outside = tmp.path().join("outside");
    let passphrase = tmp.path().join("passphrase");
    std::fs::write(&passphrase, "a long centre passphrase\n").unwrap();
    ok(imzo()
        .args(["ca", "centre", "new", "Outside Centre", "--out"])
        .arg(&outside)
        .arg("--passphrase-file")
        .arg(&passphrase));
    let (good, out) = openssl(&[
        "pkey",
        "-in",
        outside.join("outside-centre.key.pem").to_str().unwrap(),
        "-passin",
        &format!("file:{}", passphrase.display()),
        "-noout",
    ]);
    assert!(good, "OpenSSL opens the centre's key: {out}");
    let out = ok(&mut ca(&[
        "centre",
        "issue",
        outside.join("outside-centre.csr.pem").to_str().unwrap(),
        "--key-ref",
        "held by the centre",
    ]));
    assert!(out.contains("Centre rc12 registered."), "{out}");
    let bad_reason = run(&mut ca(&["centre", "revoke", "rc12", "--reason", "boredom"]));
    assert!(text(&bad_reason.stderr).contains("--reason"), "{}", text(&bad_reason.stderr));
    let out = ok(&mut ca(&["centre", "revoke", "rc12", "--reason", "cessationOfOperation"]));
    assert!(out.contains("Centre rc12 revoked (cessationOfOperation)."), "{out}");
    let twice = run(&mut ca(&["centre", "revoke", "rc12", "--reason", "cessationOfOperation"]));
    assert!(text(&twice.stderr).contains("not an active registered centre"), "{}", text(&twice.stderr));

    // The list and the signed register say so; OpenSSL verifies the file with the root alone.
    let list = ok(&mut ca(&["centre", "list"]));
    let line = |id: &str| list.lines().find(|l| l.starts_with(&format!("{id} "))).unwrap_or_else(|| panic!("{id}: {list}"));
    assert!(line("rc11").contains("active") && line("rc11").contains("Samarkand Centre"), "{list}");
    assert!(line("rc12").contains("revoked"), "{list}");
    assert!(list.contains("12 centres, 10 authorised persons."), "{list}");
    let file = tmp.path().join("register.p7m");
    ok(&mut ca(&["register", "export", file.to_str().unwrap()]));
    let verified = std::process::Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-in"])
        .arg(&file)
        .arg("-CAfile")
        .arg(&root_pem)
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    let register: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    let centres = register["centres"].as_array().unwrap();
    assert_eq!(centres.len(), 12);
    let rc12 = centres.iter().find(|c| c["id"] == "rc12").unwrap();
    assert_eq!((rc12["status"].as_str(), rc12["certificate"]["status"].as_str()), (Some("revoked"), Some("revoked")));
    assert_eq!(rc12["revocation_reason"], "cessationOfOperation");
    let rc11 = centres.iter().find(|c| c["id"] == "rc11").unwrap();
    assert_eq!((rc11["number"].as_i64(), rc11["names"]["ru"].as_str()), (Some(11), Some("Самаркандский центр")));
    // Tampering breaks it.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.windows(4).position(|w| w == b"rc11").unwrap();
    bytes[at + 2] = b'7';
    std::fs::write(&file, &bytes).unwrap();
    let (good, _) = openssl(&["cms", "-verify", "-inform", "DER", "-in", file.to_str().unwrap(), "-CAfile", root_pem.to_str().unwrap()]);
    assert!(!good, "a changed register must not verify");

    // The next start runs centre 11 (its key is here); centre 12 is revoked and not offered.
    let server = Server::start(&data, Some(db), &[]);
    assert_eq!(centres_offered(&server), (1..=11).collect::<Vec<_>>());
    let pem = http().get(format!("{}/ca/rc11.pem", server.base)).send().unwrap();
    assert!(pem.status().is_success(), "{}", pem.status());
    assert_eq!(pem.text().unwrap(), std::fs::read_to_string(&issued).unwrap());
    server.stop();
}

#[test]
fn ceremonies_sqlite() {
    ceremonies(None);
}

#[test]
fn ceremonies_postgres() {
    let admin = std::env::var("IMZO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let Some(db) = postgres::FreshDatabase::create(&admin) else {
        if std::env::var_os("CI").is_some() {
            panic!("PostgreSQL at {admin} is unreachable (run scripts/ensure-postgres.sh)");
        }
        eprintln!("SKIPPED ceremonies_postgres: PostgreSQL at {admin} is unreachable");
        return;
    };
    ceremonies(Some(&db.url));
}

mod postgres {
    use sqlx::Connection;

    /// A database made for one run, dropped afterwards.
    pub(crate) struct FreshDatabase {
        admin: String,
        name: String,
        /// Its URL.
        pub(crate) url: String,
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    async fn execute(admin: &str, sql: String) -> Result<(), sqlx::Error> {
        let mut conn = sqlx::PgConnection::connect(admin).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await?;
        conn.close().await
    }

    impl FreshDatabase {
        /// A new empty database next to `admin`'s, or none if the server is unreachable.
        pub(crate) fn create(admin: &str) -> Option<FreshDatabase> {
            let name = format!("imzo_ca_{}_{}", std::process::id(), super::common::free_port());
            let rt = runtime();
            let reachable = rt.block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(5), sqlx::PgConnection::connect(admin)).await
            });
            match reachable {
                Ok(Ok(conn)) => rt.block_on(async { conn.close().await.ok() }),
                _ => return None,
            };
            rt.block_on(execute(admin, format!("CREATE DATABASE {name}"))).unwrap();
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
            Some(FreshDatabase { admin: admin.to_string(), url: format!("{base}/{name}"), name })
        }
    }

    impl Drop for FreshDatabase {
        fn drop(&mut self) {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = runtime().block_on(execute(&self.admin, sql));
        }
    }
}
