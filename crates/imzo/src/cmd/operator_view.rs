//! `imzo operator queue` and `imzo operator show N [--documents DIR]`: the review queue
//! and an application with its documents, asked for with a request signed by the
//! operator's own key (the server audits every view of personal data).

use super::operator::OperatorKey;
use crate::api::Challenge;
use crate::client::Client;
use anyhow::{Context, Result};
use imzo_pki::cms::{self, SignOptions};
use imzo_ra::{OperatorAction, OperatorRequest};
use serde::Deserialize;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use time::OffsetDateTime;

/// A document as the server lists it.
#[derive(Debug, Deserialize)]
struct DocumentInfo {
    kind: String,
    media_type: String,
    size: i64,
    sha256: String,
}

/// The payment in force.
#[derive(Debug, Deserialize)]
struct PaymentInfo {
    provider: String,
    amount_tiyin: i64,
    #[serde(default, with = "time::serde::rfc3339::option")]
    paid_at: Option<OffsetDateTime>,
}

/// An application as the operator sees it.
#[derive(Debug, Deserialize)]
struct Details {
    number: String,
    state: String,
    applicant_type: String,
    full_name: String,
    fee_tiyin: i64,
    #[serde(with = "time::serde::rfc3339")]
    pay_before: OffsetDateTime,
    #[serde(default)]
    rejection_reason: Option<String>,
    pinfl: String,
    birth_date: String,
    region: String,
    #[serde(default)]
    district: Option<String>,
    passport: String,
    phone: String,
    #[serde(default)]
    company_inn: Option<String>,
    #[serde(default)]
    company_name: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    submitted_at: OffsetDateTime,
    documents: Vec<DocumentInfo>,
    #[serde(default)]
    payment: Option<PaymentInfo>,
}

#[derive(Debug, Deserialize)]
struct Queue {
    applications: Vec<Details>,
}

/// The operator's key, opened once, and a client of the deployment.
struct Session {
    pfx: imzo_keys::pfxfile::PfxKey,
    client: Client,
}

impl Session {
    fn open(key: &OperatorKey) -> Result<Session> {
        let (pfx, _password) = crate::keys::open(&key.pfx, key.password_file.as_deref())?;
        Ok(Session { pfx, client: Client::new(&key.server)? })
    }

    /// A fresh challenge, then the request signed (attached CMS with the chain).
    async fn signed(&self, action: OperatorAction, application: Option<&str>, kind: Option<&str>) -> Result<Vec<u8>> {
        let challenge: Challenge = self.client.post_json("/api/v1/operator/challenge", &serde_json::json!({})).await?;
        let request = OperatorRequest {
            challenge_id: challenge.id,
            challenge_base64: challenge.challenge_base64,
            action,
            application: application.map(str::to_string),
            kind: kind.map(str::to_string),
            pinfl: None,
        };
        let json = serde_json::to_vec(&request).context("cannot encode the request")?;
        let options = SignOptions { detached: false, signing_time: OffsetDateTime::now_utc() };
        cms::sign(&json, &self.pfx.key, &self.pfx.chain, &options).context("cannot sign the request")
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")
}

fn sum(tiyin: i64) -> String {
    format!("{}.{:02} sum", tiyin / 100, tiyin % 100)
}

/// Runs `imzo operator queue`.
pub(crate) fn queue(key: &OperatorKey) -> Result<ExitCode> {
    let session = Session::open(key)?;
    let queue: Queue = runtime()?.block_on(async {
        let signed = session.signed(OperatorAction::Queue, None, None).await?;
        session.client.post_bytes("/api/v1/operator/queue", "application/pkcs7-mime", signed).await
    })?;
    if queue.applications.is_empty() {
        println!("No applications are waiting for review.");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} application(s) waiting for review, oldest first:", queue.applications.len());
    for a in &queue.applications {
        let company = a.company_name.as_deref().map(|c| format!("  for {c}")).unwrap_or_default();
        let paid = a.payment.as_ref().and_then(|p| p.paid_at).map(crate::tashkent::format).unwrap_or_default();
        println!("  {}  {:<12}  {}{company}  paid {paid}", a.number, a.applicant_type, a.full_name);
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `imzo operator show N [--documents DIR]`.
pub(crate) fn show(key: &OperatorKey, number: &str, documents: Option<&Path>) -> Result<ExitCode> {
    let number = number.trim();
    if let Some(dir) = documents {
        std::fs::create_dir_all(dir).with_context(|| format!("--documents: cannot create {}", dir.display()))?;
    }
    let session = Session::open(key)?;
    let runtime = runtime()?;
    let details: Details = runtime.block_on(async {
        let signed = session.signed(OperatorAction::Show, Some(number), None).await?;
        let path = format!("/api/v1/operator/applications/{number}");
        session.client.post_bytes(&path, "application/pkcs7-mime", signed).await
    })?;
    print_details(&details);
    let Some(dir) = documents else { return Ok(ExitCode::SUCCESS) };
    for doc in &details.documents {
        let (media_type, bytes) = runtime.block_on(async {
            let signed = session.signed(OperatorAction::Document, Some(number), Some(&doc.kind)).await?;
            let path = format!("/api/v1/operator/applications/{number}/documents/{}", doc.kind);
            session.client.post_bytes_for_bytes(&path, "application/pkcs7-mime", signed).await
        })?;
        let file = dir.join(file_name(&doc.kind, &media_type)?);
        save_new(&file, &bytes)?;
        println!("  Saved:      {}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `passport.pdf`, `selfie.png`, ...: the kind (checked, it names a file) and the
/// extension of the media type the server recognised.
fn file_name(kind: &str, media_type: &str) -> Result<String> {
    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        anyhow::bail!("the server named a document kind that is no file name: {kind:?}");
    }
    let extension = match media_type.split(';').next().unwrap_or_default().trim() {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        other => anyhow::bail!("the server answered {kind} as {other:?}, not PDF, PNG or JPEG"),
    };
    Ok(format!("{kind}.{extension}"))
}

/// Writes a new file; an existing one is never overwritten.
fn save_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {} (an existing file is not overwritten)", path.display()))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("cannot write {}", path.display()))
}

fn print_details(d: &Details) {
    println!("Application {}: {}", d.number, d.state);
    println!("  Type:       {}", d.applicant_type);
    println!("  Name:       {}", d.full_name);
    // Decoded here with the same rules the server applied on entry.
    match imzo_ra::validate::pinfl(&d.pinfl) {
        Ok(facts) => {
            let sex = if facts.male { "male" } else { "female" };
            println!("  PINFL:      {} (birth date {}, {sex})", d.pinfl, facts.birth_date);
            let agrees = if facts.birth_date.to_string() == d.birth_date {
                "agrees with the PINFL"
            } else {
                "DIFFERS from the PINFL"
            };
            println!("  Birth date: {} as typed ({agrees})", d.birth_date);
        }
        Err(e) => {
            println!("  PINFL:      {} (does not decode: {})", d.pinfl, e.message.en);
            println!("  Birth date: {} as typed", d.birth_date);
        }
    }
    let district = d.district.as_deref().map(|x| format!(", {x}")).unwrap_or_default();
    println!("  Address:    {}{district}", d.region);
    println!("  Passport:   {}", d.passport);
    println!("  Phone:      +{}", d.phone);
    if let Some(company) = &d.company_name {
        println!("  Company:    {company} (INN {})", d.company_inn.as_deref().unwrap_or("-"));
        println!("  Title:      {}", d.title.as_deref().unwrap_or("-"));
    }
    println!("  Submitted:  {}", crate::tashkent::format(d.submitted_at));
    println!("  Fee:        {}", sum(d.fee_tiyin));
    match &d.payment {
        Some(p) => {
            let when = p
                .paid_at
                .map(|t| format!("paid {}", crate::tashkent::format(t)))
                .unwrap_or_else(|| "created, not performed".into());
            println!("  Payment:    {} via {}, {when}", sum(p.amount_tiyin), p.provider);
        }
        None => println!("  Payment:    none (due before {})", crate::tashkent::format(d.pay_before)),
    }
    if let Some(reason) = &d.rejection_reason {
        println!("  Rejected:   {reason}");
    }
    println!("  Documents:");
    for doc in &d.documents {
        println!("    {:<9} {:<16} {:>9} bytes  sha256 {}", doc.kind, doc.media_type, doc.size, doc.sha256);
    }
}
