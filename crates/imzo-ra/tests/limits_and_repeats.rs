//! Defects of the hostile test's round 7, on both databases: the per-PINFL day limit
//! outliving the clean-up job and following the Tashkent day, a repeated confirmation
//! answered with the issued certificate, and challenges and captchas limited per client
//! address and pruned once expired.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Db, Env, env, individual, operator_sign, submitted};
use imzo_gateways::payme::Ledger;
use imzo_ra::{Clock, ErrorKind, RaConfig, Registration};
use imzo_store::Row;
use std::time::Duration;
use time::macros::date;

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
    pinfl_day_limit_outlives_the_clean_up_job_and_follows_tashkent,
    repeated_confirmation_returns_the_issued_certificate,
    challenges_and_captchas_are_limited_per_client_and_pruned
);

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The same centre with the default limits, judged by `clock`.
fn with_defaults(env: &Env, clock: Clock) -> Registration {
    let config = RaConfig::new(vec![(date!(2020 - 01 - 01), common::BCV_TIYIN)], common::PEPPER.to_vec(), "http://127.0.0.1:8080")
        .with_payme_key(Some("configured-key".into()))
        .with_clock(clock);
    Registration::new(env.store.clone(), env.ra.ca().clone(), config)
}

async fn count(env: &Env, sql: &'static str) -> i64 {
    sqlx::query(sql).fetch_one(env.store.pool()).await.unwrap().try_get::<i64, _>(0).unwrap()
}

async fn pinfl_day_limit_outlives_the_clean_up_job_and_follows_tashkent(db: Db) {
    let Some(env) = env(db).await else { return };
    // Move the clock to the next 04:00 in Tashkent (23:00 UTC): the UTC day turns in an
    // hour, Tashkent's in twenty.
    let clock = Clock::system();
    let since_midnight = (clock.now_ms() + 5 * HOUR_MS).rem_euclid(DAY_MS);
    let to_four = (4 * HOUR_MS - since_midnight).rem_euclid(DAY_MS);
    clock.advance(Duration::from_millis(u64::try_from(to_four).unwrap()));
    let ra = with_defaults(&env, clock.clone());
    for i in 0..5 {
        ra.start_from(individual(&format!("+998 90 710 00 0{i}")), &format!("10.7.0.{i}")).await.unwrap();
    }
    let sixth = || ra.start_from(individual("+998 90 710 00 09"), "10.7.1.1");
    let e = sixth().await.unwrap_err();
    assert_eq!((e.kind, e.code, e.field.as_deref()), (ErrorKind::TooMany, "too_many_starts", Some("pinfl")));
    // The day ends at the next Tashkent midnight, twenty hours away.
    let wait = e.retry_after_secs().unwrap();
    assert!((19 * 3600..=20 * 3600 + 60).contains(&wait), "{wait}");

    // Two hours later: 06:00 in Tashkent, already the next UTC day. The clean-up job ran
    // (it used to drop every window older than an hour); the limit still holds.
    clock.advance(Duration::from_secs(2 * 3600));
    ra.run_due_jobs().await.unwrap();
    let e = sixth().await.unwrap_err();
    assert_eq!((e.kind, e.code, e.field.as_deref()), (ErrorKind::TooMany, "too_many_starts", Some("pinfl")));
    assert!((17 * 3600..=18 * 3600 + 60).contains(&e.retry_after_secs().unwrap()));
    assert_eq!(count(&env, "SELECT COUNT(*) FROM applications").await, 5);

    // The next Tashkent day the PINFL may start again; the job then drops the old day
    // (an hour after it ended), not before.
    clock.advance(Duration::from_secs(18 * 3600 + 60));
    ra.start_from(individual("+998 90 710 00 09"), "10.7.1.1").await.unwrap();
    let windows = "SELECT COUNT(*) FROM rate_limits WHERE bucket LIKE 'start-pinfl:%'";
    ra.run_due_jobs().await.unwrap();
    assert_eq!(count(&env, windows).await, 2, "the finished day is kept an hour for inspection");
    clock.advance(Duration::from_secs(3600 + 60));
    ra.run_due_jobs().await.unwrap();
    assert_eq!(count(&env, windows).await, 1, "then dropped");
}

async fn repeated_confirmation_returns_the_issued_certificate(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let (number, fee, holder) = submitted(&env, "+998 94 720 00 01", "holder").await;
    ra.create("f407e3bab097f420a62ced01", imzo_store::time_ms::now_ms(), fee, &number).await.unwrap();
    ra.perform("f407e3bab097f420a62ced01").await.unwrap();
    let ch = ra.operator_challenge().await.unwrap();
    let doc = serde_json::json!({
        "challenge_id": ch.id, "challenge_base64": ch.challenge_base64, "application": number, "decision": "approve"
    });
    ra.operator_decide(&operator_sign(&env, &doc)).await.unwrap();
    let ch = ra.new_challenge(&number).await.unwrap();
    let first = ra.confirm(&number, &ch.id, &holder.prove(&ch.challenge_base64)).await.unwrap();

    // The answer was lost: the same key confirms again and gets the same certificate,
    // and nothing is issued twice.
    let ch = ra.new_challenge(&number).await.unwrap();
    let again = ra.confirm(&number, &ch.id, &holder.prove(&ch.challenge_base64)).await.unwrap();
    assert_eq!((again.serial.as_str(), again.certificate_pem.as_str()), (first.serial.as_str(), first.certificate_pem.as_str()));
    assert_eq!(again.chain_pem, first.chain_pem);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM certificates").await, 2, "the operator's and the holder's only");
    assert_eq!(count(&env, "SELECT COUNT(*) FROM audit_log WHERE action = 'certificate.issued'").await, 1);
    // The challenge was used; another key still proves nothing.
    assert_eq!(ra.confirm(&number, &ch.id, &holder.prove(&ch.challenge_base64)).await.unwrap_err().code, "challenge_invalid");
    let stranger = common::Applicant::new(env.dir.path(), "stranger");
    let ch = ra.new_challenge(&number).await.unwrap();
    let e = ra.confirm(&number, &ch.id, &stranger.prove(&ch.challenge_base64)).await.unwrap_err();
    assert_eq!(e.code, "bad_proof");
}

async fn challenges_and_captchas_are_limited_per_client_and_pruned(db: Db) {
    let Some(env) = env(db).await else { return };
    let config = RaConfig::new(vec![(date!(2020 - 01 - 01), common::BCV_TIYIN)], common::PEPPER.to_vec(), "http://127.0.0.1:8080")
        .with_challenges_per_minute(3);
    let ra = Registration::new(env.store.clone(), env.ra.ca().clone(), config);
    for kind in ["captcha", "pop"] {
        // The limit may straddle a minute boundary: count until it bites, at most twice over.
        let mut allowed = 0;
        let refusal = loop {
            match ra.limit_challenges(kind, "192.0.2.50").await {
                Ok(()) => allowed += 1,
                Err(e) => break e,
            }
            assert!(allowed <= 6, "{kind}: never limited");
        };
        assert!(allowed >= 3, "{kind}: {allowed}");
        assert_eq!((refusal.kind, refusal.code), (ErrorKind::TooMany, "too_many_challenges"));
        assert!((1..=60).contains(&refusal.retry_after_secs().unwrap()));
        // Another address is not held back.
        ra.limit_challenges(kind, "192.0.2.51").await.unwrap();
    }

    // Expired challenges and captchas are dropped by the next run of the job.
    ra.new_captcha().await.unwrap();
    ra.operator_challenge().await.unwrap();
    let past = imzo_store::time_ms::now_ms() - 1_000;
    imzo_store::challenges::insert(env.store.pool(), "old-challenge", "pop", Some("x"), b"x", past).await.unwrap();
    imzo_store::challenges::insert_captcha(env.store.pool(), "old-captcha", "x", past).await.unwrap();
    ra.run_due_jobs().await.unwrap();
    assert_eq!(count(&env, "SELECT COUNT(*) FROM challenges WHERE id = 'old-challenge'").await, 0);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM captchas WHERE id = 'old-captcha'").await, 0);
    // Live ones stay.
    assert_eq!(count(&env, "SELECT COUNT(*) FROM captchas").await, 1);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM challenges").await, 1);
}
