//! Click SHOP API (form-urlencoded POSTs, JSON answers): protocol only. Click calls
//! Prepare (`action=0`) and then Complete (`action=1`); both are signed with an md5 over
//! the fields and the shared secret. What a payment does to an application is decided by
//! the ledger the registration workflow implements.

mod handler;
mod sign;
#[cfg(test)]
mod tests;

pub use handler::{Action, handle};
pub use sign::{SignedFields, encode_form, pay_url};

use std::fmt;
use std::future::Future;
use zeroize::Zeroizing;

/// Click's error codes (the `error` field of our answers).
pub mod code {
    /// Success.
    pub const SUCCESS: i64 = 0;
    /// SIGN CHECK FAILED.
    pub const SIGN_CHECK_FAILED: i64 = -1;
    /// Incorrect parameter amount.
    pub const INCORRECT_AMOUNT: i64 = -2;
    /// Action not found.
    pub const ACTION_NOT_FOUND: i64 = -3;
    /// Already paid.
    pub const ALREADY_PAID: i64 = -4;
    /// User (for us: application) does not exist.
    pub const USER_NOT_FOUND: i64 = -5;
    /// Transaction does not exist.
    pub const TRANSACTION_NOT_FOUND: i64 = -6;
    /// Failed to update user.
    pub const UPDATE_FAILED: i64 = -7;
    /// Error in request from Click.
    pub const BAD_REQUEST: i64 = -8;
    /// Transaction cancelled.
    pub const CANCELLED: i64 = -9;
}

/// The merchant's Click settings: service id, merchant id (for pay links) and secret key.
#[derive(Clone)]
pub struct Settings {
    /// Our service id in Click's cabinet.
    pub service_id: String,
    /// Our merchant id (pay links only).
    pub merchant_id: Option<String>,
    /// The shared secret key of the signatures.
    pub secret: Zeroizing<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("service_id", &self.service_id)
            .field("merchant_id", &self.merchant_id)
            .finish_non_exhaustive()
    }
}

/// Why the ledger refuses; each maps to one Click error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// −2: the amount is not the application's fee (or not the prepared amount).
    WrongAmount,
    /// −4: the application is paid already (or this transaction was completed).
    AlreadyPaid,
    /// −5: no application with this number.
    NoApplication,
    /// −6: no prepared transaction with this id for this Click transaction.
    NoTransaction,
    /// −7: the books could not take the change (e.g. another provider's payment is in
    /// progress, or the service was delivered and cannot be undone).
    UpdateFailed,
    /// −9: the transaction, or the application, was cancelled.
    Cancelled,
    /// −7 too, logged: our side failed.
    System(String),
}

impl Refusal {
    /// Click's error code for this refusal.
    pub fn code(&self) -> i64 {
        match self {
            Refusal::WrongAmount => code::INCORRECT_AMOUNT,
            Refusal::AlreadyPaid => code::ALREADY_PAID,
            Refusal::NoApplication => code::USER_NOT_FOUND,
            Refusal::NoTransaction => code::TRANSACTION_NOT_FOUND,
            Refusal::UpdateFailed | Refusal::System(_) => code::UPDATE_FAILED,
            Refusal::Cancelled => code::CANCELLED,
        }
    }
}

/// A Complete as the ledger sees it, after the protocol checks passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion<'a> {
    /// Click's transaction id.
    pub click_trans_id: &'a str,
    /// Our application number (`merchant_trans_id`).
    pub application: &'a str,
    /// Our id from Prepare (`merchant_prepare_id`).
    pub prepare_id: i64,
    /// Amount, tiyin.
    pub amount_tiyin: i64,
    /// Click's own `error` when negative: the payment failed on Click's side.
    pub click_error: Option<i64>,
}

/// What the Click protocol needs from our books. Each method is atomic and idempotent.
pub trait Ledger: Send + Sync {
    /// Prepare: checks the application and amount, records (or finds) the prepared
    /// transaction `click_trans_id`; returns its id (`merchant_prepare_id`).
    fn click_prepare(&self, click_trans_id: &str, application: &str, amount_tiyin: i64)
        -> impl Future<Output = Result<i64, Refusal>> + Send;
    /// Complete: performs the prepared transaction (the application becomes paid in the
    /// same commit), or cancels it when Click reports a failure; returns
    /// `merchant_confirm_id`.
    fn click_complete(&self, completion: &Completion<'_>) -> impl Future<Output = Result<i64, Refusal>> + Send;
}
