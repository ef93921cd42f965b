//! The submission's multipart limits, enforced while the body streams in.

use super::harness::{body_json, error_of, harness};
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use futures_util::stream::{self, StreamExt as _};
use std::convert::Infallible;
use std::time::Duration;

pub(crate) const BOUNDARY: &str = "imzo-test-boundary-7MA4YWxkTrZu0gW";

/// One multipart part's header (and the boundary before it).
pub(crate) fn part_head(name: &str, file_name: Option<&str>, content_type: &str) -> String {
    let file = file_name.map(|f| format!("; filename=\"{f}\"")).unwrap_or_default();
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\nContent-Type: {content_type}\r\n\r\n")
}

/// A complete multipart body of the given parts.
pub(crate) fn multipart(parts: &[(&str, Option<&str>, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, content_type, bytes) in parts {
        body.extend_from_slice(part_head(name, *file, content_type).as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub(crate) fn submit_request(draft: &str, body: Body) -> Request<Body> {
    Request::post(format!("/api/v1/applications/{draft}/submit"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .unwrap()
}

#[tokio::test]
async fn a_6_mb_part_is_refused_with_413_before_the_body_ends() {
    let h = harness(false, false).await;
    let head = format!("{}-----BEGIN CERTIFICATE REQUEST-----\r\n{}", part_head("csr", None, "text/plain"), part_head("passport", Some("p.pdf"), "application/pdf"));
    let megabyte = Bytes::from(vec![b'%'; 1024 * 1024]);
    // Six megabytes of the passport part, then a body that never ends: only a server that
    // counts bytes as they arrive can answer at all.
    let chunks = stream::iter(std::iter::once(Bytes::from(head)).chain(std::iter::repeat_n(megabyte, 6)))
        .map(Ok::<_, Infallible>)
        .chain(stream::pending());
    let request = submit_request("draft-does-not-matter", Body::from_stream(chunks));
    let response = tokio::time::timeout(Duration::from_secs(20), h.send(request))
        .await
        .expect("answered while the body was still arriving");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = body_json(response).await;
    assert_eq!(error_of(&body), ("too_large".to_owned(), Some("passport".to_owned())));
}

#[tokio::test]
async fn exactly_5_mb_passes_the_web_limit() {
    // The workflow then judges the content; the web layer must not refuse 5 MB itself.
    let h = harness(false, false).await;
    let five = vec![b'x'; 5 * 1024 * 1024];
    let body = multipart(&[("passport", Some("p.pdf"), "application/pdf", &five)]);
    let response = h.send(submit_request("draft", Body::from(body))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body_json(response).await), ("missing_field".to_owned(), Some("csr".to_owned())));
}

#[tokio::test]
async fn missing_repeated_and_unknown_parts_are_named() {
    let h = harness(false, false).await;
    let cases: [(Vec<u8>, &str, &str); 4] = [
        (multipart(&[("csr", None, "text/plain", b"x"), ("passport", Some("p.pdf"), "application/pdf", b"%PDF-")]), "missing_field", "selfie"),
        (multipart(&[("csr", None, "text/plain", b"x"), ("selfie", Some("s.png"), "image/png", b"png")]), "missing_field", "passport"),
        (multipart(&[("csr", None, "text/plain", b"x"), ("csr", None, "text/plain", b"y")]), "invalid_field", "csr"),
        (multipart(&[("photo", Some("s.png"), "image/png", b"png")]), "invalid_field", "photo"),
    ];
    for (body, code, field) in cases {
        let response = h.send(submit_request("draft", Body::from(body))).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(error_of(&body_json(response).await), (code.to_owned(), Some(field.to_owned())));
    }
    let not_multipart = Request::post("/api/v1/applications/draft/submit")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    // JSON sent to the multipart endpoint: 415 naming what is expected.
    let response = h.send(not_multipart).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let json = body_json(response).await;
    assert_eq!(error_of(&json).0, "unsupported_media_type");
    for lang in ["uz", "ru", "en"] {
        assert!(json["error"]["message"][lang].as_str().unwrap().contains("multipart/form-data"), "{json}");
    }
}

#[tokio::test]
async fn an_oversized_request_part_is_refused() {
    let h = harness(false, false).await;
    let big_csr = vec![b'A'; 65 * 1024];
    let response = h.send(submit_request("draft", Body::from(multipart(&[("csr", None, "text/plain", &big_csr)])))).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_of(&body_json(response).await).1.as_deref(), Some("csr"));
}

#[tokio::test]
async fn an_oversized_csr_names_its_real_limit() {
    let h = harness(false, false).await;
    let csr = vec![b'A'; 70 * 1024];
    let body = multipart(&[("csr", None, "text/plain", &csr)]);
    let response = h.send(submit_request("draft", Body::from(body))).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = body_json(response).await;
    assert_eq!(error_of(&body), ("too_large".to_owned(), Some("csr".to_owned())));
    let message = &body["error"]["message"];
    assert_eq!(message["en"], "'csr' must not exceed 64 KB", "{body}");
    assert_eq!(message["ru"], "«csr»: не более 64 КБ", "{body}");
    assert!(message["uz"].as_str().unwrap().contains("64 KB"), "{body}");
}

#[test]
fn sizes_read_as_people_write_them() {
    use crate::error::size_text;
    assert_eq!(size_text(64 * 1024), ["64 KB", "64 КБ", "64 KB"]);
    assert_eq!(size_text(5 * 1024 * 1024), ["5 MB", "5 МБ", "5 MB"]);
    assert_eq!(size_text(1024 * 1024 + 512 * 1024), ["1.5 MB", "1,5 МБ", "1.5 MB"]);
    assert_eq!(size_text(512), ["512 bayt", "512 байт", "512 bytes"]);
}
