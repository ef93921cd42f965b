//! `imzo up` serves the SMS outbox and the payment sandbox only where configuration says
//! so: never the outbox beside a real SMS gateway, never the sandbox beside a real
//! payment provider unless forced (and then with a loud warning).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

fn status(server: &Server, method: &str, path: &str) -> u16 {
    let client = http();
    let url = format!("{}{path}", server.base);
    let request = if method == "GET" { client.get(url) } else { client.post(url).json(&serde_json::json!({"application": "1"})) };
    request.send().unwrap().status().as_u16()
}

#[test]
fn outbox_and_sandbox_follow_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A real SMS gateway (its address need not answer: nothing is sent here) and a real
    // Payme merchant key.
    let real = [
        ("IMZO_SMS_GATEWAY", "eskiz"),
        ("IMZO_SMS_ESKIZ_URL", "http://127.0.0.1:9/api"),
        ("IMZO_SMS_ESKIZ_EMAIL", "rc1@example.uz"),
        ("IMZO_SMS_ESKIZ_PASSWORD", "eskiz-secret"),
        ("IMZO_PAYME_KEY", "a-real-merchant-key-0123456789"),
    ];
    let server = Server::start(&data, None, &real);
    assert_eq!(status(&server, "GET", "/api/v1/dev/outbox"), 404, "no outbox beside a real SMS gateway");
    assert_eq!(status(&server, "GET", "/sandbox/pay"), 404, "no sandbox beside a real provider");
    assert_eq!(status(&server, "POST", "/api/v1/dev/sandbox/pay"), 404);
    let log = server.log_text();
    assert!(log.contains("Payment sandbox:  off") && !log.contains("/api/v1/dev/outbox"), "{log}");
    assert!(!log.contains("WARNING"), "{log}");
    server.stop();

    // Forced on beside the real provider: served, with a warning on every start.
    let mut forced = real.to_vec();
    forced.push(("IMZO_PAYMENTS_SANDBOX", "on"));
    let server = Server::start(&data, None, &forced);
    assert_eq!(status(&server, "GET", "/sandbox/pay"), 200);
    assert_eq!(status(&server, "GET", "/api/v1/dev/outbox"), 404, "the outbox follows the SMS gateway alone");
    let log = server.log_text();
    assert!(log.contains("WARNING: payments.sandbox = on while real payment providers are configured (payme.key)"), "{log}");
    server.stop();

    // The embedded default: both served.
    let server = Server::start(&dir.path().join("default"), None, &[]);
    assert_eq!(status(&server, "GET", "/api/v1/dev/outbox"), 200);
    assert_eq!(status(&server, "GET", "/sandbox/pay"), 200);
    server.stop();
}
