//! Revocation checking for `imzo verify` and `imzo x509 verify`: OCSP at the
//! certificate's AIA URL first (with a nonce), then its CRL distribution points, or the
//! CRL files the user gave; the answer says which source spoke. Every certificate of a
//! validated chain but the trust anchor is checked: the leaf (with [`check_crl_files`] /
//! [`check_online`]) and each CA certificate under the root ([`CaChecker`]), so a centre
//! CA the root revoked takes its holders down with it.

use imzo_pki::Certificate;
use imzo_pki::crl::{self, RevocationReason};
use imzo_pki::ocsp::{self, CertIdHash, CertStatus};
use serde_json::{Value, json};
use std::time::Duration;
use time::OffsetDateTime;

/// How long one status source may take before the next is tried.
const SOURCE_TIMEOUT: Duration = Duration::from_secs(5);

/// The verdict on a certificate's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Revocation {
    /// `good`, `revoked`, `on_hold`, `unknown` (the responder does not know it),
    /// `unavailable` (no source answered), `not_checked` (the certificate names none).
    pub(crate) status: &'static str,
    /// `ocsp` or `crl`, when a source answered.
    pub(crate) source: Option<&'static str>,
    /// RFC 5280 reason, when revoked.
    pub(crate) reason: Option<&'static str>,
    /// When it was revoked.
    pub(crate) revoked_at: Option<OffsetDateTime>,
    /// Why no source answered.
    pub(crate) detail: Option<String>,
}

impl Revocation {
    /// Nothing was checked (the signer's certificate is missing or its chain failed).
    pub(crate) fn not_checked() -> Revocation {
        Revocation { status: "not_checked", source: None, reason: None, revoked_at: None, detail: None }
    }

    /// No source could answer, for the reason given.
    pub(crate) fn unavailable(detail: String) -> Revocation {
        Revocation { status: "unavailable", source: None, reason: None, revoked_at: None, detail: Some(detail) }
    }

    /// Not checked because the user asked so (`--no-revocation-check`).
    pub(crate) fn skipped(why: &str) -> Revocation {
        Revocation { status: "not_checked", source: None, reason: None, revoked_at: None, detail: Some(why.to_string()) }
    }

    fn from_status(status: CertStatus, source: &'static str, at: OffsetDateTime) -> Revocation {
        match status {
            CertStatus::Good => Revocation { status: "good", source: Some(source), reason: None, revoked_at: None, detail: None },
            CertStatus::Unknown => Revocation { status: "unknown", source: Some(source), reason: None, revoked_at: None, detail: None },
            CertStatus::Revoked { at: revoked_at, reason } => {
                // Revoked only after the moment judged (now, or a time a time-stamp
                // proves; never the signer's claimed signing time): the certificate was
                // good then; the revocation is still reported.
                let status = if revoked_at > at {
                    "good"
                } else if reason == Some(RevocationReason::CertificateHold) {
                    "on_hold"
                } else {
                    "revoked"
                };
                Revocation { status, source: Some(source), reason: reason.map(|r| r.name()), revoked_at: Some(revoked_at), detail: None }
            }
        }
    }

    /// Revoked or on hold at the moment judged: a definite "not valid".
    pub(crate) fn is_negative(&self) -> bool {
        matches!(self.status, "revoked" | "on_hold")
    }

    /// The status could not be learnt (no source answered, or the responder does not
    /// know the certificate): neither valid nor invalid can be said.
    pub(crate) fn is_indeterminate(&self) -> bool {
        matches!(self.status, "unavailable" | "unknown")
    }

    /// The `revocation` object of the JSON output.
    pub(crate) fn json(&self) -> Value {
        json!({
            "status": self.status,
            "source": self.source,
            "reason": self.reason,
            "revoked_at": self.revoked_at.map(super::verify::rfc3339),
            "detail": self.detail,
        })
    }

    /// One line for people.
    pub(crate) fn describe(&self) -> String {
        let mut text = format!("revocation: {}", self.status);
        if let Some(source) = self.source {
            text.push_str(&format!(" (from {source})"));
        }
        if let Some(reason) = self.reason {
            text.push_str(&format!(", reason {reason}"));
        }
        if let Some(at) = self.revoked_at {
            text.push_str(&format!(", revoked {}", super::verify::tashkent(at)));
        }
        if let Some(detail) = &self.detail {
            text.push_str(&format!(": {detail}"));
        }
        text
    }
}

/// Checks `leaf` (issued by `issuer`) against the given CRL files (DER or PEM) at `at`.
/// A CRL by another issuer is skipped; a CRL of this issuer that does not verify, or
/// that expired before `at`, is an error (the caller cannot judge).
pub(crate) fn check_crl_files(leaf: &Certificate, issuer: &Certificate, crls: &[Vec<u8>], at: OffsetDateTime) -> anyhow::Result<Revocation> {
    let serial = imzo_pki::cert::info(leaf)?.serial_hex;
    let issuer_name = imzo_pki::cert::info(issuer)?.subject;
    let mut used = false;
    for bytes in crls {
        let parsed = crl::parse(bytes)?;
        if parsed.issuer != issuer_name {
            continue;
        }
        let info = crl::verify(bytes, issuer).map_err(|e| anyhow::anyhow!("the CRL of {issuer_name} does not verify: {e}"))?;
        if info.next_update.is_some_and(|next| next < at) {
            anyhow::bail!("the CRL of {issuer_name} expired before the time checked (nextUpdate passed)");
        }
        used = true;
        if let Some(entry) = info.find(&serial) {
            let status = CertStatus::Revoked { at: entry.revoked_at, reason: entry.reason };
            return Ok(Revocation::from_status(status, "crl", at));
        }
    }
    if used {
        Ok(Revocation::from_status(CertStatus::Good, "crl", at))
    } else {
        anyhow::bail!("none of the CRLs given is issued by {issuer_name}")
    }
}

/// Asks the sources `leaf` names: OCSP first, then its CRL distribution points.
pub(crate) fn check_online(leaf: &Certificate, issuer: &Certificate, at: OffsetDateTime) -> Revocation {
    let urls = match ocsp::status_urls(leaf) {
        Ok(u) => u,
        Err(e) => return Revocation::unavailable(format!("cannot read the certificate's status URLs: {e}")),
    };
    if urls.ocsp.is_empty() && urls.crl.is_empty() {
        return Revocation::not_checked();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return Revocation::unavailable(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        let client = match reqwest::Client::builder().timeout(SOURCE_TIMEOUT).build() {
            Ok(c) => c,
            Err(e) => return Revocation::unavailable(format!("cannot make an HTTP client: {e}")),
        };
        let mut failures = Vec::new();
        for url in &urls.ocsp {
            match ask_ocsp(&client, url, leaf, issuer).await {
                Ok(status) => return Revocation::from_status(status, "ocsp", at),
                Err(e) => failures.push(format!("OCSP {url}: {e:#}")),
            }
        }
        for url in &urls.crl {
            match fetch_crl(&client, url).await {
                Ok(bytes) => match check_crl_files(leaf, issuer, &[bytes], OffsetDateTime::now_utc()) {
                    Ok(mut verdict) => {
                        // Judged against a current CRL, as of the moment asked about.
                        if let Some(revoked_at) = verdict.revoked_at {
                            let reason = verdict.reason.and_then(|r| RevocationReason::parse(r).ok());
                            verdict = Revocation::from_status(CertStatus::Revoked { at: revoked_at, reason }, "crl", at);
                        }
                        return verdict;
                    }
                    Err(e) => failures.push(format!("CRL {url}: {e:#}")),
                },
                Err(e) => failures.push(format!("CRL {url}: {e:#}")),
            }
        }
        Revocation::unavailable(failures.join("; "))
    })
}

async fn ask_ocsp(client: &reqwest::Client, url: &str, leaf: &Certificate, issuer: &Certificate) -> anyhow::Result<CertStatus> {
    let serial = imzo_pki::cert::info(leaf)?.serial_hex;
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness for the nonce: {e}"))?;
    let request = ocsp::build_request(issuer, &serial, CertIdHash::Sha1, Some(&nonce))?;
    let sent_nonce = ocsp::parse_request(&request)?.nonce;
    let response = client
        .post(url)
        .header("content-type", "application/ocsp-request")
        .body(request)
        .send()
        .await?
        .error_for_status()?;
    let body = response.bytes().await?;
    let answer = ocsp::check_response(&body, issuer, &serial)?;
    // A responder may answer from its cache without our nonce (RFC 8954); one that
    // returns a different nonce is answering someone else.
    if answer.nonce.is_some() && answer.nonce != sent_nonce {
        anyhow::bail!("the response carries another request's nonce");
    }
    let now = OffsetDateTime::now_utc();
    if answer.next_update.is_some_and(|next| next < now) {
        anyhow::bail!("the response is stale (nextUpdate passed)");
    }
    Ok(answer.status)
}

async fn fetch_crl(client: &reqwest::Client, url: &str) -> anyhow::Result<Vec<u8>> {
    let response = client.get(url).send().await?.error_for_status()?;
    Ok(response.bytes().await?.to_vec())
}

/// The issuer of `leaf` at `at`: among `candidates` (a certificate whose subject is the
/// leaf's issuer and whose key signed it), or else downloaded from the leaf's AIA
/// caIssuers URL.
pub(crate) fn find_issuer(leaf: &Certificate, candidates: &[Certificate], at: OffsetDateTime) -> Option<Certificate> {
    let signed_by = |c: &Certificate| {
        c.tbs_certificate().subject() == leaf.tbs_certificate().issuer()
            && imzo_pki::path::validate(leaf, &[], std::slice::from_ref(c), &imzo_pki::path::PathOptions {
                at,
                max_depth: 0,
            })
            .is_ok()
    };
    if let Some(found) = candidates.iter().find(|c| signed_by(c)) {
        return Some(found.clone());
    }
    let urls = ocsp::status_urls(leaf).ok()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder().timeout(SOURCE_TIMEOUT).build().ok()?;
        for url in &urls.ca_issuers {
            let Ok(response) = client.get(url).send().await else { continue };
            let Ok(bytes) = response.bytes().await else { continue };
            let Ok(certs) = imzo_pki::pem::read_certificates(&bytes) else { continue };
            if let Some(found) = certs.into_iter().find(|c| signed_by(c)) {
                return Some(found);
            }
        }
        None
    })
}

/// The status of one CA certificate of a validated chain (neither the leaf nor the trust
/// anchor), as learnt from its issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaStatus {
    /// The CA certificate's subject.
    pub(crate) subject: String,
    /// Its serial (hex).
    pub(crate) serial: String,
    /// What its issuer says about it.
    pub(crate) revocation: Revocation,
}

impl CaStatus {
    /// The `chain_revocation` entry of the JSON output.
    pub(crate) fn json(&self) -> Value {
        let mut value = self.revocation.json();
        if let Value::Object(map) = &mut value {
            map.insert("subject".into(), json!(self.subject));
            map.insert("serial".into(), json!(self.serial));
        }
        value
    }

    /// One line for people.
    pub(crate) fn describe(&self) -> String {
        format!("CA {} (serial {}): {}", self.subject, self.serial, self.revocation.describe())
    }

    /// The problem this status makes, if any: (`ca_revoked` | `revocation_unavailable`,
    /// message naming the CA certificate and when it was revoked).
    pub(crate) fn problem(&self) -> Option<(&'static str, String)> {
        let r = &self.revocation;
        if r.is_negative() {
            let what = if r.status == "on_hold" { "put on hold" } else { "revoked" };
            let mut text = format!("the CA certificate {} (serial {}) was {what}", self.subject, self.serial);
            if let Some(at) = r.revoked_at {
                text.push_str(&format!(" on {}", super::verify::tashkent(at)));
            }
            if let Some(reason) = r.reason {
                text.push_str(&format!(", reason {reason}"));
            }
            if let Some(source) = r.source {
                text.push_str(&format!(" (from {source})"));
            }
            Some(("ca_revoked", text))
        } else if r.is_indeterminate() {
            Some((
                "revocation_unavailable",
                format!("the status of the CA certificate {} (serial {}) could not be learnt: {}", self.subject, self.serial, r.describe()),
            ))
        } else {
            None
        }
    }
}

/// Checks the CA certificates of validated chains, remembering each answer so that a
/// CA shared by several signers is asked once per run.
pub(crate) struct CaChecker<'a> {
    /// CRL files given with --crl: they decide for a CA whose issuer they come from.
    crls: &'a [Vec<u8>],
    /// (CA certificate DER, issuer DER, judged time) → answer.
    seen: std::collections::HashMap<(Vec<u8>, Vec<u8>, i128), Revocation>,
}

impl<'a> CaChecker<'a> {
    /// A checker using `crls` where they cover a CA, else the CA certificate's own OCSP
    /// and CRL addresses.
    pub(crate) fn new(crls: &'a [Vec<u8>]) -> CaChecker<'a> {
        CaChecker { crls, seen: std::collections::HashMap::new() }
    }

    /// The status at `at` of every certificate of `chain` (leaf first, trust anchor last)
    /// but the leaf (checked by the caller, with its own rules) and the anchor (trusted
    /// as such), each against the next one, its issuer.
    pub(crate) fn check(&mut self, chain: &[Certificate], at: OffsetDateTime) -> Vec<CaStatus> {
        let mut out = Vec::new();
        for pair in chain.windows(2).skip(1) {
            let [ca, issuer] = pair else { continue };
            let (subject, serial) = match imzo_pki::cert::info(ca) {
                Ok(info) => (info.subject, info.serial_hex),
                Err(e) => {
                    let revocation = Revocation::unavailable(format!("cannot read the CA certificate: {e}"));
                    out.push(CaStatus { subject: "(unreadable)".into(), serial: String::new(), revocation });
                    continue;
                }
            };
            // Without an encoding to key the memo by, just ask (never share an answer).
            let key = match (imzo_pki::cert::to_der(ca), imzo_pki::cert::to_der(issuer)) {
                (Ok(ca_der), Ok(issuer_der)) => Some((ca_der, issuer_der, at.unix_timestamp_nanos())),
                _ => None,
            };
            let revocation = match key.as_ref().and_then(|k| self.seen.get(k)) {
                Some(known) => known.clone(),
                None => {
                    let fresh = self.ask(ca, issuer, at);
                    if let Some(key) = key {
                        self.seen.insert(key, fresh.clone());
                    }
                    fresh
                }
            };
            out.push(CaStatus { subject, serial, revocation });
        }
        out
    }

    fn ask(&self, ca: &Certificate, issuer: &Certificate, at: OffsetDateTime) -> Revocation {
        // The CRLs given decide only where they cover: a user giving the centre's CRL
        // alone has said nothing about the centre CA, whose status the root publishes.
        if crls_cover(issuer, self.crls) {
            check_crl_files(ca, issuer, self.crls, at).unwrap_or_else(|e| Revocation::unavailable(format!("{e:#}")))
        } else {
            check_online(ca, issuer, at)
        }
    }
}

/// Whether one of `crls` names `issuer` as its issuer (whether it verifies is for
/// [`check_crl_files`] to say).
fn crls_cover(issuer: &Certificate, crls: &[Vec<u8>]) -> bool {
    let Ok(name) = imzo_pki::cert::info(issuer).map(|i| i.subject) else { return false };
    crls.iter().any(|bytes| crl::parse(bytes).is_ok_and(|parsed| parsed.issuer == name))
}
