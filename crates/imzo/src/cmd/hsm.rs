//! `imzo hsm`: key ceremonies on PKCS#11 tokens (HSMs; SoftHSM2 for trials).
//!
//! - `init-token`: initialise a SoftHSM2 token and set its user PIN.
//! - `keygen URI`: make an ECDSA P-256 key pair inside the token; prints the key's URI
//!   (with the id it was given, never the PIN) and its public key fingerprint.
//! - `request URI --name NAME`: a PKCS#10 request signed by the token key, for the root to
//!   certify (`imzo ca centre issue REQ --key-ref URI` then runs the centre on the token).

use anyhow::{Context, Result, bail};
use imzo_keys::RawSigner;
use imzo_keys::pkcs11::{Pkcs11Key, generate_p256, init_token};
use std::path::PathBuf;
use std::process::ExitCode;

/// Subcommands of `imzo hsm`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Initialise the first free token of a module (SoftHSM2) and set its user PIN.
    InitToken(InitArgs),
    /// Generate an ECDSA P-256 key pair on the token the URI names.
    Keygen(KeyArgs),
    /// Print the public key (PEM) of the token key the URI names.
    Pubkey(KeyArgs),
    /// Write a PKCS#10 request for a CA certificate, signed by the token key.
    Request(RequestArgs),
}

/// Arguments of `imzo hsm init-token`.
#[derive(Debug, clap::Args)]
pub(crate) struct InitArgs {
    /// The PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long)]
    pub(crate) module: PathBuf,
    /// Token label.
    #[arg(long)]
    pub(crate) label: String,
    /// File whose first line is the security officer's PIN.
    #[arg(long, value_name = "FILE")]
    pub(crate) so_pin_file: PathBuf,
    /// File whose first line is the user PIN (what `pin-source=file:` then names).
    #[arg(long, value_name = "FILE")]
    pub(crate) pin_file: PathBuf,
}

/// A key named by a PKCS#11 URI.
#[derive(Debug, clap::Args)]
pub(crate) struct KeyArgs {
    /// `pkcs11:token=…;object=…?module-path=…&pin-source=file:…` (RFC 7512).
    pub(crate) uri: String,
}

/// Arguments of `imzo hsm request`.
#[derive(Debug, clap::Args)]
pub(crate) struct RequestArgs {
    /// The token key's URI.
    pub(crate) uri: String,
    /// The CA's name (common name and organisation of the request).
    #[arg(long)]
    pub(crate) name: String,
    /// Where to write the request (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,
}

/// Runs `imzo hsm`.
pub(crate) fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::InitToken(args) => {
            let so = super::pfx::read_password(Some(&args.so_pin_file))?;
            let user = super::pfx::read_password(Some(&args.pin_file))?;
            init_token(&args.module, &args.label, &so, &user)?;
            println!("token {:?} initialised on {}", args.label, args.module.display());
        }
        Command::Keygen(args) => {
            let key = generate_p256(&args.uri).context("cannot generate the key")?;
            describe(&key);
        }
        Command::Pubkey(args) => {
            let key = Pkcs11Key::open(&args.uri).context("cannot open the key")?;
            print!("{}", pem("PUBLIC KEY", key.public_key_der()));
        }
        Command::Request(args) => {
            if args.out.exists() {
                bail!("{} exists already", args.out.display());
            }
            let key = Pkcs11Key::open(&args.uri).context("cannot open the key")?;
            let name = args.name.trim();
            let subject = imzo_pki::name::Subject {
                common_name: name.to_string(),
                organization: Some(name.to_string()),
                country: Some("UZ".to_string()),
                ..Default::default()
            };
            let der = imzo_pki::csr::build(&key, &subject)?;
            std::fs::write(&args.out, pem("CERTIFICATE REQUEST", &der))
                .with_context(|| format!("cannot write {}", args.out.display()))?;
            describe(&key);
            println!("request:    {}", args.out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(key: &Pkcs11Key) {
    println!("key:        {}", key.reference());
    println!("public key: SHA-256 {}", imzo_store::certificates::spki_sha256(key.public_key_der()));
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
