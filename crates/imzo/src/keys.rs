//! Opening the user's .pfx with a password from a file or the terminal.

use anyhow::{Context, Result, anyhow, bail};
use imzo_keys::pfxfile::{self, PfxKey};
use std::path::Path;
use zeroize::Zeroizing;

/// Reads a password file (its first line; a trailing line end is not part of the password).
pub(crate) fn password_from_file(path: &Path) -> Result<Zeroizing<String>> {
    let text = Zeroizing::new(std::fs::read_to_string(path).with_context(|| format!("cannot read password file {}", path.display()))?);
    let password = text.lines().next().unwrap_or_default();
    if password.is_empty() {
        bail!("password file {} is empty", path.display());
    }
    Ok(Zeroizing::new(password.to_string()))
}

/// The password from `file`, or asked on the terminal (twice when `confirm`).
pub(crate) fn password(file: Option<&Path>, prompt: &str, confirm: bool) -> Result<Zeroizing<String>> {
    if let Some(path) = file {
        return password_from_file(path);
    }
    let first = Zeroizing::new(rpassword::prompt_password(prompt).context("cannot read the password from the terminal")?);
    if first.is_empty() {
        bail!("the password is empty");
    }
    if confirm {
        let second = Zeroizing::new(rpassword::prompt_password("Repeat the password: ").context("cannot read the password")?);
        if *first != *second {
            bail!("the two passwords differ");
        }
    }
    Ok(first)
}

/// Opens `pfx` with the password from `password_file` (or the terminal).
pub(crate) fn open(pfx: &Path, password_file: Option<&Path>) -> Result<(PfxKey, Zeroizing<String>)> {
    let password = password(password_file, &format!("Password of {}: ", pfx.display()), false)?;
    let key = pfxfile::open(pfx, &password).map_err(|e| match e {
        imzo_keys::KeyError::WrongPassword(_) | imzo_keys::KeyError::Pki(imzo_pki::PkiError::WrongPassword) => {
            anyhow!(WrongPassword(pfx.display().to_string()))
        }
        other => anyhow!(other).context(format!("cannot open {}", pfx.display())),
    })?;
    Ok((key, password))
}

/// The password of a key file is wrong (a definite answer: exit status 1).
#[derive(Debug, thiserror::Error)]
#[error("wrong password for {0}")]
pub(crate) struct WrongPassword(pub(crate) String);
