//! Time-stamping against the real `imzo up`: `openssl ts -query | curl` gets a token that
//! `openssl ts -verify` accepts; `imzo sign --tsa` adds a signature time-stamp (CAdES-T)
//! that OpenSSL's CMS verifier tolerates and `imzo verify --json` reports; the
//! configured policy OID is the one in the tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, imzo, openssl, run, text};
use std::process::{Command, Stdio};

const POLICY: &str = "1.2.860.3.2.3.77";

#[test]
fn tsa_endpoint_and_cades_t() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, None, &[("IMZO_TSA_POLICY_OID", POLICY)]);
    let w = |name: &str| work.path().join(name).to_str().unwrap().to_string();
    let d = |name: &str| data.join(name).to_str().unwrap().to_string();
    let (root, ca) = (d("pki/root.pem"), d("pki/rc1.pem"));
    let tsa_url = format!("{}/tsa", server.base);
    std::fs::write(w("doc.txt"), "Request for an archive salary certificate\n").unwrap();

    // openssl ts -query | curl … | openssl ts -verify
    let mut query = Command::new("openssl")
        .args(["ts", "-query", "-data", &w("doc.txt"), "-sha256", "-cert"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let curl = Command::new("curl")
        .args(["-sS", "-f", "-H", "Content-Type: application/timestamp-query", "--data-binary", "@-", "-o", &w("r.tsr"), &tsa_url])
        .stdin(query.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(query.wait().unwrap().success());
    assert!(curl.status.success(), "{}", text(&curl.stderr));
    let (ok, out) = openssl(&["ts", "-verify", "-in", &w("r.tsr"), "-data", &w("doc.txt"), "-CAfile", &root, "-untrusted", &ca]);
    assert!(ok && out.contains("Verification: OK"), "{out}");
    let (ok, out) = openssl(&["ts", "-reply", "-in", &w("r.tsr"), "-text"]);
    assert!(ok && out.contains(&format!("Policy OID: {POLICY}")), "{out}");

    // imzo sign --tsa: CAdES-T.
    let (pfx, password) = (d("operators/operator1.pfx"), d("operators/operator1.password"));
    let out = run(imzo().args(["sign", "--pfx", &pfx, "--password-file", &password, "--tsa", &tsa_url, &w("doc.txt"), "-o", &w("doc.p7s")]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (ok, out) = openssl(&["cms", "-verify", "-inform", "DER", "-in", &w("doc.p7s"), "-purpose", "any", "-CAfile", &root, "-out", "/dev/null"]);
    assert!(ok, "{out}");
    let (ok, out) = openssl(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", &w("doc.p7s")]);
    assert!(ok && out.contains("id-smime-aa-timeStampToken"), "{out}");

    let out = run(imzo().args(["verify", "--json", "--trust", &root, &w("doc.p7s")]));
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{json}");
    let ts = &json["signers"][0]["timestamp"];
    assert_eq!(ts["valid"], true, "{json}");
    assert_eq!(ts["policy"], POLICY, "{json}");
    assert!(ts["tsa"].as_str().unwrap().contains("Time-Stamping Authority"), "{json}");
    let time = time::OffsetDateTime::parse(ts["time"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert!((time - time::OffsetDateTime::now_utc()).abs() < time::Duration::minutes(5), "{json}");
    let human = run(imzo().args(["verify", "--trust", &root, &w("doc.p7s")]));
    assert!(text(&human.stdout).contains("Time-stamp: ") && text(&human.stdout).contains("(valid)"), "{}", text(&human.stdout));

    // A signature without a time-stamp reports none; a TSA that is not there fails the
    // signing with a clear message and exit status 2, writing nothing.
    let out = run(imzo().args(["sign", "--pfx", &pfx, "--password-file", &password, &w("doc.txt"), "-o", &w("plain.p7s")]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(imzo().args(["verify", "--json", "--trust", &root, &w("plain.p7s")]));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["signers"][0]["timestamp"].is_null(), "{json}");
    let out = run(imzo().args([
        "sign", "--pfx", &pfx, "--password-file", &password, "--tsa", "http://127.0.0.1:9/tsa", &w("doc.txt"), "-o", &w("none.p7s"),
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("TSA"), "{}", text(&out.stderr));
    assert!(!std::path::Path::new(&w("none.p7s")).exists());
}
