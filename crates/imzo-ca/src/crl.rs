//! Each CA's CRL: built from the certificate records, numbered monotonically, stored in
//! the database (so every node serves the same one), and rebuilt when a status change is
//! older than the configured delay or the stored CRL nears its nextUpdate.

use crate::CentreCa;
use crate::revocation_error::StatusError;
use imzo_pki::{Certificate, RawSigner};
use imzo_pki::crl::{self, CrlParams, RevocationReason, RevokedEntry};
use imzo_store::{
    Store, certificates,
    status::{self, NewCrl},
    time_ms::{from_ms, now_ms, to_ms},
};
use std::sync::Arc;
use std::time::Duration;

/// A CA that publishes a CRL: its id in the `cas` table, its certificate and its signer.
/// Centre CAs and the authorised body's root alike (the root's key stays behind
/// [`RawSigner`] here too).
#[derive(Clone)]
pub struct CrlIssuer {
    /// CA id (`root`, `rc1`): the CRL's file name at `/crl/{id}.crl`.
    pub ca_id: String,
    /// The CA's certificate.
    pub certificate: Certificate,
    pub(crate) signer: Arc<dyn RawSigner>,
    /// Where its delta CRL is published (the Freshest CRL of its complete CRLs).
    pub delta_url: Option<String>,
}

impl std::fmt::Debug for CrlIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlIssuer").field("ca_id", &self.ca_id).finish_non_exhaustive()
    }
}

impl CrlIssuer {
    /// An issuer from its parts.
    pub fn new(ca_id: String, certificate: Certificate, signer: Arc<dyn RawSigner>) -> CrlIssuer {
        CrlIssuer { ca_id, certificate, signer, delta_url: None }
    }

    /// The same, announcing its delta CRL at the URL next to `crl_url` (`…/rc1.crl` →
    /// `…/rc1-delta.crl`).
    pub fn with_delta_next_to(mut self, crl_url: Option<&str>) -> CrlIssuer {
        self.delta_url = crl_url.map(delta_url_of);
        self
    }

    /// The CRL issuer of a centre CA (its delta next to its CRL distribution point).
    pub fn of_centre(ca: &CentreCa) -> CrlIssuer {
        CrlIssuer::new(ca.ca_id.clone(), ca.certificate.clone(), ca.signer()).with_delta_next_to(ca.urls().crl.as_deref())
    }
}

/// The delta CRL's URL beside a complete CRL's: `…/{ca}.crl` → `…/{ca}-delta.crl`.
pub fn delta_url_of(crl_url: &str) -> String {
    match crl_url.strip_suffix(".crl") {
        Some(stem) => format!("{stem}-delta.crl"),
        None => format!("{crl_url}-delta"),
    }
}

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
    /// Longest time a change waits for the complete CRL when the delta CRL carries it
    /// within `delay` (`None`: `delay`, every CRL follows at once). A long one keeps
    /// big complete CRLs rare and the small delta current.
    pub base_delay: Option<Duration>,
}

impl Default for CrlPolicy {
    fn default() -> Self {
        CrlPolicy {
            validity: Duration::from_secs(24 * 3600),
            delay: Duration::from_secs(2),
            refresh_before: Duration::from_secs(12 * 3600),
            base_delay: None,
        }
    }
}

pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Whether the stored CRL of a CA must be rebuilt at `now`.
pub(crate) fn due(row: Option<&status::CrlRow>, policy: &CrlPolicy, now: i64) -> bool {
    match row {
        None => true,
        Some(r) if r.der.is_none() => true,
        Some(r) => {
            r.dirty_since_ms.is_some_and(|since| since.saturating_add(ms(policy.base_delay.unwrap_or(policy.delay))) <= now)
                || r.next_update_ms.saturating_sub(ms(policy.refresh_before)) <= now
        }
    }
}

/// Builds and stores a new CRL of `ca` now, whatever the stored one. Returns the DER of
/// the CRL stored afterwards (another node's, if it won the race).
pub async fn rebuild(store: &Store, ca: &CentreCa, policy: &CrlPolicy) -> Result<Vec<u8>, StatusError> {
    rebuild_of(store, &CrlIssuer::of_centre(ca), policy).await
}

/// [`rebuild`] for any CRL issuer (the root included).
pub async fn rebuild_of(store: &Store, ca: &CrlIssuer, policy: &CrlPolicy) -> Result<Vec<u8>, StatusError> {
    let previous = status::crl(store.pool(), &ca.ca_id).await?;
    let previous_number = previous.as_ref().map_or(0, |r| r.number);
    // Complete and delta CRLs share one rising sequence of numbers (RFC 5280 §5.2.3).
    let previous_delta_number = previous.as_ref().and_then(|r| r.delta.as_ref()).map_or(0, |d| d.number);
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
    let number = previous_number.max(previous_delta_number).saturating_add(1);
    let params = CrlParams {
        number: u64::try_from(number).unwrap_or(u64::MAX),
        this_update,
        next_update,
        entries,
    };
    let signer = Arc::clone(&ca.signer);
    let issuer = ca.certificate.clone();
    // Signing a million-entry CRL takes a while: keep it off the async workers.
    let extras = crl::CrlExtras { freshest_url: ca.delta_url.clone(), ..Default::default() };
    let der = tokio::task::spawn_blocking(move || crl::build_with(&issuer, signer.as_ref(), &params, &extras))
        .await
        .map_err(|e| StatusError::Ca(crate::CaError::Setup(format!("CRL builder stopped: {e}"))))??;
    let stored = status::store_crl(
        store.pool(),
        &NewCrl {
            ca_id: &ca.ca_id,
            previous_number,
            previous_delta_number,
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
    refresh_of_if_due(store, &CrlIssuer::of_centre(ca), policy).await
}

/// [`refresh_if_due`] for any CRL issuer (the root included).
pub async fn refresh_of_if_due(store: &Store, ca: &CrlIssuer, policy: &CrlPolicy) -> Result<bool, StatusError> {
    let row = status::crl(store.pool(), &ca.ca_id).await?;
    let mut done = false;
    if due(row.as_ref(), policy, now_ms()) {
        rebuild_of(store, ca, policy).await?;
        done = true;
    }
    if ca.delta_url.is_some() {
        done |= crate::delta_crl::refresh_if_due(store, ca, policy).await?;
    }
    Ok(done)
}

/// The CRL to serve for `ca`: the stored one, rebuilt first if it is due.
pub async fn current(store: &Store, ca: &CentreCa, policy: &CrlPolicy) -> Result<Vec<u8>, StatusError> {
    current_of(store, &CrlIssuer::of_centre(ca), policy).await
}

/// [`current`] for any CRL issuer (the root included).
pub async fn current_of(store: &Store, ca: &CrlIssuer, policy: &CrlPolicy) -> Result<Vec<u8>, StatusError> {
    let row = status::crl(store.pool(), &ca.ca_id).await?;
    let is_due = due(row.as_ref(), policy, now_ms());
    match row.and_then(|r| r.der) {
        Some(der) if !is_due => Ok(der),
        _ => rebuild_of(store, ca, policy).await,
    }
}
