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
    // Without a terminal (a script, a service) nobody can type it: say what to do.
    let no_terminal = || {
        format!(
            "cannot ask for the password: there is no terminal to type it on; give it in a file with --password-file FILE ({})",
            prompt.trim_end().trim_end_matches(':')
        )
    };
    let first = Zeroizing::new(rpassword::prompt_password(prompt).with_context(no_terminal)?);
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

/// Shortest password accepted for a new key file.
pub(crate) const MIN_NEW_PASSWORD_CHARS: usize = 8;

/// The password for a NEW key file, from `file` or asked twice on the terminal: at least
/// [`MIN_NEW_PASSWORD_CHARS`] characters, since the file may be copied anywhere and
/// guessed offline.
pub(crate) fn new_password(file: Option<&Path>) -> Result<Zeroizing<String>> {
    let prompt = format!("Password for the new key file (at least {MIN_NEW_PASSWORD_CHARS} characters): ");
    let password = password(file, &prompt, true)?;
    let chars = password.chars().count();
    if chars < MIN_NEW_PASSWORD_CHARS {
        let from = file.map(|f| format!(" (from {})", f.display())).unwrap_or_default();
        bail!(
            "the password for the new key file{from} is too short ({chars}): it needs at least {MIN_NEW_PASSWORD_CHARS} characters"
        );
    }
    Ok(password)
}

/// Checks that `pfx` can be read, so a missing file is reported before a password is asked.
pub(crate) fn check_readable(pfx: &Path) -> Result<()> {
    std::fs::File::open(pfx).map(drop).map_err(|e| anyhow!("cannot read {}: {e}", pfx.display()))
}

/// Turns a failure to open a key file into one message (the I/O error once, not once per
/// layer) or a [`WrongPassword`].
pub(crate) fn open_error(pfx: &Path, error: imzo_keys::KeyError) -> anyhow::Error {
    match error {
        imzo_keys::KeyError::WrongPassword(_) | imzo_keys::KeyError::Pki(imzo_pki::PkiError::WrongPassword) => {
            anyhow!(WrongPassword(pfx.display().to_string()))
        }
        imzo_keys::KeyError::Io { source, .. } => anyhow!("cannot read {}: {source}", pfx.display()),
        other => anyhow!("cannot open {}: {other}", pfx.display()),
    }
}

/// Opens `pfx` with the password from `password_file` (or the terminal).
pub(crate) fn open(pfx: &Path, password_file: Option<&Path>) -> Result<(PfxKey, Zeroizing<String>)> {
    check_readable(pfx)?;
    let password = password(password_file, &format!("Password of {}: ", pfx.display()), false)?;
    let key = pfxfile::open(pfx, &password).map_err(|e| open_error(pfx, e))?;
    Ok((key, password))
}

/// The password of a key file is wrong (a definite answer: exit status 1).
#[derive(Debug, thiserror::Error)]
#[error("wrong password for {0}")]
pub(crate) struct WrongPassword(pub(crate) String);
