//! The applicant portal end to end in headless Chromium at 375 px: the real `imzo up`
//! and `imzo agent` (a scripted pinentry types the key password), steps 1–3 in the
//! browser (a server error shown next to its field, the SMS code from the outbox, the key
//! made by the module, documents checked and previewed, the sandbox payment), the
//! operator's approval through the CLI, then step 4 (lookup by number and captcha,
//! confirmation signed through the module, certificate installed and downloaded). A
//! screenshot of every step is kept under the target directory; the test prints where.
//! The certificate the browser downloaded and the one installed in the `.pfx` are checked
//! with OpenSSL against the deployment's root.
//!
//! Needs /usr/bin/chromium and `npm ci` in tests/browser (scripts/ensure-browser.sh);
//! without them the test says so and passes, unless IMZO_REQUIRE_BROWSER is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, free_port, ok, openssl, write_pdf, write_png};
use hmac::{KeyInit, Mac};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Answers the module's dialogs: every password with the `pin` file, every confirmation yes.
const PINENTRY: &str = r#"#!/bin/sh
DIR=$(dirname "$0")
echo "OK Pleased to meet you"
while IFS= read -r line; do
  printf '%s\n' "$line" >> "$DIR/log"
  case "$line" in
    GETPIN) printf 'D %s\n' "$(cat "$DIR/pin")"; echo OK ;;
    BYE) echo OK; exit 0 ;;
    *) echo OK ;;
  esac
done
"#;

const KEY_PASSWORD: &str = "Portal-Test-2026!";

struct Agent(Child);
impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Where the screenshots go: kept after the test, under the target directory.
fn shots_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test binary> → target/portal-screenshots
    let target = exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
    let dir = target.join("portal-screenshots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn node(args: &[&str]) -> serde_json::Value {
    let out = Command::new("node").current_dir(browser_dir()).arg("portal.mjs").args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("node printed no JSON ({e}):\n{text}\n{}", String::from_utf8_lossy(&out.stderr)))
}

/// Plants a captcha whose answer the test knows, as the server would store it.
fn plant_captcha(data: &Path, answer: &str) -> String {
    let pepper = std::fs::read_to_string(data.join("secrets/otp-secret")).unwrap();
    let pepper = pepper.trim_end_matches(['\r', '\n']);
    let mut id_bytes = [0u8; 16];
    getrandom::fill(&mut id_bytes).unwrap();
    let id = hex::encode(id_bytes);
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(pepper.as_bytes()).unwrap();
    mac.update(format!("captcha:{id}").as_bytes());
    mac.update(&[0]);
    mac.update(answer.as_bytes());
    let hash = hex::encode(mac.finalize().into_bytes());
    let url = format!("sqlite://{}/imzo.db", data.display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = imzo_store::Store::connect(&url).await.unwrap();
        let expires = imzo_store::time_ms::now_ms() + 300_000;
        imzo_store::challenges::insert_captcha(store.pool(), &id, &hash, expires).await.unwrap();
    });
    id
}

#[test]
fn applicant_walks_the_four_steps_in_chromium() {
    let have_browser =
        Path::new("/usr/bin/chromium").exists() && browser_dir().join("node_modules/playwright-core").is_dir();
    if !have_browser {
        assert!(std::env::var_os("IMZO_REQUIRE_BROWSER").is_none(), "chromium or tests/browser/node_modules missing");
        eprintln!("skipped: run scripts/ensure-browser.sh");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, None, &[]);
    let base = server.base.clone();

    // The module: keys on a "flash drive" folder, dialogs answered by the script.
    let flash = dir.join("FLASH");
    std::fs::create_dir_all(&flash).unwrap();
    let pinentry = dir.join("pinentry.sh");
    std::fs::write(&pinentry, PINENTRY).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pinentry, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(dir.join("pin"), KEY_PASSWORD).unwrap();
    let (agent_port, tls_port) = (free_port(), free_port());
    let _agent = Agent(
        Command::new(env!("CARGO_BIN_EXE_imzo"))
            .args(["agent", "--port", &agent_port.to_string(), "--tls-port", &tls_port.to_string()])
            .args(["--allow-origin", &base])
            .arg("--keys")
            .arg(&flash)
            .arg("--pinentry")
            .arg(&pinentry)
            .arg("--sites-file")
            .arg(dir.join("sites.json"))
            .arg("--trust")
            .arg(data.join("pki/root.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", agent_port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "imzo agent did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let ws = format!("ws://127.0.0.1:{agent_port}/service/cryptapi");

    let fixtures = dir.join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    write_pdf(&fixtures.join("passport.pdf"));
    write_png(&fixtures.join("selfie.png"));
    std::fs::write(fixtures.join("not-a-pdf.pdf"), "just text, not a PDF\n").unwrap();
    let shots = shots_dir();
    let shots_s = shots.display().to_string();
    println!("portal screenshots: {shots_s}");

    // Steps 1–3 and the sandbox payment, in English, then Uzbek (Cyrillic) after the switch.
    let r = node(&["apply", &base, &ws, &shots_s, &fixtures.display().to_string()]);
    assert_eq!(r["ok"], true, "{r}\nserver log:\n{}", server.log_text());
    assert!(r["module_text"].as_str().unwrap().contains("running"), "{r}");
    assert_eq!(r["centres"], 10, "all ten centres to choose from: {r}");
    assert_eq!(r["pinfl_invalid"], "true", "{r}");
    assert!(r["pinfl_error"].as_str().unwrap().contains("PINFL"), "the server's English message next to the field: {r}");
    assert!(r["code_sent"].as_str().unwrap().contains("+998 90 *** ** 67"), "{r}");
    assert_eq!(r["disks"][0], flash.display().to_string(), "{r}");
    assert!(r["key_made"].as_str().unwrap().ends_with("DSKEYS/DS328088101700660001.pfx"), "{r}");
    assert!(r["bad_document_error"].as_str().unwrap().contains("not a PDF, PNG or JPEG"), "{r}");
    let number = r["number"].as_str().unwrap().to_owned();
    assert_eq!(number.len(), 12, "{r}");
    assert_eq!(r["number_after_switch"], number.as_str(), "the step survived the language switch: {r}");
    assert!(r["heading_cyrillic"].as_str().unwrap().contains("Тўлов"), "{r}");
    assert!(r["amount"].as_str().unwrap().ends_with(" sum"), "{r}");
    assert!(r["left"].as_str().unwrap().contains(" h "), "{r}");
    assert!(r["sandbox_result"].as_str().unwrap().contains("Paid."), "{r}");
    assert_eq!(r["page_errors"], serde_json::json!([]), "{r}");
    let pfx = flash.join("DSKEYS/DS328088101700660001.pfx");
    assert!(pfx.is_file());

    // Centre 3's operator approves through the CLI (centre 1's could not: isolation).
    ok(Command::new(env!("CARGO_BIN_EXE_imzo"))
        .args(["operator", "approve", &number, "--server", &base])
        .arg("--pfx")
        .arg(data.join("operators/operator3.pfx"))
        .arg("--password-file")
        .arg(data.join("operators/operator3.password")));

    // Step 4 in Russian: find, confirm through the module, install and download.
    let captcha = plant_captcha(&data, "48213");
    let r = node(&["confirm", &base, &ws, &shots_s, &captcha, "48213", &number]);
    assert_eq!(r["ok"], true, "{r}\nserver log:\n{}", server.log_text());
    assert!(r["state"].as_str().unwrap().contains("Одобрена"), "{r}");
    assert!(r["keys"][0].as_str().unwrap().starts_with("DS328088101700660001"), "{r}");
    assert!(r["installed"].as_str().unwrap().contains("DS328088101700660001.pfx"), "{r}");
    assert!(r["subject"].as_str().unwrap().contains("ALIYEV"), "{r}");
    assert_eq!(r["state_after"], "Сертификат выдан", "{r}");
    assert_eq!(r["page_errors"], serde_json::json!([]), "{r}");

    // What the browser downloaded is the issued certificate, valid under the root; the
    // .pfx now holds it (OpenSSL reads it with the key password).
    let downloaded = PathBuf::from(r["download"].as_str().unwrap());
    let root = data.join("pki/root.pem");
    // Issued by the centre chosen on the page.
    let centre = data.join("pki/rc3.pem");
    let (good, said) = openssl(&[
        "verify",
        "-CAfile",
        root.to_str().unwrap(),
        "-untrusted",
        centre.to_str().unwrap(),
        downloaded.to_str().unwrap(),
    ]);
    assert!(good, "{said}");
    let installed = dir.join("installed.pem");
    let (good, said) = openssl(&[
        "pkcs12",
        "-in",
        pfx.to_str().unwrap(),
        "-passin",
        &format!("pass:{KEY_PASSWORD}"),
        "-clcerts",
        "-nokeys",
        "-out",
        installed.to_str().unwrap(),
    ]);
    assert!(good, "{said}");
    let fingerprint = |p: &Path| openssl(&["x509", "-in", p.to_str().unwrap(), "-noout", "-fingerprint", "-sha256"]).1;
    assert_eq!(fingerprint(&installed), fingerprint(&downloaded));
    let serial = openssl(&["x509", "-in", downloaded.to_str().unwrap(), "-noout", "-serial"]).1;
    assert!(
        serial.trim().trim_start_matches("serial=").eq_ignore_ascii_case(r["serial"].as_str().unwrap()),
        "{serial} vs {r}"
    );
    for name in [
        "01-home",
        "02-step1-server-error",
        "03-step1-sms-code",
        "04-step2-key",
        "05-step2-documents",
        "06-step3-payment",
        "07-sandbox",
        "08-sandbox-paid",
        "09-step4-find",
        "10-step4-status",
        "11-step4-certificate",
    ] {
        assert!(shots.join(format!("{name}.png")).is_file(), "{name}.png missing");
    }
    println!("portal screenshots: {shots_s}");
    server.stop();
}
