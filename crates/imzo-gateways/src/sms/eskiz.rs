//! Eskiz (notify.eskiz.uz): log in with e-mail and password for a bearer token, renew it
//! with `PATCH auth/refresh` when it is refused, send one message as a multipart form.

use super::{DeliveryId, SmsError, SmsGateway, check_message};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use zeroize::Zeroizing;

/// Settings of the Eskiz gateway.
#[derive(Clone)]
pub struct EskizConfig {
    /// Base URL, e.g. `https://notify.eskiz.uz/api` (no trailing slash needed).
    pub base_url: String,
    /// Account e-mail.
    pub email: String,
    /// Account password (secret).
    pub password: Zeroizing<String>,
    /// Sender name (`from`), e.g. `4546`.
    pub from: String,
    /// Delivery report URL given to Eskiz, if any.
    pub callback_url: Option<String>,
}

impl std::fmt::Debug for EskizConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EskizConfig")
            .field("base_url", &self.base_url)
            .field("email", &self.email)
            .field("from", &self.from)
            .field("callback_url", &self.callback_url)
            .finish_non_exhaustive()
    }
}

/// The Eskiz client. The token is kept in memory only; any node logs in for itself.
pub struct Eskiz {
    config: EskizConfig,
    http: reqwest::Client,
    token: Mutex<Option<Zeroizing<String>>>,
}

impl std::fmt::Debug for Eskiz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Eskiz")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> SmsError {
    SmsError::Unavailable(format!("eskiz {what}: {e}"))
}

/// A refusal by HTTP status: server trouble and rate limits pass, the rest is for good.
fn by_status(what: &str, status: reqwest::StatusCode, body: &str) -> SmsError {
    // The body is the gateway's own error text; it never echoes our message text back.
    let detail: String = body.chars().take(200).collect();
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        SmsError::Unavailable(format!("eskiz {what}: HTTP {status}: {detail}"))
    } else {
        SmsError::Rejected(format!("eskiz {what}: HTTP {status}: {detail}"))
    }
}

enum Outcome {
    Sent(DeliveryId),
    TokenRefused,
}

impl Eskiz {
    /// A client for `config`, with a 15-second timeout per request.
    pub fn new(config: EskizConfig) -> Result<Eskiz, SmsError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| SmsError::Unavailable(format!("cannot build the HTTP client: {e}")))?;
        Ok(Eskiz {
            config,
            http,
            token: Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn cached_token(&self) -> Option<Zeroizing<String>> {
        self.token.lock().map(|t| t.clone()).unwrap_or(None)
    }

    fn keep_token(&self, token: Option<Zeroizing<String>>) {
        if let Ok(mut slot) = self.token.lock() {
            *slot = token;
        }
    }

    fn token_from(body: &serde_json::Value) -> Option<Zeroizing<String>> {
        body.get("data")?
            .get("token")?
            .as_str()
            .filter(|t| !t.is_empty())
            .map(|t| Zeroizing::new(t.to_string()))
    }

    async fn login(&self) -> Result<Zeroizing<String>, SmsError> {
        let form = [
            ("email", self.config.email.as_str()),
            ("password", self.config.password.as_str()),
        ];
        let response = self
            .http
            .post(self.url("auth/login"))
            .form(&form)
            .send()
            .await
            .map_err(|e| unavailable("login", e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| unavailable("login", e))?;
        if !status.is_success() {
            return Err(by_status("login", status, &text));
        }
        let body: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| unavailable("login answer is not JSON", e))?;
        let token = Self::token_from(&body)
            .ok_or_else(|| unavailable("login", "no data.token in the answer"))?;
        self.keep_token(Some(token.clone()));
        Ok(token)
    }

    /// Renews `old`; `None` if Eskiz will not (then we log in again).
    async fn refresh(&self, old: &str) -> Option<Zeroizing<String>> {
        let response = self
            .http
            .patch(self.url("auth/refresh"))
            .bearer_auth(old)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body: serde_json::Value = response.json().await.ok()?;
        // Eskiz answers either with a new token or with a bare "token refreshed" for the old one.
        let token = Self::token_from(&body).unwrap_or_else(|| Zeroizing::new(old.to_string()));
        self.keep_token(Some(token.clone()));
        Some(token)
    }

    async fn send_once(&self, token: &str, phone: &str, text: &str) -> Result<Outcome, SmsError> {
        let mut form = reqwest::multipart::Form::new()
            .text("mobile_phone", phone.to_string())
            .text("message", text.to_string())
            .text("from", self.config.from.clone());
        if let Some(callback) = &self.config.callback_url {
            form = form.text("callback_url", callback.clone());
        }
        let response = self
            .http
            .post(self.url("message/sms/send"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .map_err(|e| unavailable("send", e))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Ok(Outcome::TokenRefused);
        }
        let body = response.text().await.map_err(|e| unavailable("send", e))?;
        if !status.is_success() {
            return Err(by_status("send", status, &body));
        }
        let json: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| unavailable("send answer is not JSON", e))?;
        let id = match json.get("id") {
            Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => return Err(unavailable("send", "no id in the answer")),
        };
        Ok(Outcome::Sent(DeliveryId(id)))
    }

    async fn deliver(&self, phone: &str, text: &str) -> Result<DeliveryId, SmsError> {
        check_message(phone, text)?;
        let token = match self.cached_token() {
            Some(t) => t,
            None => self.login().await?,
        };
        if let Outcome::Sent(id) = self.send_once(&token, phone, text).await? {
            return Ok(id);
        }
        let renewed = match self.refresh(&token).await {
            Some(t) => t,
            None => self.login().await?,
        };
        match self.send_once(&renewed, phone, text).await? {
            Outcome::Sent(id) => Ok(id),
            Outcome::TokenRefused => {
                self.keep_token(None);
                Err(SmsError::Unavailable("eskiz refused a fresh token".into()))
            }
        }
    }
}

impl SmsGateway for Eskiz {
    fn send(
        &self,
        phone: &str,
        text: &str,
    ) -> impl Future<Output = Result<DeliveryId, SmsError>> + Send {
        self.deliver(phone, text)
    }
}
