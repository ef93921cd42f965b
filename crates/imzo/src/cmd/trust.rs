//! Finding the trust anchors a check is made against, and `imzo trust`, which shows them.

use anyhow::{Context, bail};
use imzo_pki::Certificate;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The default data folder of an embedded deployment (DESIGN §4 `imzo up`).
const DEFAULT_DATA_DIR: &str = "imzo-data";
/// Environment variable naming a PEM bundle of trusted roots.
const TRUST_ENV: &str = "IMZO_TRUST";

/// Arguments of `imzo trust`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Trusted root certificates (PEM or DER); overrides every other source.
    #[arg(long = "trust", value_name = "CERT")]
    pub(crate) trust: Vec<PathBuf>,
    /// Data folder of a local deployment: its roots are read from DIR/pki/root.pem.
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Trusted roots and where they came from.
pub(crate) struct Anchors {
    /// The certificates.
    pub(crate) certificates: Vec<Certificate>,
    /// Which files or setting they were read from, for messages.
    pub(crate) source: String,
}

/// Reads every certificate in a PEM or DER file.
pub(crate) fn read_certificates(path: &Path) -> anyhow::Result<Vec<Certificate>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let certs = imzo_pki::pem::read_certificates(&bytes)
        .with_context(|| format!("{} is not a certificate in PEM or DER", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", path.display());
    }
    Ok(certs)
}

/// Finds the trust anchors: `--trust` files first, then `--data DIR/pki/root.pem`, then
/// the `IMZO_TRUST` bundle, then `./imzo-data/pki/root.pem` if that folder exists.
/// With none of these it is a usage error (DESIGN §4).
pub(crate) fn find(trust: &[PathBuf], data: Option<&Path>) -> anyhow::Result<Anchors> {
    if !trust.is_empty() {
        let mut certificates = Vec::new();
        for path in trust {
            certificates.extend(read_certificates(path)?);
        }
        let source = trust
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Ok(Anchors {
            certificates,
            source,
        });
    }
    if let Some(dir) = data {
        return from_data_dir(dir);
    }
    if let Some(bundle) = std::env::var_os(TRUST_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(bundle);
        let certificates = read_certificates(&path)
            .with_context(|| format!("reading {TRUST_ENV}={}", path.display()))?;
        return Ok(Anchors {
            certificates,
            source: format!("{TRUST_ENV}={}", path.display()),
        });
    }
    let default = Path::new(DEFAULT_DATA_DIR);
    if default.is_dir() {
        let mut anchors = from_data_dir(default)?;
        anchors.source.push_str(" (./imzo-data, as no --trust, --data or IMZO_TRUST was given)");
        return Ok(anchors);
    }
    bail!(
        "no trust anchors: give --trust CERT, --data DIR of a deployment, or set {TRUST_ENV} to a PEM bundle of roots"
    )
}

fn from_data_dir(dir: &Path) -> anyhow::Result<Anchors> {
    let path = dir.join("pki").join("root.pem");
    if !path.is_file() {
        bail!(
            "{} has no root certificate at {}",
            dir.display(),
            path.display()
        );
    }
    let certificates = read_certificates(&path)?;
    Ok(Anchors {
        certificates,
        source: path.display().to_string(),
    })
}

/// Runs `imzo trust`: lists the anchors `verify` would use.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let anchors = find(&args.trust, args.data.as_deref())?;
    let mut listed = Vec::new();
    for cert in &anchors.certificates {
        let info = imzo_pki::cert::info(cert)?;
        listed.push(info);
    }
    if args.json {
        let roots: Vec<_> = listed
            .iter()
            .map(|info| {
                serde_json::json!({
                    "subject": info.subject,
                    "serial": info.serial_hex,
                    "sha256": info.sha256_hex,
                    "not_before": super::verify::rfc3339(info.not_before),
                    "not_after": super::verify::rfc3339(info.not_after),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "source": anchors.source, "roots": roots })
        );
    } else {
        println!("Trust anchors from {}:", anchors.source);
        for info in &listed {
            println!("  {}", info.subject);
            println!("    SHA-256 {}", info.sha256_hex);
            println!(
                "    valid until {}",
                super::verify::tashkent(info.not_after)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
