//! Defects a hostile tester found, on both databases: start limits per address and per
//! PINFL, mobile-only phones, plausible birth dates, company fields for individuals,
//! uniform answers for unknown numbers, one certificate per key, and the audited Payme
//! key change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Applicant, Db, Env, documents, env, individual, last_code, operator_sign, submitted};
use imzo_gateways::payme::{self, Ledger, basic_auth_header};
use imzo_ra::{ErrorKind, RaConfig, Registration, validate::pinfl_check_digit};
use imzo_store::Row;
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
    starts_are_limited_per_address_and_per_pinfl,
    implausible_people_and_phones_are_refused_before_anything_is_stored,
    unknown_numbers_look_like_any_other,
    a_certified_key_is_never_certified_again,
    payme_key_change_is_checked_and_audited
);

/// The same centre with the default limits (the shared test setup raises them).
fn with_defaults(env: &Env) -> Registration {
    let config = RaConfig::new(vec![(date!(2020 - 01 - 01), common::BCV_TIYIN)], common::PEPPER.to_vec(), "http://127.0.0.1:8080")
        .with_payme_key(Some("configured-key".into()));
    Registration::new(env.store.clone(), env.ra.ca().clone(), config)
}

/// A valid PINFL: sex/century digit, birth date DDMMYY, a six-digit serial, check digit.
fn pinfl(first: u8, ddmmyy: &str, serial: u32) -> String {
    let body = format!("{first}{ddmmyy}{serial:06}");
    let mut digits = [0u8; 13];
    for (d, b) in digits.iter_mut().zip(body.bytes()) {
        *d = b - b'0';
    }
    format!("{body}{}", pinfl_check_digit(&digits))
}

fn person(pinfl: &str, birth_date: &str, phone: &str) -> imzo_ra::StartRequest {
    let mut r = individual(phone);
    r.pinfl = pinfl.to_string();
    r.birth_date = birth_date.to_string();
    r
}

async fn count(env: &Env, sql: &'static str) -> i64 {
    sqlx::query(sql).fetch_one(env.store.pool()).await.unwrap().try_get::<i64, _>(0).unwrap()
}

async fn starts_are_limited_per_address_and_per_pinfl(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = with_defaults(&env);
    // Five starts a day for one PINFL, from any address and phone.
    for i in 0..5 {
        ra.start_from(individual(&format!("+998 90 700 00 0{i}")), &format!("10.0.0.{i}")).await.unwrap();
    }
    let e = ra.start_from(individual("+998 90 700 00 09"), "10.0.1.1").await.unwrap_err();
    assert_eq!((e.kind, e.code, e.field.as_deref()), (ErrorKind::TooMany, "too_many_starts", Some("pinfl")));
    let wait = e.retry_after_secs().unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
    assert!(e.message.ru.contains("ПИНФЛ") && e.message.uz.contains("JShShIR"), "{:?}", e.message);
    // The library's own start (no address known) is held to the PINFL limit too.
    assert_eq!(ra.start(individual("+998 90 700 00 08")).await.unwrap_err().code, "too_many_starts");
    // Ten starts an hour from one address, whatever the PINFL; another address goes on.
    for i in 0..10 {
        let p = pinfl(3, "150390", 100 + i);
        ra.start_from(person(&p, "1990-03-15", &format!("+998 91 700 00 {i:02}")), "192.0.2.7").await.unwrap();
    }
    let p = pinfl(3, "150390", 200);
    let e = ra.start_from(person(&p, "1990-03-15", "+998 91 700 00 99"), "192.0.2.7").await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::TooMany, "too_many_starts"));
    assert!((1..=3600).contains(&e.retry_after_secs().unwrap()));
    ra.start_from(person(&p, "1990-03-15", "+998 91 700 00 99"), "192.0.2.8").await.unwrap();
    // Counters hold no PINFL in clear.
    let buckets: Vec<String> = sqlx::query("SELECT bucket FROM rate_limits")
        .fetch_all(env.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect();
    assert!(buckets.iter().all(|b| !b.contains("32808810170066") && !b.contains(&p)), "{buckets:?}");
    // 5 + 10 + 1 started; every refused start stored nothing and sent no SMS.
    assert_eq!(count(&env, "SELECT COUNT(*) FROM applications").await, 16);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM sms_outbox").await, 16);
}

async fn implausible_people_and_phones_are_refused_before_anything_is_stored(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let cases = [
        // The tester's numbers: an unassigned code and the Tashkent landline.
        (individual("+998 00 000 00 00"), "phone", "not_mobile_phone"),
        (individual("+998 71 123 45 67"), "phone", "not_mobile_phone"),
        // Born 2030-01-01 (future), 2020-01-01 (age 6), 1880-01-01 (over 120).
        (person(&pinfl(5, "010130", 1), "2030-01-01", "+998 90 123 45 67"), "birth_date", "birth_date_in_future"),
        (person(&pinfl(5, "010120", 1), "2020-01-01", "+998 90 123 45 67"), "birth_date", "too_young"),
        (person(&pinfl(1, "010180", 1), "1880-01-01", "+998 90 123 45 67"), "birth_date", "implausible_birth_date"),
    ];
    for (request, field, code) in cases {
        let e = ra.start(request).await.unwrap_err();
        assert_eq!((e.kind, e.field.as_deref(), e.code), (ErrorKind::BadInput, Some(field), code), "{e}");
    }
    // An individual with company fields: refused, naming the field, not silently dropped.
    type Change = Box<dyn Fn(&mut imzo_ra::StartRequest)>;
    let changes: [(&str, Change); 3] = [
        ("company_inn", Box::new(|r| r.company_inn = Some("xx".into()))),
        ("company_name", Box::new(|r| r.company_name = Some("Aziya Savdo".into()))),
        ("title", Box::new(|r| r.title = Some("Direktor".into()))),
    ];
    for (field, set) in changes {
        let mut r = individual("+998 90 123 45 67");
        set(&mut r);
        let e = ra.start(r).await.unwrap_err();
        assert_eq!((e.field.as_deref(), e.code), (Some(field), "not_for_individual"));
        assert!(e.message.en.contains("legal_entity"), "{}", e.message.en);
    }
    // Blank company fields are as good as absent.
    let mut r = individual("+998 90 123 45 67");
    r.company_inn = Some("  ".into());
    ra.start(r).await.unwrap();
    assert_eq!(count(&env, "SELECT COUNT(*) FROM applications").await, 1);
}

async fn unknown_numbers_look_like_any_other(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let (number, _, applicant) = submitted(&env, "+998 93 700 00 01", "known").await;
    // A well-formed number nobody has: a challenge all the same.
    let unknown = (0..1000u64)
        .map(|i| {
            let body = format!("{:011}", 12_345_678_900 + i);
            (0..10).map(|d| format!("{body}{d}")).find(|n| imzo_ra::number::is_valid_number(n)).unwrap()
        })
        .find(|n| *n != number)
        .unwrap();
    let stranger = Applicant::new(env.dir.path(), "stranger");
    let on_known = ra.new_challenge(&number).await.unwrap();
    let on_unknown = ra.new_challenge(&unknown).await.unwrap();
    let wrong_key = ra.view_with_proof(&number, &on_known.id, &stranger.prove(&on_known.challenge_base64)).await.unwrap_err();
    let no_such = ra.view_with_proof(&unknown, &on_unknown.id, &applicant.prove(&on_unknown.challenge_base64)).await.unwrap_err();
    assert_eq!(
        (wrong_key.kind, wrong_key.code, &wrong_key.field, &wrong_key.message, wrong_key.detail()),
        (no_such.kind, no_such.code, &no_such.field, &no_such.message, no_such.detail())
    );
    assert_eq!(wrong_key.code, "bad_proof");
    // The three languages say the same, with no verifier's words that would tell the two apart.
    assert!(wrong_key.message.ru.contains("номер") && wrong_key.message.uz.contains("raqam"));
    assert_eq!(wrong_key.detail(), None);
    // Both challenges are used up.
    let again = ra.confirm(&unknown, &on_unknown.id, &applicant.prove(&on_unknown.challenge_base64)).await.unwrap_err();
    assert_eq!(again.code, "challenge_invalid");
    assert_eq!(ra.new_challenge("12345").await.unwrap_err().field.as_deref(), Some("number"));

    // The download: one 404 whatever the state or existence.
    for n in [number.as_str(), unknown.as_str(), "not-a-number"] {
        let e = ra.certificate(n).await.unwrap_err();
        assert_eq!((e.kind, e.code), (ErrorKind::NotFound, "no_certificate"), "{n}");
        assert!(!e.message.en.contains("awaiting"), "{}", e.message.en);
    }
}

async fn pay_and_approve(env: &Env, number: &str, fee: i64, txn: &str) {
    env.ra.create(txn, imzo_store::time_ms::now_ms(), fee, number).await.unwrap();
    env.ra.perform(txn).await.unwrap();
    let ch = env.ra.operator_challenge().await.unwrap();
    let doc = serde_json::json!({
        "challenge_id": ch.id, "challenge_base64": ch.challenge_base64, "application": number, "decision": "approve"
    });
    env.ra.operator_decide(&operator_sign(env, &doc)).await.unwrap();
}

async fn a_certified_key_is_never_certified_again(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let (number, fee, holder) = submitted(&env, "+998 94 700 00 01", "holder").await;
    // A second application with the same key, before the first is issued: refused at
    // submission, naming the field and the application that holds the key.
    let twin_draft = ra.start(individual("+998 94 700 00 02")).await.unwrap();
    ra.verify_phone(&twin_draft.draft_id, &last_code(ra, "998947000002").await).await.unwrap();
    let (passport, selfie) = documents();
    let e = ra.submit(&twin_draft.draft_id, &holder.csr_der(), passport.clone(), selfie.clone()).await.unwrap_err();
    assert_eq!((e.kind, e.code, e.field.as_deref()), (ErrorKind::BadInput, "key_in_other_application", Some("csr")));
    assert!(e.message.en.contains(&number) && e.message.uz.contains(&number), "{:?}", e.message);
    // A twin from before that check existed: submitted with its own key, then carrying
    // the holder's key as such rows do.
    let twin_key = Applicant::new(env.dir.path(), "twin");
    let twin = ra.submit(&twin_draft.draft_id, &twin_key.csr_der(), passport, selfie).await.unwrap();
    let holder_key = imzo_pki::csr::parse_and_verify(&holder.csr_der()).unwrap().public_key_der;
    sqlx::query("UPDATE applications SET public_key_der = $1 WHERE number = $2")
        .bind(holder_key)
        .bind(&twin.number)
        .execute(env.store.pool())
        .await
        .unwrap();

    pay_and_approve(&env, &number, fee, "f405e3bab097f420a62ced01").await;
    let ch = ra.new_challenge(&number).await.unwrap();
    ra.confirm(&number, &ch.id, &holder.prove(&ch.challenge_base64)).await.unwrap();

    // Submitting the certified key again is refused, naming the request.
    let again = ra.start(individual("+998 94 700 00 03")).await.unwrap();
    ra.verify_phone(&again.draft_id, &last_code(ra, "998947000003").await).await.unwrap();
    let (passport, selfie) = documents();
    let e = ra.submit(&again.draft_id, &holder.csr_der(), passport.clone(), selfie.clone()).await.unwrap_err();
    assert_eq!((e.kind, e.code, e.field.as_deref()), (ErrorKind::BadInput, "key_already_certified", Some("csr")));
    // The operator's own key, in a request made with our PKI code.
    let subject = imzo_pki::name::Subject { common_name: "Operator One".into(), ..Default::default() };
    let operator_csr = imzo_pki::csr::build(env.operator_key.as_ref(), &subject).unwrap();
    let e = ra.submit(&again.draft_id, &operator_csr, passport.clone(), selfie.clone()).await.unwrap_err();
    assert_eq!(e.code, "key_already_certified");
    // A fresh key goes through.
    let fresh = Applicant::new(env.dir.path(), "fresh");
    ra.submit(&again.draft_id, &fresh.csr_der(), passport, selfie).await.unwrap();

    // The twin, paid and approved, cannot be confirmed with the key now certified.
    pay_and_approve(&env, &twin.number, twin.fee_tiyin, "f405e3bab097f420a62ced02").await;
    let ch = ra.new_challenge(&twin.number).await.unwrap();
    let e = ra.confirm(&twin.number, &ch.id, &holder.prove(&ch.challenge_base64)).await.unwrap_err();
    assert_eq!(e.code, "key_already_certified");
    assert_eq!(common::state_of(&env.store, &twin.number).await, "approved");

    // Certificates recorded before the key column existed are found all the same.
    sqlx::query("UPDATE certificates SET spki_sha256 = NULL").execute(env.store.pool()).await.unwrap();
    let late = ra.start(individual("+998 94 700 00 04")).await.unwrap();
    ra.verify_phone(&late.draft_id, &last_code(ra, "998947000004").await).await.unwrap();
    let (passport, selfie) = documents();
    let e = ra.submit(&late.draft_id, &holder.csr_der(), passport, selfie).await.unwrap_err();
    assert_eq!(e.code, "key_already_certified");
}

async fn payme_key_change_is_checked_and_audited(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let call = |key: &'static str, password: &'static str| {
        let body = serde_json::to_vec(&serde_json::json!({
            "id": 1, "method": "ChangePassword", "params": {"password": password}
        }))
        .unwrap();
        async move { payme::handle(ra, Some(&basic_auth_header(key)), &body).await }
    };
    let weak = call("configured-key", "x").await;
    assert_eq!(weak["error"]["code"], -32600, "{weak}");
    assert_eq!(ra.merchant_key().await.unwrap().as_deref(), Some("configured-key"));
    // The Ledger itself refuses a weak key too (defence in depth).
    assert!(ra.set_merchant_key("short").await.is_err());

    const NEW: &str = "Payme-set-key_0123456789";
    let ok = call("configured-key", NEW).await;
    assert_eq!(ok["result"]["success"], true, "{ok}");
    assert_eq!(ra.merchant_key().await.unwrap().as_deref(), Some(NEW), "stored: the sandbox uses it");
    let rows = sqlx::query("SELECT actor, details FROM audit_log WHERE action = 'payme.key_changed'")
        .fetch_all(env.store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one audit row, for the accepted change only");
    let details: String = rows[0].try_get("details").unwrap();
    assert!(!details.contains(NEW) && !details.contains("configured-key"), "{details}");
    assert_eq!(rows[0].try_get::<String, _>("actor").unwrap(), "payme");
    assert!(imzo_store::audit::verify(&env.store).await.unwrap().is_intact());
}
