//! Signature time-stamps (CAdES-T) for `imzo sign --tsa` and `imzo verify`: asking a TSA
//! over HTTP (RFC 3161 §3.4) and judging the tokens a signature carries.

use anyhow::{Context, Result, anyhow, bail};
use imzo_pki::tsp::{self, HashAlgorithm, TimeStampRequest, TokenReport};
use serde_json::{Value, json};

/// Largest reply accepted from a TSA.
const REPLY_LIMIT: usize = 1 << 20;

/// Asks the TSA at `url` for a token over `data` (SHA-256 imprint, nonce, certificate
/// requested) and returns the token after checking it answers this request.
pub(crate) async fn fetch_token(url: &str, data: &[u8]) -> Result<Vec<u8>> {
    let parsed = url::Url::parse(url).with_context(|| format!("--tsa: {url:?} is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("--tsa: {url:?} must be an http or https URL");
    }
    let request = TimeStampRequest::for_data(HashAlgorithm::Sha256, data)?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("cannot set up the HTTP client")?;
    let response = http
        .post(parsed.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/timestamp-query")
        .body(request.to_der()?)
        .send()
        .await
        .with_context(|| format!("cannot reach the TSA at {parsed}"))?;
    let status = response.status();
    if !status.is_success() {
        bail!("the TSA at {parsed} answered HTTP {status}");
    }
    let body = response.bytes().await.with_context(|| format!("no reply from the TSA at {parsed}"))?;
    if body.len() > REPLY_LIMIT {
        bail!("the TSA at {parsed} sent a reply of {} bytes, more than a time-stamp", body.len());
    }
    tsp::token_from_response(&body, &request).map_err(|e| anyhow!("the TSA at {parsed}: {e}"))
}

/// Adds a signature time-stamp from `url` to every signer of `cms` (DER); returns DER.
pub(crate) fn stamp_all(cms: &[u8], url: &str) -> Result<Vec<u8>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut stamped = cms.to_vec();
    for value in tsp::signature_values(cms)? {
        let token = runtime.block_on(fetch_token(url, &value))?;
        stamped = tsp::add_signature_timestamp(&stamped, &value, &token)?;
    }
    Ok(stamped)
}

/// The judged signature time-stamp of each signer of `cms` (in the order `cms::verify`
/// reports signers): the first token that verifies, else the first token's report;
/// `None` for a signer without any.
pub(crate) fn judge(cms: &[u8], anchors: &[imzo_pki::Certificate]) -> Result<Vec<Option<TokenReport>>> {
    let values = tsp::signature_values(cms)?;
    let tokens = tsp::signature_timestamps(cms)?;
    let mut out = Vec::with_capacity(values.len());
    for (value, tokens) in values.iter().zip(tokens) {
        let mut chosen: Option<TokenReport> = None;
        for token in tokens {
            let report = match tsp::verify_token(&token, Some(value), anchors) {
                Ok(report) => report,
                Err(e) => {
                    tracing::debug!(error = %e, "unreadable signature time-stamp");
                    continue;
                }
            };
            let better = report.valid && !chosen.as_ref().is_some_and(|c| c.valid);
            if chosen.is_none() || better {
                chosen = Some(report);
            }
        }
        out.push(chosen);
    }
    Ok(out)
}

/// `timestamp` of a signer in `imzo verify --json`.
pub(crate) fn json(report: Option<&TokenReport>) -> Value {
    match report {
        None => Value::Null,
        Some(r) => json!({
            "time": super::verify::rfc3339(r.info.gen_time),
            "tsa": r.info.tsa_name,
            "valid": r.valid,
            "policy": r.info.policy,
            "serial": r.info.serial_hex,
            "errors": r.errors.iter().map(|p| json!({"code": p.code, "message": p.message})).collect::<Vec<_>>(),
        }),
    }
}
