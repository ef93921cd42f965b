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
//! [click]
//! service_id = "…"                     # IMZO_CLICK_SERVICE_ID (default: 1, the sandbox's)
//! merchant_id = "…"                    # IMZO_CLICK_MERCHANT_ID (pay links)
//! secret = "…"                         # IMZO_CLICK_SECRET / IMZO_CLICK_SECRET_FILE
//!                                      # default: random, kept in DATA/secrets/click-secret
//!
//! [paynet]
//! user = "…"                           # IMZO_PAYNET_USER (default: paynet)
//! password = "…"                       # IMZO_PAYNET_PASSWORD / IMZO_PAYNET_PASSWORD_FILE
//!                                      # default: random, kept in DATA/secrets/paynet-password
//! merchant_id = "…"                    # IMZO_PAYNET_MERCHANT_ID (pay links)
//!
//! [payments]
//! sandbox = "auto"                     # IMZO_PAYMENTS_SANDBOX: auto (on only while no real
//!                                      # provider key/merchant id is set), on (forced; warned) or off
//!
//! [sms]
//! gateway = "outbox"                   # IMZO_SMS_GATEWAY: outbox, eskiz or playmobile
//!                                      # (the dev outbox route is served only for outbox)
//! eskiz_url = "https://notify.eskiz.uz/api"  # IMZO_SMS_ESKIZ_URL
//! eskiz_email = "…"                    # IMZO_SMS_ESKIZ_EMAIL
//! eskiz_password = "…"                 # IMZO_SMS_ESKIZ_PASSWORD / IMZO_SMS_ESKIZ_PASSWORD_FILE
//! eskiz_from = "4546"                  # IMZO_SMS_ESKIZ_FROM (sender name)
//! eskiz_callback_url = "…"             # IMZO_SMS_ESKIZ_CALLBACK_URL (delivery reports; optional)
//! playmobile_url = "https://send.smsxabar.uz"  # IMZO_SMS_PLAYMOBILE_URL
//! playmobile_login = "…"               # IMZO_SMS_PLAYMOBILE_LOGIN
//! playmobile_password = "…"            # IMZO_SMS_PLAYMOBILE_PASSWORD / …_FILE
//! playmobile_originator = "3700"       # IMZO_SMS_PLAYMOBILE_ORIGINATOR
//!
//! [lookup]
//! per_minute = 10                      # IMZO_LOOKUP_PER_MINUTE: lookups by number per client address
//! challenges_per_minute = 30           # IMZO_LOOKUP_CHALLENGES_PER_MINUTE: new captchas, and apart
//!                                      # proof/login challenges, per client address (429 beyond)
//! # (and under [server]: trusted_proxies = "127.0.0.1,10.0.0.2" — IMZO_SERVER_TRUSTED_PROXIES:
//! #  only requests from these peers may name the client in X-Real-IP)
//!
//! [application]
//! starts_per_address_per_hour = 10     # IMZO_APPLICATION_STARTS_PER_ADDRESS_PER_HOUR (429 beyond)
//! starts_per_pinfl_per_day = 5         # IMZO_APPLICATION_STARTS_PER_PINFL_PER_DAY (429 beyond)
//!
//! [ca]
//! policy_oid = "1.2.860.3.2.1"         # IMZO_CA_POLICY_OID (certificatePolicies of holders)
//! algorithm = "ecdsa-p256"             # IMZO_CA_ALGORITHM: CA keys made on first start
//!                                      # (ecdsa-p256 or ozdst1092-a, O'z DSt 1092 national)
//!
//! [status]
//! crl_delay_seconds = 2                # IMZO_STATUS_CRL_DELAY_SECONDS: a revocation is on the CRL within this
//! crl_validity_hours = 24              # IMZO_STATUS_CRL_VALIDITY_HOURS: nextUpdate − thisUpdate
//! crl_base_delay_seconds = 3600        # IMZO_STATUS_CRL_BASE_DELAY_SECONDS: a change waits this long for the
//!                                      # complete CRL while the delta CRL carries it (default: crl_delay_seconds)
//! ocsp_validity_minutes = 240          # IMZO_STATUS_OCSP_VALIDITY_MINUTES: of pre-signed OCSP answers
//! ocsp_ignore_nonce = "false"          # IMZO_STATUS_OCSP_IGNORE_NONCE: answer nonce requests from the cache
//! ocsp_key = "pkcs11:token=…;object=ocsp?module-path=…&pin-source=file:…"
//!                                      # IMZO_STATUS_OCSP_KEY: OCSP responder key on a PKCS#11 token
//!                                      # (default: a key of each node's own, in memory)
//!
//! [tsa]
//! policy_oid = "1.2.860.3.2.3.1"       # IMZO_TSA_POLICY_OID: TSA policy of every time-stamp token
//! accuracy_ms = 1000                   # IMZO_TSA_ACCURACY_MS: accuracy stated in tokens
//! key = "pkcs11:token=…;object=tsa?module-path=…&pin-source=file:…"
//!                                      # IMZO_TSA_KEY: TSA key on a PKCS#11 token (default: in memory)
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
    ("click", "service_id"),
    ("click", "merchant_id"),
    ("click", "secret"),
    ("paynet", "user"),
    ("paynet", "password"),
    ("paynet", "merchant_id"),
    ("sms", "gateway"),
    ("sms", "eskiz_url"),
    ("sms", "eskiz_email"),
    ("sms", "eskiz_password"),
    ("sms", "eskiz_from"),
    ("sms", "eskiz_callback_url"),
    ("sms", "playmobile_url"),
    ("sms", "playmobile_login"),
    ("sms", "playmobile_password"),
    ("sms", "playmobile_originator"),
    ("lookup", "per_minute"),
    ("application", "starts_per_address_per_hour"),
    ("application", "starts_per_pinfl_per_day"),
    ("server", "trusted_proxies"),
    ("ca", "policy_oid"),
    ("ca", "algorithm"),
    ("status", "crl_delay_seconds"),
    ("status", "crl_validity_hours"),
    ("status", "crl_base_delay_seconds"),
    ("status", "ocsp_validity_minutes"),
    ("status", "ocsp_ignore_nonce"),
    ("tsa", "policy_oid"),
    ("tsa", "accuracy_ms"),
    ("status", "ocsp_key"),
    ("tsa", "key"),
    ("payments", "sandbox"),
    ("lookup", "challenges_per_minute"),
];

/// The BCV table used when neither the file nor the environment gives one (sum).
const DEFAULT_BCV: &[(&str, i64)] = &[("2024-10-01", 375_000), ("2025-08-01", 412_000)];

/// A deployment's settings, after the file and the environment were applied.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// New challenges (and, apart, captchas) per client address per minute.
    pub(crate) challenges_per_minute: i64,
    /// Serve the payment sandbox (`payments.sandbox`; see [`payment_sandbox`]).
    pub(crate) payment_sandbox: bool,
    /// Settings that name a real payment provider (for the warning when the sandbox is
    /// forced on beside them); empty in the embedded default.
    pub(crate) real_payment_providers: Vec<&'static str>,
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
    /// Click service, merchant id and secret (configured, or generated for the sandbox).
    pub(crate) click: imzo_gateways::click::Settings,
    /// Paynet user, password and merchant id (configured, or generated for the sandbox).
    pub(crate) paynet: imzo_gateways::paynet::Settings,
    /// SMS gateway: `outbox`, `eskiz` or `playmobile`.
    pub(crate) sms_gateway: String,
    /// The SMS gateway's settings.
    pub(crate) sms: imzo_gateways::sms::GatewayConfig,
    /// Lookups by number allowed per client address per minute.
    pub(crate) lookups_per_minute: i64,
    /// Applications that may be started per client address per hour.
    pub(crate) starts_per_address_per_hour: i64,
    /// Applications that may be started per PINFL per day.
    pub(crate) starts_per_pinfl_per_day: i64,
    /// Reverse proxies whose `X-Real-IP` names the client.
    pub(crate) trusted_proxies: Vec<std::net::IpAddr>,
    /// certificatePolicies OID of holder certificates, if any.
    pub(crate) policy_oid: Option<String>,
    /// Key algorithm of the CAs made on first start.
    pub(crate) ca_algorithm: imzo_keys::KeyAlgorithm,
    /// How CRLs are published.
    pub(crate) crl_policy: imzo_ca::crl::CrlPolicy,
    /// How OCSP answers are made.
    pub(crate) ocsp_policy: imzo_ca::ocsp::OcspPolicy,
    /// How the time-stamping authority makes tokens.
    pub(crate) tsa: imzo_ca::tsa::TsaSettings,
    /// PKCS#11 URI of the OCSP responder key (`status.ocsp_key`), if on a token.
    pub(crate) ocsp_key: Option<String>,
    /// PKCS#11 URI of the TSA key (`tsa.key`), if on a token.
    pub(crate) tsa_key: Option<String>,
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

    /// The settings of SMS gateway `name`; each required key is named when missing.
    fn sms_gateway_config(&self, name: &str) -> Result<imzo_gateways::sms::GatewayConfig> {
        use imzo_gateways::sms::{EskizConfig, GatewayConfig, PlayMobileConfig};
        let need = |key: &str| {
            self.get("sms", key)
                .map(str::to_string)
                .ok_or_else(|| anyhow!("sms.gateway = {name:?} needs sms.{key} (IMZO_SMS_{})", key.to_uppercase()))
        };
        let url = |key: &str, default: &str| -> Result<String> {
            let u = self.get("sms", key).unwrap_or(default);
            let parsed = url::Url::parse(u).map_err(|e| anyhow!("sms.{key}: {u:?} is not a URL ({e})"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                bail!("sms.{key}: {u:?} must be an http or https URL");
            }
            Ok(u.trim_end_matches('/').to_string())
        };
        Ok(match name {
            "outbox" => GatewayConfig::Outbox,
            "eskiz" => GatewayConfig::Eskiz(EskizConfig {
                base_url: url("eskiz_url", "https://notify.eskiz.uz/api")?,
                email: need("eskiz_email")?,
                password: Zeroizing::new(need("eskiz_password")?),
                from: self.get("sms", "eskiz_from").unwrap_or("4546").to_string(),
                callback_url: self.get("sms", "eskiz_callback_url").map(str::to_string),
            }),
            "playmobile" => GatewayConfig::PlayMobile(PlayMobileConfig {
                base_url: url("playmobile_url", "https://send.smsxabar.uz")?,
                login: need("playmobile_login")?,
                password: Zeroizing::new(need("playmobile_password")?),
                originator: self.get("sms", "playmobile_originator").unwrap_or("3700").to_string(),
            }),
            other => bail!("sms.gateway: {other:?} is not one of outbox, eskiz, playmobile"),
        })
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
            Some(u) => {
                // Named here rather than when the pool first fails: the value is a secret
                // (never echoed), and the two databases the store speaks are known.
                let parsed = url::Url::parse(u).map_err(|_| anyhow!("database.url: not a URL (expected sqlite://FILE or postgres://…)"))?;
                if !matches!(parsed.scheme(), "sqlite" | "postgres" | "postgresql") {
                    bail!("database.url: scheme {:?} is not supported (sqlite or postgres)", parsed.scheme());
                }
                u.to_string()
            }
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
        let sms = self.sms_gateway_config(&sms_gateway)?;
        let lookups_per_minute = match self.get("lookup", "per_minute") {
            Some(n) => n
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| anyhow!("lookup.per_minute: {n:?} is not a number from 1 to 10000"))?,
            None => 10,
        };
        let limit = |key: &str, default: i64| -> anyhow::Result<i64> {
            match self.get("application", key) {
                Some(n) => n
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| anyhow!("application.{key}: {n:?} is not a number from 1 to 100000")),
                None => Ok(default),
            }
        };
        let starts_per_address_per_hour = limit("starts_per_address_per_hour", 10)?;
        let starts_per_pinfl_per_day = limit("starts_per_pinfl_per_day", 5)?;
        let trusted_proxies = match self.get("server", "trusted_proxies") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| a.parse().map_err(|e| anyhow!("server.trusted_proxies: {a:?} is not an IP address ({e})")))
                .collect::<Result<Vec<std::net::IpAddr>>>()?,
            None => Vec::new(),
        };
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
        let ca_algorithm = match self.get("ca", "algorithm") {
            Some(text) => text.parse::<imzo_keys::KeyAlgorithm>().map_err(|_| {
                anyhow!("ca.algorithm: {text:?} is not a key algorithm (ecdsa-p256 or ozdst1092-a)")
            })?,
            None => imzo_keys::KeyAlgorithm::default(),
        };
        let crl_policy = {
            let delay = self.positive("status", "crl_delay_seconds", 2)?;
            let validity = self.positive("status", "crl_validity_hours", 24)?.saturating_mul(3600);
            imzo_ca::crl::CrlPolicy {
                validity: std::time::Duration::from_secs(validity),
                delay: std::time::Duration::from_secs(delay),
                refresh_before: std::time::Duration::from_secs(validity / 2),
                base_delay: match self.get("status", "crl_base_delay_seconds") {
                    None => None,
                    Some(_) => Some(std::time::Duration::from_secs(self.positive("status", "crl_base_delay_seconds", delay)?)),
                },
            }
        };
        let ocsp_policy = {
            let validity = self.positive("status", "ocsp_validity_minutes", 240)?.saturating_mul(60);
            let ignore_nonce = match self.get("status", "ocsp_ignore_nonce") {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => bail!("status.ocsp_ignore_nonce: {other:?} must be true or false"),
            };
            imzo_ca::ocsp::OcspPolicy {
                validity: std::time::Duration::from_secs(validity),
                refresh_before: std::time::Duration::from_secs(validity / 4),
                ignore_nonce,
                ..imzo_ca::ocsp::OcspPolicy::default()
            }
        };
        let tsa = imzo_ca::tsa::TsaSettings {
            policy_oid: match self.get("tsa", "policy_oid") {
                Some(oid) => {
                    if der_oid_is_valid(oid) {
                        oid.to_string()
                    } else {
                        bail!("tsa.policy_oid: {oid:?} is not a dotted OID like 1.2.860.3.2.3.1");
                    }
                }
                None => imzo_ca::tsa::DEFAULT_POLICY_OID.to_string(),
            },
            accuracy_millis: u32::try_from(self.positive("tsa", "accuracy_ms", 1000)?)
                .ok()
                .filter(|ms| *ms <= 60_000)
                .ok_or_else(|| anyhow!("tsa.accuracy_ms: at most 60000 (one minute)"))?,
        };
        let (click, paynet) = payment_providers(&self, data_dir)?;
        let token_key = |section: &str, key: &str| -> Result<Option<String>> {
            let Some(uri) = self.get(section, key) else { return Ok(None) };
            imzo_keys::pkcs11::Pkcs11Uri::parse(uri).map_err(|e| anyhow!("{section}.{key}: {e}"))?;
            Ok(Some(uri.to_string()))
        };
        let ocsp_key = token_key("status", "ocsp_key")?;
        let tsa_key = token_key("tsa", "key")?;
        let (payment_sandbox, real_payment_providers) = payment_sandbox(&self)?;
        let challenges_per_minute = match self.get("lookup", "challenges_per_minute") {
            Some(n) => n
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| anyhow!("lookup.challenges_per_minute: {n:?} is not a number from 1 to 100000"))?,
            None => 30,
        };
        Ok(Settings {
            challenges_per_minute,
            payment_sandbox,
            real_payment_providers,
            ocsp_key,
            tsa_key,
            tsa,
            click,
            paynet,
            crl_policy,
            ocsp_policy,
            listen,
            public_url,
            database_url,
            bcv_table,
            payme_key,
            payme_merchant_id: self.get("payme", "merchant_id").map(str::to_string),
            sms_gateway,
            sms,
            lookups_per_minute,
            starts_per_address_per_hour,
            starts_per_pinfl_per_day,
            trusted_proxies,
            policy_oid,
            ca_algorithm,
        })
    }
}

/// A dotted OID of at least two arcs, first 0–2, each arc decimal digits.
fn der_oid_is_valid(oid: &str) -> bool {
    let arcs: Vec<&str> = oid.split('.').collect();
    arcs.len() >= 2
        && arcs.iter().all(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
        && matches!(arcs[0], "0" | "1" | "2")
}

impl RawSettings {
    /// A positive whole number setting, or `default` when unset.
    fn positive(&self, section: &str, key: &str, default: u64) -> Result<u64> {
        match self.get(section, key) {
            None => Ok(default),
            Some(text) => match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => bail!("{section}.{key}: {text:?} is not a positive whole number"),
            },
        }
    }
}

/// Provider settings that only a real merchant contract gives: any of them set means
/// real money may be moving through this deployment.
const REAL_PROVIDER_KEYS: [(&str, &str); 7] = [
    ("payme", "key"),
    ("payme", "merchant_id"),
    ("click", "service_id"),
    ("click", "merchant_id"),
    ("click", "secret"),
    ("paynet", "password"),
    ("paynet", "merchant_id"),
];

/// Whether to serve the payment sandbox, and the real provider settings present.
/// `payments.sandbox` is `auto` (the default: on only while no real provider is
/// configured, as in the embedded default), `on` (forced, even beside a real provider:
/// `imzo up` then warns loudly) or `off`.
fn payment_sandbox(raw: &RawSettings) -> Result<(bool, Vec<&'static str>)> {
    let real: Vec<&'static str> = REAL_PROVIDER_KEYS
        .iter()
        .filter(|(section, key)| raw.get(section, key).is_some())
        .map(|(section, key)| match (*section, *key) {
            ("payme", "key") => "payme.key",
            ("payme", _) => "payme.merchant_id",
            ("click", "service_id") => "click.service_id",
            ("click", "merchant_id") => "click.merchant_id",
            ("click", _) => "click.secret",
            ("paynet", "password") => "paynet.password",
            _ => "paynet.merchant_id",
        })
        .collect();
    let on = match raw.get("payments", "sandbox").map(str::trim) {
        None | Some("auto") => real.is_empty(),
        Some("on" | "true") => true,
        Some("off" | "false") => false,
        Some(other) => bail!("payments.sandbox: {other:?} must be auto, on or off"),
    };
    Ok((on, real))
}

/// Click's and Paynet's settings; secrets not configured are generated for the sandbox.
fn payment_providers(
    raw: &RawSettings,
    data_dir: &Path,
) -> Result<(imzo_gateways::click::Settings, imzo_gateways::paynet::Settings)> {
    let service_id = raw.get("click", "service_id").unwrap_or("1").trim().to_string();
    if service_id.is_empty() || !service_id.bytes().all(|b| b.is_ascii_digit()) {
        bail!("click.service_id: {service_id:?} is not Click's numeric service id");
    }
    let click = imzo_gateways::click::Settings {
        service_id,
        merchant_id: raw.get("click", "merchant_id").map(str::to_string),
        secret: match raw.get("click", "secret") {
            Some(k) => Zeroizing::new(k.to_string()),
            None => generated_secret(&data_dir.join("secrets").join("click-secret"))?,
        },
    };
    let paynet = imzo_gateways::paynet::Settings {
        user: raw.get("paynet", "user").unwrap_or("paynet").to_string(),
        password: match raw.get("paynet", "password") {
            Some(k) => Zeroizing::new(k.to_string()),
            None => generated_secret(&data_dir.join("secrets").join("paynet-password"))?,
        },
        merchant_id: raw.get("paynet", "merchant_id").map(str::to_string),
    };
    Ok((click, paynet))
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
    fn token_keys_are_pkcs11_uris_checked_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let s = RawSettings::parse(None, &env_of(&[])).unwrap().finish(dir.path()).unwrap();
        assert!(s.ocsp_key.is_none() && s.tsa_key.is_none());
        let uri = "pkcs11:token=Imzo;object=ocsp?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin";
        let file = format!("[tsa]\nkey = \"{uri}\"\n");
        let s = RawSettings::parse(Some(&file), &env_of(&[("IMZO_STATUS_OCSP_KEY", uri)])).unwrap().finish(dir.path()).unwrap();
        assert_eq!((s.ocsp_key.as_deref(), s.tsa_key.as_deref()), (Some(uri), Some(uri)));
        let e = RawSettings::parse(None, &env_of(&[("IMZO_TSA_KEY", "pkcs11:tokn=Imzo")]))
            .unwrap()
            .finish(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("tsa.key") && e.contains("\"tokn\""), "{e}");
    }

    #[test]
    fn payment_provider_settings() {
        let dir = tempfile::tempdir().unwrap();
        let s = RawSettings::parse(None, &env_of(&[])).unwrap().finish(dir.path()).unwrap();
        assert_eq!(s.click.service_id, "1");
        assert_eq!(s.click.secret.len(), 48);
        assert_eq!(s.paynet.user, "paynet");
        assert!(dir.path().join("secrets/click-secret").exists() && dir.path().join("secrets/paynet-password").exists());
        let env = env_of(&[
            ("IMZO_CLICK_SERVICE_ID", "30125"),
            ("IMZO_CLICK_MERCHANT_ID", "21870"),
            ("IMZO_CLICK_SECRET", "click-secret"),
            ("IMZO_PAYNET_USER", "pn"),
            ("IMZO_PAYNET_PASSWORD", "pn-pass"),
            ("IMZO_PAYNET_MERCHANT_ID", "4521"),
        ]);
        let s = RawSettings::parse(None, &env).unwrap().finish(dir.path()).unwrap();
        assert_eq!((s.click.service_id.as_str(), s.click.merchant_id.as_deref()), ("30125", Some("21870")));
        assert_eq!(s.click.secret.as_str(), "click-secret");
        assert_eq!((s.paynet.user.as_str(), s.paynet.password.as_str()), ("pn", "pn-pass"));
        assert_eq!(s.paynet.merchant_id.as_deref(), Some("4521"));
        let err = RawSettings::parse(None, &env_of(&[("IMZO_CLICK_SERVICE_ID", "abc")]))
            .unwrap()
            .finish(dir.path())
            .unwrap_err();
        assert!(err.to_string().contains("click.service_id"), "{err}");
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

    #[test]
    fn the_sandbox_follows_the_providers() {
        let dir = tempfile::tempdir().unwrap();
        let load = |pairs: &[(&str, &str)]| RawSettings::parse(None, &env_of(pairs)).unwrap().finish(dir.path());
        // The embedded default: no real provider, the sandbox is on.
        let s = load(&[]).unwrap();
        assert!(s.payment_sandbox && s.real_payment_providers.is_empty());
        // Any real provider setting turns it off…
        for name in ["IMZO_PAYME_KEY", "IMZO_PAYME_MERCHANT_ID", "IMZO_CLICK_SECRET", "IMZO_PAYNET_PASSWORD", "IMZO_PAYNET_MERCHANT_ID"] {
            let s = load(&[(name, "real-value-1234567890")]).unwrap();
            assert!(!s.payment_sandbox, "{name}");
            assert_eq!(s.real_payment_providers.len(), 1, "{name}");
        }
        // …unless forced on (then `imzo up` warns), and it can be turned off by itself.
        let s = load(&[("IMZO_PAYME_KEY", "real-key-1234567890"), ("IMZO_PAYMENTS_SANDBOX", "on")]).unwrap();
        assert!(s.payment_sandbox);
        assert_eq!(s.real_payment_providers, ["payme.key"]);
        assert!(!load(&[("IMZO_PAYMENTS_SANDBOX", "off")]).unwrap().payment_sandbox);
        let err = load(&[("IMZO_PAYMENTS_SANDBOX", "maybe")]).unwrap_err();
        assert!(err.to_string().contains("payments.sandbox"), "{err}");
    }

    #[test]
    fn ca_algorithm_from_file_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let s = RawSettings::parse(None, &env_of(&[])).unwrap().finish(dir.path()).unwrap();
        assert_eq!(s.ca_algorithm, imzo_keys::KeyAlgorithm::EcdsaP256);
        let file = "[ca]\nalgorithm = \"ozdst1092-a\"\n";
        let s = RawSettings::parse(Some(file), &env_of(&[])).unwrap().finish(dir.path()).unwrap();
        assert_eq!(s.ca_algorithm, imzo_keys::KeyAlgorithm::OzDst1092A);
        let env = env_of(&[("IMZO_CA_ALGORITHM", "ecdsa-p256")]);
        let s = RawSettings::parse(Some(file), &env).unwrap().finish(dir.path()).unwrap();
        assert_eq!(s.ca_algorithm, imzo_keys::KeyAlgorithm::EcdsaP256);
        let env = env_of(&[("IMZO_CA_ALGORITHM", "gost2012")]);
        let err = RawSettings::parse(None, &env).unwrap().finish(dir.path()).unwrap_err();
        assert!(err.to_string().contains("ca.algorithm") && err.to_string().contains("gost2012"), "{err}");
    }

    #[test]
    fn sms_gateways_lookup_limit_and_proxies() {
        use imzo_gateways::sms::GatewayConfig;
        let dir = tempfile::tempdir().unwrap();
        let env = env_of(&[
            ("IMZO_SMS_GATEWAY", "eskiz"),
            ("IMZO_SMS_ESKIZ_URL", "http://127.0.0.1:9000/api/"),
            ("IMZO_SMS_ESKIZ_EMAIL", "rc1@example.uz"),
            ("IMZO_SMS_ESKIZ_PASSWORD", "s3cret"),
            ("IMZO_LOOKUP_PER_MINUTE", "5"),
            ("IMZO_SERVER_TRUSTED_PROXIES", "127.0.0.1, ::1"),
        ]);
        let settings = RawSettings::parse(None, &env).unwrap().finish(dir.path()).unwrap();
        let GatewayConfig::Eskiz(eskiz) = &settings.sms else { panic!("{:?}", settings.sms) };
        assert_eq!((eskiz.base_url.as_str(), eskiz.email.as_str(), eskiz.password.as_str()), ("http://127.0.0.1:9000/api", "rc1@example.uz", "s3cret"));
        assert_eq!(eskiz.from, "4546");
        assert_eq!(settings.lookups_per_minute, 5);
        assert_eq!(settings.trusted_proxies.len(), 2);
        assert!(!format!("{settings:?}").contains("s3cret"), "secrets stay out of Debug");

        let file = "[sms]\ngateway = \"playmobile\"\nplaymobile_login = \"imzo\"\nplaymobile_password = \"pm\"\n";
        let settings = RawSettings::parse(Some(file), &env_of(&[])).unwrap().finish(dir.path()).unwrap();
        assert!(matches!(&settings.sms, GatewayConfig::PlayMobile(p) if p.login == "imzo" && p.originator == "3700"));
        for (name, value, key) in [
            ("IMZO_SMS_GATEWAY", "beeline", "sms.gateway"),
            ("IMZO_LOOKUP_PER_MINUTE", "0", "lookup.per_minute"),
            ("IMZO_SERVER_TRUSTED_PROXIES", "proxy.local", "server.trusted_proxies"),
        ] {
            let err = RawSettings::parse(None, &env_of(&[(name, value)])).unwrap().finish(dir.path()).unwrap_err();
            assert!(err.to_string().contains(key), "{name}={value}: {err}");
        }
        let err = RawSettings::parse(None, &env_of(&[("IMZO_SMS_GATEWAY", "playmobile")])).unwrap().finish(dir.path()).unwrap_err();
        assert!(err.to_string().contains("sms.playmobile_login"), "{err}");
    }
}
