//! `imzo agent`: the local signing module web pages talk to, and `imzo agent sites`.

use anyhow::{Context, Result, bail};
use imzo_agent::prompt::{Pinentry, Prompt, Terminal};
use imzo_agent::sites::SitesStore;
use imzo_agent::{Agent, AgentConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `imzo agent`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    run: Run,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// List the sites you approved, or revoke one.
    Sites(Sites),
    /// Install the module's local CA (for wss://127.0.0.1:64443) where browsers look.
    Trust(Trust),
}

#[derive(Debug, clap::Args)]
struct Trust {
    /// The approved-sites file; the TLS files live beside it.
    #[arg(long, env = "IMZO_AGENT_SITES_FILE")]
    sites_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct Sites {
    /// Remove this origin (e.g. https://my.gov.uz) from the approved sites.
    #[arg(long)]
    revoke: Option<String>,
    /// The approved-sites file (default: ~/.config/imzo/agent-sites.json).
    #[arg(long, env = "IMZO_AGENT_SITES_FILE")]
    sites_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct Run {
    /// WebSocket port on 127.0.0.1.
    #[arg(long, env = "IMZO_AGENT_PORT", default_value_t = imzo_agent::config::DEFAULT_PORT)]
    port: u16,
    /// Secure WebSocket (wss) port on 127.0.0.1, for https pages.
    #[arg(long, env = "IMZO_AGENT_TLS_PORT", default_value_t = imzo_agent::tls::DEFAULT_TLS_PORT)]
    tls_port: u16,
    /// Serve only ws, no wss.
    #[arg(long)]
    no_tls: bool,
    /// A folder holding (or being) a DSKEYS folder; repeatable. Default: the roots of
    /// mounted drives and the home folder.
    #[arg(long = "keys", env = "IMZO_AGENT_KEYS", value_delimiter = ',')]
    keys: Vec<PathBuf>,
    /// An origin allowed without asking (besides http://127.0.0.1:8080 and
    /// http://localhost:8080); repeatable.
    #[arg(
        long = "allow-origin",
        env = "IMZO_AGENT_ALLOW_ORIGIN",
        value_delimiter = ','
    )]
    allow_origin: Vec<String>,
    /// The pinentry program for password and confirmation dialogs (default:
    /// /usr/bin/pinentry if present, else the terminal).
    #[arg(long, env = "IMZO_AGENT_PINENTRY")]
    pinentry: Option<PathBuf>,
    /// Ask on the terminal instead of pinentry.
    #[arg(long, conflicts_with = "pinentry")]
    terminal: bool,
    /// The approved-sites file (default: ~/.config/imzo/agent-sites.json).
    #[arg(long, env = "IMZO_AGENT_SITES_FILE")]
    sites_file: Option<PathBuf>,
    /// Trusted root certificates (PEM or DER) for the verify calls; repeatable.
    #[arg(long = "trust", env = "IMZO_AGENT_TRUST", value_delimiter = ',')]
    trust: Vec<PathBuf>,
    /// Unload keys unused for this many minutes.
    #[arg(long, env = "IMZO_AGENT_IDLE_MINUTES", default_value_t = 15)]
    idle_minutes: u64,
}

/// Runs `imzo agent`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    match args.action {
        Some(Action::Sites(s)) => sites(s),
        Some(Action::Trust(t)) => trust(t),
        None => serve(args.run),
    }
}

fn sites(s: Sites) -> Result<ExitCode> {
    let store = SitesStore::new(
        s.sites_file
            .unwrap_or_else(imzo_agent::config::default_sites_file),
    );
    if let Some(origin) = s.revoke {
        if store.revoke(&origin)? {
            println!("Revoked {origin}: it must be approved again before it can use your keys.");
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "{origin} is not among the approved sites ({})",
            store.path().display()
        );
        return Ok(ExitCode::from(1));
    }
    let list = store.list()?;
    if list.is_empty() {
        println!("No approved sites ({}).", store.path().display());
    }
    for site in list {
        println!("{}\tapproved {}", site.origin, site.approved_at);
    }
    Ok(ExitCode::SUCCESS)
}

/// The folder of the module's own files (sites, TLS): beside the sites file.
fn state_dir(sites_file: &std::path::Path) -> PathBuf {
    sites_file
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn trust(t: Trust) -> Result<ExitCode> {
    let sites_file = t
        .sites_file
        .unwrap_or_else(imzo_agent::config::default_sites_file);
    let files = imzo_agent::tls::TlsFiles::in_dir(&state_dir(&sites_file));
    if imzo_agent::tls::ensure_files(&files)? {
        println!(
            "Made the local CA and the certificate for 127.0.0.1 ({}).",
            files.ca_pem.display()
        );
    }
    let home = std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .context("HOME is not set")?;
    let mut all = true;
    for step in imzo_agent::trust::install(&files.ca_pem, &home) {
        all &= step.done;
        println!(
            "{} {}: {}",
            if step.done { "[done]" } else { "[todo]" },
            step.store,
            step.message
        );
    }
    println!("Restart the browser for the change to take effect.");
    if all {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

fn serve(r: Run) -> Result<ExitCode> {
    crate::logging::init();
    let mut config = AgentConfig::new(
        r.sites_file
            .unwrap_or_else(imzo_agent::config::default_sites_file),
    );
    config.key_roots = r.keys;
    for origin in &r.allow_origin {
        imzo_agent::sites::normalize_origin(origin)
            .with_context(|| format!("--allow-origin {origin}"))?;
    }
    config.allow_origins.extend(r.allow_origin);
    config.idle_timeout = Duration::from_secs(r.idle_minutes.max(1) * 60);
    for path in &r.trust {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let certs = imzo_pki::pem::read_certificates(&bytes)
            .with_context(|| format!("{} holds no certificate", path.display()))?;
        config.trust_anchors.extend(certs);
    }
    let prompt: Arc<dyn Prompt> = match (r.pinentry, r.terminal) {
        (_, true) => Arc::new(Terminal),
        (Some(p), false) => {
            if !p.is_file() {
                bail!("--pinentry {}: no such program", p.display());
            }
            Arc::new(Pinentry::new(p))
        }
        (None, false) if std::path::Path::new("/usr/bin/pinentry").is_file() => {
            Arc::new(Pinentry::new("/usr/bin/pinentry"))
        }
        (None, false) => Arc::new(Terminal),
    };
    let roots = config.roots();
    let tls_files = imzo_agent::tls::TlsFiles::in_dir(&state_dir(&config.sites_file));
    let acceptor = if r.no_tls {
        None
    } else {
        if imzo_agent::tls::ensure_files(&tls_files)? {
            println!(
                "Made a local CA for wss://127.0.0.1:{} ({}); run `imzo agent trust` so browsers accept it.",
                r.tls_port,
                tls_files.ca_pem.display()
            );
        }
        Some(imzo_agent::tls::acceptor(&tls_files)?)
    };
    let agent = Agent::new(config, prompt);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, r.port));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        println!("Imzo signing module on ws://{local}/service/cryptapi");
        if let Some(acceptor) = acceptor {
            let tls_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, r.tls_port));
            let tcp = tokio::net::TcpListener::bind(tls_addr)
                .await
                .with_context(|| format!("cannot listen on {tls_addr}"))?;
            println!(
                "                  and wss://{}/service/cryptapi",
                tcp.local_addr()?
            );
            let tls_agent = agent.clone();
            tokio::spawn(async move {
                if let Err(e) = imzo_agent::server::serve_tls(
                    tls_agent,
                    imzo_agent::tls::TlsListener::new(tcp, acceptor),
                )
                .await
                {
                    tracing::error!(error = %e, "the wss endpoint stopped");
                }
            });
        }
        println!("API reference:        http://{local}/apidoc.html");
        for root in &roots {
            println!("Looking for keys in:  {}", root.display());
        }
        imzo_agent::server::serve(agent, listener)
            .await
            .context("the signing module stopped")?;
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })
}
