//! Settings of the registration workflow, given by the binary from its configuration.

use std::fmt;
use std::time::Duration;
use zeroize::Zeroizing;

/// How the workflow is configured. There is no default: the BCV table and the secret
/// pepper must come from the deployment.
#[derive(Clone)]
pub struct RaConfig {
    /// Dated base calculation values in tiyin: the value in force on a date is the one
    /// with the latest date not after it (Asia/Tashkent).
    pub bcv_table: Vec<(time::Date, i64)>,
    /// Secret pepper of the HMAC-SHA256 that hashes SMS codes and captcha answers.
    pub otp_secret: Zeroizing<Vec<u8>>,
    /// How long an application waits for payment (8 hours).
    pub payment_window: Duration,
    /// How long an SMS code, captcha or challenge lives (5 minutes).
    pub code_ttl: Duration,
    /// Public base URL of the portal, for links in messages.
    pub public_base_url: String,
    /// Payme merchant key from configuration; a key stored by ChangePassword wins.
    pub payme_key: Option<String>,
}

impl fmt::Debug for RaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RaConfig")
            .field("bcv_table", &self.bcv_table)
            .field("payment_window", &self.payment_window)
            .field("code_ttl", &self.code_ttl)
            .field("public_base_url", &self.public_base_url)
            .finish_non_exhaustive()
    }
}

impl RaConfig {
    /// A configuration with the standard windows: 8 hours to pay, 5 minutes per code.
    pub fn new(bcv_table: Vec<(time::Date, i64)>, otp_secret: Vec<u8>, public_base_url: impl Into<String>) -> Self {
        RaConfig {
            bcv_table,
            otp_secret: Zeroizing::new(otp_secret),
            payment_window: Duration::from_secs(8 * 3600),
            code_ttl: Duration::from_secs(5 * 60),
            public_base_url: public_base_url.into(),
            payme_key: None,
        }
    }

    /// The same with a configured Payme merchant key.
    pub fn with_payme_key(mut self, key: Option<String>) -> Self {
        self.payme_key = key;
        self
    }
}
