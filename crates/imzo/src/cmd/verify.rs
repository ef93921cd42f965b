//! `imzo verify`: checks a CMS signature and tells who signed, when, and whether it holds.

use super::revocation::Revocation;
use anyhow::Context;
use imzo_pki::cms::{self, SignerReport, VerifyOptions, VerifyProblem};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Arguments of `imzo verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The signature (CMS SignedData in PEM, DER or BER).
    #[arg(value_name = "SIG")]
    pub(crate) signature: PathBuf,
    /// The signed content, for a detached signature.
    #[arg(long, value_name = "FILE")]
    pub(crate) content: Option<PathBuf>,
    /// Trusted root certificates (PEM or DER). Without it: the roots of `--data DIR`, else
    /// the bundle named by IMZO_TRUST, else ./imzo-data/pki/root.pem if that exists.
    #[arg(long = "trust", value_name = "CERT")]
    pub(crate) trust: Vec<PathBuf>,
    /// Data folder of a local deployment whose roots to trust (DIR/pki/root.pem).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// Check the certificates at this time (RFC 3339) instead of the claimed signing time.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Problems after which we cannot say yes or no: input missing or beyond what we read.
const UNJUDGEABLE: [&str; 3] = [
    "content_missing",
    "unsupported_algorithm",
    "malformed_certificate",
];

/// RFC 3339 in UTC.
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// Business time for people: Asia/Tashkent (UTC+5, no daylight saving).
pub(crate) fn tashkent(at: OffsetDateTime) -> String {
    let local = at.to_offset(time::macros::offset!(+5));
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let text = local.format(&format).unwrap_or_else(|_| local.to_string());
    format!("{text} (Asia/Tashkent)")
}

/// Parses `--at`.
pub(crate) fn parse_at(at: Option<&str>) -> anyhow::Result<Option<OffsetDateTime>> {
    at.map(|text| {
        OffsetDateTime::parse(text, &Rfc3339).with_context(|| {
            format!("--at {text:?} is not an RFC 3339 time such as 2026-01-31T12:00:00Z")
        })
    })
    .transpose()
}

fn problem_json(p: &VerifyProblem) -> Value {
    json!({ "code": p.code, "message": p.message })
}

fn signer_json(
    signer: &SignerReport,
    revocation: &Revocation,
    timestamp: Option<&imzo_pki::tsp::TokenReport>,
) -> anyhow::Result<Value> {
    let info = signer
        .certificate
        .as_ref()
        .map(imzo_pki::cert::info)
        .transpose()?;
    let fields = info.as_ref().map(|i| &i.subject_fields);
    Ok(json!({
        "subject": info.as_ref().map(|i| i.subject.clone()),
        "pinfl": fields.and_then(|f| f.pinfl.clone()),
        "inn": fields.and_then(|f| f.company_inn.clone().or_else(|| f.uid.clone())),
        "serial": info.as_ref().map(|i| i.serial_hex.clone()),
        "issuer": info.as_ref().map(|i| i.issuer.clone()),
        "signing_time": signer.signing_time.map(rfc3339),
        "timestamp": super::timestamp::json(timestamp),
        "signature_valid": signer.signature_valid,
        "chain_valid": signer.chain_valid,
        "revocation": revocation.json(),
        "errors": signer.errors.iter().map(problem_json).collect::<Vec<_>>(),
    }))
}

/// The closing line of the human report.
fn overall_verdict(valid: bool, definite: bool, problems: &[&VerifyProblem]) -> &'static str {
    if valid {
        "Signature is VALID"
    } else if definite {
        "Signature is NOT valid"
    } else if problems.iter().any(|p| p.code == "content_missing") {
        "cannot judge: the signature is detached; give the signed file with --content"
    } else {
        "cannot judge the signature"
    }
}

fn print_human(
    signers: &[SignerReport],
    revocations: &[Revocation],
    timestamps: &[Option<imzo_pki::tsp::TokenReport>],
    trust_source: &str,
    verdict: &str,
) -> anyhow::Result<()> {
    println!("Trusted roots from {trust_source}");
    for (i, (signer, revocation)) in signers.iter().zip(revocations).enumerate() {
        let info = signer
            .certificate
            .as_ref()
            .map(imzo_pki::cert::info)
            .transpose()?;
        match &info {
            Some(info) => {
                let fields = &info.subject_fields;
                println!("Signer {}: {}", i + 1, fields.common_name);
                if let Some(pinfl) = &fields.pinfl {
                    println!("  PINFL:  {pinfl}");
                }
                if let Some(inn) = fields.company_inn.as_ref().or(fields.uid.as_ref()) {
                    println!("  INN:    {inn}");
                }
                println!("  Serial: {}", info.serial_hex);
                println!("  Issuer: {}", info.issuer);
            }
            None => println!("Signer {}: certificate not included", i + 1),
        }
        if let Some(at) = signer.signing_time {
            println!("  Signed: {}", tashkent(at));
        }
        if let Some(Some(ts)) = timestamps.get(i) {
            let tsa = ts.info.tsa_name.as_deref().unwrap_or("unnamed TSA");
            if ts.valid {
                println!("  Time-stamp: {} by {tsa} (valid)", tashkent(ts.info.gen_time));
            } else {
                let why: Vec<&str> = ts.errors.iter().map(|p| p.code.as_str()).collect();
                println!("  Time-stamp: {} by {tsa} (NOT valid: {})", tashkent(ts.info.gen_time), why.join(", "));
            }
        }
        if revocation.status != "not_checked" {
            println!("  {}", revocation.describe());
        }
        if signer.errors.is_empty() && !revocation.is_negative() {
            println!("  Verdict: valid");
        } else {
            for p in &signer.errors {
                println!("  Problem: {} ({})", p.message, p.code);
            }
            let judged = revocation.is_negative()
                || signer.errors.iter().any(|p| !UNJUDGEABLE.contains(&p.code.as_str()));
            println!("  Verdict: {}", if judged { "NOT valid" } else { "cannot judge" });
        }
    }
    if signers.is_empty() {
        println!("The signature has no signers.");
    }
    println!("{verdict}");
    Ok(())
}

/// Runs `imzo verify`.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let at = parse_at(args.at.as_deref())?;
    let signature = std::fs::read(&args.signature)
        .with_context(|| format!("cannot read {}", args.signature.display()))?;
    let content = match &args.content {
        Some(path) => {
            Some(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)
        }
        None => None,
    };
    let anchors = super::trust::find(&args.trust, args.data.as_deref())?;
    let options = VerifyOptions {
        anchors: anchors.certificates.clone(),
        at,
    };
    let mut report = cms::verify(&signature, content.as_deref(), &options).with_context(|| {
        format!(
            "{} is not a readable CMS signature",
            args.signature.display()
        )
    })?;
    let timestamps = super::timestamp::judge(&signature, &anchors.certificates)
        .with_context(|| format!("{} has an unreadable signature time-stamp", args.signature.display()))?;
    // A valid signature time-stamp proves when the signature existed: the chain is judged
    // then (unless --at says otherwise), and so is revocation.
    let proven: Vec<Option<OffsetDateTime>> = timestamps
        .iter()
        .map(|t| t.as_ref().filter(|t| t.valid).map(|t| t.info.gen_time))
        .collect();
    if at.is_none() {
        for (i, when) in proven.iter().enumerate() {
            let Some(when) = when else { continue };
            let again = cms::verify(
                &signature,
                content.as_deref(),
                &VerifyOptions { anchors: anchors.certificates.clone(), at: Some(*when) },
            )?;
            if let (Some(slot), Some(judged)) = (report.signers.get_mut(i), again.signers.into_iter().nth(i)) {
                *slot = judged;
            }
        }
    }
    let revocations: Vec<Revocation> = report
        .signers
        .iter()
        .enumerate()
        .map(|(i, signer)| {
            let when = at.or(proven.get(i).copied().flatten());
            signer_revocation(signer, &anchors.certificates, when)
        })
        .collect();
    let revoked_problems: Vec<VerifyProblem> = revocations
        .iter()
        .filter(|r| r.is_negative())
        .map(|r| VerifyProblem { code: "revoked".into(), message: r.describe() })
        .collect();
    let valid = report.all_valid() && revoked_problems.is_empty();
    let mut problems: Vec<&VerifyProblem> = report
        .signers
        .iter()
        .flat_map(|s| s.errors.iter())
        .collect();
    let no_signers = VerifyProblem {
        code: "no_signers".into(),
        message: "the signature has no signers".into(),
    };
    if report.signers.is_empty() {
        problems.push(&no_signers);
    }
    problems.extend(revoked_problems.iter());
    let definite = problems
        .iter()
        .any(|p| !UNJUDGEABLE.contains(&p.code.as_str()));
    if args.json {
        let signers = report
            .signers
            .iter()
            .zip(&revocations)
            .enumerate()
            .map(|(i, (signer, revocation))| signer_json(signer, revocation, timestamps.get(i).and_then(Option::as_ref)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        println!(
            "{}",
            json!({
                "valid": valid,
                "errors": problems.iter().map(|p| problem_json(p)).collect::<Vec<_>>(),
                "signers": signers,
                "trust_source": anchors.source,
            })
        );
    } else {
        let verdict = overall_verdict(valid, definite, &problems);
        print_human(&report.signers, &revocations, &timestamps, &anchors.source, verdict)?;
    }
    if valid {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(if definite { 1 } else { 2 }))
}

/// The status of a signer's certificate at the time judged (`--at`, else the claimed
/// signing time, else now), checked only when the signature and chain hold.
fn signer_revocation(signer: &SignerReport, anchors: &[imzo_pki::Certificate], at: Option<OffsetDateTime>) -> Revocation {
    let Some(cert) = signer.certificate.as_ref().filter(|_| signer.errors.is_empty()) else {
        return Revocation::not_checked();
    };
    let when = at.or(signer.signing_time).unwrap_or_else(OffsetDateTime::now_utc);
    match super::revocation::find_issuer(cert, anchors) {
        Some(issuer) => super::revocation::check_online(cert, &issuer, when),
        None if imzo_pki::ocsp::status_urls(cert).is_ok_and(|u| u.ocsp.is_empty() && u.crl.is_empty()) => Revocation::not_checked(),
        None => Revocation::unavailable("the issuer's certificate was not found (not trusted here, no caIssuers URL answered)".into()),
    }
}
