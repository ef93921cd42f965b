//! Errors in the language `Accept-Language` asks for, and nothing stored by bad input.

use super::harness::{body_json, harness};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

fn bad_start() -> String {
    json!({
        "applicant_type": "individual", "pinfl": "32808810170067", "surname": "Karimov", "given_name": "Aziz",
        "birth_date": "1981-08-28", "region": "Toshkent shahri", "passport": "AA1234567", "phone": "+998 90 123-45-67",
    })
    .to_string()
}

async fn ask(
    h: &super::harness::Harness,
    language: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut request =
        Request::post("/api/v1/applications").header(header::CONTENT_TYPE, "application/json");
    if let Some(l) = language {
        request = request.header(header::ACCEPT_LANGUAGE, l);
    }
    let response = h.send(request.body(Body::from(bad_start())).unwrap()).await;
    let status = response.status();
    let content_language = response
        .headers()
        .get(header::CONTENT_LANGUAGE)
        .map(|v| v.to_str().unwrap().to_string());
    (status, content_language, body_json(response).await)
}

#[tokio::test]
async fn errors_follow_accept_language_in_four_forms() {
    let h = harness(true, false).await;
    let (status, lang, body) = ask(&h, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(lang.as_deref(), Some("uz-Latn"));
    let error = &body["error"];
    assert_eq!(
        (error["code"].as_str(), error["field"].as_str()),
        (Some("invalid_pinfl"), Some("pinfl"))
    );
    assert_eq!(error["text"], error["message"]["uz"]);
    let cyrillic = error["message"]["uz_cyrl"].as_str().unwrap();
    assert!(
        cyrillic
            .chars()
            .any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)),
        "{cyrillic}"
    );
    assert_eq!(
        cyrillic,
        imzo_ra::translit::uz_latin_to_cyrillic(error["message"]["uz"].as_str().unwrap())
    );

    for (asked, tag, key) in [
        ("uz-Cyrl-UZ,uz;q=0.8", "uz-Cyrl", "uz_cyrl"),
        ("ru-RU,ru;q=0.9,en;q=0.8", "ru", "ru"),
        ("de, en-GB;q=0.7", "en", "en"),
        ("uz-Latn", "uz-Latn", "uz"),
    ] {
        let (status, lang, body) = ask(&h, Some(asked)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(lang.as_deref(), Some(tag), "{asked}");
        assert_eq!(
            body["error"]["text"], body["error"]["message"][key],
            "{asked}"
        );
        assert_eq!(body["error"]["language"], tag);
    }
    // Bad input stored nothing: no draft, so no SMS code was queued.
    let (status, outbox) = h.json("GET", "/api/v1/dev/outbox", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outbox, json!([]), "{outbox}");
    // Success answers are not touched.
    let (status, _) = h.json("GET", "/api/openapi.json", "").await;
    assert_eq!(status, StatusCode::OK);
}

async fn lookup_from(
    h: &super::harness::Harness,
    peer: &str,
    x_real_ip: Option<&str>,
) -> (StatusCode, Value) {
    let body = json!({"number": "123456789012", "captcha_id": "00", "answer": "12345"}).to_string();
    let mut request = Request::post("/api/v1/lookup")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, "ru");
    if let Some(ip) = x_real_ip {
        request = request.header("x-real-ip", ip);
    }
    let mut request = request.body(Body::from(body)).unwrap();
    let addr: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    let response = h.send(request).await;
    let status = response.status();
    (status, body_json(response).await)
}

#[tokio::test]
async fn lookups_are_rate_limited_per_client_address_with_429() {
    let h = harness(false, false).await;
    for _ in 0..10 {
        let (status, body) = lookup_from(&h, "192.0.2.7", None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("captcha_expired"))
        );
    }
    let (status, body) = lookup_from(&h, "192.0.2.7", None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "too_many_lookups");
    assert!(
        body["error"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Слишком много запросов"),
        "{body}"
    );
    // X-Real-IP from an untrusted peer does not get round the limit.
    let (status, _) = lookup_from(&h, "192.0.2.7", Some("198.51.100.1")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not limited.
    let (status, _) = lookup_from(&h, "192.0.2.8", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn renewal_refuses_bad_input_with_the_exact_error() {
    let h = harness(true, false).await;
    let send = |content_type: &'static str, body: &'static [u8]| {
        Request::post("/api/v1/renewals")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let response = h
        .send(send("application/pkcs7-mime", b"\x30\x03\x02\x01\x01"))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = body_json(response).await;
    assert_eq!(
        (
            body["error"]["code"].as_str(),
            body["error"]["field"].as_str()
        ),
        (Some("malformed_renewal"), Some("signed_renewal"))
    );
    let response = h.send(send("text/plain", b"hello")).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body) = h
        .json("POST", "/api/v1/renewals", "{\"cms_base64\": \"***\"}")
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("cms_base64"))
    );
    // Nothing was stored: no application, so no SMS.
    let (_, outbox) = h.json("GET", "/api/v1/dev/outbox", "").await;
    assert_eq!(outbox, json!([]));
    let (status, reasons) = h
        .json("GET", "/api/v1/operator/rejection-reasons", "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        reasons
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "other" && r["text"]["uz_cyrl"].is_string())
    );
}
