//! Each CA's CRL: built from the certificate records, numbered monotonically, stored in
//! the database (so every node serves the same one), and rebuilt when a status change is
//! older than the configured delay or the stored CRL nears its nextUpdate.

use crate::CentreCa;
use crate::revocation_error::StatusError;
use imzo_pki::crl::{self, CrlParams, RevocationReason, RevokedEntry};
use imzo_store::{
    Store, certificates,
    status::{self, NewCrl},
    time_ms::{from_ms, now_ms, to_ms},
};
use std::time::Duration;

/// When CRLs are rebuilt and how long they are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlPolicy {
    /// nextUpdate − thisUpdate.
    pub validity: Duration,
    /// Longest time a status change waits before a new CRL includes it (changes within
    /// it share one CRL).
    pub delay: Duration,
    /// Rebuild when nextUpdate is closer than this, even without changes.
    pub refresh_before: Duration,
}

impl Default for CrlPolicy {
    fn default() -> Self {
        CrlPolicy { validity: Duration::from_secs(24 * 3600), delay: Duration::from_secs(2), refresh_before: Duration::from_secs(12 * 3600) }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Whether the stored CRL of a CA must be rebuilt at `now`.
fn due(row: Option<&status::CrlRow>, policy: &CrlPolicy, now: i64) -> bool {
    match row {
        None => true,
        Some(r) if r.der.is_none() => true,
        Some(r) => {
            r.dirty_since_ms.is_some_and(|since| since.saturating_add(ms(policy.delay)) <= now)
                || r.next_update_ms.saturating_sub(ms(policy.refresh_before)) <= now
        }
    }
}

/// Builds and stores a new CRL of `ca` now, whatever the stored one. Returns the DER of
/// the CRL stored afterwards (another node's, if it won the race).
pub async fn rebuild(store: &Store, ca: &CentreCa, policy: &CrlPolicy) -> Result<Vec<u8>, StatusError> {
    let previous = status::crl(store.pool(), &ca.ca_id).await?;
    let previous_number = previous.as_ref().map_or(0, |r| r.number);
    let read_at = now_ms();
    let revoked = certificates::revoked_by_ca(store.pool(), &ca.ca_id).await?;
    let entries: Vec<RevokedEntry> = revoked
        .iter()
        .map(|c| RevokedEntry {
            serial_hex: c.serial.clone(),
            revoked_at: from_ms(c.revoked_at_ms.unwrap_or(c.created_at_ms)),
            reason: c.revocation_reason.and_then(RevocationReason::from_code),
        })
        .collect();
    let this_update = from_ms(read_at - read_at % 1000);
    let next_update = this_update + policy.validity;
    let number = previous_number.saturating_add(1);
    let params = CrlParams {
        number: u64::try_from(number).unwrap_or(u64::MAX),
        this_update,
        next_update,
        entries,
    };
    let signer = ca.signer();
    let issuer = ca.certificate.clone();
    // Signing a million-entry CRL takes a while: keep it off the async workers.
    let der = tokio::task::spawn_blocking(move || crl::build(&issuer, signer.as_ref(), &params))
        .await
        .map_err(|e| StatusError::Ca(crate::CaError::Setup(format!("CRL builder stopped: {e}"))))??;
    let stored = status::store_crl(
        store.pool(),
        &NewCrl {
            ca_id: &ca.ca_id,
            previous_number,
            number,
            this_update_ms: to_ms(this_update),
            next_update_ms: to_ms(next_update),
            der: &der,
            entries: i64::try_from(revoked.len()).unwrap_or(i64::MAX),
            read_at_ms: read_at,
        },
    )
    .await?;
    if stored {
        tracing::info!(ca = %ca.ca_id, number, entries = revoked.len(), "CRL published");
        return Ok(der);
    }
    let current = status::crl(store.pool(), &ca.ca_id).await?;
    current.and_then(|r| r.der).ok_or_else(|| StatusError::NotFound(format!("CRL of {}", ca.ca_id)))
}

/// Rebuilds the CRL of `ca` if it is due; returns whether it did.
pub async fn refresh_if_due(store: &Store, ca: &CentreCa, policy: &CrlPolicy) -> Result<bool, StatusError> {
    let row = status::crl(store.pool(), &ca.ca_id).await?;
    if due(row.as_ref(), policy, now_ms()) {
        rebuild(store, ca, policy).await?;
        Ok(true)
    } else {
        Ok(false)
    }
}

/// The CRL to serve for `ca`: the stored one, rebuilt first if it is due.
pub async fn current(store: &Store, ca: &CentreCa, policy: &CrlPolicy) -> Result<Vec<u8>, StatusError> {
    let row = status::crl(store.pool(), &ca.ca_id).await?;
    let is_due = due(row.as_ref(), policy, now_ms());
    match row.and_then(|r| r.der) {
        Some(der) if !is_due => Ok(der),
        _ => rebuild(store, ca, policy).await,
    }
}
