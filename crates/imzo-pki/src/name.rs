//! Subject names: built by the CA from reviewed application fields, and read back.

use crate::PkiError;
use crate::oid::{COMPANY_INN, PINFL};
use der::asn1::{
    Any, BmpString, Ia5StringRef, ObjectIdentifier, PrintableStringRef, TeletexStringRef,
    Utf8StringRef,
};
use der::{Decode, Encode, Tag, Tagged};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

/// The fields of a certificate subject, as Imzo's profiles use them.
///
/// Individuals: CN, Name, SURNAME, L, ST, C=UZ, UID (personal INN, if any), PINFL.
/// Legal entities add O, T, company INN and businessCategory. CA and operator names use
/// CN, O, C (and OU where useful).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// commonName: full name of the person, or the CA's name.
    pub common_name: String,
    /// surname (2.5.4.4).
    pub surname: Option<String>,
    /// givenName (2.5.4.42), written "Name" in E-IMZO aliases.
    pub given_name: Option<String>,
    /// localityName: district.
    pub locality: Option<String>,
    /// stateOrProvinceName: region.
    pub state: Option<String>,
    /// countryName, "UZ".
    pub country: Option<String>,
    /// organizationName.
    pub organization: Option<String>,
    /// organizationalUnitName.
    pub organizational_unit: Option<String>,
    /// title of the acting person of a legal entity.
    pub title: Option<String>,
    /// UID (0.9.2342.19200300.100.1.1): an individual's own INN.
    pub uid: Option<String>,
    /// PINFL (1.2.860.3.16.1.2).
    pub pinfl: Option<String>,
    /// Company INN (1.2.860.3.16.1.1).
    pub company_inn: Option<String>,
    /// businessCategory (2.5.4.15).
    pub business_category: Option<String>,
}

/// countryName (2.5.4.6).
pub(crate) const COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// stateOrProvinceName (2.5.4.8).
pub(crate) const STATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.8");
/// localityName (2.5.4.7).
pub(crate) const LOCALITY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.7");
/// organizationName (2.5.4.10).
pub(crate) const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// organizationalUnitName (2.5.4.11).
pub(crate) const ORG_UNIT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
/// title (2.5.4.12).
pub(crate) const TITLE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.12");
/// businessCategory (2.5.4.15).
pub(crate) const BUSINESS_CATEGORY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.15");
/// userId (0.9.2342.19200300.100.1.1).
pub(crate) const UID: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.1");
/// surname (2.5.4.4).
pub(crate) const SURNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.4");
/// givenName (2.5.4.42).
pub(crate) const GIVEN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.42");
/// commonName (2.5.4.3).
pub(crate) const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// serialNumber (2.5.4.5).
const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
/// streetAddress (2.5.4.9).
const STREET: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.9");
/// domainComponent (0.9.2342.19200300.100.1.25).
const DOMAIN_COMPONENT: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.25");
/// emailAddress (1.2.840.113549.1.9.1).
const EMAIL_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");
/// pseudonym (2.5.4.65).
const PSEUDONYM: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.65");

/// Text labels used by [`name_to_string`] (RFC 4514 / RFC 4519 names; national OIDs and
/// anything unknown are written as dotted numbers).
fn label(oid: &ObjectIdentifier) -> Option<&'static str> {
    Some(match *oid {
        COMMON_NAME => "CN",
        SURNAME => "SURNAME",
        GIVEN_NAME => "GIVENNAME",
        LOCALITY => "L",
        STATE => "ST",
        COUNTRY => "C",
        ORGANIZATION => "O",
        ORG_UNIT => "OU",
        TITLE => "TITLE",
        UID => "UID",
        BUSINESS_CATEGORY => "BUSINESSCATEGORY",
        SERIAL_NUMBER => "SERIALNUMBER",
        STREET => "STREET",
        DOMAIN_COMPONENT => "DC",
        EMAIL_ADDRESS => "EMAILADDRESS",
        PSEUDONYM => "PSEUDONYM",
        _ => return None,
    })
}

impl Subject {
    /// The attributes in the order they are encoded (most general first, CN last, as
    /// OpenSSL and E-IMZO certificates print them).
    fn attributes(&self) -> Vec<(ObjectIdentifier, Option<&str>)> {
        vec![
            (COUNTRY, self.country.as_deref()),
            (STATE, self.state.as_deref()),
            (LOCALITY, self.locality.as_deref()),
            (ORGANIZATION, self.organization.as_deref()),
            (ORG_UNIT, self.organizational_unit.as_deref()),
            (TITLE, self.title.as_deref()),
            (BUSINESS_CATEGORY, self.business_category.as_deref()),
            (COMPANY_INN, self.company_inn.as_deref()),
            (UID, self.uid.as_deref()),
            (PINFL, self.pinfl.as_deref()),
            (SURNAME, self.surname.as_deref()),
            (GIVEN_NAME, self.given_name.as_deref()),
            (COMMON_NAME, Some(self.common_name.as_str())),
        ]
    }

    /// Encodes the subject as an X.509 Name (UTF8String values, one attribute per RDN).
    ///
    /// countryName is a PrintableString (RFC 5280 appendix A); every other value is a
    /// UTF8String. An empty value (including an empty common name) is an error.
    pub fn to_name(&self) -> Result<Name, PkiError> {
        let mut rdns = Vec::new();
        for (oid, value) in self.attributes() {
            let Some(value) = value else { continue };
            if value.is_empty() {
                return Err(PkiError::malformed(
                    "subject",
                    format!("empty value for {oid}"),
                ));
            }
            let any = if oid == COUNTRY {
                let s = PrintableStringRef::new(value).map_err(|_| {
                    PkiError::malformed(
                        "subject",
                        format!("country {value:?} is not a PrintableString"),
                    )
                })?;
                Any::encode_from(&s)
            } else {
                let s = Utf8StringRef::new(value).map_err(|e| PkiError::malformed("subject", e))?;
                Any::encode_from(&s)
            }
            .map_err(|e| PkiError::Encode(format!("subject attribute: {e}")))?;
            let atv = AttributeTypeAndValue { oid, value: any };
            let rdn = RelativeDistinguishedName::try_from(vec![atv])
                .map_err(|e| PkiError::Encode(format!("subject RDN: {e}")))?;
            rdns.push(rdn);
        }
        let seq = RdnSequence::from(rdns);
        let der = seq
            .to_der()
            .map_err(|e| PkiError::Encode(format!("subject: {e}")))?;
        Name::from_der(&der).map_err(|e| PkiError::Encode(format!("subject: {e}")))
    }

    /// Reads the known attributes back from a Name; unknown ones are ignored.
    ///
    /// Values may be of any DirectoryString type (UTF8String, PrintableString,
    /// TeletexString, BMPString) or IA5String. Where an attribute occurs more than once
    /// the first (outermost) one is taken. A name without commonName gives an empty
    /// `common_name`.
    pub fn from_name(name: &Name) -> Result<Subject, PkiError> {
        let mut s = Subject::default();
        let mut cn: Option<String> = None;
        for atv in name.iter() {
            let slot: &mut Option<String> = match atv.oid {
                COMMON_NAME => &mut cn,
                SURNAME => &mut s.surname,
                GIVEN_NAME => &mut s.given_name,
                LOCALITY => &mut s.locality,
                STATE => &mut s.state,
                COUNTRY => &mut s.country,
                ORGANIZATION => &mut s.organization,
                ORG_UNIT => &mut s.organizational_unit,
                TITLE => &mut s.title,
                UID => &mut s.uid,
                PINFL => &mut s.pinfl,
                COMPANY_INN => &mut s.company_inn,
                BUSINESS_CATEGORY => &mut s.business_category,
                _ => continue,
            };
            if slot.is_some() {
                continue;
            }
            let value = any_to_string(&atv.value).ok_or_else(|| {
                PkiError::malformed("name", format!("attribute {} is not a string", atv.oid))
            })?;
            *slot = Some(value);
        }
        s.common_name = cn.unwrap_or_default();
        Ok(s)
    }
}

/// The text of a string-typed attribute value (DirectoryString choices and IA5String).
pub(crate) fn any_to_string(any: &Any) -> Option<String> {
    match any.tag() {
        Tag::Utf8String => Utf8StringRef::try_from(any)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::PrintableString => PrintableStringRef::try_from(any)
            .ok()
            .map(|s| s.as_str().to_owned()),
        Tag::Ia5String => Ia5StringRef::try_from(any)
            .ok()
            .map(|s| s.as_str().to_owned()),
        // T.61 in practice holds Latin-1 text.
        Tag::TeletexString => TeletexStringRef::try_from(any)
            .ok()
            .map(|s| s.as_str().to_owned())
            .or_else(|| Some(any.value().iter().map(|&b| b as char).collect())),
        Tag::BmpString => BmpString::from_der(&any.to_der().ok()?)
            .ok()
            .map(|s| s.to_string()),
        Tag::VisibleString | Tag::NumericString => {
            std::str::from_utf8(any.value()).ok().map(str::to_owned)
        }
        t if t.is_universal() && t.number().value() == 28 && !t.is_constructed() => {
            // UniversalString: UCS-4 big-endian.
            let v = any.value();
            if !v.len().is_multiple_of(4) {
                return None;
            }
            v.chunks(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

/// Escapes an attribute value as RFC 4514 §2.4 asks.
fn escape_value(val: &str, out: &mut String) {
    let n = val.chars().count();
    for (i, c) in val.chars().enumerate() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i + 1 == n => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '\x00'..='\x1f' | '\x7f' => out.push_str(&format!("\\{:02x}", c as u32)),
            _ => out.push(c),
        }
    }
}

/// RFC 4514 text of a name, with the national OIDs spelled as dotted numbers.
///
/// RDNs are written last-first (RFC 4514 §2.1), multi-valued RDNs joined with `+`.
/// Known attributes use their short names (CN, L, ST, O, OU, C, UID, SURNAME,
/// GIVENNAME, TITLE, BUSINESSCATEGORY, …); PINFL is `1.2.860.3.16.1.2=…` and the
/// company INN `1.2.860.3.16.1.1=…`. A value that is not a string is written `#` + hex DER.
pub fn name_to_string(name: &Name) -> String {
    let mut out = String::new();
    let rdns: Vec<&RelativeDistinguishedName> = name.iter_rdn().collect();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match label(&atv.oid) {
                Some(l) => out.push_str(l),
                None => out.push_str(&atv.oid.to_string()),
            }
            out.push('=');
            match any_to_string(&atv.value) {
                Some(v) => escape_value(&v, &mut out),
                None => {
                    out.push('#');
                    out.push_str(&hex::encode(atv.value.to_der().unwrap_or_default()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn person() -> Subject {
        Subject {
            common_name: "Aliyev Vali Karimovich".into(),
            surname: Some("Aliyev".into()),
            given_name: Some("Vali".into()),
            locality: Some("Chilonzor tumani".into()),
            state: Some("Toshkent shahri".into()),
            country: Some("UZ".into()),
            uid: Some("412345678".into()),
            pinfl: Some("32808810170066".into()),
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_person() {
        let s = person();
        let n = s.to_name().unwrap();
        assert_eq!(Subject::from_name(&n).unwrap(), s);
        let text = name_to_string(&n);
        assert!(
            text.starts_with("CN=Aliyev Vali Karimovich,GIVENNAME=Vali,SURNAME=Aliyev,"),
            "{text}"
        );
        assert!(text.contains("1.2.860.3.16.1.2=32808810170066"), "{text}");
        assert!(text.ends_with("C=UZ"), "{text}");
    }

    #[test]
    fn country_is_printable_others_utf8() {
        let n = person().to_name().unwrap();
        for atv in n.iter() {
            if atv.oid == COUNTRY {
                assert_eq!(atv.value.tag(), Tag::PrintableString);
            } else {
                assert_eq!(atv.value.tag(), Tag::Utf8String);
            }
        }
        let bad = Subject {
            country: Some("U_Z".into()),
            ..person()
        };
        assert!(bad.to_name().is_err());
        let empty = Subject {
            common_name: String::new(),
            ..person()
        };
        assert!(empty.to_name().is_err());
    }

    #[test]
    fn escaping_and_parse_back() {
        let s = Subject {
            common_name: "O'zbek, \"MChJ\" + #1 ".into(),
            country: Some("UZ".into()),
            ..Default::default()
        };
        let n = s.to_name().unwrap();
        let text = name_to_string(&n);
        assert_eq!(text, "CN=O'zbek\\, \\\"MChJ\\\" \\+ #1\\ ,C=UZ");
        let parsed = Name::from_str(&text).unwrap();
        assert_eq!(Subject::from_name(&parsed).unwrap(), s);
    }

    #[test]
    fn reads_other_string_types() {
        let n = Name::from_str("CN=Test,O=Org,C=UZ").unwrap();
        let s = Subject::from_name(&n).unwrap();
        assert_eq!(s.common_name, "Test");
        assert_eq!(s.organization.as_deref(), Some("Org"));
    }

    fn opt() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[\\PC]{1,40}")
    }

    proptest! {
        #[test]
        fn subject_name_round_trip(
            cn in "[\\PC]{1,64}",
            surname in opt(), given in opt(), l in opt(), st in opt(),
            c in proptest::option::of("[A-Z]{2}"),
            o in opt(), ou in opt(), t in opt(),
            uid in proptest::option::of("[4-7][0-9]{8}"),
            pinfl in proptest::option::of("[1-6][0-9]{13}"),
            inn in proptest::option::of("[23][0-9]{8}"),
            bc in opt(),
        ) {
            let s = Subject {
                common_name: cn, surname, given_name: given, locality: l, state: st, country: c,
                organization: o, organizational_unit: ou, title: t, uid, pinfl, company_inn: inn,
                business_category: bc,
            };
            let n = s.to_name().unwrap();
            let der = n.to_der().unwrap();
            let back = Name::from_der(&der).unwrap();
            prop_assert_eq!(Subject::from_name(&back).unwrap(), s);
            // The text form always names the common name.
            prop_assert!(name_to_string(&back).starts_with("CN="));
        }
    }
}
