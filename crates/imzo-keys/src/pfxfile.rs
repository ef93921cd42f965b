//! `.pfx` key files of holders and operators: open, sign with, replace the chain.

use crate::durable;
use crate::{KeyError, SoftwareKey};
use imzo_pki::pfx::{self, Pfx};
use imzo_pki::{Certificate, PkiError, RawSigner};
use std::path::Path;

/// An opened `.pfx`: the key and its certificate chain (own certificate first).
#[derive(Debug)]
pub struct PfxKey {
    /// The private key.
    pub key: SoftwareKey,
    /// Certificates, own first. Before issuance this holds a self-signed placeholder.
    pub chain: Vec<Certificate>,
}

/// Opens a `.pfx` file with its password.
///
/// A wrong password is [`KeyError::WrongPassword`]; a file whose key is neither P-256
/// nor O'z DSt 1092 / GOST R 34.10-2001, or does not belong to its first certificate is [`KeyError::Pki`].
pub fn open(path: &Path, password: &str) -> Result<PfxKey, KeyError> {
    let bytes = durable::read(path)?;
    let opened = match pfx::read(&bytes, password) {
        Ok(opened) => opened,
        // Files of the installed base may need the BouncyCastle password rule: the
        // standard reader cannot tell that from a wrong password.
        Err(first) => {
            return match crate::installed_base::read(&bytes, password) {
                Ok(opened) => Ok(PfxKey {
                    key: opened.key,
                    chain: opened.chain,
                }),
                Err(_) => Err(match first {
                    PkiError::WrongPassword => KeyError::WrongPassword(path.display().to_string()),
                    other => KeyError::Pki(other),
                }),
            };
        }
    };
    let key = SoftwareKey::from_pkcs8_der(&opened.private_key_info_der)?;
    if let Some(first) = opened.chain.first()
        && imzo_pki::cert::public_key_der(first)? != key.public_key_der()
    {
        return Err(KeyError::Pki(PkiError::malformed(
            "PKCS#12 file",
            "the key does not belong to the first certificate",
        )));
    }
    Ok(PfxKey {
        key,
        chain: opened.chain,
    })
}

/// Writes `key` with `chain` as a `.pfx` at `path` (0600, durably: temporary file, fsync,
/// rename — an existing file is replaced only once the new one is complete). The alias
/// (friendlyName) is derived from the first certificate.
pub fn save(
    path: &Path,
    key: &SoftwareKey,
    chain: &[Certificate],
    password: &str,
) -> Result<(), KeyError> {
    let pfx = Pfx {
        private_key_info_der: key.to_pkcs8_der()?,
        chain: chain.to_vec(),
        friendly_name: None,
    };
    let bytes = pfx::write(&pfx, password)?;
    durable::write_private(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imzo_pki::cert::{IssueParams, Profile, PublicationUrls, issue};
    use imzo_pki::name::Subject;
    use time::{Duration, OffsetDateTime};

    fn self_signed(key: &SoftwareKey) -> Certificate {
        let now = OffsetDateTime::now_utc();
        issue(
            None,
            key,
            &IssueParams {
                subject: Subject {
                    common_name: "placeholder".into(),
                    pinfl: Some("32808810170066".into()),
                    ..Default::default()
                },
                subject_public_key_der: key.public_key_der().to_vec(),
                serial: vec![1],
                not_before: now,
                not_after: now + Duration::days(1),
                profile: Profile::Holder,
                urls: PublicationUrls::default(),
                policy_oid: None,
            },
        )
        .unwrap()
    }

    #[test]
    fn save_open_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("DSKEYS/DS328088101700660001.pfx");
        let key = SoftwareKey::generate().unwrap();
        let cert = self_signed(&key);
        save(&path, &key, std::slice::from_ref(&cert), "parol").unwrap();
        let opened = open(&path, "parol").unwrap();
        assert_eq!(opened.key.public_key_der(), key.public_key_der());
        assert_eq!(opened.chain, vec![cert]);
        assert!(matches!(
            open(&path, "parol2"),
            Err(KeyError::WrongPassword(_))
        ));
        // Replacing the chain keeps the key.
        let cert2 = self_signed(&opened.key);
        save(&path, &opened.key, std::slice::from_ref(&cert2), "parol").unwrap();
        assert_eq!(open(&path, "parol").unwrap().chain, vec![cert2]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        // A certificate of another key is refused on save (P-256, and national below).
        let other = SoftwareKey::generate().unwrap();
        assert!(save(&path, &other, &[self_signed(&key)], "parol").is_err());
    }

    #[test]
    fn national_key_save_open_sign() {
        use crate::KeyAlgorithm;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("DSKEYS/DS328088101700660002.pfx");
        let key = SoftwareKey::generate_with(KeyAlgorithm::OzDst1092A).unwrap();
        let cert = self_signed(&key);
        assert_eq!(
            cert.signature_algorithm().oid.to_string(),
            "1.2.860.3.15.1.1.2.2.2.2"
        );
        save(&path, &key, std::slice::from_ref(&cert), "parol").unwrap();
        let opened = open(&path, "parol").unwrap();
        assert_eq!(opened.key.public_key_der(), key.public_key_der());
        assert_eq!(opened.key.key_algorithm(), Some(KeyAlgorithm::OzDst1092A));
        assert_eq!(opened.chain, vec![cert]);
        let sig = opened.key.sign(b"hujjat").unwrap();
        imzo_pki::alg::verify_signature(
            key.public_key_der(),
            "1.2.860.3.15.1.1.2.2.2.2",
            b"hujjat",
            &sig,
        )
        .unwrap();
        assert!(matches!(
            open(&path, "parol2"),
            Err(KeyError::WrongPassword(_))
        ));
        // A national key saved beside another key's certificate is refused on opening.
        let other = SoftwareKey::generate_with(KeyAlgorithm::OzDst1092A).unwrap();
        let path2 = dir.path().join("DSKEYS/mismatch.pfx");
        let mismatched = imzo_pki::pfx::write(
            &Pfx {
                private_key_info_der: other.to_pkcs8_der().unwrap(),
                chain: vec![self_signed(&key)],
                friendly_name: None,
            },
            "parol",
        );
        if let Ok(bytes) = mismatched {
            std::fs::write(&path2, bytes).unwrap();
            assert!(open(&path2, "parol").is_err());
        }
    }
}
