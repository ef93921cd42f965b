//! What a hostile tester found over HTTP: unlimited starts, 429s without `Retry-After`,
//! answers that tell whether a number exists, fake PDFs, and error texts that named the
//! wrong part, spoke English inside Russian, or named no field.

use super::harness::{Harness, body_json, error_of, harness};
use super::payme::submit_over_http;
use super::uploads::{multipart, submit_request};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

fn start_body(pinfl: &str, phone: &str) -> String {
    json!({
        "applicant_type": "individual", "pinfl": pinfl, "surname": "Karimov", "given_name": "Aziz",
        "birth_date": "1981-08-28", "region": "Toshkent shahri", "passport": "AA1234567", "phone": phone,
    })
    .to_string()
}

/// `POST /api/v1/applications` from socket address `peer`; (status, Retry-After, body).
async fn start_from(h: &Harness, peer: &str, body: String) -> (StatusCode, Option<u64>, Value) {
    let mut request = Request::post("/api/v1/applications")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let addr: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    let response = h.send(request).await;
    let status = response.status();
    let retry = response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, body_json(response).await)
}

/// A valid PINFL born 28.08.1981 with this serial.
fn pinfl(serial: u32) -> String {
    let body = format!("3280881{serial:06}");
    let mut digits = [0u8; 13];
    for (d, b) in digits.iter_mut().zip(body.bytes()) {
        *d = b - b'0';
    }
    format!("{body}{}", imzo_ra::validate::pinfl_check_digit(&digits))
}

#[tokio::test]
async fn starts_are_limited_with_429_and_retry_after() {
    let h = harness(false, false).await;
    // One PINFL: five a day, whatever the address.
    for i in 0..5 {
        let (status, retry, body) = start_from(&h, &format!("198.51.100.{i}"), start_body("32808810170066", &format!("+998 90 800 00 0{i}"))).await;
        assert_eq!((status, retry), (StatusCode::CREATED, None), "{body}");
    }
    let (status, retry, body) = start_from(&h, "198.51.100.99", start_body("32808810170066", "+998 90 800 00 09")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(error_of(&body), ("too_many_starts".to_owned(), Some("pinfl".to_owned())));
    assert!((1..=86_400).contains(&retry.unwrap()));
    // One address: ten an hour, whatever the PINFL.
    for i in 0..10 {
        let (status, _, body) = start_from(&h, "192.0.2.50", start_body(&pinfl(500 + i), &format!("+998 91 800 00 {i:02}"))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, retry, body) = start_from(&h, "192.0.2.50", start_body(&pinfl(600), "+998 91 800 00 99")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "too_many_starts");
    assert!((1..=3600).contains(&retry.unwrap()));
    let (status, _, _) = start_from(&h, "192.0.2.51", start_body(&pinfl(600), "+998 91 800 00 99")).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn every_429_says_when_to_retry() {
    let h = harness(true, false).await;
    // Resending a code at once.
    let (status, started) = h.json("POST", "/api/v1/applications", &start_body("32808810170066", "+998 90 123 45 67")).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let draft = started["draft_id"].as_str().unwrap();
    let response = h.send(Request::post(format!("/api/v1/applications/{draft}/code/resend")).body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Wrong codes: the field is `code`, and after five, 429 with Retry-After.
    for _ in 0..5 {
        let (status, body) = h.json("POST", &format!("/api/v1/applications/{draft}/phone"), r#"{"code": "000000"}"#).await;
        if status == StatusCode::OK {
            return; // the one-in-a-million right guess; nothing more to see
        }
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(error_of(&body), ("wrong_code".to_owned(), Some("code".to_owned())));
    }
    let request = Request::post(format!("/api/v1/applications/{draft}/phone"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"code": "000000"}"#))
        .unwrap();
    let response = h.send(request).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(error_of(&body_json(response).await).1.as_deref(), Some("code"));
    // Lookups past the per-minute limit.
    let mut last = None;
    for _ in 0..11 {
        let mut request = Request::post("/api/v1/lookup")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"number": "123456789012", "captcha_id": "00", "answer": "1"}"#))
            .unwrap();
        request.extensions_mut().insert(axum::extract::ConnectInfo("203.0.113.9:4000".parse::<std::net::SocketAddr>().unwrap()));
        last = Some(h.send(request).await);
    }
    let last = last.unwrap();
    assert_eq!(last.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = last.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn numbers_that_exist_and_numbers_that_do_not_get_the_same_answers() {
    let h = harness(true, true).await;
    let submitted = submit_over_http(&h, "998901234567", "holder").await;
    let number = submitted["number"].as_str().unwrap().to_owned();
    let unknown = (0..10u8)
        .map(|d| format!("12345678901{d}"))
        .find(|n| imzo_ra::number::is_valid_number(n) && *n != number)
        .unwrap();
    let mut proofs = Vec::new();
    for n in [&number, &unknown] {
        let (status, body) = h.json("POST", &format!("/api/v1/applications/{n}/challenge"), "{}").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["challenge_base64"].is_string());
        // A proof that proves nothing: the same refusal for both.
        let proof = json!({"challenge_id": body["id"], "cms_base64": "MAA="}).to_string();
        let (status, refused) = h.json("POST", &format!("/api/v1/applications/{n}/view"), &proof).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        proofs.push(refused);
    }
    assert_eq!(error_of(&proofs[0]).0, "bad_proof");
    assert_eq!(proofs[0], proofs[1], "a wrong key and an unknown number are refused alike");
    let mut answers = Vec::new();
    for n in [&number, &unknown] {
        let response = h.send(Request::get(format!("/api/v1/applications/{n}/certificate")).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = body_json(response).await;
        assert_eq!(error_of(&body).0, "no_certificate");
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1], "the state of an existing application is not told");
}

#[tokio::test]
async fn fake_pdfs_and_bad_requests_are_refused_in_every_language() {
    let h = harness(true, false).await;
    let (status, started) = h.json("POST", "/api/v1/applications", &start_body("32808810170066", "+998 90 123 45 67")).await;
    assert_eq!(status, StatusCode::CREATED);
    let draft = started["draft_id"].as_str().unwrap().to_owned();
    let outbox = body_json(h.send(Request::get("/api/v1/dev/outbox").body(Body::empty()).unwrap()).await).await;
    let text = outbox.as_array().unwrap().last().unwrap()["text"].as_str().unwrap().to_owned();
    let code = text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_owned();
    let (status, _) = h.json("POST", &format!("/api/v1/applications/{draft}/phone"), &json!({"code": code}).to_string()).await;
    assert_eq!(status, StatusCode::OK);

    let d = h.dir.path();
    super::harness::openssl(
        d,
        &["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "f.key",
          "-subj", "/CN=F", "-out", "f.csr"],
    );
    let csr = std::fs::read(d.join("f.csr")).unwrap();
    let png = {
        let image = image::RgbImage::from_fn(16, 16, |x, _| image::Rgb([x as u8, 0, 0]));
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    // The tester's fake: a PDF header, an ELF binary, a fake trailer.
    let mut fake = b"%PDF-1.4\n\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    fake.extend_from_slice(&[0x90; 2048]);
    fake.extend_from_slice(b"trailer<<>>startxref 0 %%EOF");
    let body = multipart(&[
        ("csr", None, "application/pkcs10", &csr),
        ("passport", Some("p.pdf"), "application/pdf", &fake),
        ("selfie", Some("s.png"), "image/png", &png),
    ]);
    let response = h.send(submit_request(&draft, Body::from(body))).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(&body_json(response).await), ("corrupt_document".to_owned(), Some("passport".to_owned())));

    // A request that is not PKCS#10: real texts in each language, the parser's words apart.
    let body = multipart(&[
        ("csr", None, "application/pkcs10", b"not a request"),
        ("passport", Some("p.pdf"), "application/pdf", include_bytes!("../../../imzo-ra/tests/data/reportlab.pdf")),
        ("selfie", Some("s.png"), "image/png", &png),
    ]);
    let response = h.send(submit_request(&draft, Body::from(body))).await;
    let json = body_json(response).await;
    assert_eq!(error_of(&json), ("invalid_csr".to_owned(), Some("csr".to_owned())));
    let message = &json["error"]["message"];
    assert!(message["ru"].as_str().unwrap().contains("ECDSA P-256") && message["uz"].as_str().unwrap().contains("ECDSA P-256"));
    let detail = json["error"]["detail"].as_str().unwrap();
    for lang in ["uz", "ru"] {
        assert!(!message[lang].as_str().unwrap().contains(detail), "{json}");
    }
}

#[tokio::test]
async fn field_errors_name_the_field_and_not_found_speaks_each_language() {
    let h = harness(false, false).await;
    let mut robot: Value = serde_json::from_str(&start_body("32808810170066", "+998 90 123 45 67")).unwrap();
    robot["applicant_type"] = json!("robot");
    let (status, body) = h.json("POST", "/api/v1/applications", &robot.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), ("invalid_value".to_owned(), Some("applicant_type".to_owned())));
    let en = body["error"]["message"]["en"].as_str().unwrap();
    assert!(en.contains("individual") && en.contains("legal_entity") && !en.contains("robot"), "{body}");

    let mut individual_with_inn: Value = serde_json::from_str(&start_body("32808810170066", "+998 90 123 45 67")).unwrap();
    individual_with_inn["company_inn"] = json!("xx");
    let (status, body) = h.json("POST", "/api/v1/applications", &individual_with_inn.to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(&body), ("not_for_individual".to_owned(), Some("company_inn".to_owned())));

    for (path, english_leftover) in [("/no/such/path", "route"), ("/ca/nope.crt", "CA certificate")] {
        let response = h.send(Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = body_json(response).await;
        for lang in ["uz", "ru"] {
            assert!(!body["error"]["message"][lang].as_str().unwrap().contains(english_leftover), "{body}");
        }
    }
}

#[tokio::test]
async fn bodies_over_a_limit_are_refused_in_json_everywhere() {
    let h = harness(false, false).await;
    // Routes that read raw bytes hit axum's own limit before any handler runs.
    for path in ["/tsa", "/ocsp", "/api/v1/registry/check"] {
        let big = vec![b'0'; crate::extract::JSON_BODY_LIMIT + 1];
        let request = Request::post(path)
            .header(header::ACCEPT_LANGUAGE, "ru")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(big))
            .unwrap();
        let response = h.send(request).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let content_type = response.headers().get(header::CONTENT_TYPE).unwrap().to_str().unwrap().to_owned();
        assert!(content_type.starts_with("application/json"), "{path}: {content_type}");
        let body = body_json(response).await;
        assert_eq!(body["error"]["code"], "too_large", "{path}: {body}");
        assert!(body["error"]["text"].as_str().unwrap().contains("Запрос"), "{path}: {body}");
    }
}
