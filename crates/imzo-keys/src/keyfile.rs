//! CA key files: password-encrypted PKCS#8 PEM, written with mode 0600.
//!
//! The format is `-----BEGIN ENCRYPTED PRIVATE KEY-----` with PBES2 (PBKDF2-HMAC-SHA256,
//! 600 000 iterations, AES-256-CBC): `openssl pkey -in FILE -passin file:PW` opens it,
//! and files from `openssl pkcs8 -topk8 -v2 aes-256-cbc` load here.

use crate::durable;
use crate::{KeyError, SoftwareKey};
use imzo_pki::PkiError;
use std::path::Path;

/// Writes `key` encrypted under `password` to `path` (mode 0600, written durably:
/// temporary file, fsync, rename).
pub fn save(path: &Path, key: &SoftwareKey, password: &[u8]) -> Result<(), KeyError> {
    let der = key.to_pkcs8_der()?;
    let pem = imzo_pki::pkcs8::encrypt(&der, password)?;
    durable::write_private(path, pem.as_bytes())
}

/// Loads and decrypts a key file. A wrong password is [`KeyError::WrongPassword`].
pub fn load(path: &Path, password: &[u8]) -> Result<SoftwareKey, KeyError> {
    let bytes = durable::read(path)?;
    let der = imzo_pki::pkcs8::decrypt(&bytes, password).map_err(|e| match e {
        PkiError::WrongPassword => KeyError::WrongPassword(path.display().to_string()),
        other => KeyError::Pki(other),
    })?;
    Ok(SoftwareKey::from_pkcs8_der(&der)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imzo_pki::RawSigner;

    #[test]
    fn save_load_wrong_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.key");
        let key = SoftwareKey::generate().unwrap();
        save(&path, &key, b"ca password").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let back = load(&path, b"ca password").unwrap();
        assert_eq!(back.public_key_der(), key.public_key_der());
        assert!(
            matches!(load(&path, b"wrong"), Err(KeyError::WrongPassword(p)) if p.contains("ca.key"))
        );
        assert!(matches!(
            load(&dir.path().join("missing"), b"x"),
            Err(KeyError::Io { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn national_key_file_keeps_the_national_oid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key.pem");
        let key = SoftwareKey::generate_with(crate::KeyAlgorithm::OzDst1092A).unwrap();
        save(&path, &key, b"ca password").unwrap();
        let pem = std::fs::read(&path).unwrap();
        let der = imzo_pki::pkcs8::decrypt(&pem, b"ca password").unwrap();
        let info = <pkcs8::PrivateKeyInfoRef<'_> as der::Decode>::from_der(&der).unwrap();
        assert_eq!(info.algorithm.oid, imzo_pki::ozdst::OZDST_1092_KEY);
        let back = load(&path, b"ca password").unwrap();
        assert_eq!(back.public_key_der(), key.public_key_der());
        assert_eq!(back.key_algorithm(), Some(crate::KeyAlgorithm::OzDst1092A));
        assert!(matches!(load(&path, b"wrong"), Err(KeyError::WrongPassword(_))));
    }
}
