//! Helpers of the end-to-end test: a running `imzo up`, the CLI, real documents, OpenSSL.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub(crate) mod postgres;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `imzo` binary under test.
pub(crate) fn imzo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_imzo"))
}

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it right after).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `imzo up`, stopped (SIGTERM, then waited for) on drop.
pub(crate) struct Server {
    /// The child process.
    pub(crate) child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// The data folder.
    pub(crate) data: PathBuf,
    /// Where its stdout and stderr go.
    pub(crate) log: PathBuf,
}

impl Server {
    /// Starts `imzo up` on `data` with `database` (SQLite in `data` when none) and
    /// waits until `/healthz` answers.
    pub(crate) fn start(data: &Path, database: Option<&str>, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let log = data.with_extension("log");
        let log_file = std::fs::File::create(&log).unwrap();
        let mut cmd = imzo();
        cmd.arg("up").arg("--data").arg(data).arg("--listen").arg(format!("127.0.0.1:{port}"));
        // Always explicit, so an IMZO_DATABASE_URL in the caller's environment cannot leak in.
        let sqlite = format!("sqlite://{}/imzo.db", data.display());
        cmd.arg("--database").arg(database.unwrap_or(&sqlite));
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.env("RUST_LOG", "info,tower_http=warn,sqlx=warn");
        let child = cmd.stdout(log_file.try_clone().unwrap()).stderr(log_file).spawn().unwrap();
        let mut server = Server { child, base: format!("http://127.0.0.1:{port}"), data: data.to_path_buf(), log };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&mut self) {
        let client = http();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("imzo up exited with {status}:\n{}", self.log_text());
            }
            if let Ok(r) = client.get(format!("{}/healthz", self.base)).send()
                && r.status().is_success()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("imzo up did not answer /healthz in time:\n{}", self.log_text());
    }

    /// What the server printed so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the server with SIGTERM and checks it shut down cleanly.
    pub(crate) fn stop(mut self) {
        let status = self.terminate();
        assert!(status.success(), "imzo up did not shut down cleanly ({status}):\n{}", self.log_text());
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Messages in the outbox with id above `after`, as JSON values.
    pub(crate) fn outbox(&self, after: i64) -> Vec<serde_json::Value> {
        http()
            .get(format!("{}/api/v1/dev/outbox?after={after}", self.base))
            .send()
            .unwrap()
            .json::<Vec<serde_json::Value>>()
            .unwrap()
    }

    /// The largest outbox id so far.
    pub(crate) fn outbox_last_id(&self) -> i64 {
        self.outbox(0).iter().filter_map(|m| m["id"].as_i64()).max().unwrap_or(0)
    }

    /// Waits for a message to `phone` (998…) after id `after`; returns it.
    pub(crate) fn wait_sms(&self, phone: &str, after: i64) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(m) = self.outbox(after).into_iter().find(|m| m["phone"] == phone) {
                return m;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("no SMS to {phone} after id {after}; outbox: {:?}", self.outbox(0));
    }

    /// Calls our Payme merchant endpoint with the deployment's key.
    pub(crate) fn payme(&self, method: &str, params: serde_json::Value) -> serde_json::Value {
        use base64::Engine as _;
        let key = std::fs::read_to_string(self.data.join("secrets/payme-key")).unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("Paycom:{}", key.trim()));
        http()
            .post(format!("{}/pay/payme", self.base))
            .header("Authorization", format!("Basic {auth}"))
            .json(&serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// A blocking HTTP client.
pub(crate) fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// Runs a command, returning its output.
pub(crate) fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap()
}

/// Runs a command that must succeed; returns its stdout.
pub(crate) fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{}\n{}", out.status, text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

/// Lossy UTF-8.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `openssl args…`; (success, stdout + stderr).
pub(crate) fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).stdin(Stdio::null()).output().expect("the openssl CLI is installed");
    (out.status.success(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
}

/// A real PNG photo stand-in (a gradient), made with the `image` crate; 240 × 200, above
/// the 200 × 200 pixels a document image needs.
pub(crate) fn write_png(path: &Path) {
    let img = image::RgbImage::from_fn(240, 200, |x, y| image::Rgb([(x * 2) as u8, (y * 3) as u8, 128]));
    img.save_with_format(path, image::ImageFormat::Png).unwrap();
}

/// A minimal valid one-page PDF, its cross-reference table with correct offsets.
pub(crate) fn write_pdf(path: &Path) {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        "<< /Length 44 >>\nstream\nBT /F1 24 Tf 72 720 Td (Passport) Tj ET\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ];
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        pdf.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    std::fs::File::create(path).unwrap().write_all(&pdf).unwrap();
}

/// The 6-digit code in an SMS text (a run of exactly six digits).
pub(crate) fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no 6-digit code in {text:?}"))
}
