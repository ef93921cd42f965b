//! The relying-party API integrators already call (protocols/relying-party.md): login
//! challenges, signature verification, attaching, joining and time-stamping SignedData.
//!
//! Bodies are raw base64 text (two parts joined by `|`); HTTP 200 means the call ran and
//! `status` carries the verdict (1 = success, negative = a reason); HTTP 400 means bad
//! parameters. Challenges live in the database, so any node can finish a login.

mod judge;

use crate::router::Shared;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use imzo_pki::tsp::{self, HashAlgorithm, TimeStampRequest};
use imzo_store::time_ms::now_ms;
use judge::{BAD_SIGNATURE, OK};
use serde_json::{Value, json};

/// Lifetime of a login challenge, in seconds.
const CHALLENGE_TTL: i64 = 120;
/// `purpose` of relying-party login challenges in the challenges table.
const PURPOSE: &str = "rp_login";
/// A login whose challenge is unknown, used or expired.
const CHALLENGE_UNKNOWN: i64 = -20;

fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-cache, no-store, must-revalidate"), (header::PRAGMA, "no-cache")],
        axum::Json(body),
    )
        .into_response()
}

fn bad(message: impl Into<String>) -> Response {
    reply(StatusCode::BAD_REQUEST, json!({ "status": 0, "message": message.into() }))
}

fn failed(message: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %message, "relying-party call failed");
    reply(StatusCode::INTERNAL_SERVER_ERROR, json!({ "status": 0, "message": "internal error" }))
}

/// A reply refusing bad parameters, boxed: responses are large.
type Refusal = Box<Response>;

/// Base64 (standard or URL-safe, padded or not, whitespace ignored) → bytes.
fn base64_part(text: &str, what: &str) -> Result<Vec<u8>, Refusal> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(Box::new(bad(format!("{what} is empty"))));
    }
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    engines
        .iter()
        .find_map(|e| e.decode(&compact).ok())
        .ok_or_else(|| Box::new(bad(format!("{what} is not base64"))))
}

fn text_body(body: &Bytes) -> Result<&str, Refusal> {
    std::str::from_utf8(body).map_err(|_| Box::new(bad("the body is not base64 text")))
}

/// `a|b` → the two decoded parts.
fn two_parts(body: &Bytes, first: &str, second: &str) -> Result<(Vec<u8>, Vec<u8>), Refusal> {
    let text = text_body(body)?;
    let (a, b) = text.split_once('|').ok_or_else(|| Box::new(bad(format!("the body must be {first}|{second}"))))?;
    Ok((base64_part(a, first)?, base64_part(b, second)?))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The overall verdict: the first signer's failure, or success.
fn overall(judged: &[judge::Judged]) -> i64 {
    if judged.is_empty() {
        return BAD_SIGNATURE;
    }
    judged.iter().map(|j| j.status).find(|s| *s != OK).unwrap_or(OK)
}

fn message_of(status: i64) -> &'static str {
    match status {
        OK => "",
        judge::STATUS_UNKNOWN => "certificate status could not be checked",
        judge::BAD_SIGNING_TIME => "signing time is invalid (check the clock of the signer's computer)",
        judge::BAD_SIGNATURE => "signature is invalid",
        judge::BAD_CERTIFICATE => "certificate is invalid",
        judge::NOT_VALID_AT_SIGNING => "certificate was not valid at the signing time",
        CHALLENGE_UNKNOWN => "challenge unknown or expired",
        -21 => "time-stamp signature is invalid",
        -22 => "time-stamp certificate is invalid",
        -23 => "time-stamp certificate was not valid",
        _ => "time-stamp is invalid",
    }
}

/// `GET /frontend/challenge`: limited per client address, as each challenge is a stored
/// row; past the limit HTTP 429 with `Retry-After` and this API's `{status, message}`.
pub(crate) async fn challenge(State(ctx): State<Shared>, peer: crate::routes::lookup::Peer) -> Response {
    let client = ctx.registration.client_address(peer.socket, peer.x_real_ip.as_deref());
    if let Err(e) = ctx.registration.limit_challenges("relying-party", &client).await {
        return match e.retry_after_secs() {
            Some(wait) => {
                let mut response = reply(StatusCode::TOO_MANY_REQUESTS, json!({ "status": 0, "message": e.message.en }));
                response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(wait.max(1)));
                response
            }
            None => failed(e),
        };
    }
    let mut raw = [0u8; 16];
    if let Err(e) = getrandom::fill(&mut raw) {
        return failed(e);
    }
    let challenge = hex::encode(raw);
    let expires = now_ms().saturating_add(CHALLENGE_TTL * 1000);
    match imzo_store::challenges::insert(ctx.registration.store().pool(), &challenge, PURPOSE, None, challenge.as_bytes(), expires)
        .await
    {
        Ok(()) => reply(StatusCode::OK, json!({ "status": OK, "message": "", "challenge": challenge, "ttl": CHALLENGE_TTL })),
        Err(e) => failed(e),
    }
}

/// `POST /backend/auth`: CMS (attached) over the challenge.
pub(crate) async fn auth(State(ctx): State<Shared>, body: Bytes) -> Response {
    let cms = match text_body(&body).and_then(|t| base64_part(t, "the CMS")) {
        Ok(der) => der,
        Err(r) => return *r,
    };
    let (content, judged) = match judge::signers(&ctx, &cms, None, judge::JudgeAt::Now).await {
        Ok(result) => result,
        Err(e) => return bad(format!("the body is not a CMS signature: {e}")),
    };
    if content.is_empty() {
        return bad("the CMS holds no challenge: sign it as attached content");
    }
    let status = overall(&judged);
    if status != OK {
        return reply(StatusCode::OK, json!({ "status": status, "message": message_of(status) }));
    }
    let Ok(challenge) = std::str::from_utf8(&content) else {
        return reply(StatusCode::OK, json!({ "status": CHALLENGE_UNKNOWN, "message": message_of(CHALLENGE_UNKNOWN) }));
    };
    // A login signed before its challenge was issued is impossible: the clock was set back.
    match imzo_store::challenges::get(ctx.registration.store().pool(), challenge).await {
        Ok(Some(row)) if row.purpose == PURPOSE => {
            let issued = imzo_store::time_ms::from_ms(row.expires_at_ms.saturating_sub(CHALLENGE_TTL * 1000));
            if judged.iter().any(|j| j.claimed_signing_time.is_some_and(|t| t < issued - judge::CLOCK_SKEW)) {
                let status = judge::BAD_SIGNING_TIME;
                return reply(StatusCode::OK, json!({ "status": status, "message": message_of(status) }));
            }
        }
        Ok(_) => {}
        Err(e) => return failed(e),
    }
    let consumed = async {
        let mut tx = ctx.registration.store().begin().await?;
        let used = imzo_store::challenges::consume(&mut tx, challenge, PURPOSE, now_ms()).await?;
        tx.commit().await.map_err(imzo_store::StoreError::from)?;
        Ok::<bool, imzo_store::StoreError>(used)
    }
    .await;
    match consumed {
        Ok(true) => {}
        Ok(false) => {
            return reply(StatusCode::OK, json!({ "status": CHALLENGE_UNKNOWN, "message": message_of(CHALLENGE_UNKNOWN) }));
        }
        Err(e) => return failed(e),
    }
    let Some(cert) = judged.first().and_then(|j| j.certificate.as_ref()) else {
        return reply(StatusCode::OK, json!({ "status": BAD_SIGNATURE, "message": message_of(BAD_SIGNATURE) }));
    };
    let info = judge::certificate_json(cert);
    reply(
        StatusCode::OK,
        json!({
            "status": OK,
            "message": "",
            "subjectCertificateInfo": {
                "serialNumber": info["serialNumber"],
                "subjectName": info["subjectName"],
                "validFrom": info["validFrom"],
                "validTo": info["validTo"],
            },
        }),
    )
}

async fn verify(ctx: &Shared, cms: &[u8], content: Option<&[u8]>) -> Response {
    let (document, judged) = match judge::signers(ctx, cms, content, judge::JudgeAt::ProvenOrNow).await {
        Ok(result) => result,
        Err(e) => return bad(format!("not a CMS signature: {e}")),
    };
    let status = overall(&judged);
    let signers: Vec<Value> = judged.into_iter().map(|j| j.json).collect();
    let mut info = json!({ "signers": signers });
    if content.is_none() {
        info["documentBase64"] = Value::String(b64(&document));
    }
    reply(StatusCode::OK, json!({ "status": status, "message": message_of(status), "pkcs7Info": info }))
}

/// `POST /backend/pkcs7/verify/attached`.
pub(crate) async fn verify_attached(State(ctx): State<Shared>, body: Bytes) -> Response {
    match text_body(&body).and_then(|t| base64_part(t, "the CMS")) {
        Ok(cms) => verify(&ctx, &cms, None).await,
        Err(r) => *r,
    }
}

/// `POST /backend/pkcs7/verify/detached`: `data64|cms64`.
pub(crate) async fn verify_detached(State(ctx): State<Shared>, body: Bytes) -> Response {
    match two_parts(&body, "data64", "cms64") {
        Ok((data, cms)) => verify(&ctx, &cms, Some(&data)).await,
        Err(r) => *r,
    }
}

/// `POST /frontend/pkcs7/make-attached`: `data64|cms64` → the signature with the data inside.
pub(crate) async fn make_attached(State(_ctx): State<Shared>, body: Bytes) -> Response {
    let (data, cms) = match two_parts(&body, "data64", "cms64") {
        Ok(parts) => parts,
        Err(r) => return *r,
    };
    // Only a signature over exactly this data may carry it.
    let report = match imzo_pki::cms::verify(&cms, Some(&data), &imzo_pki::cms::VerifyOptions { anchors: Vec::new(), at: None }) {
        Ok(report) => report,
        Err(e) => return bad(format!("cms64 is not a CMS signature: {e}")),
    };
    if report.signers.is_empty() || !report.signers.iter().all(|s| s.signature_valid) {
        return reply(StatusCode::OK, json!({ "status": BAD_SIGNATURE, "message": message_of(BAD_SIGNATURE) }));
    }
    match imzo_pki::cms_tools::attach(&cms, &data) {
        Ok(der) => reply(StatusCode::OK, json!({ "status": OK, "pkcs7b64": b64(&der) })),
        Err(e) => bad(e.to_string()),
    }
}

/// `POST /frontend/pkcs7/join`: `cms64|cms64` → one signature with both signers.
pub(crate) async fn join(State(_ctx): State<Shared>, body: Bytes) -> Response {
    let (a, b) = match two_parts(&body, "cms64", "cms64") {
        Ok(parts) => parts,
        Err(r) => return *r,
    };
    match imzo_pki::cms_tools::join(&a, &b) {
        Ok(der) => reply(StatusCode::OK, json!({ "status": OK, "pkcs7b64": b64(&der) })),
        Err(e) => bad(e.to_string()),
    }
}

/// `POST /frontend/timestamp/pkcs7`: adds a signature time-stamp from this centre's TSA
/// to every signer that has none.
pub(crate) async fn timestamp_pkcs7(State(ctx): State<Shared>, body: Bytes) -> Response {
    let mut cms = match text_body(&body).and_then(|t| base64_part(t, "the CMS")) {
        Ok(der) => der,
        Err(r) => return *r,
    };
    let (values, tokens, certificates) = match (
        tsp::signature_values(&cms),
        tsp::signature_timestamps(&cms),
        imzo_pki::cms::verify(&cms, Some(b""), &imzo_pki::cms::VerifyOptions { anchors: Vec::new(), at: None }),
    ) {
        (Ok(v), Ok(t), Ok(r)) => (v, t, r.signers.into_iter().map(|s| s.certificate).collect::<Vec<_>>()),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return bad(format!("not a CMS signature: {e}")),
    };
    let mut stamped = Vec::new();
    for (i, value) in values.iter().enumerate() {
        if tokens.get(i).is_some_and(|t| !t.is_empty()) {
            continue;
        }
        let request = match TimeStampRequest::for_data(HashAlgorithm::Sha256, value) {
            Ok(r) => r,
            Err(e) => return failed(e),
        };
        let token = match ctx.tsa.grant(ctx.registration.store(), &request).await {
            Ok(response) => tsp::token_from_response(&response, &request),
            Err(e) => return failed(e),
        };
        match token.and_then(|t| tsp::add_signature_timestamp(&cms, value, &t)) {
            Ok(der) => cms = der,
            Err(e) => return failed(e),
        }
        let cert = certificates.get(i).cloned().flatten();
        stamped.push(match cert {
            Some(c) => {
                let info = judge::certificate_json(&c);
                json!({ "serialNumber": info["serialNumber"], "subjectName": info["subjectName"] })
            }
            None => json!({ "serialNumber": Value::Null, "subjectName": Value::Null }),
        });
    }
    reply(StatusCode::OK, json!({ "status": OK, "message": "", "pkcs7b64": b64(&cms), "timestampedSignerList": stamped }))
}
