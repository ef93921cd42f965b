//! Background deadlines, safe on many nodes at once: each change is a guarded update, and
//! a node that loses the race to another simply skips that application.

use super::{audit, sms, texts};
use crate::state::{Event, State};
use crate::{RaError, Registration};
use imzo_store::{StoreError, applications, challenges, payments};

const BATCH: i64 = 200;
const DAY_MS: i64 = 24 * 3600 * 1000;
/// Payme's reason code for a timeout.
const REASON_TIMEOUT: i64 = 4;

/// Moves application `id` from `from` by `event` in its own transaction; false if another
/// node (or a payment) changed it first.
async fn expire_one(ra: &Registration, id: i64, from: State, event: Event, why: &str) -> Result<bool, RaError> {
    let now = ra.config.clock.now_ms();
    let Some(to) = from.next(event) else {
        return Ok(false);
    };
    let mut tx = ra.store.begin().await?;
    match applications::transition(&mut tx, id, from.as_str(), to.as_str()).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let Some(row) = applications::by_id(&mut *tx, id).await? else {
        return Ok(false);
    };
    let ra = &ra.at(&row.centre_id)?;
    if event == Event::PaymentTimeout {
        // A created but unperformed payment must not be performable after the cancellation.
        if let Some(p) = payments::active_for_application(&mut *tx, id).await?
            && p.state == 1
        {
            payments::cancel(&mut tx, p.id, 1, -1, REASON_TIMEOUT, now).await?;
        }
    }
    let subject = row.number.clone().unwrap_or_else(|| row.draft_id.clone());
    // The applicant learns of it in the same transaction (so once, and never lost).
    let text = match event {
        Event::PaymentTimeout => Some(texts::cancelled_unpaid(&subject)),
        Event::ConfirmTimeout => Some(texts::expired_unconfirmed(&subject)),
        Event::Approve => Some(texts::approved(&subject, &ra.config.public_base_url)),
        _ => None,
    };
    if let Some(text) = text {
        let kind = to.as_str();
        sms(ra, &mut tx, &row.phone, kind, &format!("{kind}:{subject}"), &text).await?;
    }
    audit(
        ra,
        &mut tx,
        "system",
        &format!("application.{}", to.as_str()),
        &subject,
        serde_json::json!({ "reason": why, "from": from.as_str() }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(true)
}

pub(crate) async fn run_due_jobs(ra: &Registration) -> Result<usize, RaError> {
    let now = ra.config.clock.now_ms();
    let mut done = 0;
    for id in applications::past_deadline(&ra.store, State::AwaitingPayment.as_str(), now, BATCH).await? {
        if expire_one(ra, id, State::AwaitingPayment, Event::PaymentTimeout, "payment_timeout").await? {
            done += 1;
        }
    }
    for from in [State::Started, State::PhoneVerified] {
        for id in applications::idle_since(&ra.store, from.as_str(), now - DAY_MS, BATCH).await? {
            if expire_one(ra, id, from, Event::DraftTimeout, "draft_timeout").await? {
                done += 1;
            }
        }
    }
    for id in applications::idle_since(&ra.store, State::Approved.as_str(), now - 30 * DAY_MS, BATCH).await? {
        if expire_one(ra, id, State::Approved, Event::ConfirmTimeout, "not_confirmed_in_30_days").await? {
            done += 1;
        }
    }
    // Paid renewals need no review: approved by the system, the holder then confirms.
    for id in applications::renewals_in_state(&ra.store, State::Paid.as_str(), BATCH).await? {
        // Not at a centre that no longer issues: the renewal stays paid (refundable).
        let centre = applications::by_id(ra.store.pool(), id).await?.map(|a| a.centre_id);
        if let Some(centre) = centre
            && super::centres::standing(ra, ra.store.pool(), &centre).await?.is_some()
        {
            continue;
        }
        if expire_one(ra, id, State::Paid, Event::Approve, "renewal_paid").await? {
            done += 1;
        }
    }
    // Expired challenges and captchas can never be answered: dropped at the next run, so
    // rows written by requests (limited per client address) do not pile up. Used ones
    // live until they expire too (a few minutes); what they did is in the audit log.
    // Their expiry is set by the system clock, so it judges them (not the workflow's).
    challenges::purge_expired(ra.store.pool(), imzo_store::time_ms::now_ms()).await?;
    // A rate-limit window counts until its own end (a minute, an hour, a Tashkent day);
    // it is kept an hour longer for inspection, then dropped.
    imzo_store::rate_limits::purge(ra.store.pool(), now - 3600 * 1000).await?;
    Ok(done)
}
