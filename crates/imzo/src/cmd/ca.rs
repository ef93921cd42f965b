//! `imzo ca`: the authorised body's ceremonies. `init-root` makes the root (printing its
//! fingerprint, leaving a ceremony record), `centre new` makes a centre's key and request
//! where the key will live, `centre issue` has the root sign it (the centre is then
//! registered), `centre revoke` ends a registration, `centre list` shows the register's
//! centres, `register export` writes the register signed by the root (CMS that
//! `openssl cms -verify -CAfile DATA/pki/root.pem` accepts). `person issue` certifies a
//! further authorised person (operator or officer) of a centre, `person revoke` ends
//! one, `person list` shows them. `init-root --key-ref pkcs11:…` keeps the root key on a
//! PKCS#11 token (an HSM), the data folder holding only its URI.
//!
//! Each works on the deployment's data folder and database directly: holding them is
//! what makes one the authorised body in the embedded default.

use crate::config::{Overrides, Settings};
use anyhow::{Context, Result, bail};
use imzo_ca::{bootstrap, ceremony, registry};
use imzo_pki::crl::RevocationReason;
use imzo_store::Store;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Subcommands of `imzo ca`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Generate the root key and self-signed certificate (once per deployment).
    InitRoot(InitRootArgs),
    /// Registration centres: new, issue, revoke, list.
    #[command(subcommand)]
    Centre(CentreCommand),
    /// The public register.
    #[command(subcommand)]
    Register(RegisterCommand),
    /// Authorised persons of the centres (operators, officers): issue, revoke, list.
    #[command(subcommand)]
    Person(PersonCommand),
}

/// Subcommands of `imzo ca person`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum PersonCommand {
    /// The root certifies a further authorised person of a centre (recorded in the register).
    Issue(PersonIssueArgs),
    /// Revoke an authorised person's certificate (SERIAL, hex).
    Revoke(PersonRevokeArgs),
    /// The authorised persons with their status.
    List(ListArgs),
}

/// Arguments of `imzo ca init-root`.
#[derive(Debug, clap::Args)]
pub(crate) struct InitRootArgs {
    #[command(flatten)]
    deployment: Deployment,
    /// Keep the root key on a PKCS#11 token: `pkcs11:token=…;object=…?module-path=…&
    /// pin-source=file:…` (RFC 7512). The key the URI names is used if it exists (made
    /// with `imzo hsm keygen`), else generated on the token. Default: an encrypted key file.
    #[arg(long, value_name = "URI")]
    key_ref: Option<String>,
}

/// Arguments of `imzo ca person issue`.
#[derive(Debug, clap::Args)]
pub(crate) struct PersonIssueArgs {
    /// The centre the person acts for (`rc3`; see `imzo ca centre list`).
    #[arg(long)]
    centre: String,
    /// The person's name (their certificate's common name), 1 to 64 characters.
    #[arg(long)]
    name: String,
    /// operator or officer.
    #[arg(long, value_parser = ["operator", "officer"])]
    role: String,
    /// The person's PKCS#10 request (PEM or DER), made where their key lives. Without it
    /// a key is generated and handed over as a .pfx in --out.
    #[arg(long, value_name = "FILE")]
    csr: Option<PathBuf>,
    /// Folder for the generated .pfx and its password file (default: DATA/operators).
    #[arg(long, conflicts_with = "csr")]
    out: Option<PathBuf>,
    #[command(flatten)]
    deployment: Deployment,
}

/// Arguments of `imzo ca person revoke`.
#[derive(Debug, clap::Args)]
pub(crate) struct PersonRevokeArgs {
    /// The certificate's serial in hex (printed by `person issue`, shown by `person list`).
    serial: String,
    /// RFC 5280 reason: keyCompromise, affiliationChanged, superseded,
    /// cessationOfOperation, privilegeWithdrawn, unspecified.
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    deployment: Deployment,
}

/// Subcommands of `imzo ca centre`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum CentreCommand {
    /// On the centre's side: make its CA key and a PKCS#10 request (NAME is its name).
    New(NewArgs),
    /// The root signs a centre's request REQ; the centre is registered under the next number.
    Issue(IssueArgs),
    /// Revoke a centre's registration and its CA certificate.
    Revoke(RevokeArgs),
    /// The registered centres with their status.
    List(ListArgs),
}

/// Subcommands of `imzo ca register`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RegisterCommand {
    /// Write the register (JSON) as CMS SignedData by the authorised body to FILE (DER).
    Export(ExportArgs),
}

/// Which deployment: its data folder, and optionally another database.
#[derive(Debug, clap::Args)]
pub(crate) struct Deployment {
    /// Data folder of the deployment (keys, secrets; its settings say where the database is).
    #[arg(long, env = "IMZO_DATA", default_value = "imzo-data")]
    data: PathBuf,
    /// Database URL, `sqlite://PATH` or `postgres://…` (overrides database.url).
    #[arg(long)]
    database: Option<String>,
}

/// Arguments of `imzo ca centre new`.
#[derive(Debug, clap::Args)]
pub(crate) struct NewArgs {
    /// The centre's name (its certificate's common name), 1 to 64 characters.
    name: String,
    /// Folder where the key and the request are written (where the key will live).
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// File holding the passphrase that encrypts the key. With --data instead, the
    /// deployment's CA passphrase is used, so that deployment can run the centre.
    #[arg(long, conflicts_with = "data")]
    passphrase_file: Option<PathBuf>,
    /// Data folder of a deployment that will run this centre.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Key algorithm: ecdsa-p256 or ozdst1092-a (default: the deployment's ca.algorithm).
    #[arg(long)]
    algorithm: Option<imzo_keys::KeyAlgorithm>,
}

/// Arguments of `imzo ca centre issue`.
#[derive(Debug, clap::Args)]
pub(crate) struct IssueArgs {
    /// The centre's PKCS#10 request (PEM or DER), from `imzo ca centre new`.
    request: PathBuf,
    #[command(flatten)]
    deployment: Deployment,
    /// Where the centre keeps its key (a key file or pkcs11: URI), recorded so a
    /// deployment holding it can run the centre. Default: the key file `centre new`
    /// wrote beside REQ, if there is one.
    #[arg(long)]
    key_ref: Option<String>,
    /// Name in Uzbek for the register (default: the request's common name).
    #[arg(long)]
    name_uz: Option<String>,
    /// Name in Russian.
    #[arg(long)]
    name_ru: Option<String>,
    /// Name in English.
    #[arg(long)]
    name_en: Option<String>,
}

/// Arguments of `imzo ca centre revoke`.
#[derive(Debug, clap::Args)]
pub(crate) struct RevokeArgs {
    /// The centre's id (`rc11`; see `imzo ca centre list`).
    id: String,
    /// RFC 5280 reason: cACompromise, keyCompromise, superseded, cessationOfOperation,
    /// affiliationChanged, privilegeWithdrawn, unspecified.
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    deployment: Deployment,
}

/// Arguments of `imzo ca centre list`.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    deployment: Deployment,
    /// Print the register's JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Arguments of `imzo ca register export`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// Where to write the signed register (DER CMS, `.p7m`).
    file: PathBuf,
    #[command(flatten)]
    deployment: Deployment,
}

/// Runs `imzo ca`.
pub(crate) fn run(command: Command) -> Result<ExitCode> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    match command {
        Command::InitRoot(a) => runtime.block_on(init_root(a)),
        Command::Centre(CentreCommand::New(a)) => centre_new(a),
        Command::Centre(CentreCommand::Issue(a)) => runtime.block_on(centre_issue(a)),
        Command::Centre(CentreCommand::Revoke(a)) => runtime.block_on(centre_revoke(a)),
        Command::Centre(CentreCommand::List(a)) => runtime.block_on(centre_list(a)),
        Command::Register(RegisterCommand::Export(a)) => runtime.block_on(register_export(a)),
        Command::Person(PersonCommand::Issue(a)) => runtime.block_on(person_issue(a)),
        Command::Person(PersonCommand::Revoke(a)) => runtime.block_on(person_revoke(a)),
        Command::Person(PersonCommand::List(a)) => runtime.block_on(person_list(a)),
    }
}

/// The deployment's folder (resolved), settings and the CA settings derived from them.
fn open_settings(d: &Deployment, create: bool) -> Result<(PathBuf, Settings, bootstrap::Settings)> {
    if create {
        let fresh = !d.data.exists();
        std::fs::create_dir_all(&d.data).with_context(|| format!("cannot create the data folder {}", d.data.display()))?;
        #[cfg(unix)]
        if fresh {
            // The folder will hold the root key: its owner's alone.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&d.data, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict {}", d.data.display()))?;
        }
    } else if !d.data.is_dir() {
        bail!("--data {}: no such folder (run `imzo ca init-root` or `imzo up` first)", d.data.display());
    }
    let data = std::fs::canonicalize(&d.data).with_context(|| format!("cannot resolve {}", d.data.display()))?;
    let overrides = Overrides { database: d.database.clone(), ..Overrides::default() };
    let settings = Settings::load(&data, &overrides)?;
    let ca = bootstrap::Settings {
        public_url: Some(settings.public_url.clone()),
        policy_oid: settings.policy_oid.clone(),
        algorithm: settings.ca_algorithm,
    };
    Ok((data, settings, ca))
}

async fn connect(settings: &Settings) -> Result<Store> {
    Store::connect(&settings.database_url).await.context("cannot open the database")
}

async fn init_root(a: InitRootArgs) -> Result<ExitCode> {
    if let Some(uri) = &a.key_ref
        && !imzo_keys::pkcs11::is_pkcs11_uri(uri)
    {
        bail!("--key-ref: give a pkcs11: URI (RFC 7512) naming the root key on its token");
    }
    let (data, settings, ca) = open_settings(&a.deployment, true)?;
    let store = connect(&settings).await?;
    let made = ceremony::init_root(&store, &data, &ca, a.key_ref.as_deref()).await;
    store.close().await;
    let record = made.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Root made: {}", record.certificate_file.display());
    println!("  SHA-256 fingerprint: {}", record.fingerprint);
    if a.key_ref.is_some() {
        println!("  Root key on the token: {}", record.key_ref.as_deref().unwrap_or("-"));
    }
    println!("  Ceremony record:     {}", record.record_file.display());
    println!("  Read the fingerprint aloud and write it in the ceremony's minutes.");
    println!("  `imzo up --data {}` then adds the registration centres.", data.display());
    Ok(ExitCode::SUCCESS)
}

fn read_passphrase(path: &Path) -> Result<zeroize::Zeroizing<String>> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("--passphrase-file {}: cannot read", path.display()))?,
    );
    let trimmed = zeroize::Zeroizing::new(text.trim_end_matches(['\r', '\n']).to_string());
    if trimmed.len() < 12 {
        bail!("--passphrase-file {}: the passphrase must have at least 12 characters", path.display());
    }
    Ok(trimmed)
}

fn centre_new(a: NewArgs) -> Result<ExitCode> {
    let (passphrase, default_algorithm) = match (&a.passphrase_file, &a.data) {
        (Some(file), None) => (read_passphrase(file)?, imzo_keys::KeyAlgorithm::default()),
        (None, Some(data)) => {
            let (data, settings, _) = open_settings(&Deployment { data: data.clone(), database: None }, false)?;
            let file = data.join("secrets").join("ca-passphrase");
            let p = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {} (is --data a deployment's folder?)", file.display()))?;
            (zeroize::Zeroizing::new(p.trim().to_string()), settings.ca_algorithm)
        }
        _ => bail!("give --passphrase-file FILE (the key's passphrase) or --data DIR (a deployment that will run the centre)"),
    };
    let algorithm = a.algorithm.unwrap_or(default_algorithm);
    let made = ceremony::centre_new(&a.out, &a.name, passphrase.as_bytes(), algorithm).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Centre key:     {}", made.key_file.display());
    println!("Request:        {}", made.request_file.display());
    println!("  Public key SHA-256: {}", made.public_key_sha256);
    println!("  Take the request to the authorised body: imzo ca centre issue {}", made.request_file.display());
    Ok(ExitCode::SUCCESS)
}

/// The key file `centre new` wrote beside `request` (`NAME.csr.pem` → `NAME.key.pem`).
fn key_beside(request: &Path) -> Option<String> {
    let name = request.file_name()?.to_str()?;
    let base = name.strip_suffix(".csr.pem")?;
    let key = request.with_file_name(format!("{base}.key.pem"));
    let key = std::fs::canonicalize(key).ok()?;
    key.is_file().then(|| key.display().to_string())
}

async fn centre_issue(a: IssueArgs) -> Result<ExitCode> {
    let (data, settings, ca) = open_settings(&a.deployment, false)?;
    let request = std::fs::read(&a.request).with_context(|| format!("REQ {}: cannot read", a.request.display()))?;
    let names = match (a.name_uz, a.name_ru, a.name_en) {
        (None, None, None) => None,
        (Some(uz), Some(ru), Some(en)) => Some(imzo_ca::authority::Names { uz, ru, en }),
        _ => bail!("give all three of --name-uz, --name-ru, --name-en, or none"),
    };
    let key_ref = a.key_ref.or_else(|| key_beside(&a.request));
    let store = connect(&settings).await?;
    let issued = ceremony::centre_issue(&store, &data, &request, names, key_ref.as_deref(), &ca).await;
    store.close().await;
    let record = issued.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Centre {} registered.", record.ca_id);
    println!("  CA certificate:      {}", record.certificate_file.display());
    println!("  SHA-256 fingerprint: {}", record.fingerprint);
    println!("  Ceremony record:     {}", record.record_file.display());
    match key_ref {
        Some(k) => println!("  Key: {k} (a deployment holding it issues for the centre after its next start)"),
        None => println!("  Key: kept by the centre; give the CA certificate to the centre's deployment"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn centre_revoke(a: RevokeArgs) -> Result<ExitCode> {
    let reason = RevocationReason::parse(&a.reason).map_err(|e| anyhow::anyhow!("--reason: {e}"))?;
    if reason == RevocationReason::CertificateHold {
        bail!("--reason certificateHold: a centre's registration is revoked for good, not suspended");
    }
    let (data, settings, _) = open_settings(&a.deployment, false)?;
    let store = connect(&settings).await?;
    let done = ceremony::centre_revoke(&store, &data, a.id.trim(), reason).await;
    store.close().await;
    let record = done.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Centre {} revoked ({}).", record.ca_id, reason.name());
    println!("  CA certificate SHA-256: {}", record.fingerprint);
    println!("  Ceremony record:        {}", record.record_file.display());
    println!("  The root's CRL (/crl/root.crl) and OCSP say so; the centre takes no applications.");
    Ok(ExitCode::SUCCESS)
}

async fn centre_list(a: ListArgs) -> Result<ExitCode> {
    let (_, settings, _) = open_settings(&a.deployment, false)?;
    let store = connect(&settings).await?;
    let built = registry::build(&store, "").await;
    store.close().await;
    let register = built.map_err(|e| anyhow::anyhow!("{e}"))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&register).context("cannot write the register")?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<6} {:>3}  {:<8} {:<10} {:<34} name", "id", "no", "status", "CA", "CA serial");
    for c in &register.centres {
        let (ca_status, serial) =
            c.certificate.as_ref().map(|x| (x.status.as_str(), x.serial.as_str())).unwrap_or(("-", "-"));
        let number = c.number.map(|n| n.to_string()).unwrap_or_else(|| "-".to_string());
        println!("{:<6} {:>3}  {:<8} {:<10} {:<34} {}", c.id, number, c.status, ca_status, serial, c.names.en);
    }
    let persons = register.authorised_persons.len();
    println!("{} centres, {persons} authorised persons.", register.centres.len());
    Ok(ExitCode::SUCCESS)
}

async fn register_export(a: ExportArgs) -> Result<ExitCode> {
    let (data, settings, ca) = open_settings(&a.deployment, false)?;
    let store = connect(&settings).await?;
    let signed = async {
        let signer = ceremony::register_signer(&store, &data, &ca).await?;
        let json = registry::json(&store, "").await?;
        signer.sign(&json)
    }
    .await;
    store.close().await;
    let cms = signed.map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(&a.file, &cms).with_context(|| format!("cannot write {}", a.file.display()))?;
    println!("Register written: {} ({} bytes, CMS signed by the authorised body)", a.file.display(), cms.len());
    println!("  Check: openssl cms -verify -inform DER -in {} -CAfile {}", a.file.display(), data.join("pki/root.pem").display());
    Ok(ExitCode::SUCCESS)
}

async fn person_issue(a: PersonIssueArgs) -> Result<ExitCode> {
    let (data, settings, ca) = open_settings(&a.deployment, false)?;
    let request = match &a.csr {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("--csr {}: cannot read", path.display()))?),
        None => None,
    };
    let out = a.out.clone().unwrap_or_else(|| data.join("operators"));
    let key = match &request {
        Some(bytes) => ceremony::PersonKey::Request(bytes),
        None => ceremony::PersonKey::Generate { out: &out },
    };
    let store = connect(&settings).await?;
    let issued = ceremony::person_issue(&store, &data, a.centre.trim(), &a.name, &a.role, key, &ca).await;
    store.close().await;
    let record = issued.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Authorised person of {} certified: {} ({}).", record.centre_id, a.name.trim(), a.role);
    println!("  Certificate:         {}", record.certificate_file.display());
    println!("  Serial:              {}", record.serial);
    println!("  SHA-256 fingerprint: {}", record.fingerprint);
    println!("  Ceremony record:     {}", record.record_file.display());
    if let Some((pfx, password)) = &record.pfx {
        println!("  Key and certificate: {} (password in {})", pfx.display(), password.display());
    }
    Ok(ExitCode::SUCCESS)
}

async fn person_revoke(a: PersonRevokeArgs) -> Result<ExitCode> {
    let reason = RevocationReason::parse(&a.reason).map_err(|e| anyhow::anyhow!("--reason: {e}"))?;
    // A hold would leave the person half-authorised; the register wants a clear answer.
    if reason == RevocationReason::CertificateHold {
        bail!("--reason certificateHold: an authorised person's certificate is revoked for good, not suspended");
    }
    let (data, settings, _) = open_settings(&a.deployment, false)?;
    let store = connect(&settings).await?;
    let done = ceremony::person_revoke(&store, &data, &a.serial, reason).await;
    store.close().await;
    let record = done.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Authorised person {} of {} revoked ({}).", record.name, record.centre_id, reason.name());
    println!("  Serial:          {}", record.serial);
    println!("  Ceremony record: {}", record.record_file.display());
    println!("  The console refuses them now; the register, the root's CRL and OCSP say so.");
    Ok(ExitCode::SUCCESS)
}

async fn person_list(a: ListArgs) -> Result<ExitCode> {
    let (_, settings, _) = open_settings(&a.deployment, false)?;
    let store = connect(&settings).await?;
    let built = registry::build(&store, "").await;
    store.close().await;
    let register = built.map_err(|e| anyhow::anyhow!("{e}"))?;
    if a.json {
        let json = serde_json::to_string_pretty(&register.authorised_persons).context("cannot write the persons")?;
        println!("{json}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<6} {:<8} {:<8} {:<34} name", "centre", "role", "status", "serial");
    for p in &register.authorised_persons {
        println!("{:<6} {:<8} {:<8} {:<34} {}", p.centre, p.role, p.status, p.certificate.serial, p.name);
    }
    println!("{} authorised persons.", register.authorised_persons.len());
    Ok(ExitCode::SUCCESS)
}
