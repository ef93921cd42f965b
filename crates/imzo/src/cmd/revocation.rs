//! Revocation checking for `imzo verify` and `imzo x509 verify`: OCSP at the
//! certificate's AIA URL first (with a nonce), then its CRL distribution points, or the
//! CRL files the user gave; the answer says which source spoke.

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
