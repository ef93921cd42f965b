//! The relying-party API does not take the signer's word for when they signed: a held or
//! revoked certificate fails now however the signingTime is set back (faketime), unless
//! a time-stamp from before the change proves the signature older; an impossible
//! signingTime (future, before the certificate, before the login challenge) is -5.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-ra/tests/common/mod.rs"]
mod common;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use common::{Db, Env, env};
use imzo_pki::cms::{self, SignOptions};
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt as _;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
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

async fn call(app: &Router, method: &str, uri: &str, body: String) -> Value {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "text/plain")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// A signature whose signingTime the signer's clock says is `at`.
fn sign_at(env: &Env, content: &[u8], at: OffsetDateTime) -> Vec<u8> {
    cms::sign(
        content,
        env.operator_key.as_ref(),
        &[env.operator_cert.clone(), env.centre.clone(), env.root.clone()],
        &SignOptions { detached: false, signing_time: at },
    )
    .unwrap()
}

async fn verify(site: &Router, cms: &[u8]) -> Value {
    call(site, "POST", "/backend/pkcs7/verify/attached", b64(cms)).await
}

async fn login(site: &Router, env: &Env, clock: Duration) -> Value {
    let challenge = call(site, "GET", "/frontend/challenge", String::new()).await;
    let challenge = challenge["challenge"].as_str().unwrap().to_string();
    let cms = sign_at(env, challenge.as_bytes(), OffsetDateTime::now_utc() + clock);
    call(site, "POST", "/backend/auth", b64(&cms)).await
}

async fn set_status(env: &Env, reason: i64) {
    let serial = imzo_pki::cert::info(&env.operator_cert).unwrap().serial_hex;
    let mut tx = env.store.begin().await.unwrap();
    imzo_store::status::revoke(&mut tx, &serial, reason, imzo_store::time_ms::now_ms()).await.unwrap();
    tx.commit().await.unwrap();
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

on_both_databases!(signing_time_is_a_claim, claimed_time);

async fn claimed_time(env: Env) {
    let site = app(&env);
    let document = b"Ishonchnoma / power of attorney".to_vec();
    let now = OffsetDateTime::now_utc;

    // Impossible claims are the signer's clock: -5, for documents and for logins.
    let reply = verify(&site, &sign_at(&env, &document, now() + Duration::days(400))).await;
    assert_eq!(reply["status"], -5, "future: {reply}");
    let reply = verify(&site, &sign_at(&env, &document, now() - Duration::days(400))).await;
    assert_eq!(reply["status"], -5, "before the certificate and the root existed: {reply}");
    assert!(reply["pkcs7Info"]["signers"][0]["exception"].as_str().unwrap().contains("not yet valid"), "{reply}");
    assert_eq!(login(&site, &env, Duration::days(400)).await["status"], -5);
    // Within the certificate's life, but before the login challenge was issued.
    let reply = login(&site, &env, -Duration::seconds(330)).await;
    assert_eq!(reply["status"], -5, "signed before the challenge existed: {reply}");
    assert_eq!(login(&site, &env, Duration::ZERO).await["status"], 1);

    // Before any change: a plain signature, and one time-stamped by the centre's TSA.
    let plain = sign_at(&env, &document, now());
    let reply = verify(&site, &plain).await;
    assert_eq!(reply["status"], 1, "{reply}");
    let signer = &reply["pkcs7Info"]["signers"][0];
    assert_eq!((signer["signingTimeSource"].as_str(), signer["judgedBy"].as_str()), (Some("claimed"), Some("now")), "{signer}");
    let stamped = call(&site, "POST", "/frontend/timestamp/pkcs7", b64(&plain)).await;
    let stamped = base64::engine::general_purpose::STANDARD.decode(stamped["pkcs7b64"].as_str().unwrap()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));

    // On hold: not valid now, whatever the signature claims; the time-stamp proves the
    // stamped one older than the hold.
    set_status(&env, 6).await;
    let site = app(&env);
    let reply = verify(&site, &plain).await;
    assert_eq!(reply["status"], -11, "signed before the hold, but nothing proves it: {reply}");
    assert_eq!(reply["pkcs7Info"]["signers"][0]["revokedStatusInfo"]["status"], "on_hold", "{reply}");
    let reply = verify(&site, &stamped).await;
    assert_eq!(reply["status"], 1, "the time-stamp proves it older than the hold: {reply}");
    assert_eq!(reply["pkcs7Info"]["signers"][0]["judgedBy"], "timestamp", "{reply}");
    assert_eq!(login(&site, &env, Duration::ZERO).await["status"], -11, "a held key does not log in");

    // Revoked for key compromise; the thief sets the clock back (faketime) before signing.
    set_status(&env, 1).await;
    let site = app(&env);
    let backdated = sign_at(&env, &document, now() - Duration::seconds(30));
    let reply = verify(&site, &backdated).await;
    assert_eq!(reply["status"], -11, "{reply}");
    let info = &reply["pkcs7Info"]["signers"][0]["revokedStatusInfo"];
    assert_eq!((info["status"].as_str(), info["reason"].as_str()), (Some("revoked"), Some("keyCompromise")), "{reply}");
    assert_eq!(login(&site, &env, -Duration::seconds(30)).await["status"], -11, "a revoked key does not log in");
    assert_eq!(verify(&site, &stamped).await["status"], 1, "proven older than the revocation");
}
