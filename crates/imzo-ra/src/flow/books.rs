//! What every payment provider's ledger does to the books, once: decide whether an
//! application may be paid, perform a payment together with the application's change to
//! `paid`, and refund one. Each runs inside the caller's transaction, with guarded
//! updates, so a payment is recorded once and in the same commit as the state change.

use super::audit_of_application;
use crate::state::{Event, State};
use crate::{ErrorKind, RaError};
use imzo_store::{
    StoreError, Tx,
    applications::{self, ApplicationRow},
    payments::{self, PaymentRow},
};

/// Why an application cannot take a payment now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unpayable {
    /// No application with this number.
    NotFound,
    /// Paid already (paid, approved or issued).
    AlreadyPaid,
    /// Not awaiting payment for another reason (cancelled, expired, rejected, deadline passed).
    Closed,
    /// The amount is not the fee.
    WrongAmount,
    /// Our side failed.
    System(String),
}

/// Why a perform or refund could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BookError {
    /// A guarded update found the row changed (a concurrent twin won, or the state forbids it).
    Conflict,
    /// The certificate was issued: the service was delivered.
    Delivered,
    /// Our side failed.
    System(String),
}

impl From<StoreError> for BookError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => BookError::Conflict,
            other => BookError::System(other.to_string()),
        }
    }
}

impl From<RaError> for BookError {
    fn from(e: RaError) -> Self {
        BookError::System(e.to_string())
    }
}

/// Whether `app` (as looked up) may be paid `amount_tiyin` at `now`; the row if so.
pub(crate) fn payable(app: Result<ApplicationRow, RaError>, amount_tiyin: i64, now: i64) -> Result<ApplicationRow, Unpayable> {
    let app = match app {
        Ok(app) => app,
        Err(e) if e.kind == ErrorKind::NotFound => return Err(Unpayable::NotFound),
        Err(e) => return Err(Unpayable::System(e.to_string())),
    };
    let state = State::parse(&app.state);
    if matches!(state, Some(State::Paid | State::Approved | State::Issued)) {
        return Err(Unpayable::AlreadyPaid);
    }
    let in_time = app.pay_before_ms.is_some_and(|deadline| deadline > now);
    if state != Some(State::AwaitingPayment) || !in_time {
        return Err(Unpayable::Closed);
    }
    if app.fee_tiyin != Some(amount_tiyin) {
        return Err(Unpayable::WrongAmount);
    }
    Ok(app)
}

/// Moves payment `p` (state 1, or just inserted as 2 when `inserted_performed`) and its
/// application `awaiting_payment → paid`, with the audit record, in `tx`.
pub(crate) async fn perform(
    tx: &mut Tx<'_>,
    p: &PaymentRow,
    now: i64,
    inserted_performed: bool,
) -> Result<(), BookError> {
    if !inserted_performed && !payments::perform(tx, p.id, now).await? {
        return Err(BookError::Conflict);
    }
    let from = State::AwaitingPayment;
    let to = from.next(Event::Pay).ok_or(BookError::Conflict)?;
    applications::transition(tx, p.application_id, from.as_str(), to.as_str()).await?;
    audit_of_application(
        tx,
        p.application_id,
        &p.provider,
        "application.paid",
        &p.application_number,
        serde_json::json!({ "payment": p.id, "amount_tiyin": p.amount_tiyin }),
    )
    .await?;
    Ok(())
}

/// Refunds performed payment `p` (2 → −2): the application is cancelled, unless its
/// certificate was issued ([`BookError::Delivered`]).
pub(crate) async fn refund(tx: &mut Tx<'_>, p: &PaymentRow, reason: i64, now: i64) -> Result<(), BookError> {
    let app = applications::by_id(&mut **tx, p.application_id)
        .await?
        .ok_or_else(|| BookError::System("payment without application".to_owned()))?;
    if app.certificate_serial.is_some() || app.state == State::Issued.as_str() {
        return Err(BookError::Delivered);
    }
    let from = State::parse(&app.state).ok_or_else(|| BookError::System(format!("unknown state {}", app.state)))?;
    let to = from.next(Event::Refund).ok_or(BookError::Delivered)?;
    applications::transition(tx, app.id, from.as_str(), to.as_str()).await?;
    if !payments::cancel(tx, p.id, 2, -2, reason, now).await? {
        return Err(BookError::Conflict);
    }
    cancelled(tx, p, reason).await
}

/// Cancels created payment `p` (1 → −1); the application stays as it is.
pub(crate) async fn cancel_created(tx: &mut Tx<'_>, p: &PaymentRow, reason: i64, now: i64) -> Result<(), BookError> {
    if !payments::cancel(tx, p.id, 1, -1, reason, now).await? {
        return Err(BookError::Conflict);
    }
    cancelled(tx, p, reason).await
}

async fn cancelled(tx: &mut Tx<'_>, p: &PaymentRow, reason: i64) -> Result<(), BookError> {
    audit_of_application(
        tx,
        p.application_id,
        &p.provider,
        "payment.cancelled",
        &p.application_number,
        serde_json::json!({ "payment": p.id, "reason": reason, "was": p.state }),
    )
    .await?;
    Ok(())
}
