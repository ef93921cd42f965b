//! `IMZO_LOG_FORMAT=json`: every log line of `imzo up` is one JSON object, and the lines a
//! request causes carry its `x-request-id`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{free_port, http, imzo};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn json_lines_with_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let log = dir.path().join("up.log");
    let mut cmd = imzo();
    for (name, _) in std::env::vars() {
        if name.starts_with("IMZO_") {
            cmd.env_remove(name);
        }
    }
    let mut child = cmd
        .arg("up")
        .arg("--data")
        .arg(&data)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--database")
        .arg(format!("sqlite://{}/imzo.db", data.display()))
        .env("IMZO_LOG_FORMAT", "json")
        // The trace layer reports each finished request at debug, inside the request's span.
        .env("RUST_LOG", "info,tower_http=debug,sqlx=warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let client = http();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut answered = false;
    while Instant::now() < deadline && !answered {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("imzo up exited with {status}:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        }
        answered = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .header("x-request-id", "json-log-probe-42")
            .send()
            .is_ok_and(|r| r.status().is_success() && r.headers().get("x-request-id").is_some_and(|v| v == "json-log-probe-42"));
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(answered, "/readyz never answered:\n{text}");
    let mut with_id = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(value["level"].is_string() && value["timestamp"].is_string(), "{line}");
        if value["span"]["request_id"] == "json-log-probe-42" {
            with_id += 1;
        }
    }
    assert!(with_id > 0, "no line carries the request id:\n{text}");
}
