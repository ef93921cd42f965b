//! Paynet merchant protocol (JSON-RPC 2.0 over POST with Basic auth): protocol only.
//! Paynet publishes no public specification; we follow the shape its merchants use:
//! PerformTransaction, CheckTransaction, CancelTransaction, GetStatement,
//! GetInformation and ChangePassword, amounts in tiyin, times `YYYY-MM-DD HH:MM:SS`
//! in Tashkent time.

mod handler;
mod time_text;
#[cfg(test)]
mod tests;

pub use handler::{ACCOUNT_FIELD, basic_auth_header, handle, pay_url};
pub use time_text::{parse_timestamp, timestamp};

use std::fmt;
use std::future::Future;
use zeroize::Zeroizing;

/// The merchant's Paynet settings: the Basic-auth user and password Paynet calls us with,
/// and the merchant id of pay links.
#[derive(Clone)]
pub struct Settings {
    /// Basic-auth user name.
    pub user: String,
    /// Basic-auth password from configuration (a password set by ChangePassword wins).
    pub password: Zeroizing<String>,
    /// Merchant id (pay links only).
    pub merchant_id: Option<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings").field("user", &self.user).field("merchant_id", &self.merchant_id).finish_non_exhaustive()
    }
}

/// Why the ledger refuses; each maps to one Paynet error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 413: the amount is not the application's fee.
    WrongAmount,
    /// 302: no application with this number.
    NoApplication,
    /// 201: the application is paid already, or this transaction id was used otherwise.
    AlreadyExists,
    /// 304: the application is not awaiting payment (cancelled, expired, rejected).
    NotPayable,
    /// 203: no such transaction.
    NotFound,
    /// 77: the service was delivered (certificate issued); cannot cancel.
    CannotCancel,
    /// 102: our side failed.
    System(String),
}

/// A Paynet transaction as the ledger stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Paynet's transaction id.
    pub transaction_id: String,
    /// Our id (`providerTrnId`).
    pub receipt: i64,
    /// Amount, tiyin.
    pub amount_tiyin: i64,
    /// Application number.
    pub application: String,
    /// 2 performed, −2 cancelled.
    pub state: i32,
    /// Paynet's own time of the transaction, ms.
    pub paynet_time_ms: i64,
    /// When we performed it, ms.
    pub perform_time_ms: i64,
    /// When it was cancelled, 0 if not.
    pub cancel_time_ms: i64,
}

/// What GetInformation shows about an application Paynet may take money for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Information {
    /// The applicant's name as in the application.
    pub name: String,
    /// The fee, tiyin.
    pub fee_tiyin: i64,
}

/// What the Paynet protocol needs from our books. Every method is atomic and idempotent.
pub trait Ledger: Send + Sync {
    /// Performs (or returns the stored) transaction `transaction_id`: the application
    /// becomes paid in the same commit.
    fn paynet_perform(&self, transaction_id: &str, paynet_time_ms: i64, amount_tiyin: i64, application: &str)
        -> impl Future<Output = Result<Transaction, Refusal>> + Send;
    /// The stored transaction, if any.
    fn paynet_get(&self, transaction_id: &str) -> impl Future<Output = Result<Option<Transaction>, Refusal>> + Send;
    /// Cancels (or returns the stored cancelled) transaction: the application is refunded.
    fn paynet_cancel(&self, transaction_id: &str) -> impl Future<Output = Result<Transaction, Refusal>> + Send;
    /// Performed (not cancelled) transactions whose Paynet time is within `[from_ms, to_ms]`, ascending.
    fn paynet_statement(&self, from_ms: i64, to_ms: i64)
        -> impl Future<Output = Result<Vec<Transaction>, Refusal>> + Send;
    /// What may be paid for application `application`.
    fn paynet_information(&self, application: &str) -> impl Future<Output = Result<Information, Refusal>> + Send;
    /// The Basic-auth password stored by ChangePassword, if any.
    fn paynet_password(&self) -> impl Future<Output = Result<Option<String>, Refusal>> + Send;
    /// Stores a new Basic-auth password (ChangePassword).
    fn paynet_set_password(&self, password: &str) -> impl Future<Output = Result<(), Refusal>> + Send;
}
