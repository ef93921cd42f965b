//! A national-algorithm software key behind the one signer interface.

use super::{OidFamily, SigningKey};
use crate::{PkiError, RawSigner, SignatureAlgorithm};

/// A [`SigningKey`] held in memory, usable wherever a [`RawSigner`] is expected
/// (certificates, CSRs, CMS). National keys sign as [`SignatureAlgorithm::OzDst1092`],
/// standard-OID keys as [`SignatureAlgorithm::Gost2001`].
#[derive(Debug)]
pub struct SoftwareSigner {
    key: SigningKey,
    spki_der: Vec<u8>,
}

impl SoftwareSigner {
    /// Wraps a key.
    pub fn new(key: SigningKey) -> Result<Self, PkiError> {
        let spki_der = key.public_key().to_spki_der()?;
        Ok(SoftwareSigner { key, spki_der })
    }

    /// The key inside.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }
}

impl RawSigner for SoftwareSigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        match self.key.public_key().family() {
            OidFamily::National => SignatureAlgorithm::OzDst1092,
            OidFamily::Gost2001 => SignatureAlgorithm::Gost2001,
        }
    }

    fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        Ok(self.key.sign(message)?.to_vec())
    }
}
