//! Judging every signer of a SignedData the way E-IMZO's server reports it: signature,
//! certificate, revocation through our OCSP responder, and the signature time-stamp.
//!
//! The signingTime attribute is written by the signer's own clock: it is reported, as a
//! claim, but never decides anything. Validity and revocation are judged now, unless a
//! valid RFC 3161 signature time-stamp (CAdES-T) proves an earlier time — then at its
//! genTime. A claimed time in the future or before the certificate began is -5.

use crate::router::Shared;
use base64::Engine as _;
use imzo_pki::Certificate;
use imzo_pki::cms::{self, SignerReport, VerifyOptions};
use imzo_pki::ocsp::{self, CertIdHash, CertStatus};
use imzo_pki::tsp::{self, TokenReport};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Verdict codes of relying-party.md.
pub(crate) const OK: i64 = 1;
/// Certificate status could not be checked.
pub(crate) const STATUS_UNKNOWN: i64 = -1;
/// The signing time claimed is impossible (the user's clock).
pub(crate) const BAD_SIGNING_TIME: i64 = -5;
/// The signature does not verify.
pub(crate) const BAD_SIGNATURE: i64 = -10;
/// The certificate is not valid (untrusted, revoked, wrong usage).
pub(crate) const BAD_CERTIFICATE: i64 = -11;
/// The certificate was not valid at the signing time.
pub(crate) const NOT_VALID_AT_SIGNING: i64 = -12;

/// Largest clock difference tolerated between a claimed signing time and our clock.
pub(crate) const CLOCK_SKEW: time::Duration = imzo_pki::cms::SIGNING_TIME_SKEW;

/// `YYYY.MM.DD HH:mm:ss` in Asia/Tashkent (UTC+5, no daylight saving).
pub(crate) fn tashkent(at: OffsetDateTime) -> String {
    let local = at.to_offset(time::macros::offset!(+5));
    let format = time::macros::format_description!("[year].[month].[day] [hour]:[minute]:[second]");
    local.format(&format).unwrap_or_else(|_| local.to_string())
}

/// `subjectName` of relying-party.md: attribute names to values, plus `pinfl` and `inn`.
pub(crate) fn subject_name(cert: &Certificate) -> Value {
    let Ok(info) = imzo_pki::cert::info(cert) else {
        return json!({});
    };
    let s = &info.subject_fields;
    let mut map = serde_json::Map::new();
    let mut put = |key: &str, value: Option<&String>| {
        if let Some(v) = value {
            map.insert(key.to_string(), Value::String(v.clone()));
        }
    };
    put("CN", Some(&s.common_name));
    put("Name", s.given_name.as_ref());
    put("SURNAME", s.surname.as_ref());
    put("O", s.organization.as_ref());
    put("T", s.title.as_ref());
    put("L", s.locality.as_ref());
    put("ST", s.state.as_ref());
    put("C", s.country.as_ref());
    put("UID", s.uid.as_ref());
    put("1.2.860.3.16.1.2", s.pinfl.as_ref());
    put("1.2.860.3.16.1.1", s.company_inn.as_ref());
    put("businessCategory", s.business_category.as_ref());
    put("pinfl", s.pinfl.as_ref());
    put("inn", s.company_inn.as_ref().or(s.uid.as_ref()));
    Value::Object(map)
}

/// One certificate as relying-party replies show it.
pub(crate) fn certificate_json(cert: &Certificate) -> Value {
    match imzo_pki::cert::info(cert) {
        Ok(info) => json!({
            "serialNumber": info.serial_hex,
            "subjectName": subject_name(cert),
            "issuerName": info.issuer,
            "validFrom": tashkent(info.not_before),
            "validTo": tashkent(info.not_after),
            "certificateBase64": imzo_pki::cert::to_der(cert)
                .map(|der| base64::engine::general_purpose::STANDARD.encode(der))
                .ok(),
        }),
        Err(e) => json!({ "exception": e.to_string() }),
    }
}

/// The signer's chain: holder, then each issuer found among `pool`, up to a root.
fn chain_of(leaf: &Certificate, pool: &[Certificate]) -> Vec<Certificate> {
    let mut chain = vec![leaf.clone()];
    while chain.len() < 8 {
        let Some(last) = chain.last() else { break };
        let issuer = last.tbs_certificate().issuer();
        if last.tbs_certificate().subject() == issuer {
            break;
        }
        match pool.iter().find(|c| c.tbs_certificate().subject() == issuer && !chain.contains(c)) {
            Some(next) => chain.push(next.clone()),
            None => break,
        }
    }
    chain
}

/// The status of `cert` from this deployment's OCSP responder: (status, DER response).
/// The issuing CA is whichever of the ten centres' CAs named it — a holder of centre 7
/// is as checkable as one of centre 1. A centre whose registration the authorised body
/// revoked makes every certificate under it revoked from that moment.
async fn revocation(ctx: &Shared, cert: &Certificate) -> (Option<CertStatus>, Option<Vec<u8>>) {
    let issuer = cert.tbs_certificate().issuer();
    let Some(ca) = ctx.registration.centre_cas().into_iter().find(|ca| ca.certificate.tbs_certificate().subject() == issuer) else {
        return (None, None);
    };
    let Ok(info) = imzo_pki::cert::info(cert) else { return (None, None) };
    let Ok(request) = ocsp::build_request(&ca.certificate, &info.serial_hex, CertIdHash::Sha1, None) else {
        return (None, None);
    };
    let answer = ctx.status.responder.respond(ctx.registration.store(), &request).await;
    let checked = match ocsp::check_response(&answer.der, &ca.certificate, &info.serial_hex) {
        Ok(checked) => checked.status,
        Err(e) => {
            tracing::warn!(error = %e, "our own OCSP answer does not check");
            return (None, Some(answer.der));
        }
    };
    // Above the holder: the centre's registration, and the root's word on the centre's
    // CA certificate. Either one ended makes everything under it revoked from then on.
    match ctx.registration.centre_ended(&ca.centre_id).await {
        Ok(Some(end)) => {
            let at = end
                .at_ms
                .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            if matches!(&checked, CertStatus::Revoked { at: own, .. } if *own <= at) {
                (Some(checked), Some(answer.der))
            } else {
                (Some(CertStatus::Revoked { at, reason: end.reason }), Some(answer.der))
            }
        }
        Ok(None) => (Some(checked), Some(answer.der)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read whether the centre still stands");
            (None, Some(answer.der))
        }
    }
}

fn timestamp_status(report: &TokenReport) -> i64 {
    let codes: Vec<&str> = report.errors.iter().map(|e| e.code.as_str()).collect();
    if codes.iter().any(|c| matches!(*c, "bad_signature" | "digest_mismatch" | "bad_attributes")) {
        -21
    } else if codes.iter().any(|c| matches!(*c, "expired")) {
        -23
    } else if codes.iter().any(|c| matches!(*c, "untrusted" | "not_a_tsa" | "signing_certificate" | "key_usage")) {
        -22
    } else {
        -20
    }
}

/// One judged signer.
pub(crate) struct Judged {
    /// The verdict code.
    pub(crate) status: i64,
    /// The signer as relying-party.md lists it.
    pub(crate) json: Value,
    /// The signer's certificate.
    pub(crate) certificate: Option<Certificate>,
    /// The signing time the signer claims (its own clock).
    pub(crate) claimed_signing_time: Option<OffsetDateTime>,
}

/// Whether signature time-stamps may prove an earlier time to judge at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JudgeAt {
    /// Documents: at a valid time-stamp's genTime, else now.
    ProvenOrNow,
    /// Logins: always now (the challenge was issued just now anyway).
    Now,
}

/// Judges every signer of `cms_der` (detached content in `content` when given).
pub(crate) async fn signers(
    ctx: &Shared,
    cms_der: &[u8],
    content: Option<&[u8]>,
    judge_at: JudgeAt,
) -> Result<(Vec<u8>, Vec<Judged>), imzo_pki::PkiError> {
    let anchors = vec![ctx.registration.ca().root.clone()];
    let now = OffsetDateTime::now_utc();
    let today = cms::verify(cms_der, content, &VerifyOptions { anchors: anchors.clone(), at: Some(now) })?;
    let values = tsp::signature_values(cms_der)?;
    let tokens = tsp::signature_timestamps(cms_der)?;
    let digests = imzo_pki::cms_tools::message_digests(cms_der)?;
    let pool: Vec<Certificate> = today.signers.iter().filter_map(|s| s.certificate.clone()).chain(imzo_pki::cms_tools::certificates(cms_der)?).chain(anchors.iter().cloned()).collect();
    let mut judged = Vec::with_capacity(today.signers.len());
    for (i, signer) in today.signers.iter().enumerate() {
        let token_report = tokens
            .get(i)
            .and_then(|t| t.first())
            .zip(values.get(i))
            .and_then(|(token, value)| tsp::verify_token(token, Some(value), &anchors).ok());
        let proven = token_report
            .as_ref()
            .filter(|t| t.valid && judge_at == JudgeAt::ProvenOrNow)
            .map(|t| t.info.gen_time);
        let at_signing = match proven {
            Some(when) => cms::verify(cms_der, content, &VerifyOptions { anchors: anchors.clone(), at: Some(when) })?
                .signers
                .into_iter()
                .nth(i),
            None => Some(signer.clone()),
        };
        let now_report = today.signers.get(i);
        judged.push(
            judge_one(
                ctx,
                signer,
                Evidence {
                    at_signing: at_signing.as_ref(),
                    now_report,
                    token: token_report.as_ref(),
                    proven,
                    signature_value: values.get(i),
                    digest: digests.get(i).cloned().flatten(),
                },
                &pool,
                now,
            )
            .await,
        );
    }
    Ok((today.content, judged))
}

/// What is known about one signer beyond its claimed-time report.
struct Evidence<'a> {
    /// Verification at the proven (time-stamp) time, else now.
    at_signing: Option<&'a SignerReport>,
    /// Verification now.
    now_report: Option<&'a SignerReport>,
    /// The signature time-stamp, judged.
    token: Option<&'a TokenReport>,
    /// The time-stamp's time when the token is valid.
    proven: Option<OffsetDateTime>,
    /// The signature value.
    signature_value: Option<&'a Vec<u8>>,
    /// The signed message digest.
    digest: Option<Vec<u8>>,
}

async fn judge_one(
    ctx: &Shared,
    signer: &SignerReport,
    evidence: Evidence<'_>,
    pool: &[Certificate],
    now: OffsetDateTime,
) -> Judged {
    let Evidence { at_signing, now_report, token, proven, signature_value, digest } = evidence;
    let certificate = signer.certificate.clone();
    // The moment judged: what a time-stamp proves, else now — never the claimed time.
    let judged_at = proven.unwrap_or(now);
    let valid_at_signing = at_signing.is_some_and(|s| s.chain_valid && s.errors.iter().all(|e| e.code != "key_usage"));
    let verified_now = now_report.is_some_and(|s| s.chain_valid);
    let (status_now, ocsp_der) = match &certificate {
        Some(cert) => revocation(ctx, cert).await,
        None => (None, None),
    };
    // Revoked or on hold at the moment judged. A hold counts: it is not valid now.
    let revoked_when_judged = matches!(&status_now, Some(CertStatus::Revoked { at, .. }) if *at <= judged_at);
    let revoked_info = match &status_now {
        Some(CertStatus::Good) => json!({ "status": "good" }),
        Some(CertStatus::Revoked { at, reason }) => json!({
            "status": if *reason == Some(imzo_pki::crl::RevocationReason::CertificateHold) { "on_hold" } else { "revoked" },
            "revocationTime": tashkent(*at),
            "reason": reason.map(|r| r.name()),
        }),
        Some(CertStatus::Unknown) => json!({ "status": "unknown" }),
        None => json!({ "status": "not_checked" }),
    };
    // In the future, or before the certificate began: the signer's clock is wrong.
    let bad_signing_time = signer.errors.iter().any(|e| e.code == "bad_signing_time");
    let errors: Vec<String> = signer.errors.iter().map(|e| format!("{}: {}", e.code, e.message)).collect();
    let status = if !signer.signature_valid {
        BAD_SIGNATURE
    } else if let Some(t) = token.filter(|t| !t.valid) {
        timestamp_status(t)
    } else if bad_signing_time {
        BAD_SIGNING_TIME
    } else if revoked_when_judged {
        BAD_CERTIFICATE
    } else if !valid_at_signing {
        // "Not valid at the signing time" only where a time-stamp proves that time.
        let out_of_period = at_signing.is_some_and(|s| s.errors.iter().any(|e| matches!(e.code.as_str(), "expired" | "not_yet_valid")));
        if out_of_period && proven.is_some() { NOT_VALID_AT_SIGNING } else { BAD_CERTIFICATE }
    } else if !matches!(status_now, Some(CertStatus::Good) | Some(CertStatus::Revoked { .. })) {
        STATUS_UNKNOWN
    } else {
        OK
    };
    let policies = certificate.as_ref().map(imzo_pki::cms_tools::policy_identifiers).unwrap_or_default();
    let json = json!({
        "signerId": certificate.as_ref().and_then(|c| imzo_pki::cert::info(c).ok()).map(|i| json!({
            "issuerName": i.issuer,
            "serialNumber": i.serial_hex,
            "subjectKeyIdentifier": i.subject_key_id.map(hex::encode),
        })),
        "signingTime": signer.signing_time.map(tashkent),
        // The signer's clock wrote signingTime: a claim. What was judged, and when:
        "signingTimeSource": signer.signing_time.map(|_| "claimed"),
        "judgedAt": tashkent(judged_at),
        "judgedBy": if proven.is_some() { "timestamp" } else { "now" },
        "signature": signature_value.map(hex::encode),
        "digest": digest.map(hex::encode),
        "certificate": certificate.as_ref().map(|c| chain_of(c, pool).iter().map(certificate_json).collect::<Vec<_>>()).unwrap_or_default(),
        "OCSPResponse": ocsp_der.map(|der| base64::engine::general_purpose::STANDARD.encode(der)),
        "verified": signer.signature_valid,
        "certificateVerified": verified_now,
        "certificateValidAtSigningTime": valid_at_signing,
        "revokedStatusInfo": revoked_info,
        "timeStampInfo": token.map(|t| json!({
            "time": tashkent(t.info.gen_time),
            "tsa": t.info.tsa_name,
            "serialNumber": t.info.serial_hex,
            "policy": t.info.policy,
            "verified": t.valid,
            "errors": t.errors.iter().map(|e| e.code.clone()).collect::<Vec<_>>(),
        })),
        "policyIdentifiers": policies,
        "exception": if errors.is_empty() { Value::Null } else { Value::String(errors.join("; ")) },
        "status": status,
    });
    Judged { status, json, certificate, claimed_signing_time: signer.signing_time }
}

