//! The SMS delivery job: any node takes due messages from the durable queue, each under a
//! lease, sends them through the configured gateway and records the outcome. A failure
//! the gateway calls temporary is retried with exponential back-off; a refusal, or too
//! many failures, marks the message failed. Texts sent through a real gateway are
//! redacted once delivered.

use crate::{RaError, Registration};
use imzo_store::outbox;

const BATCH: i64 = 50;
/// Longer than the worst case of one delivery (a token renewal and a send, 15 s each).
const LEASE_MS: i64 = 2 * 60 * 1000;
/// Attempts before a message is given up.
pub(crate) const MAX_ATTEMPTS: i64 = 8;
const FIRST_RETRY_MS: i64 = 30 * 1000;
const LONGEST_RETRY_MS: i64 = 60 * 60 * 1000;

/// Wait before the attempt after attempt number `attempts` (1-based): 30 s, 1 min, 2 min,
/// … at most an hour.
pub(crate) fn backoff_ms(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    FIRST_RETRY_MS
        .saturating_mul(1_i64 << doublings)
        .min(LONGEST_RETRY_MS)
}

pub(crate) async fn deliver_due(ra: &Registration) -> Result<usize, RaError> {
    let gateway = ra.config.sms_gateway.clone();
    let now = ra.config.clock.now_ms();
    let pool = ra.store.pool();
    let mut delivered = 0;
    for message in outbox::due(pool, now, BATCH).await? {
        if !outbox::claim(pool, message.id, now, now.saturating_add(LEASE_MS)).await? {
            continue; // another node has it
        }
        let attempt = message.attempts + 1;
        // Stable across retries: a gateway that knows message ids drops a repeat.
        let message_id = format!("imzo-{}-{}", message.centre_id, message.id);
        match gateway
            .deliver(&message_id, &message.phone, &message.text)
            .await
        {
            Ok(id) => {
                outbox::mark_delivered(
                    pool,
                    message.id,
                    gateway.name(),
                    &id.0,
                    gateway.is_external(),
                    now,
                )
                .await?;
                delivered += 1;
            }
            Err(e) if e.is_transient() && attempt < MAX_ATTEMPTS => {
                tracing::warn!(sms = message.id, attempt, error = %e, "SMS not delivered; will retry");
                outbox::retry_later(
                    pool,
                    message.id,
                    &e.to_string(),
                    now.saturating_add(backoff_ms(attempt)),
                )
                .await?;
            }
            Err(e) => {
                tracing::error!(sms = message.id, attempt, error = %e, "SMS given up");
                outbox::give_up(pool, message.id, &e.to_string()).await?;
            }
        }
    }
    Ok(delivered)
}
