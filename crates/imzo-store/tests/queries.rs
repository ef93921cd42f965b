//! The workflow's query modules on both backends: the guards that keep states, codes,
//! challenges and payments consistent are checked directly, races included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Db, store};
use imzo_store::{
    Store, StoreError, applications, challenges, documents, jobs, otp, outbox, payments, settings, time_ms::now_ms,
};
use proptest::prelude::*;

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
    guarded_transitions,
    documents_are_never_overwritten,
    codes_count_tries_and_die,
    outbox_dedupes_and_claims_once,
    challenges_are_used_once,
    one_active_payment_per_application,
    settings_and_jobs,
);

/// A centre and one application in `state`; returns the application id.
async fn application(s: &Store, draft: &str, state: &str) -> i64 {
    let mut tx = s.begin().await.unwrap();
    let ca_exists =
        sqlx::query("SELECT id FROM cas WHERE id = 'rc1'").fetch_optional(&mut *tx).await.unwrap().is_some();
    if !ca_exists {
        sqlx::query("INSERT INTO cas (id, kind, name, cert_der, key_ref, created_at_ms) VALUES ('rc1', 'centre', 'c', $1, 'k', 0)")
            .bind(vec![0x30u8, 0])
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("INSERT INTO centres (id, name, ca_id, created_at_ms) VALUES ('rc1', 'c', 'rc1', 0)")
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let id = applications::insert_draft(
        &mut tx,
        &applications::NewDraft {
            centre_id: "rc1",
            draft_id: draft,
            state,
            applicant_type: "individual",
            pinfl: "32808810170066",
            surname: "Gʻulomov",
            given_name: "Alisher",
            patronymic: None,
            birth_date: "1981-08-28",
            region: "Toshkent",
            district: None,
            passport: "AA1234567",
            phone: "998901234567",
            company_inn: None,
            company_name: None,
            title: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn guarded_transitions(db: Db) {
    let Some((s, _keep)) = store(db).await else { return };
    let id = application(&s, "d1", "started").await;
    let mut tx = s.begin().await.unwrap();
    applications::transition(&mut tx, id, "started", "phone_verified").await.unwrap();
    // The same move again finds the row in another state: a conflict, not a silent no-op.
    let e = applications::transition(&mut tx, id, "started", "phone_verified").await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let sub = applications::Submission {
        number: "000000000000",
        csr_der: &[0x30, 0],
        public_key_der: &[0x30, 1],
        fee_tiyin: 1_890_000,
        bcv_tiyin: 27_000_000,
        pay_before_ms: 5,
    };
    applications::submit(&mut tx, id, "phone_verified", "awaiting_payment", &sub).await.unwrap();
    tx.commit().await.unwrap();
    let row = applications::by_number(s.pool(), "000000000000").await.unwrap().unwrap();
    assert_eq!(
        (row.state.as_str(), row.fee_tiyin, row.public_key_der.as_deref()),
        ("awaiting_payment", Some(1_890_000), Some(&[0x30u8, 1][..]))
    );
    assert_eq!(applications::by_draft(s.pool(), "d1").await.unwrap().unwrap().id, id);
    assert_eq!(applications::past_deadline(&s, "awaiting_payment", 6, 10).await.unwrap(), vec![id]);
    assert!(applications::past_deadline(&s, "awaiting_payment", 5, 10).await.unwrap().is_empty());

    // Two racing transactions: exactly one moves the application.
    let (a, b) = tokio::join!(cancel(&s, id), cancel(&s, id));
    assert_eq!([a, b].iter().filter(|ok| **ok).count(), 1);
    assert_eq!(applications::by_id(s.pool(), id).await.unwrap().unwrap().state, "cancelled");
}

async fn cancel(s: &Store, id: i64) -> bool {
    let mut tx = s.begin().await.unwrap();
    match applications::transition(&mut tx, id, "awaiting_payment", "cancelled").await {
        Ok(()) => {
            tx.commit().await.unwrap();
            true
        }
        Err(StoreError::Conflict(_)) => false,
        Err(e) => panic!("{e}"),
    }
}

async fn documents_are_never_overwritten(db: Db) {
    let Some((s, _keep)) = store(db).await else { return };
    let id = application(&s, "d1", "phone_verified").await;
    let mut tx = s.begin().await.unwrap();
    documents::put(&mut tx, "abc", "application/pdf", b"%PDF-first").await.unwrap();
    documents::put(&mut tx, "abc", "image/png", b"second").await.unwrap();
    documents::link(&mut tx, id, "passport", "abc", Some("p.pdf")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        documents::get(s.pool(), "abc").await.unwrap(),
        Some(("application/pdf".into(), b"%PDF-first".to_vec()))
    );
    let refs = documents::for_application(s.pool(), id).await.unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!((refs[0].kind.as_str(), refs[0].size, refs[0].file_name.as_deref()), ("passport", 10, Some("p.pdf")));
    assert_eq!(documents::get(s.pool(), "missing").await.unwrap(), None);
}

async fn codes_count_tries_and_die(db: Db) {
    let Some((s, _keep)) = store(db).await else { return };
    let mut tx = s.begin().await.unwrap();
    let first = otp::insert(&mut tx, "d1", "998901234567", "h1", now_ms() + 1000).await.unwrap();
    let second = otp::insert(&mut tx, "d1", "998901234567", "h2", now_ms() + 1000).await.unwrap();
    tx.commit().await.unwrap();
    // A new code retires the old one.
    let mut tx = s.begin().await.unwrap();
    assert!(!otp::mark_used(&mut tx, first).await.unwrap());
    for _ in 0..3 {
        assert!(otp::count_wrong_try(&mut tx, second, 3).await.unwrap());
    }
    assert!(!otp::count_wrong_try(&mut tx, second, 3).await.unwrap());
    tx.commit().await.unwrap();
    let latest = otp::latest(s.pool(), "d1").await.unwrap().unwrap();
    assert_eq!((latest.id, latest.attempts, latest.code_hash.as_str()), (second, 3, "h2"));
    assert_eq!(otp::sent_since(s.pool(), "998901234567", 0).await.unwrap(), 2);
    assert_eq!(otp::sent_since(s.pool(), "998901234567", now_ms() + 10).await.unwrap(), 0);
}

async fn outbox_dedupes_and_claims_once(db: Db) {
    let Some((s, _keep)) = store(db).await else { return };
    let sms = outbox::NewSms {
        centre_id: "rc1",
        phone: "998901234567",
        text: "kod 123456",
        kind: "code",
        dedupe_key: "code:1",
    };
    let mut tx = s.begin().await.unwrap();
    let id = outbox::enqueue(&mut tx, &sms).await.unwrap().unwrap();
    assert_eq!(outbox::enqueue(&mut tx, &sms).await.unwrap(), None);
    tx.commit().await.unwrap();
    let now = now_ms();
    assert_eq!(outbox::due(s.pool(), now, 10).await.unwrap().len(), 1);
    let (a, b) =
        tokio::join!(outbox::claim(s.pool(), id, now, now + 30_000), outbox::claim(s.pool(), id, now, now + 30_000));
    assert!(a.unwrap() ^ b.unwrap(), "exactly one node claims a message");
    outbox::mark_sent(s.pool(), id, true).await.unwrap();
    let rows = outbox::after(s.pool(), 0, 10).await.unwrap();
    assert_eq!((rows[0].status.as_str(), rows[0].text.as_str(), rows[0].attempts), ("sent", "[redacted]", 1));
    assert!(outbox::after(s.pool(), id, 10).await.unwrap().is_empty());
}

async fn challenges_are_used_once(db: Db) {
    let Some((s, _keep)) = store(db).await else { return };
    let now = now_ms();
    challenges::insert(s.pool(), "c1", "pop", Some("000000000000"), b"bytes", now + 60_000).await.unwrap();
    challenges::insert(s.pool(), "c2", "pop", None, b"old", now - 1).await.unwrap();
    let row = challenges::get(s.pool(), "c1").await.unwrap().unwrap();
    assert_eq!((row.challenge.as_slice(), row.subject.as_deref()), (&b"bytes"[..], Some("000000000000")));
    let mut tx = s.begin().await.unwrap();
    assert!(!challenges::consume(&mut tx, "c1", "operator", now).await.unwrap(), "wrong purpose");
    assert!(challenges::consume(&mut tx, "c1", "pop", now).await.unwrap());
    assert!(!challenges::consume(&mut tx, "c1", "pop", now).await.unwrap(), "second use");
    assert!(!challenges::consume(&mut tx, "c2", "pop", now).await.unwrap(), "expired");
    tx.commit().await.unwrap();
    challenges::insert_captcha(s.pool(), "k1", "hash", now + 60_000).await.unwrap();
    assert_eq!(challenges::consume_captcha(s.pool(), "k1", now).await.unwrap().as_deref(), Some("hash"));
    assert_eq!(challenges::consume_captcha(s.pool(), "k1", now).await.unwrap(), None);
    assert_eq!(challenges::purge_expired(s.pool(), now).await.unwrap(), 1);
}

async fn one_active_payment_per_application(db: Db) {
    let Some((s, _keep)) = store(db).await else { return };
    let app = application(&s, "d1", "awaiting_payment").await;
    let new = |txn: &'static str| payments::NewPayment {
        application_id: app,
        provider: "payme",
        provider_txn_id: txn,
        amount_tiyin: 100,
        state: 1,
        provider_time_ms: 7,
        create_time_ms: 8,
    };
    let mut tx = s.begin().await.unwrap();
    let first = payments::insert(&mut tx, &new("t1")).await.unwrap().unwrap();
    assert_eq!(payments::insert(&mut tx, &new("t1")).await.unwrap(), None, "same provider id");
    assert_eq!(payments::insert(&mut tx, &new("t2")).await.unwrap(), None, "second active payment");
    assert!(payments::cancel(&mut tx, first, 1, -1, 3, 9).await.unwrap());
    assert!(!payments::perform(&mut tx, first, 10).await.unwrap(), "cancelled cannot be performed");
    let second = payments::insert(&mut tx, &new("t2")).await.unwrap().unwrap();
    assert!(payments::perform(&mut tx, second, 10).await.unwrap());
    assert!(!payments::perform(&mut tx, second, 11).await.unwrap());
    tx.commit().await.unwrap();
    let row = payments::by_provider_txn(s.pool(), "payme", "t2").await.unwrap().unwrap();
    assert_eq!((row.state, row.perform_time_ms, row.create_time_ms), (2, 10, 8));
    assert_eq!(payments::active_for_application(s.pool(), app).await.unwrap().unwrap().id, second);
    let old = payments::by_provider_txn(s.pool(), "payme", "t1").await.unwrap().unwrap();
    assert_eq!((old.state, old.cancel_reason, old.cancel_time_ms), (-1, Some(3), 9));
    assert_eq!(payments::in_range(s.pool(), "payme", 7, 7).await.unwrap().len(), 2);
    assert!(payments::in_range(s.pool(), "click", 0, 100).await.unwrap().is_empty());
}

async fn settings_and_jobs(db: Db) {
    let Some((s, _keep)) = store(db).await else { return };
    assert_eq!(settings::get(s.pool(), "payme.key").await.unwrap(), None);
    settings::set(s.pool(), "payme.key", "a").await.unwrap();
    settings::set(s.pool(), "payme.key", "b").await.unwrap();
    assert_eq!(settings::get(s.pool(), "payme.key").await.unwrap().as_deref(), Some("b"));

    let now = now_ms();
    let id = jobs::enqueue(s.pool(), "crl", now - 1, "{}").await.unwrap();
    jobs::enqueue(s.pool(), "later", now + 60_000, "{}").await.unwrap();
    let (a, b) = tokio::join!(jobs::claim_due(s.pool(), now, now + 1000), jobs::claim_due(s.pool(), now, now + 1000));
    let claimed: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(claimed.len(), 1, "one node runs a due job");
    assert_eq!((claimed[0].id, claimed[0].kind.as_str(), claimed[0].attempts), (id, "crl", 1));
    jobs::fail(s.pool(), id, "boom", now).await.unwrap();
    let again = jobs::claim_due(s.pool(), now, now + 1000).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (id, 2));
    jobs::complete(s.pool(), id, now).await.unwrap();
    assert_eq!(jobs::claim_due(s.pool(), now + 5000, now + 6000).await.unwrap(), None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
    /// Random sequences of guarded moves on SQLite: the stored state is always the one the
    /// successful moves lead to, and a failed move changes nothing.
    #[test]
    fn guarded_moves_follow_the_successful_ones(moves in proptest::collection::vec((0usize..4, 0usize..4), 1..12)) {
        const STATES: [&str; 4] = ["started", "phone_verified", "awaiting_payment", "paid"];
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (s, _keep) = store(Db::Sqlite).await.unwrap();
            let id = application(&s, "d1", "started").await;
            let mut expected = "started";
            for (from, to) in moves {
                let mut tx = s.begin().await.unwrap();
                let result = applications::transition(&mut tx, id, STATES[from], STATES[to]).await;
                tx.commit().await.unwrap();
                if STATES[from] == expected {
                    assert!(result.is_ok());
                    expected = STATES[to];
                } else {
                    assert!(matches!(result, Err(StoreError::Conflict(_))));
                }
                assert_eq!(applications::by_id(s.pool(), id).await.unwrap().unwrap().state, expected);
            }
        });
    }
}
