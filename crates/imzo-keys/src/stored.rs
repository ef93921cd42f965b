//! A CA key wherever its key reference says it lives: decrypted from an encrypted key
//! file into memory, or on a PKCS#11 token.
//!
//! A key reference is a key file's path, or a `pkcs11:` URI. A key file may itself hold
//! a single line with a `pkcs11:` URI instead of an encrypted key (a "token pointer"):
//! so a data folder's `pki/rc1.key.pem` can say that centre 1's key is on an HSM while
//! every other file stays where it was.

use crate::pkcs11::{Pkcs11Key, Pkcs11Uri, generate_p256, is_pkcs11_uri};
use crate::{KeyAlgorithm, KeyError, SoftwareKey, durable, keyfile};
use imzo_pki::{PkiError, RawSigner, SignatureAlgorithm};
use std::path::Path;

/// A key opened from a key reference.
#[derive(Debug)]
pub enum StoredKey {
    /// Decrypted from an encrypted PKCS#8 key file.
    Software(SoftwareKey),
    /// On a PKCS#11 token (boxed: its session pool is larger than a software key).
    Token(Box<Pkcs11Key>),
}

impl StoredKey {
    /// The kind of key, as [`SoftwareKey::key_algorithm`] says (token keys are P-256).
    pub fn key_algorithm(&self) -> Option<KeyAlgorithm> {
        match self {
            StoredKey::Software(key) => key.key_algorithm(),
            StoredKey::Token(_) => Some(KeyAlgorithm::EcdsaP256),
        }
    }

    /// Where the key lives, for records and logs: the token URI (without PIN) or `file`.
    pub fn reference(&self, file: &Path) -> String {
        match self {
            StoredKey::Software(_) => file.display().to_string(),
            StoredKey::Token(key) => key.reference().to_string(),
        }
    }
}

impl RawSigner for StoredKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        match self {
            StoredKey::Software(key) => key.algorithm(),
            StoredKey::Token(key) => key.algorithm(),
        }
    }
    fn public_key_der(&self) -> &[u8] {
        match self {
            StoredKey::Software(key) => key.public_key_der(),
            StoredKey::Token(key) => key.public_key_der(),
        }
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        match self {
            StoredKey::Software(key) => key.sign(message),
            StoredKey::Token(key) => key.sign(message),
        }
    }
}

impl From<SoftwareKey> for StoredKey {
    fn from(key: SoftwareKey) -> Self {
        StoredKey::Software(key)
    }
}

/// Opens the key `reference` names: a `pkcs11:` URI, a token pointer file, or an
/// encrypted key file (decrypted with `password`; a wrong one is
/// [`KeyError::WrongPassword`]).
pub fn open(reference: &Path, password: &[u8]) -> Result<StoredKey, KeyError> {
    if let Some(uri) = reference.to_str().filter(|r| is_pkcs11_uri(r)) {
        return Ok(StoredKey::Token(Box::new(Pkcs11Key::open(uri)?)));
    }
    let bytes = durable::read(reference)?;
    if let Some(uri) = pointer(&bytes) {
        return Ok(StoredKey::Token(Box::new(Pkcs11Key::open(uri)?)));
    }
    Ok(StoredKey::Software(keyfile::load(reference, password)?))
}

/// The URI of a token pointer file, if `bytes` is one.
fn pointer(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    (is_pkcs11_uri(text) && !text.contains('\n')).then_some(text)
}

/// Makes a new CA key and stores it at `path`: without `token`, a fresh software key of
/// `algorithm` written encrypted under `password`; with a `pkcs11:` URI, a P-256 key
/// generated on the token (or the key already there under that name, so a start that
/// crashed before its files were written can finish) and a pointer file naming it.
///
/// The pointer never holds the URI's `pin-value`: give token PINs with `pin-source`.
pub fn create(path: &Path, algorithm: KeyAlgorithm, password: &[u8], token: Option<&str>) -> Result<StoredKey, KeyError> {
    let Some(uri) = token else {
        let key = SoftwareKey::generate_with(algorithm)?;
        keyfile::save(path, &key, password)?;
        return Ok(StoredKey::Software(key));
    };
    if algorithm != KeyAlgorithm::EcdsaP256 {
        return Err(KeyError::Pki(PkiError::Unsupported(format!(
            "token keys are {}, but ca.algorithm is {algorithm}",
            KeyAlgorithm::EcdsaP256
        ))));
    }
    let parsed = Pkcs11Uri::parse(uri).map_err(crate::pkcs11::Pkcs11Error::from)?;
    if matches!(parsed.pin, crate::pkcs11::PinSource::Value(_)) {
        return Err(crate::pkcs11::Pkcs11Error::Setup(format!(
            "{parsed}: a key reference kept in a file must take its PIN from pin-source=file:/path, not pin-value"
        ))
        .into());
    }
    let key = match Pkcs11Key::open(uri) {
        Ok(existing) => existing,
        Err(KeyError::Pkcs11(e)) if e.to_string().contains("no EC private key matches") => generate_p256(uri)?,
        Err(e) => return Err(e),
    };
    durable::write_private(path, format!("{}\n", key.reference()).as_bytes())?;
    Ok(StoredKey::Token(Box::new(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_still_open_as_software_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rc1.key.pem");
        let made = create(&path, KeyAlgorithm::EcdsaP256, b"pw", None).unwrap();
        let opened = open(&path, b"pw").unwrap();
        assert!(matches!(opened, StoredKey::Software(_)));
        assert_eq!(opened.public_key_der(), made.public_key_der());
        assert_eq!(opened.key_algorithm(), Some(KeyAlgorithm::EcdsaP256));
        assert_eq!(opened.reference(&path), path.display().to_string());
        assert!(matches!(open(&path, b"wrong"), Err(KeyError::WrongPassword(_))));
        // A pointer naming no module is refused with the URI's own complaint.
        std::fs::write(&path, "pkcs11:token=CA;object=rc1\n").unwrap();
        let e = open(&path, b"pw").unwrap_err().to_string();
        assert!(e.contains("module-path"), "{e}");
        let e = create(&path, KeyAlgorithm::OzDst1092A, b"pw", Some("pkcs11:token=CA;object=x")).unwrap_err();
        assert!(e.to_string().contains("token keys are ecdsa-p256"), "{e}");
        let e = create(&path, KeyAlgorithm::EcdsaP256, b"pw", Some("pkcs11:object=x?pin-value=1")).unwrap_err();
        assert!(e.to_string().contains("pin-source"), "{e}");
    }

    #[test]
    fn token_keys_are_created_once_and_opened_through_pointers_and_uris() {
        let Some(hsm) = crate::pkcs11::softhsm::isolated(
            "stored::tests::token_keys_are_created_once_and_opened_through_pointers_and_uris",
        )
        .unwrap() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key.pem");
        let uri = hsm.key_uri("root");
        let made = create(&path, KeyAlgorithm::EcdsaP256, b"unused", Some(&uri)).unwrap();
        let pointer = std::fs::read_to_string(&path).unwrap();
        assert!(pointer.starts_with("pkcs11:token=imzo-test;object=root;id="), "{pointer}");
        assert!(!pointer.contains("123456"));
        // Through the pointer file and through the URI itself: the same token key.
        for reference in [path.clone(), std::path::PathBuf::from(&uri)] {
            let opened = open(&reference, b"ignored").unwrap();
            assert!(matches!(opened, StoredKey::Token(_)));
            assert_eq!(opened.public_key_der(), made.public_key_der());
            let sig = opened.sign(b"crl").unwrap();
            imzo_pki::alg::verify_signature(made.public_key_der(), "1.2.840.10045.4.3.2", b"crl", &sig).unwrap();
        }
        assert_eq!(made.reference(&path), pointer.trim());
        // Created again (a start that crashed before its files): the same key, not a second one.
        let again = create(&dir.path().join("again.key.pem"), KeyAlgorithm::EcdsaP256, b"", Some(&uri)).unwrap();
        assert_eq!(again.public_key_der(), made.public_key_der());
    }
}
