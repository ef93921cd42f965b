//! Delta CRLs (RFC 5280 §5.2.4): what changed since a CA's stored complete CRL —
//! certificates revoked or held since, holds turned into revocations, and released holds
//! (reason removeFromCRL). Served at `/crl/{ca}-delta.crl`, which the complete CRLs name
//! in their Freshest CRL extension.
//!
//! The delta lists the certificates whose status changed since the complete CRL read the
//! records (less [`LATE_COMMIT_MARGIN_MS`], for changes stamped before that read but
//! committed after it): revoked or held ones with their reason, released ones with
//! removeFromCRL. Listing again what the complete CRL already says is harmless; missing
//! a change is not, hence the margin. Its cost follows the changes, not the size of the
//! complete CRL.

use crate::crl::{CrlIssuer, CrlPolicy, current_of, ms};
use crate::revocation_error::StatusError;
use imzo_pki::crl::{self, CrlExtras, CrlParams, RevocationReason, RevokedEntry};
use imzo_store::{
    Store,
    status::{self, CrlRow, NewDelta},
    time_ms::{from_ms, now_ms, to_ms},
};
use std::sync::Arc;

/// How long before the complete CRL's read a change may be stamped and still have been
/// invisible to it (its transaction committed later, or another node's clock is behind).
pub const LATE_COMMIT_MARGIN_MS: i64 = 120_000;

/// Whether the stored delta of a CA must be rebuilt at `now`: none yet, its base is no
/// longer the stored complete CRL, a change waited `delay`, or nextUpdate nears.
fn due(row: &CrlRow, policy: &CrlPolicy, now: i64) -> bool {
    match &row.delta {
        None => true,
        Some(d) => {
            d.base_number != row.number
                || row.delta_dirty_since_ms.is_some_and(|since| since.saturating_add(ms(policy.delay)) <= now)
                || d.next_update_ms.saturating_sub(ms(policy.refresh_before)) <= now
        }
    }
}

/// Builds and stores a delta CRL of `ca` over its stored complete CRL (built first if
/// there is none). Returns the DER of the delta stored afterwards.
pub async fn rebuild(store: &Store, ca: &CrlIssuer, policy: &CrlPolicy) -> Result<Vec<u8>, StatusError> {
    let mut row = status::crl(store.pool(), &ca.ca_id).await?;
    if row.as_ref().is_none_or(|r| r.der.is_none()) {
        current_of(store, ca, policy).await?;
        row = status::crl(store.pool(), &ca.ca_id).await?;
    }
    if row.as_ref().is_some_and(|r| r.read_at_ms.is_none()) {
        // A complete CRL from before read times were kept: make one that has it.
        crate::crl::rebuild_of(store, ca, policy).await?;
        row = status::crl(store.pool(), &ca.ca_id).await?;
    }
    let row = row.ok_or_else(|| StatusError::NotFound(format!("CRL of {}", ca.ca_id)))?;
    let base_read_at = row.read_at_ms.ok_or_else(|| StatusError::NotFound(format!("CRL of {}", ca.ca_id)))?;
    let previous_delta = row.delta.as_ref().map_or(0, |d| d.number);
    let read_at = now_ms();
    let changed = status::changed_since(store.pool(), &ca.ca_id, base_read_at.saturating_sub(LATE_COMMIT_MARGIN_MS)).await?;
    let this_update = from_ms(read_at - read_at % 1000);
    let next_update = this_update + policy.validity;
    let number = row.number.max(previous_delta).saturating_add(1);
    let base_number = row.number;
    let mut entries = Vec::new();
    let mut removed = Vec::new();
    for c in &changed {
        if c.status == "good" {
            removed.push((c.serial.clone(), from_ms(c.changed_at_ms)));
        } else {
            entries.push(RevokedEntry {
                serial_hex: c.serial.clone(),
                revoked_at: from_ms(c.revoked_at_ms.unwrap_or(c.changed_at_ms)),
                reason: c.reason.and_then(RevocationReason::from_code),
            });
        }
    }
    let signer = Arc::clone(&ca.signer);
    let issuer = ca.certificate.clone();
    // Signing a big delta takes a while: off the async workers.
    let der = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, StatusError> {
        let params = CrlParams { number: u64::try_from(number).unwrap_or(u64::MAX), this_update, next_update, entries };
        let extras = CrlExtras { delta_of: Some(u64::try_from(base_number).unwrap_or(0)), freshest_url: None, removed };
        Ok(crl::build_with(&issuer, signer.as_ref(), &params, &extras)?)
    })
    .await
    .map_err(|e| StatusError::Ca(crate::CaError::Setup(format!("delta CRL builder stopped: {e}"))))??;
    let stored = status::store_delta(
        store.pool(),
        &NewDelta {
            ca_id: &ca.ca_id,
            base_number,
            previous_delta_number: previous_delta,
            number,
            this_update_ms: to_ms(this_update),
            next_update_ms: to_ms(next_update),
            der: &der,
            read_at_ms: read_at,
        },
    )
    .await?;
    if stored {
        tracing::info!(ca = %ca.ca_id, number, base = base_number, "delta CRL published");
        return Ok(der);
    }
    let now = status::crl(store.pool(), &ca.ca_id).await?;
    now.and_then(|r| r.delta).map(|d| d.der).ok_or_else(|| StatusError::NotFound(format!("delta CRL of {}", ca.ca_id)))
}

/// Rebuilds the delta CRL of `ca` if it is due; returns whether it did.
pub async fn refresh_if_due(store: &Store, ca: &CrlIssuer, policy: &CrlPolicy) -> Result<bool, StatusError> {
    match status::crl(store.pool(), &ca.ca_id).await? {
        Some(row) if row.der.is_some() && !due(&row, policy, now_ms()) => Ok(false),
        _ => {
            rebuild(store, ca, policy).await?;
            Ok(true)
        }
    }
}

/// The delta CRL to serve for `ca`: the complete CRL brought up to date first if it is
/// due, then the stored delta, rebuilt first if it is due.
pub async fn current(store: &Store, ca: &CrlIssuer, policy: &CrlPolicy) -> Result<Vec<u8>, StatusError> {
    current_of(store, ca, policy).await?;
    let row = status::crl(store.pool(), &ca.ca_id).await?;
    match row {
        Some(row) if !due(&row, policy, now_ms()) => match row.delta {
            Some(delta) => Ok(delta.der),
            None => rebuild(store, ca, policy).await,
        },
        _ => rebuild(store, ca, policy).await,
    }
}
