//! PKCS#12 (.pfx) key files: written PBES2/AES-256-CBC/PBKDF2-SHA256 with a SHA-256 MAC;
//! OpenSSL's default and legacy files are readable.

use crate::PkiError;
use crate::cert::{from_x509_time, serial_hex};
use crate::name::Subject;
use der::Decode;
use sha1::Digest;
use time::{OffsetDateTime, UtcOffset};
use x509_cert::Certificate;
use zeroize::Zeroizing;

/// The contents of a .pfx: one private key with its certificate chain.
pub struct Pfx {
    /// DER PKCS#8 PrivateKeyInfo of the key.
    pub private_key_info_der: Zeroizing<Vec<u8>>,
    /// Certificates, the key's own first, then its issuers up to the root.
    pub chain: Vec<Certificate>,
    /// friendlyName of the key bag: the E-IMZO alias string.
    pub friendly_name: Option<String>,
}

impl std::fmt::Debug for Pfx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pfx")
            .field("chain_len", &self.chain.len())
            .field("friendly_name", &self.friendly_name)
            .finish_non_exhaustive()
    }
}

/// If the key is an EC P-256 key, checks that it belongs to `cert`.
fn check_key_matches(private_key_info_der: &[u8], cert: &Certificate) -> Result<(), PkiError> {
    use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};
    let info = pkcs8::PrivateKeyInfoRef::from_der(private_key_info_der)
        .map_err(|e| PkiError::malformed("PKCS#8 private key", e))?;
    if info.algorithm.oid != crate::alg::EC_PUBLIC_KEY {
        return Ok(());
    }
    let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_der(private_key_info_der) else {
        return Ok(()); // another curve: nothing to compare with here
    };
    let spki = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| PkiError::Encode(e.to_string()))?;
    let cert_spki = crate::cert::spki_der(cert)?;
    if spki.as_bytes() != cert_spki.as_slice() {
        return Err(PkiError::malformed(
            "PKCS#12 contents",
            "the key does not belong to the first certificate",
        ));
    }
    Ok(())
}

/// Writes a .pfx protected by `password`.
///
/// The key bag is PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), so is the certificate bag;
/// the MAC is HMAC-SHA256. `chain` must hold at least the key's own certificate, and
/// the key must belong to it. The key bag's friendlyName is `friendly_name`, or
/// [`alias`] of the first certificate when `None`; localKeyId is the SHA-1 of that
/// certificate (as OpenSSL writes it).
pub fn write(pfx: &Pfx, password: &str) -> Result<Vec<u8>, PkiError> {
    let first = pfx.chain.first().ok_or_else(|| {
        PkiError::malformed(
            "PKCS#12 contents",
            "a key needs at least its own certificate",
        )
    })?;
    check_key_matches(&pfx.private_key_info_der, first)?;
    let chain_der = pfx
        .chain
        .iter()
        .map(crate::cert::to_der)
        .collect::<Result<Vec<_>, _>>()?;
    let local_key_id = sha1::Sha1::digest(&chain_der[0]).to_vec();
    let name = match &pfx.friendly_name {
        Some(n) => n.clone(),
        None => alias(first)?,
    };
    crate::p12_bridge::write(
        &pfx.private_key_info_der,
        &local_key_id,
        &chain_der,
        &name,
        password,
    )
}

/// Reads a .pfx; a wrong password gives [`PkiError::WrongPassword`].
///
/// Reads our own files, OpenSSL 3's default (`pkcs12 -export`: PBES2/AES-256-CBC,
/// SHA-256 MAC) and `-legacy` (RC2/3DES, SHA-1 MAC) files, and Java keystores. The first
/// key entry is returned, with its certificate and the issuers found in the file.
pub fn read(bytes: &[u8], password: &str) -> Result<Pfx, PkiError> {
    let opened = crate::p12_bridge::read(bytes, password)?;
    let private_key_info_der = Zeroizing::new(opened.key_der);
    // The key must be PKCS#8 (also catches a wrong password that slipped through an
    // unauthenticated file).
    if pkcs8::PrivateKeyInfoRef::from_der(&private_key_info_der).is_err() {
        return Err(PkiError::WrongPassword);
    }
    let chain = opened
        .chain_der
        .iter()
        .map(|d| {
            Certificate::from_der(d).map_err(|e| PkiError::malformed("certificate in PKCS#12", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // p12-keystore falls back to the subject text when the bag has no friendlyName.
    let friendly_name = if opened.first_subject.as_deref() == Some(opened.alias.as_str()) {
        None
    } else {
        Some(opened.alias)
    };
    Ok(Pfx {
        private_key_info_der,
        chain,
        friendly_name,
    })
}

/// Asia/Tashkent: UTC+5 all year (no daylight saving since 1992).
fn tashkent(t: OffsetDateTime) -> String {
    let local = t.to_offset(UtcOffset::from_hms(5, 0, 0).unwrap_or(UtcOffset::UTC));
    format!(
        "{:04}.{:02}.{:02} {:02}:{:02}:{:02}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// The E-IMZO alias string for a certificate (agent.md: lower-case `cn=…,name=…,…`).
///
/// Fields in the order `cn, name, surname, o, l, st, c, uid, 1.2.860.3.16.1.2, t,
/// 1.2.860.3.16.1.1, businesscategory, serialnumber, validfrom, validto`; absent
/// attributes are left out; times are Asia/Tashkent (UTC+5) as `YYYY.MM.DD HH:mm:ss`;
/// the whole string is lower case.
pub fn alias(cert: &Certificate) -> Result<String, PkiError> {
    let tbs = cert.tbs_certificate();
    let s = Subject::from_name(tbs.subject())?;
    let mut parts: Vec<String> = Vec::new();
    let mut push = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            parts.push(format!("{k}={v}"));
        }
    };
    push(
        "cn",
        (!s.common_name.is_empty()).then_some(s.common_name.as_str()),
    );
    push("name", s.given_name.as_deref());
    push("surname", s.surname.as_deref());
    push("o", s.organization.as_deref());
    push("l", s.locality.as_deref());
    push("st", s.state.as_deref());
    push("c", s.country.as_deref());
    push("uid", s.uid.as_deref());
    push("1.2.860.3.16.1.2", s.pinfl.as_deref());
    push("t", s.title.as_deref());
    push("1.2.860.3.16.1.1", s.company_inn.as_deref());
    push("businesscategory", s.business_category.as_deref());
    let serial = serial_hex(cert);
    push("serialnumber", Some(&serial));
    let from = tashkent(from_x509_time(&tbs.validity().not_before)?);
    let to = tashkent(from_x509_time(&tbs.validity().not_after)?);
    push("validfrom", Some(&from));
    push("validto", Some(&to));
    Ok(parts.join(",").to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{IssueParams, Profile, PublicationUrls, issue};
    use crate::{RawSigner, SignatureAlgorithm};
    use p256::ecdsa::{Signature, SigningKey, signature::Signer};
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
    use time::macros::datetime;

    struct Key(SigningKey, Vec<u8>);
    impl Key {
        fn new(seed: u8) -> Key {
            let sk = SigningKey::from_slice(&[seed; 32]).unwrap();
            let spki = sk.verifying_key().to_public_key_der().unwrap().into_vec();
            Key(sk, spki)
        }
        fn pkcs8(&self) -> Zeroizing<Vec<u8>> {
            Zeroizing::new(self.0.to_pkcs8_der().unwrap().as_bytes().to_vec())
        }
    }
    impl RawSigner for Key {
        fn algorithm(&self) -> SignatureAlgorithm {
            SignatureAlgorithm::EcdsaP256Sha256
        }
        fn public_key_der(&self) -> &[u8] {
            &self.1
        }
        fn sign(&self, m: &[u8]) -> Result<Vec<u8>, PkiError> {
            let s: Signature = self.0.sign(m);
            Ok(s.to_der().as_bytes().to_vec())
        }
    }

    fn holder() -> (Key, Certificate, Certificate) {
        let rk = Key::new(1);
        let hk = Key::new(2);
        let mut p = IssueParams {
            subject: Subject {
                common_name: "Root".into(),
                ..Default::default()
            },
            subject_public_key_der: rk.1.clone(),
            serial: vec![1],
            not_before: datetime!(2025-01-01 00:00 UTC),
            not_after: datetime!(2035-01-01 00:00 UTC),
            profile: Profile::Root,
            urls: PublicationUrls::default(),
            policy_oid: None,
        };
        let root = issue(None, &rk, &p).unwrap();
        p.subject = Subject {
            common_name: "ALIYEV VALI".into(),
            given_name: Some("VALI".into()),
            surname: Some("ALIYEV".into()),
            locality: Some("CHILONZOR".into()),
            state: Some("TOSHKENT".into()),
            country: Some("UZ".into()),
            uid: Some("512345678".into()),
            pinfl: Some("32808810170066".into()),
            ..Default::default()
        };
        p.subject_public_key_der = hk.1.clone();
        p.serial = vec![0x0a, 0xbc];
        p.not_before = datetime!(2025-03-04 19:30:00 UTC);
        p.not_after = datetime!(2027-03-04 19:30:00 UTC);
        p.profile = Profile::Holder;
        let leaf = issue(Some(&root), &rk, &p).unwrap();
        (hk, leaf, root)
    }

    #[test]
    fn alias_format() {
        let (_, leaf, _) = holder();
        assert_eq!(
            alias(&leaf).unwrap(),
            "cn=aliyev vali,name=vali,surname=aliyev,l=chilonzor,st=toshkent,c=uz,uid=512345678,\
             1.2.860.3.16.1.2=32808810170066,serialnumber=0abc,validfrom=2025.03.05 00:30:00,\
             validto=2027.03.05 00:30:00"
        );
    }

    #[test]
    fn write_read_round_trip() {
        let (hk, leaf, root) = holder();
        let pfx = Pfx {
            private_key_info_der: hk.pkcs8(),
            chain: vec![leaf.clone(), root.clone()],
            friendly_name: None,
        };
        let bytes = write(&pfx, "parol123").unwrap();
        let back = read(&bytes, "parol123").unwrap();
        assert_eq!(back.private_key_info_der.as_slice(), hk.pkcs8().as_slice());
        assert_eq!(back.chain, vec![leaf.clone(), root]);
        assert_eq!(
            back.friendly_name.as_deref(),
            Some(alias(&leaf).unwrap().as_str())
        );
        assert!(matches!(
            read(&bytes, "parol124"),
            Err(PkiError::WrongPassword)
        ));
        assert!(matches!(read(&bytes, ""), Err(PkiError::WrongPassword)));
        assert!(read(b"\x30\x03\x02\x01\x03", "x").is_err());
    }

    #[test]
    fn refuses_a_key_of_another_certificate() {
        let (_, leaf, _) = holder();
        let other = Key::new(9);
        let pfx = Pfx {
            private_key_info_der: other.pkcs8(),
            chain: vec![leaf],
            friendly_name: None,
        };
        assert!(write(&pfx, "x").is_err());
        let none = Pfx {
            private_key_info_der: other.pkcs8(),
            chain: vec![],
            friendly_name: None,
        };
        assert!(write(&none, "x").is_err());
    }
}
