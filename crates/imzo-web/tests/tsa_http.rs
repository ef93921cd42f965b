//! `POST /tsa` over HTTP, on SQLite and PostgreSQL: requests made by `openssl ts -query`,
//! answers checked by `openssl ts -verify` against the root, serial numbers unique under
//! concurrent requests, refusals as RFC 3161 rejections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-ra/tests/common/mod.rs"]
mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Db, Env, env};
use imzo_pki::cert;
use imzo_pki::tsp::{self, HashAlgorithm, TimeStampRequest};
use imzo_web::{AppState, router};
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use tower::ServiceExt as _;

struct Site {
    env: Env,
    app: Router,
}

async fn site(db: Db) -> Option<Site> {
    let env = env(db).await?;
    let app = router(AppState {
        registration: env.ra.clone(),
        payme: env.ra.clone(),
        ca_certificates: Vec::new(),
        dev_outbox: false,
        payme_sandbox: false,
        payme_merchant_id: None,
        click: None,
        paynet: None,
    });
    Some(Site { env, app })
}

impl Site {
    async fn tsa(&self, content_type: &str, body: Vec<u8>) -> (StatusCode, Option<String>, Vec<u8>) {
        let request = Request::post("/tsa").header("content-type", content_type).body(Body::from(body)).unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let media = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, media, bytes.to_vec())
    }
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

macro_rules! on_both_databases {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $body(site(Db::Sqlite).await.unwrap()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(site) = site(Db::Postgres).await {
                    $body(site).await;
                }
            }
        }
    };
}

on_both_databases!(openssl_verifies_tokens, openssl_round_trip);
on_both_databases!(serials_unique_and_refusals, serials_and_refusals);

async fn openssl_round_trip(s: Site) {
    let dir = s.env.dir.path();
    std::fs::write(dir.join("root.pem"), cert::to_pem(&s.env.root).unwrap()).unwrap();
    std::fs::write(dir.join("centre.pem"), cert::to_pem(&s.env.centre).unwrap()).unwrap();
    std::fs::write(dir.join("doc.txt"), b"archive salary certificate request").unwrap();
    for hash in ["-sha256", "-sha384", "-sha1"] {
        let (ok, out) = openssl(dir, &["ts", "-query", "-data", "doc.txt", hash, "-cert", "-out", "q.tsq"]);
        assert!(ok, "{out}");
        let (status, media, reply) = s.tsa("application/timestamp-query", std::fs::read(dir.join("q.tsq")).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(media.as_deref(), Some("application/timestamp-reply"));
        std::fs::write(dir.join("r.tsr"), &reply).unwrap();
        let (ok, out) = openssl(dir, &["ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "root.pem", "-untrusted", "centre.pem"]);
        assert!(ok && out.contains("Verification: OK"), "{hash}: {out}");
        let (ok, out) = openssl(dir, &["ts", "-reply", "-in", "r.tsr", "-text"]);
        assert!(ok, "{out}");
        assert!(out.contains("Status: Granted") && out.contains(imzo_ca::tsa::DEFAULT_POLICY_OID), "{out}");
        assert!(out.contains("Nonce: 0x") && out.contains("Time-Stamping Authority"), "{out}");
    }
    // The TSA certificate inside: critical EKU timeStamping, issued by the centre.
    let (ok, out) = openssl(dir, &["ts", "-reply", "-in", "r.tsr", "-token_out", "-out", "token.der"]);
    assert!(ok, "{out}");
    let (ok, out) = openssl(dir, &["pkcs7", "-inform", "DER", "-in", "token.der", "-print_certs", "-text", "-noout"]);
    assert!(ok && out.contains("Extended Key Usage: critical\n                Time Stamping\n"), "{out}");
    assert!(out.contains("Time-Stamping Authority") && out.contains("Issuer: C=UZ, O=Imzo tests, CN=Test Registration Centre 1\n"), "{out}");
    // A different trust anchor must not verify.
    let other = imzo_keys::SoftwareKey::generate().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let stranger = cert::issue(
        None,
        &other,
        &cert::IssueParams {
            subject: imzo_pki::name::Subject { common_name: "Stranger".into(), ..Default::default() },
            subject_public_key_der: imzo_keys::RawSigner::public_key_der(&other).to_vec(),
            serial: vec![7],
            not_before: now - time::Duration::hours(1),
            not_after: now + time::Duration::days(1),
            profile: cert::Profile::Root,
            urls: cert::PublicationUrls::default(),
            policy_oid: None,
        },
    )
    .unwrap();
    std::fs::write(dir.join("stranger.pem"), cert::to_pem(&stranger).unwrap()).unwrap();
    let (ok, out) = openssl(dir, &["ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "stranger.pem", "-untrusted", "centre.pem"]);
    assert!(!ok, "{out}");
}

async fn serials_and_refusals(s: Site) {
    let data = b"same data, many requests";
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let app = s.app.clone();
        tasks.push(tokio::spawn(async move {
            let request = TimeStampRequest::for_data(HashAlgorithm::Sha256, data).unwrap();
            let http = Request::post("/tsa")
                .header("content-type", "application/timestamp-query")
                .body(Body::from(request.to_der().unwrap()))
                .unwrap();
            let response = app.oneshot(http).await.unwrap();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
            let token = tsp::token_from_response(&bytes, &request).unwrap();
            tsp::read_token(&token).unwrap().serial_hex
        }));
    }
    let mut serials = HashSet::new();
    for t in tasks {
        assert!(serials.insert(t.await.unwrap()), "a serial number was issued twice");
    }
    assert_eq!(imzo_store::timestamps::count(s.env.store.pool()).await.unwrap(), 16);

    let request = TimeStampRequest::for_data(HashAlgorithm::Sha256, data).unwrap();
    let (status, _, reply) = s.tsa("application/timestamp-query", request.to_der().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let token = tsp::token_from_response(&reply, &request).unwrap();
    let report = tsp::verify_token(&token, Some(data), std::slice::from_ref(&s.env.root)).unwrap();
    assert!(report.valid, "{:?}", report.errors);

    // Refusals: an unknown policy, garbage, and a body of another media type.
    let mut other_policy = TimeStampRequest::for_data(HashAlgorithm::Sha256, data).unwrap();
    other_policy.policy = Some("1.2.3.4.5".into());
    let (status, _, reply) = s.tsa("application/timestamp-query", other_policy.to_der().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let err = tsp::token_from_response(&reply, &other_policy).unwrap_err().to_string();
    assert!(err.contains("refused") && err.contains("1.2.3.4.5"), "{err}");
    let (status, _, reply) = s.tsa("application/timestamp-query", b"not DER".to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(tsp::token_from_response(&reply, &request).unwrap_err().to_string().contains("refused"));
    let (status, _, _) = s.tsa("application/json", b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(imzo_store::timestamps::count(s.env.store.pool()).await.unwrap(), 17);
}
