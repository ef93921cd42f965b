//! Which web sites may use the module: a configured allow-list, plus sites the user
//! approved once, kept in a small JSON file so they can be listed and revoked.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Origins allowed without asking: the embedded deployment's own portal.
pub const DEFAULT_ALLOWED: [&str; 2] = ["http://127.0.0.1:8080", "http://localhost:8080"];

/// Why the sites file could not be used, or an origin is not one.
#[derive(Debug, thiserror::Error)]
pub enum SitesError {
    /// The file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The text is not a web origin.
    #[error("{0:?} is not a web origin (scheme://host[:port])")]
    BadOrigin(String),
}

/// One approved site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovedSite {
    /// The origin, as `scheme://host[:port]`.
    pub origin: String,
    /// When the user approved it (RFC 3339, UTC).
    pub approved_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SitesFile {
    sites: Vec<ApprovedSite>,
}

/// Normalises an origin (`HTTP://LocalHost:8080/` → `http://localhost:8080`); `null`
/// (file pages, sandboxed frames) stays `null`.
pub fn normalize_origin(origin: &str) -> Result<String, SitesError> {
    let trimmed = origin.trim();
    if trimmed == "null" {
        return Ok("null".into());
    }
    let url = url::Url::parse(trimmed).map_err(|_| SitesError::BadOrigin(trimmed.into()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(SitesError::BadOrigin(trimmed.into()));
    }
    Ok(url.origin().ascii_serialization())
}

/// The approved-sites file.
#[derive(Debug, Clone)]
pub struct SitesStore {
    path: PathBuf,
}

impl SitesStore {
    /// The store kept in `path` (created on first approval).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SitesStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, reason: impl std::fmt::Display) -> SitesError {
        SitesError::File {
            path: self.path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    /// Every approved site (none when the file does not exist yet).
    pub fn list(&self) -> Result<Vec<ApprovedSite>, SitesError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                let file: SitesFile = serde_json::from_slice(&bytes).map_err(|e| self.err(e))?;
                Ok(file.sites)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Whether `origin` (normalised) was approved.
    pub fn contains(&self, origin: &str) -> Result<bool, SitesError> {
        Ok(self.list()?.iter().any(|s| s.origin == origin))
    }

    fn write(&self, sites: Vec<ApprovedSite>) -> Result<(), SitesError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.err(e))?;
        }
        let text = serde_json::to_vec_pretty(&SitesFile { sites }).map_err(|e| self.err(e))?;
        // Written aside and renamed so a crash never leaves half a file.
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|e| self.err(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.err(e))
    }

    /// Records an approval of `origin` (normalised); approving twice keeps one entry.
    pub fn approve(&self, origin: &str) -> Result<(), SitesError> {
        let origin = normalize_origin(origin)?;
        let mut sites = self.list()?;
        if sites.iter().any(|s| s.origin == origin) {
            return Ok(());
        }
        let now = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| self.err(e))?;
        sites.push(ApprovedSite {
            origin,
            approved_at: now,
        });
        self.write(sites)
    }

    /// Removes `origin`; `false` when it was not approved.
    pub fn revoke(&self, origin: &str) -> Result<bool, SitesError> {
        let origin = normalize_origin(origin)?;
        let mut sites = self.list()?;
        let before = sites.len();
        sites.retain(|s| s.origin != origin);
        if sites.len() == before {
            return Ok(false);
        }
        self.write(sites)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_normalise() {
        assert_eq!(
            normalize_origin("HTTP://LocalHost:8080/").unwrap(),
            "http://localhost:8080"
        );
        assert_eq!(
            normalize_origin("https://gov.uz:443").unwrap(),
            "https://gov.uz"
        );
        assert_eq!(normalize_origin("null").unwrap(), "null");
        assert!(normalize_origin("ftp://x").is_err());
        assert!(normalize_origin("not a url").is_err());
    }

    #[test]
    fn approve_list_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let store = SitesStore::new(dir.path().join("a/sites.json"));
        assert!(store.list().unwrap().is_empty());
        store.approve("https://my.gov.uz").unwrap();
        store.approve("https://my.gov.uz/").unwrap();
        store.approve("https://bank.uz").unwrap();
        let list = store.list().unwrap();
        assert_eq!(list.len(), 2);
        assert!(store.contains("https://my.gov.uz").unwrap());
        assert!(store.revoke("https://MY.gov.uz").unwrap());
        assert!(!store.revoke("https://my.gov.uz").unwrap());
        assert!(!store.contains("https://my.gov.uz").unwrap());
        assert!(store.contains("https://bank.uz").unwrap());
        std::fs::write(store.path(), b"{oops").unwrap();
        assert!(store.list().is_err());
    }
}
