//! The signing-time attribute is the signer's claim, written by their own clock: it never
//! chooses the time a certificate is judged at (that is now, or a time the caller proves,
//! e.g. a time-stamp's genTime), and an impossible claim — in the future, or before the
//! signer's certificate began — is reported as `bad_signing_time`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::cms::{self, SignOptions, VerifyOptions};
use imzo_pki::name::Subject;
use imzo_pki::{Certificate, PkiError, RawSigner, SignatureAlgorithm};
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
use p256::pkcs8::EncodePublicKey;
use time::{Duration, OffsetDateTime};

struct Key {
    key: SigningKey,
    spki: Vec<u8>,
}

impl Key {
    fn new(seed: u8) -> Key {
        let key = SigningKey::from_slice(&[seed; 32]).unwrap();
        let spki = key.verifying_key().to_public_key_der().unwrap().as_bytes().to_vec();
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
        let sig: DerSignature = self.key.try_sign(message).map_err(|e| PkiError::Signer(e.to_string()))?;
        Ok(sig.as_bytes().to_vec())
    }
}

fn issue(issuer: Option<&Certificate>, by: &Key, cn: &str, key: &Key, serial: u8, profile: Profile, life: (OffsetDateTime, OffsetDateTime)) -> Certificate {
    let (from, to) = life;
    let params = IssueParams {
        subject: Subject { common_name: cn.into(), country: Some("UZ".into()), ..Subject::default() },
        subject_public_key_der: key.spki.clone(),
        serial: vec![serial],
        not_before: from,
        not_after: to,
        profile,
        urls: PublicationUrls::default(),
        policy_oid: None,
    };
    cert::issue(issuer, by, &params).unwrap()
}

fn codes(report: &cms::VerifyReport) -> Vec<String> {
    report.signers.iter().flat_map(|s| s.errors.iter().map(|e| e.code.clone())).collect()
}

#[test]
fn signing_time_is_a_claim_not_the_time_judged() {
    let now = OffsetDateTime::now_utc();
    let (root_key, old_key, new_key) = (Key::new(21), Key::new(22), Key::new(23));
    let root = issue(None, &root_key, "Root", &root_key, 1, Profile::Root, (now - Duration::days(30), now + Duration::days(30)));
    // Valid from 20 days ago until yesterday.
    let expired = issue(Some(&root), &root_key, "Expired", &old_key, 2, Profile::Holder, (now - Duration::days(20), now - Duration::days(1)));
    // Valid from an hour ago.
    let fresh = issue(Some(&root), &root_key, "Fresh", &new_key, 3, Profile::Holder, (now - Duration::hours(1), now + Duration::days(30)));
    let sign = |key: &Key, cert: &Certificate, at: OffsetDateTime| {
        cms::sign(b"hujjat", key, std::slice::from_ref(cert), &SignOptions { detached: false, signing_time: at }).unwrap()
    };
    let options = |at: Option<OffsetDateTime>| VerifyOptions { anchors: vec![root.clone()], at };

    // Backdated into the expired certificate's lifetime: the claim changes nothing, the
    // certificate is judged now and has expired.
    let backdated = sign(&old_key, &expired, now - Duration::days(5));
    let report = cms::verify(&backdated, None, &options(None)).unwrap();
    assert_eq!(report.signers[0].signing_time.map(|t| t.unix_timestamp()), Some((now - Duration::days(5)).unix_timestamp()));
    assert_eq!(codes(&report), vec!["expired"]);
    assert!(report.signers[0].signature_valid && !report.signers[0].chain_valid);
    // A time the caller proves (a time-stamp's genTime) is what the chain is judged at.
    assert!(cms::verify(&backdated, None, &options(Some(now - Duration::days(5)))).unwrap().all_valid());

    // A signing time in the future: the signer's clock is wrong.
    let future = sign(&new_key, &fresh, now + Duration::days(400));
    let report = cms::verify(&future, None, &options(None)).unwrap();
    assert_eq!(codes(&report), vec!["bad_signing_time"]);
    assert!(report.signers[0].errors[0].message.contains("in the future"), "{:?}", report.signers[0].errors);
    // A few seconds ahead is clock skew, not an error.
    assert!(cms::verify(&sign(&new_key, &fresh, now + Duration::seconds(30)), None, &options(None)).unwrap().all_valid());

    // Before the certificate (or the root) existed: "not yet valid", never "expired".
    let early = sign(&new_key, &fresh, now - Duration::days(60));
    let report = cms::verify(&early, None, &options(None)).unwrap();
    assert_eq!(codes(&report), vec!["bad_signing_time"]);
    assert!(report.signers[0].errors[0].message.contains("not yet valid"), "{:?}", report.signers[0].errors);
    // Judged explicitly at a time before the certificate: not_yet_valid.
    let report = cms::verify(&sign(&new_key, &fresh, now), None, &options(Some(now - Duration::days(2)))).unwrap();
    assert_eq!(codes(&report), vec!["not_yet_valid"]);
    assert!(cms::verify(&sign(&new_key, &fresh, now), None, &options(None)).unwrap().all_valid());
}
