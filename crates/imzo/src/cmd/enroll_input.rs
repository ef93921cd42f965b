//! What `imzo enroll` checks on this computer before it asks the server anything, so a
//! typo or a wrong file costs no SMS and leaves nothing behind, and where the SMS code
//! comes from.

use anyhow::{Context, Result, anyhow, bail};
use imzo_ra::{ApplicantType, RaError, StartRequest, Upload, upload, validate};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use zeroize::Zeroizing;

/// The command-line flag of an API field, for messages.
fn flag_of(field: &str) -> String {
    format!("--{}", field.replace('_', "-"))
}

/// An [`RaError`] about `value` given as the flag of its field.
fn invalid(error: RaError, value: &str) -> anyhow::Error {
    let flag = error.field.as_deref().map(flag_of).unwrap_or_else(|| "input".to_string());
    anyhow!("{flag} {value:?}: {}", error.message.en)
}

fn optional(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Checks every field of `r` with the registration centre's own rules.
pub(crate) fn check_request(r: &StartRequest) -> Result<()> {
    let facts = validate::pinfl(r.pinfl.trim()).map_err(|e| invalid(e, &r.pinfl))?;
    validate::birth_date(&r.birth_date, facts.birth_date).map_err(|e| invalid(e, &r.birth_date))?;
    validate::person_name("surname", &r.surname).map_err(|e| invalid(e, &r.surname))?;
    validate::person_name("given_name", &r.given_name).map_err(|e| invalid(e, &r.given_name))?;
    if let Some(p) = optional(&r.patronymic) {
        validate::person_name("patronymic", p).map_err(|e| invalid(e, p))?;
    }
    validate::text("region", &r.region, 100).map_err(|e| invalid(e, &r.region))?;
    if let Some(d) = optional(&r.district) {
        validate::text("district", d, 100).map_err(|e| invalid(e, d))?;
    }
    validate::passport(&r.passport).map_err(|e| invalid(e, &r.passport))?;
    validate::phone(&r.phone).map_err(|e| invalid(e, &r.phone))?;
    if r.applicant_type == ApplicantType::LegalEntity {
        let inn = optional(&r.company_inn).ok_or_else(|| anyhow!("--company-inn is required for a legal entity"))?;
        validate::company_inn(inn).map_err(|e| invalid(e, inn))?;
        let name = optional(&r.company_name).ok_or_else(|| anyhow!("--company-name is required for a legal entity"))?;
        validate::text("company_name", name, 200).map_err(|e| invalid(e, name))?;
        let title = optional(&r.title).ok_or_else(|| anyhow!("--title is required for a legal entity"))?;
        validate::text("title", title, 100).map_err(|e| invalid(e, title))?;
    }
    Ok(())
}

/// Reads a document for `flag` and checks it as the server will (PDF, PNG or JPEG by
/// content, at most 5 MB); returns its file name and bytes.
pub(crate) fn read_document(flag: &str, path: &Path) -> Result<(String, Vec<u8>)> {
    let size = std::fs::metadata(path).map_err(|e| anyhow!("{flag} {}: cannot read it: {e}", path.display()))?.len();
    let limit = upload::MAX_DOCUMENT_BYTES;
    // Refuse a large file before reading it into memory.
    if size > limit as u64 {
        bail!(
            "{flag} {}: the file is {:.1} MB; at most 5 MB ({limit} bytes) is accepted",
            path.display(),
            size as f64 / (1024.0 * 1024.0)
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("{flag} {}: cannot read it", path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "document".to_string());
    let document = Upload { file_name: Some(name.clone()), bytes };
    let field = flag.trim_start_matches("--").replace('-', "_");
    upload::media_type(&field, &document).map_err(|e| anyhow!("{flag} {}: {}", path.display(), e.message.en))?;
    Ok((name, document.bytes))
}

/// Checks that `dir` (the DSKEYS folder) exists or can be made, and that a key file can
/// be written in it, so the key made later is not lost for want of a place.
pub(crate) fn check_writable(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow!("--keys: cannot create {}: {e}", dir.display()))?;
    let probe = dir.join(format!(".imzo-write-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| anyhow!("--keys: cannot write key files in {}: {e}", dir.display()))?;
    std::fs::remove_file(&probe).map_err(|e| anyhow!("cannot remove {}: {e}", probe.display()))?;
    Ok(())
}

/// The SMS code is 6 digits.
fn is_code(text: &str) -> bool {
    text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Where SMS codes come from.
#[derive(Debug)]
pub(crate) enum CodeSource {
    /// `--code`: tried once.
    Given(Option<Zeroizing<String>>),
    /// Asked on the terminal, again after a wrong code.
    Terminal,
    /// Lines read from a pipe or file on stdin (scripts), one per try.
    Piped,
}

impl CodeSource {
    /// Decides where codes come from, refusing before anything is sent when nothing can
    /// answer (no `--code`, stdin neither a terminal nor something that supplies lines).
    pub(crate) fn choose(given: Option<&str>) -> Result<CodeSource> {
        if let Some(code) = given {
            let code = Zeroizing::new(code.trim().to_string());
            if !is_code(&code) {
                bail!("--code: the SMS code is 6 digits");
            }
            return Ok(CodeSource::Given(Some(code)));
        }
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Ok(CodeSource::Terminal);
        }
        if stdin_can_answer() {
            return Ok(CodeSource::Piped);
        }
        bail!(
            "no way to give the SMS code: stdin is not a terminal and supplies nothing; \
             give --code CODE (once you have it), or pipe the code on stdin"
        )
    }

    /// Whether a wrong code can be followed by another try.
    pub(crate) fn can_retry(&self) -> bool {
        !matches!(self, CodeSource::Given(_))
    }

    /// The next code to try, or `None` when no more will come.
    pub(crate) fn next(&mut self, phone_masked: &str) -> Result<Option<Zeroizing<String>>> {
        match self {
            CodeSource::Given(code) => Ok(code.take()),
            CodeSource::Terminal | CodeSource::Piped => loop {
                eprint!("SMS code sent to {phone_masked}: ");
                std::io::stderr().flush().ok();
                let mut line = Zeroizing::new(String::new());
                let read = std::io::stdin().lock().read_line(&mut line).context("cannot read the SMS code")?;
                if read == 0 {
                    eprintln!();
                    return Ok(None);
                }
                let code = Zeroizing::new(line.trim().to_string());
                if is_code(&code) {
                    return Ok(Some(code));
                }
                eprintln!("The SMS code is 6 digits; type it again.");
            },
        }
    }
}

/// Whether stdin, not being a terminal, can supply a line: a pipe or socket (a script
/// writing the code), or a non-empty file. `/dev/null`, another device, an empty file or a
/// closed stdin cannot.
#[cfg(unix)]
fn stdin_can_answer() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(meta) = std::fs::File::from(fd).metadata() else {
        return false;
    };
    let kind = meta.file_type();
    kind.is_fifo() || kind.is_socket() || (kind.is_file() && meta.len() > 0)
}

/// Elsewhere stdin cannot be examined cheaply: let a redirected stdin try to answer.
#[cfg(not(unix))]
fn stdin_can_answer() -> bool {
    true
}

/// The tries the server says are left after a wrong code ("… Tries left: 4."), if it says.
pub(crate) fn tries_left(message: &str) -> Option<u32> {
    let (_, after) = message.rsplit_once("Tries left:")?;
    after.trim().trim_end_matches('.').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tries_left_from_the_servers_message() {
        assert_eq!(tries_left("Wrong code. Tries left: 4."), Some(4));
        assert_eq!(tries_left("Wrong code. Tries left: 0."), Some(0));
        assert_eq!(tries_left("The code has expired"), None);
    }

    #[test]
    fn codes_are_six_digits() {
        assert!(is_code("012345"));
        assert!(!is_code("12345"));
        assert!(!is_code("12345a"));
    }
}
