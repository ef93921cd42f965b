//! The module's brain: checks who is calling, asks the user when needed, and runs the
//! call. Transport-free: [`Agent::handle`] takes the page's origin and one JSON message
//! and returns the reply, so the WebSocket server and tests share it.

use crate::calls::{self, Args, CallError, CallResult, fail};
use crate::config::AgentConfig;
use crate::keyring::{KeyHandle, KeyLookupError, Keyring, Limiter};
use crate::prompt::{ConfirmRequest, Decision, PasswordRequest, Prompt};
use crate::sites::{SitesStore, normalize_origin};
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Version reported to pages: 4.86 (`major*100+minor` = 486 enables every client
/// feature).
pub const VERSION: (&str, &str) = ("4", "86");

/// After the user refuses a site, further calls from it are refused without asking for
/// this long (a page cannot flood the user with dialogs).
const REFUSAL_MEMORY: Duration = Duration::from_secs(60);

/// The signing module's state: settings, the dialog, loaded keys.
pub struct Agent {
    pub(crate) config: AgentConfig,
    prompt: Arc<dyn Prompt>,
    /// One dialog at a time: questions from several pages queue up.
    prompt_lock: tokio::sync::Mutex<()>,
    pub(crate) keyring: Keyring,
    pub(crate) limiter: Limiter,
    sites: SitesStore,
    refused: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// A module with `config`, asking the user through `prompt`.
    pub fn new(config: AgentConfig, prompt: Arc<dyn Prompt>) -> Arc<Agent> {
        let sites = SitesStore::new(config.sites_file.clone());
        Arc::new(Agent {
            keyring: Keyring::new(config.idle_timeout),
            limiter: Limiter::new(config.free_password_attempts, config.lockout_base),
            config,
            prompt,
            prompt_lock: tokio::sync::Mutex::new(()),
            sites,
            refused: Mutex::new(HashMap::new()),
        })
    }

    /// The approved-sites file.
    pub fn sites(&self) -> &SitesStore {
        &self.sites
    }

    /// Unloads keys idle for too long; returns how many (run periodically).
    pub fn unload_idle_keys(&self) -> usize {
        self.keyring.sweep()
    }

    /// Answers one message from a page whose WebSocket `Origin` header was `origin`
    /// (`None` when absent, treated as the opaque origin `null`).
    pub async fn handle(&self, origin: Option<&str>, message: &str) -> Value {
        let result = self.dispatch(origin, message).await;
        match result {
            Ok(mut fields) => {
                fields.insert("success".into(), Value::Bool(true));
                Value::Object(fields)
            }
            Err(CallError(reason)) => json!({ "success": false, "reason": reason }),
        }
    }

    async fn dispatch(&self, origin: Option<&str>, message: &str) -> CallResult {
        let msg: Value = serde_json::from_str(message)
            .map_err(|e| CallError(format!("the message is not JSON: {e}")))?;
        let Some(obj) = msg.as_object() else {
            fail!("the message must be a JSON object");
        };
        let name = match obj.get("name") {
            Some(Value::String(n)) => n.as_str(),
            _ => fail!("the message has no \"name\""),
        };
        let plugin = match obj.get("plugin") {
            None | Some(Value::Null) => "",
            Some(Value::String(p)) => p.as_str(),
            Some(_) => fail!("\"plugin\" must be a string"),
        };
        let empty = Vec::new();
        let values = match obj.get("arguments") {
            None | Some(Value::Null) => &empty,
            Some(Value::Array(a)) => a,
            Some(_) => fail!("\"arguments\" must be an array"),
        };
        let call = if plugin.is_empty() {
            name.to_string()
        } else {
            format!("{plugin}.{name}")
        };
        let args = Args::new(&call, values);

        // Calls that reveal nothing about the user's keys need no approval.
        match (plugin, name) {
            ("", "version") => {
                return calls::reply!("major" => VERSION.0, "minor" => VERSION.1);
            }
            ("", "apidoc") => return calls::reply!("calls" => crate::apidoc::calls_json()),
            ("", "apikey") => return apikey(&args),
            _ => {}
        }
        let origin = match origin {
            None => "null".to_string(),
            Some(o) => normalize_origin(o)
                .map_err(|_| CallError(format!("the page's origin {o:?} is not a web origin")))?,
        };
        self.ensure_allowed(&origin).await?;
        match plugin {
            "pfx" => calls::pfx::call(self, &origin, name, &args).await,
            "pkcs7" => calls::pkcs7::call(self, &origin, name, &args).await,
            "x509" => calls::x509::call(self, &origin, name, &args).await,
            "imzo" => calls::imzo::call(self, &origin, name, &args).await,
            _ => fail!("unknown call {call:?} (see http://127.0.0.1:64646/apidoc.html)"),
        }
    }

    /// Whether `origin` may use the module: configured, approved before, or approved now
    /// by the user.
    async fn ensure_allowed(&self, origin: &str) -> Result<(), CallError> {
        let configured = self
            .config
            .allow_origins
            .iter()
            .any(|a| normalize_origin(a).is_ok_and(|a| a == origin));
        if configured || self.sites.contains(origin)? {
            return Ok(());
        }
        let refused_recently = {
            let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
            refused.retain(|_, at| at.elapsed() < REFUSAL_MEMORY);
            refused.contains_key(origin)
        };
        if refused_recently {
            fail!("the user did not allow {origin} to use the signing module");
        }
        let request = ConfirmRequest {
            title: "Imzo: a web site asks to use your keys".into(),
            description: format!(
                "The web site\n\n    {origin}\n\nasks to use the Imzo signing module: to see \
                 your key files and to ask you to sign with them.\nAllow this site? (You can \
                 revoke it later with \"imzo agent sites --revoke {origin}\".)"
            ),
            ok: "Allow".into(),
            trust: None,
            cancel: "Refuse".into(),
        };
        match self.confirm(request).await? {
            Decision::Yes | Decision::YesAndTrust => {
                self.sites.approve(origin)?;
                tracing::info!(%origin, "site approved by the user");
                Ok(())
            }
            Decision::No => {
                self.refused
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(origin.to_string(), Instant::now());
                fail!("the user did not allow {origin} to use the signing module")
            }
        }
    }

    /// Shows a confirmation (one dialog at a time).
    pub(crate) async fn confirm(&self, request: ConfirmRequest) -> Result<Decision, CallError> {
        let _turn = self.prompt_lock.lock().await;
        let prompt = self.prompt.clone();
        Ok(tokio::task::spawn_blocking(move || prompt.confirm(&request)).await??)
    }

    /// Asks for a password (one dialog at a time); `None` when cancelled.
    pub(crate) async fn ask_password(
        &self,
        request: PasswordRequest,
    ) -> Result<Option<Zeroizing<String>>, CallError> {
        let _turn = self.prompt_lock.lock().await;
        let prompt = self.prompt.clone();
        Ok(tokio::task::spawn_blocking(move || prompt.password(&request)).await??)
    }

    /// The key `key_id` loaded by `origin`.
    pub(crate) fn key(&self, key_id: &str, origin: &str) -> Result<KeyHandle, CallError> {
        self.keyring
            .get(key_id, origin)
            .map_err(|e| key_error(e, key_id, origin))
    }

    /// Asks the user to sign `data` with `key_id` unless the site is trusted for that
    /// key; "trust" is remembered until the key is unloaded.
    pub(crate) async fn consent_to_sign(
        &self,
        origin: &str,
        key_id: &str,
        handle: &KeyHandle,
        what: &str,
        data: &[u8],
    ) -> Result<(), CallError> {
        if handle.trusted {
            return Ok(());
        }
        let digest = hex::encode(sha2::Sha256::digest(data));
        let request = ConfirmRequest {
            title: "Imzo: sign?".into(),
            description: format!(
                "The web site {origin} asks to sign {what} with the key of {owner}.\n\n\
                 Size: {size} bytes\nSHA-256: {digest}\n\nSign it?",
                owner = handle.owner,
                size = data.len(),
            ),
            ok: "Sign".into(),
            trust: Some("Sign, and trust this site until the key is unloaded".into()),
            cancel: "Refuse".into(),
        };
        match self.confirm(request).await? {
            Decision::Yes => Ok(()),
            Decision::YesAndTrust => {
                self.keyring.trust(key_id);
                Ok(())
            }
            Decision::No => fail!("the user refused to sign"),
        }
    }
}

/// `apikey`: pages announce (domain, key) pairs. The module decides by the WebSocket
/// origin and the user's approval; the pairs are only checked for form.
fn apikey(args: &Args<'_>) -> CallResult {
    if !args.len().is_multiple_of(2) {
        fail!("apikey: arguments must be domain, key pairs");
    }
    for i in (0..args.len()).step_by(2) {
        args.string(i, "domain")?;
        let key = args.string(i + 1, "key")?;
        if key.len() != 128 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            fail!("apikey: key {} must be 128 hex characters", i / 2 + 1);
        }
    }
    calls::reply!()
}

/// The page-facing reason for a keyId that cannot be used.
pub(crate) fn key_error(e: KeyLookupError, key_id: &str, origin: &str) -> CallError {
    match e {
        KeyLookupError::Unknown => CallError(format!(
            "no key is loaded under keyId {key_id:?} (it may have been unloaded after inactivity)"
        )),
        KeyLookupError::OtherOrigin => CallError(format!(
            "keyId {key_id:?} was loaded by another site and cannot be used by {origin}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::PromptError;
    use proptest::prelude::*;

    /// The user, for these tests: refuses everything.
    struct Refuses;
    impl Prompt for Refuses {
        fn password(&self, _: &PasswordRequest) -> Result<Option<Zeroizing<String>>, PromptError> {
            Ok(None)
        }
        fn confirm(&self, _: &ConfirmRequest) -> Result<Decision, PromptError> {
            Ok(Decision::No)
        }
    }

    fn agent() -> Arc<Agent> {
        let mut config = AgentConfig::new("/nonexistent/imzo-sites.json");
        config.key_roots = vec!["/nonexistent/keys".into()];
        Agent::new(config, Arc::new(Refuses))
    }

    fn answer(origin: Option<&str>, msg: &str) -> Value {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(agent().handle(origin, msg))
    }

    #[test]
    fn replies_always_say_success_or_reason() {
        let r = answer(
            Some("http://localhost:8080"),
            r#"{"plugin":"pfx","name":"list_disks"}"#,
        );
        assert_eq!(r["success"], true);
        let r = answer(Some("ftp://x"), r#"{"plugin":"pfx","name":"list_disks"}"#);
        assert!(r["reason"].as_str().unwrap().contains("not a web origin"));
        let r = answer(
            Some("https://a.example"),
            r#"{"plugin":"pfx","name":"list_disks"}"#,
        );
        assert!(r["reason"].as_str().unwrap().contains("did not allow"));
        let r = answer(None, r#"{"name":"version"}"#);
        assert_eq!(r["minor"], "86");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_message_gets_a_well_formed_reply(
            msg in prop_oneof![
                "\\PC{0,64}",
                ("[a-z0-9_]{0,12}", "[a-z0-9_]{0,24}", proptest::collection::vec("[ -~]{0,16}", 0..5))
                    .prop_map(|(p, n, a)| json!({"plugin": p, "name": n, "arguments": a}).to_string()),
            ],
            origin in proptest::option::of("[ -~]{0,24}"),
        ) {
            let r = answer(origin.as_deref(), &msg);
            match r["success"] {
                Value::Bool(true) => {}
                Value::Bool(false) => prop_assert!(r["reason"].as_str().is_some_and(|s| !s.is_empty())),
                _ => prop_assert!(false, "no success field: {}", r),
            }
        }
    }
}
