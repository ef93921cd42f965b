//! Certificate status against the real `imzo up`: `openssl ocsp -url` asks the running
//! server (POST) and verifies the answer; the GET form carries RFC 5019 cache headers;
//! the CRL at the distribution point verifies; `imzo revoke` (signed with the key
//! itself) makes OCSP say revoked at once and the CRL within the configured delay.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use common::{Server, http, imzo, openssl, run, text};
use std::time::{Duration, Instant};

#[test]
fn ocsp_and_crl_follow_a_revocation() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, None, &[("IMZO_STATUS_CRL_DELAY_SECONDS", "1")]);
    let w = |name: &str| work.path().join(name).to_str().unwrap().to_string();
    let d = |name: &str| data.join(name).to_str().unwrap().to_string();
    // Operators are the centres' authorised persons: the root issues their certificates,
    // so the root is the issuer OCSP and the CRL (`/crl/root.crl`) answer for here.
    let (root, ca) = (d("pki/root.pem"), d("pki/root.pem"));
    let (pfx, password) = (d("operators/operator1.pfx"), d("operators/operator1.password"));

    // The operator's certificate is the one we revoke (its holder signs with its key).
    let (ok, out) =
        openssl(&["pkcs12", "-in", &pfx, "-passin", &format!("file:{password}"), "-nokeys", "-clcerts", "-out", &w("op.pem")]);
    assert!(ok, "{out}");
    let url = format!("{}/ocsp", server.base);

    let (ok, out) = openssl(&["ocsp", "-issuer", &ca, "-cert", &w("op.pem"), "-url", &url, "-CAfile", &root]);
    assert!(ok, "{out}");
    assert!(out.contains("Response verify OK") && out.contains("op.pem: good"), "{out}");
    assert!(!out.contains("WARNING"), "{out}");

    // GET, nonce-less (RFC 5019): cacheable answer with cache headers.
    let (ok, out) = openssl(&["ocsp", "-issuer", &ca, "-cert", &w("op.pem"), "-no_nonce", "-reqout", &w("req.der")]);
    assert!(ok, "{out}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(std::fs::read(w("req.der")).unwrap());
    let escaped = encoded.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    let response = http().get(format!("{url}/{escaped}")).send().unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/ocsp-response");
    let cache = headers["cache-control"].to_str().unwrap();
    assert!(cache.contains("max-age=") && cache.contains("public"), "{cache}");
    for h in ["expires", "last-modified", "etag"] {
        assert!(headers.contains_key(h), "missing {h}: {headers:?}");
    }
    std::fs::write(w("resp.der"), response.bytes().unwrap()).unwrap();
    let (ok, out) =
        openssl(&["ocsp", "-respin", &w("resp.der"), "-CAfile", &root, "-issuer", &ca, "-cert", &w("op.pem"), "-no_nonce"]);
    assert!(ok && out.contains("Response verify OK") && out.contains("op.pem: good"), "{out}");
    // Garbage is answered with an OCSP error, not an HTTP one.
    let response = http().post(&url).header("content-type", "application/ocsp-request").body("junk").send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().unwrap().as_ref(), [0x30, 0x03, 0x0a, 0x01, 0x01]);

    // The CRL at the distribution point verifies and lists nothing yet.
    let fetch_crl = || {
        let response = http().get(format!("{}/crl/root.crl", server.base)).send().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pkix-crl");
        std::fs::write(w("crl.der"), response.bytes().unwrap()).unwrap();
        let (ok, out) = openssl(&["crl", "-inform", "DER", "-in", &w("crl.der"), "-out", &w("crl.pem")]);
        assert!(ok, "{out}");
        std::fs::write(w("chain.pem"), format!("{}{}", std::fs::read_to_string(&ca).unwrap(), std::fs::read_to_string(&root).unwrap()))
            .unwrap();
        let (ok, out) = openssl(&["crl", "-in", &w("crl.pem"), "-CAfile", &w("chain.pem"), "-noout"]);
        assert!(ok && out.contains("verify OK"), "{out}");
        openssl(&["verify", "-crl_check", "-CAfile", &w("chain.pem"), "-CRLfile", &w("crl.pem"), &w("op.pem")])
    };
    let (ok, out) = fetch_crl();
    assert!(ok, "{out}");
    assert_eq!(http().get(format!("{}/crl/nope.crl", server.base)).send().unwrap().status(), 404);

    // `imzo x509 verify` asks the OCSP responder named in the certificate.
    let x509_verify = |extra: &[&str]| {
        let mut args = vec!["x509", "verify", "--json", "--untrusted", &ca, "--trust", &root];
        args.extend_from_slice(extra);
        let op = w("op.pem");
        args.push(&op);
        let out = run(imzo().args(&args));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
        (out.status.code(), json)
    };
    let (code, json) = x509_verify(&[]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!((json["revocation"]["status"].as_str(), json["revocation"]["source"].as_str()), (Some("good"), Some("ocsp")), "{json}");
    let (code, json) = x509_verify(&["--crl", &w("crl.der")]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!((json["revocation"]["status"].as_str(), json["revocation"]["source"].as_str()), (Some("good"), Some("crl")), "{json}");
    // Signatures made before the revocation, to judge afterwards: one time-stamped by the
    // deployment's TSA (CAdES-T), one whose signing time is only the signer's claim.
    std::fs::write(w("doc.txt"), "hujjat").unwrap();
    let out = run(imzo().args(["sign", "--pfx", &pfx, "--password-file", &password, &w("doc.txt"), "-o", &w("doc.p7s")]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tsa = format!("{}/tsa", server.base);
    let out =
        run(imzo().args(["sign", "--pfx", &pfx, "--password-file", &password, "--tsa", &tsa, &w("doc.txt"), "-o", &w("doc-t.p7s")]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::thread::sleep(Duration::from_millis(1100));

    // A holder may not declare a CA's key compromised; without a terminal nor
    // --password-file the password cannot be asked, and the message says what to do.
    let out = run(imzo().args(["revoke", "--pfx", &pfx, "--password-file", &password, "--reason", "cACompromise", "--server", &server.base]));
    assert_eq!(out.status.code(), Some(2), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("only a certification authority"), "{}", text(&out.stderr));
    // setsid: a new session has no controlling terminal, even when the tests run in one.
    let out = run(std::process::Command::new("setsid").args(["-w", env!("CARGO_BIN_EXE_imzo"), "revoke", "--pfx", &pfx, "--server", &server.base]));
    assert_eq!(out.status.code(), Some(2), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("--password-file"), "{}", text(&out.stderr));

    // The holder revokes with the key itself.
    let revoked_at = Instant::now();
    let out = run(imzo()
        .args(["revoke", "--pfx", &pfx, "--password-file", &password, "--reason", "keyCompromise", "--server", &server.base]));
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("revoked"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("(Asia/Tashkent)") && !text(&out.stdout).contains("+00:00:00"), "{}", text(&out.stdout));

    let (ok, out) = openssl(&["ocsp", "-issuer", &ca, "-cert", &w("op.pem"), "-url", &url, "-CAfile", &root]);
    assert!(ok && out.contains("Response verify OK") && out.contains("op.pem: revoked"), "{out}");
    assert!(out.contains("keyCompromise"), "{out}");
    let ocsp_delay = revoked_at.elapsed();

    // The CRL follows within the configured delay (1 s here), allowing for the poll.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (ok, out) = fetch_crl();
        if !ok {
            assert!(out.contains("certificate revoked"), "{out}");
            break;
        }
        assert!(Instant::now() < deadline, "the CRL still does not list the revoked certificate:\n{}", server.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("revocation → OCSP revoked: {ocsp_delay:?}; → CRL: {:?}", revoked_at.elapsed());

    // `imzo x509 verify` now says revoked (exit 1), from OCSP or from the CRL given.
    let (code, json) = x509_verify(&[]);
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["valid"], false);
    assert_eq!((json["revocation"]["status"].as_str(), json["revocation"]["source"].as_str()), (Some("revoked"), Some("ocsp")), "{json}");
    assert_eq!(json["revocation"]["reason"], "keyCompromise");
    let (code, json) = x509_verify(&["--crl", &w("crl.pem")]);
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["revocation"]["source"], "crl", "{json}");
    // `imzo verify`: the claimed signing time proves nothing — judged now, revoked; the
    // time-stamp proves the other signature older than the revocation — judged then, good.
    let verify_file = |file: &str, extra: &[&str]| {
        let doc = w(file);
        let mut args = vec!["verify", "--json", "--trust", &root, &doc];
        args.extend_from_slice(extra);
        let out = run(imzo().args(&args));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
        (out.status.code(), json)
    };
    let (code, json) = verify_file("doc.p7s", &[]);
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["signers"][0]["revocation"]["status"], "revoked", "{json}");
    assert_eq!(json["signers"][0]["judged_by"], "now", "{json}");
    assert!(json["errors"].as_array().unwrap().iter().any(|e| e["code"] == "revoked"), "{json}");
    let (code, json) = verify_file("doc-t.p7s", &[]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["signers"][0]["judged_by"], "timestamp", "{json}");
    assert_eq!(json["signers"][0]["revocation"]["status"], "good", "{json}");
    assert_eq!(json["signers"][0]["revocation"]["source"], "ocsp", "{json}");
    assert!(json["signers"][0]["revocation"]["revoked_at"].is_string(), "the later revocation is still reported: {json}");
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let (code, json) = verify_file("doc-t.p7s", &["--at", &now]);
    assert_eq!(code, Some(1), "{json}");
    assert_eq!(json["signers"][0]["revocation"]["status"], "revoked", "{json}");


    // Revoking twice is refused (exit 1), and a revoked operator cannot act any more.
    let out = run(imzo().args(["revoke", "--pfx", &pfx, "--password-file", &password, "--server", &server.base]));
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let serial = {
        let (ok, out) = openssl(&["x509", "-in", &w("op.pem"), "-noout", "-serial"]);
        assert!(ok);
        out.trim().trim_start_matches("serial=").to_string()
    };
    let out =
        run(imzo().args(["operator", "release", &serial, "--pfx", &pfx, "--password-file", &password, "--server", &server.base]));
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let out = run(imzo().args(["operator", "revoke", &serial, "--reason", "bogus", "--pfx", &pfx, "--password-file", &password]));
    assert_eq!(out.status.code(), Some(2), "a bad reason is a usage error: {}", text(&out.stderr));

    server.stop();
}
