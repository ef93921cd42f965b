//! The payments statement: what was paid in a period, by provider, reconciled against
//! the applications. Flags every paid (or approved, issued) application without a
//! performed payment, and every performed payment whose application is not paid or whose
//! amount is not the application's fee.

use crate::RaError;
use imzo_store::{Store, applications, payments};
use serde::Serialize;
use std::collections::BTreeMap;

/// One payment in the statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    /// `payme`, `click`, `paynet`, ...
    pub provider: String,
    /// The provider's transaction id.
    pub provider_txn_id: String,
    /// Our transaction id.
    pub receipt: i64,
    /// Application number.
    pub application: String,
    /// Amount, tiyin.
    pub amount_tiyin: i64,
    /// When it was performed, UTC ms.
    pub performed_at_ms: i64,
    /// When it was refunded, if it was (UTC ms).
    pub refunded_at_ms: Option<i64>,
    /// The application's state now.
    pub application_state: String,
}

/// Totals of one provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProviderTotal {
    /// Payments performed in the period.
    pub payments: u64,
    /// Their sum, tiyin.
    pub paid_tiyin: i64,
    /// Of that, refunded since, tiyin.
    pub refunded_tiyin: i64,
}

/// Something the books and the applications disagree about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discrepancy {
    /// The application counts as paid but has no performed payment.
    PaidWithoutPayment {
        /// Application number.
        application: String,
        /// Its state.
        state: String,
    },
    /// A performed payment whose application is not paid, approved or issued.
    PaymentWithoutPaidApplication {
        /// Provider.
        provider: String,
        /// Our transaction id.
        receipt: i64,
        /// Application number.
        application: String,
        /// Its state.
        state: String,
    },
    /// A payment whose amount is not the application's fee.
    AmountNotFee {
        /// Provider.
        provider: String,
        /// Our transaction id.
        receipt: i64,
        /// Application number.
        application: String,
        /// Paid, tiyin.
        amount_tiyin: i64,
        /// The fee, tiyin.
        fee_tiyin: i64,
    },
}

/// The statement of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// Start of the period, UTC ms (inclusive).
    pub from_ms: i64,
    /// End of the period, UTC ms (inclusive).
    pub to_ms: i64,
    /// Payments performed in the period, by perform time.
    pub lines: Vec<StatementLine>,
    /// Totals by provider.
    pub totals: BTreeMap<String, ProviderTotal>,
    /// What does not reconcile.
    pub discrepancies: Vec<Discrepancy>,
    /// Payments made in the payment sandbox in the period: no provider's money, so they
    /// are neither lines nor totals; they still count as the payment of their application.
    pub sandbox_payments: u64,
}

const PAID_STATES: [&str; 3] = ["paid", "approved", "issued"];

/// Builds the statement of `[from_ms, to_ms]` from the database.
pub async fn statement(store: &Store, from_ms: i64, to_ms: i64) -> Result<Statement, RaError> {
    if from_ms > to_ms {
        return Err(RaError::new(
            crate::ErrorKind::BadInput,
            "bad_period",
            Some("to"),
            crate::Localized::new(
                "Davr boshlanishidan oldin tugaydi",
                "Период заканчивается раньше, чем начинается",
                "The period ends before it starts",
            ),
        ));
    }
    let rows = payments::performed_between(store.pool(), from_ms, to_ms).await?;
    let mut lines = Vec::with_capacity(rows.len());
    let mut totals: BTreeMap<String, ProviderTotal> = BTreeMap::new();
    let mut discrepancies = Vec::new();
    let mut sandbox_payments = 0;
    for p in rows {
        if p.provider == crate::SANDBOX_PROVIDER {
            sandbox_payments += 1;
            continue;
        }
        let app = applications::by_id(store.pool(), p.application_id).await?;
        let (state, fee) = app.map(|a| (a.state, a.fee_tiyin)).unwrap_or_default();
        let total = totals.entry(p.provider.clone()).or_default();
        total.payments += 1;
        total.paid_tiyin += p.amount_tiyin;
        let refunded = p.state == -2;
        if refunded {
            total.refunded_tiyin += p.amount_tiyin;
        } else if !PAID_STATES.contains(&state.as_str()) {
            discrepancies.push(Discrepancy::PaymentWithoutPaidApplication {
                provider: p.provider.clone(),
                receipt: p.id,
                application: p.application_number.clone(),
                state: state.clone(),
            });
        }
        if fee != Some(p.amount_tiyin) {
            discrepancies.push(Discrepancy::AmountNotFee {
                provider: p.provider.clone(),
                receipt: p.id,
                application: p.application_number.clone(),
                amount_tiyin: p.amount_tiyin,
                fee_tiyin: fee.unwrap_or(0),
            });
        }
        lines.push(StatementLine {
            provider: p.provider,
            provider_txn_id: p.provider_txn_id,
            receipt: p.id,
            application: p.application_number,
            amount_tiyin: p.amount_tiyin,
            performed_at_ms: p.perform_time_ms,
            refunded_at_ms: refunded.then_some(p.cancel_time_ms),
            application_state: state,
        });
    }
    for (application, state) in payments::paid_without_payment(store.pool(), from_ms, to_ms).await? {
        discrepancies.push(Discrepancy::PaidWithoutPayment { application, state });
    }
    Ok(Statement { from_ms, to_ms, lines, totals, discrepancies, sandbox_payments })
}
