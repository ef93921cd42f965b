//! Eskiz and Play Mobile against local HTTP servers that check each request and answer
//! as the providers document.

use super::*;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{patch, post};
use axum::{Form, Json, Router};
use base64::Engine;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[derive(Default)]
struct EskizSide {
    logins: usize,
    refreshes: usize,
    /// Tokens the server still accepts.
    valid: Vec<String>,
    sent: Vec<HashMap<String, String>>,
}

type Shared = Arc<Mutex<EskizSide>>;

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim_start_matches("Bearer ")
        .to_string()
}

async fn eskiz_login(
    State(s): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<serde_json::Value>) {
    if form.get("email").map(String::as_str) != Some("rc1@example.uz")
        || form.get("password").map(String::as_str) != Some("s3cret")
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"message": "Invalid credentials"})),
        );
    }
    let mut side = s.lock().unwrap();
    side.logins += 1;
    let token = format!("token-{}", side.logins);
    side.valid = vec![token.clone()];
    (
        StatusCode::OK,
        Json(
            serde_json::json!({"message": "token_generated", "data": {"token": token}, "token_type": "bearer"}),
        ),
    )
}

async fn eskiz_refresh(
    State(s): State<Shared>,
    headers: HeaderMap,
) -> (StatusCode, Json<serde_json::Value>) {
    let mut side = s.lock().unwrap();
    side.refreshes += 1;
    // Eskiz renews a token that has just expired (the test "expires" it by clearing `valid`).
    if !bearer(&headers).starts_with("token-") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"message": "Unauthenticated."})),
        );
    }
    let token = format!("refreshed-{}", side.refreshes);
    side.valid = vec![token.clone()];
    (
        StatusCode::OK,
        Json(serde_json::json!({"message": "token_generated", "data": {"token": token}})),
    )
}

async fn eskiz_send(
    State(s): State<Shared>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> (StatusCode, Json<serde_json::Value>) {
    let token = bearer(&headers);
    let mut fields = HashMap::new();
    while let Some(field) = multipart.next_field().await.unwrap() {
        let name = field.name().unwrap().to_string();
        fields.insert(name, field.text().await.unwrap());
    }
    let mut side = s.lock().unwrap();
    if !side.valid.contains(&token) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"message": "Unauthenticated."})),
        );
    }
    if fields.get("from").map(String::as_str) != Some("4546") {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"message": "from is wrong", "status": "error"})),
        );
    }
    if fields.get("mobile_phone").map(String::as_str) == Some("998990000000") {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"message": "Blacklisted number", "status": "error"})),
        );
    }
    side.sent.push(fields);
    let id = format!("{}", 4_385_000 + side.sent.len());
    (
        StatusCode::OK,
        Json(
            serde_json::json!({"id": id, "message": "Waiting for SMS provider", "status": "waiting"}),
        ),
    )
}

fn eskiz_config(base: String) -> EskizConfig {
    EskizConfig {
        base_url: format!("{base}/"),
        email: "rc1@example.uz".into(),
        password: zeroize::Zeroizing::new("s3cret".into()),
        from: "4546".into(),
        callback_url: Some("https://rc1.example.uz/sms/callback".into()),
    }
}

#[tokio::test]
async fn eskiz_logs_in_sends_and_renews_the_token() {
    let side: Shared = Arc::default();
    let app = Router::new()
        .route("/auth/login", post(eskiz_login))
        .route("/auth/refresh", patch(eskiz_refresh))
        .route("/message/sms/send", post(eskiz_send))
        .with_state(side.clone());
    let base = serve(app).await;
    let eskiz = Eskiz::new(eskiz_config(base.clone())).unwrap();

    let id = eskiz
        .send("998901234567", "Imzo: tasdiqlash kodi 123456")
        .await
        .unwrap();
    assert_eq!(id.0, "4385001");
    let id = eskiz.send("998901234568", "second").await.unwrap();
    assert_eq!(id.0, "4385002");
    {
        let side = side.lock().unwrap();
        assert_eq!(side.logins, 1, "the token is kept between messages");
        let first = &side.sent[0];
        assert_eq!(first["mobile_phone"], "998901234567");
        assert_eq!(first["message"], "Imzo: tasdiqlash kodi 123456");
        assert_eq!(first["from"], "4546");
        assert_eq!(first["callback_url"], "https://rc1.example.uz/sms/callback");
    }
    // The token expires: the client renews it with PATCH auth/refresh and sends again.
    side.lock().unwrap().valid.clear();
    let id = eskiz.send("998901234569", "third").await.unwrap();
    assert_eq!(id.0, "4385003");
    let counts = {
        let side = side.lock().unwrap();
        (side.logins, side.refreshes)
    };
    assert_eq!(counts, (1, 1));

    // A refused number is refused for good (not retried); nothing was recorded as sent.
    let err = eskiz.send("998990000000", "x").await.unwrap_err();
    assert!(
        matches!(&err, SmsError::Rejected(m) if m.contains("Blacklisted")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("998990000000"));
    assert_eq!(side.lock().unwrap().sent.len(), 3);

    // Wrong credentials: refused for good; a gateway that is down: try again later.
    let bad = Eskiz::new(EskizConfig {
        password: zeroize::Zeroizing::new("wrong".into()),
        ..eskiz_config(base)
    })
    .unwrap();
    assert!(matches!(
        bad.send("998901234567", "x").await,
        Err(SmsError::Rejected(_))
    ));
    let down = Eskiz::new(eskiz_config("http://127.0.0.1:9".into())).unwrap();
    assert!(
        down.send("998901234567", "x")
            .await
            .unwrap_err()
            .is_transient()
    );
}

#[derive(Default)]
struct PmSide {
    bodies: Vec<serde_json::Value>,
}

async fn pm_send(
    State(s): State<Arc<Mutex<PmSide>>>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> (StatusCode, Json<serde_json::Value>) {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("imzo:pm-pass")
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error-code": 401, "error-description": "Unauthorized"})),
        );
    }
    let recipient = body["messages"][0]["recipient"]
        .as_str()
        .unwrap_or("")
        .to_string();
    s.lock().unwrap().bodies.push(body);
    match recipient.as_str() {
        "998990000000" => (
            StatusCode::BAD_REQUEST,
            Json(
                serde_json::json!({"error-code": 104, "error-description": "Recipient is blacklisted"}),
            ),
        ),
        "998990000001" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({})),
        ),
        _ => (StatusCode::OK, Json(serde_json::json!({}))),
    }
}

fn pm_config(base: String, password: &str) -> PlayMobileConfig {
    PlayMobileConfig {
        base_url: base,
        login: "imzo".into(),
        password: zeroize::Zeroizing::new(password.into()),
        originator: "3700".into(),
    }
}

#[tokio::test]
async fn play_mobile_sends_the_documented_json_with_basic_auth() {
    let side: Arc<Mutex<PmSide>> = Arc::default();
    let app = Router::new()
        .route("/broker-api/send", post(pm_send))
        .with_state(side.clone());
    let base = serve(app).await;
    let gateway = Gateway::PlayMobile(PlayMobile::new(pm_config(base.clone(), "pm-pass")).unwrap());
    assert!(gateway.is_external());
    assert_eq!(gateway.name(), "playmobile");

    let id = gateway
        .deliver("rc1-17", "998901234567", "Imzo: kod 654321")
        .await
        .unwrap();
    assert_eq!(id.0, "rc1-17");
    let body = side.lock().unwrap().bodies[0].clone();
    assert_eq!(
        body,
        serde_json::json!({"messages": [{
            "recipient": "998901234567", "message-id": "rc1-17",
            "sms": {"originator": "3700", "content": {"text": "Imzo: kod 654321"}}
        }]})
    );
    let err = gateway
        .deliver("rc1-18", "998990000000", "x")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SmsError::Rejected(
            "play mobile: HTTP 400 Bad Request: error-code 104: Recipient is blacklisted".into()
        )
    );
    assert!(
        gateway
            .deliver("rc1-19", "998990000001", "x")
            .await
            .unwrap_err()
            .is_transient()
    );
    let wrong = PlayMobile::new(pm_config(base, "nope")).unwrap();
    assert!(matches!(
        wrong.send_as("rc1-20", "998901234567", "x").await,
        Err(SmsError::Rejected(_))
    ));
    // Nothing leaves the process for a malformed number.
    assert_eq!(
        gateway.deliver("rc1-21", "+998901234567", "x").await,
        Err(SmsError::InvalidPhone(13))
    );
    assert_eq!(
        side.lock().unwrap().bodies.len(),
        3,
        "the wrong password and the bad number never got in"
    );
}
