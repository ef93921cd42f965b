//! `imzo config check`: loads the settings as `imzo up` would and prints every key with
//! the value in force and where it came from, secrets masked. Nothing is written to the
//! data folder: generated secrets are made in a scratch folder and thrown away, so a check
//! run as another user (root, on a server) leaves no file the service cannot read.

use crate::config::{KEYS, Overrides, Settings};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `imzo config …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Check the settings: print each key's value and source; exit 2 if any is invalid.
    Check(Args),
}

/// Arguments of `imzo config check`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Data folder, as given to `imzo up` (its imzo.toml is read when --config is not given).
    #[arg(long, env = "IMZO_DATA", default_value = "imzo-data")]
    data: PathBuf,
    /// Settings file (default: DATA/imzo.toml if present).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Runs `imzo config …`.
pub(crate) fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Check(args) => check(args),
    }
}

/// Keys whose values are never printed.
const SECRETS: &[(&str, &str)] = &[
    ("payme", "key"),
    ("click", "secret"),
    ("paynet", "password"),
    ("sms", "eskiz_password"),
    ("sms", "playmobile_password"),
    // PKCS#11 URIs may carry the token PIN (pin-value).
    ("status", "ocsp_key"),
    ("tsa", "key"),
];

/// Where a key's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Default,
    File,
    Environment(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File => f.write_str("file"),
            Source::Environment(name) => write!(f, "environment {name}"),
        }
    }
}

fn check(args: Args) -> Result<ExitCode> {
    let config = match args.config {
        Some(path) => Some(path),
        None => Some(args.data.join("imzo.toml")).filter(|p| p.exists()),
    };
    let scratch = Scratch::new()?;
    let overrides = Overrides { config: config.clone(), listen: None, database: None };
    let loaded = Settings::load(scratch.path(), &overrides).and_then(|s| {
        let today = imzo_ra::fee::tashkent_date(time::OffsetDateTime::now_utc());
        if imzo_ra::fee::bcv_on(&s.bcv_table, today).is_none() {
            anyhow::bail!("fees.bcv has no base calculation value in force today ({today}, Asia/Tashkent)");
        }
        Ok(s)
    });
    let settings = match loaded {
        Ok(s) => s,
        Err(e) => {
            eprintln!("imzo config check: invalid settings: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    let unknown = unknown_environment(std::env::vars().map(|(name, _)| name));
    if !unknown.is_empty() {
        // `imzo up` ignores them, so a typo would silently leave the default in force.
        eprintln!(
            "imzo config check: unknown environment variable(s) {}: not a setting (IMZO_<SECTION>_<KEY>[_FILE]; the README's Settings table lists them)",
            unknown.join(", ")
        );
        return Ok(ExitCode::from(2));
    }
    let in_file = match &config {
        Some(path) => keys_in_file(path)?,
        None => BTreeSet::new(),
    };
    match &config {
        Some(path) => println!("# settings file: {}", path.display()),
        None => println!("# settings file: none ({} absent)", args.data.join("imzo.toml").display()),
    }
    let env = |name: &str| std::env::var(name).ok();
    let mut keys: Vec<(&str, &str)> = KEYS.to_vec();
    keys.sort_unstable();
    for (section, key) in keys {
        let source = source_of(section, key, &in_file, &env);
        let value = if SECRETS.contains(&(section, key)) {
            masked(section, key, &source)
        } else {
            value_of(&settings, &args.data, section, key, &source)
        };
        println!("{section}.{key} = {value}  ({source})");
    }
    println!("# valid");
    Ok(ExitCode::SUCCESS)
}

/// The `section.key` pairs a settings file gives a non-empty value (an empty one means
/// the default, as when loading).
fn keys_in_file(path: &Path) -> Result<BTreeSet<(String, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read settings file {}", path.display()))?;
    let table: toml::Table = text.parse().context("settings file is not valid TOML")?;
    let mut keys = BTreeSet::new();
    for (section, body) in &table {
        for (key, value) in body.as_table().into_iter().flatten() {
            if value.as_str() != Some("") {
                keys.insert((section.clone(), key.clone()));
            }
        }
    }
    Ok(keys)
}

/// The environment wins over the file, as in [`crate::config::RawSettings::parse`].
fn source_of(section: &str, key: &str, in_file: &BTreeSet<(String, String)>, env: &dyn Fn(&str) -> Option<String>) -> Source {
    let name = format!("IMZO_{}_{}", section.to_uppercase(), key.to_uppercase());
    if let Some(value) = env(&name) {
        // Set but empty overrides the file with "unset".
        return if value.is_empty() { Source::Default } else { Source::Environment(name) };
    }
    let file_name = format!("{name}_FILE");
    if env(&file_name).is_some() {
        return Source::Environment(file_name);
    }
    if in_file.contains(&(section.to_owned(), key.to_owned())) { Source::File } else { Source::Default }
}

fn masked(section: &str, key: &str, source: &Source) -> String {
    if *source != Source::Default {
        return "******** (set)".to_owned();
    }
    match (section, key) {
        ("payme", "key") => "(generated, kept in DATA/secrets/payme-key)".to_owned(),
        ("click", "secret") => "(generated, kept in DATA/secrets/click-secret)".to_owned(),
        ("paynet", "password") => "(generated, kept in DATA/secrets/paynet-password)".to_owned(),
        ("status", "ocsp_key") | ("tsa", "key") => "(a key of this node's own, in memory)".to_owned(),
        _ => "(not set)".to_owned(),
    }
}

fn optional(value: Option<&str>) -> String {
    value.map_or_else(|| "(not set)".to_owned(), str::to_owned)
}

/// The value in force, as the server will use it (defaults filled in).
fn value_of(s: &Settings, data: &Path, section: &str, key: &str, source: &Source) -> String {
    use imzo_gateways::sms::GatewayConfig;
    let unused = || format!("(unused: sms.gateway = {})", s.sms_gateway);
    match (section, key) {
        ("server", "listen") => s.listen.to_string(),
        ("server", "public_url") => s.public_url.clone(),
        ("server", "trusted_proxies") if s.trusted_proxies.is_empty() => "(none)".to_owned(),
        ("server", "trusted_proxies") => s.trusted_proxies.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        // The scratch folder stood in for the data folder while loading.
        ("database", "url") if *source == Source::Default => format!("sqlite://{}", data.join("imzo.db").display()),
        ("database", "url") => imzo_store::redact_url(&s.database_url),
        ("fees", "bcv") => s.bcv_table.iter().map(|(d, tiyin)| format!("{d}={}", tiyin / 100)).collect::<Vec<_>>().join(","),
        ("payme", "merchant_id") => optional(s.payme_merchant_id.as_deref()),
        ("click", "service_id") => s.click.service_id.clone(),
        ("click", "merchant_id") => optional(s.click.merchant_id.as_deref()),
        ("paynet", "user") => s.paynet.user.clone(),
        ("paynet", "merchant_id") => optional(s.paynet.merchant_id.as_deref()),
        ("payments", "sandbox") => (if s.payment_sandbox { "on" } else { "off" }).to_owned(),
        ("sms", "gateway") => s.sms_gateway.clone(),
        ("sms", k) if k.starts_with("eskiz_") => match &s.sms {
            GatewayConfig::Eskiz(e) => match k {
                "eskiz_url" => e.base_url.clone(),
                "eskiz_email" => e.email.clone(),
                "eskiz_from" => e.from.clone(),
                "eskiz_callback_url" => optional(e.callback_url.as_deref()),
                _ => "(see the README)".to_owned(),
            },
            _ => unused(),
        },
        ("sms", k) if k.starts_with("playmobile_") => match &s.sms {
            GatewayConfig::PlayMobile(p) => match k {
                "playmobile_url" => p.base_url.clone(),
                "playmobile_login" => p.login.clone(),
                "playmobile_originator" => p.originator.clone(),
                _ => "(see the README)".to_owned(),
            },
            _ => unused(),
        },
        ("lookup", "per_minute") => s.lookups_per_minute.to_string(),
        ("lookup", "challenges_per_minute") => s.challenges_per_minute.to_string(),
        ("application", "starts_per_address_per_hour") => s.starts_per_address_per_hour.to_string(),
        ("application", "starts_per_pinfl_per_day") => s.starts_per_pinfl_per_day.to_string(),
        ("ca", "policy_oid") => optional(s.policy_oid.as_deref()),
        ("ca", "algorithm") => s.ca_algorithm.to_string(),
        ("status", "crl_delay_seconds") => s.crl_policy.delay.as_secs().to_string(),
        ("status", "crl_validity_hours") => (s.crl_policy.validity.as_secs() / 3600).to_string(),
        ("status", "crl_base_delay_seconds") => match s.crl_policy.base_delay {
            Some(d) => d.as_secs().to_string(),
            None => "(= status.crl_delay_seconds)".to_owned(),
        },
        ("status", "ocsp_validity_minutes") => (s.ocsp_policy.validity.as_secs() / 60).to_string(),
        ("status", "ocsp_ignore_nonce") => s.ocsp_policy.ignore_nonce.to_string(),
        ("tsa", "policy_oid") => s.tsa.policy_oid.clone(),
        ("tsa", "accuracy_ms") => s.tsa.accuracy_millis.to_string(),
        // A key added to config.rs after this command: valid (it loaded), shown without value.
        _ => "(valid; value not shown)".to_owned(),
    }
}

/// A private temporary folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let mut raw = [0u8; 8];
        getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness from the operating system: {e}"))?;
        let path = std::env::temp_dir().join(format!("imzo-config-check-{}", hex::encode(raw)));
        std::fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict {}", path.display()))?;
        }
        Ok(Scratch(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Variables the programs read that are not settings of the server.
const OTHER_VARIABLES: [&str; 6] = ["IMZO_DATA", "IMZO_LOG_FORMAT", "IMZO_TRUST", "IMZO_SERVER", "IMZO_SOFTHSM_DIR", "IMZO_FUZZ_CASES"];

/// `IMZO_*` names that are neither a setting (`IMZO_<SECTION>_<KEY>`, or `…_FILE`), nor
/// read by another command (the module's `IMZO_AGENT_*`, the tests' `IMZO_TEST_*` and
/// `IMZO_REQUIRE_*`, [`OTHER_VARIABLES`]).
fn unknown_environment(names: impl Iterator<Item = String>) -> Vec<String> {
    let settings: BTreeSet<String> =
        KEYS.iter().map(|(section, key)| format!("IMZO_{}_{}", section.to_uppercase(), key.to_uppercase())).collect();
    let mut unknown: Vec<String> = names
        .filter(|n| n.starts_with("IMZO_"))
        .filter(|n| !settings.contains(n.as_str()) && !n.strip_suffix("_FILE").is_some_and(|base| settings.contains(base)))
        .filter(|n| !["IMZO_AGENT_", "IMZO_TEST_", "IMZO_REQUIRE_"].iter().any(|p| n.starts_with(p)))
        .filter(|n| !OTHER_VARIABLES.contains(&n.as_str()))
        .collect();
    unknown.sort_unstable();
    unknown
}
