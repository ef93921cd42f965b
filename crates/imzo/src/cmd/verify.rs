//! `imzo verify`: checks a CMS signature and tells who signed, when, and whether it holds.

use super::revocation::{CaChecker, CaStatus, Revocation};
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
    /// Judge the certificates at this time (RFC 3339). Without it: at the time a valid
    /// signature time-stamp proves, else now. The signing time inside the signature is
    /// the signer's own claim and is never used for this.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
    /// Certificate revocation lists (DER or PEM) to check the chain against, instead of
    /// asking the OCSP and CRL addresses the certificates name: the signer's certificate
    /// is judged by them alone; a CA certificate of the chain by them when one is from
    /// its issuer, else online.
    #[arg(long, value_name = "FILE")]
    pub(crate) crl: Vec<PathBuf>,
    /// Do not check revocation at all (e.g. offline). Without it, a status that cannot
    /// be learnt makes the verdict "cannot judge" (exit 2).
    #[arg(long, conflicts_with = "crl")]
    pub(crate) no_revocation_check: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Problems after which we cannot say yes or no: input missing or beyond what we read,
/// or the revocation status could not be learnt.
const UNJUDGEABLE: [&str; 4] = [
    "content_missing",
    "unsupported_algorithm",
    "malformed_certificate",
    "revocation_unavailable",
];

/// The time a signer is judged at, and what says so.
#[derive(Debug, Clone, Copy)]
struct Judged {
    /// The moment.
    at: OffsetDateTime,
    /// `at` (the verifier's --at), `timestamp` (a valid signature time-stamp) or `now`.
    by: &'static str,
}

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
    chain_revocation: &[CaStatus],
    timestamp: Option<&imzo_pki::tsp::TokenReport>,
    judged: Judged,
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
        // The signing time is written by the signer's own clock: a claim, not evidence.
        "signing_time_source": signer.signing_time.map(|_| "claimed"),
        "judged_at": rfc3339(judged.at),
        "judged_by": judged.by,
        "timestamp": super::timestamp::json(timestamp),
        "signature_valid": signer.signature_valid,
        "chain_valid": signer.chain_valid,
        "revocation": revocation.json(),
        // The CA certificates between the signer's and the trust anchor, each as its
        // issuer says (empty when not checked).
        "chain_revocation": chain_revocation.iter().map(CaStatus::json).collect::<Vec<_>>(),
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
    } else if problems.iter().any(|p| p.code == "revocation_unavailable") {
        "cannot judge: the revocation status could not be learnt; retry when the CA's OCSP or CRL service answers, give --crl FILE, or accept the risk with --no-revocation-check"
    } else {
        "cannot judge the signature"
    }
}

/// Each signer's status: its own certificate's, and its chain's CA certificates'.
struct Statuses<'a> {
    leaf: &'a [Revocation],
    chains: &'a [Vec<CaStatus>],
}

fn print_human(
    signers: &[SignerReport],
    statuses: Statuses<'_>,
    timestamps: &[Option<imzo_pki::tsp::TokenReport>],
    judged: &[Judged],
    trust_source: &str,
    verdict: &str,
) -> anyhow::Result<()> {
    println!("Trusted roots from {trust_source}");
    for (i, (signer, revocation)) in signers.iter().zip(statuses.leaf).enumerate() {
        let when = judged.get(i).copied().unwrap_or(Judged { at: OffsetDateTime::now_utc(), by: "now" });
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
            println!("  Signed: {} — claimed by the signer's computer clock, not proven", tashkent(at));
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
        let basis = match when.by {
            "timestamp" => "the time the time-stamp proves",
            "at" => "the time given with --at",
            _ => "now: no valid time-stamp proves an earlier time",
        };
        println!("  Judged at: {} ({basis})", tashkent(when.at));
        if revocation.status != "not_checked" || revocation.detail.is_some() {
            println!("  {}", revocation.describe());
        }
        let cas = statuses.chains.get(i).map(Vec::as_slice).unwrap_or_default();
        for ca in cas {
            println!("  {}", ca.describe());
        }
        let ca_problems: Vec<(&str, String)> = cas.iter().filter_map(CaStatus::problem).collect();
        if signer.errors.is_empty() && !revocation.is_negative() && !revocation.is_indeterminate() && ca_problems.is_empty() {
            println!("  Verdict: valid");
        } else {
            for p in &signer.errors {
                println!("  Problem: {} ({})", p.message, p.code);
            }
            for (code, message) in &ca_problems {
                println!("  Problem: {message} ({code})");
            }
            let judged = revocation.is_negative()
                || ca_problems.iter().any(|(code, _)| !UNJUDGEABLE.contains(code))
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
    let mut crls = Vec::with_capacity(args.crl.len());
    for path in &args.crl {
        crls.push(std::fs::read(path).with_context(|| format!("cannot read the CRL {}", path.display()))?);
    }
    let anchors = super::trust::find(&args.trust, args.data.as_deref())?;
    let now = OffsetDateTime::now_utc();
    let options = VerifyOptions {
        anchors: anchors.certificates.clone(),
        at: Some(at.unwrap_or(now)),
    };
    let mut report = cms::verify(&signature, content.as_deref(), &options).with_context(|| {
        format!(
            "{} is not a readable CMS signature",
            args.signature.display()
        )
    })?;
    let timestamps = super::timestamp::judge(&signature, &anchors.certificates)
        .with_context(|| format!("{} has an unreadable signature time-stamp", args.signature.display()))?;
    // The signing time is the signer's claim. Only a valid signature time-stamp proves
    // when the signature existed: then the chain and revocation are judged at its time
    // (unless --at says otherwise); without one, now.
    let judged: Vec<Judged> = (0..report.signers.len())
        .map(|i| match (at, timestamps.get(i).and_then(Option::as_ref).filter(|t| t.valid)) {
            (Some(at), _) => Judged { at, by: "at" },
            (None, Some(token)) => Judged { at: token.info.gen_time, by: "timestamp" },
            (None, None) => Judged { at: now, by: "now" },
        })
        .collect();
    for (i, when) in judged.iter().enumerate() {
        if when.by != "timestamp" {
            continue;
        }
        let again = cms::verify(
            &signature,
            content.as_deref(),
            &VerifyOptions { anchors: anchors.certificates.clone(), at: Some(when.at) },
        )?;
        if let (Some(slot), Some(judged)) = (report.signers.get_mut(i), again.signers.into_iter().nth(i)) {
            *slot = judged;
        }
    }
    // The issuer may be a trusted root or travel inside the signature.
    let carried = imzo_pki::cms_tools::certificates(&signature).unwrap_or_default();
    let mut candidates = anchors.certificates.clone();
    candidates.extend(carried.iter().cloned());
    let status = StatusCheck { candidates: &candidates, crls: &crls, skip: args.no_revocation_check };
    let revocations: Vec<Revocation> = report
        .signers
        .iter()
        .zip(&judged)
        .map(|(signer, when)| signer_revocation(signer, &status, when.at))
        .collect();
    // The CA certificates of each signer's chain, at the same moment as the signer's:
    // a centre CA revoked by the root takes every signature under it down with it.
    let mut ca_checker = CaChecker::new(&crls);
    let chain_revocations: Vec<Vec<CaStatus>> = report
        .signers
        .iter()
        .zip(&judged)
        .map(|(signer, when)| {
            chain_revocation(signer, &carried, &anchors.certificates, &mut ca_checker, args.no_revocation_check, when.at)
        })
        .collect();
    let mut revoked_problems: Vec<VerifyProblem> = revocations
        .iter()
        .filter_map(|r| {
            if r.is_negative() {
                Some(VerifyProblem { code: "revoked".into(), message: r.describe() })
            } else if r.is_indeterminate() {
                Some(VerifyProblem { code: "revocation_unavailable".into(), message: r.describe() })
            } else {
                None
            }
        })
        .collect();
    revoked_problems.extend(
        chain_revocations
            .iter()
            .flatten()
            .filter_map(CaStatus::problem)
            .map(|(code, message)| VerifyProblem { code: code.into(), message }),
    );
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
            .zip(&judged)
            .enumerate()
            .map(|(i, ((signer, revocation), when))| {
                let chain = chain_revocations.get(i).map(Vec::as_slice).unwrap_or_default();
                signer_json(signer, revocation, chain, timestamps.get(i).and_then(Option::as_ref), *when)
            })
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
        print_human(
            &report.signers,
            Statuses { leaf: &revocations, chains: &chain_revocations },
            &timestamps,
            &judged,
            &anchors.source,
            verdict,
        )?;
    }
    if valid {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(if definite { 1 } else { 2 }))
}

/// Where a signer's status may come from.
struct StatusCheck<'a> {
    /// Certificates that may be the signer's issuer (roots, and those in the signature).
    candidates: &'a [imzo_pki::Certificate],
    /// CRL files given with --crl: used instead of asking online.
    crls: &'a [Vec<u8>],
    /// --no-revocation-check.
    skip: bool,
}

/// The status of a signer's certificate at `at` (the judged time), checked only when the
/// signature and chain hold.
fn signer_revocation(signer: &SignerReport, check: &StatusCheck<'_>, at: OffsetDateTime) -> Revocation {
    let Some(cert) = signer.certificate.as_ref().filter(|_| signer.errors.is_empty()) else {
        return Revocation::not_checked();
    };
    if check.skip {
        return Revocation::skipped("--no-revocation-check was given");
    }
    let issuer = super::revocation::find_issuer(cert, check.candidates, at);
    match issuer {
        Some(issuer) if !check.crls.is_empty() => super::revocation::check_crl_files(cert, &issuer, check.crls, at)
            .unwrap_or_else(|e| Revocation::unavailable(format!("{e:#}"))),
        Some(issuer) => super::revocation::check_online(cert, &issuer, at),
        None if check.crls.is_empty()
            && imzo_pki::ocsp::status_urls(cert).is_ok_and(|u| u.ocsp.is_empty() && u.crl.is_empty()) =>
        {
            Revocation::not_checked()
        }
        None => Revocation::unavailable(
            "the issuer's certificate was not found (not trusted here, not in the signature, no caIssuers URL answered)"
                .into(),
        ),
    }
}

/// How deep a signer's chain may be; as `cms::verify` allows, so the same path is found.
const MAX_PATH_DEPTH: usize = 8;

/// The status at `at` of the CA certificates of a signer's chain (between its certificate
/// and the trust anchor), checked only when the signature and chain hold. The chain is
/// built again from what `cms::verify` used: the certificates the signature carries and
/// the trusted roots.
fn chain_revocation(
    signer: &SignerReport,
    carried: &[imzo_pki::Certificate],
    anchors: &[imzo_pki::Certificate],
    checker: &mut CaChecker<'_>,
    skip: bool,
    at: OffsetDateTime,
) -> Vec<CaStatus> {
    let Some(cert) = signer.certificate.as_ref().filter(|_| signer.errors.is_empty()) else {
        return Vec::new();
    };
    if skip {
        return Vec::new();
    }
    let intermediates: Vec<imzo_pki::Certificate> = carried.iter().filter(|c| *c != cert).cloned().collect();
    let options = imzo_pki::path::PathOptions { at, max_depth: MAX_PATH_DEPTH };
    match imzo_pki::path::validate(cert, &intermediates, anchors, &options) {
        Ok(chain) => checker.check(&chain, at),
        // cms::verify found this chain valid a moment ago; if it cannot be found again
        // the CAs' status is unknown, and unknown is never "valid".
        Err(e) => vec![CaStatus {
            subject: imzo_pki::cert::info(cert).map(|i| i.issuer).unwrap_or_default(),
            serial: String::new(),
            revocation: Revocation::unavailable(format!("the chain could not be built again to check its CAs: {e}")),
        }],
    }
}
