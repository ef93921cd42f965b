//! Verification of damaged SignedData never panics: every byte flip, truncation or
//! splice of a real signature ends in an error or a report, and a report for a changed
//! signed part is never "valid".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::cms::{self, SignOptions, VerifyOptions};
use imzo_pki::name::Subject;
use imzo_pki::{Certificate, PkiError, RawSigner, SignatureAlgorithm};
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
use p256::pkcs8::EncodePublicKey;
use proptest::prelude::*;
use std::sync::OnceLock;
use time::OffsetDateTime;

struct Key {
    key: SigningKey,
    spki: Vec<u8>,
}

impl Key {
    fn new(seed: u8) -> Key {
        let key = SigningKey::from_slice(&[seed; 32]).unwrap();
        let spki = key
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec();
        Key { key, spki }
    }
}

impl RawSigner for Key {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::EcdsaP256Sha256
    }
    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        let sig: DerSignature = self
            .key
            .try_sign(message)
            .map_err(|e| PkiError::Signer(e.to_string()))?;
        Ok(sig.as_bytes().to_vec())
    }
}

struct Fixture {
    root: Certificate,
    signature: Vec<u8>,
    pop: Vec<u8>,
    holder_spki: Vec<u8>,
}

const CONTENT: &[u8] = b"mutation target content";

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (root_key, holder_key) = (Key::new(7), Key::new(9));
        let now = OffsetDateTime::now_utc();
        let params = |cn: &str, key: &Key, serial: u8, profile| IssueParams {
            subject: Subject {
                common_name: cn.into(),
                country: Some("UZ".into()),
                ..Subject::default()
            },
            subject_public_key_der: key.spki.clone(),
            serial: vec![serial],
            not_before: now - time::Duration::minutes(5),
            not_after: now + time::Duration::days(30),
            profile,
            urls: PublicationUrls::default(),
            policy_oid: None,
        };
        let root = cert::issue(
            None,
            &root_key,
            &params("Root", &root_key, 1, Profile::Root),
        )
        .unwrap();
        let holder = cert::issue(
            Some(&root),
            &root_key,
            &params("Holder", &holder_key, 2, Profile::Holder),
        )
        .unwrap();
        let options = SignOptions {
            detached: false,
            signing_time: now,
        };
        let signature = cms::sign(CONTENT, &holder_key, &[holder], &options).unwrap();
        let pop = cms::sign_proof_of_possession(CONTENT, &holder_key).unwrap();
        Fixture {
            root,
            signature,
            pop,
            holder_spki: holder_key.spki.clone(),
        }
    })
}

#[test]
fn fixture_is_valid() {
    let f = fixture();
    let report = cms::verify(
        &f.signature,
        None,
        &VerifyOptions {
            anchors: vec![f.root.clone()],
            at: None,
        },
    )
    .unwrap();
    assert!(report.all_valid());
    cms::verify_proof_of_possession(&f.pop, CONTENT, &f.holder_spki).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn flipped_bytes_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)) {
        let f = fixture();
        let mut damaged = f.signature.clone();
        for (at, mask) in &flips {
            let i = at.index(damaged.len());
            damaged[i] ^= mask;
        }
        let options = VerifyOptions { anchors: vec![f.root.clone()], at: None };
        let _ = cms::verify(&damaged, None, &options);
        let _ = cms::verify(&damaged, Some(b"other"), &options);
        let mut pop = f.pop.clone();
        for (at, mask) in &flips {
            let i = at.index(pop.len());
            pop[i] ^= mask;
        }
        let _ = cms::verify_proof_of_possession(&pop, CONTENT, &f.holder_spki);
    }

    #[test]
    fn truncations_are_errors(cut in any::<prop::sample::Index>()) {
        let f = fixture();
        let cut = cut.index(f.signature.len());
        let options = VerifyOptions { anchors: vec![f.root.clone()], at: None };
        prop_assert!(cms::verify(&f.signature[..cut], None, &options).is_err());
    }

    #[test]
    fn content_changes_are_never_valid(at in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let f = fixture();
        let mut other = CONTENT.to_vec();
        let i = at.index(other.len());
        other[i] ^= mask;
        let options = VerifyOptions { anchors: vec![f.root.clone()], at: None };
        let report = cms::verify(&f.signature, Some(&other), &options).unwrap();
        prop_assert!(!report.all_valid());
        prop_assert!(cms::verify_proof_of_possession(&f.pop, &other, &f.holder_spki).is_err());
    }
}
