//! Where key files live and how they are named.
//!
//! E-IMZO keeps a person's keys as `.pfx` files in a `DSKEYS` folder at the top of a
//! drive (`C:\DSKEYS`, `/media/<user>/<drive>/DSKEYS`, `/Volumes/<drive>/DSKEYS`) or of a
//! folder the user configured. A file is named `DS` + the owner's identifier (PINFL, 14
//! digits, for a person; company INN, 9 digits, for a legal entity) + a four-digit
//! counter, e.g. `DS328088101700660001.pfx` or `DS3081215870002.pfx`. Web pages see
//! each file as `{disk, path, name}`: the root holding `DSKEYS`, the folder inside that
//! root, and the file name without `.pfx`.

use std::path::{Path, PathBuf};

/// Name of the key folder at the top of a disk.
pub const DSKEYS: &str = "DSKEYS";

/// How deep below `DSKEYS` key files are looked for (`DSKEYS/a/b/x.pfx` at most).
const MAX_SUBDIR_DEPTH: usize = 2;

/// Why a key file name cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum DsKeysError {
    /// Neither a valid PINFL (14 digits, real birth date, check digit) nor an INN
    /// (9 digits starting with 2–7).
    #[error("{0:?}: {reason}", reason = why_invalid(.0))]
    InvalidIdentifier(String),
    /// The counter must be 1..=9999.
    #[error("key file counter {0} is outside 1..=9999")]
    CounterOutOfRange(u16),
    /// All 9999 names for this identifier are taken in the folder.
    #[error("no free key file name left for {0} in {1}")]
    Exhausted(String, String),
    /// The folder could not be examined.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What kind of owner an identifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierKind {
    /// An individual's PINFL (14 digits).
    Pinfl,
    /// A company's INN / STIR (9 digits).
    Inn,
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

/// Checks a PINFL (identifiers.md): 14 digits; the first 1–6 giving the century; digits
/// 2–7 a real date DDMMYY; the 14th the check digit (weights 7,3,1 repeated, sum mod 10).
pub fn is_valid_pinfl(s: &str) -> bool {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if s.len() != 14 || d.len() != 14 {
        return false;
    }
    let century = match d[0] {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        _ => return false,
    };
    let day = d[1] * 10 + d[2];
    let month = d[3] * 10 + d[4];
    let year = century + d[5] * 10 + d[6];
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days_in_month {
        return false;
    }
    const W: [u32; 13] = [7, 3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1, 7];
    let sum: u32 = d.iter().zip(W.iter()).map(|(a, w)| a * w).sum();
    sum % 10 == d[13]
}

/// Says precisely why `s` is neither a valid PINFL nor an INN, for error messages.
fn why_invalid(s: &str) -> String {
    let digits = s.bytes().all(|b| b.is_ascii_digit());
    if !digits || !(s.len() == 14 || s.len() == 9) {
        return "neither a PINFL (14 digits) nor an INN (9 digits)".to_owned();
    }
    if s.len() == 9 {
        return "an INN must start with a digit from 2 to 7".to_owned();
    }
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    let century = match d[0] {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        _ => return "the PINFL's first digit (century and sex) must be 1 to 6".to_owned(),
    };
    let (day, month, year) = (
        d[1] * 10 + d[2],
        d[3] * 10 + d[4],
        century + d[5] * 10 + d[6],
    );
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    };
    if day == 0 || day > days_in_month {
        return format!(
            "the PINFL's digits 2–7 ({:02}{:02}{:02}) are not a real birth date (DDMMYY)",
            day,
            month,
            year % 100
        );
    }
    "the PINFL's check digit is wrong".to_owned()
}

/// Checks the form of an INN/STIR: 9 digits, the first 2–7 (companies 2/3, individuals
/// 4–7). Its control digit's algorithm is not public and is not checked.
pub fn is_valid_inn(s: &str) -> bool {
    s.len() == 9
        && s.bytes().all(|b| b.is_ascii_digit())
        && (b'2'..=b'7').contains(&s.as_bytes()[0])
}

/// Classifies an identifier, or says why it is not one.
pub fn identifier_kind(identifier: &str) -> Result<IdentifierKind, DsKeysError> {
    if is_valid_pinfl(identifier) {
        Ok(IdentifierKind::Pinfl)
    } else if is_valid_inn(identifier) {
        Ok(IdentifierKind::Inn)
    } else {
        Err(DsKeysError::InvalidIdentifier(identifier.to_owned()))
    }
}

/// The key file name for `identifier` (PINFL or INN) and `counter` (1..=9999):
/// `DS<identifier><NNNN>.pfx`.
///
/// ```
/// use imzo_agent::dskeys::key_file_name;
/// assert_eq!(key_file_name("32808810170066", 1).unwrap(), "DS328088101700660001.pfx");
/// assert_eq!(key_file_name("308121587", 2).unwrap(), "DS3081215870002.pfx");
/// assert!(key_file_name("12345", 1).is_err());
/// ```
pub fn key_file_name(identifier: &str, counter: u16) -> Result<String, DsKeysError> {
    identifier_kind(identifier)?;
    if counter == 0 || counter > 9999 {
        return Err(DsKeysError::CounterOutOfRange(counter));
    }
    Ok(format!("DS{identifier}{counter:04}.pfx"))
}

/// Splits a key file name (with or without `.pfx`) into identifier and counter, if it
/// follows the `DS<PINFL|INN><NNNN>` pattern.
pub fn parse_key_file_name(name: &str) -> Option<(String, u16)> {
    let stem = strip_pfx(name).unwrap_or(name);
    let digits = stem
        .strip_prefix("DS")
        .or_else(|| stem.strip_prefix("ds"))?;
    if !(digits.len() == 18 || digits.len() == 13) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (id, counter) = digits.split_at(digits.len() - 4);
    identifier_kind(id).ok()?;
    let counter: u16 = counter.parse().ok()?;
    (counter > 0).then(|| (id.to_owned(), counter))
}

/// The first unused key file path in `dir` for `identifier`, counting from 0001.
///
/// The caller should still create the file with `create_new` semantics: another
/// process may take the same name in between.
pub fn next_free_path(dir: &Path, identifier: &str) -> Result<PathBuf, DsKeysError> {
    identifier_kind(identifier)?;
    for counter in 1..=9999u16 {
        let candidate = dir.join(key_file_name(identifier, counter)?);
        let taken = candidate.try_exists().map_err(|e| DsKeysError::Io {
            path: candidate.display().to_string(),
            source: e,
        })?;
        if !taken {
            return Ok(candidate);
        }
    }
    Err(DsKeysError::Exhausted(
        identifier.to_owned(),
        dir.display().to_string(),
    ))
}

/// One key file found in a `DSKEYS` folder, in the shape web pages use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyFileEntry {
    /// The root that holds the `DSKEYS` folder (e.g. `/media/ali/FLASH`).
    pub disk: String,
    /// The folder of the file relative to `disk`, `/`-separated (e.g. `DSKEYS`).
    pub path: String,
    /// The file name without `.pfx`.
    pub name: String,
}

impl KeyFileEntry {
    /// The full path of the file (`<disk>/<path>/<name>.pfx`; when only another letter
    /// case of the extension exists, such as `.PFX`, that file).
    pub fn file_path(&self) -> PathBuf {
        let mut dir = PathBuf::from(&self.disk);
        for part in self.path.split('/').filter(|s| !s.is_empty()) {
            dir.push(part);
        }
        let plain = dir.join(format!("{}.pfx", self.name));
        if plain.is_file() {
            return plain;
        }
        std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(strip_pfx)
                    .is_some_and(|stem| stem == self.name)
            })
            .unwrap_or(plain)
    }
}

/// `name` without a (case-insensitive) `.pfx` extension, if it has one.
fn strip_pfx(name: &str) -> Option<&str> {
    let cut = name.len().checked_sub(4)?;
    if name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(".pfx") && cut > 0 {
        Some(&name[..cut])
    } else {
        None
    }
}

fn is_dskeys(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|s| s.eq_ignore_ascii_case(DSKEYS))
}

fn scan(disk: &Path, rel: &str, dir: &Path, depth: usize, out: &mut Vec<KeyFileEntry>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        let fname = entry.file_name();
        let Some(fname) = fname.to_str() else {
            continue;
        };
        if ft.is_dir() {
            if depth < MAX_SUBDIR_DEPTH {
                scan(
                    disk,
                    &format!("{rel}/{fname}"),
                    &entry.path(),
                    depth + 1,
                    out,
                );
            }
        } else if let Some(stem) = strip_pfx(fname) {
            // Regular files, or symlinks to them.
            if ft.is_file() || entry.path().is_file() {
                out.push(KeyFileEntry {
                    disk: disk.display().to_string(),
                    path: rel.to_owned(),
                    name: stem.to_owned(),
                });
            }
        }
    }
}

/// Finds `*.pfx` files inside the `DSKEYS` folders of `roots` (the folder name and the
/// extension in any letter case; subfolders down to two levels).
///
/// A root that is itself a `DSKEYS` folder is taken as given, its parent as the disk.
/// Roots that do not exist or cannot be read are skipped (a removable drive may just have
/// gone). The result is sorted and free of duplicates.
pub fn list_key_files(roots: &[PathBuf]) -> Vec<KeyFileEntry> {
    let mut out = Vec::new();
    for root in roots {
        if root.file_name().is_some_and(is_dskeys) && root.is_dir() {
            let disk = root
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| root.clone());
            let rel = root
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(DSKEYS)
                .to_owned();
            scan(&disk, &rel, root, 0, &mut out);
            continue;
        }
        let Ok(entries) = std::fs::read_dir(root) else {
            continue;
        };
        for entry in entries.flatten() {
            if is_dskeys(&entry.file_name()) && entry.path().is_dir() {
                let rel = entry.file_name().to_string_lossy().into_owned();
                scan(root, &rel, &entry.path(), 0, &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The subfolders of `dir` (sorted), or nothing if it cannot be read.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// The places a `DSKEYS` folder is looked for when none are configured: the roots of
/// mounted drives and the home folder.
///
/// Linux: `/media/*/*`, `/run/media/*/*`, `/mnt/*`, `$HOME`; macOS: `/Volumes/*`,
/// `$HOME`; Windows: every drive letter that exists (`C:\`, `D:\`, …) and
/// `%USERPROFILE%`. Only folders that exist are returned.
pub fn usual_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if cfg!(windows) {
        for letter in b'A'..=b'Z' {
            let root = PathBuf::from(format!("{}:\\", letter as char));
            if root.is_dir() {
                roots.push(root);
            }
        }
        if let Some(home) = std::env::var_os("USERPROFILE") {
            roots.push(PathBuf::from(home));
        }
    } else if cfg!(target_os = "macos") {
        roots.extend(subdirs(Path::new("/Volumes")));
    } else {
        for user_dir in subdirs(Path::new("/media"))
            .into_iter()
            .chain(subdirs(Path::new("/run/media")))
        {
            roots.extend(subdirs(&user_dir));
        }
        roots.extend(subdirs(Path::new("/mnt")));
    }
    if !cfg!(windows)
        && let Some(home) = std::env::var_os("HOME")
    {
        roots.push(PathBuf::from(home));
    }
    roots.retain(|r| r.is_dir());
    roots.dedup();
    roots
}

/// The disk a configured root stands for: the root itself, or its parent when the
/// root is a `DSKEYS` folder.
pub fn disk_of_root(root: &Path) -> PathBuf {
    if root.file_name().is_some_and(is_dskeys) {
        root.parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.to_path_buf())
    } else {
        root.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pinfl_rules() {
        assert!(is_valid_pinfl("32808810170066"));
        assert!(!is_valid_pinfl("32808810170067")); // check digit
        assert!(!is_valid_pinfl("73208810170066")); // century digit
        assert!(!is_valid_pinfl("33213810170066")); // month 13
        assert!(!is_valid_pinfl("3280881017006")); // 13 digits
        assert!(!is_valid_pinfl("3280881017006a"));
        assert!(!is_valid_pinfl("３２８０８８１０１７００６６")); // full-width digits
    }

    #[test]
    fn invalid_identifiers_say_what_is_wrong() {
        let why = |s: &str| identifier_kind(s).unwrap_err().to_string();
        assert!(
            why("32808810170067").contains("check digit is wrong"),
            "{}",
            why("32808810170067")
        );
        assert!(why("33213810170066").contains("not a real birth date"));
        assert!(why("72808810170066").contains("first digit"));
        assert!(why("108121587").contains("start with a digit from 2 to 7"));
        assert!(why("12345").contains("neither a PINFL"));
    }

    #[test]
    fn inn_rules() {
        assert!(is_valid_inn("308121587"));
        assert!(is_valid_inn("512345678"));
        assert!(!is_valid_inn("108121587"));
        assert!(!is_valid_inn("808121587"));
        assert!(!is_valid_inn("30812158"));
        assert!(!is_valid_inn("30812158x"));
    }

    #[test]
    fn names() {
        assert_eq!(
            key_file_name("32808810170066", 1).unwrap(),
            "DS328088101700660001.pfx"
        );
        assert_eq!(
            key_file_name("308121587", 2).unwrap(),
            "DS3081215870002.pfx"
        );
        assert_eq!(
            key_file_name("308121587", 9999).unwrap(),
            "DS3081215879999.pfx"
        );
        assert!(matches!(
            key_file_name("308121587", 0),
            Err(DsKeysError::CounterOutOfRange(0))
        ));
        assert!(matches!(
            key_file_name("308121587", 10000),
            Err(DsKeysError::CounterOutOfRange(_))
        ));
        assert!(matches!(
            key_file_name("../etc/passwd", 1),
            Err(DsKeysError::InvalidIdentifier(_))
        ));
        assert_eq!(
            parse_key_file_name("DS328088101700660001.pfx"),
            Some(("32808810170066".into(), 1))
        );
        assert_eq!(
            parse_key_file_name("DS3081215870002"),
            Some(("308121587".into(), 2))
        );
        assert_eq!(parse_key_file_name("DS3081215870000.pfx"), None);
        assert_eq!(parse_key_file_name("my-key.pfx"), None);
    }

    #[test]
    fn next_free_counts_from_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = next_free_path(dir.path(), "32808810170066").unwrap();
        assert_eq!(p, dir.path().join("DS328088101700660001.pfx"));
        std::fs::write(&p, b"x").unwrap();
        std::fs::write(dir.path().join("DS328088101700660002.pfx"), b"x").unwrap();
        assert_eq!(
            next_free_path(dir.path(), "32808810170066").unwrap(),
            dir.path().join("DS328088101700660003.pfx")
        );
        // Another identifier is independent.
        assert_eq!(
            next_free_path(dir.path(), "308121587").unwrap(),
            dir.path().join("DS3081215870001.pfx")
        );
        assert!(next_free_path(dir.path(), "123").is_err());
    }

    #[test]
    fn listing() {
        let tmp = tempfile::tempdir().unwrap();
        let flash = tmp.path().join("FLASH");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(flash.join("DSKEYS/old")).unwrap();
        std::fs::create_dir_all(home.join("dskeys")).unwrap();
        std::fs::write(flash.join("DSKEYS/DS328088101700660001.pfx"), b"x").unwrap();
        std::fs::write(flash.join("DSKEYS/old/DS328088101700660002.PFX"), b"x").unwrap();
        std::fs::write(flash.join("DSKEYS/notes.txt"), b"x").unwrap();
        std::fs::write(flash.join("outside.pfx"), b"x").unwrap();
        std::fs::write(home.join("dskeys/DS3081215870001.pfx"), b"x").unwrap();
        let roots = vec![
            flash.clone(),
            home.clone(),
            tmp.path().join("gone"),
            flash.join("DSKEYS"),
        ];
        let list = list_key_files(&roots);
        let fd = flash.display().to_string();
        let hd = home.display().to_string();
        assert_eq!(
            list,
            vec![
                KeyFileEntry {
                    disk: fd.clone(),
                    path: "DSKEYS".into(),
                    name: "DS328088101700660001".into()
                },
                KeyFileEntry {
                    disk: fd.clone(),
                    path: "DSKEYS/old".into(),
                    name: "DS328088101700660002".into()
                },
                KeyFileEntry {
                    disk: hd,
                    path: "dskeys".into(),
                    name: "DS3081215870001".into()
                },
            ]
        );
        assert_eq!(
            list[0].file_path(),
            flash.join("DSKEYS/DS328088101700660001.pfx")
        );
        assert!(list[1].file_path().is_file());
    }

    proptest! {
        #[test]
        fn names_parse_back(n in 1u16..=9999, inn in "[2-7][0-9]{8}") {
            let name = key_file_name(&inn, n).unwrap();
            prop_assert_eq!(parse_key_file_name(&name), Some((inn, n)));
        }

        #[test]
        fn valid_pinfls_are_accepted(day in 1u32..=28, month in 1u32..=12, yy in 0u32..=99, c in 1u32..=6, rest in 0u32..1_000_000) {
            let mut s = format!("{c}{day:02}{month:02}{yy:02}{rest:06}");
            let w = [7, 3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1, 7];
            let sum: u32 = s.chars().zip(w).map(|(ch, w)| ch.to_digit(10).unwrap() * w).sum();
            s.push(char::from_digit(sum % 10, 10).unwrap());
            prop_assert!(is_valid_pinfl(&s));
            let name = key_file_name(&s, n_or_one(rest)).unwrap();
            prop_assert!(name.starts_with("DS") && name.ends_with(".pfx") && name.len() == 24);
        }
    }

    fn n_or_one(x: u32) -> u16 {
        (x % 9999) as u16 + 1
    }
}
