//! The authorised body's ceremonies through the real binary, on SQLite and PostgreSQL:
//! `imzo ca init-root` (fingerprint as OpenSSL prints it, ceremony record, made once),
//! `imzo up` on that folder (root kept, ten centres added), `imzo ca centre new|issue`
//! (a centre the root signs, run by the deployment after its next start), `centre
//! revoke`, `centre list` and `register export`, whose file `openssl cms -verify` accepts.
//! `ca person issue|revoke|list`: a further authorised person of a centre, in the register
//! and the check endpoint, then revoked. `init-root --key-ref pkcs11:…`: the root key on a
//! SoftHSM2 token (skipped without SoftHSM2 unless IMZO_REQUIRE_SOFTHSM or CI is set).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::postgres;

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
    assert!(text(&twice.stderr).contains("already revoked (cessationOfOperation)"), "{}", text(&twice.stderr));

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

/// Runs `imzo ca ARGS… --data DATA` on the data folder's SQLite database.
fn ca_on(data: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = imzo();
    cmd.arg("ca").args(args).arg("--data").arg(data).arg("--database").arg(format!("sqlite://{}/imzo.db", data.display()));
    cmd.env("RUST_LOG", "error");
    cmd
}

fn field<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines().find_map(|l| l.trim().strip_prefix(label)).map(str::trim).unwrap_or_else(|| panic!("no {label} in {out}"))
}

fn registry(server: &Server) -> serde_json::Value {
    http().get(format!("{}/api/v1/registry", server.base)).send().unwrap().json().unwrap()
}

fn person<'a>(register: &'a serde_json::Value, serial: &str) -> &'a serde_json::Value {
    register["authorised_persons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["certificate"]["serial"] == serial)
        .unwrap_or_else(|| panic!("person {serial} not in {register}"))
}

fn check(server: &Server, pem: &str) -> serde_json::Value {
    let body = serde_json::json!({ "certificate": pem });
    http().post(format!("{}/api/v1/registry/check", server.base)).json(&body).send().unwrap().json().unwrap()
}

/// `imzo ca person issue` (from a request the person made, and with a generated .pfx),
/// while the deployment runs: the register and the check endpoint know them at once, the
/// signed register lists them, OpenSSL verifies them under the root; `person revoke` ends
/// one, and the register and check say so.
#[test]
fn persons_issued_and_revoked_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(&mut ca_on(&data, &["init-root"]));
    let root_pem = data.join("pki/root.pem");
    let server = Server::start(&data, None, &[]);
    let before = registry(&server)["authorised_persons"].as_array().unwrap().len();
    assert_eq!(before, 10, "operator1…10");

    // The person makes their key and request; the authorised body never sees the key.
    let key = tmp.path().join("malika.key");
    let csr = tmp.path().join("malika.csr");
    let (good, out) = openssl(&[
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.to_str().unwrap(),
        "-out", csr.to_str().unwrap(), "-subj", "/CN=Aliyeva Malika",
    ]);
    assert!(good, "{out}");
    let out = ok(&mut ca_on(
        &data,
        &["person", "issue", "--centre", "rc3", "--name", "Aliyeva Malika", "--role", "officer", "--csr", csr.to_str().unwrap()],
    ));
    assert!(out.contains("Authorised person of rc3 certified: Aliyeva Malika (officer)."), "{out}");
    let officer_serial = field(&out, "Serial:").to_string();
    let officer_pem = std::path::PathBuf::from(field(&out, "Certificate:"));
    let (good, out) = openssl(&["verify", "-CAfile", root_pem.to_str().unwrap(), officer_pem.to_str().unwrap()]);
    assert!(good && out.contains(": OK"), "{out}");
    let (good, out) = openssl(&["x509", "-in", officer_pem.to_str().unwrap(), "-noout", "-subject", "-issuer"]);
    assert!(good && out.contains("CN = Aliyeva Malika") && out.contains("O = Imzo Registration Centre 3"), "{out}");
    assert!(out.contains("issuer=") && out.contains("Imzo Authorised Body Root"), "{out}");

    // A key generated for the person, handed over as a .pfx OpenSSL opens.
    let handover = tmp.path().join("handover");
    let out = ok(&mut imzo_ca_person_generated(&data, &handover));
    let operator_serial = field(&out, "Serial:").to_string();
    let pfx = handover.join("karimov-sardor.pfx");
    let password = handover.join("karimov-sardor.password");
    let (good, out) = openssl(&[
        "pkcs12", "-in", pfx.to_str().unwrap(), "-passin", &format!("file:{}", password.display()), "-nokeys", "-noout",
    ]);
    assert!(good, "OpenSSL opens the handed-over .pfx: {out}");

    // Refused, with nothing recorded: an unknown centre, a key certified already, a bad role.
    let bad = run(&mut ca_on(&data, &["person", "issue", "--centre", "rc99", "--name", "X", "--role", "operator", "--csr", csr.to_str().unwrap()]));
    assert!(text(&bad.stderr).contains("no centre rc99"), "{}", text(&bad.stderr));
    let again = run(&mut ca_on(&data, &["person", "issue", "--centre", "rc4", "--name", "Y", "--role", "operator", "--csr", csr.to_str().unwrap()]));
    assert!(text(&again.stderr).contains("certified already"), "{}", text(&again.stderr));
    let role = run(&mut ca_on(&data, &["person", "issue", "--centre", "rc3", "--name", "Z", "--role", "boss", "--csr", csr.to_str().unwrap()]));
    assert!(!role.status.success() && text(&role.stderr).contains("--role"), "{}", text(&role.stderr));

    // The running deployment's register and check endpoint know them.
    let register = registry(&server);
    assert_eq!(register["authorised_persons"].as_array().unwrap().len(), 12, "{register}");
    let officer = person(&register, &officer_serial);
    assert_eq!((officer["centre"].as_str(), officer["role"].as_str(), officer["status"].as_str()), (Some("rc3"), Some("officer"), Some("active")));
    assert_eq!(officer["name"], "Aliyeva Malika");
    assert_eq!(person(&register, &operator_serial)["role"], "operator");
    let pem = std::fs::read_to_string(&officer_pem).unwrap();
    let answer = check(&server, &pem);
    assert_eq!(answer["registered"], true, "{answer}");
    assert_eq!(answer["certificate"]["role"], "authorised_person", "{answer}");
    assert_eq!((answer["certificate"]["centre"].as_str(), answer["certificate"]["person"].as_str()), (Some("rc3"), Some("Aliyeva Malika")));

    // The register file signed by the root lists them.
    let file = tmp.path().join("register.p7m");
    ok(&mut ca_on(&data, &["register", "export", file.to_str().unwrap()]));
    let verified = std::process::Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-in"])
        .arg(&file)
        .arg("-CAfile")
        .arg(&root_pem)
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    let signed: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(person(&signed, &officer_serial)["status"], "active");

    // Revoked: once only, and only persons' certificates.
    let hold = run(&mut ca_on(&data, &["person", "revoke", &officer_serial, "--reason", "certificateHold"]));
    assert!(text(&hold.stderr).contains("revoked for good"), "{}", text(&hold.stderr));
    let out = ok(&mut ca_on(&data, &["person", "revoke", &officer_serial, "--reason", "privilegeWithdrawn"]));
    assert!(out.contains("Authorised person Aliyeva Malika of rc3 revoked (privilegeWithdrawn)."), "{out}");
    let twice = run(&mut ca_on(&data, &["person", "revoke", &officer_serial, "--reason", "privilegeWithdrawn"]));
    assert!(!twice.status.success() && text(&twice.stderr).contains("revoked"), "{}", text(&twice.stderr));
    let (_, centre_serial) = openssl(&["x509", "-in", data.join("pki/rc3.pem").to_str().unwrap(), "-noout", "-serial"]);
    let centre_serial = centre_serial.trim().trim_start_matches("serial=").to_ascii_lowercase();
    let not_person = run(&mut ca_on(&data, &["person", "revoke", &centre_serial, "--reason", "superseded"]));
    assert!(text(&not_person.stderr).contains("not an authorised person's"), "{}", text(&not_person.stderr));

    let register = registry(&server);
    let officer = person(&register, &officer_serial);
    assert_eq!((officer["status"].as_str(), officer["certificate"]["status"].as_str()), (Some("revoked"), Some("revoked")), "{officer}");
    assert_eq!(person(&register, &operator_serial)["status"], "active");
    let answer = check(&server, &pem);
    assert_eq!(answer["registered"], false, "{answer}");
    let codes: Vec<&str> =
        answer["certificate"]["problems"].as_array().unwrap().iter().filter_map(|p| p["code"].as_str()).collect();
    assert!(codes.contains(&"revoked"), "{answer}");
    server.stop();
    let list = ok(&mut ca_on(&data, &["person", "list"]));
    let line = list.lines().find(|l| l.contains(&officer_serial)).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("revoked") && line.contains("officer"), "{list}");
    assert!(list.contains("12 authorised persons."), "{list}");
    // Each change left its ceremony record.
    let records: Vec<String> = std::fs::read_dir(data.join("ceremonies"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(records.iter().filter(|r| r.contains("person-issue-")).count(), 2, "{records:?}");
    assert_eq!(records.iter().filter(|r| r.contains("person-revoke-")).count(), 1, "{records:?}");
    // …and its audit entry, in a chain `imzo audit verify` finds intact.
    let audited = audit_actions(&data.join("imzo.db"));
    for (action, subject) in [("person.authorised", &officer_serial), ("person.authorised", &operator_serial), ("person.revoked", &officer_serial)] {
        assert!(audited.iter().any(|(a, s)| a == action && s == subject), "{action} {subject}: {audited:?}");
    }
    assert_eq!(audited.iter().filter(|(a, _)| a == "person.revoked").count(), 1, "{audited:?}");
    let verified = ok(imzo().args(["audit", "verify", "--database"]).arg(format!("sqlite://{}/imzo.db", data.display())));
    assert!(!verified.to_lowercase().contains("tamper"), "{verified}");
}

/// (action, subject) of every audit entry of the SQLite database at `db`.
fn audit_actions(db: &Path) -> Vec<(String, String)> {
    use sqlx::{Connection, Row};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        let rows = sqlx::query("SELECT action, subject FROM audit_log ORDER BY at_ms").fetch_all(&mut conn).await.unwrap();
        rows.iter().map(|r| (r.get::<String, _>("action"), r.get::<String, _>("subject"))).collect()
    })
}

fn imzo_ca_person_generated(data: &Path, out: &Path) -> std::process::Command {
    let mut cmd = ca_on(data, &["person", "issue", "--centre", "rc7", "--name", "Karimov Sardor", "--role", "operator"]);
    cmd.arg("--out").arg(out);
    cmd
}

/// `imzo ca init-root --key-ref pkcs11:…`: the root key made on a SoftHSM2 token
/// beforehand (`imzo hsm keygen`) signs the root, a centre and the register signer; the
/// data folder holds only the key's URI. A second root's key is generated by the ceremony
/// itself on the token.
#[test]
fn root_key_on_softhsm() {
    let hsm = match imzo_keys::pkcs11::softhsm::isolated("root_key_on_softhsm") {
        Ok(Some(hsm)) => hsm,
        Ok(None) => return,
        Err(e) => panic!("{e}"),
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let uri = hsm.key_uri("imzo-root");
    let made = ok(imzo().args(["hsm", "keygen", &uri]));
    let pin = std::fs::read_to_string(hsm.pin_file()).unwrap().trim().to_string();

    // A URI with the PIN in it would be written to disk: refused.
    let bad = run(&mut ca_on(&data, &["init-root", "--key-ref", &format!("{}&pin-value={pin}", uri)]));
    assert!(text(&bad.stderr).contains("pin-source"), "{}", text(&bad.stderr));
    assert!(!data.join("pki/root.pem").exists());
    let bad = run(&mut ca_on(&data, &["init-root", "--key-ref", "/etc/root.key"]));
    assert!(text(&bad.stderr).contains("pkcs11: URI"), "{}", text(&bad.stderr));

    let out = ok(&mut ca_on(&data, &["init-root", "--key-ref", &uri]));
    assert!(out.contains("Root key on the token: pkcs11:token=imzo-test;object=imzo-root"), "{out}");
    let root_pem = data.join("pki/root.pem");
    // The root certificate carries the token key's public key.
    let token_public = ok(imzo().args(["hsm", "pubkey", &uri]));
    let (good, cert_public) = openssl(&["x509", "-in", root_pem.to_str().unwrap(), "-noout", "-pubkey"]);
    assert!(good, "{cert_public}");
    assert_eq!(cert_public.trim(), token_public.trim(), "{made}");
    // No private key of the root on disk: only the pointer, one line, without the PIN.
    let pointer = std::fs::read_to_string(data.join("pki/root.key.pem")).unwrap();
    assert!(pointer.starts_with("pkcs11:token=imzo-test;object=imzo-root") && pointer.trim().lines().count() == 1, "{pointer}");
    assert!(!pointer.contains("pin-value"), "{pointer}");
    let (good, out) = openssl(&["pkey", "-in", data.join("pki/root.key.pem").to_str().unwrap(), "-passin", "pass:x", "-noout"]);
    assert!(!good, "root.key.pem must hold no key: {out}");
    let record: serde_json::Value = {
        let dir = data.join("ceremonies");
        let file = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
        serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
    };
    assert_eq!(record["on_token"], true, "{record}");

    // A centre issued by the root on the token; OpenSSL verifies it under the root.
    let pki = data.join("pki");
    ok(imzo().args(["ca", "centre", "new", "Token Centre", "--out"]).arg(&pki).arg("--data").arg(&data));
    let out = ok(&mut ca_on(&data, &["centre", "issue", pki.join("token-centre.csr.pem").to_str().unwrap()]));
    assert!(out.contains("Centre rc11 registered."), "{out}");
    let (good, out) = openssl(&["verify", "-CAfile", root_pem.to_str().unwrap(), pki.join("rc11.issued.pem").to_str().unwrap()]);
    assert!(good && out.contains(": OK"), "{out}");
    // The register signer too, and through it the signed register.
    let file = tmp.path().join("register.p7m");
    ok(&mut ca_on(&data, &["register", "export", file.to_str().unwrap()]));
    let (good, out) =
        openssl(&["cms", "-verify", "-inform", "DER", "-in", file.to_str().unwrap(), "-CAfile", root_pem.to_str().unwrap(), "-out", "/dev/null"]);
    assert!(good, "{out}");
    // `imzo up` signs on the token through the pointer: centres 1…10 made under that root.
    let server = Server::start(&data, None, &[]);
    assert_eq!(centres_offered(&server), (1..=11).collect::<Vec<_>>());
    server.stop();
    let (good, out) = openssl(&["verify", "-CAfile", root_pem.to_str().unwrap(), pki.join("rc10.pem").to_str().unwrap()]);
    assert!(good, "{out}");
    assert!(std::fs::read_to_string(data.join("pki/root.key.pem")).unwrap().starts_with("pkcs11:"));

    // A root whose key the ceremony generates on the token (no such object yet).
    let second = tmp.path().join("second");
    let uri2 = hsm.key_uri("imzo-root-2");
    let out = ok(&mut ca_on(&second, &["init-root", "--key-ref", &uri2]));
    assert!(out.contains("object=imzo-root-2"), "{out}");
    let token_public = ok(imzo().args(["hsm", "pubkey", &uri2]));
    let (_, cert_public) = openssl(&["x509", "-in", second.join("pki/root.pem").to_str().unwrap(), "-noout", "-pubkey"]);
    assert_eq!(cert_public.trim(), token_public.trim());
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

