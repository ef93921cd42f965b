//! `POST /api/v1/revocations` as the holder: CA-only reasons (cACompromise, aACompromise)
//! are refused naming the field, and every refusal reads in Uzbek (Latin and Cyrillic),
//! Russian and English — not English copied into each language. SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-ra/tests/common/mod.rs"]
mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Db, Env, env};
use imzo_ca::revocation::{RevocationAction, RevocationChallenge, RevocationRequest};
use imzo_pki::cms::{self, SignOptions};
use serde_json::Value;
use time::OffsetDateTime;
use tower::ServiceExt as _;

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

async fn post(app: &Router, uri: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", content_type)
        .header("accept-language", "ru")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The holder (the operator's own certificate, signed with its key) asks for `reason`.
async fn holder_request(site: &Router, env: &Env, reason: &str, challenge_base64: Option<&str>) -> (StatusCode, Value) {
    let (_, challenge) = post(site, "/api/v1/revocations/challenge", "application/json", b"{}".to_vec()).await;
    let challenge: RevocationChallenge = serde_json::from_value(challenge).unwrap();
    let request = RevocationRequest {
        challenge_id: challenge.id,
        challenge_base64: challenge_base64.map_or(challenge.challenge_base64, str::to_string),
        serial: imzo_pki::cert::info(&env.operator_cert).unwrap().serial_hex,
        action: RevocationAction::Revoke,
        reason: Some(reason.to_string()),
    };
    let signed = cms::sign(
        &serde_json::to_vec(&request).unwrap(),
        env.operator_key.as_ref(),
        &[env.operator_cert.clone(), env.centre.clone()],
        &SignOptions { detached: false, signing_time: OffsetDateTime::now_utc() },
    )
    .unwrap();
    post(site, "/api/v1/revocations", "application/pkcs7-mime", signed).await
}

fn has_cyrillic(text: &str) -> bool {
    text.chars().any(|c| ('а'..='я').contains(&c) || ('А'..='Я').contains(&c))
}

/// The messages are in their languages: no English words in uz, ru or uz_cyrl.
fn assert_translated(reply: &Value) {
    let m = &reply["error"]["message"];
    let (uz, ru, cyrl, en) = (m["uz"].as_str().unwrap(), m["ru"].as_str().unwrap(), m["uz_cyrl"].as_str().unwrap(), m["en"].as_str().unwrap());
    assert_ne!(uz, en, "{reply}");
    assert!(has_cyrillic(ru) && has_cyrillic(cyrl), "{reply}");
    for english in [" the ", " is ", " only ", " unknown "] {
        assert!(!uz.contains(english) && !ru.contains(english) && !cyrl.contains(english), "English in {reply}");
    }
    assert_eq!(reply["error"]["language"], "ru", "{reply}");
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

on_both_databases!(holder_reasons_and_texts, holder_reasons);

async fn holder_reasons(env: Env) {
    let site = app(&env);
    for reason in ["cACompromise", "aACompromise"] {
        let (status, reply) = holder_request(&site, &env, reason, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
        assert_eq!(reply["error"]["code"], "reason_not_allowed", "{reply}");
        assert_eq!(reply["error"]["field"], "reason", "{reply}");
        assert!(reply["error"]["message"]["en"].as_str().unwrap().contains(reason), "{reply}");
        assert!(reply["error"]["message"]["uz"].as_str().unwrap().contains("faqat sertifikatlash markazi"), "{reply}");
        assert!(reply["error"]["message"]["uz_cyrl"].as_str().unwrap().contains("фақат"), "{reply}");
        assert!(reply["error"]["message"]["ru"].as_str().unwrap().contains("только удостоверяющий центр"), "{reply}");
        assert_translated(&reply);
    }
    // Unknown reason, wrong challenge: worded in every language too, naming the field.
    let (status, reply) = holder_request(&site, &env, "bogus", None).await;
    assert_eq!((status, reply["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("reason")), "{reply}");
    assert_translated(&reply);
    let (status, reply) = holder_request(&site, &env, "keyCompromise", Some("AAAA")).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("challenge_invalid")), "{reply}");
    assert_translated(&reply);

    // A holder's own reason is accepted; asking again is a conflict, in words too.
    let (status, reply) = holder_request(&site, &env, "keyCompromise", None).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!((reply["status"].as_str(), reply["by"].as_str()), (Some("revoked"), Some("holder")), "{reply}");
    let (status, reply) = holder_request(&site, &env, "superseded", None).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("wrong_status")), "{reply}");
    assert_translated(&reply);
}
