//! Payme Merchant API (JSON-RPC 2.0 over POST): protocol only. What a payment does to an
//! application is decided by the ledger the registration workflow implements.

mod errors;
mod handler;
mod links;
#[cfg(test)]
mod tests;

pub use handler::{MAX_FUTURE_SKEW_MS, REASON_TIMEOUT, TRANSACTION_TIMEOUT_MS, handle, handle_at, not_post_reply};
pub use links::{ACCOUNT_FIELD, basic_auth_header, checkout_url};

use std::future::Future;

/// Shortest merchant key ChangePassword may set.
pub const MIN_MERCHANT_KEY_LEN: usize = 16;

/// Whether `key` may be a merchant key: at least [`MIN_MERCHANT_KEY_LEN`] characters,
/// printable ASCII without spaces (it travels in an HTTP Basic header).
pub fn is_acceptable_merchant_key(key: &str) -> bool {
    key.len() >= MIN_MERCHANT_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Why the ledger refuses an operation; mapped to Payme's error codes here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// −31001: the amount is not the application's fee.
    WrongAmount,
    /// −31050: no application with this number.
    AccountNotFound,
    /// −31051: the application is not awaiting payment (paid, cancelled, expired, ...).
    AccountNotPayable,
    /// −31008: another transaction is active for this application, or the state forbids it.
    NotAllowed,
    /// −31003: no such transaction.
    TransactionNotFound,
    /// −31007: the service was delivered (certificate issued); cannot cancel.
    CannotCancel,
    /// −32400: our side failed.
    System(String),
}

/// A Payme transaction as stored by the ledger. Times are Payme-style milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Payme's 24-character transaction id.
    pub id: String,
    /// Our transaction id (returned as `transaction`).
    pub receipt: String,
    /// Payme's `time` of creation.
    pub payme_time_ms: i64,
    /// Amount in tiyin.
    pub amount_tiyin: i64,
    /// Application number.
    pub application: String,
    /// 1 created, 2 performed, −1 cancelled before perform, −2 cancelled after.
    pub state: i32,
    /// When we created it.
    pub create_time_ms: i64,
    /// When it was performed, 0 if not.
    pub perform_time_ms: i64,
    /// When it was cancelled, 0 if not.
    pub cancel_time_ms: i64,
    /// Cancel reason, if cancelled.
    pub reason: Option<i32>,
}

/// What the Payme protocol needs from our books. Every method is atomic and idempotent.
pub trait Ledger: Send + Sync {
    /// May `amount_tiyin` be paid for application `application` now?
    fn check_perform(&self, application: &str, amount_tiyin: i64)
        -> impl Future<Output = Result<(), Refusal>> + Send;
    /// Creates (or returns the stored) transaction `id`.
    fn create(&self, id: &str, payme_time_ms: i64, amount_tiyin: i64, application: &str)
        -> impl Future<Output = Result<Transaction, Refusal>> + Send;
    /// Performs transaction `id`: the application becomes paid in the same commit.
    fn perform(&self, id: &str) -> impl Future<Output = Result<Transaction, Refusal>> + Send;
    /// Cancels transaction `id` with Payme's reason code.
    fn cancel(&self, id: &str, reason: i32) -> impl Future<Output = Result<Transaction, Refusal>> + Send;
    /// The stored transaction `id`.
    fn get(&self, id: &str) -> impl Future<Output = Result<Transaction, Refusal>> + Send;
    /// Transactions whose Payme time is within `[from_ms, to_ms]`, ascending.
    fn statement(&self, from_ms: i64, to_ms: i64)
        -> impl Future<Output = Result<Vec<Transaction>, Refusal>> + Send;
    /// The merchant key in force (a key stored by ChangePassword wins over configuration).
    fn merchant_key(&self) -> impl Future<Output = Result<Option<String>, Refusal>> + Send;
    /// Stores a new merchant key (ChangePassword).
    fn set_merchant_key(&self, key: &str) -> impl Future<Output = Result<(), Refusal>> + Send;
}
