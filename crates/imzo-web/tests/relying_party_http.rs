//! The relying-party endpoints of protocols/relying-party.md over HTTP, on SQLite and
//! PostgreSQL, written from that document: challenge and login (finished on another
//! node), attached and detached verification with every signer field, make-attached,
//! join and time-stamping, and the status codes for bad signatures and parameters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-ra/tests/common/mod.rs"]
mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use common::{Db, Env, env};
use imzo_pki::cms::{self, SignOptions};
use serde_json::Value;
use time::OffsetDateTime;
use tower::ServiceExt as _;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap()
}

fn app(env: &Env) -> Router {
    imzo_web::router(imzo_web::AppState {
        registration: env.ra.clone(),
        payme: env.ra.clone(),
        ca_certificates: Vec::new(),
        dev_outbox: false,
        payme_sandbox: false,
        payme_merchant_id: None,
        click: None,
        paynet: None,
    })
}

async fn call(app: &Router, method: &str, uri: &str, body: String) -> (StatusCode, Option<String>, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "text/plain")
        .header("x-real-ip", "203.0.113.7")
        .header("host", "service.gov.uz")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let cache = response.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (status, cache, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn sign(env: &Env, content: &[u8], detached: bool) -> Vec<u8> {
    cms::sign(
        content,
        env.operator_key.as_ref(),
        &[env.operator_cert.clone(), env.centre.clone(), env.root.clone()],
        &SignOptions { detached, signing_time: OffsetDateTime::now_utc() },
    )
    .unwrap()
}

fn is_tashkent_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    let b = s.as_bytes();
    s.len() == 19
        && b[4] == b'.'
        && b[7] == b'.'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && s.chars().filter(char::is_ascii_digit).count() == 14
}

macro_rules! on_both_databases {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $body(env(Db::Sqlite).await.unwrap()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(env) = env(Db::Postgres).await {
                    $body(env).await;
                }
            }
        }
    };
}

on_both_databases!(login_with_challenge, login);
on_both_databases!(verify_attach_join_timestamp, documents);

async fn login(env: Env) {
    let (node_a, node_b) = (app(&env), app(&env));
    let (status, cache, reply) = call(&node_a, "GET", "/frontend/challenge", String::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(cache.unwrap().contains("no-cache"));
    assert_eq!(reply["status"], 1, "{reply}");
    assert_eq!(reply["ttl"], 120);
    let challenge = reply["challenge"].as_str().unwrap().to_string();
    assert!(challenge.len() >= 16);

    // Finished on the other node: the challenge lives in the database.
    let cms = sign(&env, challenge.as_bytes(), false);
    let (status, _, reply) = call(&node_b, "POST", "/backend/auth", b64(&cms)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["status"], 1, "{reply}");
    let info = &reply["subjectCertificateInfo"];
    let serial = imzo_pki::cert::info(&env.operator_cert).unwrap().serial_hex;
    assert_eq!(info["serialNumber"], serial.as_str());
    assert!(info["subjectName"]["CN"].as_str().unwrap().len() > 1, "{reply}");
    assert!(is_tashkent_time(&info["validFrom"]) && is_tashkent_time(&info["validTo"]), "{reply}");

    // Each challenge logs in once; unknown challenges never.
    let (_, _, reply) = call(&node_a, "POST", "/backend/auth", b64(&cms)).await;
    assert_eq!(reply["status"], -20, "{reply}");
    let (_, _, reply) = call(&node_a, "POST", "/backend/auth", b64(&sign(&env, b"made-up challenge", false))).await;
    assert_eq!(reply["status"], -20, "{reply}");
    // A detached signature carries no challenge; garbage is a bad parameter.
    let (_, _, fresh) = call(&node_a, "GET", "/frontend/challenge", String::new()).await;
    let detached = sign(&env, fresh["challenge"].as_str().unwrap().as_bytes(), true);
    let (status, _, _) = call(&node_a, "POST", "/backend/auth", b64(&detached)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(&node_a, "POST", "/backend/auth", "%%% not base64".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(&node_a, "POST", "/backend/auth", b64(b"not a CMS")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn documents(env: Env) {
    let site = app(&env);
    let document = b"Arxiv ish haqi ma'lumotnomasi so'rovi / archive salary certificate request".to_vec();

    // Attached: every signer field of relying-party.md.
    let attached = sign(&env, &document, false);
    let (status, _, reply) = call(&site, "POST", "/backend/pkcs7/verify/attached", b64(&attached)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["status"], 1, "{reply}");
    assert_eq!(unb64(&reply["pkcs7Info"]["documentBase64"]), document);
    let signer = &reply["pkcs7Info"]["signers"][0];
    for field in [
        "signerId", "signingTime", "signature", "digest", "certificate", "OCSPResponse", "verified", "certificateVerified",
        "certificateValidAtSigningTime", "revokedStatusInfo", "timeStampInfo", "policyIdentifiers", "exception",
    ] {
        assert!(signer.get(field).is_some(), "missing {field}: {signer}");
    }
    assert_eq!(signer["verified"], true);
    assert_eq!(signer["certificateVerified"], true);
    assert_eq!(signer["certificateValidAtSigningTime"], true);
    assert_eq!(signer["revokedStatusInfo"]["status"], "good", "{signer}");
    assert!(is_tashkent_time(&signer["signingTime"]), "{signer}");
    let chain = signer["certificate"].as_array().unwrap();
    assert_eq!(chain.len(), 3, "holder, CA, root: {signer}");
    assert_eq!(chain[1]["subjectName"]["CN"], "Test Registration Centre 1");
    assert_eq!(chain[2]["subjectName"]["CN"], "Test Authorised Body Root");
    let ocsp = unb64(&signer["OCSPResponse"]);
    let checked = imzo_pki::ocsp::check_response(&ocsp, &env.centre, chain[0]["serialNumber"].as_str().unwrap()).unwrap();
    assert_eq!(checked.status, imzo_pki::ocsp::CertStatus::Good);
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&document))
    };
    assert_eq!(signer["digest"], sha256.as_str());
    assert!(signer["timeStampInfo"].is_null());

    // Detached: right data, wrong data, bad parameters.
    let detached = sign(&env, &document, true);
    let body = format!("{}|{}", b64(&document), b64(&detached));
    let (_, _, reply) = call(&site, "POST", "/backend/pkcs7/verify/detached", body.clone()).await;
    assert_eq!(reply["status"], 1, "{reply}");
    assert!(reply["pkcs7Info"].get("documentBase64").is_none(), "{reply}");
    let (_, _, reply) = call(&site, "POST", "/backend/pkcs7/verify/detached", format!("{}|{}", b64(b"other"), b64(&detached))).await;
    assert_eq!(reply["status"], -10, "{reply}");
    assert_eq!(reply["pkcs7Info"]["signers"][0]["verified"], false);
    let (status, _, _) = call(&site, "POST", "/backend/pkcs7/verify/detached", b64(&detached)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // make-attached: the data goes inside; other data is refused.
    let (_, _, reply) = call(&site, "POST", "/frontend/pkcs7/make-attached", body.clone()).await;
    assert_eq!(reply["status"], 1, "{reply}");
    let made = unb64(&reply["pkcs7b64"]);
    let (_, _, reply) = call(&site, "POST", "/backend/pkcs7/verify/attached", b64(&made)).await;
    assert_eq!(reply["status"], 1, "{reply}");
    assert_eq!(unb64(&reply["pkcs7Info"]["documentBase64"]), document);
    let (_, _, reply) =
        call(&site, "POST", "/frontend/pkcs7/make-attached", format!("{}|{}", b64(b"other"), b64(&detached))).await;
    assert_eq!(reply["status"], -10, "{reply}");

    // join: two signatures over the same document become one with two signers.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = sign(&env, &document, true);
    let (_, _, reply) = call(&site, "POST", "/frontend/pkcs7/join", format!("{}|{}", b64(&detached), b64(&second))).await;
    assert_eq!(reply["status"], 1, "{reply}");
    let joined = unb64(&reply["pkcs7b64"]);
    let (_, _, reply) = call(&site, "POST", "/backend/pkcs7/verify/detached", format!("{}|{}", b64(&document), b64(&joined))).await;
    assert_eq!(reply["status"], 1, "{reply}");
    assert_eq!(reply["pkcs7Info"]["signers"].as_array().unwrap().len(), 2, "{reply}");
    let (status, _, _) = call(&site, "POST", "/frontend/pkcs7/join", format!("{}|{}", b64(&attached), b64(&sign(&env, b"x", false)))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // timestamp: each signer gets a token from this centre's TSA, reported when verified.
    let (_, _, reply) = call(&site, "POST", "/frontend/timestamp/pkcs7", b64(&attached)).await;
    assert_eq!(reply["status"], 1, "{reply}");
    assert_eq!(reply["timestampedSignerList"].as_array().unwrap().len(), 1, "{reply}");
    let stamped = unb64(&reply["pkcs7b64"]);
    let (_, _, reply) = call(&site, "POST", "/backend/pkcs7/verify/attached", b64(&stamped)).await;
    assert_eq!(reply["status"], 1, "{reply}");
    let ts = &reply["pkcs7Info"]["signers"][0]["timeStampInfo"];
    assert_eq!(ts["verified"], true, "{reply}");
    assert!(is_tashkent_time(&ts["time"]), "{reply}");
    // OpenSSL agrees with the joined and the stamped signatures.
    let dir = env.dir.path();
    std::fs::write(dir.join("root.pem"), imzo_pki::cert::to_pem(&env.root).unwrap()).unwrap();
    std::fs::write(dir.join("doc.bin"), &document).unwrap();
    std::fs::write(dir.join("joined.p7s"), &joined).unwrap();
    std::fs::write(dir.join("stamped.p7s"), &stamped).unwrap();
    let root = dir.join("root.pem").to_str().unwrap().to_string();
    for (file, content) in [("joined.p7s", Some("doc.bin")), ("stamped.p7s", None)] {
        let path = dir.join(file).to_str().unwrap().to_string();
        let mut args = vec!["cms", "-verify", "-inform", "DER", "-in", &path, "-purpose", "any", "-CAfile", &root, "-out", "/dev/null"];
        let content_path = content.map(|c| dir.join(c).to_str().unwrap().to_string());
        if let Some(c) = &content_path {
            args.extend(["-binary", "-content", c.as_str()]);
        }
        let (ok, out) = common::openssl(&args);
        assert!(ok, "{file}: {out}");
    }
    // Already stamped: nothing more to do.
    let (_, _, reply) = call(&site, "POST", "/frontend/timestamp/pkcs7", b64(&stamped)).await;
    assert_eq!(reply["timestampedSignerList"].as_array().unwrap().len(), 0, "{reply}");
}
