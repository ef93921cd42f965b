//! Operations over HTTP: readiness, Prometheus metrics and request ids.

use super::harness::{Harness, body_bytes, body_json, error_of, harness};
use crate::observe::is_sane_request_id;
use crate::routes::health::signing_key_usable;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use imzo_store::applications;
use std::sync::Arc;

async fn get(h: &Harness, uri: &str, request_id: Option<&str>) -> axum::http::Response<Body> {
    let mut request = Request::get(uri);
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    h.send(request.body(Body::empty()).unwrap()).await
}

async fn scrape(h: &Harness) -> String {
    let response = get(h, "/metrics", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    String::from_utf8(body_bytes(response).await).unwrap()
}

/// The value of the sample whose name and labels are exactly `series`, if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn ready_only_while_the_database_answers() {
    let h = harness(false, false).await;
    let response = get(&h, "/readyz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_bytes(response).await, b"ready");
    h.registration.store().close().await;
    let response = get(&h, "/readyz", None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let (code, _) = error_of(&body_json(response).await);
    assert_eq!(code, "not_ready");
    // Metrics still answer, saying the database is away.
    let text = scrape(&h).await;
    assert_eq!(sample(&text, "imzo_database_up"), Some(0.0), "{text}");
}

#[tokio::test]
async fn not_ready_with_a_key_that_is_not_the_ca_certificates() {
    let h = harness(false, false).await;
    let ca = h.registration.ca().clone();
    assert_eq!(signing_key_usable(&ca), Ok(()));
    let stranger = imzo_keys::SoftwareKey::generate().unwrap();
    let wrong = imzo_ca::CentreCa::new(
        ca.centre_id.clone(),
        ca.ca_id.clone(),
        ca.certificate.clone(),
        ca.root.clone(),
        Arc::new(stranger),
        imzo_pki::cert::PublicationUrls::default(),
        None,
    );
    let err = signing_key_usable(&wrong).unwrap_err();
    assert!(err.contains("not the key of the CA certificate"), "{err}");
}

#[tokio::test]
async fn metrics_count_requests_and_applications() {
    let h = harness(false, false).await;
    let before = scrape(&h).await;
    let healthz = "imzo_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}";
    assert_eq!(sample(&before, healthz), None, "{before}");
    for _ in 0..3 {
        assert_eq!(get(&h, "/healthz", None).await.status(), StatusCode::OK);
    }
    assert_eq!(get(&h, "/no/such/page", None).await.status(), StatusCode::NOT_FOUND);
    let body = serde_json::json!({
        "applicant_type": "individual", "pinfl": "32808810170066", "surname": "Karimov", "given_name": "Aziz",
        "birth_date": "1981-08-28", "region": "Toshkent shahri", "passport": "AA1234567", "phone": "+998 90 123 45 67",
    });
    let (status, started) = h.json("POST", "/api/v1/applications", &body.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let draft_id = started["draft_id"].as_str().unwrap();
    let pool = h.registration.store().pool();
    let started_state = applications::by_draft(pool, draft_id).await.unwrap().unwrap().state;
    // Two more straight into the books, in a state the HTTP start does not make.
    let mut tx = h.registration.store().begin().await.unwrap();
    for draft in ["m1", "m2"] {
        let d = applications::NewDraft {
            centre_id: "rc1",
            draft_id: draft,
            state: "paid",
            applicant_type: "individual",
            pinfl: "32808810170066",
            surname: "Karimov",
            given_name: "Aziz",
            patronymic: None,
            birth_date: "1981-08-28",
            region: "Toshkent",
            district: None,
            passport: "AA1234567",
            phone: "998901234567",
            company_inn: None,
            company_name: None,
            title: None,
        };
        applications::insert_draft(&mut tx, &d).await.unwrap();
    }
    tx.commit().await.unwrap();

    let text = scrape(&h).await;
    assert_eq!(sample(&text, healthz), Some(3.0), "{text}");
    let bucket = "imzo_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",status=\"200\",le=\"+Inf\"}";
    assert_eq!(sample(&text, bucket), Some(3.0), "{text}");
    assert_eq!(sample(&text, "imzo_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"), Some(1.0));
    // The template, not the concrete path, names the route.
    assert_eq!(sample(&text, "imzo_http_requests_total{method=\"POST\",route=\"/api/v1/applications\",status=\"201\"}"), Some(1.0));
    assert_eq!(sample(&text, &format!("imzo_applications{{centre=\"rc1\",state=\"{started_state}\"}}")), Some(1.0), "{text}");
    assert_eq!(sample(&text, "imzo_applications{centre=\"rc1\",state=\"paid\"}"), Some(2.0), "{text}");
    let applications_total: f64 =
        text.lines().filter(|l| l.starts_with("imzo_applications{")).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum();
    assert_eq!(applications_total, 3.0, "{text}");
    // The phone code went to the SMS queue.
    assert_eq!(sample(&text, "imzo_sms_outbox_messages{centre=\"rc1\",status=\"queued\"}"), Some(1.0), "{text}");
    assert_eq!(sample(&text, "imzo_database_up"), Some(1.0));
    for family in ["imzo_http_requests_total counter", "imzo_http_request_duration_seconds histogram", "imzo_applications gauge"] {
        assert!(text.contains(&format!("# TYPE {family}\n")), "{family}: {text}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let h = harness(false, false).await;
    let response = get(&h, "/healthz", Some("lb-7f3a.01_x")).await;
    assert_eq!(response.headers()["x-request-id"], "lb-7f3a.01_x");
    // Errors too, and an id is made when none (or an unusable one) came.
    let long = "a".repeat(65);
    for given in [None, Some("two words"), Some("quote\"d"), Some(long.as_str())] {
        let response = get(&h, "/no/such/page", given).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(is_sane_request_id(&id) && Some(id.as_str()) != given, "{given:?} → {id}");
        assert_eq!(id.len(), 32, "{id}");
    }
    let a = get(&h, "/healthz", None).await.headers()["x-request-id"].clone();
    let b = get(&h, "/healthz", None).await.headers()["x-request-id"].clone();
    assert_ne!(a, b);
}
