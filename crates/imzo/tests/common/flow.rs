//! The application flow step by step against any node, each step returning an error
//! instead of panicking (a node may be gone), plus direct database reads. Included by
//! `two_nodes.rs` and `crash.rs` with `#[path]`; needs `mod common;` beside it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// 270 000 sum in force: 7 % for an individual is 18 900 sum.
pub(crate) const BCV_ENV: (&str, &str) = ("IMZO_FEES_BCV", "2020-01-01=270000");
/// Many starts from 127.0.0.1 within the hour.
pub(crate) const STARTS_ENV: (&str, &str) = ("IMZO_APPLICATION_STARTS_PER_ADDRESS_PER_HOUR", "1000");

/// An applicant born 1981-08-28 (male), numbered `i`: own PINFL and phone.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) pinfl: String,
    /// 998XXXXXXXXX.
    pub(crate) phone: String,
    /// Their working folder (documents, key files, password).
    pub(crate) work: PathBuf,
}

impl Person {
    pub(crate) fn new(i: u32, root: &Path) -> Person {
        let first13 = format!("3280881017{:03}", 100 + i);
        let digits: [u8; 13] = first13.bytes().map(|b| b - b'0').collect::<Vec<_>>().try_into().unwrap();
        let pinfl = format!("{first13}{}", imzo_ra::validate::pinfl_check_digit(&digits));
        imzo_ra::validate::pinfl(&pinfl).unwrap();
        let work = root.join(format!("applicant-{i}"));
        std::fs::create_dir_all(&work).unwrap();
        write_pdf(&work.join("passport.pdf"));
        write_png(&work.join("selfie.png"));
        std::fs::write(work.join("holder.password"), "correct horse battery staple\n").unwrap();
        Person { pinfl, phone: format!("99890{:07}", 1_230_000 + i), work }
    }

    pub(crate) fn password_file(&self) -> PathBuf {
        self.work.join("holder.password")
    }
}

/// Outbox messages of `base` after id `after` (none if the node does not answer).
pub(crate) fn outbox_of(base: &str, after: i64) -> Result<Vec<serde_json::Value>, String> {
    http()
        .get(format!("{base}/api/v1/dev/outbox?after={after}"))
        .timeout(Duration::from_secs(5))
        .send()
        .and_then(|r| r.json::<Vec<serde_json::Value>>())
        .map_err(|e| e.to_string())
}

/// `imzo enroll` against `base`, the SMS code read from `outbox_base`'s outbox (the same
/// database): application number and key file.
pub(crate) fn enroll(base: &str, outbox_base: &str, who: &Person) -> Result<(String, PathBuf), String> {
    let mut child = imzo()
        .args(["enroll", "--server", base, "--type", "individual", "--pinfl", &who.pinfl])
        .args(["--surname", "Aliyev", "--given-name", "Vali", "--patronymic", "G'aniyevich"])
        .args(["--birth-date", "1981-08-28", "--region", "Toshkent shahri", "--district", "Yunusobod tumani"])
        .args(["--passport", "AA1234567", "--phone", &format!("+{}", who.phone)])
        .arg("--passport-scan")
        .arg(who.work.join("passport.pdf"))
        .arg("--selfie")
        .arg(who.work.join("selfie.png"))
        .arg("--keys")
        .arg(who.work.join("keys"))
        .arg("--password-file")
        .arg(who.password_file())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The code: the first code SMS to this phone (each applicant has its own phone).
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        let found = match outbox_of(outbox_base, 0) {
            Ok(all) => all.into_iter().find(|m| m["phone"] == who.phone.as_str()),
            Err(e) => {
                // The node is gone: no code will come.
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("outbox unreachable: {e}"));
            }
        };
        if let Some(m) = found {
            break code_in(m["text"].as_str().unwrap());
        }
        if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            return Err(format!("no SMS code for {}: {}", who.phone, text(&out.stderr)));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(stdin, "{code}");
    }
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    if !out.status.success() {
        return Err(format!("imzo enroll failed:\n{stdout}\n{}", text(&out.stderr)));
    }
    Ok((field(&stdout, "Application number:"), PathBuf::from(field(&stdout, "Key file:"))))
}

/// The value after `label` on its line.
pub(crate) fn field(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{stdout}"))
}

/// Pays `number` through `base`'s payment sandbox (`POST /api/v1/dev/sandbox/pay`).
pub(crate) fn sandbox_pay(base: &str, number: &str) -> Result<serde_json::Value, String> {
    let response = http()
        .post(format!("{base}/api/v1/dev/sandbox/pay"))
        .json(&serde_json::json!({ "application": number }))
        .send()
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: serde_json::Value = response.json().map_err(|e| e.to_string())?;
    if status.is_success() && body["paid"] == true {
        Ok(body)
    } else {
        Err(format!("sandbox payment of {number} refused ({status}): {body}"))
    }
}

/// `imzo operator ARGS… --server base` with operator 1's key file from `data`.
pub(crate) fn operator(base: &str, data: &Path, args: &[&str]) -> std::process::Output {
    run(imzo()
        .arg("operator")
        .args(args)
        .arg("--pfx")
        .arg(data.join("operators/operator1.pfx"))
        .arg("--password-file")
        .arg(data.join("operators/operator1.password"))
        .args(["--server", base]))
}

/// `imzo enroll confirm`: the serial (lower-case hex, no separators) of the issued certificate.
pub(crate) fn confirm(base: &str, number: &str, pfx: &Path, who: &Person) -> Result<String, String> {
    let out = run(imzo()
        .args(["enroll", "confirm", number, "--server", base])
        .arg("--pfx")
        .arg(pfx)
        .arg("--password-file")
        .arg(who.password_file()));
    let stdout = text(&out.stdout);
    if !out.status.success() {
        return Err(format!("confirm {number} failed:\n{stdout}\n{}", text(&out.stderr)));
    }
    Ok(normal_serial(&field(&stdout, "Serial:")))
}

/// A serial as the database keeps it: lower-case hex without separators.
pub(crate) fn normal_serial(serial: &str) -> String {
    serial.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase()
}

/// Runs `sql` on `url` and returns every row as strings (NULL as "NULL"); the columns
/// must be TEXT or integers.
pub(crate) fn query(url: &str, sql: &str) -> Vec<Vec<String>> {
    use sqlx::Row as _;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await.unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(&pool).await.unwrap();
        let out = rows
            .iter()
            .map(|row| {
                (0..row.columns().len())
                    .map(|i| {
                        if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                            v.unwrap_or_else(|| "NULL".into())
                        } else {
                            row.try_get::<Option<i64>, _>(i).unwrap().map_or_else(|| "NULL".into(), |v| v.to_string())
                        }
                    })
                    .collect()
            })
            .collect();
        pool.close().await;
        out
    })
}

/// Runs a statement on `url`.
pub(crate) fn execute(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&pool).await.unwrap();
        pool.close().await;
    });
}

/// `imzo audit verify --database url`: (exit code, output).
pub(crate) fn audit_verify(url: &str) -> (Option<i32>, String) {
    let out = run(imzo().args(["audit", "verify", "--database", url]));
    (out.status.code(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
}

/// Polls `check` every 250 ms until it is true or `within` passes; whether it became true.
pub(crate) fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
