//! `imzo sign`: a CMS SignedData with the key of a .pfx.

use anyhow::{Context, bail};
use base64::Engine;
use imzo_pki::PkiError;
use imzo_pki::cms::{self, SignOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use time::OffsetDateTime;

/// Arguments of `imzo sign`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The .pfx holding the signing key and its certificate chain.
    #[arg(long, value_name = "FILE")]
    pub(crate) pfx: PathBuf,
    /// File whose first line is the password (prompted for on a terminal if omitted).
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    /// Leave the content out of the signature.
    #[arg(long)]
    pub(crate) detached: bool,
    /// Time-stamping authority to add a signature time-stamp (CAdES-T).
    #[arg(long, value_name = "URL")]
    pub(crate) tsa: Option<String>,
    /// Write PEM ("CMS") instead of DER.
    #[arg(long)]
    pub(crate) pem: bool,
    /// The file to sign.
    #[arg(value_name = "IN")]
    pub(crate) input: PathBuf,
    /// Where to write the signature.
    #[arg(short = 'o', long = "out", value_name = "OUT")]
    pub(crate) output: PathBuf,
}

/// PEM text with 64-character lines.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Runs `imzo sign`.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let content = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    crate::keys::check_readable(&args.pfx)?;
    let password = read_password_for(&args)?;
    let key = match imzo_keys::pfxfile::open(&args.pfx, &password) {
        Ok(key) => key,
        Err(
            imzo_keys::KeyError::WrongPassword(_)
            | imzo_keys::KeyError::Pki(PkiError::WrongPassword),
        ) => {
            eprintln!("imzo: {}: wrong password", args.pfx.display());
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(crate::keys::open_error(&args.pfx, e)),
    };
    if key.chain.is_empty() {
        bail!("{} holds no certificate to sign with", args.pfx.display());
    }
    let infos = key.chain.iter().map(imzo_pki::cert::info).collect::<Result<Vec<_>, _>>()?;
    if super::pfx::is_placeholder(&infos) {
        bail!(
            "{} has no certificate from a registration centre yet (only the placeholder made at enrolment): \
             confirm the application with `imzo enroll confirm` first",
            args.pfx.display()
        );
    }
    let options = SignOptions {
        detached: args.detached,
        signing_time: OffsetDateTime::now_utc(),
    };
    let der = cms::sign(&content, &key.key, &key.chain, &options).context("signing failed")?;
    // CAdES-T: the token is over the signature value, so it can only come afterwards.
    let der = match &args.tsa {
        Some(url) => super::timestamp::stamp_all(&der, url).context("cannot time-stamp the signature")?,
        None => der,
    };
    let bytes = if args.pem {
        pem_encode("CMS", &der).into_bytes()
    } else {
        der
    };
    std::fs::write(&args.output, bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(ExitCode::SUCCESS)
}

fn read_password_for(args: &Args) -> anyhow::Result<zeroize::Zeroizing<String>> {
    super::pfx::read_password(args.password_file.as_deref())
}
