//! `imzo bench`: what the status benchmark (bench/ocsp.sh) needs from Imzo itself —
//! a deployment seeded with many certificates, and the cost of a very large CRL.

use anyhow::{Context, Result};
use imzo_ca::bootstrap;
use imzo_keys::{RawSigner, SoftwareKey};
use imzo_pki::crl::{self, CrlParams, RevocationReason, RevokedEntry};
use imzo_pki::name::Subject;
use imzo_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use time::OffsetDateTime;

/// Subcommands of `imzo bench`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Bootstrap a deployment in DATA (if new) and issue COUNT holder certificates
    /// straight from its CA, revoking every REVOKE_EVERY-th; write their PEMs to OUT.
    Seed {
        /// Data folder of the deployment (as for `imzo up --data`).
        #[arg(long)]
        data: PathBuf,
        /// Database URL (default: SQLite in DATA).
        #[arg(long)]
        database: Option<String>,
        /// How many certificates.
        #[arg(long, default_value_t = 1000)]
        count: u32,
        /// Revoke every N-th certificate (keyCompromise); 0 revokes none.
        #[arg(long, default_value_t = 10)]
        revoke_every: u32,
        /// Folder for the certificates' PEM files (NNNNN.pem).
        #[arg(long)]
        out: PathBuf,
    },
    /// Build, sign and check a CRL with ENTRIES revoked certificates; print its size and times.
    Crl {
        /// Number of entries.
        #[arg(long, default_value_t = 1_000_000)]
        entries: u32,
    },
}

/// Runs `imzo bench`.
pub(crate) fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Seed { data, database, count, revoke_every, out } => seed(data, database, count, revoke_every, out),
        Command::Crl { entries } => crl_size(entries),
    }
}

fn seed(data: PathBuf, database: Option<String>, count: u32, revoke_every: u32, out: PathBuf) -> Result<ExitCode> {
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let data = std::fs::canonicalize(&data)?;
    let url = database.unwrap_or_else(|| format!("sqlite://{}", data.join("imzo.db").display()));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = Store::connect(&url).await.context("cannot open the database")?;
        let settings = crate::config::Settings::load(&data, &crate::config::Overrides::default())?;
        let deployment = bootstrap::ensure(
            &store,
            &data,
            &bootstrap::Settings { public_url: Some(settings.public_url.clone()), ..bootstrap::Settings::default() },
        )
        .await
        .context("cannot set up the certification authorities")?;
        let started = Instant::now();
        // One key for all: the benchmark is about status answers, not key generation.
        let key = SoftwareKey::generate()?;
        let mut tx = store.begin().await?;
        for i in 0..count {
            let subject = Subject {
                common_name: format!("BENCH HOLDER {i:05}"),
                country: Some("UZ".into()),
                ..Default::default()
            };
            let issued = deployment.centre.issue_holder(&mut tx, &subject, key.public_key_der(), None).await?;
            if revoke_every > 0 && i % revoke_every == 0 {
                imzo_store::status::revoke(&mut tx, &issued.serial_hex, RevocationReason::KeyCompromise.code(), imzo_store::time_ms::now_ms())
                    .await?;
            }
            std::fs::write(out.join(format!("{i:05}.pem")), imzo_pki::cert::to_pem(&issued.certificate)?)?;
        }
        tx.commit().await.map_err(imzo_store::StoreError::from)?;
        println!("seeded {count} certificates in {:.1} s; PEMs in {}", started.elapsed().as_secs_f64(), out.display());
        store.close().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn crl_size(entries: u32) -> Result<ExitCode> {
    let key = SoftwareKey::generate()?;
    let now = OffsetDateTime::now_utc();
    let ca = imzo_pki::cert::issue(
        None,
        &key,
        &imzo_pki::cert::IssueParams {
            subject: Subject { common_name: "Bench CRL CA".into(), country: Some("UZ".into()), ..Default::default() },
            subject_public_key_der: key.public_key_der().to_vec(),
            serial: vec![1],
            not_before: now,
            not_after: now + time::Duration::days(1),
            profile: imzo_pki::cert::Profile::CentreCa,
            urls: Default::default(),
            policy_oid: None,
        },
    )?;
    let list: Vec<RevokedEntry> = (0..entries)
        .map(|i| {
            let mut serial = [0u8; 16];
            serial[0] = 0x40;
            serial[12..].copy_from_slice(&i.to_be_bytes());
            RevokedEntry { serial_hex: hex::encode(serial), revoked_at: now, reason: Some(RevocationReason::KeyCompromise) }
        })
        .collect();
    let params = CrlParams { number: 1, this_update: now, next_update: now + time::Duration::hours(24), entries: list };
    let started = Instant::now();
    let der = crl::build(&ca, &key, &params)?;
    let build = started.elapsed();
    let started = Instant::now();
    let info = crl::verify(&der, &ca)?;
    let check = started.elapsed();
    println!(
        "CRL with {} entries: {} bytes ({:.1} MiB); built and signed in {:.2} s (includes a verification); read and verified in {:.2} s",
        info.entries.len(),
        der.len(),
        der.len() as f64 / 1_048_576.0,
        build.as_secs_f64(),
        check.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
