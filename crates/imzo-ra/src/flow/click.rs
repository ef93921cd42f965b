//! The Click ledger: what Click's Prepare and Complete do to our books. Prepare records a
//! created payment (state 1) whose id is the `merchant_prepare_id`; Complete performs it
//! and makes the application paid in the same commit, or cancels it when Click reports a
//! failure. Unique indexes and guarded updates make concurrent duplicates harmless.

use super::books::{self, BookError, Unpayable};
use super::{audit_of_application, by_number_tx};
use crate::Registration;
use imzo_gateways::click::{Completion, Ledger, Refusal};
use imzo_store::{
    Tx, applications,
    payments::{self, NewPayment, PaymentRow},
};

const PROVIDER: &str = "click";
/// Cancel reason stored when a new Prepare replaces one Click never completed.
const REASON_SUPERSEDED: i64 = 10;

fn system(e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "Click ledger failed");
    Refusal::System("internal error".to_owned())
}

fn from_book(e: BookError) -> Refusal {
    match e {
        BookError::Conflict => Refusal::UpdateFailed,
        BookError::Delivered => Refusal::UpdateFailed,
        BookError::System(e) => system(e),
    }
}

fn from_unpayable(e: Unpayable) -> Refusal {
    match e {
        Unpayable::NotFound => Refusal::NoApplication,
        Unpayable::AlreadyPaid => Refusal::AlreadyPaid,
        Unpayable::Closed => Refusal::Cancelled,
        Unpayable::WrongAmount => Refusal::WrongAmount,
        Unpayable::System(e) => system(e),
    }
}

async fn commit(tx: Tx<'_>) -> Result<(), Refusal> {
    tx.commit().await.map_err(system)
}

/// The answer a stored transaction gives to a repeated Prepare.
fn repeat_of_prepare(p: &PaymentRow, application: &str, amount_tiyin: i64) -> Result<i64, Refusal> {
    if p.application_number != application {
        // Click reused its id for another application: never move money across them.
        return Err(Refusal::UpdateFailed);
    }
    match p.state {
        1 if p.amount_tiyin == amount_tiyin => Ok(p.id),
        1 => Err(Refusal::WrongAmount),
        2 => Err(Refusal::AlreadyPaid),
        _ => Err(Refusal::Cancelled),
    }
}

impl Ledger for Registration {
    async fn click_prepare(&self, click_trans_id: &str, application: &str, amount_tiyin: i64) -> Result<i64, Refusal> {
        let mut tx = self.store.begin().await.map_err(system)?;
        if let Some(p) = payments::by_provider_txn(&mut *tx, self.payment_provider(PROVIDER), click_trans_id).await.map_err(system)? {
            return repeat_of_prepare(&p, application, amount_tiyin);
        }
        let now = self.config.clock.now_ms();
        let app = books::payable(by_number_tx(&mut tx, application).await, amount_tiyin, now).map_err(from_unpayable)?;
        // Money for a certificate a revoked centre can no longer issue is not taken.
        if super::centres::standing_on(self, &mut tx, &app.centre_id).await.map_err(system)?.is_some() {
            return Err(from_unpayable(books::Unpayable::Closed));
        }
        if let Some(active) = payments::active_for_application(&mut *tx, app.id).await.map_err(system)? {
            // On PostgreSQL (read committed) a concurrent twin of this very call may have
            // committed since the first look: that is a repeat, not a rival.
            if active.provider == self.payment_provider(PROVIDER) && active.provider_txn_id == click_trans_id {
                return repeat_of_prepare(&active, application, amount_tiyin);
            }
            match (active.provider.as_str(), active.state) {
                (_, 2) => return Err(Refusal::AlreadyPaid),
                // The payer started again in Click: the attempt Click never completed goes.
                (provider, 1) if provider == self.payment_provider(PROVIDER) => {
                    books::cancel_created(&mut tx, &active, REASON_SUPERSEDED, now).await.map_err(from_book)?
                }
                // Another provider's payment is in progress: not ours to undo.
                _ => return Err(Refusal::UpdateFailed),
            }
        }
        let new = NewPayment {
            application_id: app.id,
            provider: self.payment_provider(PROVIDER),
            provider_txn_id: click_trans_id,
            amount_tiyin,
            state: 1,
            provider_time_ms: now,
            create_time_ms: now,
        };
        let Some(id) = payments::insert(&mut tx, &new).await.map_err(system)? else {
            // A concurrent twin won: the same Click id is a repeat, anything else is refused.
            drop(tx);
            return match payments::by_provider_txn(self.store.pool(), self.payment_provider(PROVIDER), click_trans_id).await.map_err(system)? {
                Some(p) => repeat_of_prepare(&p, application, amount_tiyin),
                None => Err(Refusal::UpdateFailed),
            };
        };
        audit_of_application(
            &mut tx,
            app.id,
            self.payment_provider(PROVIDER),
            "payment.created",
            application,
            serde_json::json!({ "payment": id, "amount_tiyin": amount_tiyin, "click_trans_id": click_trans_id }),
        )
        .await
        .map_err(system)?;
        commit(tx).await?;
        Ok(id)
    }

    async fn click_complete(&self, c: &Completion<'_>) -> Result<i64, Refusal> {
        let mut tx = self.store.begin().await.map_err(system)?;
        let p = payments::by_id(&mut *tx, c.prepare_id)
            .await
            .map_err(system)?
            .filter(|p| p.provider == self.payment_provider(PROVIDER) && p.provider_txn_id == c.click_trans_id)
            .ok_or(Refusal::NoTransaction)?;
        if p.application_number != c.application {
            return Err(Refusal::NoTransaction);
        }
        let now = self.config.clock.now_ms();
        if let Some(click_error) = c.click_error {
            // Click says the payment failed on its side: no money moved, so the payment is
            // cancelled. Click's published test run (step 8) expects −9 even for a payment
            // already completed, although its prose says −4 for paid payments; we follow the
            // run, and since the money did not move, that payment is refunded in our books
            // (the application is cancelled) unless the certificate was already issued.
            match p.state {
                1 => books::cancel_created(&mut tx, &p, click_error, now).await.map_err(from_book)?,
                2 => books::refund(&mut tx, &p, click_error, now).await.map_err(from_book)?,
                _ => return Err(Refusal::Cancelled),
            }
            commit(tx).await?;
            return Err(Refusal::Cancelled);
        }
        match p.state {
            1 => {}
            2 => return Err(Refusal::AlreadyPaid),
            _ => return Err(Refusal::Cancelled),
        }
        if p.amount_tiyin != c.amount_tiyin {
            return Err(Refusal::WrongAmount);
        }
        let app = applications::by_id(&mut *tx, p.application_id).await.map_err(system)?.ok_or_else(|| system("payment without application"))?;
        if let Err(why) = books::payable(Ok(app), p.amount_tiyin, now) {
            // Either a concurrent twin paid it since our first look (PostgreSQL, read
            // committed), or the 8-hour deadline (or an operator) closed the application
            // after Prepare and the prepared payment is void.
            return match books::cancel_created(&mut tx, &p, -9, now).await {
                Ok(()) => {
                    tracing::info!(?why, application = %p.application_number, "Click Complete for a closed application");
                    commit(tx).await?;
                    Err(Refusal::Cancelled)
                }
                Err(BookError::Conflict) => {
                    drop(tx);
                    Err(self.settled(p.id).await)
                }
                Err(e) => Err(from_book(e)),
            };
        }
        match books::perform(&mut tx, &p, now, false).await {
            Ok(()) => {}
            Err(BookError::Conflict) => {
                // A concurrent twin performed (or cancelled) it first: answer as a repeat.
                drop(tx);
                return Err(self.settled(p.id).await);
            }
            Err(e) => return Err(from_book(e)),
        }
        commit(tx).await?;
        Ok(p.id)
    }
}

impl Registration {
    /// The answer to a Complete that lost a race: the winner's outcome, as a repeat sees it.
    async fn settled(&self, payment_id: i64) -> Refusal {
        match payments::by_id(self.store.pool(), payment_id).await {
            Ok(Some(p)) if p.state == 2 => Refusal::AlreadyPaid,
            Ok(_) => Refusal::Cancelled,
            Err(e) => system(e),
        }
    }
}
