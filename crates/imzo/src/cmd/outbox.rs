//! `imzo outbox`: the local SMS outbox of an embedded deployment.

use crate::client::{Client, DEFAULT_SERVER};
use crate::tashkent;
use anyhow::{Context, Result};
use serde::Deserialize;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `imzo outbox`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The deployment (as printed by `imzo up`).
    #[arg(long, env = "IMZO_SERVER", default_value = DEFAULT_SERVER)]
    server: String,
    /// Keep printing new messages as they arrive.
    #[arg(long)]
    follow: bool,
}

/// One message as `GET /api/v1/dev/outbox` gives it.
#[derive(Debug, Deserialize)]
struct Message {
    id: i64,
    phone: String,
    text: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
}

/// Runs `imzo outbox`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let client = Client::new(&args.server)?;
        let mut after = 0i64;
        loop {
            let messages: Vec<Message> = client.get(&format!("/api/v1/dev/outbox?after={after}")).await?;
            for m in &messages {
                println!("+{}  {}  {}", m.phone, tashkent::format(m.created_at), m.text);
                after = after.max(m.id);
            }
            if !args.follow {
                if after == 0 {
                    eprintln!("The outbox is empty.");
                }
                return Ok(ExitCode::SUCCESS);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}
