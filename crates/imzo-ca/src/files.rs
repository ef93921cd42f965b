//! Small durable, private files (passphrases, passwords) of the data folder.

use crate::CaError;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use zeroize::Zeroizing;

/// Creates `dir` (and parents) with mode 0700 if it does not exist.
pub(crate) fn private_dir(dir: &Path) -> Result<(), CaError> {
    fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| io(dir, e))
}

/// Writes `bytes` to `path` with mode 0600, durably: a temporary file in the same
/// folder is written and fsynced, then renamed over `path`, then the folder is fsynced.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CaError> {
    let dir = path.parent().ok_or_else(|| CaError::Setup(format!("{} has no parent folder", path.display())))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
    }
    fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, e))
}

/// Reads a secret text file, trimming the line end.
pub(crate) fn read_secret(path: &Path) -> Result<Zeroizing<String>, CaError> {
    let raw = Zeroizing::new(fs::read(path).map_err(|e| io(path, e))?);
    let text = std::str::from_utf8(&raw).map_err(|_| CaError::Setup(format!("{} is not UTF-8 text", path.display())))?;
    let trimmed = text.trim_end_matches(['\r', '\n']);
    if trimmed.is_empty() {
        return Err(CaError::Setup(format!("{} is empty", path.display())));
    }
    Ok(Zeroizing::new(trimmed.to_string()))
}

/// A random secret: `bytes` random bytes as lower-case hex.
pub(crate) fn random_hex(bytes: usize) -> Result<Zeroizing<String>, CaError> {
    let mut raw = Zeroizing::new(vec![0u8; bytes]);
    getrandom::fill(&mut raw).map_err(|e| CaError::Setup(format!("no randomness: {e}")))?;
    Ok(Zeroizing::new(hex::encode(&*raw)))
}

pub(crate) fn io(path: &Path, e: std::io::Error) -> CaError {
    CaError::Setup(format!("{}: {e}", path.display()))
}
