//! Settings of a deployment (DESIGN §4 "Settings").
//!
//! One optional TOML file (`DATA/imzo.toml`, or `--config FILE`), every key overridable
//! by an environment variable `IMZO_<SECTION>_<KEY>` (upper case); a secret may instead
//! come from a file named by `IMZO_<SECTION>_<KEY>_FILE`. Example with every key:
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"            # IMZO_SERVER_LISTEN
//! public_url = "http://127.0.0.1:8080" # IMZO_SERVER_PUBLIC_URL (default: http://<listen>)
//!
//! [database]
//! url = "sqlite://DATA/imzo.db"        # IMZO_DATABASE_URL (or --database); secret: _FILE
//!
//! [fees]
//! # Base calculation value (sum) by the date it came into force (Asia/Tashkent).
//! # IMZO_FEES_BCV="2024-10-01=375000,2025-08-01=412000"
//! bcv = [{ from = "2024-10-01", sum = 375000 }, { from = "2025-08-01", sum = 412000 }]
//!
//! [payme]
//! key = "…"                            # IMZO_PAYME_KEY / IMZO_PAYME_KEY_FILE
//!                                      # default: random, kept in DATA/secrets/payme-key
//! merchant_id = "…"                    # IMZO_PAYME_MERCHANT_ID
//!
//! [sms]
//! gateway = "outbox"                   # IMZO_SMS_GATEWAY (only the local outbox so far)
//!
//! [ca]
//! policy_oid = "1.2.860.3.2.1"         # IMZO_CA_POLICY_OID (certificatePolicies of holders)
//! ```

use anyhow::{Context, Result, anyhow, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use time::{Date, macros::format_description};
use zeroize::Zeroizing;

/// Every key a settings file may hold, as (section, key). Each is overridable by
/// `IMZO_<SECTION>_<KEY>` and `IMZO_<SECTION>_<KEY>_FILE`.
pub(crate) const KEYS: &[(&str, &str)] = &[
    ("server", "listen"),
    ("server", "public_url"),
    ("database", "url"),
    ("fees", "bcv"),
    ("payme", "key"),
    ("payme", "merchant_id"),
    ("sms", "gateway"),
    ("ca", "policy_oid"),
];

/// The BCV table used when neither the file nor the environment gives one (sum).
const DEFAULT_BCV: &[(&str, i64)] = &[("2024-10-01", 375_000), ("2025-08-01", 412_000)];

/// A deployment's settings, after the file and the environment were applied.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Address the HTTP server listens on.
    pub(crate) listen: SocketAddr,
    /// Public base URL (links, URLs in certificates).
    pub(crate) public_url: String,
    /// Database URL.
    pub(crate) database_url: Zeroizing<String>,
    /// Base calculation values in tiyin by the date they came into force, ascending.
    pub(crate) bcv_table: Vec<(Date, i64)>,
    /// Payme merchant key (configured or generated for the embedded sandbox).
    pub(crate) payme_key: Zeroizing<String>,
    /// Payme merchant id, if any.
    pub(crate) payme_merchant_id: Option<String>,
    /// SMS gateway: `outbox`.
    pub(crate) sms_gateway: String,
    /// certificatePolicies OID of holder certificates, if any.
    pub(crate) policy_oid: Option<String>,
}

/// What the command line says, which wins over file and environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    /// `--config FILE`.
    pub(crate) config: Option<PathBuf>,
    /// `--listen ADDR`.
    pub(crate) listen: Option<String>,
    /// `--database URL`.
    pub(crate) database: Option<String>,
}

impl Settings {
    /// Loads the settings of the deployment in `data_dir` from its file (or
    /// `overrides.config`), the process environment and the command line. Generated
    /// defaults (the embedded sandbox's Payme key) are created under `data_dir/secrets`.
    pub(crate) fn load(data_dir: &Path, overrides: &Overrides) -> Result<Settings> {
        let file = match &overrides.config {
            Some(path) => Some(
                std::fs::read_to_string(path).with_context(|| format!("cannot read settings file {}", path.display()))?,
            ),
            None => {
                let default = data_dir.join("imzo.toml");
                match std::fs::read_to_string(&default) {
                    Ok(text) => Some(text),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(e).with_context(|| format!("cannot read {}", default.display())),
                }
            }
        };
        let env = |name: &str| std::env::var(name).ok();
        let mut raw = RawSettings::parse(file.as_deref(), &env)?;
        if let Some(listen) = &overrides.listen {
            raw.set("server", "listen", listen.clone());
        }
        if let Some(db) = &overrides.database {
            raw.set("database", "url", db.clone());
        }
        raw.finish(data_dir)
    }
}

/// Settings as strings after file and environment, before their meaning is checked.
#[derive(Debug, Default)]
pub(crate) struct RawSettings {
    values: std::collections::BTreeMap<(String, String), Zeroizing<String>>,
    bcv_file: Option<Vec<(Date, i64)>>,
}

impl RawSettings {
    /// Reads the TOML `file` text (if any), then applies the environment seen through `env`.
    pub(crate) fn parse(file: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<RawSettings> {
        let mut raw = RawSettings::default();
        if let Some(text) = file {
            let table: toml::Table = text.parse().context("settings file is not valid TOML")?;
            for (section, body) in &table {
                let body = body
                    .as_table()
                    .ok_or_else(|| anyhow!("settings: [{section}] must be a table of keys"))?;
                for (key, value) in body {
                    if !KEYS.contains(&(section.as_str(), key.as_str())) {
                        bail!("settings: unknown key {section}.{key} (known: {})", known_keys());
                    }
                    if (section.as_str(), key.as_str()) == ("fees", "bcv") {
                        raw.bcv_file = Some(bcv_from_toml(value)?);
                        continue;
                    }
                    let text = match value {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Integer(i) => i.to_string(),
                        other => bail!("settings: {section}.{key} must be a string, not {}", other.type_str()),
                    };
                    raw.set(section, key, text);
                }
            }
        }
        for (section, key) in KEYS {
            let name = format!("IMZO_{}_{}", section.to_uppercase(), key.to_uppercase());
            if let Some(value) = env(&name) {
                raw.set(section, key, value);
            } else if let Some(path) = env(&format!("{name}_FILE")) {
                let text = Zeroizing::new(
                    std::fs::read_to_string(&path).with_context(|| format!("{name}_FILE: cannot read {path}"))?,
                );
                raw.set(section, key, text.trim_end_matches(['\r', '\n']).to_string());
            }
        }
        Ok(raw)
    }

    fn set(&mut self, section: &str, key: &str, value: String) {
        self.values.insert((section.to_string(), key.to_string()), Zeroizing::new(value));
    }

    fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.values.get(&(section.to_string(), key.to_string())).map(|v| v.as_str()).filter(|v| !v.is_empty())
    }

    /// Checks every value and fills the defaults.
    pub(crate) fn finish(self, data_dir: &Path) -> Result<Settings> {
        let listen_text = self.get("server", "listen").unwrap_or("127.0.0.1:8080");
        let listen: SocketAddr = listen_text
            .parse()
            .map_err(|e| anyhow!("server.listen: {listen_text:?} is not an address like 127.0.0.1:8080 ({e})"))?;
        let public_url = match self.get("server", "public_url") {
            Some(u) => {
                let parsed = url::Url::parse(u).map_err(|e| anyhow!("server.public_url: {u:?} is not a URL ({e})"))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    bail!("server.public_url: {u:?} must be an http or https URL");
                }
                u.trim_end_matches('/').to_string()
            }
            None => format!("http://{listen}"),
        };
        let database_url = Zeroizing::new(match self.get("database", "url") {
            Some(u) => u.to_string(),
            None => format!("sqlite://{}", data_dir.join("imzo.db").display()),
        });
        let bcv_table = match self.get("fees", "bcv") {
            Some(text) => bcv_from_env(text)?,
            None => match &self.bcv_file {
                Some(table) => table.clone(),
                None => DEFAULT_BCV
                    .iter()
                    .map(|(d, sum)| Ok((parse_date(d)?, sum * 100)))
                    .collect::<Result<Vec<_>>>()?,
            },
        };
        let payme_key = match self.get("payme", "key") {
            Some(k) => Zeroizing::new(k.to_string()),
            None => generated_secret(&data_dir.join("secrets").join("payme-key"))?,
        };
        let sms_gateway = self.get("sms", "gateway").unwrap_or("outbox").to_string();
        if sms_gateway != "outbox" {
            bail!("sms.gateway: {sms_gateway:?} is not available; the only gateway so far is \"outbox\"");
        }
        let policy_oid = match self.get("ca", "policy_oid") {
            Some(oid) => {
                let arcs: Vec<&str> = oid.split('.').collect();
                if arcs.len() < 2 || arcs.iter().any(|a| a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit())) {
                    bail!("ca.policy_oid: {oid:?} is not a dotted OID like 1.2.860.3.2.1");
                }
                Some(oid.to_string())
            }
            None => None,
        };
        Ok(Settings {
            listen,
            public_url,
            database_url,
            bcv_table,
            payme_key,
            payme_merchant_id: self.get("payme", "merchant_id").map(str::to_string),
            sms_gateway,
            policy_oid,
        })
    }
}

fn known_keys() -> String {
    KEYS.iter().map(|(s, k)| format!("{s}.{k}")).collect::<Vec<_>>().join(", ")
}

fn parse_date(text: &str) -> Result<Date> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|e| anyhow!("fees.bcv: {text:?} is not a date like 2025-08-01 ({e})"))
}

fn checked_bcv(mut table: Vec<(Date, i64)>) -> Result<Vec<(Date, i64)>> {
    if table.is_empty() {
        bail!("fees.bcv: the table is empty; give at least one dated value");
    }
    table.sort_by_key(|(d, _)| *d);
    for pair in table.windows(2) {
        if pair[0].0 == pair[1].0 {
            bail!("fees.bcv: two values for {}", pair[0].0);
        }
    }
    Ok(table)
}

fn sum_to_tiyin(sum: i64) -> Result<i64> {
    if sum <= 0 {
        bail!("fees.bcv: {sum} is not a positive amount in sum");
    }
    sum.checked_mul(100).ok_or_else(|| anyhow!("fees.bcv: {sum} sum is too large"))
}

/// `[{ from = "2025-08-01", sum = 412000 }, …]` → tiyin by date.
fn bcv_from_toml(value: &toml::Value) -> Result<Vec<(Date, i64)>> {
    let entries = value.as_array().ok_or_else(|| anyhow!("fees.bcv must be a list of {{ from, sum }} entries"))?;
    let mut table = Vec::new();
    for entry in entries {
        let from = entry
            .get("from")
            .and_then(|v| v.as_str())
            .ok_or_else(|| anyhow!("fees.bcv: each entry needs from = \"YYYY-MM-DD\""))?;
        let sum = entry
            .get("sum")
            .and_then(|v| v.as_integer())
            .ok_or_else(|| anyhow!("fees.bcv: each entry needs sum = <integer sum>"))?;
        table.push((parse_date(from)?, sum_to_tiyin(sum)?));
    }
    checked_bcv(table)
}

/// `2024-10-01=375000,2025-08-01=412000` → tiyin by date.
fn bcv_from_env(text: &str) -> Result<Vec<(Date, i64)>> {
    let mut table = Vec::new();
    for part in text.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()) {
        let (date, sum) = part
            .split_once('=')
            .ok_or_else(|| anyhow!("fees.bcv: {part:?} is not DATE=SUM like 2025-08-01=412000"))?;
        let sum: i64 = sum.trim().parse().map_err(|_| anyhow!("fees.bcv: {sum:?} is not a whole number of sum"))?;
        table.push((parse_date(date)?, sum_to_tiyin(sum)?));
    }
    checked_bcv(table)
}

/// A random secret kept in `path` (0600), created on first use.
pub(crate) fn generated_secret(path: &Path) -> Result<Zeroizing<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            let secret = text.trim_end_matches(['\r', '\n']);
            if secret.is_empty() {
                bail!("{} is empty; delete it to have a new secret generated", path.display());
            }
            Ok(Zeroizing::new(secret.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut raw = Zeroizing::new([0u8; 24]);
            getrandom_fill(raw.as_mut())?;
            let secret = Zeroizing::new(hex::encode(raw.as_ref()));
            write_private(path, secret.as_bytes())?;
            Ok(secret)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn getrandom_fill(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| anyhow!("no randomness from the operating system: {e}"))
}

/// Writes a private file (0600) durably: temporary file, fsync, rename, fsync folder.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = path.parent().ok_or_else(|| anyhow!("{} has no parent folder", path.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    let tmp = dir.join(format!(".{}.tmp", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(bytes).and_then(|_| f.sync_all()).with_context(|| format!("cannot write {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("cannot sync {}", dir.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn defaults_without_file_or_environment() {
        let dir = tempfile::tempdir().unwrap();
        let s = RawSettings::parse(None, &env_of(&[])).unwrap().finish(dir.path()).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert_eq!(s.database_url.as_str(), format!("sqlite://{}/imzo.db", dir.path().display()));
        assert_eq!(s.bcv_table.last().unwrap().1, 41_200_000);
        // The generated Payme key is kept: a second load reads the same one.
        let again = RawSettings::parse(None, &env_of(&[])).unwrap().finish(dir.path()).unwrap();
        assert_eq!(s.payme_key.len(), 48);
        assert_eq!(s.payme_key, again.payme_key);
    }

    #[test]
    fn environment_wins_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = r#"
            [server]
            listen = "127.0.0.1:9000"
            [fees]
            bcv = [{ from = "2025-08-01", sum = 412000 }, { from = "2024-10-01", sum = 375000 }]
            [payme]
            key = "from-file"
        "#;
        let key_file = dir.path().join("k");
        std::fs::write(&key_file, "from-key-file\n").unwrap();
        let env = env_of(&[
            ("IMZO_SERVER_LISTEN", "127.0.0.1:9100"),
            ("IMZO_PAYME_KEY_FILE", key_file.to_str().unwrap()),
            ("IMZO_CA_POLICY_OID", "1.2.860.3.2.1"),
        ]);
        let s = RawSettings::parse(Some(file), &env).unwrap().finish(dir.path()).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(s.payme_key.as_str(), "from-key-file");
        assert_eq!(s.policy_oid.as_deref(), Some("1.2.860.3.2.1"));
        let dates: Vec<String> = s.bcv_table.iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(dates, ["2024-10-01", "2025-08-01"]);
        let env = env_of(&[("IMZO_FEES_BCV", "2020-01-01=223000")]);
        let s = RawSettings::parse(Some(file), &env).unwrap().finish(dir.path()).unwrap();
        assert_eq!(s.bcv_table, vec![(parse_date("2020-01-01").unwrap(), 22_300_000)]);
    }

    #[test]
    fn bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[(&str, &str, &str)] = &[
            ("IMZO_SERVER_LISTEN", "localhost", "server.listen"),
            ("IMZO_FEES_BCV", "2025-13-01=1", "fees.bcv"),
            ("IMZO_FEES_BCV", "2025-01-01=-5", "fees.bcv"),
            ("IMZO_CA_POLICY_OID", "1.2.x", "ca.policy_oid"),
            ("IMZO_SMS_GATEWAY", "eskiz", "sms.gateway"),
            ("IMZO_SERVER_PUBLIC_URL", "ftp://x", "server.public_url"),
        ];
        for (name, value, key) in cases {
            let err = RawSettings::parse(None, &env_of(&[(name, value)])).unwrap().finish(dir.path()).unwrap_err();
            assert!(err.to_string().contains(key), "{name}={value}: {err}");
        }
        let err = RawSettings::parse(Some("[server]\nport = 1\n"), &env_of(&[])).unwrap_err();
        assert!(err.to_string().contains("server.port"), "{err}");
    }
}
