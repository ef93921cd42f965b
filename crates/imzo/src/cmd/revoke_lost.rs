//! `imzo revoke --lost NUMBER`: a holder who lost the key revokes through the application
//! number (or the certificate's serial), a captcha and an SMS code to the phone on the
//! application.

use crate::client::{Client, Refused};
use crate::cmd::enroll_input::{CodeSource, tries_left};
use anyhow::{Context, Result, bail};
use base64::Engine as _;
use imzo_ca::revocation::StatusView;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

/// What `imzo revoke --lost` needs.
pub(crate) struct Lost<'a> {
    /// Application number or certificate serial.
    pub(crate) number: &'a str,
    /// RFC 5280 reason name (checked already).
    pub(crate) reason: Option<String>,
    /// A captcha already answered (`--captcha-id` with `--captcha-answer`).
    pub(crate) captcha: Option<(String, String)>,
    /// Where to save the captcha picture.
    pub(crate) captcha_file: Option<&'a Path>,
    /// `--code`, when the code is known already.
    pub(crate) code: Option<&'a str>,
    /// The deployment.
    pub(crate) server: &'a str,
}

/// The confirmation body (the code stays in the caller's zeroized buffer).
#[derive(serde::Serialize)]
struct Confirm<'a> {
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Debug, serde::Deserialize)]
struct CaptchaReply {
    id: String,
    image_png_base64: String,
}

#[derive(Debug, serde::Deserialize)]
struct Requested {
    request_id: String,
    notice: Notice,
}

#[derive(Debug, serde::Deserialize)]
struct Notice {
    en: String,
}

/// Shows the captcha picture (saved to a file) and reads its digits from the terminal.
async fn solve_captcha(client: &Client, file: Option<&Path>) -> Result<(String, String)> {
    if !std::io::stdin().is_terminal() {
        bail!("the captcha needs a person: run on a terminal, or give --captcha-id and --captcha-answer");
    }
    let captcha: CaptchaReply = client.post_json("/api/v1/captcha", &serde_json::json!({})).await?;
    let png = base64::engine::general_purpose::STANDARD.decode(&captcha.image_png_base64).context("the captcha picture is not base64")?;
    let path = file.map_or_else(|| std::env::temp_dir().join(format!("imzo-captcha-{}.png", std::process::id())), PathBuf::from);
    std::fs::write(&path, png).with_context(|| format!("cannot write the captcha picture to {}", path.display()))?;
    eprint!("Open {} and type the digits you see: ", path.display());
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the captcha answer")?;
    let _ = std::fs::remove_file(&path);
    Ok((captcha.id, line.trim().to_string()))
}

/// Runs the lost-key revocation to its end.
pub(crate) fn run(lost: Lost<'_>) -> Result<StatusView> {
    let mut codes = CodeSource::choose(lost.code)?;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let client = Client::new(lost.server)?;
        let (captcha_id, answer) = match lost.captcha {
            Some(given) => given,
            None => solve_captcha(&client, lost.captcha_file).await?,
        };
        let requested: Requested = client
            .post_json(
                "/api/v1/revocations/lost",
                &serde_json::json!({ "number": lost.number, "captcha_id": captcha_id, "answer": answer }),
            )
            .await?;
        eprintln!("{}", requested.notice.en);
        let path = format!("/api/v1/revocations/lost/{}/confirm", requested.request_id);
        loop {
            let Some(code) = codes.next("the phone on the application")? else {
                bail!("no SMS code given; nothing was revoked");
            };
            let body = Confirm { code: &code, reason: lost.reason.as_deref() };
            match client.post_json::<_, StatusView>(&path, &body).await {
                Ok(view) => return Ok(view),
                Err(e) => {
                    let retry = e
                        .downcast_ref::<Refused>()
                        .is_some_and(|r| r.code == "wrong_code" && tries_left(&r.message).is_some_and(|n| n > 0));
                    if retry && codes.can_retry() {
                        eprintln!("{e}");
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    })
}
