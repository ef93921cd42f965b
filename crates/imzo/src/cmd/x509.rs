//! `imzo x509 verify`: checks a certificate's path to trusted roots.

use anyhow::{Context, bail};
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
    /// Certificate revocation lists to check against.
    #[arg(long, value_name = "FILE")]
    pub(crate) crl: Vec<PathBuf>,
    /// Check at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
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
    if !args.crl.is_empty() {
        bail!("CRL checking is not available yet: run without --crl");
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
                        "revocation": { "status": "not_checked", "source": serde_json::Value::Null },
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
                        "revocation": { "status": "not_checked", "source": serde_json::Value::Null },
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
