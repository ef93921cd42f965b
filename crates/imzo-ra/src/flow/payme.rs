//! The Payme ledger: what Payme's merchant calls do to our books. Every method is one
//! transaction; the unique (provider, provider_txn_id) and one-active-payment indexes
//! plus guarded updates make concurrent duplicates produce exactly one payment.

use super::{audit, audit_of_application, by_number, by_number_tx};
use crate::state::{Event, State};
use crate::{RaError, Registration};
use imzo_gateways::payme::{Ledger, Refusal, Transaction};
use imzo_store::{
    StoreError, Tx,
    applications::{self, ApplicationRow},
    payments::{self, NewPayment, PaymentRow},
    settings,
    time_ms::now_ms,
};

const PROVIDER: &str = "payme";
/// Settings key of a merchant key set by ChangePassword.
const KEY_SETTING: &str = "payme.key";
/// Payme cancels a transaction not performed within 12 hours.
const PAYME_TIMEOUT_MS: i64 = 12 * 3600 * 1000;
const REASON_TIMEOUT: i64 = 4;

fn system(e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "Payme ledger failed");
    Refusal::System("internal error".to_string())
}

fn from_store(e: StoreError) -> Refusal {
    system(e)
}

fn from_ra(e: RaError) -> Refusal {
    system(e)
}

fn transaction(p: &PaymentRow) -> Transaction {
    Transaction {
        id: p.provider_txn_id.clone(),
        receipt: p.id.to_string(),
        payme_time_ms: p.provider_time_ms,
        amount_tiyin: p.amount_tiyin,
        application: p.application_number.clone(),
        state: i32::try_from(p.state).unwrap_or(0),
        create_time_ms: p.create_time_ms,
        perform_time_ms: p.perform_time_ms,
        cancel_time_ms: p.cancel_time_ms,
        reason: p.cancel_reason.and_then(|r| i32::try_from(r).ok()),
    }
}

async fn commit(tx: Tx<'_>) -> Result<(), Refusal> {
    tx.commit().await.map_err(|e| from_store(e.into()))
}

/// Checks that application `app` (as looked up) may be paid `amount_tiyin` now; returns its row id.
fn payable(app: Result<ApplicationRow, RaError>, amount_tiyin: i64) -> Result<i64, Refusal> {
    let app = match app {
        Ok(app) => app,
        Err(e) if e.kind == crate::ErrorKind::NotFound => return Err(Refusal::AccountNotFound),
        Err(e) => return Err(from_ra(e)),
    };
    let in_time = app.pay_before_ms.is_some_and(|deadline| deadline > now_ms());
    if app.state != State::AwaitingPayment.as_str() || !in_time {
        return Err(Refusal::AccountNotPayable);
    }
    if app.fee_tiyin != Some(amount_tiyin) {
        return Err(Refusal::WrongAmount);
    }
    Ok(app.id)
}

/// Cancels a created transaction that Payme left unperformed for 12 hours.
async fn timed_out(mut tx: Tx<'_>, p: &PaymentRow) -> Result<Refusal, Refusal> {
    payments::cancel(&mut tx, p.id, 1, -1, REASON_TIMEOUT, now_ms()).await.map_err(from_store)?;
    audit_of_application(
        &mut tx,
        p.application_id,
        &p.provider,
        "payment.cancelled",
        &p.application_number,
        serde_json::json!({ "payment": p.id, "reason": REASON_TIMEOUT }),
    )
    .await
    .map_err(from_ra)?;
    commit(tx).await?;
    Ok(Refusal::NotAllowed)
}

impl Ledger for Registration {
    async fn check_perform(&self, application: &str, amount_tiyin: i64) -> Result<(), Refusal> {
        // A read only: no transaction, so the check never waits for SQLite's write lock.
        let app = by_number(self, application).await;
        let centre = app.as_ref().ok().map(|a| a.centre_id.clone());
        payable(app, amount_tiyin)?;
        // Money for a certificate a revoked centre can no longer issue is not taken.
        if let Some(centre) = centre
            && super::centres::standing(self, self.store.pool(), &centre).await.map_err(from_ra)?.is_some()
        {
            return Err(Refusal::AccountNotPayable);
        }
        Ok(())
    }

    async fn create(
        &self,
        id: &str,
        payme_time_ms: i64,
        amount_tiyin: i64,
        application: &str,
    ) -> Result<Transaction, Refusal> {
        let mut tx = self.store.begin().await.map_err(from_store)?;
        if let Some(p) = payments::by_provider_txn(&mut *tx, self.payment_provider(PROVIDER), id).await.map_err(from_store)? {
            // The same id with another amount is not a repeat of this transaction.
            if p.amount_tiyin != amount_tiyin {
                return Err(Refusal::WrongAmount);
            }
            if p.state != 1 {
                return Err(Refusal::NotAllowed);
            }
            if now_ms() - p.create_time_ms > PAYME_TIMEOUT_MS {
                return Err(timed_out(tx, &p).await?);
            }
            return Ok(transaction(&p));
        }
        let app = by_number_tx(&mut tx, application).await;
        let centre = app.as_ref().ok().map(|a| a.centre_id.clone());
        let app_id = payable(app, amount_tiyin)?;
        if let Some(centre) = centre
            && super::centres::standing_on(self, &mut tx, &centre).await.map_err(from_ra)?.is_some()
        {
            return Err(Refusal::AccountNotPayable);
        }
        if let Some(active) = payments::active_for_application(&mut *tx, app_id).await.map_err(from_store)? {
            // On PostgreSQL (read committed) a concurrent twin of this very call may have
            // committed between the first look and this one: that is a repeat, not a rival.
            if active.provider == self.payment_provider(PROVIDER) && active.provider_txn_id == id {
                return Ok(transaction(&active));
            }
            return Err(Refusal::NotAllowed);
        }
        let inserted = payments::insert(
            &mut tx,
            &NewPayment {
                application_id: app_id,
                provider: self.payment_provider(PROVIDER),
                provider_txn_id: id,
                amount_tiyin,
                state: 1,
                provider_time_ms: payme_time_ms,
                create_time_ms: now_ms(),
            },
        )
        .await
        .map_err(from_store)?;
        if inserted.is_none() {
            // A concurrent request won: the same id is a repeat, another id is refused.
            return match payments::by_provider_txn(&mut *tx, self.payment_provider(PROVIDER), id).await.map_err(from_store)? {
                Some(p) => Ok(transaction(&p)),
                None => Err(Refusal::NotAllowed),
            };
        }
        let stored = payments::by_provider_txn(&mut *tx, self.payment_provider(PROVIDER), id)
            .await
            .map_err(from_store)?
            .ok_or_else(|| system("payment vanished after insert"))?;
        audit_of_application(
            &mut tx,
            app_id,
            self.payment_provider(PROVIDER),
            "payment.created",
            application,
            serde_json::json!({ "payment": stored.id, "amount_tiyin": amount_tiyin }),
        )
        .await
        .map_err(from_ra)?;
        commit(tx).await?;
        Ok(transaction(&stored))
    }

    async fn perform(&self, id: &str) -> Result<Transaction, Refusal> {
        let mut tx = self.store.begin().await.map_err(from_store)?;
        let p = payments::by_provider_txn(&mut *tx, self.payment_provider(PROVIDER), id)
            .await
            .map_err(from_store)?
            .ok_or(Refusal::TransactionNotFound)?;
        match p.state {
            2 => return Ok(transaction(&p)),
            1 => {}
            _ => return Err(Refusal::NotAllowed),
        }
        let now = now_ms();
        if now - p.create_time_ms > PAYME_TIMEOUT_MS {
            return Err(timed_out(tx, &p).await?);
        }
        if !payments::perform(&mut tx, p.id, now).await.map_err(from_store)? {
            drop(tx);
            let again = payments::by_provider_txn(self.store.pool(), self.payment_provider(PROVIDER), id).await.map_err(from_store)?;
            return match again {
                Some(p) if p.state == 2 => Ok(transaction(&p)),
                _ => Err(Refusal::NotAllowed),
            };
        }
        let from = State::AwaitingPayment;
        let to = from.next(Event::Pay).ok_or(Refusal::NotAllowed)?;
        match applications::transition(&mut tx, p.application_id, from.as_str(), to.as_str()).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(Refusal::NotAllowed),
            Err(e) => return Err(from_store(e)),
        }
        audit_of_application(
            &mut tx,
            p.application_id,
            self.payment_provider(PROVIDER),
            "application.paid",
            &p.application_number,
            serde_json::json!({ "payment": p.id, "amount_tiyin": p.amount_tiyin }),
        )
        .await
        .map_err(from_ra)?;
        let stored = payments::by_provider_txn(&mut *tx, self.payment_provider(PROVIDER), id)
            .await
            .map_err(from_store)?
            .ok_or_else(|| system("payment vanished during perform"))?;
        commit(tx).await?;
        Ok(transaction(&stored))
    }

    async fn cancel(&self, id: &str, reason: i32) -> Result<Transaction, Refusal> {
        let mut tx = self.store.begin().await.map_err(from_store)?;
        let p = payments::by_provider_txn(&mut *tx, self.payment_provider(PROVIDER), id)
            .await
            .map_err(from_store)?
            .ok_or(Refusal::TransactionNotFound)?;
        let now = now_ms();
        match p.state {
            -1 | -2 => return Ok(transaction(&p)),
            1 => {
                if !payments::cancel(&mut tx, p.id, 1, -1, i64::from(reason), now).await.map_err(from_store)? {
                    return Err(Refusal::NotAllowed);
                }
            }
            2 => {
                let app = applications::by_id(&mut *tx, p.application_id)
                    .await
                    .map_err(from_store)?
                    .ok_or_else(|| system("payment without application"))?;
                if app.certificate_serial.is_some() || app.state == State::Issued.as_str() {
                    return Err(Refusal::CannotCancel);
                }
                let from = State::parse(&app.state).ok_or_else(|| system(format!("unknown state {}", app.state)))?;
                let to = from.next(Event::Refund).ok_or(Refusal::CannotCancel)?;
                match applications::transition(&mut tx, app.id, from.as_str(), to.as_str()).await {
                    Ok(()) => {}
                    Err(StoreError::Conflict(_)) => return Err(Refusal::CannotCancel),
                    Err(e) => return Err(from_store(e)),
                }
                if !payments::cancel(&mut tx, p.id, 2, -2, i64::from(reason), now).await.map_err(from_store)? {
                    return Err(Refusal::NotAllowed);
                }
            }
            _ => return Err(Refusal::NotAllowed),
        }
        audit_of_application(
            &mut tx,
            p.application_id,
            self.payment_provider(PROVIDER),
            "payment.cancelled",
            &p.application_number,
            serde_json::json!({ "payment": p.id, "reason": reason, "was": p.state }),
        )
        .await
        .map_err(from_ra)?;
        let stored = payments::by_provider_txn(&mut *tx, self.payment_provider(PROVIDER), id)
            .await
            .map_err(from_store)?
            .ok_or_else(|| system("payment vanished during cancel"))?;
        commit(tx).await?;
        Ok(transaction(&stored))
    }

    async fn get(&self, id: &str) -> Result<Transaction, Refusal> {
        let p = payments::by_provider_txn(self.store.pool(), self.payment_provider(PROVIDER), id).await.map_err(from_store)?;
        p.as_ref().map(transaction).ok_or(Refusal::TransactionNotFound)
    }

    async fn statement(&self, from_ms: i64, to_ms: i64) -> Result<Vec<Transaction>, Refusal> {
        let rows = payments::in_range(self.store.pool(), self.payment_provider(PROVIDER), from_ms, to_ms).await.map_err(from_store)?;
        Ok(rows.iter().map(transaction).collect())
    }

    async fn merchant_key(&self) -> Result<Option<String>, Refusal> {
        let stored = settings::get(self.store.pool(), KEY_SETTING).await.map_err(from_store)?;
        Ok(stored.or_else(|| self.config.payme_key.clone()))
    }

    /// Stores the key Payme set (the sandbox signs with the key in force) and audits the
    /// change, never the key itself, in one commit.
    async fn set_merchant_key(&self, key: &str) -> Result<(), Refusal> {
        if !imzo_gateways::payme::is_acceptable_merchant_key(key) {
            return Err(Refusal::System("the new key is too short or has characters a key cannot have".to_string()));
        }
        let mut tx = self.store.begin().await.map_err(from_store)?;
        let replaced = settings::get(&mut *tx, KEY_SETTING).await.map_err(from_store)?.is_some();
        settings::set(&mut *tx, KEY_SETTING, key).await.map_err(from_store)?;
        audit(
            self,
            &mut tx,
            "payme",
            "payme.key_changed",
            "payme",
            serde_json::json!({
                "method": "ChangePassword",
                "replaced": if replaced { "a key set by ChangePassword" } else { "the configured key" },
                "length": key.len(),
            }),
        )
        .await
        .map_err(from_ra)?;
        commit(tx).await
    }
}
