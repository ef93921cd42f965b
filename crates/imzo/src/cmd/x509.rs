//! `imzo x509 verify`: checks a certificate's path to trusted roots.

use anyhow::{Context, bail};
use super::revocation::{CaChecker, CaStatus};
use imzo_pki::path::{self, PathError, PathOptions};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use time::OffsetDateTime;

/// Subcommands of `imzo x509`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Check that a certificate chains to a trusted root and is valid at a given time.
    Verify(VerifyArgs),
}

/// Arguments of `imzo x509 verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The certificate to check (PEM or DER; the first one if the file holds several).
    #[arg(value_name = "LEAF")]
    pub(crate) leaf: PathBuf,
    /// Intermediate certificates that may be used to build the path.
    #[arg(long, value_name = "CERT")]
    pub(crate) untrusted: Vec<PathBuf>,
    /// Trusted root certificates.
    #[arg(long, value_name = "CERT", required = true)]
    pub(crate) trust: Vec<PathBuf>,
    /// Certificate revocation lists to check against: the leaf is judged by them alone; a
    /// CA certificate of the path by them when one is from its issuer, else online.
    #[arg(long, value_name = "FILE")]
    pub(crate) crl: Vec<PathBuf>,
    /// Check at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
    /// Do not check revocation at all (e.g. offline). Without it, a status that cannot
    /// be learnt makes the verdict "cannot judge" (exit 2).
    #[arg(long, conflicts_with = "crl")]
    pub(crate) no_revocation_check: bool,
    /// Maximum number of intermediates between the leaf and the root.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub(crate) max_depth: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs `imzo x509`.
pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Verify(args) => verify(args),
    }
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut crls = Vec::with_capacity(args.crl.len());
    for path in &args.crl {
        crls.push(std::fs::read(path).with_context(|| format!("cannot read the CRL {}", path.display()))?);
    }
    let at = super::verify::parse_at(args.at.as_deref())?.unwrap_or_else(OffsetDateTime::now_utc);
    let leaf = super::trust::read_certificates(&args.leaf)?
        .into_iter()
        .next()
        .context("the leaf file holds no certificate")?;
    let mut intermediates = Vec::new();
    for path in &args.untrusted {
        intermediates.extend(super::trust::read_certificates(path)?);
    }
    let anchors = super::trust::find(&args.trust, None)?;
    let options = PathOptions {
        at,
        max_depth: args.max_depth,
    };
    let result = path::validate(&leaf, &intermediates, &anchors.certificates, &options);
    if let Err(PathError::Malformed(detail)) = &result {
        bail!("cannot read a certificate of the path: {detail}");
    }
    let leaf_info = imzo_pki::cert::info(&leaf)?;
    // Revocation: the CRLs given, or else what the certificate publishes (OCSP, then CRL).
    let revocation = match (&result, crls.is_empty()) {
        (Ok(chain), _) if chain.len() < 2 => None,
        (Ok(_), _) if args.no_revocation_check => {
            Some(super::revocation::Revocation::skipped("--no-revocation-check was given"))
        }
        (Ok(chain), false) => Some(super::revocation::check_crl_files(&leaf, &chain[1], &crls, at)?),
        (Ok(chain), true) => Some(super::revocation::check_online(&leaf, &chain[1], at)),
        (Err(_), _) => None,
    };
    // Every CA certificate of the path but the trust anchor, against its issuer: a
    // centre CA the root revoked takes its holders' certificates down with it.
    let cas: Vec<CaStatus> = match &result {
        Ok(chain) if !args.no_revocation_check => CaChecker::new(&crls).check(chain, at),
        _ => Vec::new(),
    };
    let revocation_json = revocation.as_ref().map_or_else(
        || json!({ "status": "not_checked", "source": serde_json::Value::Null }),
        super::revocation::Revocation::json,
    );
    let chain_revocation_json: Vec<_> = cas.iter().map(CaStatus::json).collect();
    let ca_problems: Vec<(&str, String)> = cas.iter().filter_map(CaStatus::problem).collect();
    let ca_revoked = ca_problems.iter().find(|(code, _)| *code == "ca_revoked");
    // A revocation found anywhere is a definite "no", even when another status could
    // not be learnt; only then does an unknown status make it "cannot judge".
    let leaf_negative = revocation.as_ref().is_some_and(super::revocation::Revocation::is_negative);
    if result.is_ok() && !leaf_negative && ca_revoked.is_none() {
        let mut unknown: Vec<(&str, String)> = Vec::new();
        if let Some(r) = revocation.as_ref().filter(|r| r.is_indeterminate()) {
            unknown.push(("revocation_unavailable", r.describe()));
        }
        unknown.extend(ca_problems.iter().cloned());
        if !unknown.is_empty() {
            if args.json {
                let errors: Vec<_> = unknown.iter().map(|(code, message)| json!({ "code": code, "message": message })).collect();
                println!(
                    "{}",
                    json!({ "valid": false, "errors": errors, "subject": leaf_info.subject,
                        "checked_at": super::verify::rfc3339(at), "chain": [], "revocation": revocation_json,
                        "chain_revocation": chain_revocation_json })
                );
            } else {
                for (_, message) in &unknown {
                    println!("Certificate {}: cannot judge: {message}", leaf_info.subject);
                }
                println!("  Retry when the CA's OCSP or CRL service answers, give --crl FILE, or accept the risk with --no-revocation-check.");
            }
            return Ok(ExitCode::from(2));
        }
    }
    let result = match (result, &revocation, ca_revoked) {
        (Ok(_), Some(r), _) if r.is_negative() => Err(Negative::Revoked(r.describe())),
        (Ok(_), _, Some((_, message))) => Err(Negative::CaRevoked(message.clone())),
        (Ok(chain), _, None) => Ok(chain),
        (Err(e), _, _) => Err(Negative::Path(e)),
    };
    match &result {
        Ok(chain) => {
            let mut subjects = Vec::with_capacity(chain.len());
            for cert in chain {
                subjects.push(imzo_pki::cert::info(cert)?);
            }
            if args.json {
                let chain: Vec<_> = subjects
                    .iter()
                    .map(|i| json!({ "subject": i.subject, "serial": i.serial_hex, "sha256": i.sha256_hex }))
                    .collect();
                println!(
                    "{}",
                    json!({
                        "valid": true,
                        "errors": [],
                        "subject": leaf_info.subject,
                        "checked_at": super::verify::rfc3339(at),
                        "chain": chain,
                        "revocation": revocation_json,
                        "chain_revocation": chain_revocation_json,
                    })
                );
            } else {
                println!(
                    "Certificate {} is valid at {}",
                    leaf_info.subject,
                    super::verify::tashkent(at)
                );
                for (depth, info) in subjects.iter().enumerate() {
                    println!("  {depth}: {}", info.subject);
                }
                if let Some(r) = &revocation {
                    println!("  {}", r.describe());
                }
                for ca in &cas {
                    println!("  {}", ca.describe());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    json!({
                        "valid": false,
                        "errors": [{ "code": e.code(), "message": e.to_string() }],
                        "subject": leaf_info.subject,
                        "checked_at": super::verify::rfc3339(at),
                        "chain": [],
                        "revocation": revocation_json,
                        "chain_revocation": chain_revocation_json,
                    })
                );
            } else {
                println!(
                    "Certificate {} is NOT valid: {e} ({})",
                    leaf_info.subject,
                    e.code()
                );
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// A negative verdict: a path problem, or a revocation found after the path held.
#[derive(Debug)]
enum Negative {
    /// The path does not hold.
    Path(PathError),
    /// The path holds but the certificate is revoked or on hold (description).
    Revoked(String),
    /// The path holds but a CA certificate of it is revoked or on hold (description
    /// naming it).
    CaRevoked(String),
}

impl Negative {
    fn code(&self) -> &str {
        match self {
            Negative::Path(e) => e.code(),
            Negative::Revoked(_) => "revoked",
            Negative::CaRevoked(_) => "ca_revoked",
        }
    }
}

impl std::fmt::Display for Negative {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Negative::Path(e) => e.fmt(f),
            Negative::Revoked(text) | Negative::CaRevoked(text) => f.write_str(text),
        }
    }
}
