//! `imzo operator queue|show|approve|reject|revoke|hold|release`: views and decisions
//! signed with the operator's own key.

use crate::client::{Client, DEFAULT_SERVER};
use anyhow::{Context, Result};
use imzo_pki::cms::{self, SignOptions};
use crate::api::{Challenge, View};
use imzo_ra::{Decision, DecisionDocument};
use std::path::PathBuf;
use std::process::ExitCode;

/// Subcommands of `imzo operator`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// List the paid applications waiting for review (each view is audited).
    Queue {
        #[command(flatten)]
        key: OperatorKey,
    },
    /// Show application N: the applicant's data, the PINFL decoded beside what was typed,
    /// state, payment and documents (the view is audited).
    Show {
        /// 12-digit application number.
        number: String,
        /// Save the passport scan and the selfie in DIR (named by kind and media type).
        #[arg(long, value_name = "DIR")]
        documents: Option<PathBuf>,
        #[command(flatten)]
        key: OperatorKey,
    },
    /// Approve application N.
    Approve {
        /// 12-digit application number.
        number: String,
        #[command(flatten)]
        key: OperatorKey,
    },
    /// Reject application N; the reason is sent to the applicant by SMS.
    Reject {
        /// 12-digit application number.
        number: String,
        /// Why, in free text (sent to the applicant; required with `--code other`).
        #[arg(long, default_value = "")]
        reason: String,
        /// A listed reason: documents_unreadable, selfie_mismatch, data_mismatch,
        /// passport_invalid, company_authority, other.
        #[arg(long, default_value = "other")]
        code: String,
        #[command(flatten)]
        key: OperatorKey,
    },
    /// Revoke certificate SERIAL (hex) with an RFC 5280 reason.
    Revoke {
        /// Certificate serial, hex.
        serial: String,
        /// keyCompromise, cACompromise, affiliationChanged, superseded,
        /// cessationOfOperation, privilegeWithdrawn, aACompromise, unspecified.
        #[arg(long, default_value = "unspecified")]
        reason: String,
        #[command(flatten)]
        key: OperatorKey,
    },
    /// Suspend certificate SERIAL (certificateHold).
    Hold {
        /// Certificate serial, hex.
        serial: String,
        #[command(flatten)]
        key: OperatorKey,
    },
    /// Lift the hold on certificate SERIAL.
    Release {
        /// Certificate serial, hex.
        serial: String,
        #[command(flatten)]
        key: OperatorKey,
    },
}

/// The operator's key file and the deployment.
#[derive(Debug, clap::Args)]
pub(crate) struct OperatorKey {
    /// The operator's .pfx (for the first operator: DATA/operators/operator1.pfx).
    #[arg(long)]
    pub(crate) pfx: PathBuf,
    /// File holding the .pfx password (asked on the terminal if absent).
    #[arg(long)]
    pub(crate) password_file: Option<PathBuf>,
    /// The deployment.
    #[arg(long, env = "IMZO_SERVER", default_value = DEFAULT_SERVER)]
    pub(crate) server: String,
}

/// Runs `imzo operator`.
pub(crate) fn run(command: Command) -> Result<ExitCode> {
    use imzo_ca::revocation::RevocationAction;
    let status_change = |serial: String, key: OperatorKey, action, reason| {
        super::revoke::operator(&key.server, &key.pfx, key.password_file.as_deref(), &serial, action, reason)
    };
    let (number, decision, key) = match command {
        Command::Queue { key } => return super::operator_view::queue(&key),
        Command::Show { number, documents, key } => return super::operator_view::show(&key, &number, documents.as_deref()),
        Command::Revoke { serial, reason, key } => return status_change(serial, key, RevocationAction::Revoke, Some(reason)),
        Command::Hold { serial, key } => return status_change(serial, key, RevocationAction::Hold, None),
        Command::Release { serial, key } => return status_change(serial, key, RevocationAction::Release, None),
        Command::Approve { number, key } => (number, Decision::Approve, key),
        Command::Reject { number, reason, code, key } => {
            if code == imzo_ra::reasons::OTHER && reason.trim().is_empty() {
                anyhow::bail!("--reason must say why the application is rejected (or give a listed --code)");
            }
            (number, Decision::Reject { code: Some(code), reason }, key)
        }
    };
    let (pfx, _password) = crate::keys::open(&key.pfx, key.password_file.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    let view = runtime.block_on(async {
        let client = Client::new(&key.server)?;
        let challenge: Challenge = client.post_json("/api/v1/operator/challenge", &serde_json::json!({})).await?;
        let document = DecisionDocument {
            challenge_id: challenge.id,
            challenge_base64: challenge.challenge_base64,
            application: number.clone(),
            decision,
        };
        let json = serde_json::to_vec(&document).context("cannot encode the decision")?;
        let options = SignOptions { detached: false, signing_time: time::OffsetDateTime::now_utc() };
        let signed = cms::sign(&json, &pfx.key, &pfx.chain, &options).context("cannot sign the decision")?;
        client.post_bytes::<View>("/api/v1/operator/decisions", "application/pkcs7-mime", signed).await
    })?;
    println!("Application {}: {}", view.number, view.state);
    println!("  Applicant: {}", view.full_name);
    if let Some(reason) = &view.rejection_reason {
        println!("  Reason:    {reason}");
    }
    Ok(ExitCode::SUCCESS)
}
