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
        .with_challenges_per_minute(settings.challenges_per_minute)
        .with_start_limits(settings.starts_per_address_per_hour, settings.starts_per_pinfl_per_day)
        .with_trusted_proxies(settings.trusted_proxies.clone());
    // One workflow for every centre: an application goes to the centre its applicant chose.
    let registration = Registration::new(store.clone(), deployment.centre.clone(), config)
        .with_centres(deployment.authority.centres.clone())
        .with_register_signer(deployment.authority.register_signer.clone());
    let state = AppState {
        registration: registration.clone(),
        payme: registration.clone(),
        ca_certificates: vec![
            (bootstrap::ROOT_ID.to_string(), cert::to_der(&deployment.root)?),
            (bootstrap::CENTRE_ID.to_string(), cert::to_der(&deployment.centre.certificate)?),
        ],
        dev_outbox: dev_outbox(&settings),
        payme_sandbox: settings.payment_sandbox,
        payme_merchant_id: settings.payme_merchant_id.clone(),
        click: Some(settings.click.clone()),
        paynet: Some(settings.paynet.clone()),
    };
    let responder = std::sync::Arc::new(
        imzo_ca::ocsp::OcspResponder::new(
            // Every centre's CA, and the root (centre CAs and authorised persons).
            deployment
                .authority
                .centres
                .iter()
                .cloned()
                .chain(std::iter::once(deployment.authority.root_ca.clone()))
                .collect(),
            settings.ocsp_policy,
        )
            .context("the centre CA certificate cannot serve OCSP")
            .and_then(|r| crate::token_keys::ocsp(r, settings.ocsp_key.as_deref()))?,
    );
    let tsa = std::sync::Arc::new(
        imzo_ca::tsa::Tsa::new(deployment.centre.clone(), settings.tsa.clone())
            .context("cannot set up the TSA")
            .and_then(|t| crate::token_keys::tsa(t, settings.tsa_key.as_deref()))?,
    );
    let app = imzo_web::router_with_root_crl(
        state,
        settings.crl_policy,
        std::sync::Arc::clone(&responder),
        tsa,
        Some(deployment.root_crl.clone()),
    );
    warn_if_sandbox_beside_real_providers(&settings);
    print_banner(&settings, &deployment, &data);

    let (stop_tx, stop_rx) = watch::channel(false);
    let status_jobs =
        tokio::spawn(run_status_jobs(
            store.clone(),
            deployment
                .authority
                .centres
                .iter()
                .map(imzo_ca::crl::CrlIssuer::of_centre)
                .chain(std::iter::once(deployment.root_crl.clone()))
                .collect(),
            settings.crl_policy,
            responder,
            stop_rx.clone(),
        ));
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

/// The SMS outbox shows one-time codes to anyone who asks: served only while SMS go to
/// the local outbox (no real gateway), never beside Eskiz or Play Mobile.
fn dev_outbox(settings: &Settings) -> bool {
    matches!(settings.sms, imzo_gateways::sms::GatewayConfig::Outbox)
}

/// A sandbox forced on beside a real provider lets anyone mark an application paid with
/// no money: said on the terminal and in the log, every start.
fn warn_if_sandbox_beside_real_providers(settings: &Settings) {
    if settings.payment_sandbox && !settings.real_payment_providers.is_empty() {
        let real = settings.real_payment_providers.join(", ");
        tracing::warn!(providers = %real, "the payment sandbox is forced on beside real payment providers");
        eprintln!(
            "WARNING: payments.sandbox = on while real payment providers are configured ({real}).\n\
             WARNING: anyone can mark any application paid at /sandbox/pay without paying.\n\
             WARNING: set payments.sandbox = auto (or off) unless this is a test deployment."
        );
    }
}

fn print_banner(settings: &Settings, deployment: &bootstrap::Deployment, data: &std::path::Path) {
    let base = settings.public_url.as_str();
    println!("Imzo is up. Data folder: {}", data.display());
    println!("  Portal:           {base}/   (apply: {base}/apply, find / confirm: {base}/find)");
    println!("  API:              {base}/api/v1");
    println!("  OpenAPI:          {base}/api/openapi.json");
    if dev_outbox(settings) {
        println!("  SMS outbox:       {base}/api/v1/dev/outbox   (or: imzo outbox --server {base})");
    } else {
        println!("  SMS:              sent through {} (no outbox served)", settings.sms_gateway);
    }
    if settings.payment_sandbox {
        println!("  Payment sandbox:  {base}/sandbox/pay   (any provider: {base}/sandbox/pay/<number>)");
    } else {
        println!("  Payment sandbox:  off (payments.sandbox)");
    }
    println!("  CA certificates:  {base}/ca/{}.crt  {base}/ca/{}.crt", bootstrap::ROOT_ID, bootstrap::CENTRE_ID);
    println!("  CRL / OCSP:       {base}/crl/{}.crl  {base}/ocsp", bootstrap::CENTRE_ID);
    println!("  Root CRL:         {base}/crl/{}.crl", bootstrap::ROOT_ID);
    println!(
        "  Centres:          {} registration centres, CRLs at {base}/crl/rcN.crl; register: {base}/registry",
        deployment.authority.centres.len()
    );
    println!("  Time-stamps:      {base}/tsa   (RFC 3161; openssl ts -query … | curl --data-binary @- …)");
    println!("  Root (trust):     {}", deployment.root_pem.display());
    println!("  Operator key:     {}", deployment.operator_pfx.display());
    println!("  Its password:     {}", deployment.operator_password_file.display());
    println!("  Other operators:  {}/operators/operatorN.pfx (N = centre number, password in operatorN.password)", data.display());
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
    crl_issuers: Vec<imzo_ca::crl::CrlIssuer>,
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
                for issuer in &crl_issuers {
                    if let Err(e) = imzo_ca::crl::refresh_of_if_due(&store, issuer, &crl_policy).await {
                        tracing::warn!(error = %e, ca = %issuer.ca_id, "CRL refresh failed; retrying at the next tick");
                    }
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
