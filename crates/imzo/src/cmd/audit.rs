//! `imzo audit verify`: checks the hash chains of a deployment's audit log and names any
//! entry that was altered, removed or reordered.

use crate::config::{Overrides, Settings};
use anyhow::{Context, Result, bail};
use imzo_store::{Store, audit};
use std::path::PathBuf;
use std::process::ExitCode;

/// Subcommands of `imzo audit`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Check every chain of the audit log; exit 0 intact, 1 tampered, 2 could not check.
    Verify(VerifyArgs),
}

/// Arguments of `imzo audit verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// Data folder of the deployment (its settings say where the database is).
    #[arg(long, env = "IMZO_DATA", conflicts_with = "database")]
    data: Option<PathBuf>,
    /// Database URL, `sqlite://PATH` or `postgres://…`.
    #[arg(long)]
    database: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `imzo audit`.
pub(crate) fn run(command: Command) -> Result<ExitCode> {
    let Command::Verify(args) = command;
    let url = match (&args.database, &args.data) {
        (Some(url), _) => url.clone(),
        (None, Some(data)) => {
            if !data.is_dir() {
                bail!("--data {}: no such folder", data.display());
            }
            Settings::load(data, &Overrides::default())?
                .database_url
                .to_string()
        }
        (None, None) => bail!("give --data DIR or --database URL"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        let store = Store::connect(&url)
            .await
            .context("cannot open the database")?;
        let report = audit::verify(&store)
            .await
            .context("cannot read the audit log");
        store.close().await;
        report
    })?;
    if args.json {
        let problems: Vec<serde_json::Value> = report
            .problems
            .iter()
            .map(|p| serde_json::json!({ "id": p.id, "chain": p.chain, "seq": p.seq, "message": p.what }))
            .collect();
        let chains: Vec<serde_json::Value> = report
            .chains
            .iter()
            .map(|(c, n)| serde_json::json!({ "chain": c, "entries": n }))
            .collect();
        let out = serde_json::json!({
            "valid": report.is_intact(), "entries": report.entries, "chains": chains, "errors": problems
        });
        println!("{out}");
    } else if report.is_intact() {
        let chains: Vec<String> = report
            .chains
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect();
        println!(
            "audit log intact: {} entries ({})",
            report.entries,
            chains.join(", ")
        );
    } else {
        println!("audit log TAMPERED: {} problem(s)", report.problems.len());
        for p in &report.problems {
            println!("  {p}");
        }
    }
    Ok(if report.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
