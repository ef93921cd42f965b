//! Settings of the registration workflow, given by the binary from its configuration.

use crate::clock::Clock;
use imzo_gateways::sms::Gateway;
use std::fmt;
use std::sync::Arc;
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
    /// Where queued SMS go (the local outbox by default).
    pub sms_gateway: Arc<Gateway>,
    /// The clock deadlines are judged by (the system clock; tests move it).
    pub clock: Clock,
    /// Lookups by number allowed per client address per minute.
    pub lookups_per_minute: i64,
    /// Reverse proxies whose `X-Real-IP` header names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Applications that may be started from one client address per hour (10).
    pub starts_per_address_per_hour: i64,
    /// Applications that may be started with one PINFL per day (5).
    pub starts_per_pinfl_per_day: i64,
    /// Challenges and captchas of each kind one client address may ask for per minute (30).
    pub challenges_per_minute: i64,
}

impl fmt::Debug for RaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RaConfig")
            .field("bcv_table", &self.bcv_table)
            .field("payment_window", &self.payment_window)
            .field("code_ttl", &self.code_ttl)
            .field("public_base_url", &self.public_base_url)
            .field("sms_gateway", &self.sms_gateway.name())
            .field("lookups_per_minute", &self.lookups_per_minute)
            .field("starts_per_address_per_hour", &self.starts_per_address_per_hour)
            .field("starts_per_pinfl_per_day", &self.starts_per_pinfl_per_day)
            .field("challenges_per_minute", &self.challenges_per_minute)
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
            sms_gateway: Arc::new(Gateway::default()),
            clock: Clock::system(),
            lookups_per_minute: 10,
            trusted_proxies: Vec::new(),
            starts_per_address_per_hour: 10,
            starts_per_pinfl_per_day: 5,
            challenges_per_minute: 30,
        }
    }

    /// The same allowing `per_address_per_hour` starts from one client address per hour
    /// and `per_pinfl_per_day` starts with one PINFL per day.
    pub fn with_start_limits(mut self, per_address_per_hour: i64, per_pinfl_per_day: i64) -> Self {
        self.starts_per_address_per_hour = per_address_per_hour;
        self.starts_per_pinfl_per_day = per_pinfl_per_day;
        self
    }

    /// The same delivering SMS through `gateway`.
    pub fn with_sms_gateway(mut self, gateway: Gateway) -> Self {
        self.sms_gateway = Arc::new(gateway);
        self
    }

    /// The same allowing `n` challenges (and, separately, `n` captchas) per client address
    /// per minute.
    pub fn with_challenges_per_minute(mut self, n: i64) -> Self {
        self.challenges_per_minute = n;
        self
    }

    /// The same allowing `n` lookups by number per client address per minute.
    pub fn with_lookups_per_minute(mut self, n: i64) -> Self {
        self.lookups_per_minute = n;
        self
    }

    /// The same trusting `X-Real-IP` from these proxies.
    pub fn with_trusted_proxies(mut self, proxies: Vec<std::net::IpAddr>) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// The same judging deadlines by `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same with a configured Payme merchant key.
    pub fn with_payme_key(mut self, key: Option<String>) -> Self {
        self.payme_key = key;
        self
    }
}
