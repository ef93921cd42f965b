//! Certificate revocation lists (RFC 5280 §5): building, reading and checking them.
//!
//! The `TBSCertList` is assembled here field by field: the `x509-cert` CRL builder copies
//! the issuer's *own* authority key identifier into the CRL, after which OpenSSL cannot
//! find the CRL's issuer. Ours carries the issuer's subject key identifier as its AKI.

use crate::cert::{from_x509_time, spki_der, subject_key_id_or_computed, to_x509_time};
use crate::name::name_to_string;
use crate::{Certificate, PkiError, RawSigner};
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode};
use time::OffsetDateTime;
use x509_cert::Version;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use der::asn1::Ia5String;
use x509_cert::ext::pkix::crl::{BaseCrlNumber, CrlNumber, CrlReason, FreshestCrl};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::ext::Extension;
use der::oid::AssociatedOid;
use x509_cert::serial_number::SerialNumber;

/// RFC 5280 CRLReason codes Imzo records (§5.3.1; `removeFromCRL` is a CRL mechanism,
/// not a reason anyone revokes for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    /// unspecified (0).
    Unspecified,
    /// keyCompromise (1).
    KeyCompromise,
    /// cACompromise (2).
    CaCompromise,
    /// affiliationChanged (3).
    AffiliationChanged,
    /// superseded (4).
    Superseded,
    /// cessationOfOperation (5).
    CessationOfOperation,
    /// certificateHold (6): suspension, the only reason that can be released.
    CertificateHold,
    /// privilegeWithdrawn (9).
    PrivilegeWithdrawn,
    /// aACompromise (10).
    AaCompromise,
}

const ALL_REASONS: [RevocationReason; 9] = [
    RevocationReason::Unspecified,
    RevocationReason::KeyCompromise,
    RevocationReason::CaCompromise,
    RevocationReason::AffiliationChanged,
    RevocationReason::Superseded,
    RevocationReason::CessationOfOperation,
    RevocationReason::CertificateHold,
    RevocationReason::PrivilegeWithdrawn,
    RevocationReason::AaCompromise,
];

impl RevocationReason {
    /// The numeric CRLReason code.
    pub fn code(self) -> i64 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::CaCompromise => 2,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::CertificateHold => 6,
            RevocationReason::PrivilegeWithdrawn => 9,
            RevocationReason::AaCompromise => 10,
        }
    }

    /// The reason with this numeric code, if it is one Imzo records.
    pub fn from_code(code: i64) -> Option<RevocationReason> {
        ALL_REASONS.into_iter().find(|r| r.code() == code)
    }

    /// The RFC 5280 ASN.1 name (`keyCompromise`, `certificateHold`, …).
    pub fn name(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "keyCompromise",
            RevocationReason::CaCompromise => "cACompromise",
            RevocationReason::AffiliationChanged => "affiliationChanged",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessationOfOperation",
            RevocationReason::CertificateHold => "certificateHold",
            RevocationReason::PrivilegeWithdrawn => "privilegeWithdrawn",
            RevocationReason::AaCompromise => "aACompromise",
        }
    }

    /// Reads a reason by its RFC 5280 name (case-insensitive, `-`/`_` ignored, so
    /// `key-compromise` works too) or its numeric code.
    pub fn parse(text: &str) -> Result<RevocationReason, PkiError> {
        let folded: String = text.trim().chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_ascii_lowercase();
        if let Ok(code) = folded.parse::<i64>() {
            return RevocationReason::from_code(code)
                .ok_or_else(|| PkiError::malformed("revocation reason", format!("{code} is not a CRLReason code Imzo uses")));
        }
        ALL_REASONS.into_iter().find(|r| r.name().to_ascii_lowercase() == folded).ok_or_else(|| {
            let names: Vec<&str> = ALL_REASONS.iter().map(|r| r.name()).collect();
            PkiError::malformed("revocation reason", format!("{text:?} is not one of {}", names.join(", ")))
        })
    }

    pub(crate) fn to_x509(self) -> CrlReason {
        match self {
            RevocationReason::Unspecified => CrlReason::Unspecified,
            RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
            RevocationReason::CaCompromise => CrlReason::CaCompromise,
            RevocationReason::AffiliationChanged => CrlReason::AffiliationChanged,
            RevocationReason::Superseded => CrlReason::Superseded,
            RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
            RevocationReason::CertificateHold => CrlReason::CertificateHold,
            RevocationReason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
            RevocationReason::AaCompromise => CrlReason::AaCompromise,
        }
    }

    fn from_x509(reason: CrlReason) -> Option<RevocationReason> {
        RevocationReason::from_code(reason as i64)
    }
}

/// One revoked certificate on a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Serial, lower-case hex (as stored).
    pub serial_hex: String,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
    /// Why; `None` leaves the reasonCode extension out (RFC 5280: then "unspecified").
    pub reason: Option<RevocationReason>,
}

/// What goes into a CRL besides the issuer.
#[derive(Debug, Clone)]
pub struct CrlParams {
    /// cRLNumber: monotonically increasing per issuer.
    pub number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// The revoked certificates.
    pub entries: Vec<RevokedEntry>,
}

/// What a CRL may carry beyond [`CrlParams`]: the delta CRL parts of RFC 5280 §5.2.4
/// and §5.2.6.
#[derive(Debug, Clone, Default)]
pub struct CrlExtras {
    /// Makes this a delta CRL over the complete CRL with this cRLNumber (the critical
    /// deltaCRLIndicator).
    pub delta_of: Option<u64>,
    /// URL of the delta CRL, announced in a complete CRL (Freshest CRL extension).
    pub freshest_url: Option<String>,
    /// Serials (hex) a delta CRL takes off the complete one (released holds): listed
    /// with reason removeFromCRL and the time of the release.
    pub removed: Vec<(String, OffsetDateTime)>,
}

/// The facts of a CRL.
#[derive(Debug, Clone)]
pub struct CrlInfo {
    /// Issuer, RFC 4514 text.
    pub issuer: String,
    /// cRLNumber, if present.
    pub number: Option<u64>,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate, if present.
    pub next_update: Option<OffsetDateTime>,
    /// The revoked certificates.
    pub entries: Vec<RevokedEntry>,
    /// For a delta CRL: the cRLNumber of the complete CRL it updates.
    pub delta_of: Option<u64>,
    /// Freshest CRL URLs (where a complete CRL says its delta is).
    pub freshest_urls: Vec<String>,
    /// Serials (hex) listed with reason removeFromCRL (a delta CRL's released holds).
    pub removed: Vec<String>,
}

impl CrlInfo {
    /// The entry for a serial (hex, any case, leading zeros ignored), if it is listed.
    pub fn find(&self, serial_hex: &str) -> Option<&RevokedEntry> {
        let wanted = normalise_serial_hex(serial_hex);
        self.entries.iter().find(|e| e.serial_hex == wanted)
    }
}

/// Lower-case hex without leading zero bytes (as certificate serials are stored).
pub(crate) fn normalise_serial_hex(hex_text: &str) -> String {
    let lower = hex_text.trim().to_ascii_lowercase();
    let mut s = lower.as_str();
    while s.len() > 2 && s.starts_with("00") {
        s = &s[2..];
    }
    s.to_string()
}

fn serial_from_hex(serial_hex: &str) -> Result<SerialNumber, PkiError> {
    let bytes = hex::decode(serial_hex.trim())
        .map_err(|e| PkiError::malformed("serial number", format!("{serial_hex:?} is not hex: {e}")))?;
    if bytes.is_empty() || bytes.iter().all(|&b| b == 0) {
        return Err(PkiError::malformed("serial number", "must be positive"));
    }
    SerialNumber::new(&bytes).map_err(|e| PkiError::malformed("serial number", e))
}

fn serial_to_hex(serial: &SerialNumber) -> String {
    normalise_serial_hex(&hex::encode(serial.as_bytes()))
}

fn extension<T: Encode>(oid: der::asn1::ObjectIdentifier, critical: bool, value: &T) -> Result<Extension, PkiError> {
    let der = value.to_der().map_err(|e| PkiError::Encode(format!("CRL extension {oid}: {e}")))?;
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(der).map_err(|e| PkiError::Encode(e.to_string()))?,
    })
}

/// Builds and signs a v2 CRL of `issuer` with `signer` (which must hold the issuer's
/// key): cRLNumber, AKI = the issuer's own key identifier, one reasonCode per entry.
/// Returns the DER, checked against the issuer's key.
pub fn build(issuer: &Certificate, signer: &dyn RawSigner, params: &CrlParams) -> Result<Vec<u8>, PkiError> {
    build_with(issuer, signer, params, &CrlExtras::default())
}

/// [`build`], with a delta CRL's indicator and removals or a complete CRL's Freshest CRL
/// pointer ([`CrlExtras`]).
pub fn build_with(issuer: &Certificate, signer: &dyn RawSigner, params: &CrlParams, extras: &CrlExtras) -> Result<Vec<u8>, PkiError> {
    let issuer_spki = spki_der(issuer)?;
    if signer.public_key_der() != issuer_spki.as_slice() {
        return Err(PkiError::Signer("the signer's key is not the CRL issuer's key".into()));
    }
    if params.next_update <= params.this_update {
        return Err(PkiError::malformed("CRL", "nextUpdate must be after thisUpdate"));
    }
    let mut revoked = Vec::with_capacity(params.entries.len());
    for entry in &params.entries {
        let extensions = match entry.reason {
            Some(reason) => {
                let reason = reason.to_x509();
                Some(vec![extension(CrlReason::OID, false, &reason)?])
            }
            None => None,
        };
        revoked.push(RevokedCert {
            serial_number: serial_from_hex(&entry.serial_hex)?,
            revocation_date: to_x509_time(entry.revoked_at)?,
            crl_entry_extensions: extensions,
        });
    }
    for (serial_hex, at) in &extras.removed {
        revoked.push(RevokedCert {
            serial_number: serial_from_hex(serial_hex)?,
            revocation_date: to_x509_time(*at)?,
            crl_entry_extensions: Some(vec![extension(CrlReason::OID, false, &CrlReason::RemoveFromCRL)?]),
        });
    }
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(
            OctetString::new(subject_key_id_or_computed(issuer)?).map_err(|e| PkiError::Encode(e.to_string()))?,
        ),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let number = CrlNumber::try_from(params.number).map_err(|e| PkiError::Encode(format!("cRLNumber: {e}")))?;
    let issuer_name = issuer.tbs_certificate().subject().clone();
    let mut crl_extensions = vec![
        extension(AuthorityKeyIdentifier::OID, false, &aki)?,
        extension(CrlNumber::OID, false, &number)?,
    ];
    if let Some(base) = extras.delta_of {
        if base >= params.number {
            return Err(PkiError::malformed("CRL", format!("a delta CRL's number {} must exceed its base's {base}", params.number)));
        }
        let base = CrlNumber::try_from(base).map_err(|e| PkiError::Encode(format!("BaseCRLNumber: {e}")))?;
        let base = BaseCrlNumber(base.0);
        // RFC 5280 §5.2.4: the delta CRL indicator is critical.
        crl_extensions.push(extension(BaseCrlNumber::OID, true, &base)?);
    }
    if let Some(url) = &extras.freshest_url {
        let uri = Ia5String::new(url).map_err(|_| PkiError::malformed("URL", format!("{url:?} is not IA5 (ASCII)")))?;
        let freshest = FreshestCrl(vec![DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![GeneralName::UniformResourceIdentifier(uri)])),
            reasons: None,
            crl_issuer: None,
        }]);
        crl_extensions.push(extension(FreshestCrl::OID, false, &freshest)?);
    }
    let algorithm = signer.algorithm().algorithm_identifier();
    let tbs = TbsCertList {
        version: Version::V2,
        signature: algorithm.clone(),
        issuer: issuer_name,
        this_update: to_x509_time(params.this_update)?,
        next_update: Some(to_x509_time(params.next_update)?),
        revoked_certificates: if revoked.is_empty() { None } else { Some(revoked) },
        crl_extensions: Some(crl_extensions),
    };
    let tbs_der = tbs.to_der().map_err(|e| PkiError::Encode(format!("TBSCertList: {e}")))?;
    let signature = signer.sign(&tbs_der)?;
    let crl = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature).map_err(|e| PkiError::Encode(e.to_string()))?,
    };
    let der = crl.to_der().map_err(|e| PkiError::Encode(format!("CRL: {e}")))?;
    verify(&der, issuer).map_err(|e| PkiError::Signer(format!("signer produced an invalid CRL signature: {e}")))?;
    Ok(der)
}

fn decode(der_bytes: &[u8]) -> Result<CertificateList, PkiError> {
    CertificateList::from_der(der_bytes).map_err(|e| PkiError::malformed("CRL", e))
}

/// Reads a DER CRL (PEM "X509 CRL" is accepted too) without checking its signature.
pub fn parse(bytes: &[u8]) -> Result<CrlInfo, PkiError> {
    let der_bytes = to_der_bytes(bytes)?;
    let crl = decode(&der_bytes)?;
    info_of(&crl)
}

/// PEM "X509 CRL" to DER; DER passes through.
fn to_der_bytes(bytes: &[u8]) -> Result<Vec<u8>, PkiError> {
    if bytes.starts_with(b"-----BEGIN") {
        let text = std::str::from_utf8(bytes).map_err(|e| PkiError::malformed("CRL", e))?;
        let (label, der_bytes) = der::pem::decode_vec(text.trim().as_bytes()).map_err(|e| PkiError::malformed("CRL", e))?;
        if label != "X509 CRL" {
            return Err(PkiError::malformed("CRL", format!("PEM label {label:?}, expected \"X509 CRL\"")));
        }
        Ok(der_bytes)
    } else {
        Ok(bytes.to_vec())
    }
}

fn info_of(crl: &CertificateList) -> Result<CrlInfo, PkiError> {
    let tbs = &crl.tbs_cert_list;
    let mut number = None;
    let mut delta_of = None;
    let mut freshest_urls = Vec::new();
    let small = |bytes: &[u8]| (bytes.len() <= 8).then(|| bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)));
    for ext in tbs.crl_extensions.iter().flatten() {
        if ext.extn_id == CrlNumber::OID {
            let n = CrlNumber::from_der(ext.extn_value.as_bytes()).map_err(|e| PkiError::malformed("CRL", format!("cRLNumber: {e}")))?;
            number = small(n.0.as_bytes());
        } else if ext.extn_id == BaseCrlNumber::OID {
            let n = BaseCrlNumber::from_der(ext.extn_value.as_bytes())
                .map_err(|e| PkiError::malformed("CRL", format!("deltaCRLIndicator: {e}")))?;
            delta_of = small(n.0.as_bytes());
        } else if ext.extn_id == FreshestCrl::OID {
            let points = FreshestCrl::from_der(ext.extn_value.as_bytes())
                .map_err(|e| PkiError::malformed("CRL", format!("freshestCRL: {e}")))?;
            for point in points.0 {
                if let Some(DistributionPointName::FullName(names)) = point.distribution_point {
                    for name in names {
                        if let GeneralName::UniformResourceIdentifier(uri) = name {
                            freshest_urls.push(uri.to_string());
                        }
                    }
                }
            }
        }
    }
    let mut entries = Vec::new();
    let mut removed = Vec::new();
    for revoked in tbs.revoked_certificates.iter().flatten() {
        let mut reason = None;
        let mut remove = false;
        for ext in revoked.crl_entry_extensions.iter().flatten() {
            if ext.extn_id == CrlReason::OID {
                let r = CrlReason::from_der(ext.extn_value.as_bytes())
                    .map_err(|e| PkiError::malformed("CRL", format!("reasonCode: {e}")))?;
                remove = r == CrlReason::RemoveFromCRL;
                reason = RevocationReason::from_x509(r);
            }
        }
        if remove {
            removed.push(serial_to_hex(&revoked.serial_number));
            continue;
        }
        entries.push(RevokedEntry {
            serial_hex: serial_to_hex(&revoked.serial_number),
            revoked_at: from_x509_time(&revoked.revocation_date)?,
            reason,
        });
    }
    Ok(CrlInfo {
        issuer: name_to_string(&tbs.issuer),
        number,
        this_update: from_x509_time(&tbs.this_update)?,
        next_update: tbs.next_update.as_ref().map(from_x509_time).transpose()?,
        entries,
        delta_of,
        freshest_urls,
        removed,
    })
}

/// Reads a CRL and checks that `issuer` signed it (name and signature). Currency
/// (thisUpdate/nextUpdate against a time) is the caller's judgement.
pub fn verify(bytes: &[u8], issuer: &Certificate) -> Result<CrlInfo, PkiError> {
    let der_bytes = to_der_bytes(bytes)?;
    let crl = decode(&der_bytes)?;
    if crl.tbs_cert_list.issuer != *issuer.tbs_certificate().subject() {
        return Err(PkiError::BadSignature(format!(
            "the CRL is issued by {}, not by {}",
            name_to_string(&crl.tbs_cert_list.issuer),
            name_to_string(issuer.tbs_certificate().subject())
        )));
    }
    let tbs_der = crl.tbs_cert_list.to_der().map_err(|e| PkiError::malformed("CRL", e))?;
    let signature = crl
        .signature
        .as_bytes()
        .ok_or_else(|| PkiError::malformed("CRL", "signature is not whole bytes"))?;
    crate::alg::verify_signature(&spki_der(issuer)?, &crl.signature_algorithm.oid.to_string(), &tbs_der, signature)?;
    info_of(&crl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_by_name_and_code() {
        for r in ALL_REASONS {
            assert_eq!(RevocationReason::parse(r.name()).unwrap(), r);
            assert_eq!(RevocationReason::parse(&r.code().to_string()).unwrap(), r);
            assert_eq!(RevocationReason::from_x509(r.to_x509()), Some(r));
        }
        assert_eq!(RevocationReason::parse("key-compromise").unwrap(), RevocationReason::KeyCompromise);
        assert!(RevocationReason::parse("7").is_err());
        assert!(RevocationReason::parse("removeFromCRL").is_err());
        assert!(RevocationReason::parse("").is_err());
    }

    #[test]
    fn serial_hex_is_normalised() {
        assert_eq!(normalise_serial_hex("00AB01"), "ab01");
        assert_eq!(normalise_serial_hex("00"), "00");
    }
}
