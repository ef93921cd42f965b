//! `imzo revoke` (the holder, with the key itself) and `imzo operator
//! revoke|hold|release` (an operator, with the operator's own key): a JSON revocation
//! request bound to a server challenge, signed as an attached CMS.

use crate::client::{Client, DEFAULT_SERVER};
use anyhow::{Context, Result};
use imzo_ca::revocation::{RevocationAction, RevocationChallenge, RevocationRequest, StatusView};
use imzo_pki::cms::{self, SignOptions};
use imzo_pki::crl::RevocationReason;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `imzo revoke`: the holder revokes (or suspends) their own certificate.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The holder's .pfx: the request is signed with the very key being revoked.
    #[arg(long, required_unless_present = "lost", conflicts_with = "lost")]
    pfx: Option<PathBuf>,
    /// Lost key: the application number (or the certificate's serial). A captcha, then
    /// the SMS code sent to the phone on the application, stand in for the key.
    #[arg(long, value_name = "NUMBER")]
    lost: Option<String>,
    /// With --lost: the id of a captcha already solved (else the picture is shown).
    #[arg(long, requires = "captcha_answer", requires = "lost")]
    captcha_id: Option<String>,
    /// With --captcha-id: its answer.
    #[arg(long, requires = "captcha_id")]
    captcha_answer: Option<String>,
    /// With --lost: where to save the captcha picture (default: the temporary folder).
    #[arg(long, requires = "lost")]
    captcha_file: Option<PathBuf>,
    /// With --lost: the SMS code, if you have it already (else it is asked for).
    #[arg(long, requires = "lost")]
    code: Option<String>,
    /// File holding the .pfx password (asked on the terminal if absent).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// RFC 5280 reason: keyCompromise, affiliationChanged, superseded,
    /// cessationOfOperation, privilegeWithdrawn, unspecified (cACompromise and
    /// aACompromise are for a certification authority only).
    #[arg(long, default_value = "unspecified")]
    reason: String,
    /// Suspend (certificateHold) instead of revoking; only an operator can lift it.
    #[arg(long, conflicts_with = "reason")]
    hold: bool,
    /// The deployment.
    #[arg(long, env = "IMZO_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
}

/// Runs `imzo revoke`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    // Refused by the server too; said here before any password is asked.
    if !args.hold {
        let reason = RevocationReason::parse(&args.reason).map_err(|e| anyhow::anyhow!("--reason: {e}"))?;
        if !imzo_ca::revocation::holder_may_give(reason) {
            anyhow::bail!(
                "--reason {}: only a certification authority may give this reason; a holder may give unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation or privilegeWithdrawn (or --hold)",
                reason.name()
            );
        }
    }
    if let Some(number) = args.lost.as_deref() {
        let reason = if args.hold { "certificateHold".to_string() } else { args.reason.clone() };
        let reason = RevocationReason::parse(&reason).map_err(|e| anyhow::anyhow!("--reason: {e}"))?.name().to_string();
        let view = super::revoke_lost::run(super::revoke_lost::Lost {
            number,
            reason: Some(reason),
            captcha: args.captcha_id.clone().zip(args.captcha_answer.clone()),
            captcha_file: args.captcha_file.as_deref(),
            code: args.code.as_deref(),
            server: &args.server,
        })?;
        print(&view);
        return Ok(ExitCode::SUCCESS);
    }
    let pfx_path = args.pfx.as_deref().context("give --pfx (or --lost NUMBER when the key is lost)")?;
    let (pfx, _password) = crate::keys::open(pfx_path, args.password_file.as_deref())?;
    let leaf = pfx.chain.first().context("the .pfx holds no certificate")?;
    let serial = imzo_pki::cert::info(leaf)?.serial_hex;
    let (action, reason) = if args.hold { (RevocationAction::Hold, None) } else { (RevocationAction::Revoke, Some(args.reason)) };
    let view = send(&args.server, &pfx, &serial, action, reason)?;
    print(&view);
    Ok(ExitCode::SUCCESS)
}

/// An operator's status change of certificate `serial`.
pub(crate) fn operator(
    server: &str,
    pfx_path: &Path,
    password_file: Option<&Path>,
    serial: &str,
    action: RevocationAction,
    reason: Option<String>,
) -> Result<ExitCode> {
    let (pfx, _password) = crate::keys::open(pfx_path, password_file)?;
    let view = send(server, &pfx, serial, action, reason)?;
    print(&view);
    Ok(ExitCode::SUCCESS)
}

fn print(view: &StatusView) {
    println!("Certificate {}: {}", view.serial, view.status);
    if let Some(reason) = &view.reason {
        println!("  Reason:  {reason}");
    }
    if let Some(at) = view.revoked_at {
        println!("  Since:   {}", super::verify::tashkent(at));
    }
    println!("  By:      {}", view.by);
}

fn send(
    server: &str,
    pfx: &imzo_keys::pfxfile::PfxKey,
    serial: &str,
    action: RevocationAction,
    reason: Option<String>,
) -> Result<StatusView> {
    let serial = serial.trim().trim_start_matches("0x").to_ascii_lowercase();
    if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        anyhow::bail!("the serial {serial:?} is not a hexadecimal number");
    }
    // Checked here too, so a typo is reported before anything is signed.
    let reason = match reason {
        Some(text) => Some(RevocationReason::parse(&text).map_err(|e| anyhow::anyhow!("--reason: {e}"))?.name().to_string()),
        None => None,
    };
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let client = Client::new(server)?;
        let challenge: RevocationChallenge = client.post_json("/api/v1/revocations/challenge", &serde_json::json!({})).await?;
        let request = RevocationRequest {
            challenge_id: challenge.id,
            challenge_base64: challenge.challenge_base64,
            serial,
            action,
            reason,
        };
        let json = serde_json::to_vec(&request).context("cannot encode the revocation request")?;
        let options = SignOptions { detached: false, signing_time: time::OffsetDateTime::now_utc() };
        let signed = cms::sign(&json, &pfx.key, &pfx.chain, &options).context("cannot sign the revocation request")?;
        client.post_bytes::<StatusView>("/api/v1/revocations", "application/pkcs7-mime", signed).await
    })
}
