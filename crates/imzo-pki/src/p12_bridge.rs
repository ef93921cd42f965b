//! The only place that touches `p12-keystore` (of the older `der` 0.7 generation):
//! everything crosses this boundary as DER bytes and strings.

use crate::PkiError;
use p12_keystore::{EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain};

/// PBKDF2 iterations for the key and certificate bags, and PKCS#12-KDF iterations for
/// the MAC, of files we write (OpenSSL 3 uses 2048; Java 20+ 10 000).
pub(crate) const ITERATIONS: u64 = 100_000;

/// Iteration counts above this are refused when reading (hostile files).
const MAX_ITERATIONS: u64 = 10_000_000;

/// What a .pfx held, in DER.
pub(crate) struct Opened {
    pub(crate) key_der: Vec<u8>,
    pub(crate) chain_der: Vec<Vec<u8>>,
    pub(crate) alias: String,
    pub(crate) first_subject: Option<String>,
}

fn map_err(e: p12_keystore::error::Error) -> PkiError {
    use p12_keystore::error::Error as E;
    match e {
        E::MacError(_) | E::UnpadError | E::Pkcs5Error(_) => PkiError::WrongPassword,
        E::UnsupportedEncryptionScheme
        | E::UnsupportedMacAlgorithm
        | E::UnsupportedContentType
        | E::UnsupportedCertificateType => PkiError::Unsupported(format!("PKCS#12: {e}")),
        other => PkiError::malformed("PKCS#12 file", other),
    }
}

/// Writes one key entry (PBES2/PBKDF2-SHA256/AES-256-CBC bags, HMAC-SHA256 MAC).
pub(crate) fn write(
    key_der: &[u8],
    local_key_id: &[u8],
    chain_der: &[Vec<u8>],
    alias: &str,
    password: &str,
) -> Result<Vec<u8>, PkiError> {
    let chain = chain_der
        .iter()
        .map(|c| {
            p12_keystore::Certificate::from_der(c)
                .map_err(|e| PkiError::malformed("certificate", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut store = KeyStore::new();
    store.add_entry(
        alias,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(key_der, local_key_id, chain)),
    );
    store
        .writer(password)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .encryption_iterations(ITERATIONS)
        .mac_algorithm(MacAlgorithm::HmacSha256)
        .mac_iterations(ITERATIONS)
        .write()
        .map_err(|e| PkiError::Encode(format!("PKCS#12: {e}")))
}

/// Reads the first key entry.
pub(crate) fn read(bytes: &[u8], password: &str) -> Result<Opened, PkiError> {
    check_iterations(bytes)?;
    let store = KeyStore::from_pkcs12(bytes, password).map_err(map_err)?;
    let (alias, chain) = store.private_key_chain().ok_or_else(|| {
        PkiError::malformed("PKCS#12 file", "no private key with a matching certificate")
    })?;
    Ok(Opened {
        key_der: chain.key().to_vec(),
        chain_der: chain.chain().iter().map(|c| c.as_der().to_vec()).collect(),
        alias: alias.to_owned(),
        first_subject: chain.chain().first().map(|c| c.subject().to_owned()),
    })
}

/// Refuses absurd iteration counts before any key derivation runs. Looks for the
/// MacData iterations (the last INTEGER of the PFX) cheaply; bag iterations are bounded
/// by the same figure in practice since OpenSSL and Java write equal counts.
fn check_iterations(bytes: &[u8]) -> Result<(), PkiError> {
    // PFX ::= SEQUENCE { version, authSafe, macData MacData OPTIONAL }
    // MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
    // Walk the outer TLVs without decoding the content.
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *b.first()?;
        let first = *b.get(1)?;
        let (len, hdr) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 {
                return None;
            }
            let mut l = 0usize;
            for i in 0..n {
                l = (l << 8) | *b.get(2 + i)? as usize;
            }
            (l, 2 + n)
        };
        let end = hdr.checked_add(len)?;
        Some((tag, b.get(hdr..end)?, b.get(end..)?))
    }
    let Some((0x30, body, _)) = tlv(bytes) else {
        return Ok(());
    };
    let Some((_, _, rest)) = tlv(body) else {
        return Ok(());
    }; // version
    let Some((_, _, rest)) = tlv(rest) else {
        return Ok(());
    }; // authSafe
    let Some((0x30, mac, _)) = tlv(rest) else {
        return Ok(());
    }; // macData
    let Some((_, _, rest)) = tlv(mac) else {
        return Ok(());
    }; // DigestInfo
    let Some((_, _, rest)) = tlv(rest) else {
        return Ok(());
    }; // salt
    if let Some((0x02, int, _)) = tlv(rest)
        && (int.len() > 8 || int.iter().fold(0u64, |a, &b| (a << 8) | b as u64) > MAX_ITERATIONS)
    {
        return Err(PkiError::Unsupported(
            "PKCS#12 MAC iteration count too large".into(),
        ));
    }
    Ok(())
}
