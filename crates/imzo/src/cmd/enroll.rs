//! `imzo enroll`: apply for a certificate, follow the application, install the result.

use crate::api::{Challenge, Issued, Started, Submitted, View};
use crate::client::{Client, DEFAULT_SERVER};
use crate::{keys, tashkent};
use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use imzo_keys::{RawSigner, SoftwareKey, pfxfile};
use imzo_pki::{
    cert::{self, IssueParams, Profile, PublicationUrls},
    cms, csr,
    name::Subject,
};
use imzo_ra::{ApplicantType, StartRequest};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::{Duration, OffsetDateTime};

/// Arguments of `imzo enroll`: a new application, or `status` / `confirm` of one.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    apply: Apply,
}

/// Follow-up actions on an application.
#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Show the application, proving possession of its key.
    Status(Follow),
    /// Confirm an approved application: the certificate is issued and installed into the .pfx.
    Confirm(Follow),
}

/// An application and the key file it was made with.
#[derive(Debug, clap::Args)]
struct Follow {
    /// 12-digit application number.
    number: String,
    /// The .pfx made at application time.
    #[arg(long)]
    pfx: PathBuf,
    /// File holding the .pfx password (asked on the terminal if absent).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// The deployment.
    #[arg(long, env = "IMZO_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
}

/// Applicant type on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Kind {
    /// A citizen for themself.
    Individual,
    /// A person acting for a company.
    LegalEntity,
}

/// A new application.
#[derive(Debug, clap::Args)]
struct Apply {
    /// The deployment.
    #[arg(long, env = "IMZO_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
    /// individual or legal-entity.
    #[arg(long = "type", value_enum, required = true)]
    kind: Option<Kind>,
    /// PINFL, 14 digits.
    #[arg(long, required = true)]
    pinfl: Option<String>,
    /// Surname.
    #[arg(long, required = true)]
    surname: Option<String>,
    /// Given name.
    #[arg(long, required = true)]
    given_name: Option<String>,
    /// Patronymic.
    #[arg(long)]
    patronymic: Option<String>,
    /// Birth date, YYYY-MM-DD.
    #[arg(long, required = true)]
    birth_date: Option<String>,
    /// Region.
    #[arg(long, required = true)]
    region: Option<String>,
    /// District.
    #[arg(long)]
    district: Option<String>,
    /// Passport series and number, e.g. AA1234567.
    #[arg(long, required = true)]
    passport: Option<String>,
    /// Mobile phone, +998 XX XXX XX XX.
    #[arg(long, required = true)]
    phone: Option<String>,
    /// Company INN (legal entity).
    #[arg(long)]
    company_inn: Option<String>,
    /// Company name (legal entity).
    #[arg(long)]
    company_name: Option<String>,
    /// The person's title in the company (legal entity).
    #[arg(long)]
    title: Option<String>,
    /// Passport scan: PDF, PNG or JPEG, at most 5 MB.
    #[arg(long, required = true)]
    passport_scan: Option<PathBuf>,
    /// Selfie with the passport's main page: PDF, PNG or JPEG, at most 5 MB.
    #[arg(long, required = true)]
    selfie: Option<PathBuf>,
    /// Where the DSKEYS folder is (default: the home folder).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// File holding the password for the new .pfx (asked twice on the terminal if absent).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// The SMS code, if already known (otherwise asked on the terminal).
    #[arg(long)]
    code: Option<String>,
}

/// Runs `imzo enroll`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    match args.action {
        Some(Action::Status(follow)) => runtime.block_on(status(follow)),
        Some(Action::Confirm(follow)) => runtime.block_on(confirm(follow)),
        None => runtime.block_on(apply(args.apply)),
    }
}

fn required<T: Clone>(value: &Option<T>, flag: &str) -> Result<T> {
    value.clone().ok_or_else(|| anyhow!("{flag} is required"))
}

fn read_document(path: &Path) -> Result<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "document".to_string());
    Ok((name, bytes))
}

async fn apply(a: Apply) -> Result<ExitCode> {
    let kind = required(&a.kind, "--type")?;
    let request = StartRequest {
        applicant_type: match kind {
            Kind::Individual => ApplicantType::Individual,
            Kind::LegalEntity => ApplicantType::LegalEntity,
        },
        pinfl: required(&a.pinfl, "--pinfl")?,
        surname: required(&a.surname, "--surname")?,
        given_name: required(&a.given_name, "--given-name")?,
        patronymic: a.patronymic.clone(),
        birth_date: required(&a.birth_date, "--birth-date")?,
        region: required(&a.region, "--region")?,
        district: a.district.clone(),
        passport: required(&a.passport, "--passport")?,
        phone: required(&a.phone, "--phone")?,
        company_inn: a.company_inn.clone(),
        company_name: a.company_name.clone(),
        title: a.title.clone(),
    };
    let key_id = match kind {
        Kind::Individual => request.pinfl.clone(),
        Kind::LegalEntity => required(&a.company_inn, "--company-inn")?,
    };
    // The key file is named after it: refuse before anything is sent.
    imzo_agent::dskeys::identifier_kind(&key_id)?;
    // Everything local is read before the server is asked, so a typo costs no SMS.
    let passport = read_document(&required(&a.passport_scan, "--passport-scan")?)?;
    let selfie = read_document(&required(&a.selfie, "--selfie")?)?;
    let keys_root = match &a.keys {
        Some(dir) => dir.clone(),
        None => std::env::var_os("HOME").map(PathBuf::from).ok_or_else(|| anyhow!("HOME is not set; give --keys DIR"))?,
    };
    let password = keys::password(a.password_file.as_deref(), "Password for the new key file: ", true)?;

    let client = Client::new(&a.server)?;
    let started: Started = client.post_json("/api/v1/applications", &request).await?;
    let code = match &a.code {
        Some(code) => code.clone(),
        None => ask_code(&started.phone_masked)?,
    };
    let _: serde_json::Value = client
        .post_json(&format!("/api/v1/applications/{}/phone", started.draft_id), &serde_json::json!({ "code": code }))
        .await?;

    let key = SoftwareKey::generate()?;
    let subject = applicant_subject(&request);
    let csr_der = csr::build(&key, &subject).context("cannot build the certificate request")?;
    let placeholder = placeholder_certificate(&key, &subject)?;
    let dskeys = keys_root.join(imzo_agent::dskeys::DSKEYS);
    std::fs::create_dir_all(&dskeys).with_context(|| format!("cannot create {}", dskeys.display()))?;
    let pfx_path = imzo_agent::dskeys::next_free_path(&dskeys, &key_id)?;
    pfxfile::save(&pfx_path, &key, &[placeholder], &password).context("cannot save the key file")?;

    let form = reqwest::multipart::Form::new()
        .part("csr", reqwest::multipart::Part::bytes(csr_der).file_name("request.p10"))
        .part("passport", reqwest::multipart::Part::bytes(passport.1).file_name(passport.0))
        .part("selfie", reqwest::multipart::Part::bytes(selfie.1).file_name(selfie.0));
    let submitted: Submitted =
        client.post_multipart(&format!("/api/v1/applications/{}/submit", started.draft_id), form).await?;

    let fee = submitted.fee_sum.clone().unwrap_or_else(|| format_sum(submitted.fee_tiyin));
    println!("Application number: {}", submitted.number);
    println!("Fee:                {fee} sum");
    println!("Pay before:         {}", tashkent::format(submitted.pay_before));
    if let Some(link) = &submitted.pay.sandbox {
        println!("Pay (sandbox):      {}", client.url(link).map(|u| u.to_string()).unwrap_or_else(|_| link.clone()));
    }
    if let Some(link) = &submitted.pay.payme {
        println!("Pay (Payme):        {link}");
    }
    println!("Key file:           {}", pfx_path.display());
    println!(
        "Once approved:      imzo enroll confirm {} --pfx {} --server {}",
        submitted.number,
        pfx_path.display(),
        a.server
    );
    Ok(ExitCode::SUCCESS)
}

/// Asks for the SMS code on stdin (a line; the terminal or a script may answer).
fn ask_code(phone_masked: &str) -> Result<String> {
    eprint!("SMS code sent to {phone_masked}: ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the SMS code")?;
    let code = line.trim().to_string();
    if code.is_empty() {
        bail!("no SMS code given");
    }
    Ok(code)
}

/// The subject the request carries (informational: the CA builds the real one).
fn applicant_subject(r: &StartRequest) -> Subject {
    let mut full_name = format!("{} {}", r.surname.trim(), r.given_name.trim());
    if let Some(p) = r.patronymic.as_deref().filter(|p| !p.trim().is_empty()) {
        full_name.push(' ');
        full_name.push_str(p.trim());
    }
    Subject {
        common_name: full_name.to_uppercase(),
        surname: Some(r.surname.trim().to_uppercase()),
        given_name: Some(r.given_name.trim().to_uppercase()),
        locality: r.district.clone(),
        state: Some(r.region.clone()),
        country: Some("UZ".to_string()),
        organization: r.company_name.clone(),
        title: r.title.clone(),
        pinfl: Some(r.pinfl.clone()),
        company_inn: r.company_inn.clone(),
        ..Subject::default()
    }
}

/// A .pfx needs a certificate: until issuance the key sits with a self-signed
/// placeholder (valid 60 days, longer than an application can wait for confirmation).
fn placeholder_certificate(key: &SoftwareKey, subject: &Subject) -> Result<imzo_pki::Certificate> {
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| anyhow!("no randomness: {e}"))?;
    serial[0] = (serial[0] & 0x7f).max(1);
    let now = OffsetDateTime::now_utc();
    let params = IssueParams {
        subject: subject.clone(),
        subject_public_key_der: key.public_key_der().to_vec(),
        serial: serial.to_vec(),
        not_before: now - Duration::minutes(1),
        not_after: now + Duration::days(60),
        profile: Profile::Holder,
        urls: PublicationUrls::default(),
        policy_oid: None,
    };
    cert::issue(None, key, &params).context("cannot make the placeholder certificate")
}

fn format_sum(tiyin: i64) -> String {
    format!("{}.{:02}", tiyin / 100, tiyin % 100)
}

/// Gets a challenge for `number` and signs it with the .pfx key.
async fn prove(client: &Client, number: &str, key: &SoftwareKey) -> Result<serde_json::Value> {
    let challenge: Challenge =
        client.post_json(&format!("/api/v1/applications/{number}/challenge"), &serde_json::json!({})).await?;
    let bytes = BASE64.decode(challenge.challenge_base64.as_bytes()).context("the server's challenge is not base64")?;
    let proof = cms::sign_proof_of_possession(&bytes, key).context("cannot sign the challenge")?;
    Ok(serde_json::json!({ "challenge_id": challenge.id, "cms_base64": BASE64.encode(proof) }))
}

async fn status(f: Follow) -> Result<ExitCode> {
    let (pfx, _password) = keys::open(&f.pfx, f.password_file.as_deref())?;
    let client = Client::new(&f.server)?;
    let proof = prove(&client, &f.number, &pfx.key).await?;
    let view: View = client.post_json(&format!("/api/v1/applications/{}/view", f.number), &proof).await?;
    println!("Application {}: {}", view.number, view.state);
    println!("  Applicant:  {}", view.full_name);
    println!("  Fee:        {} sum", format_sum(view.fee_tiyin));
    if view.state == "awaiting_payment" {
        println!("  Pay before: {}", tashkent::format(view.pay_before));
    }
    if let Some(reason) = &view.rejection_reason {
        println!("  Rejected:   {reason}");
    }
    if let Some(serial) = &view.certificate_serial {
        println!("  Serial:     {serial}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn confirm(f: Follow) -> Result<ExitCode> {
    let (pfx, password) = keys::open(&f.pfx, f.password_file.as_deref())?;
    let client = Client::new(&f.server)?;
    let proof = prove(&client, &f.number, &pfx.key).await?;
    let issued: Issued = client.post_json(&format!("/api/v1/applications/{}/confirm", f.number), &proof).await?;

    let mut chain = imzo_pki::pem::read_certificates(issued.certificate_pem.as_bytes())
        .context("the server's certificate is unreadable")?;
    if chain.len() != 1 {
        bail!("the server sent {} certificates where one was expected", chain.len());
    }
    chain.extend(imzo_pki::pem::read_certificates(issued.chain_pem.as_bytes()).context("the server's chain is unreadable")?);
    let own = &chain[0];
    {
        use der::Encode;
        let spki = own
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| anyhow!("cannot read the certificate's key: {e}"))?;
        if spki != pfx.key.public_key_der() {
            bail!("the issued certificate is not for the key in {}; the key file is left unchanged", f.pfx.display());
        }
    }
    let info = cert::info(own)?;
    pfxfile::save(&f.pfx, &pfx.key, &chain, &password).context("cannot install the certificate into the key file")?;
    println!("Certificate installed into {}", f.pfx.display());
    println!("  Subject: {}", info.subject);
    println!("  Serial:  {}", issued.serial);
    println!("  Valid:   {} – {}", tashkent::format(info.not_before), tashkent::format(info.not_after));
    Ok(ExitCode::SUCCESS)
}
