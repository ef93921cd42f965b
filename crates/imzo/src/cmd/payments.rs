//! `imzo payments statement`: what was paid in a period, by provider, reconciled against
//! the applications, read straight from the deployment's database.

use crate::config::{Overrides, Settings};
use crate::tashkent;
use anyhow::{Context, Result, anyhow, bail};
use imzo_ra::statement::{Discrepancy, Statement, statement};
use imzo_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;
use time::{Date, OffsetDateTime, Time, macros::format_description};

/// `imzo payments …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Payments of a period by provider, with what does not reconcile (exit 1 if anything).
    Statement(StatementArgs),
}

/// Arguments of `imzo payments statement`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatementArgs {
    /// First day, YYYY-MM-DD (Tashkent).
    #[arg(long)]
    from: String,
    /// Last day, YYYY-MM-DD (Tashkent), included.
    #[arg(long)]
    to: String,
    /// Data folder of the deployment (its settings name the database).
    #[arg(long, env = "IMZO_DATA", default_value = "imzo-data")]
    data: PathBuf,
    /// Database URL (instead of the data folder's settings).
    #[arg(long)]
    database: Option<String>,
    /// Settings file (default: DATA/imzo.toml if present).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `imzo payments …`.
pub(crate) fn run(command: Command) -> Result<ExitCode> {
    let Command::Statement(args) = command;
    let (from_ms, to_ms) = period(&args.from, &args.to)?;
    let url = match &args.database {
        Some(url) => url.clone(),
        None => {
            if !args.data.is_dir() {
                bail!("{} is not a data folder; give --data DIR or --database URL", args.data.display());
            }
            let overrides = Overrides { config: args.config.clone(), ..Overrides::default() };
            Settings::load(&args.data, &overrides)?.database_url.to_string()
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    let statement = runtime.block_on(async {
        let store = Store::connect(&url).await.context("cannot open the database")?;
        let result = statement(&store, from_ms, to_ms).await.map_err(|e| anyhow!("{e}"));
        store.close().await;
        result
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&statement)?);
    } else {
        print!("{}", render(&statement, &args.from, &args.to));
    }
    Ok(if statement.discrepancies.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `[from 00:00, to 24:00)` in Tashkent as inclusive UTC milliseconds.
fn period(from: &str, to: &str) -> Result<(i64, i64)> {
    let day = |text: &str, flag: &str| {
        Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
            .map_err(|e| anyhow!("--{flag}: {text:?} is not a date like 2026-12-03 ({e})"))
    };
    let (from, to) = (day(from, "from")?, day(to, "to")?);
    if from > to {
        bail!("--to {to} is before --from {from}");
    }
    let start = |d: Date| -> i64 {
        let nanos = d.with_time(Time::MIDNIGHT).assume_offset(tashkent::OFFSET).unix_timestamp_nanos();
        i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
    };
    let after = to.next_day().ok_or_else(|| anyhow!("--to {to} is too far in the future"))?;
    Ok((start(from), start(after) - 1))
}

fn sum(tiyin: i64) -> String {
    imzo_gateways::money::tiyin_to_sum(tiyin)
}

fn at(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map(tashkent::format).unwrap_or_default()
}

/// The statement as text for people.
fn render(s: &Statement, from: &str, to: &str) -> String {
    let mut out = format!("Payments {from} … {to} (Tashkent)\n\n");
    if s.totals.is_empty() {
        out.push_str("No payments.\n");
    }
    for (provider, total) in &s.totals {
        out.push_str(&format!(
            "{provider}: {} payment(s), paid {} sum, refunded {} sum, net {} sum\n",
            total.payments,
            sum(total.paid_tiyin),
            sum(total.refunded_tiyin),
            sum(total.paid_tiyin - total.refunded_tiyin),
        ));
        for line in s.lines.iter().filter(|l| &l.provider == provider) {
            let refunded = line.refunded_at_ms.map(|ms| format!("  refunded {}", at(ms))).unwrap_or_default();
            out.push_str(&format!(
                "  {}  application {}  {} sum  {} #{}  ({}){refunded}\n",
                at(line.performed_at_ms),
                line.application,
                sum(line.amount_tiyin),
                line.provider_txn_id,
                line.receipt,
                line.application_state,
            ));
        }
    }
    if s.sandbox_payments > 0 {
        out.push_str(&format!(
            "({} sandbox payment(s) left out: test payments, no provider's money)\n",
            s.sandbox_payments
        ));
    }
    if s.discrepancies.is_empty() {
        out.push_str("\nReconciled: every payment matches a paid application and every paid application a payment.\n");
    } else {
        out.push_str(&format!("\n{} discrepanc(ies):\n", s.discrepancies.len()));
        for d in &s.discrepancies {
            let text = match d {
                Discrepancy::PaidWithoutPayment { application, state } => {
                    format!("application {application} is {state} but has no performed payment")
                }
                Discrepancy::PaymentWithoutPaidApplication { provider, receipt, application, state } => {
                    format!("{provider} payment #{receipt} for application {application}, which is {state}")
                }
                Discrepancy::AmountNotFee { provider, receipt, application, amount_tiyin, fee_tiyin } => format!(
                    "{provider} payment #{receipt} for application {application}: {} sum, but the fee is {} sum",
                    sum(*amount_tiyin),
                    sum(*fee_tiyin)
                ),
            };
            out.push_str(&format!("  ! {text}\n"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn period_is_whole_tashkent_days() {
        let (from, to) = period("2026-12-03", "2026-12-03").unwrap();
        // 2026-12-03 00:00 Tashkent = 2026-12-02 19:00 UTC.
        assert_eq!(from, 1_796_238_000_000);
        assert_eq!(to, from + 86_400_000 - 1);
        assert!(period("2026-12-04", "2026-12-03").is_err());
        assert!(period("2026-12-32", "2026-12-03").unwrap_err().to_string().contains("--from"));
    }
}
