//! Revocation by holder and operator, hold and release, the CRL and the OCSP responder,
//! on SQLite and PostgreSQL, with the CRL judged by `openssl verify -crl_check`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-store/tests/common/mod.rs"]
mod common;

use common::Db;
use imzo_ca::StatusError;
use imzo_ca::bootstrap::{self, Settings};
use imzo_ca::crl::CrlPolicy;
use imzo_ca::ocsp::{OcspPolicy, OcspResponder};
use imzo_ca::revocation::{self, RevocationAction, RevocationRequest};
use imzo_keys::{RawSigner, SoftwareKey, pfxfile};
use imzo_pki::crl::RevocationReason;
use imzo_pki::ocsp::{self, CertIdHash, CertStatus};
use imzo_pki::{Certificate, cert, cms, name::Subject};
use imzo_store::Store;
use std::process::Command;
use std::time::Duration;

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

async fn signed_request(
    store: &Store,
    key: &dyn RawSigner,
    chain: &[Certificate],
    serial: &str,
    action: RevocationAction,
    reason: Option<&str>,
) -> Vec<u8> {
    let challenge = revocation::challenge(store).await.unwrap();
    let request = RevocationRequest {
        challenge_id: challenge.id,
        challenge_base64: challenge.challenge_base64,
        serial: serial.to_string(),
        action,
        reason: reason.map(str::to_string),
    };
    let options = cms::SignOptions { detached: false, signing_time: time::OffsetDateTime::now_utc() };
    cms::sign(&serde_json::to_vec(&request).unwrap(), key, chain, &options).unwrap()
}

async fn ocsp_status(responder: &OcspResponder, store: &Store, ca: &Certificate, serial: &str, nonce: Option<&[u8]>) -> CertStatus {
    let request = ocsp::build_request(ca, serial, CertIdHash::Sha1, nonce).unwrap();
    let answer = responder.respond(store, &request).await;
    let checked = ocsp::check_response(&answer.der, ca, serial).unwrap();
    if let Some(n) = nonce {
        let expected = ocsp::parse_request(&request).unwrap().nonce.unwrap();
        assert_eq!(checked.nonce.as_deref(), Some(expected.as_slice()), "nonce {n:?} must be echoed");
        assert!(answer.this_update.is_none(), "nonce answers are not for caches");
    } else {
        assert!(answer.this_update.is_some() && answer.next_update.is_some());
    }
    checked.status
}

async fn scenario(db: Db) {
    let Some((store, _keep)) = common::store(db).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings { public_url: Some("http://127.0.0.1:8080".into()), ..Settings::default() };
    let deployment = bootstrap::ensure(&store, &dir.path().join("data"), &settings).await.unwrap();
    let ca = deployment.centre.clone();

    // A holder with a key of their own.
    let holder_key = SoftwareKey::generate().unwrap();
    let subject = Subject { common_name: "QODIROV ALI".into(), pinfl: Some("31234567890123".into()), country: Some("UZ".into()), ..Default::default() };
    let mut tx = store.begin().await.unwrap();
    let issued = ca.issue_holder(&mut tx, &subject, holder_key.public_key_der(), None).await.unwrap();
    tx.commit().await.unwrap();
    let serial = issued.serial_hex.clone();
    let holder_chain = vec![issued.certificate.clone(), ca.certificate.clone()];

    let password = std::fs::read_to_string(&deployment.operator_password_file).unwrap();
    let operator = pfxfile::open(&deployment.operator_pfx, password.trim()).unwrap();

    let crl_policy = CrlPolicy { delay: Duration::ZERO, ..CrlPolicy::default() };
    // No memory here: every answer reflects the database, as another node sees it.
    let responder = OcspResponder::new(vec![ca.clone()], OcspPolicy { memory_ttl: Duration::ZERO, ..OcspPolicy::default() }).unwrap();
    let remembering = OcspResponder::new(vec![ca.clone()], OcspPolicy::default()).unwrap();

    // Before anything: an empty CRL, number 1; OCSP good, from the cache the second time.
    let crl0 = imzo_ca::crl::current(&store, &ca, &crl_policy).await.unwrap();
    let info0 = imzo_pki::crl::verify(&crl0, &ca.certificate).unwrap();
    assert_eq!((info0.number, info0.entries.len()), (Some(1), 0));
    assert_eq!(imzo_ca::crl::current(&store, &ca, &crl_policy).await.unwrap(), crl0, "unchanged CRL is served as stored");
    assert_eq!(ocsp_status(&responder, &store, &ca.certificate, &serial, None).await, CertStatus::Good);
    let request = ocsp::build_request(&ca.certificate, &serial, CertIdHash::Sha1, None).unwrap();
    let first = responder.respond(&store, &request).await.der;
    assert_eq!(responder.respond(&store, &request).await.der, first, "nonce-less answers come from the cache");
    // SHA-256 CertIDs are answered too.
    let request256 = ocsp::build_request(&ca.certificate, &serial, CertIdHash::Sha256, None).unwrap();
    let answer256 = responder.respond(&store, &request256).await;
    assert_eq!(ocsp::check_response(&answer256.der, &ca.certificate, &serial).unwrap().status, CertStatus::Good);

    assert_eq!(ocsp_status(&remembering, &store, &ca.certificate, &serial, None).await, CertStatus::Good);

    // The holder suspends their own certificate with its key.
    let signed = signed_request(&store, &holder_key, &holder_chain, &serial, RevocationAction::Hold, None).await;
    let view = revocation::apply(&store, &ca, &signed).await.unwrap();
    assert_eq!((view.status.as_str(), view.by.as_str()), ("on_hold", "holder"));
    // The same signed request cannot be replayed.
    assert!(matches!(revocation::apply(&store, &ca, &signed).await, Err(StatusError::Forbidden { code: "challenge_invalid", .. })));
    // OCSP says so at once: the cached good answer went with the change.
    assert!(matches!(
        ocsp_status(&responder, &store, &ca.certificate, &serial, None).await,
        CertStatus::Revoked { reason: Some(RevocationReason::CertificateHold), .. }
    ));
    assert!(matches!(
        ocsp_status(&responder, &store, &ca.certificate, &serial, Some(b"nonce-1234567890")).await,
        CertStatus::Revoked { .. }
    ));

    // A node that remembered the good answer says so until its memory lapses or it is
    // told (the web layer tells it when the change went through it).
    assert_eq!(ocsp_status(&remembering, &store, &ca.certificate, &serial, None).await, CertStatus::Good);
    remembering.forget(&serial);
    assert!(matches!(ocsp_status(&remembering, &store, &ca.certificate, &serial, None).await, CertStatus::Revoked { .. }));

    // The holder may not lift the hold; an operator may.
    let signed = signed_request(&store, &holder_key, &holder_chain, &serial, RevocationAction::Release, None).await;
    assert!(matches!(revocation::apply(&store, &ca, &signed).await, Err(StatusError::Forbidden { code: "not_authorised", .. })));
    let signed = signed_request(&store, &operator.key, &operator.chain, &serial, RevocationAction::Release, None).await;
    let view = revocation::apply(&store, &ca, &signed).await.unwrap();
    assert_eq!(view.status, "good");
    assert!(view.by.starts_with("operator:"));
    assert_eq!(ocsp_status(&responder, &store, &ca.certificate, &serial, None).await, CertStatus::Good);

    // A stranger's key (self-made certificate chain) is refused; so is an unknown reason.
    let stranger = SoftwareKey::generate().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let stranger_cert = cert::issue(
        None,
        &stranger,
        &cert::IssueParams {
            subject: subject.clone(),
            subject_public_key_der: stranger.public_key_der().to_vec(),
            serial: hex::decode(&serial).unwrap(),
            not_before: now - time::Duration::minutes(1),
            not_after: now + time::Duration::days(1),
            profile: cert::Profile::Holder,
            urls: cert::PublicationUrls::default(),
            policy_oid: None,
        },
    )
    .unwrap();
    let signed = signed_request(&store, &stranger, &[stranger_cert], &serial, RevocationAction::Revoke, None).await;
    assert!(matches!(revocation::apply(&store, &ca, &signed).await, Err(StatusError::Forbidden { code: "bad_signature", .. })));
    let signed = signed_request(&store, &operator.key, &operator.chain, &serial, RevocationAction::Revoke, Some("whim")).await;
    assert!(matches!(revocation::apply(&store, &ca, &signed).await, Err(StatusError::BadRequest { code: "invalid_reason", .. })));
    assert!(matches!(revocation::apply(&store, &ca, b"not a CMS").await, Err(StatusError::BadRequest { .. })));

    // The operator revokes for key compromise; revoking again is refused.
    let signed = signed_request(&store, &operator.key, &operator.chain, &serial, RevocationAction::Revoke, Some("keyCompromise")).await;
    let view = revocation::apply(&store, &ca, &signed).await.unwrap();
    assert_eq!((view.status.as_str(), view.reason.as_deref()), ("revoked", Some("keyCompromise")));
    let signed = signed_request(&store, &operator.key, &operator.chain, &serial, RevocationAction::Hold, None).await;
    assert!(matches!(revocation::apply(&store, &ca, &signed).await, Err(StatusError::Conflict(_))));
    assert!(matches!(
        ocsp_status(&responder, &store, &ca.certificate, &serial, None).await,
        CertStatus::Revoked { reason: Some(RevocationReason::KeyCompromise), .. }
    ));
    // Unknown serials are `unknown`.
    assert_eq!(ocsp_status(&responder, &store, &ca.certificate, "7f00112233", None).await, CertStatus::Unknown);

    // The CRL follows (delay zero here): a higher number, the entry with its reason.
    let crl1 = imzo_ca::crl::current(&store, &ca, &crl_policy).await.unwrap();
    let info1 = imzo_pki::crl::verify(&crl1, &ca.certificate).unwrap();
    assert!(info1.number > info0.number, "{:?} after {:?}", info1.number, info0.number);
    assert_eq!(info1.find(&serial).unwrap().reason, Some(RevocationReason::KeyCompromise));
    // With a long delay a fresh change waits; the stored CRL is served meanwhile.
    let slow = CrlPolicy { delay: Duration::from_secs(3600), ..CrlPolicy::default() };
    assert_eq!(imzo_ca::crl::current(&store, &ca, &slow).await.unwrap(), crl1);

    // OpenSSL agrees: the CRL verifies and reports the certificate revoked.
    let d = dir.path();
    std::fs::write(d.join("crl.der"), &crl1).unwrap();
    std::fs::write(d.join("chain.pem"), format!("{}{}", cert::to_pem(&ca.certificate).unwrap(), cert::to_pem(&deployment.root).unwrap()))
        .unwrap();
    std::fs::write(d.join("holder.pem"), cert::to_pem(&issued.certificate).unwrap()).unwrap();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    let (ok, out) = openssl(&["crl", "-inform", "DER", "-in", &p("crl.der"), "-out", &p("crl.pem")]);
    assert!(ok, "{out}");
    let (ok, out) = openssl(&["crl", "-in", &p("crl.pem"), "-CAfile", &p("chain.pem"), "-noout"]);
    assert!(ok && out.contains("verify OK"), "{out}");
    let (ok, out) = openssl(&["verify", "-crl_check", "-CAfile", &p("chain.pem"), "-CRLfile", &p("crl.pem"), &p("holder.pem")]);
    assert!(!ok && out.contains("certificate revoked"), "{out}");

    // Every change is audited.
    let entries = imzo_store::audit::entries(store.pool()).await.unwrap();
    let actions: Vec<&str> = entries.iter().filter(|e| e.subject == serial).map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["certificate.held", "certificate.released", "certificate.revoked"]);
    assert!(imzo_store::audit::verify(&store).await.unwrap().is_intact());

    // The pre-signing job finds nothing left to do for answered certificates.
    let signed_ahead = responder.presign_due(&store, 100).await.unwrap();
    assert!(responder.presign_due(&store, 100).await.unwrap() == 0, "after signing {signed_ahead} ahead, none are due");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_sqlite() {
    scenario(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn status_postgres() {
    scenario(Db::Postgres).await;
}
