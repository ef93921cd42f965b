//! Sign latency over the WebSocket, as a page sees it: a new connection per call, one
//! `pkcs7.create_pkcs7` message, one reply. The key is loaded and the site trusted
//! (no confirmation dialog), so this measures the module, not the user.
//!
//! `cargo bench -p imzo-agent --bench sign_latency` prints p50 / p99 for 1 KB and 1 MB
//! documents. Goal: p99 under 5 ms for 1 KB.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures_util::{SinkExt, StreamExt};
use imzo_agent::prompt::Pinentry;
use imzo_agent::{Agent, AgentConfig};
use imzo_keys::{RawSigner, SoftwareKey, pfxfile};
use imzo_pki::cert::{IssueParams, Profile, PublicationUrls, issue};
use imzo_pki::name::Subject;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Answers the one password dialog and the one "trust this site" confirmation.
const PINENTRY: &str = r#"#!/bin/sh
echo "OK Pleased to meet you"
while IFS= read -r line; do
  case "$line" in
    GETPIN) echo "D parol"; echo OK ;;
    CONFIRM*) echo "ERR 83886194 Not confirmed" ;;
    BYE) echo OK; exit 0 ;;
    *) echo OK ;;
  esac
done
"#;
const ORIGIN: &str = "http://localhost:8080";

async fn call(url: &str, msg: &Value) -> Value {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("Origin", ORIGIN.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
    let reply = loop {
        if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
            break serde_json::from_str::<Value>(&t).unwrap();
        }
    };
    let _ = ws.close(None).await;
    assert_eq!(reply["success"], true, "{reply}");
    reply
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("pinentry.sh");
    std::fs::write(&script, PINENTRY).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let key = SoftwareKey::generate().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let cert = issue(
        None,
        &key,
        &IssueParams {
            subject: Subject {
                common_name: "BENCH".into(),
                pinfl: Some("32808810170066".into()),
                ..Default::default()
            },
            subject_public_key_der: key.public_key_der().to_vec(),
            serial: vec![1],
            not_before: now,
            not_after: now + time::Duration::days(1),
            profile: Profile::Holder,
            urls: PublicationUrls::default(),
            policy_oid: None,
        },
    )
    .unwrap();
    let disk = tmp.path().join("disk");
    pfxfile::save(
        &disk.join("DSKEYS/DS328088101700660001.pfx"),
        &key,
        &[cert],
        "parol",
    )
    .unwrap();
    let mut config = AgentConfig::new(tmp.path().join("sites.json"));
    config.key_roots = vec![disk.clone()];
    let agent = Agent::new(config, std::sync::Arc::new(Pinentry::new(&script)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/service/cryptapi", listener.local_addr().unwrap());
    tokio::spawn(imzo_agent::server::serve(agent, listener));

    let loaded = call(
        &url,
        &json!({"plugin": "pfx", "name": "load_key", "arguments": [disk.display().to_string(), "DSKEYS", "DS328088101700660001", ""]}),
    )
    .await;
    let key_id = loaded["keyId"].as_str().unwrap().to_string();
    // The first signature asks once; the scripted answer is "trust until unloaded".
    call(&url, &json!({"plugin": "pkcs7", "name": "create_pkcs7", "arguments": [B64.encode(b"warm-up"), key_id, "no"]})).await;

    for (label, size, rounds) in [("1 KB", 1024usize, 500usize), ("1 MB", 1024 * 1024, 40)] {
        let doc: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let msg = json!({"plugin": "pkcs7", "name": "create_pkcs7", "arguments": [B64.encode(&doc), key_id, "no"]});
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            call(&url, &msg).await;
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "create_pkcs7 {label:>5} attached: p50 {:>8.2} ms   p99 {:>8.2} ms   ({rounds} calls, new connection each)",
            percentile(&times, 0.50).as_secs_f64() * 1000.0,
            percentile(&times, 0.99).as_secs_f64() * 1000.0,
        );
    }
}
