//! The whole flow in the national algorithm against the real binary: `imzo up` with
//! `IMZO_CA_ALGORITHM=ozdst1092-a` makes a fully O'z DSt 1092 hierarchy (root, centre CA,
//! operator), `imzo enroll --algorithm ozdst1092-a` makes a national key and request,
//! payment, a national-signed operator decision, proof of possession and issuance, then
//! `imzo sign` / `imzo verify` (and `imzo x509 verify`) — valid, and invalid with one
//! byte changed. The status services answer nationally too: the centre's CRL and OCSP
//! answer verify under its national key, `imzo sign --tsa` makes a CAdES-T whose
//! time-stamp verifies, and the relying-party API accepts the national signature.
//! SQLite only (the database layer does not see the algorithm).

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

/// Whether the DER `bytes` carry the national signature algorithm OID.
fn names_national_signature(bytes: &[u8]) -> bool {
    let oid = imzo_pki::ozdst::OZDST_1092_WITH_1106;
    bytes.windows(oid.as_bytes().len()).any(|w| w == oid.as_bytes())
}

/// The centre's CRL (`/crl/rc1.crl`) and its OCSP answer for the holder, both signed with
/// the centre's national key: checked with imzo-pki against the centre certificate, and
/// `imzo x509 verify` reports the OCSP answer as the source of a good status.
fn national_status_services(
    server: &Server,
    work: &Path,
    holder: &imzo_pki::Certificate,
    centre: &imzo_pki::Certificate,
    holder_pem: &Path,
    rc1: &Path,
    root: &Path,
) {
    let serial = imzo_pki::cert::info(holder).unwrap().serial_hex;

    let response = http().get(format!("{}/crl/rc1.crl", server.base)).send().unwrap();
    assert_eq!(response.status(), 200);
    let crl = response.bytes().unwrap().to_vec();
    let parsed = imzo_pki::crl::parse(&crl).unwrap();
    assert!(parsed.issuer.contains(&imzo_pki::cert::info(centre).unwrap().subject_fields.common_name), "{}", parsed.issuer);
    assert!(names_national_signature(&crl), "the CRL is not signed with the national algorithm");
    let verified = imzo_pki::crl::verify(&crl, centre).unwrap();
    assert!(verified.entries.iter().all(|e| e.serial_hex != serial), "the holder is not revoked");
    // Under the root (another national key, another name) it does not verify, and one
    // changed byte of the signature breaks it.
    assert!(imzo_pki::crl::verify(&crl, &certificate(root)).is_err());
    let mut tampered = crl.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    assert!(imzo_pki::crl::verify(&tampered, centre).is_err());
    let crl_file = work.join("rc1.crl");
    std::fs::write(&crl_file, &crl).unwrap();

    // OCSP, asked directly: good, signed nationally by the centre (or its responder).
    let request = imzo_pki::ocsp::build_request(centre, &serial, imzo_pki::ocsp::CertIdHash::Sha1, None).unwrap();
    let response = http()
        .post(format!("{}/ocsp", server.base))
        .header("content-type", "application/ocsp-request")
        .body(request)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer = response.bytes().unwrap().to_vec();
    assert!(names_national_signature(&answer), "the OCSP answer is not signed with the national algorithm");
    let checked = imzo_pki::ocsp::check_response(&answer, centre, &serial).unwrap();
    assert_eq!(checked.status, imzo_pki::ocsp::CertStatus::Good);
    // One changed byte of the signature value (the 64-byte BIT STRING after the
    // signature algorithm; the answer's end may be an included certificate instead).
    let mut forged = answer.clone();
    let oid = imzo_pki::ozdst::OZDST_1092_WITH_1106;
    let after_oid = forged.windows(oid.as_bytes().len()).position(|w| w == oid.as_bytes()).unwrap();
    let bits = after_oid + forged[after_oid..].windows(3).position(|w| w == [0x03, 0x41, 0x00]).unwrap();
    forged[bits + 3 + 10] ^= 0x01;
    assert!(imzo_pki::ocsp::check_response(&forged, centre, &serial).is_err());

    // `imzo x509 verify`: from the OCSP responder named in the certificate, and from the CRL.
    for (extra, source) in [(None, "ocsp"), (Some(&crl_file), "crl")] {
        let mut cmd = imzo();
        cmd.args(["x509", "verify", "--json", "--untrusted"]).arg(rc1).arg("--trust").arg(root);
        if let Some(file) = extra {
            cmd.arg("--crl").arg(file);
        }
        let out = run(cmd.arg(holder_pem));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
        assert_eq!(out.status.code(), Some(0), "{json}");
        let revocation = &json["revocation"];
        assert_eq!((revocation["status"].as_str(), revocation["source"].as_str()), (Some("good"), Some(source)), "{json}");
    }
}

/// `imzo sign --tsa <server>/tsa`: a CAdES-T whose time-stamp `imzo verify` finds valid.
fn national_time_stamp(server: &Server, work: &Path, pfx: &Path, password_file: &Path, doc: &Path, root: &Path) {
    let stamped = work.join("contract-t.p7s");
    ok(imzo()
        .arg("sign")
        .arg("--pfx")
        .arg(pfx)
        .arg("--password-file")
        .arg(password_file)
        .args(["--tsa", &format!("{}/tsa", server.base)])
        .arg(doc)
        .arg("-o")
        .arg(&stamped));
    let out = run(imzo().args(["verify", "--json", "--trust"]).arg(root).arg(&stamped));
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{json}");
    let signer = &json["signers"][0];
    assert_eq!(signer["timestamp"]["valid"], true, "{json}");
    assert_eq!(signer["judged_by"], "timestamp", "{json}");
    let time = time::OffsetDateTime::parse(
        signer["timestamp"]["time"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!((time - time::OffsetDateTime::now_utc()).abs() < time::Duration::minutes(5), "{json}");
}

/// The relying-party API (`POST /backend/pkcs7/verify/attached`, base64 body) accepts the
/// national signature: status 1, verified, the signer's PINFL.
fn relying_party_verifies(server: &Server, attached: &Path) {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(std::fs::read(attached).unwrap());
    let response = http()
        .post(format!("{}/backend/pkcs7/verify/attached", server.base))
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let reply: serde_json::Value = serde_json::from_slice(&response.bytes().unwrap()).unwrap();
    assert_eq!(reply["status"], 1, "{reply}");
    let signer = &reply["pkcs7Info"]["signers"][0];
    assert_eq!(signer["verified"], true, "{reply}");
    assert_eq!(signer["certificateVerified"], true, "{reply}");
    assert_eq!(signer["certificate"][0]["subjectName"]["pinfl"], PINFL, "{reply}");
    assert_eq!(signer["certificate"][0]["subjectName"]["1.2.860.3.16.1.2"], PINFL, "{reply}");
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
    // Its certificate's status came from the national centre's OCSP responder: good.
    let json: serde_json::Value = serde_json::from_str(&report).unwrap();
    let revocation = &json["signers"][0]["revocation"];
    assert_eq!((revocation["status"].as_str(), revocation["source"].as_str()), (Some("good"), Some("ocsp")), "{json}");

    national_status_services(&server, work, &holder_cert, &centre_cert, &holder_pem, &rc1, &root);
    national_time_stamp(&server, work, &pfx, &password_file, &doc, &root);
    relying_party_verifies(&server, &attached);
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
