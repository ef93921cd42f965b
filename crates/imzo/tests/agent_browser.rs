//! `imzo agent` in real headless Chromium: a page served on localhost uses
//! web/imzo-client.js to list keys, load one (a scripted pinentry answers), and sign; the
//! signature verifies with `imzo verify` and OpenSSL. A page from a site the user does not
//! approve can neither list nor sign.
//!
//! Needs /usr/bin/chromium (Debian `chromium`) and `npm i` in tests/browser; without them
//! the test says so and passes, unless IMZO_REQUIRE_BROWSER is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use imzo_keys::{RawSigner, SoftwareKey, pfxfile};
use imzo_pki::cert::{IssueParams, Profile, PublicationUrls, issue};
use imzo_pki::name::Subject;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PINENTRY: &str = r#"#!/bin/sh
DIR=$(dirname "$0")
echo "OK Pleased to meet you"
while IFS= read -r line; do
  printf '%s\n' "$line" >> "$DIR/log"
  case "$line" in
    GETPIN) printf 'D %s\n' "$(cat "$DIR/pin")"; echo OK ;;
    CONFIRM*) if [ "$(cat "$DIR/confirm")" = ok ]; then echo OK; else echo "ERR 83886179 Operation cancelled"; fi ;;
    BYE) echo OK; exit 0 ;;
    *) echo OK ;;
  esac
done
"#;

struct Agent(Child);
impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn node(page: &str, agent: &str, mode: &str, home: Option<&Path>) -> serde_json::Value {
    let mut cmd = Command::new("node");
    if let Some(home) = home {
        cmd.env("HOME", home);
    }
    let out = cmd
        .current_dir(browser_dir())
        .args(["run.mjs", page, agent, mode])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap()
}

fn make_keys(dir: &Path) -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let params = |subject: Subject, key: &[u8], profile, serial| IssueParams {
        subject,
        subject_public_key_der: key.to_vec(),
        serial: vec![serial],
        not_before: now - time::Duration::hours(1),
        not_after: now + time::Duration::days(30),
        profile,
        urls: PublicationUrls::default(),
        policy_oid: None,
    };
    let root_key = SoftwareKey::generate().unwrap();
    let root_subject = Subject {
        common_name: "Browser Test Root".into(),
        country: Some("UZ".into()),
        ..Default::default()
    };
    let root = issue(
        None,
        &root_key,
        &params(root_subject, root_key.public_key_der(), Profile::Root, 1),
    )
    .unwrap();
    let key = SoftwareKey::generate().unwrap();
    let holder = Subject {
        common_name: "BRAUZER SINOV".into(),
        country: Some("UZ".into()),
        pinfl: Some("32808810170066".into()),
        ..Default::default()
    };
    let leaf = issue(
        Some(&root),
        &root_key,
        &params(holder, key.public_key_der(), Profile::Holder, 5),
    )
    .unwrap();
    pfxfile::save(
        &dir.join("FLASH/DSKEYS/DS328088101700660001.pfx"),
        &key,
        &[leaf, root.clone()],
        "parol",
    )
    .unwrap();
    let root_pem = dir.join("root.pem");
    std::fs::write(&root_pem, imzo_pki::cert::to_pem(&root).unwrap()).unwrap();
    root_pem
}

/// Serves the test page and the client library on 127.0.0.1:`port` (a thread per
/// connection is plenty for one browser).
fn serve_page(port: u16) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let page = std::fs::read(browser_dir().join("page.html")).unwrap();
    let client =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/imzo-client.js"))
            .unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (page, client) = (page.clone(), client.clone());
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, kind, body) = match path.as_str() {
                    "/" => ("200 OK", "text/html; charset=utf-8", page),
                    "/imzo-client.js" => ("200 OK", "text/javascript", client),
                    _ => ("404 Not Found", "text/plain", b"not found".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            });
        }
    });
}

#[test]
fn chromium_lists_loads_signs_and_unapproved_site_cannot() {
    let have_browser = Path::new("/usr/bin/chromium").exists()
        && browser_dir().join("node_modules/playwright-core").is_dir();
    if !have_browser {
        assert!(
            std::env::var_os("IMZO_REQUIRE_BROWSER").is_none(),
            "chromium or tests/browser/node_modules missing"
        );
        eprintln!("skipped: install chromium and run `npm i` in crates/imzo/tests/browser");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root_pem = make_keys(dir);
    let pinentry = dir.join("pinentry.sh");
    std::fs::write(&pinentry, PINENTRY).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pinentry, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(dir.join("pin"), "parol").unwrap();
    std::fs::write(dir.join("confirm"), "ok").unwrap();

    let page_port = free_port();
    serve_page(page_port);
    let agent_port = free_port();
    let tls_port = free_port();
    let page = format!("http://127.0.0.1:{page_port}");
    let _agent = Agent(
        Command::new(env!("CARGO_BIN_EXE_imzo"))
            .args([
                "agent",
                "--port",
                &agent_port.to_string(),
                "--tls-port",
                &tls_port.to_string(),
                "--allow-origin",
                &page,
            ])
            .arg("--keys")
            .arg(dir.join("FLASH"))
            .arg("--pinentry")
            .arg(&pinentry)
            .arg("--sites-file")
            .arg(dir.join("sites.json"))
            .arg("--trust")
            .arg(&root_pem)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", agent_port)).is_err()
        || std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "imzo agent did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let ws = format!("ws://127.0.0.1:{agent_port}/service/cryptapi");

    // The allowed localhost page: list, load (pinentry gives the password), sign.
    let r = node(&format!("{page}/"), &ws, "sign", None);
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["version"].as_u64().unwrap() >= 486);
    assert_eq!(r["keys"][0]["name"], "DS328088101700660001");
    assert_eq!(r["keys"][0]["fields"]["pinfl"], "32808810170066");
    assert_eq!(r["module_says_valid"], true);
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    assert!(
        log.contains(&page) && log.contains("BRAUZER SINOV"),
        "{log}"
    );
    let sig = B64.decode(r["pkcs7_64"].as_str().unwrap()).unwrap();
    let sig_path = dir.join("browser.p7s");
    std::fs::write(&sig_path, &sig).unwrap();
    let verify = Command::new(env!("CARGO_BIN_EXE_imzo"))
        .arg("verify")
        .arg(&sig_path)
        .arg("--trust")
        .arg(&root_pem)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "imzo verify: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let out = Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-in",
        ])
        .arg(&sig_path)
        .arg("-CAfile")
        .arg(&root_pem)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        r["text"].as_str().unwrap()
    );

    // The same page from another origin (localhost, not on the allow-list): the user
    // refuses in the module's dialog, so it can neither list nor sign.
    std::fs::write(dir.join("confirm"), "no").unwrap();
    let r = node(&format!("http://localhost:{page_port}/"), &ws, "sign", None);
    assert_eq!(r["ok"], false, "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("did not allow"),
        "{r}"
    );
    let r = node(&format!("http://localhost:{page_port}/"), &ws, "list", None);
    assert_eq!(r["ok"], false, "{r}");

    // wss: before `imzo agent trust` Chromium refuses the local certificate; after it
    // (the CA in the NSS database of the user's home) the same page works over wss.
    let wss = format!("wss://127.0.0.1:{tls_port}/service/cryptapi");
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let r = node(&format!("{page}/"), &wss, "list", Some(&home));
    assert_eq!(r["ok"], false, "{r}");
    if Command::new("certutil").arg("-H").output().is_err() {
        assert!(
            std::env::var_os("IMZO_REQUIRE_BROWSER").is_none(),
            "certutil (libnss3-tools) missing"
        );
        eprintln!("skipped the wss part: install libnss3-tools for certutil");
        return;
    }
    let trust = Command::new(env!("CARGO_BIN_EXE_imzo"))
        .args(["agent", "trust", "--sites-file"])
        .arg(dir.join("sites.json"))
        .env("HOME", &home)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&trust.stdout);
    assert!(said.contains("[done] NSS database"), "{said}");
    let r = node(&format!("{page}/"), &wss, "list", Some(&home));
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["keys"][0]["name"], "DS328088101700660001");
}
