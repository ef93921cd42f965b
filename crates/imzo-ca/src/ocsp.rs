//! The OCSP responder (RFC 6960, RFC 5019 profile) for all of the deployment's CAs.
//!
//! Requests without a nonce — what most clients send — are answered from responses
//! signed ahead of time and kept in the database (any node can serve them, and a status
//! change deletes the affected one in its own transaction). Requests with a nonce get a
//! freshly signed response carrying it, unless the deployment chose to answer them from
//! the cache too (RFC 8954 allows ignoring the nonce).

use crate::CentreCa;
use crate::revocation_error::StatusError;
use imzo_pki::crl::RevocationReason;
use imzo_pki::ocsp::{self, CertId, CertIdHash, CertStatus, IssuerHashes, Responder, ResponseStatus, SingleAnswer};
use imzo_store::{
    Store, certificates,
    status::{self, OcspRow},
    time_ms::{from_ms, now_ms, to_ms},
};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// How responses are made and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcspPolicy {
    /// nextUpdate − thisUpdate of every response.
    pub validity: Duration,
    /// A cached response closer than this to its nextUpdate is signed again.
    pub refresh_before: Duration,
    /// Answer nonce requests from the cache, without the nonce (RFC 8954 §2.1).
    pub ignore_nonce: bool,
    /// How long a node keeps a cached answer in memory before asking the database
    /// again: the longest a status change made through *another* node can go unseen
    /// here (changes through this node are forgotten at once).
    pub memory_ttl: Duration,
}

impl Default for OcspPolicy {
    fn default() -> Self {
        OcspPolicy {
            validity: Duration::from_secs(4 * 3600),
            refresh_before: Duration::from_secs(3600),
            ignore_nonce: false,
            memory_ttl: Duration::from_secs(1),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A served response and what the HTTP layer needs for RFC 5019 cache headers.
#[derive(Debug, Clone)]
pub struct OcspAnswer {
    /// DER OCSPResponse.
    pub der: Vec<u8>,
    /// thisUpdate of the (single) answer, for `Last-Modified`; `None` for error
    /// responses and multi-certificate or nonce answers, which must not be cached.
    pub this_update: Option<OffsetDateTime>,
    /// nextUpdate, for `Expires` / `max-age`.
    pub next_update: Option<OffsetDateTime>,
}

impl OcspAnswer {
    fn uncacheable(der: Vec<u8>) -> OcspAnswer {
        OcspAnswer { der, this_update: None, next_update: None }
    }
}

struct Issuer {
    ca: CentreCa,
    hashes: IssuerHashes,
    /// This node's delegated responder for the CA, made on first use and renewed before
    /// it would expire under a response it signed.
    delegated: tokio::sync::Mutex<Option<Arc<Delegated>>>,
}

/// A delegated OCSP signing certificate and its key. The key lives only in this
/// process's memory: every response carries the certificate, so responses signed by any
/// node (or by an earlier run) stay verifiable after the key is gone.
struct Delegated {
    certificate: imzo_pki::Certificate,
    /// What every response carries: this certificate and the CA's.
    carried: [imzo_pki::Certificate; 2],
    key: Arc<dyn imzo_pki::RawSigner>,
    not_after: OffsetDateTime,
}

/// Validity of a delegated responder certificate.
const RESPONDER_VALIDITY: time::Duration = time::Duration::days(7);

/// The one OCSP responder of a deployment: finds the CA by the issuer hashes of each
/// request, among all CAs it was given.
pub struct OcspResponder {
    issuers: Vec<Issuer>,
    policy: OcspPolicy,
    /// The responder key configured to sign every answer (`status.ocsp_key`, e.g. on a
    /// PKCS#11 token); without one each node makes a key of its own in memory.
    responder_key: Option<Arc<dyn imzo_pki::RawSigner>>,
    memory: std::sync::RwLock<std::collections::HashMap<(String, &'static str), Remembered>>,
    /// Answers by request bytes, and the check that they are current.
    fast: crate::ocsp_memory::Memory,
}

/// An answer held in memory.
#[derive(Clone)]
struct Remembered {
    answer: OcspAnswer,
    until: std::time::Instant,
}

/// Most answers a node holds in memory; past it the memory starts afresh.
const MEMORY_LIMIT: usize = 200_000;

impl std::fmt::Debug for OcspResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcspResponder").field("cas", &self.issuers.len()).field("policy", &self.policy).finish()
    }
}

impl OcspResponder {
    /// A responder for these CAs.
    pub fn new(cas: Vec<CentreCa>, policy: OcspPolicy) -> Result<OcspResponder, StatusError> {
        let issuers = cas
            .into_iter()
            .map(|ca| Ok(Issuer { hashes: IssuerHashes::of(&ca.certificate)?, ca, delegated: tokio::sync::Mutex::new(None) }))
            .collect::<Result<Vec<_>, imzo_pki::PkiError>>()?;
        Ok(OcspResponder { issuers, policy, responder_key: None, memory: Default::default(), fast: Default::default() })
    }

    /// A responder for no CA at all (answers `unauthorized` to everything): what a
    /// deployment falls back to when its CA certificate cannot be read.
    pub fn without_cas(policy: OcspPolicy) -> OcspResponder {
        OcspResponder { issuers: Vec::new(), policy, responder_key: None, memory: Default::default(), fast: Default::default() }
    }

    /// Signs every answer with `key` (each CA certifies it as its delegated responder)
    /// instead of a key made in this process's memory.
    pub fn with_responder_key(mut self, key: Arc<dyn imzo_pki::RawSigner>) -> OcspResponder {
        self.responder_key = Some(key);
        self
    }

    /// Drops what this node remembers about `serial` (after a status change made here).
    pub fn forget(&self, serial_hex: &str) {
        if let Ok(mut memory) = self.memory.write() {
            memory.retain(|(serial, _), _| serial != serial_hex);
        }
        self.fast.forget(serial_hex);
    }

    /// The answer held in memory for exactly these request bytes (a nonce-less request
    /// answered before), if it is still current: the hot path, which neither parses the
    /// request nor copies the answer nor asks the database (but for one small query a
    /// `memory_ttl` that drops everything when any status changed).
    pub async fn respond_cached(&self, store: &Store, request_der: &[u8]) -> Option<crate::ocsp_memory::CachedAnswer> {
        if self.policy.memory_ttl.is_zero() {
            return None;
        }
        if self.fast.changed_elsewhere(store, ms(self.policy.memory_ttl)).await {
            self.clear_memory();
        }
        self.fast.get(request_der)
    }

    fn clear_memory(&self) {
        if let Ok(mut memory) = self.memory.write() {
            memory.clear();
        }
        self.fast.clear();
    }

    /// How long an answer may stay in memory: until it is to be refreshed (the
    /// status-change check bounds how long a change goes unseen).
    fn hold_until(&self, next_update: OffsetDateTime) -> Option<std::time::Instant> {
        if self.policy.memory_ttl.is_zero() {
            return None;
        }
        let left = Duration::try_from((next_update - OffsetDateTime::now_utc()) - self.policy.refresh_before).ok()?;
        Some(std::time::Instant::now() + left)
    }

    fn recall(&self, serial_hex: &str, hash: CertIdHash) -> Option<OcspAnswer> {
        let memory = self.memory.read().ok()?;
        let found = memory.get(&(serial_hex.to_string(), hash.name()))?;
        (found.until > std::time::Instant::now()).then(|| found.answer.clone())
    }

    fn remember(&self, serial_hex: &str, hash: CertIdHash, answer: &OcspAnswer) {
        let Some(next_update) = answer.next_update else { return };
        // Never past the point where the answer itself must be refreshed.
        let Some(until) = self.hold_until(next_update) else { return };
        if let Ok(mut memory) = self.memory.write() {
            if memory.len() >= MEMORY_LIMIT {
                memory.clear();
            }
            memory.insert((serial_hex.to_string(), hash.name()), Remembered { answer: answer.clone(), until });
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &OcspPolicy {
        &self.policy
    }

    fn issuer_of(&self, id: &CertId) -> Option<&Issuer> {
        self.issuers.iter().find(|i| i.hashes.matches(id))
    }

    /// Answers a DER OCSPRequest. Never fails: problems become OCSP error responses
    /// (malformedRequest, unauthorized, internalError), as clients expect.
    pub async fn respond(&self, store: &Store, request_der: &[u8]) -> OcspAnswer {
        let request = match ocsp::parse_request(request_der) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "malformed OCSP request");
                return OcspAnswer::uncacheable(ocsp::error_response(ResponseStatus::MalformedRequest));
            }
        };
        match self.answer(store, &request).await {
            Ok(answer) => {
                // Held by its request's bytes for the hot path ([`Self::respond_cached`]).
                if let ([id], None, Some(this_update), Some(next_update)) =
                    (request.cert_ids.as_slice(), &request.nonce, answer.this_update, answer.next_update)
                    && let Some(until) = self.hold_until(next_update)
                {
                    let cached = crate::ocsp_memory::cached(&answer.der, this_update, next_update);
                    self.fast.put(request_der, &id.serial_hex, cached, until);
                }
                answer
            }
            Err(StatusError::Forbidden { .. }) => OcspAnswer::uncacheable(ocsp::error_response(ResponseStatus::Unauthorized)),
            Err(e) => {
                tracing::warn!(error = %e, "OCSP request could not be answered");
                OcspAnswer::uncacheable(ocsp::error_response(ResponseStatus::InternalError))
            }
        }
    }

    async fn answer(&self, store: &Store, request: &ocsp::OcspRequest) -> Result<OcspAnswer, StatusError> {
        if !self.policy.memory_ttl.is_zero() && self.fast.changed_elsewhere(store, ms(self.policy.memory_ttl)).await {
            self.clear_memory();
        }
        let use_cache = request.cert_ids.len() == 1 && (request.nonce.is_none() || self.policy.ignore_nonce);
        if use_cache {
            let id = &request.cert_ids[0];
            let (issuer, hash) = match (self.issuer_of(id), id.hash) {
                (Some(issuer), Some(hash)) => (issuer, hash),
                _ => return Err(StatusError::forbidden("unauthorized", "not the responder for this issuer")),
            };
            if let Some(answer) = self.recall(&id.serial_hex, hash) {
                return Ok(answer);
            }
            let now = now_ms();
            let cached = status::ocsp_response(store.pool(), &id.serial_hex, hash.name()).await?;
            let answer = match cached.filter(|r| r.next_update_ms.saturating_sub(ms(self.policy.refresh_before)) > now) {
                Some(row) => OcspAnswer {
                    der: row.der,
                    this_update: Some(from_ms(row.this_update_ms)),
                    next_update: Some(from_ms(row.next_update_ms)),
                },
                None => self.presign(store, issuer, hash, &id.serial_hex).await?,
            };
            self.remember(&id.serial_hex, hash, &answer);
            return Ok(answer);
        }
        // Fresh: one signed response over every CertID, carrying the nonce.
        let mut answers = Vec::with_capacity(request.cert_ids.len());
        let mut responder_ca = None;
        let now = OffsetDateTime::now_utc();
        for id in &request.cert_ids {
            let Some(issuer) = self.issuer_of(id) else {
                return Err(StatusError::forbidden("unauthorized", "not the responder for this issuer"));
            };
            match responder_ca {
                None => responder_ca = Some(issuer),
                // One signature covers all answers: mixing CAs would need one responder
                // trusted by both, which a per-CA key is not.
                Some(first) if first.ca.ca_id != issuer.ca.ca_id => {
                    return Err(StatusError::forbidden("unauthorized", "certificates of several CAs in one request"));
                }
                Some(_) => {}
            }
            let status = lookup(store, &issuer.ca, &id.serial_hex).await?.0;
            answers.push(SingleAnswer { cert_id: id.clone(), status, this_update: now, next_update: Some(now + self.policy.validity) });
        }
        let Some(issuer) = responder_ca else {
            return Err(StatusError::bad("malformed_request", "no certificate asked about"));
        };
        let der = self.sign(store, issuer, &answers, now, request.nonce.as_deref()).await?;
        Ok(OcspAnswer::uncacheable(der))
    }

    /// Signs the nonce-less response for one serial and caches it (unless its status
    /// changed meanwhile, in which case the response is still right for the moment it
    /// was read and is served once, uncached).
    async fn presign(&self, store: &Store, issuer: &Issuer, hash: CertIdHash, serial_hex: &str) -> Result<OcspAnswer, StatusError> {
        let (status, record) = lookup(store, &issuer.ca, serial_hex).await?;
        let now = OffsetDateTime::now_utc();
        let this_update = now - time::Duration::nanoseconds(i64::from(now.nanosecond()));
        let next_update = this_update + self.policy.validity;
        let id = CertId::for_serial(&issuer.hashes, hash, serial_hex)?;
        let answer = SingleAnswer { cert_id: id, status, this_update, next_update: Some(next_update) };
        let der = self.sign(store, issuer, &[answer], this_update, None).await?;
        // Unknown serials are not cached: there is no certificate row to tie them to.
        if let Some((db_status, reason)) = record {
            let row = OcspRow {
                serial: serial_hex.to_string(),
                hash: hash.name().to_string(),
                der: der.clone(),
                this_update_ms: to_ms(this_update),
                next_update_ms: to_ms(next_update),
            };
            let mut tx = store.begin().await?;
            status::put_ocsp_response(&mut tx, &issuer.ca.ca_id, &row, &db_status, reason).await?;
            tx.commit().await.map_err(imzo_store::StoreError::from)?;
        }
        Ok(OcspAnswer { der, this_update: Some(this_update), next_update: Some(next_update) })
    }

    async fn sign(
        &self,
        store: &Store,
        issuer: &Issuer,
        answers: &[SingleAnswer],
        produced_at: OffsetDateTime,
        nonce: Option<&[u8]>,
    ) -> Result<Vec<u8>, StatusError> {
        let delegated = self.delegated(store, issuer).await?;
        let responder = Responder { certificate: &delegated.certificate, signer: delegated.key.as_ref(), include: &delegated.carried };
        Ok(ocsp::build_response(&responder, answers, produced_at, nonce)?)
    }

    /// This node's responder certificate for `issuer`, issued (and recorded) when there
    /// is none yet or the current one would expire before a response signed now.
    async fn delegated(&self, store: &Store, issuer: &Issuer) -> Result<Arc<Delegated>, StatusError> {
        let mut slot = issuer.delegated.lock().await;
        let needed_until = OffsetDateTime::now_utc() + self.policy.validity + time::Duration::hours(1);
        if let Some(current) = slot.as_ref().filter(|c| c.not_after > needed_until) {
            return Ok(Arc::clone(current));
        }
        // A national hierarchy answers with a national responder key, so relying parties
        // that accept only the national algorithm can check the answers.
        let algorithm = match issuer.ca.signer().algorithm() {
            imzo_pki::SignatureAlgorithm::OzDst1092 => imzo_keys::KeyAlgorithm::OzDst1092A,
            _ => imzo_keys::KeyAlgorithm::EcdsaP256,
        };
        let key: Arc<dyn imzo_pki::RawSigner> = match &self.responder_key {
            Some(configured) => Arc::clone(configured),
            None => Arc::new(imzo_keys::SoftwareKey::generate_with(algorithm)?),
        };
        let mut tx = store.begin().await?;
        let certificate = issue_responder(&mut tx, &issuer.ca, key.public_key_der()).await?;
        tx.commit().await.map_err(imzo_store::StoreError::from)?;
        let not_after = imzo_pki::cert::info(&certificate)?.not_after;
        let carried = [certificate.clone(), issuer.ca.certificate.clone()];
        let delegated = Arc::new(Delegated { certificate, carried, key, not_after });
        *slot = Some(Arc::clone(&delegated));
        Ok(delegated)
    }

    /// Signs ahead the SHA-1 responses (the common CertID) of up to `limit` certificates
    /// whose cached response is missing or due for refresh. Returns how many it signed.
    pub async fn presign_due(&self, store: &Store, limit: i64) -> Result<usize, StatusError> {
        let now = now_ms();
        let refresh_before = now.saturating_add(ms(self.policy.refresh_before));
        let mut done = 0;
        for issuer in &self.issuers {
            let due = status::ocsp_due(store.pool(), &issuer.ca.ca_id, CertIdHash::Sha1.name(), refresh_before, now, limit).await?;
            for serial in due {
                self.presign(store, issuer, CertIdHash::Sha1, &serial).await?;
                done += 1;
            }
        }
        Ok(done)
    }
}

/// The status of a serial of `ca`, and the stored (status, reason) it came from.
async fn lookup(store: &Store, ca: &CentreCa, serial_hex: &str) -> Result<(CertStatus, Option<(String, Option<i64>)>), StatusError> {
    let Some(row) = certificates::by_serial(store.pool(), serial_hex).await? else {
        return Ok((CertStatus::Unknown, None));
    };
    if row.ca_id != ca.ca_id {
        return Ok((CertStatus::Unknown, None));
    }
    let status = if row.status == "good" {
        CertStatus::Good
    } else {
        CertStatus::Revoked {
            at: from_ms(row.revoked_at_ms.unwrap_or(row.created_at_ms)),
            reason: row.revocation_reason.and_then(RevocationReason::from_code),
        }
    };
    Ok((status, Some((row.status, row.revocation_reason))))
}


/// Issues and records a delegated OCSP responder certificate of `ca` for `public_key_der`.
async fn issue_responder(tx: &mut imzo_store::Tx<'_>, ca: &CentreCa, public_key_der: &[u8]) -> Result<imzo_pki::Certificate, StatusError> {
    use imzo_pki::cert::{IssueParams, Profile, PublicationUrls};
    let ca_subject = imzo_pki::name::Subject::from_name(ca.certificate.tbs_certificate().subject())?;
    let subject = imzo_pki::name::Subject {
        common_name: format!("{} OCSP Responder", ca_subject.common_name),
        organization: ca_subject.organization.clone(),
        country: ca_subject.country.clone(),
        ..Default::default()
    };
    let now = OffsetDateTime::now_utc();
    let params = IssueParams {
        subject,
        subject_public_key_der: public_key_der.to_vec(),
        serial: crate::serial::new_serial()?,
        not_before: now - time::Duration::minutes(1),
        not_after: now + RESPONDER_VALIDITY,
        profile: Profile::OcspResponder,
        urls: PublicationUrls::default(),
        policy_oid: None,
    };
    Ok(ca.issue_with(tx, &params, None).await?.certificate)
}
