//! SMS delivery. The embedded default delivers into the local outbox (the database
//! queue itself, shown at `/api/v1/dev/outbox`); Eskiz and Play Mobile deliver over HTTP
//! as `protocols/sms.md` describes. [`Gateway`] is the one a deployment configured.

mod eskiz;
mod playmobile;
#[cfg(test)]
mod providers_tests;

pub use eskiz::{Eskiz, EskizConfig};
pub use playmobile::{PlayMobile, PlayMobileConfig};

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The gateway's identifier of an accepted message (for delivery reports and audits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryId(pub String);

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a message was not accepted. Never carries the message text (it may hold a code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The recipient is not a normalised Uzbek mobile number (`998` + 9 digits).
    #[error("recipient must be 998 followed by 9 digits (got {0} characters)")]
    InvalidPhone(usize),
    /// Nothing to send.
    #[error("message text is empty")]
    EmptyText,
    /// The gateway could not be reached or failed; the queue retries later.
    #[error("SMS gateway unavailable: {0}")]
    Unavailable(String),
    /// The gateway refused the message for good; retrying will not help.
    #[error("SMS gateway refused the message: {0}")]
    Rejected(String),
}

impl SmsError {
    /// Whether the durable queue should try again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, SmsError::Unavailable(_))
    }
}

/// Something that delivers a text message to a phone.
pub trait SmsGateway: Send + Sync {
    /// Sends `text` to `phone` (`998XXXXXXXXX`); returns the gateway's id of the message.
    fn send(&self, phone: &str, text: &str) -> impl Future<Output = Result<DeliveryId, SmsError>> + Send;
}

/// Checks what every gateway requires of a message before it leaves the process.
pub fn check_message(phone: &str, text: &str) -> Result<(), SmsError> {
    let is_uz_mobile = phone.len() == 12 && phone.starts_with("998") && phone.bytes().all(|b| b.is_ascii_digit());
    if !is_uz_mobile {
        // The length only: the number itself is personal data and stays out of logs.
        return Err(SmsError::InvalidPhone(phone.chars().count()));
    }
    if text.trim().is_empty() {
        return Err(SmsError::EmptyText);
    }
    Ok(())
}

/// The embedded default: the outbox row the workflow queued *is* the delivery (people read
/// it at `/api/v1/dev/outbox` or with `imzo outbox`), so sending succeeds at once.
#[derive(Debug, Default)]
pub struct LocalOutbox {
    sequence: AtomicU64,
}

impl LocalOutbox {
    /// A local outbox "gateway".
    pub fn new() -> Self {
        LocalOutbox::default()
    }
}

impl SmsGateway for LocalOutbox {
    fn send(&self, phone: &str, text: &str) -> impl Future<Output = Result<DeliveryId, SmsError>> + Send {
        let checked = check_message(phone, text);
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        async move {
            checked?;
            // Clock before 1970 only makes the id less pretty, never wrong: the sequence keeps it unique.
            let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
            Ok(DeliveryId(format!("local-{now_ms}-{sequence}")))
        }
    }
}

/// Which gateway a deployment configured, with its settings.
#[derive(Debug, Clone, Default)]
pub enum GatewayConfig {
    /// The local outbox (embedded default).
    #[default]
    Outbox,
    /// Eskiz.
    Eskiz(EskizConfig),
    /// Play Mobile.
    PlayMobile(PlayMobileConfig),
}

/// The gateway a deployment configured.
#[derive(Debug)]
pub enum Gateway {
    /// The local outbox (embedded default).
    Outbox(LocalOutbox),
    /// Eskiz.
    Eskiz(Eskiz),
    /// Play Mobile.
    PlayMobile(PlayMobile),
}

impl Default for Gateway {
    fn default() -> Self {
        Gateway::Outbox(LocalOutbox::new())
    }
}

impl Gateway {
    /// The gateway `config` describes.
    pub fn from_config(config: GatewayConfig) -> Result<Gateway, SmsError> {
        Ok(match config {
            GatewayConfig::Outbox => Gateway::Outbox(LocalOutbox::new()),
            GatewayConfig::Eskiz(c) => Gateway::Eskiz(Eskiz::new(c)?),
            GatewayConfig::PlayMobile(c) => Gateway::PlayMobile(PlayMobile::new(c)?),
        })
    }

    /// The name recorded with each delivery: `outbox`, `eskiz`, `playmobile`.
    pub fn name(&self) -> &'static str {
        match self {
            Gateway::Outbox(_) => "outbox",
            Gateway::Eskiz(_) => "eskiz",
            Gateway::PlayMobile(_) => "playmobile",
        }
    }

    /// Whether messages leave the process (then their texts are redacted once delivered).
    pub fn is_external(&self) -> bool {
        !matches!(self, Gateway::Outbox(_))
    }

    /// Sends queued message `message_id` (stable across retries, so a gateway that knows
    /// message ids drops a repeat).
    pub async fn deliver(&self, message_id: &str, phone: &str, text: &str) -> Result<DeliveryId, SmsError> {
        match self {
            Gateway::Outbox(g) => g.send(phone, text).await,
            Gateway::Eskiz(g) => g.send(phone, text).await,
            Gateway::PlayMobile(g) => g.send_as(message_id, phone, text).await,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[tokio::test]
    async fn local_outbox_accepts_at_once_with_distinct_ids() {
        let outbox = LocalOutbox::new();
        let a = outbox.send("998901234567", "Kod: 123456").await.unwrap();
        let b = outbox.send("998901234567", "Kod: 654321").await.unwrap();
        assert!(a.0.starts_with("local-"));
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn local_outbox_refuses_bad_recipients_and_empty_text() {
        let outbox = LocalOutbox::new();
        assert_eq!(outbox.send("+998901234567", "x").await, Err(SmsError::InvalidPhone(13)));
        assert_eq!(outbox.send("79001234567", "x").await, Err(SmsError::InvalidPhone(11)));
        assert_eq!(outbox.send("998901234567", "  ").await, Err(SmsError::EmptyText));
    }

    #[test]
    fn errors_never_show_the_number() {
        let message = check_message("99890123456a", "x").unwrap_err().to_string();
        assert!(!message.contains("9989"));
        assert!(SmsError::Unavailable("timeout".into()).is_transient());
        assert!(!SmsError::Rejected("blocked".into()).is_transient());
    }

    proptest! {
        #[test]
        fn only_998_and_nine_digits_pass(phone in "[0-9+ ]{0,14}") {
            let ok = check_message(&phone, "x").is_ok();
            let expected = phone.len() == 12 && phone.starts_with("998") && phone.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(ok, expected);
        }
    }
}
