//! Enrolment on the user's computer: a new key pair with its PKCS#10 request, saved as a
//! temporary `.pfx` (self-signed placeholder certificate) in a `DSKEYS` folder; later the
//! issued certificate and chain installed into that file. Used by the `imzo.*` calls of
//! the module and by `imzo enroll`.

use crate::dskeys::{self, DsKeysError};
use imzo_keys::{KeyAlgorithm, KeyError, RawSigner, SoftwareKey, pfxfile};
use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::name::Subject;
use imzo_pki::{Certificate, PkiError, csr};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// What went wrong making or completing a key file.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    /// The subject cannot name a key file.
    #[error("subject: {0}")]
    BadSubject(String),
    /// Naming the key file failed.
    #[error(transparent)]
    DsKeys(#[from] DsKeysError),
    /// The key file could not be written or read.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// Building the request or certificate failed.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The folder could not be made.
    #[error("{path}: {source}")]
    Io {
        /// The folder.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The issued certificate is for another key.
    #[error("the certificate is not for the key in {0}; the key file is left unchanged")]
    WrongKey(String),
}

/// A key file just made.
#[derive(Debug)]
pub struct NewKeyFile {
    /// Where it was saved (`…/DSKEYS/DS<id><NNNN>.pfx`).
    pub path: PathBuf,
    /// The new key.
    pub key: SoftwareKey,
    /// DER PKCS#10 request carrying the key and `subject`.
    pub csr_der: Vec<u8>,
    /// The self-signed placeholder saved with the key.
    pub placeholder: Certificate,
}

/// The identifier a key file is named after: the company INN for a legal entity, else
/// the PINFL.
pub fn key_identifier(subject: &Subject) -> Result<String, EnrolError> {
    let id = subject
        .company_inn
        .clone()
        .or_else(|| subject.pinfl.clone())
        .ok_or_else(|| {
            EnrolError::BadSubject("neither a PINFL nor a company INN is given".into())
        })?;
    dskeys::identifier_kind(&id)?;
    Ok(id)
}

/// A `.pfx` needs a certificate: until issuance the key sits with a self-signed
/// placeholder, valid 60 days (longer than an application can wait for confirmation).
pub fn placeholder_certificate(
    key: &SoftwareKey,
    subject: &Subject,
) -> Result<Certificate, EnrolError> {
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| PkiError::Signer(format!("no randomness: {e}")))?;
    serial[0] = (serial[0] & 0x7f).max(1);
    let now = OffsetDateTime::now_utc();
    let params = IssueParams {
        subject: subject.clone(),
        subject_public_key_der: key.public_key_der().to_vec(),
        serial: serial.to_vec(),
        not_before: now - Duration::minutes(1),
        not_after: now + Duration::days(60),
        profile: Profile::Holder,
        urls: PublicationUrls::default(),
        policy_oid: None,
    };
    Ok(cert::issue(None, key, &params)?)
}

/// Makes a key of `algorithm`, its request for `subject`, and saves it with a placeholder
/// certificate as the next free `DS<id><NNNN>.pfx` in `disk/DSKEYS` (created if needed).
pub fn create_key_file(
    disk: &Path,
    subject: &Subject,
    algorithm: KeyAlgorithm,
    password: &str,
) -> Result<NewKeyFile, EnrolError> {
    let id = key_identifier(subject)?;
    let dir = disk.join(dskeys::DSKEYS);
    std::fs::create_dir_all(&dir).map_err(|e| EnrolError::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    let key = SoftwareKey::generate_with(algorithm)?;
    let csr_der = csr::build(&key, subject)?;
    let placeholder = placeholder_certificate(&key, subject)?;
    let path = dskeys::next_free_path(&dir, &id)?;
    pfxfile::save(&path, &key, std::slice::from_ref(&placeholder), password)?;
    Ok(NewKeyFile {
        path,
        key,
        csr_der,
        placeholder,
    })
}

/// Replaces the placeholder of the key file at `path` with the issued `chain` (own
/// certificate first), after checking the certificate is for `key`.
pub fn install_certificate(
    path: &Path,
    key: &SoftwareKey,
    chain: &[Certificate],
    password: &str,
) -> Result<(), EnrolError> {
    let own = chain
        .first()
        .ok_or_else(|| EnrolError::WrongKey(path.display().to_string()))?;
    if cert::public_key_der(own)? != key.public_key_der() {
        return Err(EnrolError::WrongKey(path.display().to_string()));
    }
    pfxfile::save(path, key, chain, password)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_then_install() {
        let dir = tempfile::tempdir().unwrap();
        let subject = Subject {
            common_name: "TESTOV TEST".into(),
            pinfl: Some("32808810170066".into()),
            country: Some("UZ".into()),
            ..Default::default()
        };
        let made = create_key_file(dir.path(), &subject, KeyAlgorithm::EcdsaP256, "parol").unwrap();
        assert_eq!(
            made.path,
            dir.path().join("DSKEYS/DS328088101700660001.pfx")
        );
        let info = csr::parse_and_verify(&made.csr_der).unwrap();
        assert_eq!(info.public_key_der, made.key.public_key_der());
        let again =
            create_key_file(dir.path(), &subject, KeyAlgorithm::EcdsaP256, "parol").unwrap();
        assert!(again.path.ends_with("DS328088101700660002.pfx"));
        // Another key's certificate is refused; the own one is installed.
        assert!(matches!(
            install_certificate(
                &made.path,
                &made.key,
                std::slice::from_ref(&again.placeholder),
                "parol"
            ),
            Err(EnrolError::WrongKey(_))
        ));
        let cert2 = placeholder_certificate(&made.key, &subject).unwrap();
        install_certificate(&made.path, &made.key, std::slice::from_ref(&cert2), "parol").unwrap();
        assert_eq!(
            pfxfile::open(&made.path, "parol").unwrap().chain,
            vec![cert2]
        );
        let nobody = Subject::default();
        assert!(matches!(
            key_identifier(&nobody),
            Err(EnrolError::BadSubject(_))
        ));
    }
}
