//! The scrape-time counts behind `/metrics`, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Db, store};
use imzo_store::metrics::{self, Count, OcspCache};
use imzo_store::{Store, applications, outbox};

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

on_both!(counts_group_by_owner_and_state);

fn count(owner: &str, kind: &str, n: i64) -> Count {
    Count { owner: owner.to_owned(), kind: kind.to_owned(), n }
}

async fn centre(s: &Store, id: &str) {
    let mut tx = s.begin().await.unwrap();
    sqlx::query("INSERT INTO cas (id, kind, name, cert_der, key_ref, created_at_ms) VALUES ($1, 'centre', 'c', $2, 'k', 0)")
        .bind(id)
        .bind(vec![0x30u8, 0])
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("INSERT INTO centres (id, name, ca_id, created_at_ms) VALUES ($1, 'c', $2, 0)")
        .bind(id)
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn application(s: &Store, centre_id: &str, draft: &str, state: &str) {
    let mut tx = s.begin().await.unwrap();
    applications::insert_draft(
        &mut tx,
        &applications::NewDraft {
            centre_id,
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
}

async fn certificate(s: &Store, serial: &str, ca_id: &str, status: &str) {
    sqlx::query(
        "INSERT INTO certificates (serial, ca_id, subject, not_before_ms, not_after_ms, cert_der, status, created_at_ms) \
         VALUES ($1, $2, 'CN=x', 0, 1, $3, $4, 0)",
    )
    .bind(serial)
    .bind(ca_id)
    .bind(vec![0x30u8, 0])
    .bind(status)
    .execute(s.pool())
    .await
    .unwrap();
}

async fn counts_group_by_owner_and_state(db: Db) {
    let Some((s, _keep)) = store(db).await else { return };
    assert!(metrics::applications_by_state(s.pool()).await.unwrap().is_empty());
    centre(&s, "rc1").await;
    centre(&s, "rc2").await;
    application(&s, "rc1", "d1", "draft").await;
    application(&s, "rc1", "d2", "draft").await;
    application(&s, "rc1", "d3", "paid").await;
    application(&s, "rc2", "d4", "draft").await;
    assert_eq!(
        metrics::applications_by_state(s.pool()).await.unwrap(),
        [count("rc1", "draft", 2), count("rc1", "paid", 1), count("rc2", "draft", 1)]
    );

    let mut tx = s.begin().await.unwrap();
    for (centre_id, key) in [("rc1", "a"), ("rc1", "b"), ("rc2", "c")] {
        let sms = outbox::NewSms { centre_id, phone: "998901234567", text: "t", kind: "code", dedupe_key: key };
        outbox::enqueue(&mut tx, &sms).await.unwrap().unwrap();
    }
    tx.commit().await.unwrap();
    let first = outbox::after(s.pool(), 0, 1).await.unwrap().remove(0);
    outbox::mark_sent(s.pool(), first.id, false).await.unwrap();
    assert_eq!(
        metrics::sms_by_status(s.pool()).await.unwrap(),
        [count("rc1", "queued", 1), count("rc1", "sent", 1), count("rc2", "queued", 1)]
    );

    certificate(&s, "01", "rc1", "good").await;
    certificate(&s, "02", "rc1", "revoked").await;
    certificate(&s, "03", "rc1", "good").await;
    assert_eq!(metrics::certificates_by_status(s.pool()).await.unwrap(), [count("rc1", "good", 2), count("rc1", "revoked", 1)]);

    assert!(metrics::ocsp_cache(s.pool()).await.unwrap().is_empty());
    for (serial, this_update) in [("01", 5_000i64), ("03", 2_000)] {
        sqlx::query(
            "INSERT INTO ocsp_responses (serial, hash, ca_id, der, this_update_ms, next_update_ms) VALUES ($1, 'sha1', 'rc1', $2, $3, $4)",
        )
        .bind(serial)
        .bind(vec![0x30u8, 0])
        .bind(this_update)
        .bind(this_update + 1000)
        .execute(s.pool())
        .await
        .unwrap();
    }
    assert_eq!(
        metrics::ocsp_cache(s.pool()).await.unwrap(),
        [OcspCache { ca_id: "rc1".to_owned(), responses: 2, oldest_this_update_ms: 2_000 }]
    );
}
