//! `imzo verify`: checks a CMS signature and tells who signed, when, and whether it holds.

use anyhow::{Context, bail};
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
    /// Trusted root certificates (PEM or DER).
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

fn signer_json(signer: &SignerReport) -> anyhow::Result<Value> {
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
        "timestamp": Value::Null,
        "signature_valid": signer.signature_valid,
        "chain_valid": signer.chain_valid,
        "revocation": { "status": "not_checked", "source": Value::Null },
        "errors": signer.errors.iter().map(problem_json).collect::<Vec<_>>(),
    }))
}

fn print_human(signers: &[SignerReport], valid: bool) -> anyhow::Result<()> {
    for (i, signer) in signers.iter().enumerate() {
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
        if signer.errors.is_empty() {
            println!("  Verdict: valid");
        } else {
            for p in &signer.errors {
                println!("  Problem: {} ({})", p.message, p.code);
            }
            println!("  Verdict: NOT valid");
        }
    }
    if signers.is_empty() {
        println!("The signature has no signers.");
    }
    println!(
        "{}",
        if valid {
            "Signature is VALID"
        } else {
            "Signature is NOT valid"
        }
    );
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
        anchors: anchors.certificates,
        at,
    };
    let report = cms::verify(&signature, content.as_deref(), &options).with_context(|| {
        format!(
            "{} is not a readable CMS signature",
            args.signature.display()
        )
    })?;
    let valid = report.all_valid();
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
    if args.json {
        let signers = report
            .signers
            .iter()
            .map(signer_json)
            .collect::<anyhow::Result<Vec<_>>>()?;
        println!(
            "{}",
            json!({
                "valid": valid,
                "errors": problems.iter().map(|p| problem_json(p)).collect::<Vec<_>>(),
                "signers": signers,
            })
        );
    } else {
        print_human(&report.signers, valid)?;
    }
    if valid {
        return Ok(ExitCode::SUCCESS);
    }
    let definite = problems
        .iter()
        .any(|p| !UNJUDGEABLE.contains(&p.code.as_str()));
    if !definite && !args.json {
        if problems.iter().any(|p| p.code == "content_missing") {
            bail!("the signature is detached: give the signed file with --content FILE");
        }
        bail!("could not judge the signature");
    }
    Ok(ExitCode::from(if definite { 1 } else { 2 }))
}
