//! `.pfx` files in the layout of the installed base (E-IMZO clients, BouncyCastle-based
//! readers): ordinary PKCS#12 v3 with the certificates in an encrypted part and the
//! shrouded key bag (friendlyName = the alias, localKeyId) in a part that is not itself
//! encrypted, so aliases list without the password.
//!
//! What this reader adds to the standard one ([`imzo_pki::pfx`]): listing aliases
//! without the password, and PBES2 bags whose key was derived from the password the
//! BouncyCastle way — the low 8 bits of each UTF-16 unit, which differs from UTF-8 for
//! non-ASCII passwords. The MAC always uses the standard PKCS#12 rule (UTF-16BE with a
//! trailing zero pair), as BouncyCastle does too. Legacy PKCS#12 PBE bags (SHA-1 with
//! 3DES / RC2) are read by the standard reader; [`crate::pfxfile::open`] tries both.

use crate::{KeyError, SoftwareKey};
use der::asn1::{BmpString, ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, SliceReader, Tag, Tagged};
use hmac::{KeyInit, Mac};
use imzo_pki::{Certificate, PkiError, RawSigner};
use sha1::Digest;
use zeroize::Zeroizing;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
const KEY_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");
const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
const FRIENDLY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
const LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// Iteration counts above this are refused when reading (hostile files).
const MAX_ITERATIONS: u32 = 10_000_000;

#[derive(der::Sequence)]
struct Pfx {
    version: u8,
    auth_safe: ContentInfo,
    mac_data: Option<MacData>,
}

#[derive(der::Sequence)]
struct ContentInfo {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    content: Option<Any>,
}

#[derive(der::Sequence)]
struct MacData {
    mac: DigestInfo,
    mac_salt: OctetString,
    iterations: Option<u32>,
}

#[derive(der::Sequence)]
struct DigestInfo {
    algorithm: AlgorithmId,
    digest: OctetString,
}

#[derive(der::Sequence)]
struct AlgorithmId {
    oid: ObjectIdentifier,
    parameters: Option<Any>,
}

#[derive(der::Sequence)]
struct EncryptedData {
    version: u8,
    encrypted_content_info: EncryptedContentInfo,
}

#[derive(der::Sequence)]
struct EncryptedContentInfo {
    content_type: ObjectIdentifier,
    /// The whole AlgorithmIdentifier, handed to `pkcs5` as it is.
    content_encryption_algorithm: Any,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    encrypted_content: Option<OctetString>,
}

#[derive(der::Sequence)]
struct SafeBag {
    bag_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    bag_value: Any,
    /// SET OF Attribute, read leniently (not every writer sorts it).
    bag_attributes: Option<Any>,
}

#[derive(der::Sequence, der::ValueOrd)]
struct Attribute {
    oid: ObjectIdentifier,
    values: SetOfVec<Any>,
}

#[derive(der::Sequence)]
struct CertBag {
    cert_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    cert_value: OctetString,
}

fn malformed(e: impl std::fmt::Display) -> KeyError {
    KeyError::Pki(PkiError::malformed("PKCS#12 file", e))
}

/// How a password becomes the bytes a PBES2 key derivation sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    /// UTF-8 (OpenSSL, RFC 8018).
    Utf8,
    /// BouncyCastle's `PKCS5PasswordToBytes`: the low 8 bits of each UTF-16 unit.
    BouncyCastle,
}

impl PasswordRule {
    /// The bytes of `password` under this rule.
    pub fn bytes(self, password: &str) -> Zeroizing<Vec<u8>> {
        match self {
            PasswordRule::Utf8 => Zeroizing::new(password.as_bytes().to_vec()),
            // Truncation to the low byte is the rule being reproduced.
            PasswordRule::BouncyCastle => {
                Zeroizing::new(password.encode_utf16().map(|u| (u & 0xff) as u8).collect())
            }
        }
    }
}

/// The PKCS#12 (RFC 7292 appendix B) form of a password: UTF-16BE and two zero bytes.
fn bmp_password(password: &str) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(password.len() * 2 + 2));
    for unit in password.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// The PKCS#12 key derivation (RFC 7292 appendix B.2) of MAC keys (ID 3) with `hash`
/// of output size `u` and block size `v`; `n` bytes of key.
fn pkcs12_mac_kdf(
    hash: fn(&[u8]) -> Vec<u8>,
    u: usize,
    v: usize,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    n: usize,
) -> Zeroizing<Vec<u8>> {
    const MAC_ID: u8 = 3;
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let len = v * src.len().div_ceil(v);
        src.iter().copied().cycle().take(len).collect()
    };
    let d = vec![MAC_ID; v];
    let mut i = Zeroizing::new(fill(salt));
    i.extend_from_slice(&fill(password));
    let mut out = Zeroizing::new(Vec::with_capacity(n + u));
    while out.len() < n {
        let mut block = d.clone();
        block.extend_from_slice(&i);
        let mut a = Zeroizing::new(hash(&block));
        for _ in 1..iterations {
            *a = hash(&a);
        }
        out.extend_from_slice(&a[..u.min(a.len())]);
        if out.len() >= n {
            break;
        }
        let b: Vec<u8> = a.iter().copied().cycle().take(v).collect();
        // I_j = (I_j + B + 1) mod 2^(8v), each v-byte block as a big-endian number.
        for chunk in i.chunks_mut(v) {
            let mut carry = 1u16;
            for (x, y) in chunk.iter_mut().rev().zip(b.iter().rev()) {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = (sum & 0xff) as u8;
                carry = sum >> 8;
            }
        }
    }
    out.truncate(n);
    out
}

fn sha1(m: &[u8]) -> Vec<u8> {
    sha1::Sha1::digest(m).to_vec()
}
fn sha256(m: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(m).to_vec()
}
fn sha512(m: &[u8]) -> Vec<u8> {
    sha2::Sha512::digest(m).to_vec()
}

/// HMAC of `data` under the PKCS#12-derived MAC key for `digest_oid`.
fn mac(
    digest_oid: &ObjectIdentifier,
    password: &str,
    salt: &[u8],
    iterations: u32,
    data: &[u8],
) -> Result<Vec<u8>, KeyError> {
    let pw = bmp_password(password);
    let unsupported = || {
        KeyError::Pki(PkiError::Unsupported(format!(
            "PKCS#12 MAC digest {digest_oid}"
        )))
    };
    let out = match *digest_oid {
        ID_SHA1 => {
            let key = pkcs12_mac_kdf(sha1, 20, 64, &pw, salt, iterations, 20);
            let mut m =
                hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).map_err(|_| unsupported())?;
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        ID_SHA256 => {
            let key = pkcs12_mac_kdf(sha256, 32, 64, &pw, salt, iterations, 32);
            let mut m =
                hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|_| unsupported())?;
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        ID_SHA512 => {
            let key = pkcs12_mac_kdf(sha512, 64, 128, &pw, salt, iterations, 64);
            let mut m =
                hmac::Hmac::<sha2::Sha512>::new_from_slice(&key).map_err(|_| unsupported())?;
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        _ => return Err(unsupported()),
    };
    Ok(out)
}

/// The parsed outer structure: the AuthenticatedSafe's DER and its ContentInfos.
struct Outer {
    auth_safe_der: Vec<u8>,
    parts: Vec<ContentInfo>,
    mac_data: Option<MacData>,
}

fn octets_of(content: Option<&Any>, what: &str) -> Result<Vec<u8>, KeyError> {
    let any = content.ok_or_else(|| malformed(format!("{what} without content")))?;
    Ok(any
        .decode_as::<OctetString>()
        .map_err(|e| malformed(format!("{what}: {e}")))?
        .as_bytes()
        .to_vec())
}

/// Reads the elements of a SEQUENCE OF / SET OF body one by one.
fn elements<T: for<'a> Decode<'a>>(body: &[u8], what: &str) -> Result<Vec<T>, KeyError> {
    let mut reader = SliceReader::new(body).map_err(malformed)?;
    let mut out = Vec::new();
    while !der::Reader::is_finished(&reader) {
        out.push(T::decode(&mut reader).map_err(|e| malformed(format!("{what}: {e}")))?);
    }
    Ok(out)
}

fn outer(bytes: &[u8]) -> Result<Outer, KeyError> {
    // Java and BouncyCastle may write BER (indefinite lengths): normalise first.
    let der = imzo_pki::cms::ber::to_der(bytes)?;
    let pfx = Pfx::from_der(&der).map_err(malformed)?;
    if pfx.version != 3 {
        return Err(malformed(format!("version {} (3 expected)", pfx.version)));
    }
    if pfx.auth_safe.content_type != ID_DATA {
        return Err(KeyError::Pki(PkiError::Unsupported(format!(
            "PKCS#12 authSafe of type {} (public-key integrity mode)",
            pfx.auth_safe.content_type
        ))));
    }
    let auth_safe_der = octets_of(pfx.auth_safe.content.as_ref(), "authSafe")?;
    let seq = Any::from_der(&auth_safe_der).map_err(malformed)?;
    if seq.tag() != Tag::Sequence {
        return Err(malformed("AuthenticatedSafe is not a SEQUENCE"));
    }
    let parts = elements::<ContentInfo>(seq.value(), "AuthenticatedSafe")?;
    Ok(Outer {
        auth_safe_der,
        parts,
        mac_data: pfx.mac_data,
    })
}

fn safe_bags(safe_contents_der: &[u8]) -> Result<Vec<SafeBag>, KeyError> {
    let seq = Any::from_der(safe_contents_der).map_err(malformed)?;
    if seq.tag() != Tag::Sequence {
        return Err(malformed("SafeContents is not a SEQUENCE"));
    }
    elements::<SafeBag>(seq.value(), "SafeContents")
}

fn attribute_value(bag: &SafeBag, oid: ObjectIdentifier) -> Result<Option<Any>, KeyError> {
    let Some(set) = &bag.bag_attributes else {
        return Ok(None);
    };
    for attr in elements::<Attribute>(set.value(), "bag attributes")? {
        if attr.oid == oid {
            return Ok(attr.values.iter().next().cloned());
        }
    }
    Ok(None)
}

fn friendly_name(bag: &SafeBag) -> Result<Option<String>, KeyError> {
    match attribute_value(bag, FRIENDLY_NAME)? {
        Some(v) => Ok(Some(
            v.decode_as::<BmpString>()
                .map_err(|e| malformed(format!("friendlyName: {e}")))?
                .to_string(),
        )),
        None => Ok(None),
    }
}

/// The aliases (friendlyName of each key bag) of a `.pfx`, read without the password
/// from the parts that are not encrypted. A file whose key bags sit only in encrypted
/// parts lists nothing.
pub fn list_aliases(bytes: &[u8]) -> Result<Vec<String>, KeyError> {
    let outer = outer(bytes)?;
    let mut aliases = Vec::new();
    for part in outer.parts.iter().filter(|p| p.content_type == ID_DATA) {
        let contents = octets_of(part.content.as_ref(), "data part")?;
        for bag in safe_bags(&contents)? {
            if (bag.bag_id == SHROUDED_KEY_BAG || bag.bag_id == KEY_BAG)
                && let Some(name) = friendly_name(&bag)?
            {
                aliases.push(name);
            }
        }
    }
    Ok(aliases)
}

/// What [`read`] found.
#[derive(Debug)]
pub struct Opened {
    /// The private key.
    pub key: SoftwareKey,
    /// Certificates, the key's own first, then the others as found.
    pub chain: Vec<Certificate>,
    /// The key bag's friendlyName.
    pub alias: Option<String>,
    /// Which password rule opened the encrypted parts.
    pub rule: PasswordRule,
}

/// Decrypts PBES2 `ciphertext` with the password bytes of each rule in turn; a rule
/// wins when the plaintext also passes `plausible` (a wrong key gives valid padding
/// about once in 256 tries).
fn decrypt_pbes2(
    algorithm_der: &[u8],
    ciphertext: &[u8],
    password: &str,
    plausible: fn(&[u8]) -> bool,
) -> Result<(Zeroizing<Vec<u8>>, PasswordRule), KeyError> {
    let scheme = pkcs5::EncryptionScheme::from_der(algorithm_der).map_err(|e| {
        KeyError::Pki(PkiError::Unsupported(format!(
            "PKCS#12 bag encryption: {e}"
        )))
    })?;
    if let Some(p) = scheme.pbes2()
        && let pkcs5::pbes2::Kdf::Pbkdf2(k) = &p.kdf
        && k.iteration_count > MAX_ITERATIONS
    {
        return Err(malformed(format!(
            "{} PBKDF2 iterations",
            k.iteration_count
        )));
    }
    for rule in [PasswordRule::Utf8, PasswordRule::BouncyCastle] {
        let pw = rule.bytes(password);
        if rule == PasswordRule::BouncyCastle && *pw == password.as_bytes() {
            break;
        }
        if let Ok(plain) = scheme.decrypt(&*pw, ciphertext) {
            let plain = Zeroizing::new(plain);
            if plausible(&plain) {
                return Ok((plain, rule));
            }
        }
    }
    Err(KeyError::Pki(PkiError::WrongPassword))
}

/// The key bag found in a file: its PKCS#8, localKeyId and friendlyName.
struct FoundKey {
    pkcs8: Zeroizing<Vec<u8>>,
    local_id: Option<Vec<u8>>,
    alias: Option<String>,
}

/// Opens an installed-base `.pfx`: checks the MAC, decrypts the parts and the key bag
/// (PBES2, UTF-8 or BouncyCastle password bytes), decodes the key (P-256, or either
/// national form) and checks it belongs to its certificate (matched by localKeyId,
/// else by public key).
pub fn read(bytes: &[u8], password: &str) -> Result<Opened, KeyError> {
    let outer = outer(bytes)?;
    if let Some(m) = &outer.mac_data {
        let iterations = m.iterations.unwrap_or(1);
        if iterations > MAX_ITERATIONS {
            return Err(malformed(format!("{iterations} MAC iterations")));
        }
        let expected = mac(
            &m.mac.algorithm.oid,
            password,
            m.mac_salt.as_bytes(),
            iterations,
            &outer.auth_safe_der,
        )?;
        if expected != m.mac.digest.as_bytes() {
            return Err(KeyError::Pki(PkiError::WrongPassword));
        }
    }
    let mut bags = Vec::new();
    let mut rule = PasswordRule::Utf8;
    for part in &outer.parts {
        if part.content_type == ID_DATA {
            bags.extend(safe_bags(&octets_of(part.content.as_ref(), "data part")?)?);
        } else if part.content_type == ID_ENCRYPTED_DATA {
            let any = part
                .content
                .as_ref()
                .ok_or_else(|| malformed("encrypted part without content"))?;
            let ed: EncryptedData = any.decode_as().map_err(malformed)?;
            let info = ed.encrypted_content_info;
            let ciphertext = info
                .encrypted_content
                .ok_or_else(|| malformed("encrypted part without ciphertext"))?;
            let alg = info
                .content_encryption_algorithm
                .to_der()
                .map_err(malformed)?;
            let (plain, used) = decrypt_pbes2(&alg, ciphertext.as_bytes(), password, |p| {
                safe_bags(p).is_ok()
            })?;
            rule = used;
            bags.extend(safe_bags(&plain)?);
        }
    }
    let mut key: Option<FoundKey> = None;
    let mut certs: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
    for bag in &bags {
        let local_id = attribute_value(bag, LOCAL_KEY_ID)?
            .map(|v| v.decode_as::<OctetString>().map(|o| o.as_bytes().to_vec()))
            .transpose()
            .map_err(malformed)?;
        if bag.bag_id == SHROUDED_KEY_BAG && key.is_none() {
            let value_der = bag.bag_value.to_der().map_err(malformed)?;
            let epki = pkcs8::EncryptedPrivateKeyInfoRef::from_der(&value_der)
                .map_err(|e| malformed(format!("key bag: {e}")))?;
            let alg = epki.encryption_algorithm.to_der().map_err(malformed)?;
            let (plain, used) =
                decrypt_pbes2(&alg, epki.encrypted_data.as_bytes(), password, |p| {
                    pkcs8::PrivateKeyInfoRef::from_der(p).is_ok()
                })?;
            rule = used;
            key = Some(FoundKey {
                pkcs8: plain,
                local_id,
                alias: friendly_name(bag)?,
            });
        } else if bag.bag_id == KEY_BAG && key.is_none() {
            let plain = Zeroizing::new(bag.bag_value.to_der().map_err(malformed)?);
            key = Some(FoundKey {
                pkcs8: plain,
                local_id,
                alias: friendly_name(bag)?,
            });
        } else if bag.bag_id == CERT_BAG {
            let cb: CertBag = bag.bag_value.decode_as().map_err(malformed)?;
            if cb.cert_id == X509_CERTIFICATE {
                certs.push((cb.cert_value.as_bytes().to_vec(), local_id));
            }
        }
    }
    let FoundKey {
        pkcs8: key_der,
        local_id: key_id,
        alias,
    } = key.ok_or_else(|| malformed("no private key in the file"))?;
    let key = SoftwareKey::from_pkcs8_der(&key_der)?;
    let parsed = certs
        .iter()
        .map(|(d, id)| {
            Certificate::from_der(d)
                .map(|c| (c, id.clone()))
                .map_err(|e| malformed(format!("certificate: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let own = parsed
        .iter()
        .position(|(_, id)| key_id.is_some() && *id == key_id)
        .or_else(|| {
            parsed.iter().position(|(c, _)| {
                imzo_pki::cert::public_key_der(c).is_ok_and(|p| p == key.public_key_der())
            })
        })
        .ok_or_else(|| malformed("no certificate of the key"))?;
    if imzo_pki::cert::public_key_der(&parsed[own].0)? != key.public_key_der() {
        return Err(malformed("the key does not belong to its certificate"));
    }
    let mut chain: Vec<Certificate> = vec![parsed[own].0.clone()];
    chain.extend(
        parsed
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i != own)
            .map(|(_, (c, _))| c),
    );
    Ok(Opened {
        key,
        chain,
        alias,
        rule,
    })
}

/// Options of [`write`].
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// How the password becomes PBES2 key-derivation input.
    pub rule: PasswordRule,
    /// PBKDF2 and MAC iterations.
    pub iterations: u32,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            rule: PasswordRule::BouncyCastle,
            iterations: 10_000,
        }
    }
}

fn random<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)
        .map_err(|e| KeyError::Pki(PkiError::Signer(format!("random source: {e}"))))?;
    Ok(out)
}

fn pbes2(iterations: u32) -> Result<pkcs5::pbes2::Parameters, KeyError> {
    pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
        iterations,
        &random::<16>()?,
        random::<16>()?,
    )
    .map_err(|e| KeyError::Pki(PkiError::Encode(format!("PBES2: {e}"))))
}

fn enc(e: impl std::fmt::Display) -> KeyError {
    KeyError::Pki(PkiError::Encode(format!("PKCS#12: {e}")))
}

fn attributes(alias: Option<&str>, local_key_id: &[u8]) -> Result<Any, KeyError> {
    let mut attrs = vec![Attribute {
        oid: LOCAL_KEY_ID,
        values: SetOfVec::try_from(vec![
            Any::encode_from(&OctetString::new(local_key_id).map_err(enc)?).map_err(enc)?,
        ])
        .map_err(enc)?,
    }];
    if let Some(alias) = alias {
        attrs.push(Attribute {
            oid: FRIENDLY_NAME,
            values: SetOfVec::try_from(vec![
                Any::encode_from(&BmpString::from_utf8(alias).map_err(enc)?).map_err(enc)?,
            ])
            .map_err(enc)?,
        });
    }
    Any::encode_from(&SetOfVec::try_from(attrs).map_err(enc)?).map_err(enc)
}

fn safe_contents(bags: &[SafeBag]) -> Result<Vec<u8>, KeyError> {
    let mut body = Vec::new();
    for bag in bags {
        body.extend(bag.to_der().map_err(enc)?);
    }
    Any::new(Tag::Sequence, body)
        .map_err(enc)?
        .to_der()
        .map_err(enc)
}

fn data_part(bytes: &[u8]) -> Result<ContentInfo, KeyError> {
    Ok(ContentInfo {
        content_type: ID_DATA,
        content: Some(Any::encode_from(&OctetString::new(bytes).map_err(enc)?).map_err(enc)?),
    })
}

/// Writes a `.pfx` in the installed base's layout: the certificates (own first) in a
/// PBES2-encrypted part, the PBES2-shrouded key bag with friendlyName `alias` (default:
/// [`imzo_pki::pfx::alias`] of the first certificate) and localKeyId (SHA-1 of that
/// certificate) in a plain part, an HMAC-SHA256 MAC. `private_key_info_der` is stored
/// as given (so either national key form can be written).
pub fn write(
    private_key_info_der: &[u8],
    chain: &[Certificate],
    alias: Option<&str>,
    password: &str,
    options: WriteOptions,
) -> Result<Vec<u8>, KeyError> {
    let first = chain
        .first()
        .ok_or_else(|| malformed("a key needs at least its own certificate"))?;
    let key = SoftwareKey::from_pkcs8_der(private_key_info_der)?;
    if imzo_pki::cert::public_key_der(first)? != key.public_key_der() {
        return Err(malformed(
            "the key does not belong to the first certificate",
        ));
    }
    let alias = match alias {
        Some(a) => a.to_string(),
        None => imzo_pki::pfx::alias(first)?,
    };
    let pw = options.rule.bytes(password);
    let first_der = imzo_pki::cert::to_der(first)?;
    let local_key_id = sha1::Sha1::digest(&first_der).to_vec();

    let mut cert_bags = Vec::new();
    for (i, c) in chain.iter().enumerate() {
        let bag = CertBag {
            cert_id: X509_CERTIFICATE,
            cert_value: OctetString::new(imzo_pki::cert::to_der(c)?).map_err(enc)?,
        };
        cert_bags.push(SafeBag {
            bag_id: CERT_BAG,
            bag_value: Any::encode_from(&bag).map_err(enc)?,
            bag_attributes: (i == 0)
                .then(|| attributes(Some(&alias), &local_key_id))
                .transpose()?,
        });
    }
    let scheme = pkcs5::EncryptionScheme::from(pbes2(options.iterations)?);
    let ciphertext = scheme
        .encrypt(&*pw, &safe_contents(&cert_bags)?)
        .map_err(enc)?;
    let encrypted = EncryptedData {
        version: 0,
        encrypted_content_info: EncryptedContentInfo {
            content_type: ID_DATA,
            content_encryption_algorithm: Any::encode_from(&scheme).map_err(enc)?,
            encrypted_content: Some(OctetString::new(ciphertext).map_err(enc)?),
        },
    };
    let cert_part = ContentInfo {
        content_type: ID_ENCRYPTED_DATA,
        content: Some(Any::encode_from(&encrypted).map_err(enc)?),
    };

    let info = pkcs8::PrivateKeyInfoRef::from_der(private_key_info_der)
        .map_err(|e| KeyError::Pki(PkiError::malformed("PKCS#8 private key", e)))?;
    let shrouded = info
        .encrypt_with_params(pbes2(options.iterations)?, &*pw)
        .map_err(enc)?;
    let key_bag = SafeBag {
        bag_id: SHROUDED_KEY_BAG,
        bag_value: Any::from_der(shrouded.as_bytes()).map_err(enc)?,
        bag_attributes: Some(attributes(Some(&alias), &local_key_id)?),
    };
    let key_part = data_part(&safe_contents(std::slice::from_ref(&key_bag))?)?;

    let mut auth_body = cert_part.to_der().map_err(enc)?;
    auth_body.extend(key_part.to_der().map_err(enc)?);
    let auth_safe_der = Any::new(Tag::Sequence, auth_body)
        .map_err(enc)?
        .to_der()
        .map_err(enc)?;
    let salt = random::<16>()?;
    let digest = mac(
        &ID_SHA256,
        password,
        &salt,
        options.iterations,
        &auth_safe_der,
    )?;
    let pfx = Pfx {
        version: 3,
        auth_safe: data_part(&auth_safe_der)?,
        mac_data: Some(MacData {
            mac: DigestInfo {
                algorithm: AlgorithmId {
                    oid: ID_SHA256,
                    parameters: Some(Any::from(der::asn1::Null)),
                },
                digest: OctetString::new(digest).map_err(enc)?,
            },
            mac_salt: OctetString::new(salt.to_vec()).map_err(enc)?,
            iterations: Some(options.iterations),
        }),
    };
    pfx.to_der().map_err(enc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bouncycastle_rule_keeps_the_low_byte() {
        assert_eq!(*PasswordRule::BouncyCastle.bytes("abc"), b"abc");
        // U+0027 stays, U+045E (ў) becomes 0x5E, U+02BB (ʻ) becomes 0xBB.
        assert_eq!(*PasswordRule::BouncyCastle.bytes("'ўʻ"), [0x27, 0x5e, 0xbb]);
        assert_eq!(*PasswordRule::Utf8.bytes("ў"), [0xd1, 0x9e]);
        assert_eq!(*bmp_password("a"), [0, 0x61, 0, 0]);
    }
}
