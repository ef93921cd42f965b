//! The `imzo` command line: runs the embedded deployment (`up`), enrols and reviews
//! applications against it, and signs and verifies with the resulting keys.

mod cmd;
mod api;
mod client;
mod config;
mod keys;
mod logging;
mod tashkent;
mod token_keys;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Imzo: a national electronic-signature infrastructure in one binary.
#[derive(Debug, Parser)]
#[command(name = "imzo", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start everything on embedded defaults (bootstraps the CAs on first start).
    Up(cmd::up::Args),
    /// Apply for a certificate, follow the application and install the result.
    Enroll(Box<cmd::enroll::Args>),
    /// The local signing module web pages talk to (ws://127.0.0.1:64646/service/cryptapi).
    Agent(Box<cmd::agent::Args>),
    /// Operator decisions, signed with the operator's own key.
    #[command(subcommand)]
    Operator(cmd::operator::Command),
    /// Benchmark helpers (seeding certificates, CRL size and speed).
    #[command(subcommand)]
    Bench(cmd::bench::Command),
    /// Revoke (or suspend) your own certificate, signing the request with its key.
    Revoke(cmd::revoke::Args),
    /// Print the SMS outbox of an embedded deployment.
    Outbox(cmd::outbox::Args),
    /// Payment statements, reconciled against the applications.
    #[command(subcommand)]
    Payments(cmd::payments::Command),
    /// Sign a file (CMS / CAdES).
    Sign(cmd::sign::Args),
    /// Verify a CMS signature.
    Verify(cmd::verify::Args),
    /// Key ceremonies on PKCS#11 tokens (HSMs, SoftHSM2): init-token, keygen, pubkey, request.
    #[command(subcommand)]
    Hsm(cmd::hsm::Command),
    /// Inspect PKCS#12 key files.
    #[command(subcommand)]
    Pfx(cmd::pfx::Command),
    /// Certificate tools.
    #[command(subcommand)]
    X509(cmd::x509::Command),
    /// Trust anchors of the local deployment.
    Trust(cmd::trust::Args),
    /// Audit log checks.
    #[command(subcommand)]
    Audit(cmd::audit::Command),
    /// The authorised body: revoke, suspend or release a certificate its root issued.
    #[command(subcommand)]
    Authority(cmd::authority::Command),
    /// The authorised body's ceremonies: init-root, centre new|issue|revoke|list, register export.
    #[command(subcommand)]
    Ca(cmd::ca::Command),
    /// Back up the data folder and a consistent database snapshot into one file (mode 0600).
    Backup(cmd::backup::BackupArgs),
    /// Restore a backup into a new data folder (and an empty database), checking every member.
    Restore(cmd::backup::RestoreArgs),
    /// Settings: `check` prints every key's value in force and its source, secrets masked.
    #[command(subcommand)]
    Config(cmd::config_check::Command),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on usage errors already; help/version are a success.
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let result = match cli.command {
        Command::Up(args) => cmd::up::run(args),
        Command::Enroll(args) => cmd::enroll::run(*args),
        Command::Agent(args) => cmd::agent::run(*args),
        Command::Operator(command) => cmd::operator::run(command),
        Command::Revoke(args) => cmd::revoke::run(args),
        Command::Bench(command) => cmd::bench::run(command),
        Command::Outbox(args) => cmd::outbox::run(args),
        Command::Payments(command) => cmd::payments::run(command),
        Command::Sign(args) => cmd::sign::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Pfx(command) => cmd::pfx::run(command),
        Command::Hsm(command) => cmd::hsm::run(command),
        Command::X509(command) => cmd::x509::run(command),
        Command::Trust(args) => cmd::trust::run(args),
        Command::Audit(command) => cmd::audit::run(command),
        Command::Authority(command) => cmd::authority::run(command),
        Command::Ca(command) => cmd::ca::run(command),
        Command::Config(command) => cmd::config_check::run(command),
        Command::Backup(args) => cmd::backup::backup(args),
        Command::Restore(args) => cmd::backup::restore(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("imzo: {e:#}");
            // A refusal by the server or a wrong password is a definite answer (1);
            // anything else means the job could not be done or judged (2).
            if e.downcast_ref::<client::Refused>().is_some() || e.downcast_ref::<keys::WrongPassword>().is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}
