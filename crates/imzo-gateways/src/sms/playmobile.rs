//! Play Mobile broker API: `POST {base}/broker-api/send` with Basic auth and a JSON batch
//! of one message. A status below 400 means accepted; a 400 names the error.

use super::{DeliveryId, SmsError, SmsGateway, check_message};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use zeroize::Zeroizing;

/// Settings of the Play Mobile gateway.
#[derive(Clone)]
pub struct PlayMobileConfig {
    /// Base URL, e.g. `https://send.smsxabar.uz`.
    pub base_url: String,
    /// Basic-auth login.
    pub login: String,
    /// Basic-auth password (secret).
    pub password: Zeroizing<String>,
    /// Originator (sender name).
    pub originator: String,
}

impl std::fmt::Debug for PlayMobileConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlayMobileConfig")
            .field("base_url", &self.base_url)
            .field("login", &self.login)
            .field("originator", &self.originator)
            .finish_non_exhaustive()
    }
}

/// The Play Mobile client.
pub struct PlayMobile {
    config: PlayMobileConfig,
    http: reqwest::Client,
    sequence: AtomicU64,
}

impl std::fmt::Debug for PlayMobile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlayMobile")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PlayMobile {
    /// A client for `config`, with a 15-second timeout per request.
    pub fn new(config: PlayMobileConfig) -> Result<PlayMobile, SmsError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| SmsError::Unavailable(format!("cannot build the HTTP client: {e}")))?;
        Ok(PlayMobile {
            config,
            http,
            sequence: AtomicU64::new(0),
        })
    }

    /// Sends `text` to `phone` as message `message_id`: the same id for a retry of the same
    /// queued message lets the broker drop a duplicate.
    pub async fn send_as(
        &self,
        message_id: &str,
        phone: &str,
        text: &str,
    ) -> Result<DeliveryId, SmsError> {
        check_message(phone, text)?;
        let body = serde_json::json!({
            "messages": [{
                "recipient": phone,
                "message-id": message_id,
                "sms": { "originator": self.config.originator, "content": { "text": text } }
            }]
        });
        let url = format!(
            "{}/broker-api/send",
            self.config.base_url.trim_end_matches('/')
        );
        let response = self
            .http
            .post(url)
            .basic_auth(&self.config.login, Some(self.config.password.as_str()))
            .json(&body)
            .send()
            .await
            .map_err(|e| SmsError::Unavailable(format!("play mobile: {e}")))?;
        let status = response.status();
        if status.as_u16() < 400 {
            return Ok(DeliveryId(message_id.to_string()));
        }
        let answer = response.text().await.unwrap_or_default();
        let described = serde_json::from_str::<serde_json::Value>(&answer)
            .ok()
            .map(|v| {
                let code = v
                    .get("error-code")
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                let description = v
                    .get("error-description")
                    .and_then(|d| d.as_str())
                    .unwrap_or_default()
                    .to_string();
                format!("error-code {code}: {description}")
            });
        let detail = described.unwrap_or_else(|| answer.chars().take(200).collect());
        let message = format!("play mobile: HTTP {status}: {detail}");
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            Err(SmsError::Unavailable(message))
        } else {
            Err(SmsError::Rejected(message))
        }
    }
}

impl SmsGateway for PlayMobile {
    fn send(
        &self,
        phone: &str,
        text: &str,
    ) -> impl Future<Output = Result<DeliveryId, SmsError>> + Send {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let id = format!("imzo{nanos:x}{n}");
        async move { self.send_as(&id, phone, text).await }
    }
}
