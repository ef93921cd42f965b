//! `imzo up`: the whole embedded deployment in one process.

use crate::config::{Overrides, Settings, generated_secret};
use anyhow::{Context, Result};
use imzo_ca::bootstrap;
use imzo_pki::cert;
use imzo_ra::{RaConfig, Registration};
use imzo_store::Store;
use imzo_web::AppState;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::watch;

/// How often due background jobs (payment deadlines, ...) are looked for.
const JOB_INTERVAL: Duration = Duration::from_secs(5);
/// How often the SMS queue is looked at (codes must not wait long).
const SMS_INTERVAL: Duration = Duration::from_secs(2);

/// Arguments of `imzo up`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Data folder: CA keys and certificates, operator key file, secrets, SQLite database.
    #[arg(long, env = "IMZO_DATA", default_value = "imzo-data")]
    data: PathBuf,
    /// Address to listen on (overrides server.listen).
    #[arg(long)]
    listen: Option<String>,
    /// Database URL, `sqlite://PATH` or `postgres://…` (overrides database.url).
    #[arg(long)]
    database: Option<String>,
    /// Settings file (default: DATA/imzo.toml if present).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Runs `imzo up` until Ctrl-C or SIGTERM.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    crate::logging::init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: Args) -> Result<()> {
    let fresh = !args.data.exists();
    std::fs::create_dir_all(&args.data).with_context(|| format!("cannot create the data folder {}", args.data.display()))?;
    if fresh {
        // The folder holds CA keys, secrets and personal data: its owner's alone.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&args.data, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict {}", args.data.display()))?;
        }
    }
    let data = std::fs::canonicalize(&args.data).with_context(|| format!("cannot resolve {}", args.data.display()))?;
    let overrides = Overrides { config: args.config, listen: args.listen, database: args.database };
    let settings = Settings::load(&data, &overrides)?;
    let today = imzo_ra::fee::tashkent_date(time::OffsetDateTime::now_utc());
    if imzo_ra::fee::bcv_on(&settings.bcv_table, today).is_none() {
        anyhow::bail!(
            "fees.bcv has no base calculation value in force today ({today}, Asia/Tashkent): \
             add an entry dated on or before today"
        );
    }
    // Take the port before creating anything, so a busy port leaves no half-made deployment.
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;

    let store = Store::connect(&settings.database_url).await.context("cannot open the database")?;
    let deployment = bootstrap::ensure(
        &store,
        &data,
        &bootstrap::Settings {
            public_url: Some(settings.public_url.clone()),
            policy_oid: settings.policy_oid.clone(),
            algorithm: settings.ca_algorithm,
        },
    )
    .await
    .context("cannot set up the certification authorities")?;

    tracing::info!(gateway = %settings.sms_gateway, "SMS delivery");
    let otp_secret = generated_secret(&data.join("secrets").join("otp-secret"))?;
    let config = RaConfig::new(settings.bcv_table.clone(), otp_secret.as_bytes().to_vec(), settings.public_url.clone())
        .with_payme_key(Some(settings.payme_key.to_string()))
        .with_sms_gateway(
            imzo_ra::sms::Gateway::from_config(settings.sms.clone()).context("cannot set up the SMS gateway")?,
        )
        .with_lookups_per_minute(settings.lookups_per_minute)
        .with_start_limits(settings.starts_per_address_per_hour, settings.starts_per_pinfl_per_day)
        .with_trusted_proxies(settings.trusted_proxies.clone());
    let registration = Registration::new(store.clone(), deployment.centre.clone(), config);
    let state = AppState {
        registration: registration.clone(),
        payme: registration.clone(),
        ca_certificates: vec![
            (bootstrap::ROOT_ID.to_string(), cert::to_der(&deployment.root)?),
            (bootstrap::CENTRE_ID.to_string(), cert::to_der(&deployment.centre.certificate)?),
        ],
        dev_outbox: true,
        payme_sandbox: true,
        payme_merchant_id: settings.payme_merchant_id.clone(),
        click: Some(settings.click.clone()),
        paynet: Some(settings.paynet.clone()),
    };
    let responder = std::sync::Arc::new(
        imzo_ca::ocsp::OcspResponder::new(vec![deployment.centre.clone()], settings.ocsp_policy)
            .context("the centre CA certificate cannot serve OCSP")?,
    );
    let tsa = std::sync::Arc::new(
        imzo_ca::tsa::Tsa::new(deployment.centre.clone(), settings.tsa.clone()).context("cannot set up the TSA")?,
    );
    let app = imzo_web::router_with_services(state, settings.crl_policy, std::sync::Arc::clone(&responder), tsa);
    print_banner(&settings.public_url, &deployment, &data);

    let (stop_tx, stop_rx) = watch::channel(false);
    let status_jobs =
        tokio::spawn(run_status_jobs(store.clone(), deployment.centre.clone(), settings.crl_policy, responder, stop_rx.clone()));
    let sms = tokio::spawn(deliver_sms(registration.clone(), stop_rx.clone()));
    let jobs = tokio::spawn(run_jobs(registration, stop_rx));
    // The peer address feeds the per-client lookup limit.
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")?;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = jobs.await;
    let _ = sms.await;
    let _ = status_jobs.await;
    store.close().await;
    Ok(())
}

fn print_banner(base: &str, deployment: &bootstrap::Deployment, data: &std::path::Path) {
    println!("Imzo is up. Data folder: {}", data.display());
    println!("  API:              {base}/api/v1");
    println!("  OpenAPI:          {base}/api/openapi.json");
    println!("  SMS outbox:       {base}/api/v1/dev/outbox   (or: imzo outbox --server {base})");
    println!("  Payment sandbox:  {base}/sandbox/pay   (any provider: {base}/sandbox/pay/<number>)");
    println!("  CA certificates:  {base}/ca/{}.crt  {base}/ca/{}.crt", bootstrap::ROOT_ID, bootstrap::CENTRE_ID);
    println!("  CRL / OCSP:       {base}/crl/{}.crl  {base}/ocsp", bootstrap::CENTRE_ID);
    println!("  Time-stamps:      {base}/tsa   (RFC 3161; openssl ts -query … | curl --data-binary @- …)");
    println!("  Root (trust):     {}", deployment.root_pem.display());
    println!("  Operator key:     {}", deployment.operator_pfx.display());
    println!("  Its password:     {}", deployment.operator_password_file.display());
    println!("Press Ctrl-C to stop.");
}

async fn deliver_sms(registration: Registration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SMS_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = registration.deliver_sms().await {
                    tracing::warn!(error = %e, "SMS delivery failed; retrying at the next tick");
                }
            }
            _ = stop.changed() => break,
        }
    }
}

async fn run_jobs(registration: Registration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(JOB_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match registration.run_due_jobs().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(jobs = n, "background jobs done"),
                    Err(e) => tracing::warn!(error = %e, "background jobs failed; retrying at the next tick"),
                }
            }
            _ = stop.changed() => break,
        }
    }
}

/// Keeps CRLs and pre-signed OCSP answers current: rebuilds a CRL once a status change
/// is older than the configured delay (or nextUpdate nears), and signs OCSP answers
/// ahead for certificates whose cached answer is missing or ageing. Every node may run
/// it: the database decides which CRL is stored, and answers are per certificate.
async fn run_status_jobs(
    store: Store,
    ca: imzo_ca::CentreCa,
    crl_policy: imzo_ca::crl::CrlPolicy,
    responder: std::sync::Arc<imzo_ca::ocsp::OcspResponder>,
    mut stop: watch::Receiver<bool>,
) {
    let period = (crl_policy.delay / 2).clamp(Duration::from_millis(250), Duration::from_secs(5));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = imzo_ca::crl::refresh_if_due(&store, &ca, &crl_policy).await {
                    tracing::warn!(error = %e, "CRL refresh failed; retrying at the next tick");
                }
                match responder.presign_due(&store, 200).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(responses = n, "OCSP answers signed ahead"),
                    Err(e) => tracing::warn!(error = %e, "OCSP pre-signing failed; retrying at the next tick"),
                }
            }
            _ = stop.changed() => break,
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot wait for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot wait for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
