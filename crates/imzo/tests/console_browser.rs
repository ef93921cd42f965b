//! The operator console end to end in headless Chromium at 375 px: the real `imzo up` and
//! `imzo agent`, the operator's .pfx (the one `imzo up` made) in a DSKEYS folder the module
//! sees and its password typed by a scripted pinentry. Two applications are made with
//! `imzo enroll` and paid through the sandbox; in the browser the operator signs in
//! (challenge–response through the module), sees both in the queue, opens one (PDF and
//! PNG documents, the PINFL decoded, audit trail, SMS), approves it, finds the other by
//! PINFL and rejects it with a listed reason. The server's records are then checked: the
//! states, the decisions under the operator's name, every view audited. A screenshot of
//! every step is kept under the target directory (`console-screenshots`).
//!
//! Needs /usr/bin/chromium and `npm ci` in tests/browser (scripts/ensure-browser.sh);
//! without them the test says so and passes, unless IMZO_REQUIRE_BROWSER is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, code_in, free_port, http, imzo, text, write_pdf, write_png};
use std::io::Write as _;
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
    let target = exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
    let dir = target.join("console-screenshots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Applies with `imzo enroll` (the SMS code from the outbox), then pays through the
/// sandbox; returns the application number.
fn paid_application(server: &Server, work: &Path, pinfl: &str, phone: &str, phone_input: &str) -> String {
    let (passport, selfie) = (work.join("passport.pdf"), work.join("selfie.png"));
    write_pdf(&passport);
    write_png(&selfie);
    let password = work.join("holder.password");
    std::fs::write(&password, "correct horse battery staple\n").unwrap();
    let after = server.outbox_last_id();
    let mut child = imzo()
        .args(["enroll", "--server", &server.base, "--type", "individual", "--pinfl", pinfl])
        .args(["--surname", "Aliyev", "--given-name", "Vali", "--patronymic", "G'aniyevich"])
        .args(["--birth-date", "1981-08-28", "--region", "Toshkent shahri", "--district", "Yunusobod tumani"])
        .args(["--passport", "AA1234567", "--phone", phone_input])
        .arg("--passport-scan")
        .arg(&passport)
        .arg("--selfie")
        .arg(&selfie)
        .arg("--keys")
        .arg(work.join(format!("keys-{pinfl}")))
        .arg("--password-file")
        .arg(&password)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sms = server.wait_sms(phone, after);
    writeln!(child.stdin.take().unwrap(), "{}", code_in(sms["text"].as_str().unwrap())).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "imzo enroll failed:\n{stdout}\n{}", text(&out.stderr));
    let number = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Application number:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no number in:\n{stdout}"));
    let paid: serde_json::Value = http()
        .post(format!("{}/api/v1/dev/sandbox/pay", server.base))
        .json(&serde_json::json!({ "application": number }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(paid.to_string().contains("paid"), "{paid}");
    number
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
fn operator_signs_in_reviews_approves_and_rejects_in_chromium() {
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

    // The operator's key, as `imzo up` printed it, on the "drive" the module sees.
    let flash = dir.join("OPERATOR");
    std::fs::create_dir_all(flash.join("DSKEYS")).unwrap();
    std::fs::copy(data.join("operators/operator1.pfx"), flash.join("DSKEYS/operator1.pfx")).unwrap();
    let pinentry = dir.join("pinentry.sh");
    std::fs::write(&pinentry, PINENTRY).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pinentry, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::copy(data.join("operators/operator1.password"), dir.join("pin")).unwrap();
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

    let approve = paid_application(&server, dir, "32808810170066", "998901234567", "+998 90 123 45 67");
    let reject = paid_application(&server, dir, "32808810170073", "998917654321", "+998 91 765 43 21");

    let shots = shots_dir();
    let shots_s = shots.display().to_string();
    println!("console screenshots: {shots_s}");
    let out = Command::new("node")
        .current_dir(browser_dir())
        .args(["console.mjs", &base, &ws, &shots_s, &approve, &reject, "32808810170073"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let r: serde_json::Value = serde_json::from_str(said.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("node printed no JSON ({e}):\n{said}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(r["ok"], true, "{r}\nserver log:\n{}", server.log_text());
    assert!(r["keys"][0].as_str().unwrap().starts_with("operator1"), "{r}");
    assert_eq!(r["focused"], "login-btn", "Tab from the key list reaches Sign in: {r}");
    assert!(r["who"].as_str().unwrap().contains("Operator"), "{r}");
    let queue = r["queue"].to_string();
    assert!(queue.contains(&approve) && queue.contains(&reject), "both paid applications queued: {r}");
    assert!(r["selfie_width"].as_u64().unwrap() > 0, "the PNG selfie is shown decoded: {r}");
    assert!(r["pdf_src"].as_str().unwrap().starts_with("blob:"), "the passport PDF is in the frame: {r}");
    assert!(r["pdf_hash"].as_str().unwrap().starts_with("SHA-256 matches"), "{r}");
    assert_eq!(r["pinfl_says"], "born 1981-08-28, sex: male", "{r}");
    assert_eq!(r["birth_typed"], "1981-08-28 (agrees with the PINFL)", "{r}");
    assert_eq!(r["state"], "Paid, under review", "{r}");
    let before: Vec<&str> = r["trail_before"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    for action in ["application.started", "application.phone_verified", "application.submitted", "application.paid", "operator.viewed"] {
        assert!(before.contains(&action), "{action} not in the trail: {r}");
    }
    assert!(r["approved"].as_str().unwrap().contains(&approve), "{r}");
    assert_eq!(r["state_after_approve"], "Approved, awaiting your confirmation", "{r}");
    assert_eq!(r["decide_hidden"], true, "no second decision is offered: {r}");
    assert!(r["app_sms"].to_string().contains(&approve), "the approval SMS is listed: {r}");
    assert!(!r["queue_after"].to_string().contains(&approve), "approved left the queue: {r}");
    assert!(r["results"].to_string().contains(&reject), "{r}");
    assert_eq!(r["reason_error"], "Please fill in this field.", "{r}");
    assert!(r["rejected"].as_str().unwrap().contains(&reject), "{r}");
    assert!(r["rejection_shown"].as_str().unwrap().contains("The passport page is blurred."), "{r}");
    assert!(r["reject_sms"].to_string().contains("blurred"), "the applicant is told why: {r}");
    assert_eq!(r["queue_empty_ru"], "Заявок на рассмотрение нет.", "the session survived the switch: {r}");
    assert!(r["outbox"].as_u64().unwrap() >= 4, "{r}");
    assert_eq!(r["urls_with_secrets"], serde_json::json!([]), "{r}");
    assert_eq!(r["page_errors"], serde_json::json!([]), "{r}");

    // What the server recorded: the states, the decisions and views under the operator.
    let rows = audit_rows(&data);
    let view = |number: &str| -> serde_json::Value {
        let last = rows.iter().rev().find(|(_, action, subject, _)| subject == number && action.starts_with("application.")).unwrap();
        serde_json::json!({ "actor": last.0, "action": last.1, "details": serde_json::from_str::<serde_json::Value>(&last.3).unwrap() })
    };
    let approved = view(&approve);
    assert_eq!(approved["action"], "application.approved", "{approved}");
    assert!(approved["actor"].as_str().unwrap().starts_with("operator:"), "{approved}");
    let rejected = view(&reject);
    assert_eq!(rejected["action"], "application.rejected", "{rejected}");
    assert_eq!(rejected["details"]["code"], "documents_unreadable", "{rejected}");
    let viewed = |what: &str| {
        rows.iter().filter(|(a, action, _, d)| a.starts_with("operator:") && action == "operator.viewed" && d.contains(what)).count()
    };
    assert!(viewed("\"queue\"") >= 3, "sign-in, refreshes and the return to the queue are audited");
    assert_eq!(viewed("\"document\""), 4, "two documents of each of the two applications");
    assert!(viewed("\"audit\"") >= 4, "the trails shown, before and after each decision");
    assert_eq!(viewed("\"search\""), 1);
    for name in ["c01-login", "c02-queue", "c03-detail", "c04-approved", "c05-search", "c06-rejected", "c07-russian-outbox"] {
        assert!(shots.join(format!("{name}.png")).is_file(), "{name}.png missing");
    }
    server.stop();
}
