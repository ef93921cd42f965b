//! The Paynet ledger: Paynet performs in one call, so a Paynet payment is recorded
//! performed (state 2) in the same commit that makes the application paid; a cancel
//! refunds it (state −2) and cancels the application unless the certificate was issued.

use super::books::{self, BookError, Unpayable};
use super::{by_number, by_number_tx, full_name};
use crate::Registration;
use imzo_gateways::paynet::{Information, Ledger, Refusal, Transaction};
use imzo_store::{
    Tx,
    payments::{self, NewPayment, PaymentRow},
    settings,
};

const PROVIDER: &str = "paynet";
/// Settings key of a password set by ChangePassword.
const PASSWORD_SETTING: &str = "paynet.password";
/// Cancel reason stored for Paynet's cancels (Payme's "refund" code; Paynet sends none).
const REASON_REFUND: i64 = 5;

fn system(e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "Paynet ledger failed");
    Refusal::System("internal error".to_owned())
}

fn from_unpayable(e: Unpayable) -> Refusal {
    match e {
        Unpayable::NotFound => Refusal::NoApplication,
        Unpayable::AlreadyPaid => Refusal::AlreadyExists,
        Unpayable::Closed => Refusal::NotPayable,
        Unpayable::WrongAmount => Refusal::WrongAmount,
        Unpayable::System(e) => system(e),
    }
}

fn transaction(p: &PaymentRow) -> Transaction {
    Transaction {
        transaction_id: p.provider_txn_id.clone(),
        receipt: p.id,
        amount_tiyin: p.amount_tiyin,
        application: p.application_number.clone(),
        state: i32::try_from(p.state).unwrap_or(0),
        paynet_time_ms: p.provider_time_ms,
        perform_time_ms: p.perform_time_ms,
        cancel_time_ms: p.cancel_time_ms,
    }
}

async fn commit(tx: Tx<'_>) -> Result<(), Refusal> {
    tx.commit().await.map_err(system)
}

/// The answer a stored transaction gives to a repeated PerformTransaction: the stored
/// result when it is the same payment, else "exists".
fn repeat_of_perform(p: &PaymentRow, application: &str, amount_tiyin: i64) -> Result<Transaction, Refusal> {
    if p.state == 2 && p.application_number == application && p.amount_tiyin == amount_tiyin {
        Ok(transaction(p))
    } else {
        Err(Refusal::AlreadyExists)
    }
}

impl Ledger for Registration {
    async fn paynet_perform(
        &self,
        transaction_id: &str,
        paynet_time_ms: i64,
        amount_tiyin: i64,
        application: &str,
    ) -> Result<Transaction, Refusal> {
        let mut tx = self.store.begin().await.map_err(system)?;
        if let Some(p) = payments::by_provider_txn(&mut *tx, self.payment_provider(PROVIDER), transaction_id).await.map_err(system)? {
            return repeat_of_perform(&p, application, amount_tiyin);
        }
        let now = self.config.clock.now_ms();
        let app = match books::payable(by_number_tx(&mut tx, application).await, amount_tiyin, now) {
            Ok(app) => app,
            Err(why) => {
                // A concurrent twin of this very call may have paid it since the first look.
                return match payments::by_provider_txn(&mut *tx, self.payment_provider(PROVIDER), transaction_id).await.map_err(system)? {
                    Some(p) => repeat_of_perform(&p, application, amount_tiyin),
                    None => Err(from_unpayable(why)),
                };
            }
        };
        // Money for a certificate a revoked centre can no longer issue is not taken.
        if super::centres::standing_on(self, &mut tx, &app.centre_id).await.map_err(system)?.is_some() {
            return Err(from_unpayable(books::Unpayable::Closed));
        }
        if let Some(active) = payments::active_for_application(&mut *tx, app.id).await.map_err(system)? {
            // A concurrent twin of this very call may have committed since the first look.
            if active.provider == self.payment_provider(PROVIDER) && active.provider_txn_id == transaction_id {
                return repeat_of_perform(&active, application, amount_tiyin);
            }
            // Paid already, or another provider's payment is in progress.
            return Err(if active.state == 2 { Refusal::AlreadyExists } else { Refusal::NotPayable });
        }
        let new = NewPayment {
            application_id: app.id,
            provider: self.payment_provider(PROVIDER),
            provider_txn_id: transaction_id,
            amount_tiyin,
            state: 2,
            provider_time_ms: paynet_time_ms,
            create_time_ms: now,
        };
        let inserted = payments::insert(&mut tx, &new).await.map_err(system)?;
        let stored = match inserted {
            Some(id) => payments::by_id(&mut *tx, id).await.map_err(system)?.ok_or_else(|| system("payment vanished"))?,
            None => {
                // A concurrent twin won: the same id is a repeat, anything else is refused.
                drop(tx);
                let again = payments::by_provider_txn(self.store.pool(), self.payment_provider(PROVIDER), transaction_id).await.map_err(system)?;
                return match again {
                    Some(p) => repeat_of_perform(&p, application, amount_tiyin),
                    None => Err(Refusal::AlreadyExists),
                };
            }
        };
        match books::perform(&mut tx, &stored, now, true).await {
            Ok(()) => {}
            Err(BookError::Conflict) => return Err(Refusal::NotPayable),
            Err(BookError::Delivered) => return Err(Refusal::AlreadyExists),
            Err(BookError::System(e)) => return Err(system(e)),
        }
        commit(tx).await?;
        Ok(transaction(&stored))
    }

    async fn paynet_get(&self, transaction_id: &str) -> Result<Option<Transaction>, Refusal> {
        let p = payments::by_provider_txn(self.store.pool(), self.payment_provider(PROVIDER), transaction_id).await.map_err(system)?;
        Ok(p.as_ref().map(transaction))
    }

    async fn paynet_cancel(&self, transaction_id: &str) -> Result<Transaction, Refusal> {
        let mut tx = self.store.begin().await.map_err(system)?;
        let p = payments::by_provider_txn(&mut *tx, self.payment_provider(PROVIDER), transaction_id)
            .await
            .map_err(system)?
            .ok_or(Refusal::NotFound)?;
        if p.state != 2 {
            // Cancelled before: the stored answer.
            return Ok(transaction(&p));
        }
        match books::refund(&mut tx, &p, REASON_REFUND, self.config.clock.now_ms()).await {
            Ok(()) => {}
            Err(BookError::Delivered) => return Err(Refusal::CannotCancel),
            Err(BookError::Conflict) => {
                drop(tx);
                let again = payments::by_id(self.store.pool(), p.id).await.map_err(system)?;
                return match again {
                    Some(p) if p.state == -2 => Ok(transaction(&p)),
                    _ => Err(Refusal::CannotCancel),
                };
            }
            Err(BookError::System(e)) => return Err(system(e)),
        }
        let stored = payments::by_id(&mut *tx, p.id).await.map_err(system)?.ok_or_else(|| system("payment vanished"))?;
        commit(tx).await?;
        Ok(transaction(&stored))
    }

    async fn paynet_statement(&self, from_ms: i64, to_ms: i64) -> Result<Vec<Transaction>, Refusal> {
        let rows = payments::in_range(self.store.pool(), self.payment_provider(PROVIDER), from_ms, to_ms).await.map_err(system)?;
        Ok(rows.iter().filter(|p| p.state == 2).map(transaction).collect())
    }

    async fn paynet_information(&self, application: &str) -> Result<Information, Refusal> {
        let app = match by_number(self, application).await {
            Ok(app) => app,
            Err(e) if e.kind == crate::ErrorKind::NotFound => return Err(Refusal::NoApplication),
            Err(e) => return Err(system(e)),
        };
        let fee = app.fee_tiyin.unwrap_or(0);
        let name = full_name(&app);
        books::payable(Ok(app), fee, self.config.clock.now_ms()).map_err(from_unpayable)?;
        Ok(Information { name, fee_tiyin: fee })
    }

    async fn paynet_password(&self) -> Result<Option<String>, Refusal> {
        settings::get(self.store.pool(), PASSWORD_SETTING).await.map_err(system)
    }

    async fn paynet_set_password(&self, password: &str) -> Result<(), Refusal> {
        if password.trim().is_empty() {
            return Err(Refusal::System("the new password is empty".to_owned()));
        }
        settings::set(self.store.pool(), PASSWORD_SETTING, password).await.map_err(system)
    }
}
