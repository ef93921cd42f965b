//! The answers of a deployment's HTTP API, as this client reads them.

use serde::Deserialize;
use time::OffsetDateTime;

/// `POST /api/v1/applications`.
#[derive(Debug, Deserialize)]
pub(crate) struct Started {
    /// The draft's handle.
    pub(crate) draft_id: String,
    /// Where the code went, masked.
    pub(crate) phone_masked: String,
}

/// `POST /api/v1/applications/{draft}/submit`.
#[derive(Debug, Deserialize)]
pub(crate) struct Submitted {
    /// 12-digit application number.
    pub(crate) number: String,
    /// Fee in tiyin.
    pub(crate) fee_tiyin: i64,
    /// Fee in sum, for display.
    #[serde(default)]
    pub(crate) fee_sum: Option<String>,
    /// Payment deadline.
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) pay_before: OffsetDateTime,
    /// Where to pay.
    #[serde(default)]
    pub(crate) pay: PayLinks,
}

/// Payment links of a submission.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PayLinks {
    /// Payme checkout.
    #[serde(default)]
    pub(crate) payme: Option<String>,
    /// The local sandbox (path or URL).
    #[serde(default)]
    pub(crate) sandbox: Option<String>,
    /// The local sandbox page with the choice of Payme, Click or Paynet.
    #[serde(default)]
    pub(crate) sandbox_providers: Option<String>,
}

/// A challenge to sign.
#[derive(Debug, Deserialize)]
pub(crate) struct Challenge {
    /// Its id.
    pub(crate) id: String,
    /// The bytes, base64.
    pub(crate) challenge_base64: String,
}

/// What an application looks like to its holder or an operator.
#[derive(Debug, Deserialize)]
pub(crate) struct View {
    /// Number.
    pub(crate) number: String,
    /// State.
    pub(crate) state: String,
    /// Full name.
    pub(crate) full_name: String,
    /// Fee in tiyin.
    pub(crate) fee_tiyin: i64,
    /// Payment deadline.
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) pay_before: OffsetDateTime,
    /// Rejection reason.
    #[serde(default)]
    pub(crate) rejection_reason: Option<String>,
    /// Serial once issued.
    #[serde(default)]
    pub(crate) certificate_serial: Option<String>,
}

/// An issued certificate with its chain.
#[derive(Debug, Deserialize)]
pub(crate) struct Issued {
    /// Serial, hex.
    pub(crate) serial: String,
    /// The certificate, PEM.
    pub(crate) certificate_pem: String,
    /// Centre CA and root, PEM.
    pub(crate) chain_pem: String,
}
