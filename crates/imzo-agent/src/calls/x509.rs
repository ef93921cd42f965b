//! Plugin `x509`: certificates of loaded keys and certificates pages hand over.

use super::{Args, CallError, CallResult, b64, fail, reply};
use crate::service::Agent;
use der::Decode;
use imzo_pki::Certificate;
use imzo_pki::path::{PathOptions, validate};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) async fn call(agent: &Agent, origin: &str, name: &str, args: &Args<'_>) -> CallResult {
    match name {
        "get_certificate_chain" => {
            let id = args.string(0, "keyId")?;
            let handle = agent.key(&id, origin)?;
            let chain = handle
                .chain
                .iter()
                .map(|c| imzo_pki::cert::to_der(c).map(|d| b64(&d)))
                .collect::<Result<Vec<_>, _>>()?;
            reply!("certificates" => chain)
        }
        "get_certificate_info" => {
            let cert = certificate(args, 0, name)?;
            reply!("certificate_info" => info_json(&cert)?)
        }
        "verify_certificate" => {
            let cert = certificate(args, 0, name)?;
            let mut intermediates = Vec::new();
            if let Ok(Value::Array(list)) = args.value(1, "intermediates_64") {
                for (i, v) in list.iter().enumerate() {
                    let text = v.as_str().ok_or_else(|| {
                        CallError(format!(
                            "x509.verify_certificate: intermediate {} must be a base64 string",
                            i + 1
                        ))
                    })?;
                    intermediates.push(parse_certificate(text, name)?);
                }
            }
            let options = PathOptions {
                at: OffsetDateTime::now_utc(),
                max_depth: 8,
            };
            match validate(&cert, &intermediates, &agent.config.trust_anchors, &options) {
                Ok(path) => reply!("valid" => true, "path_length" => path.len()),
                Err(e) => reply!(
                    "valid" => false,
                    "errors" => vec![json!({"code": e.code(), "message": e.to_string()})],
                ),
            }
        }
        _ => fail!("unknown call x509.{name} (see http://127.0.0.1:64646/apidoc.html)"),
    }
}

fn parse_certificate(text: &str, call: &str) -> Result<Certificate, CallError> {
    let bytes = super::decode_base64(text)
        .map_err(|e| CallError(format!("x509.{call}: the certificate is not base64: {e}")))?;
    Certificate::from_der(&bytes)
        .or_else(|_| {
            imzo_pki::pem::read_certificates(&bytes)
                .ok()
                .and_then(|mut v| (v.len() == 1).then(|| v.remove(0)))
                .ok_or(())
        })
        .map_err(|()| CallError(format!("x509.{call}: not an X.509 certificate")))
}

fn certificate(args: &Args<'_>, i: usize, call: &str) -> Result<Certificate, CallError> {
    parse_certificate(&args.string(i, "cert_64")?, call)
}

/// The fields of a certificate, in E-IMZO's names plus ours.
pub(crate) fn info_json(cert: &Certificate) -> Result<Value, CallError> {
    let info = imzo_pki::cert::info(cert)?;
    let s = &info.subject_fields;
    Ok(json!({
        "serialNumber": info.serial_hex,
        "subjectName": info.subject,
        "issuerName": info.issuer,
        "validFrom": info.not_before.format(&Rfc3339)?,
        "validTo": info.not_after.format(&Rfc3339)?,
        "alias": imzo_pki::pfx::alias(cert)?,
        "is_ca": info.is_ca,
        "sha256": info.sha256_hex,
        "subject": {
            "cn": s.common_name,
            "name": s.given_name,
            "surname": s.surname,
            "o": s.organization,
            "t": s.title,
            "l": s.locality,
            "st": s.state,
            "c": s.country,
            "uid": s.uid,
            "pinfl": s.pinfl,
            "inn": s.company_inn,
            "businesscategory": s.business_category,
        },
    }))
}
