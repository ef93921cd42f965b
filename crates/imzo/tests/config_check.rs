//! `imzo config check`: every key with its value and source, secrets masked, exit 2 with
//! the key named when a value is invalid; the data folder is left untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

/// `imzo config check` with a clean environment (no IMZO_* of the caller leaks in).
fn check(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imzo"));
    cmd.args(["config", "check"]).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("IMZO_") {
            cmd.env_remove(name);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout.lines().find(|l| l.starts_with(&format!("{key} = "))).unwrap_or_else(|| panic!("no {key}:\n{stdout}"))
}

#[test]
fn prints_each_key_with_its_source_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let file = dir.path().join("imzo.toml");
    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9000\"\n[payme]\nkey = \"file-payme-secret-123\"\n[lookup]\nper_minute = 7\n").unwrap();
    let out = check(
        &["--data", data.to_str().unwrap(), "--config", file.to_str().unwrap()],
        &[
            ("IMZO_SERVER_LISTEN", "127.0.0.1:9100"),
            ("IMZO_CLICK_SECRET", "env-click-secret-456"),
            ("IMZO_DATABASE_URL", "postgres://imzo:db-password-789@127.0.0.1/imzo"),
        ],
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(line(&stdout, "server.listen"), "server.listen = 127.0.0.1:9100  (environment IMZO_SERVER_LISTEN)");
    assert_eq!(line(&stdout, "lookup.per_minute"), "lookup.per_minute = 7  (file)");
    assert_eq!(line(&stdout, "paynet.user"), "paynet.user = paynet  (default)");
    assert_eq!(line(&stdout, "server.public_url"), "server.public_url = http://127.0.0.1:9100  (default)");
    assert!(line(&stdout, "payme.key").ends_with("(file)"), "{stdout}");
    assert!(line(&stdout, "click.secret").ends_with("(environment IMZO_CLICK_SECRET)"), "{stdout}");
    assert_eq!(line(&stdout, "database.url"), "database.url = postgres://imzo:***@127.0.0.1/imzo  (environment IMZO_DATABASE_URL)");
    for secret in ["file-payme-secret-123", "env-click-secret-456", "db-password-789"] {
        assert!(!stdout.contains(secret), "{secret} shown:\n{stdout}");
    }
    // Every known key is listed.
    let listed = stdout.lines().filter(|l| !l.starts_with('#')).count();
    assert!(listed >= 39, "{listed} keys:\n{stdout}");
    // Nothing was generated in the data folder.
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
}

#[test]
fn defaults_come_from_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(&["--data", dir.path().to_str().unwrap()], &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    let db = format!("database.url = sqlite://{}/imzo.db  (default)", dir.path().display());
    assert_eq!(line(&stdout, "database.url"), db);
    assert_eq!(line(&stdout, "payme.key"), "payme.key = (generated, kept in DATA/secrets/payme-key)  (default)");
    assert!(!dir.path().join("secrets").exists());
}

#[test]
fn an_invalid_value_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value, key) in [
        ("IMZO_SERVER_LISTEN", "localhost", "server.listen"),
        ("IMZO_LOOKUP_PER_MINUTE", "0", "lookup.per_minute"),
        ("IMZO_FEES_BCV", "2999-01-01=1", "fees.bcv"),
        ("IMZO_DATABASE_URL", "TOPSECRET", "database.url"),
        ("IMZO_DATABASE_URL", "mysql://u:TOPSECRET@h/db", "database.url"),
        ("IMZO_PAYME_KEE", "TOPSECRET", "IMZO_PAYME_KEE"),
    ] {
        let out = check(&["--data", dir.path().to_str().unwrap()], &[(name, value)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}={value}: {stderr}");
        assert!(stderr.contains(key), "{name}={value}: {stderr}");
        assert!(!stderr.contains("TOPSECRET"), "a secret is never echoed: {stderr}");
    }
    let file = dir.path().join("imzo.toml");
    std::fs::write(&file, "[server]\nport = 8080\n").unwrap();
    let out = check(&["--data", dir.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.port"));
}
