//! JSON errors, downloads, dev routes, the sandbox page: through the router, on a real workflow.

use super::harness::{body_bytes, body_json, error_of, harness, openssl};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

fn start_request() -> Value {
    json!({
        "applicant_type": "individual",
        "pinfl": "32808810170066",
        "surname": "Karimov",
        "given_name": "Aziz",
        "patronymic": "Anvarovich",
        "birth_date": "1981-08-28",
        "region": "Toshkent shahri",
        "district": "Yunusobod",
        "passport": "AA1234567",
        "phone": "+998 90 123-45-67",
    })
}

#[tokio::test]
async fn malformed_json_is_400_in_the_error_shape() {
    let h = harness(false, false).await;
    let (status, body) = h.json("POST", "/api/v1/applications", "{\"applicant_type\": ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), ("malformed_json".to_owned(), None));

    let mut missing = start_request();
    missing.as_object_mut().unwrap().remove("pinfl");
    let (status, body) = h.json("POST", "/api/v1/applications", &missing.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), ("malformed_json".to_owned(), Some("pinfl".to_owned())));

    let mut wrong_type = start_request();
    wrong_type["surname"] = json!(5);
    let (status, body) = h.json("POST", "/api/v1/applications", &wrong_type.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).1.as_deref(), Some("surname"));

    let (status, body) = h.json("POST", "/api/v1/lookup", "[]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    error_of(&body);

    let request = Request::post("/api/v1/applications").body(Body::from(start_request().to_string())).unwrap();
    let response = h.send(request).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    error_of(&body_json(response).await);
}

#[tokio::test]
async fn workflow_errors_keep_their_field_and_status() {
    let h = harness(false, false).await;
    let mut bad = start_request();
    bad["pinfl"] = json!("32808810170067");
    let (status, body) = h.json("POST", "/api/v1/applications", &bad.to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_of(&body).1.as_deref(), Some("pinfl"));

    let (status, body) = h.json("POST", "/api/v1/applications/00000000000000000000000000000000/phone", "{\"code\": \"123456\"}").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    error_of(&body);
}

#[tokio::test]
async fn start_then_code_from_the_dev_outbox_then_verify() {
    let h = harness(true, false).await;
    let (status, started) = h.json("POST", "/api/v1/applications", &start_request().to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let draft = started["draft_id"].as_str().unwrap().to_owned();
    assert!(started["code_expires_at"].is_string());

    let response = h.send(Request::get("/api/v1/dev/outbox?after=0").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let outbox = body_json(response).await;
    let message = outbox.as_array().unwrap().last().unwrap().clone();
    assert_eq!(message["phone"], "998901234567");
    let text = message["text"].as_str().unwrap();
    let code: String = text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_owned();

    let after = message["id"].as_i64().unwrap();
    let response = h.send(Request::get(format!("/api/v1/dev/outbox?after={after}")).body(Body::empty()).unwrap()).await;
    assert_eq!(body_json(response).await, json!([]));
    let response = h.send(Request::get("/api/v1/dev/outbox?after=x").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) =
        h.json("POST", &format!("/api/v1/applications/{draft}/phone"), &json!({"code": wrong}).to_string()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = h.json("POST", &format!("/api/v1/applications/{draft}/phone"), &json!({"code": code}).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"phone_verified": true}));
}

#[tokio::test]
async fn dev_routes_are_absent_unless_switched_on() {
    let h = harness(false, false).await;
    for (method, uri) in [("GET", "/api/v1/dev/outbox"), ("GET", "/sandbox/pay"), ("POST", "/api/v1/dev/sandbox/pay")] {
        let response = h.send(Request::builder().method(method).uri(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(error_of(&body_json(response).await).0, "not_found");
    }
}

#[tokio::test]
async fn ca_certificates_download_as_der_and_pem_that_openssl_reads() {
    let h = harness(false, false).await;
    let response = h.send(Request::get("/ca/root.crt").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pkix-cert");
    assert_eq!(body_bytes(response).await, h.root_der);

    let response = h.send(Request::get("/ca/root.pem").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let pem = body_bytes(response).await;
    std::fs::write(h.dir.path().join("served.pem"), &pem).unwrap();
    openssl(h.dir.path(), &["x509", "-in", "served.pem", "-outform", "DER", "-out", "served.der"]);
    assert_eq!(std::fs::read(h.dir.path().join("served.der")).unwrap(), h.root_der);

    for uri in ["/ca/rc9.crt", "/ca/root.txt", "/ca/root"] {
        let response = h.send(Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn service_routes() {
    let h = harness(false, false).await;
    let response = h.send(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_bytes(response).await, b"ok");

    let response = h.send(Request::get("/api/openapi.json").body(Body::empty()).unwrap()).await;
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(body_json(response).await["openapi"], "3.1.0");

    let response = h.send(Request::get("/nowhere").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    error_of(&body_json(response).await);

    let response = h.send(Request::get("/api/v1/applications").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_of(&body_json(response).await).0, "method_not_allowed");
}

#[tokio::test]
async fn captcha_comes_as_a_png() {
    let h = harness(false, false).await;
    let (status, body) = h.json("POST", "/api/v1/captcha", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD.decode(body["image_png_base64"].as_str().unwrap()).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(!body["id"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn sandbox_page_escapes_what_it_echoes() {
    let h = harness(false, true).await;
    let uri = "/sandbox/pay?application=%3Cscript%3Ealert(1)%3C%2Fscript%3E&amount=1890000";
    let response = h.send(Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = String::from_utf8(body_bytes(response).await).unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("18 900.00"));
    assert!(html.contains("To'lash / Оплатить / Pay"));
}

#[tokio::test]
async fn operator_decisions_take_der_or_json_only() {
    let h = harness(false, false).await;
    let request = Request::post("/api/v1/operator/decisions").header("content-type", "text/plain").body(Body::from("x")).unwrap();
    let response = h.send(request).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_of(&body_json(response).await).1.as_deref(), Some("content-type"));

    let (status, body) = h.json("POST", "/api/v1/operator/decisions", "{\"cms_base64\": \"***\"}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).1.as_deref(), Some("cms_base64"));
    let (status, body) = h.json("POST", "/api/v1/operator/decisions", "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).1.as_deref(), Some("cms_base64"));

    // Bytes that are no CMS reach the workflow, which refuses them (not a 500).
    let request = Request::post("/api/v1/operator/decisions")
        .header("content-type", "application/pkcs7-mime")
        .body(Body::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]))
        .unwrap();
    let response = h.send(request).await;
    let status = response.status();
    let body = body_json(response).await;
    assert!(status.is_client_error(), "{status} {body}");
    error_of(&body);
}

#[tokio::test]
async fn issued_certificates_download_by_serial() {
    let h = harness(false, false).await;
    // A real certificate row (the test root's DER stands in for an issued one).
    let store = imzo_store::Store::connect(&format!("sqlite://{}", h.dir.path().join("imzo.db").display())).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let row = imzo_store::certificates::NewCertificate {
        serial: "0a1b2c3d",
        ca_id: "root",
        application_id: None,
        subject: "CN=Imzo Web Test Root,C=UZ",
        pinfl: None,
        inn: None,
        not_before_ms: 0,
        not_after_ms: 1,
        cert_der: &h.root_der,
    };
    imzo_store::certificates::insert(&mut tx, &row).await.unwrap();
    tx.commit().await.unwrap();

    let response = h.send(Request::get("/api/v1/certificates/0A1B2C3D.der").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_bytes(response).await, h.root_der);
    let response = h.send(Request::get("/api/v1/certificates/0a1b2c3d.pem").body(Body::empty()).unwrap()).await;
    std::fs::write(h.dir.path().join("leaf.pem"), body_bytes(response).await).unwrap();
    openssl(h.dir.path(), &["x509", "-in", "leaf.pem", "-noout", "-subject"]);

    let response = h.send(Request::get("/api/v1/certificates/ffff.der").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = h.send(Request::get("/api/v1/certificates/xyz.der").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body_json(response).await).1.as_deref(), Some("serial"));
}
