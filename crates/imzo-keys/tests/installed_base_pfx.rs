//! `.pfx` files in the installed base's layout, built here: a national hierarchy, the
//! key in both private-key forms, a non-ASCII password under the BouncyCastle rule.
//! The alias lists without the password, the file opens (our reader and
//! `pfxfile::open`), the key signs, and OpenSSL checks the MAC and the certificate part.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use der::Encode;
use imzo_keys::installed_base::{self, PasswordRule, WriteOptions};
use imzo_keys::{KeyError, RawSigner, SoftwareKey, pfxfile};
use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::cms::{self, SignOptions, VerifyOptions};
use imzo_pki::name::Subject;
use imzo_pki::ozdst::{self, OidFamily, ParamSet, SigningKey};
use imzo_pki::{Certificate, PkiError};
use proptest::prelude::*;
use std::process::Command;
use time::{Duration, OffsetDateTime};

/// Uzbek Latin with the modifier letter ʻ and a Cyrillic ў: UTF-8 and the
/// BouncyCastle low-8-bits rule give different bytes.
const PASSWORD: &str = "Oʻzbekiston-ўзбек 2026";

fn params(subject: Subject, spki: &[u8], serial: u8, profile: Profile) -> IssueParams {
    let now = OffsetDateTime::now_utc();
    IssueParams {
        subject,
        subject_public_key_der: spki.to_vec(),
        serial: vec![serial],
        not_before: now - Duration::hours(1),
        not_after: now + Duration::days(30),
        profile,
        urls: PublicationUrls::default(),
        policy_oid: None,
    }
}

fn named(cn: &str) -> Subject {
    Subject {
        common_name: cn.into(),
        country: Some("UZ".into()),
        ..Default::default()
    }
}

struct Hierarchy {
    root: Certificate,
    centre: Certificate,
    holder: Certificate,
    holder_key: SigningKey,
}

fn hierarchy() -> Hierarchy {
    let root_key = SoftwareKey::from_national(
        SigningKey::generate(ParamSet::CryptoProA, OidFamily::National).unwrap(),
    )
    .unwrap();
    let centre_key = SoftwareKey::from_national(
        SigningKey::generate(ParamSet::CryptoProA, OidFamily::National).unwrap(),
    )
    .unwrap();
    let holder_key = SigningKey::generate(ParamSet::CryptoProA, OidFamily::National).unwrap();
    let holder_spki = holder_key.public_key().to_spki_der().unwrap();
    let root = cert::issue(
        None,
        &root_key,
        &params(
            named("Milliy Ildiz"),
            root_key.public_key_der(),
            1,
            Profile::Root,
        ),
    )
    .unwrap();
    let centre = cert::issue(
        Some(&root),
        &root_key,
        &params(
            named("Markaz 1"),
            centre_key.public_key_der(),
            2,
            Profile::CentreCa,
        ),
    )
    .unwrap();
    let holder = cert::issue(
        Some(&centre),
        &centre_key,
        &params(
            Subject {
                common_name: "ALIYEV VALI".into(),
                given_name: Some("VALI".into()),
                surname: Some("ALIYEV".into()),
                country: Some("UZ".into()),
                pinfl: Some("32808810170066".into()),
                ..Default::default()
            },
            &holder_spki,
            3,
            Profile::Holder,
        ),
    )
    .unwrap();
    Hierarchy {
        root,
        centre,
        holder,
        holder_key,
    }
}

/// The installed base's second private-key form: parameters as a SEQUENCE, the
/// privateKey contents the raw little-endian d.
fn second_form(key: &SigningKey) -> Vec<u8> {
    let mut le = *key.to_be_bytes();
    le.reverse();
    let params = der::Any::encode_from(&vec![ParamSet::CryptoProA.national_oid()]).unwrap();
    pkcs8::PrivateKeyInfoRef {
        algorithm: spki::AlgorithmIdentifierRef {
            oid: ozdst::OZDST_1092_KEY,
            parameters: Some((&params).into()),
        },
        private_key: der::asn1::OctetStringRef::new(&le).unwrap(),
        public_key: None,
    }
    .to_der()
    .unwrap()
}

fn openssl_info(path: &std::path::Path, password: &str) -> (bool, String) {
    let out = Command::new("openssl")
        .args(["pkcs12", "-info", "-nokeys", "-in"])
        .arg(path)
        .args(["-passin", &format!("pass:{password}")])
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn both_key_forms_open_list_and_sign_under_a_bouncycastle_password() {
    let h = hierarchy();
    let alias = imzo_pki::pfx::alias(&h.holder).unwrap();
    let chain = [h.holder.clone(), h.centre.clone(), h.root.clone()];
    let first_form = h.holder_key.to_pkcs8_der().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = WriteOptions {
        rule: PasswordRule::BouncyCastle,
        iterations: 2048,
    };
    for (form, key_der) in [
        ("first", first_form.to_vec()),
        ("second", second_form(&h.holder_key)),
    ] {
        let bytes = installed_base::write(&key_der, &chain, None, PASSWORD, options).unwrap();

        // The alias lists without the password.
        assert_eq!(
            installed_base::list_aliases(&bytes).unwrap(),
            vec![alias.clone()],
            "{form}"
        );

        let opened = installed_base::read(&bytes, PASSWORD).unwrap();
        assert_eq!(opened.rule, PasswordRule::BouncyCastle, "{form}");
        assert_eq!(opened.alias.as_deref(), Some(alias.as_str()));
        assert_eq!(opened.chain, chain.to_vec());
        assert_eq!(
            opened.key.public_key_der(),
            h.holder_key.public_key().to_spki_der().unwrap().as_slice()
        );

        // The standard reader derives PBES2 keys from UTF-8 and cannot open it; the
        // module's `pfxfile::open` falls back to the installed-base reader.
        assert!(imzo_pki::pfx::read(&bytes, PASSWORD).is_err(), "{form}");
        let path = dir.path().join(format!("DS328088101700660001-{form}.pfx"));
        std::fs::write(&path, &bytes).unwrap();
        let pfx = pfxfile::open(&path, PASSWORD).unwrap();
        assert_eq!(pfx.chain[0], h.holder);

        // It signs: a CMS signature that verifies to the national root, and fails
        // for other content.
        let content = format!("Hujjat ({form} key form)").into_bytes();
        let signed = cms::sign(
            &content,
            &pfx.key,
            &pfx.chain[..2],
            &SignOptions {
                detached: true,
                signing_time: OffsetDateTime::now_utc(),
            },
        )
        .unwrap();
        let opts = VerifyOptions {
            anchors: vec![h.root.clone()],
            at: None,
        };
        assert!(
            cms::verify(&signed, Some(&content), &opts)
                .unwrap()
                .all_valid()
        );
        assert!(
            !cms::verify(&signed, Some(b"Hujjat?"), &opts)
                .unwrap()
                .all_valid()
        );

        // Wrong passwords: the UTF-8-equal-looking one, and a plain wrong one.
        for wrong in ["Oʻzbekiston-ўзбек 2025", "parol"] {
            assert!(matches!(
                installed_base::read(&bytes, wrong),
                Err(KeyError::Pki(PkiError::WrongPassword))
            ));
            assert!(matches!(
                pfxfile::open(&path, wrong),
                Err(KeyError::WrongPassword(_))
            ));
        }
        // One changed byte anywhere in the protected part: the MAC fails.
        let mut bad = bytes.clone();
        let at = bad.len() / 2;
        bad[at] ^= 0x01;
        assert!(installed_base::read(&bad, PASSWORD).is_err());
    }
}

#[test]
fn openssl_checks_the_layout() {
    let h = hierarchy();
    let chain = [h.holder.clone(), h.centre.clone(), h.root.clone()];
    let alias = imzo_pki::pfx::alias(&h.holder).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_der = h.holder_key.to_pkcs8_der().unwrap();
    // An ASCII password (both rules agree) and a non-ASCII one under UTF-8: OpenSSL
    // verifies the MAC, decrypts the certificate part and shows the plain key bag
    // with its alias.
    for (name, password, rule) in [
        ("ascii.pfx", "parol-2026", PasswordRule::BouncyCastle),
        ("utf8.pfx", PASSWORD, PasswordRule::Utf8),
    ] {
        let bytes = installed_base::write(
            &key_der,
            &chain,
            None,
            password,
            WriteOptions {
                rule,
                iterations: 2048,
            },
        )
        .unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let (ok, info) = openssl_info(&path, password);
        assert!(ok, "{name}: {info}");
        assert!(info.contains("Shrouded Keybag"), "{info}");
        assert!(info.contains(&format!("friendlyName: {alias}")), "{info}");
        assert!(info.contains("PKCS7 Encrypted data"), "{info}");
        assert!(info.contains("PKCS7 Data"), "{info}");
        assert_eq!(info.matches("BEGIN CERTIFICATE").count(), 3, "{info}");
        let (bad, _) = openssl_info(&path, "wrong");
        assert!(!bad);
        assert_eq!(
            installed_base::read(&bytes, password).unwrap().rule,
            PasswordRule::Utf8
        );
    }
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let h = hierarchy();
    let other = SigningKey::generate(ParamSet::CryptoProA, OidFamily::National).unwrap();
    let err = installed_base::write(
        &other.to_pkcs8_der().unwrap(),
        std::slice::from_ref(&h.holder),
        None,
        PASSWORD,
        WriteOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("does not belong"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = installed_base::list_aliases(&bytes);
        let _ = installed_base::read(&bytes, "x");
    }
}
