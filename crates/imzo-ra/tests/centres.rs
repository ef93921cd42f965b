//! The ten centres of the embedded default in the workflow, on a real database (SQLite
//! and PostgreSQL): payments audited in the applicant's centre, one centre's queue not
//! hidden by another's backlog, renewal within the holder's own centre, and an
//! authorised person whose own certificate is revoked or held refused at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use common::{Applicant, BCV_TIYIN, Db, Keep, PEPPER, documents, individual, last_code, state_of, store};
use imzo_ca::bootstrap::{self, Deployment};
use imzo_ca::revocation::RevocationAction;
use imzo_gateways::payme::Ledger;
use imzo_keys::pfxfile;
use imzo_pki::{Certificate, cert};
use imzo_ra::{RaConfig, Registration};
use imzo_store::{Row, Store};
use time::{OffsetDateTime, macros::date};

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Db::Postgres).await
            }
        }
    )*};
}

on_both!(
    payments_are_audited_in_the_applicants_centre_and_its_queue_is_not_hidden,
    a_holder_of_centre_three_renews_in_centre_three,
    an_operator_whose_certificate_is_held_or_revoked_is_refused,
    a_revoked_centre_neither_approves_nor_issues,
    a_centre_whose_ca_the_root_revoked_takes_no_money_and_no_applications
);

struct Ten {
    ra: Registration,
    store: Store,
    deployment: Deployment,
    data: std::path::PathBuf,
    dir: tempfile::TempDir,
    _keep: Keep,
}

fn config() -> RaConfig {
    RaConfig::new(vec![(date!(2020 - 01 - 01), BCV_TIYIN)], PEPPER.to_vec(), "http://127.0.0.1:8080")
        .with_payme_key(Some("configured-key".into()))
        .with_start_limits(1000, 1000)
}

/// The embedded default's authorised body on `db`: root, rc1…rc10, operator N of each.
async fn ten(db: Db) -> Option<Ten> {
    let (store, keep) = store(db).await?;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let settings =
        bootstrap::Settings { public_url: Some("http://127.0.0.1:8080".into()), policy_oid: None, algorithm: Default::default() };
    let deployment = bootstrap::ensure(&store, &data, &settings).await.unwrap();
    let ra = Registration::new(store.clone(), deployment.centre.clone(), config())
        .with_centres(deployment.authority.centres.clone());
    Some(Ten { ra, store, deployment, data, dir, _keep: keep })
}

/// Operator `n`'s key and certificate chain, from the .pfx the deployment made.
fn operator(t: &Ten, n: i64) -> pfxfile::PfxKey {
    let pfx = t.data.join("operators").join(format!("operator{n}.pfx"));
    let password = std::fs::read_to_string(t.data.join("operators").join(format!("operator{n}.password"))).unwrap();
    pfxfile::open(&pfx, password.trim()).unwrap()
}

fn sign_as(key: &pfxfile::PfxKey, json: &serde_json::Value) -> Vec<u8> {
    let options = imzo_pki::cms::SignOptions { detached: false, signing_time: OffsetDateTime::now_utc() };
    imzo_pki::cms::sign(&serde_json::to_vec(json).unwrap(), &key.key, &key.chain, &options).unwrap()
}

async fn queue_as(t: &Ten, key: &pfxfile::PfxKey) -> Result<Vec<String>, imzo_ra::RaError> {
    let ch = t.ra.operator_challenge().await.unwrap();
    let doc = serde_json::json!({ "challenge_id": ch.id, "challenge_base64": ch.challenge_base64, "action": "queue" });
    Ok(t.ra.operator_queue(&sign_as(key, &doc)).await?.into_iter().map(|a| a.view.number).collect())
}

async fn approve_as(t: &Ten, key: &pfxfile::PfxKey, number: &str) -> Result<imzo_ra::ApplicationView, imzo_ra::RaError> {
    let ch = t.ra.operator_challenge().await.unwrap();
    let doc = serde_json::json!({
        "challenge_id": ch.id, "challenge_base64": ch.challenge_base64, "application": number, "decision": "approve"
    });
    t.ra.operator_decide(&sign_as(key, &doc)).await
}

/// An application to centre `centre`, submitted and paid through Payme (`txn`).
async fn paid(t: &Ten, centre: Option<i64>, phone: &str, who: &str, txn: &str) -> (String, Applicant) {
    let mut request = individual(phone);
    request.centre = centre;
    let started = t.ra.start(request).await.unwrap();
    let code = last_code(&t.ra, &imzo_ra::validate::phone(phone).unwrap()).await;
    t.ra.verify_phone(&started.draft_id, &code).await.unwrap();
    let applicant = Applicant::new(t.dir.path(), who);
    let (passport, selfie) = documents();
    let s = t.ra.submit(&started.draft_id, &applicant.csr_der(), passport, selfie).await.unwrap();
    t.ra.create(txn, 1_700_000_000_000, s.fee_tiyin, &s.number).await.unwrap();
    t.ra.perform(txn).await.unwrap();
    assert_eq!(state_of(&t.store, &s.number).await, "paid");
    (s.number, applicant)
}

/// (centre, action) of every audit row about `subject`, oldest first.
async fn audit_of(store: &Store, subject: &str) -> Vec<(Option<String>, String)> {
    sqlx::query("SELECT centre_id, action FROM audit_log WHERE subject = $1 ORDER BY id")
        .bind(subject)
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get(0).unwrap(), r.try_get(1).unwrap()))
        .collect()
}

async fn payments_are_audited_in_the_applicants_centre_and_its_queue_is_not_hidden(db: Db) {
    let Some(t) = ten(db).await else { return };
    // Two older paid applications of centre 1, then one of centre 3.
    let (first, _) = paid(&t, None, "+998 90 700 00 01", "one", "a305e3bab097f420a62ced01").await;
    let (second, _) = paid(&t, Some(1), "+998 90 700 00 02", "two", "a305e3bab097f420a62ced02").await;
    let (third, _) = paid(&t, Some(3), "+998 90 700 00 03", "three", "a305e3bab097f420a62ced03").await;

    // Payme reached the default handle, yet every row is in the application's own chain.
    let rows = audit_of(&t.store, &third).await;
    assert!(rows.iter().any(|(_, a)| a == "payment.created"), "{rows:?}");
    assert!(rows.iter().any(|(_, a)| a == "application.paid"), "{rows:?}");
    assert!(rows.iter().all(|(c, _)| c.as_deref() == Some("rc3")), "{rows:?}");
    assert!(audit_of(&t.store, &first).await.iter().all(|(c, _)| c.as_deref() == Some("rc1")));
    // Every audit chain still verifies.
    let report = imzo_store::audit::verify(&t.store).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    // Centre 3's handle with a queue of one: its own application, not centre 1's older ones.
    let rc3 = t.deployment.authority.centres.iter().find(|c| c.centre_id == "rc3").unwrap().clone();
    let ra3 = Registration::new(t.store.clone(), rc3, config()).with_centres(t.deployment.authority.centres.clone());
    let queue: Vec<String> = ra3.review_queue(1).await.unwrap().into_iter().map(|a| a.view.number).collect();
    assert_eq!(queue, std::slice::from_ref(&third));
    let queue: Vec<String> = t.ra.review_queue(1).await.unwrap().into_iter().map(|a| a.view.number).collect();
    assert_eq!(queue, std::slice::from_ref(&first));
    // The operators' queues: each sees their own centre's only.
    assert_eq!(queue_as(&t, &operator(&t, 3)).await.unwrap(), std::slice::from_ref(&third));
    assert_eq!(queue_as(&t, &operator(&t, 1)).await.unwrap(), [first.clone(), second.clone()]);
    assert!(queue_as(&t, &operator(&t, 2)).await.unwrap().is_empty());
    // Nor can operator 2 decide centre 3's application: as good as absent.
    assert_eq!(approve_as(&t, &operator(&t, 2), &third).await.unwrap_err().code, "no_application");
    assert_eq!(state_of(&t.store, &third).await, "paid");
}

async fn a_holder_of_centre_three_renews_in_centre_three(db: Db) {
    let Some(t) = ten(db).await else { return };
    let (number, holder) = paid(&t, Some(3), "+998 91 700 00 03", "holder", "b305e3bab097f420a62ced01").await;
    approve_as(&t, &operator(&t, 3), &number).await.unwrap();
    let ch = t.ra.new_challenge(&number).await.unwrap();
    let issued = t.ra.confirm(&number, &ch.id, &holder.prove(&ch.challenge_base64)).await.unwrap();
    let rc3 = cert::to_pem(&t.deployment.authority.centres[2].certificate).unwrap();
    let issuer = |pem: &str| -> String {
        let c: Certificate = imzo_pki::pem::read_certificates(pem.as_bytes()).unwrap().remove(0);
        cert::info(&c).unwrap().issuer
    };
    let rc3_subject = cert::info(&t.deployment.authority.centres[2].certificate).unwrap().subject;
    assert_eq!(issuer(&issued.certificate_pem), rc3_subject);
    assert!(issued.chain_pem.contains(rc3.trim()), "the chain names rc3");

    let renewed = Applicant::new(t.dir.path(), "renewed");
    let ch = t.ra.renewal_challenge().await.unwrap();
    let document = serde_json::to_vec(&serde_json::json!({
        "challenge_id": ch.id, "challenge_base64": ch.challenge_base64,
        "csr_base64": base64::engine::general_purpose::STANDARD.encode(renewed.csr_der()),
    }))
    .unwrap();
    let signed = holder.sign_as_holder(&document, &issued.certificate_pem, &issued.chain_pem);
    // The default handle is centre 1's; the renewal goes to the holder's centre 3.
    let renewal = t.ra.renew(&signed).await.unwrap();
    let row = imzo_store::applications::by_number(t.store.pool(), &renewal.number).await.unwrap().unwrap();
    assert_eq!(row.centre_id, "rc3");
    let rows = audit_of(&t.store, &renewal.number).await;
    assert_eq!(rows.first().map(|(c, a)| (c.as_deref(), a.as_str())), Some((Some("rc3"), "application.renewal_submitted")));
    let sms: Vec<String> = sqlx::query("SELECT centre_id FROM sms_outbox WHERE text LIKE $1")
        .bind(format!("%{}%", renewal.number))
        .fetch_all(t.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(0).unwrap())
        .collect();
    assert!(!sms.is_empty() && sms.iter().all(|c| c == "rc3"), "{sms:?}");

    // Paid, approved by the system, confirmed with the new key: rc3 issues again.
    t.ra.create("b305e3bab097f420a62ced02", 1_700_000_000_000, renewal.fee_tiyin, &renewal.number).await.unwrap();
    t.ra.perform("b305e3bab097f420a62ced02").await.unwrap();
    assert_eq!(t.ra.run_due_jobs().await.unwrap(), 1);
    let ch = t.ra.new_challenge(&renewal.number).await.unwrap();
    let again = t.ra.confirm(&renewal.number, &ch.id, &renewed.prove(&ch.challenge_base64)).await.unwrap();
    assert_eq!(issuer(&again.certificate_pem), rc3_subject);
    let recorded = imzo_store::certificates::by_serial(t.store.pool(), &again.serial).await.unwrap().unwrap();
    assert_eq!(recorded.ca_id, "rc3");
    // OpenSSL agrees: the new certificate chains to rc3 and the root.
    let leaf = t.dir.path().join("renewed.pem");
    let chain = t.dir.path().join("renewed-chain.pem");
    std::fs::write(&leaf, &again.certificate_pem).unwrap();
    std::fs::write(&chain, &again.chain_pem).unwrap();
    let (ok, text) = common::openssl(&["verify", "-CAfile", chain.to_str().unwrap(), leaf.to_str().unwrap()]);
    assert!(ok, "{text}");
    let report = imzo_store::audit::verify(&t.store).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

async fn an_operator_whose_certificate_is_held_or_revoked_is_refused(db: Db) {
    let Some(t) = ten(db).await else { return };
    let (number, _) = paid(&t, Some(4), "+998 93 700 00 04", "four", "c305e3bab097f420a62ced01").await;
    let op4 = operator(&t, 4);
    let serial = cert::info(&op4.chain[0]).unwrap().serial_hex;
    assert_eq!(queue_as(&t, &op4).await.unwrap(), std::slice::from_ref(&number));

    // On hold: neither the console nor a decision.
    imzo_ca::root::change(&t.store, &serial, RevocationAction::Hold, None).await.unwrap();
    let e = queue_as(&t, &op4).await.unwrap_err();
    assert_eq!(e.code, "not_operator");
    assert!(e.message.en.contains("revoked or on hold"), "{}", e.message.en);
    assert_eq!(approve_as(&t, &op4, &number).await.unwrap_err().code, "not_operator");
    assert_eq!(state_of(&t.store, &number).await, "paid");
    // Released: acts again.
    imzo_ca::root::change(&t.store, &serial, RevocationAction::Release, None).await.unwrap();
    assert_eq!(queue_as(&t, &op4).await.unwrap(), std::slice::from_ref(&number));
    // Revoked for good.
    imzo_ca::root::change(&t.store, &serial, RevocationAction::Revoke, Some(imzo_pki::crl::RevocationReason::KeyCompromise))
        .await
        .unwrap();
    assert_eq!(approve_as(&t, &op4, &number).await.unwrap_err().code, "not_operator");
    assert_eq!(state_of(&t.store, &number).await, "paid");
    // Another centre's operator is not affected.
    assert!(queue_as(&t, &operator(&t, 5)).await.unwrap().is_empty());
}

async fn a_revoked_centre_neither_approves_nor_issues(db: Db) {
    let Some(t) = ten(db).await else { return };
    let (approved, holder) = paid(&t, Some(4), "+998 91 700 00 41", "approved", "c405e3bab097f420a62ced01").await;
    let (waiting, _) = paid(&t, Some(4), "+998 91 700 00 42", "waiting", "c405e3bab097f420a62ced02").await;
    approve_as(&t, &operator(&t, 4), &approved).await.unwrap();

    imzo_ca::ceremony::centre_revoke(&t.store, &t.data, "rc4", imzo_pki::crl::RevocationReason::CessationOfOperation)
        .await
        .unwrap();
    let again = imzo_ca::ceremony::centre_revoke(&t.store, &t.data, "rc4", imzo_pki::crl::RevocationReason::KeyCompromise).await;
    assert!(again.unwrap_err().to_string().contains("already revoked (cessationOfOperation)"));

    // The pending approval and the pending issuance are both refused, naming why.
    let e = approve_as(&t, &operator(&t, 4), &waiting).await.unwrap_err();
    assert_eq!(e.code, "centre_revoked", "{e:?}");
    assert!(e.message.ru.contains("отозван"), "{e:?}");
    let ch = t.ra.new_challenge(&approved).await.unwrap();
    let e = t.ra.confirm(&approved, &ch.id, &holder.prove(&ch.challenge_base64)).await.unwrap_err();
    assert_eq!(e.code, "centre_revoked", "{e:?}");
    assert_eq!(state_of(&t.store, &approved).await, "approved");
    let issued: i64 = sqlx::query("SELECT COUNT(*) FROM certificates WHERE ca_id = 'rc4'")
        .fetch_one(t.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(issued, 0, "rc4 issued nothing after its registration ended");
}

async fn a_centre_whose_ca_the_root_revoked_takes_no_money_and_no_applications(db: Db) {
    let Some(t) = ten(db).await else { return };
    // An application at centre 5 awaiting payment, and one at centre 1 (the default).
    let mut request = individual("+998 91 700 00 51");
    request.centre = Some(5);
    let started = t.ra.start(request).await.unwrap();
    let code = last_code(&t.ra, &imzo_ra::validate::phone("+998 91 700 00 51").unwrap()).await;
    t.ra.verify_phone(&started.draft_id, &code).await.unwrap();
    let applicant = Applicant::new(t.dir.path(), "rc5");
    let (passport, selfie) = documents();
    let submitted = t.ra.submit(&started.draft_id, &applicant.csr_der(), passport, selfie).await.unwrap();

    // The root revokes rc5's CA certificate (not the registration): no payment is taken.
    let rc5 = cert::info(&t.deployment.authority.centres[4].certificate).unwrap().serial_hex;
    imzo_ca::root::change(&t.store, &rc5, RevocationAction::Revoke, Some(imzo_pki::crl::RevocationReason::KeyCompromise))
        .await
        .unwrap();
    assert!(t.ra.check_perform(&submitted.number, submitted.fee_tiyin).await.is_err(), "Payme's check refuses");
    assert!(t.ra.create("c505e3bab097f420a62ced01", 1_700_000_000_000, submitted.fee_tiyin, &submitted.number).await.is_err());
    assert_eq!(state_of(&t.store, &submitted.number).await, "awaiting_payment");

    // The default centre revoked: a start without a centre is refused too, naming why.
    imzo_ca::ceremony::centre_revoke(&t.store, &t.data, "rc1", imzo_pki::crl::RevocationReason::CessationOfOperation)
        .await
        .unwrap();
    let e = t.ra.start(individual("+998 91 700 00 52")).await.unwrap_err();
    assert_eq!(e.code, "centre_revoked", "{e:?}");
    let mut request = individual("+998 91 700 00 53");
    request.centre = Some(2);
    t.ra.start(request).await.unwrap();
}
