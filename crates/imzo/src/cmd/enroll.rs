//! `imzo enroll`: apply for a certificate, follow the application, install the result.

use crate::api::{Challenge, Issued, Started, Submitted, View};
use crate::client::{Client, DEFAULT_SERVER, Refused};
use super::enroll_input;
use crate::{keys, tashkent};
use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use imzo_keys::{SoftwareKey, pfxfile};
use imzo_pki::{
    cert,
    cms, csr,
    name::Subject,
};
use imzo_ra::{ApplicantType, StartRequest};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::OffsetDateTime;

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
    /// Apply for a new certificate signed with the current, still valid one: a new key,
    /// no documents and no review; once paid it is approved automatically, then `confirm`.
    Renew(Renew),
}

/// A renewal: the current key file and where the new one goes.
#[derive(Debug, clap::Args)]
struct Renew {
    /// The current .pfx, whose certificate must still be valid.
    #[arg(long)]
    pfx: PathBuf,
    /// File holding its password (asked on the terminal if absent); the new key file gets the same password.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Where the DSKEYS folder for the new key is (default: the folder holding the current one).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// The deployment.
    #[arg(long, env = "IMZO_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
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
    /// The registration centre, by number (`GET /api/v1/centres`; default 1).
    #[arg(long)]
    centre: Option<i64>,
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
    /// Key algorithm of the new key: ecdsa-p256, or ozdst1092-a (O'z DSt 1092:2009,
    /// the national algorithm, parameter set .1).
    #[arg(long, value_enum, default_value_t = Algorithm::EcdsaP256)]
    algorithm: Algorithm,
}

/// Key algorithm on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Algorithm {
    /// ECDSA P-256 with SHA-256.
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
    /// O'z DSt 1092:2009-II with the 1106:2009-II hash, parameter set .1 (CryptoPro-A).
    #[value(name = "ozdst1092-a")]
    Ozdst1092A,
}

impl From<Algorithm> for imzo_keys::KeyAlgorithm {
    fn from(a: Algorithm) -> Self {
        match a {
            Algorithm::EcdsaP256 => imzo_keys::KeyAlgorithm::EcdsaP256,
            Algorithm::Ozdst1092A => imzo_keys::KeyAlgorithm::OzDst1092A,
        }
    }
}

/// Runs `imzo enroll`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    match args.action {
        Some(Action::Status(follow)) => runtime.block_on(status(follow)),
        Some(Action::Confirm(follow)) => runtime.block_on(confirm(follow)),
        Some(Action::Renew(renew)) => runtime.block_on(renew_certificate(renew)),
        None => runtime.block_on(apply(args.apply)),
    }
}

fn required<T: Clone>(value: &Option<T>, flag: &str) -> Result<T> {
    value.clone().ok_or_else(|| anyhow!("{flag} is required"))
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
        centre: a.centre,
    };
    // Everything local is checked before the server is asked, so a typo or a wrong file
    // costs no SMS and leaves no key file behind.
    enroll_input::check_request(&request)?;
    let key_id = match kind {
        Kind::Individual => request.pinfl.trim().to_string(),
        Kind::LegalEntity => required(&a.company_inn, "--company-inn")?.trim().to_string(),
    };
    imzo_agent::dskeys::identifier_kind(&key_id)?;
    let passport = enroll_input::read_document("--passport-scan", &required(&a.passport_scan, "--passport-scan")?)?;
    let selfie = enroll_input::read_document("--selfie", &required(&a.selfie, "--selfie")?)?;
    if passport.1 == selfie.1 {
        // The server refuses this too, but only after the SMS code is spent.
        bail!("--selfie: it is the same file as --passport-scan; give a photo of yourself holding the passport");
    }
    let keys_root = match &a.keys {
        Some(dir) => dir.clone(),
        None => std::env::var_os("HOME").map(PathBuf::from).ok_or_else(|| anyhow!("HOME is not set; give --keys DIR"))?,
    };
    let dskeys = keys_root.join(imzo_agent::dskeys::DSKEYS);
    enroll_input::check_writable(&dskeys)?;
    let mut codes = enroll_input::CodeSource::choose(a.code.as_deref())?;
    let password = keys::new_password(a.password_file.as_deref())?;
    let client = Client::new(&a.server)?;

    // The key stays in memory until the server has accepted the submission.
    let key = SoftwareKey::generate_with(a.algorithm.into())?;
    let subject = applicant_subject(&request);
    let csr_der = csr::build(&key, &subject).context("cannot build the certificate request")?;
    let placeholder = imzo_agent::enrol::placeholder_certificate(&key, &subject).context("cannot make the placeholder certificate")?;

    let started: Started = client.post_json("/api/v1/applications", &request).await?;
    verify_phone(&client, &started, &mut codes).await?;

    let form = reqwest::multipart::Form::new()
        .part("csr", reqwest::multipart::Part::bytes(csr_der).file_name("request.p10"))
        .part("passport", reqwest::multipart::Part::bytes(passport.1).file_name(passport.0))
        .part("selfie", reqwest::multipart::Part::bytes(selfie.1).file_name(selfie.0));
    let submitted: Submitted =
        client.post_multipart(&format!("/api/v1/applications/{}/submit", started.draft_id), form).await?;
    let saved = save_key(&dskeys, &key_id, &key, &placeholder, &password, &submitted.number);
    print_submitted(&client, &submitted, saved, &a.server)
}

/// What an accepted application (new or renewal) tells its applicant.
fn print_submitted(client: &Client, submitted: &Submitted, saved: Result<PathBuf>, server: &str) -> Result<ExitCode> {
    let fee = submitted.fee_sum.clone().unwrap_or_else(|| format_sum(submitted.fee_tiyin));
    println!("Application number: {}", submitted.number);
    println!("Fee:                {fee} sum");
    println!("Pay before:         {}", tashkent::format(submitted.pay_before));
    // The page with every provider, as the README documents; the Payme-only checkout
    // link is for servers that do not offer the choice.
    if let Some(link) = submitted.pay.sandbox_providers.as_ref().or(submitted.pay.sandbox.as_ref()) {
        println!("Pay (sandbox):      {}", client.url(link).map(|u| u.to_string()).unwrap_or_else(|_| link.clone()));
    }
    if let Some(link) = &submitted.pay.payme {
        println!("Pay (Payme):        {link}");
    }
    let pfx_path = saved?;
    println!("Key file:           {}", pfx_path.display());
    println!(
        "Once approved:      imzo enroll confirm {} --pfx {} --server {}",
        submitted.number,
        pfx_path.display(),
        server
    );
    Ok(ExitCode::SUCCESS)
}

/// Renewal: a new key and request, signed (attached CMS) together with a server challenge
/// by the current key, which proves the holder still holds a valid certificate.
async fn renew_certificate(r: Renew) -> Result<ExitCode> {
    let (current, password) = keys::open(&r.pfx, r.password_file.as_deref())?;
    let own = current.chain.first().ok_or_else(|| anyhow!("{} holds no certificate", r.pfx.display()))?;
    let info = cert::info(own)?;
    if info.subject == info.issuer && !info.is_ca {
        bail!(
            "{} holds only the placeholder made at enrolment: confirm that application first; renewal needs an issued certificate",
            r.pfx.display()
        );
    }
    let subject = info.subject_fields.clone();
    let key_id = subject
        .company_inn
        .clone()
        .or_else(|| subject.pinfl.clone())
        .ok_or_else(|| anyhow!("the certificate in {} carries neither a PINFL nor a company INN", r.pfx.display()))?;
    let dskeys = match &r.keys {
        Some(dir) => dir.join(imzo_agent::dskeys::DSKEYS),
        None => r.pfx.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".")),
    };
    enroll_input::check_writable(&dskeys)?;
    let algorithm = current.key.key_algorithm().unwrap_or_default();
    let key = SoftwareKey::generate_with(algorithm)?;
    let csr_der = csr::build(&key, &subject).context("cannot build the certificate request")?;
    let placeholder = imzo_agent::enrol::placeholder_certificate(&key, &subject).context("cannot make the placeholder certificate")?;

    let client = Client::new(&r.server)?;
    let challenge: Challenge = client.post_json("/api/v1/renewals/challenge", &serde_json::json!({})).await?;
    let document = imzo_ra::RenewalDocument {
        challenge_id: challenge.id.clone(),
        challenge_base64: challenge.challenge_base64.clone(),
        csr_base64: BASE64.encode(&csr_der),
    };
    let content = serde_json::to_vec(&document).context("cannot encode the renewal application")?;
    let options = cms::SignOptions { detached: false, signing_time: OffsetDateTime::now_utc() };
    let signed = cms::sign(&content, &current.key, &current.chain, &options).context("cannot sign the renewal application")?;
    let submitted: Submitted =
        client.post_json("/api/v1/renewals", &serde_json::json!({ "cms_base64": BASE64.encode(signed) })).await?;
    let saved = save_key(&dskeys, &key_id, &key, &placeholder, &password, &submitted.number);
    println!("Renewal of certificate {} accepted: no documents and no review; once paid it is approved automatically.", info.serial_hex);
    print_submitted(&client, &submitted, saved, &r.server)
}

/// Sends SMS codes until one is right, the user has no more, or the server allows no
/// more tries.
async fn verify_phone(client: &Client, started: &Started, codes: &mut enroll_input::CodeSource) -> Result<()> {
    let path = format!("/api/v1/applications/{}/phone", started.draft_id);
    loop {
        let Some(code) = codes.next(&started.phone_masked)? else {
            bail!("no SMS code given; the application is left unverified (start again to get a new code)");
        };
        let body = serde_json::json!({ "code": code.as_str() });
        let error = match client.post_json::<_, serde_json::Value>(&path, &body).await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let retry = error.downcast_ref::<Refused>().is_some_and(|r| {
            r.code == "wrong_code" && codes.can_retry() && enroll_input::tries_left(&r.message) != Some(0)
        });
        match error.downcast_ref::<Refused>() {
            Some(refused) if retry => eprintln!("{}", refused.message),
            _ => return Err(error),
        }
    }
}

/// Saves the new key, once the server has accepted it, as the next free DSKEYS file; if
/// that fails, in the temporary folder. The error says where the key is.
fn save_key(
    dskeys: &Path,
    key_id: &str,
    key: &SoftwareKey,
    placeholder: &imzo_pki::Certificate,
    password: &str,
    number: &str,
) -> Result<PathBuf> {
    let chain = std::slice::from_ref(placeholder);
    let first = imzo_agent::dskeys::next_free_path(dskeys, key_id)
        .map_err(anyhow::Error::from)
        .and_then(|path| pfxfile::save(&path, key, chain, password).map(|()| path).map_err(anyhow::Error::from));
    let error = match first {
        Ok(path) => return Ok(path),
        Err(error) => error,
    };
    let fallback = std::env::temp_dir().join(format!("imzo-key-{number}.pfx"));
    match pfxfile::save(&fallback, key, chain, password) {
        Ok(()) => Err(anyhow!(
            "application {number} was accepted, but its key could not be saved in {} ({error}); \
             the key is saved in {} instead, under the password you gave: move it into a DSKEYS folder \
             and use it with `imzo enroll confirm {number} --pfx FILE`",
            dskeys.display(),
            fallback.display()
        )),
        Err(second) => Err(anyhow!(
            "application {number} was accepted, but its key could not be saved in {} ({error}) nor in {} ({second}); \
             the key is lost, so the application can never be confirmed: apply again",
            dskeys.display(),
            fallback.display()
        )),
    }
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
    let info = cert::info(&chain[0])?;
    // The same install step the signing module uses: refuses a certificate for another key.
    imzo_agent::enrol::install_certificate(&f.pfx, &pfx.key, &chain, &password).map_err(|e| match e {
        imzo_agent::enrol::EnrolError::WrongKey(_) => {
            anyhow!("the issued certificate is not for the key in {}; the key file is left unchanged", f.pfx.display())
        }
        other => anyhow!(other).context("cannot install the certificate into the key file"),
    })?;
    println!("Certificate installed into {}", f.pfx.display());
    println!("  Subject: {}", info.subject);
    println!("  Serial:  {}", issued.serial);
    println!("  Valid:   {} – {}", tashkent::format(info.not_before), tashkent::format(info.not_after));
    Ok(ExitCode::SUCCESS)
}
