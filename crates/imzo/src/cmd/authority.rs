//! `imzo authority revoke|hold|release`: the authorised body changes the status of a
//! certificate its root issued (a registration centre's CA). It works on the deployment's
//! database directly — holding the data folder is what makes one the authorised body in
//! the embedded default — and the running server publishes the change in
//! `/crl/root.crl` within the configured CRL delay.

use crate::config::{Overrides, Settings};
use anyhow::{Context, Result, bail};
use imzo_ca::StatusError;
use imzo_ca::revocation::RevocationAction;
use imzo_pki::crl::RevocationReason;
use imzo_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// Subcommands of `imzo authority`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Revoke a certificate the root issued (default reason cACompromise).
    Revoke(Args),
    /// Suspend it (certificateHold).
    Hold(Args),
    /// Lift a suspension.
    Release(Args),
}

/// Arguments of each `imzo authority` subcommand.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Serial of the certificate, hex (e.g. `openssl x509 -noout -serial -in DATA/pki/rc1.pem`).
    #[arg(long)]
    serial: String,
    /// RFC 5280 reason for `revoke`: cACompromise, keyCompromise, superseded,
    /// cessationOfOperation, affiliationChanged, privilegeWithdrawn, unspecified.
    #[arg(long)]
    reason: Option<String>,
    /// Data folder of the deployment (its settings say where the database is).
    #[arg(long, env = "IMZO_DATA", conflicts_with = "database")]
    data: Option<PathBuf>,
    /// Database URL, `sqlite://PATH` or `postgres://…`.
    #[arg(long)]
    database: Option<String>,
}

/// Runs `imzo authority`.
pub(crate) fn run(command: Command) -> Result<ExitCode> {
    let (action, args) = match command {
        Command::Revoke(a) => (RevocationAction::Revoke, a),
        Command::Hold(a) => (RevocationAction::Hold, a),
        Command::Release(a) => (RevocationAction::Release, a),
    };
    if action != RevocationAction::Revoke && args.reason.is_some() {
        bail!("--reason is for `imzo authority revoke` only");
    }
    let reason = args
        .reason
        .as_deref()
        .map(RevocationReason::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--reason: {e}"))?;
    if reason == Some(RevocationReason::CertificateHold) {
        bail!("--reason certificateHold: use `imzo authority hold` to suspend");
    }
    let url = match (&args.database, &args.data) {
        (Some(url), _) => url.clone(),
        (None, Some(data)) => {
            if !data.is_dir() {
                bail!("--data {}: no such folder", data.display());
            }
            Settings::load(data, &Overrides::default())?.database_url.to_string()
        }
        (None, None) => bail!("give --data DIR or --database URL"),
    };
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    let view = runtime.block_on(async {
        let store = Store::connect(&url).await.context("cannot open the database")?;
        let view = imzo_ca::root::change(&store, &args.serial, action, reason).await;
        store.close().await;
        anyhow::Ok(view)
    })?;
    let view = match view {
        Ok(view) => view,
        // A definite no (unknown serial, not the root's, wrong status): exit 1.
        Err(
            e @ (StatusError::NotFound(_)
            | StatusError::Conflict(_)
            | StatusError::BadRequest { .. }
            | StatusError::Forbidden { .. }),
        ) => {
            eprintln!("imzo: {e}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    println!("Certificate {}: {}", view.serial, view.status);
    if let Some(reason) = &view.reason {
        println!("  Reason:  {reason}");
    }
    println!("  By:      {}", view.by);
    println!("  The root's CRL (/crl/root.crl) lists the change within the CRL delay.");
    Ok(ExitCode::SUCCESS)
}
