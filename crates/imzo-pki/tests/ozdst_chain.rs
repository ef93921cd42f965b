//! A national-algorithm hierarchy end to end: root → centre CA → holder issued with
//! O'z DSt 1092 keys, a CSR, path validation, PKCS#8 both forms, and a CMS signature
//! our verifier accepts (and rejects when tampered with).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::cms::{self, SignOptions, VerifyOptions};
use imzo_pki::name::Subject;
use imzo_pki::ozdst::{self, OidFamily, ParamSet, SigningKey, SoftwareSigner};
use imzo_pki::path::{self, PathOptions};
use imzo_pki::{RawSigner, SignatureAlgorithm, csr};
use time::{Duration, OffsetDateTime};

fn signer(set: ParamSet) -> SoftwareSigner {
    SoftwareSigner::new(SigningKey::generate(set, OidFamily::National).unwrap()).unwrap()
}

fn params(cn: &str, spki: &[u8], serial: u8, profile: Profile) -> IssueParams {
    let now = OffsetDateTime::now_utc();
    IssueParams {
        subject: Subject {
            common_name: cn.into(),
            country: Some("UZ".into()),
            ..Default::default()
        },
        subject_public_key_der: spki.to_vec(),
        serial: vec![serial],
        not_before: now - Duration::hours(1),
        not_after: now + Duration::days(30),
        profile,
        urls: PublicationUrls::default(),
        policy_oid: None,
    }
}

#[test]
fn national_hierarchy_and_cms() {
    let root_key = signer(ParamSet::CryptoProA);
    let centre_key = signer(ParamSet::CryptoProA);
    let holder_key = signer(ParamSet::CryptoProC);
    assert_eq!(root_key.algorithm(), SignatureAlgorithm::OzDst1092);

    let root = cert::issue(
        None,
        &root_key,
        &params("National Root", root_key.public_key_der(), 1, Profile::Root),
    )
    .unwrap();
    assert_eq!(
        root.signature_algorithm().oid.to_string(),
        "1.2.860.3.15.1.1.2.2.2.2"
    );
    let centre = cert::issue(
        Some(&root),
        &root_key,
        &params(
            "Centre CA",
            centre_key.public_key_der(),
            2,
            Profile::CentreCa,
        ),
    )
    .unwrap();

    // The holder asks with a CSR signed by its national key.
    let request = csr::build(
        &holder_key,
        &Subject {
            common_name: "Aliyev Vali".into(),
            country: Some("UZ".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let info = csr::parse_and_verify(&request).unwrap();
    assert_eq!(info.public_key_der, holder_key.public_key_der());
    let holder = cert::issue(
        Some(&centre),
        &centre_key,
        &params("Aliyev Vali", &info.public_key_der, 3, Profile::Holder),
    )
    .unwrap();

    let chain = path::validate(
        &holder,
        std::slice::from_ref(&centre),
        std::slice::from_ref(&root),
        &PathOptions {
            at: OffsetDateTime::now_utc(),
            max_depth: 4,
        },
    )
    .unwrap();
    assert_eq!(chain.len(), 3);

    // Under a root with the same name but another national key, the chain fails.
    let stranger = signer(ParamSet::CryptoProA);
    let impostor = cert::issue(
        None,
        &stranger,
        &params("National Root", stranger.public_key_der(), 1, Profile::Root),
    )
    .unwrap();
    assert!(
        path::validate(
            &holder,
            std::slice::from_ref(&centre),
            std::slice::from_ref(&impostor),
            &PathOptions {
                at: OffsetDateTime::now_utc(),
                max_depth: 4
            },
        )
        .is_err()
    );

    let content = b"Hujjat: national-algorithm signature";
    let signed = cms::sign(
        content,
        &holder_key,
        &[holder.clone(), centre.clone()],
        &SignOptions {
            detached: false,
            signing_time: OffsetDateTime::now_utc(),
        },
    )
    .unwrap();
    let opts = VerifyOptions {
        anchors: vec![root.clone()],
        at: None,
    };
    let report = cms::verify(&signed, None, &opts).unwrap();
    assert!(report.all_valid(), "{:?}", report.signers);
    assert_eq!(report.content, content);

    // The messageDigest is the 1106 hash of the content, in plain output order.
    let digest = ozdst::hash(content);
    assert!(signed.windows(32).any(|w| w == digest));

    // Changing one content byte breaks it.
    let mut tampered = signed.clone();
    let at = tampered
        .windows(content.len())
        .position(|w| w == content)
        .unwrap();
    tampered[at] ^= 1;
    let report = cms::verify(&tampered, None, &opts).unwrap();
    assert!(!report.all_valid());
}

#[test]
fn pkcs8_both_installed_base_forms() {
    use der::{Decode, Encode};
    let key = SigningKey::generate(ParamSet::CryptoProA, OidFamily::National).unwrap();
    let der = key.to_pkcs8_der().unwrap();
    let back = ozdst::private_key_from_pkcs8(&der).unwrap();
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(*back.to_be_bytes(), *key.to_be_bytes());
    // Algorithm parameters are the bare parameter-set OID in the first form.
    let info = pkcs8::PrivateKeyInfoRef::from_der(&der).unwrap();
    assert_eq!(
        info.algorithm
            .parameters
            .unwrap()
            .decode_as::<der::asn1::ObjectIdentifier>()
            .unwrap(),
        ParamSet::CryptoProA.national_oid()
    );

    // Second form: parameters as a SEQUENCE, d raw little-endian.
    let mut le = *key.to_be_bytes();
    le.reverse();
    let params = der::Any::encode_from(&vec![ParamSet::CryptoProA.national_oid()]).unwrap();
    let second = pkcs8::PrivateKeyInfoRef {
        algorithm: spki::AlgorithmIdentifierRef {
            oid: ozdst::OZDST_1092_KEY,
            parameters: Some((&params).into()),
        },
        private_key: der::asn1::OctetStringRef::new(&le).unwrap(),
        public_key: None,
    }
    .to_der()
    .unwrap();
    let back = ozdst::private_key_from_pkcs8(&second).unwrap();
    assert_eq!(back.public_key(), key.public_key());

    // Encrypted storage goes through the ordinary PKCS#8 encryption.
    let pem = imzo_pki::pkcs8::encrypt_with_iterations(&der, b"parol", 2048).unwrap();
    let plain = imzo_pki::pkcs8::decrypt(pem.as_bytes(), b"parol").unwrap();
    assert_eq!(
        ozdst::private_key_from_pkcs8(&plain).unwrap().public_key(),
        key.public_key()
    );
}

/// Rewrites the signatureAlgorithm of every SignerInfo of a DER CMS ContentInfo. The
/// signature covers the signed attributes, not this field, so the result is what another
/// signer writing `oid` there would have produced with the same key.
fn with_signer_info_algorithm(signed: &[u8], oid: der::asn1::ObjectIdentifier) -> Vec<u8> {
    use der::{Decode, Encode};
    let mut info = ::cms::content_info::ContentInfo::from_der(signed).unwrap();
    let mut data: ::cms::signed_data::SignedData = info.content.decode_as().unwrap();
    let mut signers: Vec<::cms::signed_data::SignerInfo> =
        data.signer_infos.0.iter().cloned().collect();
    for s in &mut signers {
        s.signature_algorithm = spki::AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        };
    }
    data.signer_infos = ::cms::signed_data::SignerInfos(signers.try_into().unwrap());
    info.content = der::Any::encode_from(&data).unwrap();
    info.to_der().unwrap()
}

/// Real E-IMZO signatures from other software name the *key* OID 1.2.860.3.15.1.1.2.1 as
/// the SignerInfo's signatureAlgorithm (national-algorithms.md): such a CMS verifies, and
/// a changed content byte or an algorithm we do not know makes it fail.
#[test]
fn signer_info_with_the_national_key_oid_verifies() {
    use der::Decode;
    let root_key = signer(ParamSet::CryptoProA);
    let holder_key = signer(ParamSet::CryptoProA);
    let root = cert::issue(
        None,
        &root_key,
        &params("National Root", root_key.public_key_der(), 1, Profile::Root),
    )
    .unwrap();
    let holder = cert::issue(
        Some(&root),
        &root_key,
        &params(
            "Aliyev Vali",
            holder_key.public_key_der(),
            2,
            Profile::Holder,
        ),
    )
    .unwrap();
    let content = b"Hujjat: E-IMZO form of the signer info";
    let ours = cms::sign(
        content,
        &holder_key,
        std::slice::from_ref(&holder),
        &SignOptions {
            detached: false,
            signing_time: OffsetDateTime::now_utc(),
        },
    )
    .unwrap();
    let key_form = with_signer_info_algorithm(&ours, ozdst::OZDST_1092_KEY);

    // The rewritten SignerInfo really names the key OID (and our signer did not).
    let algorithm_of = |der_bytes: &[u8]| {
        let info = ::cms::content_info::ContentInfo::from_der(der_bytes).unwrap();
        let data: ::cms::signed_data::SignedData = info.content.decode_as().unwrap();
        data.signer_infos.0.get(0).unwrap().signature_algorithm.oid
    };
    assert_eq!(algorithm_of(&ours), ozdst::OZDST_1092_WITH_1106);
    assert_eq!(algorithm_of(&key_form), ozdst::OZDST_1092_KEY);
    assert_eq!(algorithm_of(&key_form).to_string(), "1.2.860.3.15.1.1.2.1");

    let opts = VerifyOptions {
        anchors: vec![root.clone()],
        at: None,
    };
    let report = cms::verify(&key_form, None, &opts).unwrap();
    assert!(report.all_valid(), "{:?}", report.signers);
    assert_eq!(report.content, content);
    assert!(report.signers[0].signature_valid);

    // One content byte changed: the signature no longer verifies.
    let mut tampered = key_form.clone();
    let at = tampered
        .windows(content.len())
        .position(|w| w == content)
        .unwrap();
    tampered[at] ^= 1;
    let report = cms::verify(&tampered, None, &opts).unwrap();
    assert!(!report.all_valid());
    assert!(!report.signers[0].signature_valid);

    // The acceptance is of that OID, not of any: an unknown algorithm does not verify.
    let unknown = with_signer_info_algorithm(
        &ours,
        der::asn1::ObjectIdentifier::new_unwrap("1.2.860.3.15.1.1.2.9"),
    );
    let rejected = cms::verify(&unknown, None, &opts).map(|r| r.all_valid());
    assert!(!matches!(rejected, Ok(true)), "{rejected:?}");
}
