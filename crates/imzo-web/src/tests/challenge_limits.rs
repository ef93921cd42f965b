//! New captchas and challenges cost a stored row each (a captcha also a rendered
//! picture): limited per client address with 429 and `Retry-After`.

use super::harness::{body_json, error_of, harness};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

/// The default limit of each kind per client address per minute.
const PER_MINUTE: usize = 30;

#[tokio::test]
async fn captchas_and_challenges_are_limited_per_client_address() {
    let h = harness(false, false).await;
    let routes = [
        ("POST", "/api/v1/captcha"),
        ("GET", "/frontend/challenge"),
        ("POST", "/api/v1/applications/123456789012/challenge"),
    ];
    for (method, path) in routes {
        let request = |peer: &str| {
            let mut request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
            let addr: std::net::SocketAddr = format!("{peer}:41000").parse().unwrap();
            request.extensions_mut().insert(axum::extract::ConnectInfo(addr));
            request
        };
        // Count until the limit bites (a minute boundary may reset it once).
        let mut served = 0;
        let refused = loop {
            let response = h.send(request("203.0.113.77")).await;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                break response;
            }
            // The number may fail its check digit; what matters is that it was not limited.
            assert!(response.status() != StatusCode::INTERNAL_SERVER_ERROR, "{path}");
            served += 1;
            assert!(served <= 2 * PER_MINUTE, "{path}: never limited");
        };
        assert!(served >= PER_MINUTE, "{path}: limited after {served}");
        let retry: u64 = refused.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{path}: {retry}");
        let body = body_json(refused).await;
        if path == "/frontend/challenge" {
            // The relying-party API's own shape: {status, message}.
            assert_eq!(body["status"], 0, "{body}");
            assert!(body["message"].as_str().unwrap().contains("Too many"), "{body}");
        } else {
            assert_eq!(error_of(&body).0, "too_many_challenges");
        }
        // Another client is served.
        let response = h.send(request("203.0.113.78")).await;
        assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
    }
}
