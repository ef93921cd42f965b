//! `imzo pfx info`: what a .pfx key file holds, and reading key-file passwords.

use anyhow::{Context, bail};
use imzo_pki::PkiError;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zeroize::Zeroizing;

/// Subcommands of `imzo pfx`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Show the alias, subject, identifiers, serial, validity and issuer chain of a .pfx.
    Info(InfoArgs),
}

/// Arguments of `imzo pfx info`.
#[derive(Debug, clap::Args)]
pub(crate) struct InfoArgs {
    /// The .pfx file.
    pub(crate) file: PathBuf,
    /// File whose first line is the password (prompted for on a terminal if omitted).
    #[arg(long, value_name = "FILE")]
    pub(crate) password_file: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Reads a key-file password: the first line of `file` without its line ending, or a
/// prompt when stdin is a terminal.
pub(crate) fn read_password(file: Option<&Path>) -> anyhow::Result<Zeroizing<String>> {
    match file {
        Some(path) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read password file {}", path.display()))?,
            );
            let first = text.lines().next().unwrap_or("");
            Ok(Zeroizing::new(first.to_string()))
        }
        None if std::io::stdin().is_terminal() => Ok(Zeroizing::new(
            rpassword::prompt_password("Password: ").context("cannot read the password")?,
        )),
        None => bail!("--password-file FILE is required when stdin is not a terminal"),
    }
}

/// Runs `imzo pfx`.
pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Info(args) => info(args),
    }
}

fn info(args: InfoArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let password = read_password(args.password_file.as_deref())?;
    let pfx = match imzo_pki::pfx::read(&bytes, &password) {
        Ok(pfx) => pfx,
        Err(PkiError::WrongPassword) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "valid": false,
                        "errors": [{ "code": "wrong_password", "message": "wrong password" }],
                    })
                );
            }
            eprintln!("imzo: {}: wrong password", args.file.display());
            return Ok(ExitCode::from(1));
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("{} is not a readable .pfx", args.file.display()));
        }
    };
    let Some(own) = pfx.chain.first() else {
        bail!("{} holds a key but no certificate", args.file.display());
    };
    let alias = match &pfx.friendly_name {
        Some(name) => name.clone(),
        None => imzo_pki::pfx::alias(own)?,
    };
    let mut infos = Vec::with_capacity(pfx.chain.len());
    for cert in &pfx.chain {
        infos.push(imzo_pki::cert::info(cert)?);
    }
    let own = &infos[0];
    let placeholder = is_placeholder(&infos);
    let fields = &own.subject_fields;
    let inn = fields.company_inn.clone().or_else(|| fields.uid.clone());
    if args.json {
        let chain: Vec<_> = infos
            .iter()
            .map(|i| serde_json::json!({ "subject": i.subject, "issuer": i.issuer, "serial": i.serial_hex }))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "valid": true,
                "errors": [],
                "alias": alias,
                "subject": own.subject,
                "pinfl": fields.pinfl,
                "inn": inn,
                "serial": own.serial_hex,
                "issuer": own.issuer,
                "not_before": super::verify::rfc3339(own.not_before),
                "not_after": super::verify::rfc3339(own.not_after),
                "chain": chain,
                "issued": !placeholder,
            })
        );
    } else {
        if placeholder {
            println!("Status:     NOT ISSUED YET: a self-signed placeholder awaiting the centre's certificate (imzo enroll confirm)");
        }
        println!("Alias:      {alias}");
        println!("Subject:    {}", own.subject);
        if let Some(pinfl) = &fields.pinfl {
            println!("PINFL:      {pinfl}");
        }
        if let Some(inn) = &inn {
            println!("INN:        {inn}");
        }
        println!("Serial:     {}", own.serial_hex);
        println!("Valid from: {}", super::verify::tashkent(own.not_before));
        println!("Valid to:   {}", super::verify::tashkent(own.not_after));
        println!("Issuer:     {}", own.issuer);
        for (depth, info) in infos.iter().enumerate().skip(1) {
            println!("  chain[{depth}]: {}", info.subject);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A key file made by `imzo enroll` holds, until the centre issues the certificate, a
/// self-signed end-entity certificate only: it proves nothing about its holder.
pub(crate) fn is_placeholder(chain: &[imzo_pki::cert::CertInfo]) -> bool {
    match chain {
        [only] => !only.is_ca && only.subject == only.issuer,
        _ => false,
    }
}
