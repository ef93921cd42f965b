//! The whole main job end to end in ONE headless Chromium run at 375 px: the real
//! `imzo up` and `imzo agent` (a scripted pinentry types the password in the `pin` file).
//! First the home page in Russian with the module unreachable (a closed port): the box
//! with install instructions and the `/download/imzo` link. Then steps 1–3 (a server
//! error shown next to its field, the SMS code from the outbox, the key made by the module
//! on the applicant's drive, documents checked and previewed), /find's status in print
//! mode before payment (number, amount, pay links), the sandbox payment; centre 3's
//! operator signs in to /console with the operator's .pfx (in a second DSKEYS folder the
//! module scans; the pin file switched to the operator's password) and approves; then
//! step 4 (lookup by number and captcha, confirmation signed through the module with the
//! key password again, certificate installed and downloaded). A screenshot of every step
//! is kept under the target directory; the test prints where. The certificate the browser
//! downloaded and the one installed in the `.pfx` are checked with OpenSSL against the
//! deployment's root, and the audit log has the approval under the operator.
//!
//! Needs /usr/bin/chromium and `npm ci` in tests/browser (scripts/ensure-browser.sh);
//! without them the test says so and passes, unless IMZO_REQUIRE_BROWSER is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, free_port, openssl, write_pdf, write_png};
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

fn node(config: &serde_json::Value) -> serde_json::Value {
    let out = Command::new("node").current_dir(browser_dir()).arg("portal.mjs").arg(config.to_string()).output().unwrap();
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
        // Long enough for the whole walk before it is used.
        let expires = imzo_store::time_ms::now_ms() + 1_800_000;
        imzo_store::challenges::insert_captcha(store.pool(), &id, &hash, expires).await.unwrap();
    });
    id
}

/// The audit log as `imzo audit` would read it: (actor, action, subject, details).
fn audit_rows(data: &Path) -> Vec<(String, String, String, String)> {
    let url = format!("sqlite://{}/imzo.db", data.display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = imzo_store::Store::connect(&url).await.unwrap();
        imzo_store::audit::entries(store.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.action, e.subject, e.details))
            .collect()
    })
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
    // The pin file holds the key password; the walk switches it to the operator's for
    // the console and back.
    let key_pin = dir.join("key.password");
    std::fs::write(&key_pin, KEY_PASSWORD).unwrap();
    std::fs::copy(&key_pin, dir.join("pin")).unwrap();
    // Centre 3's operator key (the portal applies at centre 3), as `imzo up` made it, in a
    // second folder the module scans.
    let operator = dir.join("OPERATOR");
    std::fs::create_dir_all(operator.join("DSKEYS")).unwrap();
    std::fs::copy(data.join("operators/operator3.pfx"), operator.join("DSKEYS/operator3.pfx")).unwrap();
    let operator_pin = data.join("operators/operator3.password");
    assert_ne!(std::fs::read_to_string(&operator_pin).unwrap().trim(), KEY_PASSWORD);
    let (agent_port, tls_port) = (free_port(), free_port());
    let _agent = Agent(
        Command::new(env!("CARGO_BIN_EXE_imzo"))
            .args(["agent", "--port", &agent_port.to_string(), "--tls-port", &tls_port.to_string()])
            .args(["--allow-origin", &base])
            .arg("--keys")
            .arg(&flash)
            .arg("--keys")
            .arg(&operator)
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
    // Nothing listens here: the page finds no module.
    let closed_ws = format!("ws://127.0.0.1:{}/service/cryptapi", free_port());

    let fixtures = dir.join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    write_pdf(&fixtures.join("passport.pdf"));
    write_png(&fixtures.join("selfie.png"));
    std::fs::write(fixtures.join("not-a-pdf.pdf"), "just text, not a PDF\n").unwrap();
    let shots = shots_dir();
    let shots_s = shots.display().to_string();
    println!("portal screenshots: {shots_s}");

    // The two lookups on /find (print, then confirm) each use a captcha planted here.
    let print_captcha = plant_captcha(&data, "48213");
    let confirm_captcha = plant_captcha(&data, "48213");
    let r = node(&serde_json::json!({
        "base": base,
        "agent": ws,
        "closed_agent": closed_ws,
        "shots": shots_s,
        "fixtures": fixtures.display().to_string(),
        "key_drive": flash.display().to_string(),
        "pin_file": dir.join("pin").display().to_string(),
        "key_pin_file": key_pin.display().to_string(),
        "operator_pin_file": operator_pin.display().to_string(),
        "operator_key": "operator3",
        "print_captcha": print_captcha,
        "confirm_captcha": confirm_captcha,
        "captcha_answer": "48213",
    }));
    assert_eq!(r["ok"], true, "{r}\nserver log:\n{}", server.log_text());
    assert_eq!(r["page_errors"], serde_json::json!([]), "{r}");

    // The module missing: the box in Russian, the instructions for each system, the download.
    let m = &r["module_missing"];
    assert_eq!(m["lang"], "ru", "{r}");
    assert_eq!(m["title"], "Модуль Imzo не запущен", "{r}");
    assert_eq!(m["systems"], serde_json::json!(["Windows", "Linux", "macOS"]), "{r}");
    let box_text = m["text"].as_str().unwrap();
    for words in ["Установите и запустите", "imzo agent", "Проверить снова"] {
        assert!(box_text.contains(words), "{words:?} not in the box: {r}");
    }
    assert!(!box_text.contains("Install and start"), "English in the Russian box: {r}");
    assert_eq!(m["download_visible"], true, "{r}");
    assert!(m["download_text"].as_str().unwrap().starts_with("Скачайте модуль:"), "{r}");
    assert_eq!(m["download_status"], 200, "the link leads to the module: {r}");

    // Steps 1–3 and the sandbox payment, in English, then Uzbek (Cyrillic) after the switch.
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
    let pfx = flash.join("DSKEYS/DS328088101700660001.pfx");
    assert!(pfx.is_file());

    // /find's status printed before payment: number, amount and the pay links as text.
    let p = &r["print"];
    assert_eq!(p["screen_print_links_hidden"], true, "on screen the links are buttons: {r}");
    assert_eq!(p["screen_buttons_visible"], true, "{r}");
    assert_eq!(p["number_visible"], true, "{r}");
    assert_eq!(p["number"], number.as_str(), "{r}");
    assert_eq!(p["amount_visible"], true, "{r}");
    let spaced = |v: &serde_json::Value| v.as_str().unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(spaced(&p["amount"]), spaced(&r["amount"]), "the amount step 3 showed: {r}");
    assert_eq!(p["state"], "Awaiting payment", "{r}");
    assert_eq!(p["pay_visible"], true, "{r}");
    assert_eq!(p["links_visible"], true, "the pay links are printed: {r}");
    assert!(p["links"].as_str().unwrap().contains(&format!("{base}/sandbox/pay/")), "{r}");
    assert_eq!(p["buttons_hidden"], true, "{r}");
    assert_eq!(p["form_hidden"], true, "{r}");
    assert_eq!(p["print_button_hidden"], true, "{r}");

    // Centre 3's operator approves in the console (centre 1's could not: isolation).
    let c = &r["console"];
    assert!(c["keys"].to_string().contains("operator3"), "{r}");
    assert!(c["who"].as_str().unwrap().contains("Operator"), "{r}");
    assert!(c["queue"].to_string().contains(&number), "{r}");
    assert_eq!(c["state_before"], "Paid, under review", "{r}");
    assert_eq!(c["pinfl_says"], "born 1981-08-28, sex: male", "{r}");
    assert!(c["approved"].as_str().unwrap().contains(&number), "{r}");
    assert_eq!(c["state_after"], "Approved, awaiting your confirmation", "{r}");
    assert_eq!(c["decide_hidden"], true, "{r}");
    let rows = audit_rows(&data);
    let approval = rows.iter().find(|(_, action, subject, _)| action == "application.approved" && subject == &number);
    let (actor, ..) = approval.unwrap_or_else(|| panic!("no approval of {number} in the audit log"));
    assert!(actor.starts_with("operator:"), "{actor}");

    // Step 4 in Russian: find, confirm through the module, install and download.
    assert!(r["state"].as_str().unwrap().contains("Одобрена"), "{r}");
    assert_eq!(r["pay_hidden_when_approved"], true, "{r}");
    assert!(r["keys"][0].as_str().unwrap().starts_with("DS328088101700660001"), "{r}");
    assert!(r["key_chosen"].as_str().unwrap().starts_with("DS328088101700660001"), "{r}");
    assert!(r["installed"].as_str().unwrap().contains("DS328088101700660001.pfx"), "{r}");
    assert!(r["subject"].as_str().unwrap().contains("ALIYEV"), "{r}");
    assert_eq!(r["state_after"], "Сертификат выдан", "{r}");

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
        "00-module-missing",
        "01-home",
        "02-step1-server-error",
        "03-step1-sms-code",
        "04-step2-key",
        "05-step2-documents",
        "06-step3-payment",
        "07-find-print",
        "08-sandbox",
        "09-sandbox-paid",
        "10-console-detail",
        "11-console-approved",
        "12-step4-find",
        "13-step4-status",
        "14-step4-certificate",
    ] {
        assert!(shots.join(format!("{name}.png")).is_file(), "{name}.png missing");
    }
    println!("portal screenshots: {shots_s}");
    server.stop();
}
