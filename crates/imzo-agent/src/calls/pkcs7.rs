//! Plugin `pkcs7`: CMS signatures (create, co-sign, inspect, verify).

use super::{Args, CallError, CallResult, b64, fail, reply};
use crate::service::Agent;
use crate::signeddata;
use imzo_pki::cms::{self, SignOptions, SignerReport, VerifyOptions};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) async fn call(agent: &Agent, origin: &str, name: &str, args: &Args<'_>) -> CallResult {
    match name {
        "create_pkcs7" => {
            let data = args.base64(0, "data_base64")?;
            let key_id = args.string(1, "keyId")?;
            let detached = match args.optional(2, "detached")?.as_deref() {
                None | Some("no") => false,
                Some("yes") => true,
                Some(other) => fail!(
                    "pkcs7.create_pkcs7: detached must be \"yes\", \"no\" or \"\", not {other:?}"
                ),
            };
            let signed = sign(agent, origin, &key_id, &data, detached).await?;
            reply!(
                "pkcs7_64" => b64(&signed.cms),
                "signature_hex" => hex::encode(&signed.signature),
                "signer_serial_number" => signed.serial,
            )
        }
        "append_pkcs7_attached" => {
            let existing = args.base64(0, "pkcs7_64")?;
            let key_id = args.string(1, "keyId")?;
            if !signeddata::is_attached(&existing)? {
                fail!(
                    "pkcs7.append_pkcs7_attached: the signature is detached (use append_pkcs7_detached)"
                );
            }
            let report = cms::verify(&existing, None, &no_anchors())
                .map_err(|e| CallError(format!("pkcs7.append_pkcs7_attached: {e}")))?;
            let signed = sign(agent, origin, &key_id, &report.content, false).await?;
            cosigned(&existing, signed)
        }
        "append_pkcs7_detached" => {
            let existing = args.base64(0, "pkcs7_64")?;
            let key_id = args.string(1, "keyId")?;
            // The content cannot be recovered from a detached signature: the page passes it.
            let data = args.base64(2, "data_64")?;
            let report = cms::verify(&existing, Some(&data), &no_anchors())
                .map_err(|e| CallError(format!("pkcs7.append_pkcs7_detached: {e}")))?;
            if report
                .signers
                .iter()
                .any(|s| s.errors.iter().any(|e| e.code == "digest_mismatch"))
            {
                fail!(
                    "pkcs7.append_pkcs7_detached: data_64 is not the content the existing signature covers"
                );
            }
            let signed = sign(agent, origin, &key_id, &data, true).await?;
            cosigned(&existing, signed)
        }
        "attach_timestamp_token_pkcs7" => {
            let existing = args.base64(0, "pkcs7_64")?;
            let serial = args.string(1, "signer_serial")?;
            let token = args.base64(2, "token_64")?;
            let stamped = signeddata::attach_timestamp(&existing, &serial, &token)
                .map_err(|e| CallError(format!("pkcs7.attach_timestamp_token_pkcs7: {e}")))?;
            reply!("pkcs7_64" => b64(&stamped))
        }
        "get_pkcs7_attached_info" | "verify_pkcs7_attached" => {
            let cms_der = args.base64(0, "pkcs7_64")?;
            inspect(agent, name, &cms_der, None)
        }
        "get_pkcs7_detached_info" | "verify_pkcs7_detached" => {
            let cms_der = args.base64(0, "pkcs7_64")?;
            let data = args.base64(1, "data_64")?;
            inspect(agent, name, &cms_der, Some(&data))
        }
        _ => fail!("unknown call pkcs7.{name} (see http://127.0.0.1:64646/apidoc.html)"),
    }
}

fn no_anchors() -> VerifyOptions {
    VerifyOptions {
        anchors: Vec::new(),
        at: None,
    }
}

pub(crate) struct Signed {
    pub(crate) cms: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    pub(crate) serial: String,
}

/// Signs `data` with the loaded key after the user's consent.
async fn sign(
    agent: &Agent,
    origin: &str,
    key_id: &str,
    data: &[u8],
    detached: bool,
) -> Result<Signed, CallError> {
    let handle = agent.key(key_id, origin)?;
    let what = format!(
        "a document ({})",
        if detached {
            "detached signature"
        } else {
            "attached signature"
        }
    );
    agent
        .consent_to_sign(origin, key_id, &handle, &what, data)
        .await?;
    let serial = handle
        .chain
        .first()
        .map(|c| imzo_pki::cert::info(c).map(|i| i.serial_hex))
        .transpose()?
        .unwrap_or_default();
    let data = data.to_vec();
    let cms_der = tokio::task::spawn_blocking(move || {
        cms::sign(
            &data,
            handle.key.as_ref(),
            &handle.chain,
            &SignOptions {
                detached,
                signing_time: OffsetDateTime::now_utc(),
            },
        )
    })
    .await??;
    let signature = signeddata::last_signature(&cms_der)?;
    Ok(Signed {
        cms: cms_der,
        signature,
        serial,
    })
}

fn cosigned(existing: &[u8], signed: Signed) -> CallResult {
    let merged = signeddata::merge(existing, &signed.cms)?;
    reply!(
        "pkcs7_64" => b64(&merged),
        "signature_hex" => hex::encode(&signed.signature),
        "signer_serial_number" => signed.serial,
    )
}

fn time_text(t: Option<OffsetDateTime>) -> Value {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

fn signer_json(s: &SignerReport) -> Value {
    let cert = s
        .certificate
        .as_ref()
        .and_then(|c| imzo_pki::cert::info(c).ok());
    let alias = s
        .certificate
        .as_ref()
        .and_then(|c| imzo_pki::pfx::alias(c).ok());
    json!({
        "serial_number": cert.as_ref().map(|i| i.serial_hex.clone()),
        "subject": cert.as_ref().map(|i| i.subject.clone()),
        "issuer": cert.as_ref().map(|i| i.issuer.clone()),
        "pinfl": cert.as_ref().and_then(|i| i.subject_fields.pinfl.clone()),
        "inn": cert.as_ref().and_then(|i| i.subject_fields.company_inn.clone().or_else(|| i.subject_fields.uid.clone())),
        "alias": alias,
        "signing_time": time_text(s.signing_time),
        "signature_valid": s.signature_valid,
        "chain_valid": s.chain_valid,
        "valid": s.errors.is_empty(),
        "errors": s.errors.iter().map(|e| json!({"code": e.code, "message": e.message})).collect::<Vec<_>>(),
    })
}

/// `get_*_info` and `verify_*`: one JSON object per signer, the embedded certificates.
fn inspect(agent: &Agent, name: &str, cms_der: &[u8], detached: Option<&[u8]>) -> CallResult {
    let verifying = name.starts_with("verify");
    let options = if verifying {
        VerifyOptions {
            anchors: agent.config.trust_anchors.clone(),
            at: None,
        }
    } else {
        no_anchors()
    };
    let report = cms::verify(cms_der, detached, &options)
        .map_err(|e| CallError(format!("pkcs7.{name}: {e}")))?;
    let signers: Vec<Value> = report.signers.iter().map(signer_json).collect();
    if verifying {
        return reply!(
            "valid" => report.all_valid(),
            "signers" => signers,
        );
    }
    let certificates: Vec<String> = signeddata::certificates(cms_der)?
        .iter()
        .filter_map(|c| imzo_pki::cert::to_der(c).ok())
        .map(|d| b64(&d))
        .collect();
    let mut fields = serde_json::Map::new();
    fields.insert("signers".into(), json!(signers));
    fields.insert("certificates".into(), json!(certificates));
    if detached.is_none() {
        fields.insert("document_64".into(), json!(b64(&report.content)));
    }
    Ok(fields)
}
