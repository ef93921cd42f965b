//! Settings of the signing module.

use imzo_pki::Certificate;
use std::path::PathBuf;
use std::time::Duration;

/// The default WebSocket port (`ws://127.0.0.1:64646/service/cryptapi`).
pub const DEFAULT_PORT: u16 = 64646;

/// How the module behaves.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Folders holding (or being) `DSKEYS` folders. Empty: the usual places
    /// ([`crate::dskeys::usual_roots`]).
    pub key_roots: Vec<PathBuf>,
    /// Origins allowed without asking (besides the approved-sites file).
    pub allow_origins: Vec<String>,
    /// Where approved sites are kept.
    pub sites_file: PathBuf,
    /// Loaded keys unused this long are unloaded.
    pub idle_timeout: Duration,
    /// Wrong passwords allowed per key file before the user must wait.
    pub free_password_attempts: u32,
    /// The first wait after the free attempts; each further wrong password doubles it.
    pub lockout_base: Duration,
    /// Roots for `verify_*` and `verify_certificate` (none: chains are reported untrusted).
    pub trust_anchors: Vec<Certificate>,
}

impl AgentConfig {
    /// Defaults: the usual key places, the embedded portal allowed, keys unloaded after
    /// 15 idle minutes, 3 free password attempts then 30 s doubling.
    pub fn new(sites_file: impl Into<PathBuf>) -> Self {
        AgentConfig {
            key_roots: Vec::new(),
            allow_origins: crate::sites::DEFAULT_ALLOWED
                .iter()
                .map(|s| s.to_string())
                .collect(),
            sites_file: sites_file.into(),
            idle_timeout: Duration::from_secs(15 * 60),
            free_password_attempts: 3,
            lockout_base: Duration::from_secs(30),
            trust_anchors: Vec::new(),
        }
    }

    /// The folders searched for keys.
    pub fn roots(&self) -> Vec<PathBuf> {
        if self.key_roots.is_empty() {
            crate::dskeys::usual_roots()
        } else {
            self.key_roots.clone()
        }
    }
}

/// The default approved-sites file: `$XDG_CONFIG_HOME/imzo/agent-sites.json` (or
/// `~/.config/imzo/…`; `%APPDATA%\imzo\…` on Windows).
pub fn default_sites_file() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("APPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("imzo").join("agent-sites.json")
}
