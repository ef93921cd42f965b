//! The operator's review over HTTP, on SQLite and PostgreSQL: the queue, an application
//! with its decoded PINFL and payment, and its documents byte for byte, each behind a
//! signed request with a single-use challenge and each audited; a holder's key, a key
//! from no known chain, a replayed challenge and a request signed for something else are
//! refused with 403, and leave no audit row behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-ra/tests/common/mod.rs"]
mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Applicant, Db, Env, documents, env, operator_sign, submitted};
use imzo_gateways::payme::Ledger as _;
use imzo_keys::SoftwareKey;
use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::name::Subject;
use imzo_web::{AppState, router};
use serde_json::{Value, json};
use sqlx::Row as _;
use time::OffsetDateTime;
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

struct Answer {
    status: StatusCode,
    content_type: String,
    cache_control: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code: {}", self.json())).to_owned()
    }
}

impl Site {
    async fn post(&self, uri: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let request = Request::post(uri).header("content-type", content_type).body(Body::from(body)).unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let (status, content_type, cache_control) =
            (response.status(), header("content-type"), header("cache-control"));
        let body = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap().to_vec();
        Answer { status, content_type, cache_control, body }
    }

    /// A fresh operator challenge over HTTP.
    async fn challenge(&self) -> (String, String) {
        let answer = self.post("/api/v1/operator/challenge", "application/json", b"{}".to_vec()).await;
        assert_eq!(answer.status, StatusCode::OK);
        let c = answer.json();
        (c["id"].as_str().unwrap().to_owned(), c["challenge_base64"].as_str().unwrap().to_owned())
    }

    /// An OperatorRequest document over a fresh challenge.
    async fn request(&self, action: &str, application: Option<&str>, kind: Option<&str>) -> Value {
        let (id, challenge) = self.challenge().await;
        let mut doc = json!({ "challenge_id": id, "challenge_base64": challenge, "action": action });
        if let Some(a) = application {
            doc["application"] = a.into();
        }
        if let Some(k) = kind {
            doc["kind"] = k.into();
        }
        doc
    }

    async fn viewed_audits(&self) -> i64 {
        let row = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = 'operator.viewed'")
            .fetch_one(self.env.store.pool())
            .await
            .unwrap();
        row.try_get::<i64, _>(0).unwrap()
    }

    async fn pay(&self, number: &str, fee: i64, txn: &str) {
        self.env.ra.create(txn, 1_700_000_000_000, fee, number).await.unwrap();
        self.env.ra.perform(txn).await.unwrap();
    }
}

/// A key and certificate the deployment has never heard of (its own self-signed root).
fn stranger() -> (SoftwareKey, imzo_pki::Certificate) {
    let key = SoftwareKey::generate().unwrap();
    let now = OffsetDateTime::now_utc();
    let params = IssueParams {
        subject: Subject { common_name: "Operator One".into(), country: Some("UZ".into()), ..Subject::default() },
        subject_public_key_der: imzo_keys::RawSigner::public_key_der(&key).to_vec(),
        serial: vec![9],
        not_before: now - time::Duration::hours(1),
        not_after: now + time::Duration::days(30),
        profile: Profile::Root,
        urls: PublicationUrls::default(),
        policy_oid: None,
    };
    let certificate = cert::issue(None, &key, &params).unwrap();
    (key, certificate)
}

async fn review(s: Site) {
    let (number, fee, applicant) = submitted(&s.env, "+998 90 123 45 67", "first").await;
    s.pay(&number, fee, "6305e3bab097f420a62ced01").await;
    let (passport, selfie) = documents();

    // The queue: the paid application with its documents listed; one audit row.
    let doc = s.request("queue", None, None).await;
    let answer = s.post("/api/v1/operator/queue", "application/pkcs7-mime", operator_sign(&s.env, &doc)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.cache_control, "no-store");
    let queue = answer.json();
    let apps = queue["applications"].as_array().unwrap();
    assert_eq!(apps.len(), 1, "{queue}");
    assert_eq!(apps[0]["number"], number.as_str());
    assert_eq!(apps[0]["state"], "paid");
    assert_eq!(apps[0]["documents"].as_array().unwrap().len(), 2);
    assert_eq!(s.viewed_audits().await, 1);

    // Replaying the same signed request: the challenge is used up.
    let replay = s.post("/api/v1/operator/queue", "application/pkcs7-mime", operator_sign(&s.env, &doc)).await;
    assert_eq!((replay.status, replay.error_code().as_str()), (StatusCode::FORBIDDEN, "challenge_invalid"));

    // One application, as JSON {cms_base64}: the data, the PINFL decoded, the payment.
    let doc = s.request("show", Some(&number), None).await;
    let cms_json = json!({ "cms_base64": base64_of(&operator_sign(&s.env, &doc)) }).to_string();
    let uri = format!("/api/v1/operator/applications/{number}");
    let answer = s.post(&uri, "application/json", cms_json.into_bytes()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.body));
    let shown = answer.json();
    assert_eq!(shown["pinfl"], "32808810170066");
    assert_eq!(shown["pinfl_birth_date"], "1981-08-28");
    assert_eq!(shown["pinfl_sex"], "male");
    assert_eq!(shown["birth_date"], "1981-08-28");
    assert_eq!(shown["passport"], "AA1234567");
    assert_eq!(shown["phone"], "998901234567");
    assert_eq!(shown["payment"]["amount_tiyin"], fee);
    assert!(shown["payment"]["paid_at"].is_string(), "{shown}");
    assert_eq!(s.viewed_audits().await, 2);

    // The documents, byte for byte under their media types.
    for (kind, upload, media) in [("passport", &passport, "application/pdf"), ("selfie", &selfie, "image/png")] {
        let doc = s.request("document", Some(&number), Some(kind)).await;
        let uri = format!("/api/v1/operator/applications/{number}/documents/{kind}");
        let answer = s.post(&uri, "application/pkcs7-mime", operator_sign(&s.env, &doc)).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.content_type, media);
        assert_eq!(answer.cache_control, "no-store");
        assert_eq!(answer.body, upload.bytes, "{kind} differs from the upload");
    }
    assert_eq!(s.viewed_audits().await, 4);
    let row = sqlx::query(
        "SELECT actor, subject, details FROM audit_log WHERE action = 'operator.viewed' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(s.env.store.pool())
    .await
    .unwrap();
    assert!(row.try_get::<String, _>("actor").unwrap().starts_with("operator:"));
    assert_eq!(row.try_get::<String, _>("subject").unwrap(), number);
    assert!(row.try_get::<String, _>("details").unwrap().contains("selfie"));

    // Unknown application or document: 404, nothing audited, the challenge still usable.
    let doc = s.request("show", Some("123456789012"), None).await;
    let signed = operator_sign(&s.env, &doc);
    let answer = s.post("/api/v1/operator/applications/123456789012", "application/pkcs7-mime", signed).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::NOT_FOUND, "no_application"));
    let doc = s.request("document", Some(&number), Some("diploma")).await;
    let uri = format!("/api/v1/operator/applications/{number}/documents/diploma");
    let answer = s.post(&uri, "application/pkcs7-mime", operator_sign(&s.env, &doc)).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::NOT_FOUND, "no_document"));
    let doc_again =
        json!({ "challenge_id": doc["challenge_id"], "challenge_base64": doc["challenge_base64"], "action": "queue" });
    let answer = s.post("/api/v1/operator/queue", "application/pkcs7-mime", operator_sign(&s.env, &doc_again)).await;
    assert_eq!(answer.status, StatusCode::OK, "a refused view must not use up the challenge");
    assert_eq!(s.viewed_audits().await, 5);

    // Refusals, none audited: a request signed for another application (or action).
    let other = s.request("show", Some("123456789012"), None).await;
    let answer = s
        .post(
            &format!("/api/v1/operator/applications/{number}"),
            "application/pkcs7-mime",
            operator_sign(&s.env, &other),
        )
        .await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::FORBIDDEN, "request_mismatch"));
    let queue_doc = s.request("queue", None, None).await;
    let uri = format!("/api/v1/operator/applications/{number}/documents/passport");
    let answer = s.post(&uri, "application/pkcs7-mime", operator_sign(&s.env, &queue_doc)).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::FORBIDDEN, "request_mismatch"));

    // A key from no known chain.
    let (key, certificate) = stranger();
    let doc = s.request("queue", None, None).await;
    let content = serde_json::to_vec(&doc).unwrap();
    let options = imzo_pki::cms::SignOptions { detached: false, signing_time: OffsetDateTime::now_utc() };
    let forged = imzo_pki::cms::sign(&content, &key, &[certificate], &options).unwrap();
    let answer = s.post("/api/v1/operator/queue", "application/pkcs7-mime", forged).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::FORBIDDEN, "bad_signature"));

    // A holder's key, valid and chaining to the root, is still no operator's.
    let decision = {
        let (id, challenge) = s.challenge().await;
        json!({ "challenge_id": id, "challenge_base64": challenge, "application": number, "decision": "approve" })
    };
    let answer = s.post("/api/v1/operator/decisions", "application/pkcs7-mime", operator_sign(&s.env, &decision)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json()["state"], "approved");
    let issued = confirm(&s, &number, &applicant).await;
    let doc = s.request("queue", None, None).await;
    let chain = format!("{}{}", pem(&s.env.centre), pem(&s.env.root));
    let holder_signed = applicant.sign_as_holder(&serde_json::to_vec(&doc).unwrap(), &issued, &chain);
    let answer = s.post("/api/v1/operator/queue", "application/pkcs7-mime", holder_signed).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::FORBIDDEN, "not_operator"));
    let uri = format!("/api/v1/operator/applications/{number}/documents/selfie");
    let doc = s.request("document", Some(&number), Some("selfie")).await;
    let holder_signed = applicant.sign_as_holder(&serde_json::to_vec(&doc).unwrap(), &issued, &chain);
    let answer = s.post(&uri, "application/pkcs7-mime", holder_signed).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::FORBIDDEN, "not_operator"));

    // Bad bodies keep the API's error shape.
    let answer = s.post("/api/v1/operator/queue", "text/plain", b"x".to_vec()).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let answer = s.post("/api/v1/operator/queue", "application/pkcs7-mime", b"not a cms".to_vec()).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "malformed_operator_request")
    );

    // The approved application left the queue; every refusal left no audit row.
    assert_eq!(s.viewed_audits().await, 5);
    let doc = s.request("queue", None, None).await;
    let answer = s.post("/api/v1/operator/queue", "application/pkcs7-mime", operator_sign(&s.env, &doc)).await;
    assert_eq!(answer.json()["applications"], json!([]));
    assert_eq!(s.viewed_audits().await, 6);
}

/// Confirms an approved application with the applicant's proof; the certificate, PEM.
async fn confirm(s: &Site, number: &str, applicant: &Applicant) -> String {
    let challenge = s.env.ra.new_challenge(number).await.unwrap();
    let issued = s.env.ra.confirm(number, &challenge.id, &applicant.prove(&challenge.challenge_base64)).await.unwrap();
    issued.certificate_pem
}

fn pem(certificate: &imzo_pki::Certificate) -> String {
    cert::to_pem(certificate).unwrap()
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_review_sqlite() {
    review(site(Db::Sqlite).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_review_postgres() {
    if let Some(site) = site(Db::Postgres).await {
        review(site).await;
    }
}
