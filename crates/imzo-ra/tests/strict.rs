//! Issue 3's strict rules on both databases: the durable SMS queue with a real gateway,
//! deadlines driven by an injected clock, listed rejection reasons naming the operator,
//! and the hash-chained audit log's tamper detection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::{Db, Env, env, individual, operator_sign, state_of, submitted};
use imzo_gateways::payme::Ledger;
use imzo_gateways::sms::{Gateway, PlayMobile, PlayMobileConfig};
use imzo_ra::{Clock, RaConfig, Registration};
use imzo_store::{Row, audit, outbox};
use std::sync::{Arc, Mutex};
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
    sms_queue_retries_delivers_once_and_redacts,
    deadlines_follow_the_clock_and_tell_the_applicant,
    rejections_use_listed_reasons_and_name_the_operator,
    audit_chain_finds_altered_removed_and_reordered_entries,
    lookups_are_limited_per_address_and_show_only_the_status,
    renewal_signed_with_the_current_key_pays_and_is_approved_without_review
);

/// The same centre with another gateway and clock.
fn with(env: &Env, gateway: Gateway, clock: Clock) -> Registration {
    let config = RaConfig::new(vec![(date!(2020 - 01 - 01), common::BCV_TIYIN)], common::PEPPER.to_vec(), "http://127.0.0.1:8080")
        .with_payme_key(Some("configured-key".into()))
        .with_sms_gateway(gateway)
        .with_clock(clock);
    Registration::new(env.store.clone(), env.ra.ca().clone(), config)
}

async fn count(env: &Env, sql: &'static str) -> i64 {
    sqlx::query(sql).fetch_one(env.store.pool()).await.unwrap().try_get::<i64, _>(0).unwrap()
}

/// A Play Mobile broker that fails the first `fail_first` requests with 503, refuses
/// recipient 998990000000 with a 400, and records what it accepted.
#[derive(Default)]
struct Broker {
    fail_first: usize,
    requests: usize,
    accepted: Vec<serde_json::Value>,
}

async fn broker(State(b): State<Arc<Mutex<Broker>>>, Json(body): Json<serde_json::Value>) -> (StatusCode, Json<serde_json::Value>) {
    let mut b = b.lock().unwrap();
    b.requests += 1;
    if b.requests <= b.fail_first {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({})));
    }
    if body["messages"][0]["recipient"] == "998990000000" {
        return (StatusCode::BAD_REQUEST, Json(serde_json::json!({"error-code": 104, "error-description": "Blacklisted"})));
    }
    b.accepted.push(body);
    (StatusCode::OK, Json(serde_json::json!({})))
}

async fn sms_queue_retries_delivers_once_and_redacts(db: Db) {
    let Some(env) = env(db).await else { return };
    let side = Arc::new(Mutex::new(Broker { fail_first: 2, ..Broker::default() }));
    let app = axum::Router::new().route("/broker-api/send", post(broker)).with_state(side.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let gateway = PlayMobile::new(PlayMobileConfig {
        base_url: base,
        login: "imzo".into(),
        password: zeroize::Zeroizing::new("pm".into()),
        originator: "3700".into(),
    })
    .unwrap();
    let clock = Clock::system();
    let ra = with(&env, Gateway::PlayMobile(gateway), clock.clone());

    let started = ra.start(individual("+998 90 555 00 01")).await.unwrap();
    let id: i64 = count(&env, "SELECT MAX(id) FROM sms_outbox").await;
    // The broker is down: the attempt is recorded and retried after a back-off, not before.
    assert_eq!(ra.deliver_sms().await.unwrap(), 0);
    let s = outbox::status(env.store.pool(), id).await.unwrap().unwrap();
    assert_eq!((s.status.as_str(), s.attempts), ("queued", 1));
    assert!(s.last_error.as_deref().unwrap().contains("503"), "{:?}", s.last_error);
    assert_eq!(ra.deliver_sms().await.unwrap(), 0);
    assert_eq!(side.lock().unwrap().requests, 1, "not due yet: no second request");
    clock.advance(Duration::from_secs(31));
    assert_eq!(ra.deliver_sms().await.unwrap(), 0);
    clock.advance(Duration::from_secs(61));
    // Two nodes at once: one delivers, the other finds it claimed.
    let other = ra.clone();
    let (a, b) = tokio::join!(ra.deliver_sms(), other.deliver_sms());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(ra.deliver_sms().await.unwrap(), 0, "never sent twice");
    let accepted = side.lock().unwrap().accepted.clone();
    assert_eq!(accepted.len(), 1);
    let message = &accepted[0]["messages"][0];
    assert_eq!(message["recipient"], "998905550001");
    assert_eq!(message["message-id"], format!("imzo-rc1-{id}"));
    let text = message["sms"]["content"]["text"].as_str().unwrap().to_string();
    let s = outbox::status(env.store.pool(), id).await.unwrap().unwrap();
    assert_eq!((s.status.as_str(), s.attempts, s.gateway.as_deref()), ("sent", 3, Some("playmobile")));
    assert_eq!(s.gateway_message_id.as_deref(), Some(format!("imzo-rc1-{id}").as_str()));
    // Delivered through a real gateway: the code is gone from the database.
    let stored: String = sqlx::query("SELECT text FROM sms_outbox WHERE id = $1")
        .bind(id)
        .fetch_one(env.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(stored, "[redacted]");
    // The code the broker carried is the one that verifies the phone.
    let code: String = text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_string();
    ra.verify_phone(&started.draft_id, &code).await.unwrap();

    // A refusal is final: failed after one attempt, nothing accepted.
    ra.start(individual("+998 99 000 00 00")).await.unwrap();
    let refused: i64 = count(&env, "SELECT MAX(id) FROM sms_outbox").await;
    assert_eq!(ra.deliver_sms().await.unwrap(), 0);
    let s = outbox::status(env.store.pool(), refused).await.unwrap().unwrap();
    assert_eq!((s.status.as_str(), s.attempts), ("failed", 1));
    assert!(s.last_error.unwrap().contains("Blacklisted"));
    assert_eq!(side.lock().unwrap().accepted.len(), 1);

    // The local outbox (default) marks delivery but keeps the text for people to read.
    env.ra.start(individual("+998 90 555 00 02")).await.unwrap();
    let local: i64 = count(&env, "SELECT MAX(id) FROM sms_outbox").await;
    assert_eq!(env.ra.deliver_sms().await.unwrap(), 1);
    let s = outbox::status(env.store.pool(), local).await.unwrap().unwrap();
    assert_eq!((s.status.as_str(), s.gateway.as_deref()), ("sent", Some("outbox")));
    assert!(env.ra.outbox(local - 1).await.unwrap()[0].text.contains("kodi"));
}

async fn pay(ra: &Registration, txn: &str, number: &str, fee: i64) {
    ra.create(txn, 1_700_000_000_000, fee, number).await.unwrap();
    ra.perform(txn).await.unwrap();
}

async fn decide(env: &Env, ra: &Registration, number: &str, decision: serde_json::Value) -> Result<imzo_ra::ApplicationView, imzo_ra::RaError> {
    let ch = ra.operator_challenge().await.unwrap();
    let mut doc = serde_json::json!({
        "challenge_id": ch.id, "challenge_base64": ch.challenge_base64, "application": number
    });
    for (k, v) in decision.as_object().unwrap() {
        doc[k] = v.clone();
    }
    ra.operator_decide(&operator_sign(env, &doc)).await
}

async fn deadlines_follow_the_clock_and_tell_the_applicant(db: Db) {
    let Some(env) = env(db).await else { return };
    let clock = Clock::system();
    let ra = with(&env, Gateway::default(), clock.clone());
    let (approved, fee, _) = submitted(&env, "+998 91 200 00 01", "approved").await;
    pay(&ra, "a305e3bab097f420a62ced0b", &approved, fee).await;
    decide(&env, &ra, &approved, serde_json::json!({"decision": "approve"})).await.unwrap();
    let (unpaid, _, _) = submitted(&env, "+998 91 200 00 02", "unpaid").await;

    assert_eq!(ra.run_due_jobs().await.unwrap(), 0);
    clock.advance(Duration::from_secs(7 * 3600 + 3500));
    assert_eq!(ra.run_due_jobs().await.unwrap(), 0, "still inside the 8 hours");
    clock.advance(Duration::from_secs(200));
    assert_eq!(ra.run_due_jobs().await.unwrap(), 1);
    assert_eq!(state_of(&env.store, &unpaid).await, "cancelled");
    assert_eq!(state_of(&env.store, &approved).await, "approved");

    clock.advance(Duration::from_secs(29 * 24 * 3600));
    assert_eq!(ra.run_due_jobs().await.unwrap(), 0, "29 days: not yet");
    clock.advance(Duration::from_secs(24 * 3600));
    // A restarted node (a new service on the same database) finds the same work once.
    let restarted = with(&env, Gateway::default(), clock.clone());
    let (a, b) = tokio::join!(ra.run_due_jobs(), restarted.run_due_jobs());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(state_of(&env.store, &approved).await, "expired");
    assert_eq!(restarted.run_due_jobs().await.unwrap(), 0);

    let sms = ra.outbox(0).await.unwrap();
    let to = |phone: &str, words: &str| sms.iter().filter(|m| m.phone == phone && m.text.contains(words)).count();
    assert_eq!(to("998912000002", &format!("{unpaid} belgilangan muddatda (8 soat) to'lanmagani")), 1);
    assert_eq!(to("998912000001", &format!("{approved} 30 kun ichida tasdiqlanmagani")), 1);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM audit_log WHERE action = 'application.expired' AND actor = 'system'").await, 1);
}

async fn rejections_use_listed_reasons_and_name_the_operator(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let (number, fee, _) = submitted(&env, "+998 91 300 00 01", "rejected").await;
    pay(ra, "b305e3bab097f420a62ced0b", &number, fee).await;
    let before = (count(&env, "SELECT COUNT(*) FROM sms_outbox").await, count(&env, "SELECT COUNT(*) FROM audit_log").await);

    // Bad decisions change nothing.
    let e = decide(&env, ra, &number, serde_json::json!({"decision": "reject", "code": "looks_odd", "reason": "x"}))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), ("unknown_rejection_code", Some("code")));
    assert!(e.message.en.contains("documents_unreadable"), "{}", e.message.en);
    let e = decide(&env, ra, &number, serde_json::json!({"decision": "reject", "code": "other", "reason": "  "}))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.field.as_deref()), ("invalid_reason", Some("reason")));
    let after = (count(&env, "SELECT COUNT(*) FROM sms_outbox").await, count(&env, "SELECT COUNT(*) FROM audit_log").await);
    assert_eq!(before, after);
    assert_eq!(state_of(&env.store, &number).await, "paid");

    let view = decide(
        &env,
        ra,
        &number,
        serde_json::json!({"decision": "reject", "code": "documents_unreadable", "reason": "Pasportning 2-sahifasi xira"}),
    )
    .await
    .unwrap();
    assert_eq!((view.state.as_str(), view.rejection_reason.as_deref()), ("rejected", Some("Pasportning 2-sahifasi xira")));
    let row = imzo_store::applications::by_number(env.store.pool(), &number).await.unwrap().unwrap();
    assert_eq!(imzo_store::applications::rejection_code(env.store.pool(), row.id).await.unwrap().as_deref(), Some("documents_unreadable"));
    let sms = ra.outbox(0).await.unwrap();
    let text = &sms.iter().find(|m| m.phone == "998913000001" && m.text.contains("rad etildi")).unwrap().text;
    assert!(text.contains("Hujjat surati o'qib bo'lmaydigan") && text.contains("2-sahifasi xira"), "{text}");
    let audit_row = sqlx::query("SELECT actor, details FROM audit_log WHERE action = 'application.rejected'")
        .fetch_one(env.store.pool())
        .await
        .unwrap();
    let actor: String = audit_row.try_get(0).unwrap();
    let details: serde_json::Value = serde_json::from_str(&audit_row.try_get::<String, _>(1).unwrap()).unwrap();
    assert!(actor.starts_with("operator:"));
    assert_eq!((details["operator"].as_str(), details["code"].as_str()), (Some("Operator One"), Some("documents_unreadable")));
    let reasons = imzo_ra::reasons::rejection_reasons();
    assert!(reasons.iter().all(|r| !r.text.uz.is_empty() && !r.text.ru.is_empty() && !r.text.en.is_empty()));
}

async fn audit_chain_finds_altered_removed_and_reordered_entries(db: Db) {
    let Some(env) = env(db).await else { return };
    // Two applicants writing at once still make one unbroken chain.
    let (a, b) = tokio::join!(
        env.ra.start(individual("+998 91 400 00 01")),
        env.ra.start(individual("+998 91 400 00 02"))
    );
    a.unwrap();
    b.unwrap();
    submitted(&env, "+998 91 400 00 03", "chained").await;
    let report = audit::verify(&env.store).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    let total = count(&env, "SELECT COUNT(*) FROM audit_log").await;
    assert!(total >= 5);
    assert_eq!(report.chains, vec![("rc1".to_string(), total)]);

    // The database refuses changes outright.
    assert!(sqlx::query("UPDATE audit_log SET actor = 'x'").execute(env.store.pool()).await.is_err());
    assert!(sqlx::query("DELETE FROM audit_log").execute(env.store.pool()).await.is_err());
    // Someone with the owner's rights removes the guard and edits a row: found and named.
    let unguard = match db {
        Db::Sqlite => vec!["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
        Db::Postgres => vec!["DROP TRIGGER audit_log_no_change ON audit_log"],
    };
    for sql in unguard {
        sqlx::query(sql).execute(env.store.pool()).await.unwrap();
    }
    let victim: i64 = count(&env, "SELECT id FROM audit_log WHERE seq = 2").await;
    let original: String = sqlx::query("SELECT details FROM audit_log WHERE id = $1")
        .bind(victim)
        .fetch_one(env.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    sqlx::query("UPDATE audit_log SET details = '{\"forged\":true}' WHERE id = $1").bind(victim).execute(env.store.pool()).await.unwrap();
    let report = audit::verify(&env.store).await.unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].id, Some(victim));
    assert!(report.problems[0].to_string().contains("altered"), "{}", report.problems[0]);
    sqlx::query("UPDATE audit_log SET details = $1 WHERE id = $2").bind(&original).bind(victim).execute(env.store.pool()).await.unwrap();
    assert!(audit::verify(&env.store).await.unwrap().is_intact());

    // Reordered: entries #3 and #4 swap places.
    let third: i64 = count(&env, "SELECT id FROM audit_log WHERE seq = 3").await;
    let fourth: i64 = count(&env, "SELECT id FROM audit_log WHERE seq = 4").await;
    for (id, seq) in [(third, -1), (fourth, 3), (third, 4)] {
        sqlx::query("UPDATE audit_log SET seq = $1 WHERE id = $2").bind(seq).bind(id).execute(env.store.pool()).await.unwrap();
    }
    let report = audit::verify(&env.store).await.unwrap();
    assert!(report.problems.iter().any(|p| p.id == Some(fourth) && p.what.contains("link")), "{:?}", report.problems);
    for (id, seq) in [(third, -1), (fourth, 4), (third, 3)] {
        sqlx::query("UPDATE audit_log SET seq = $1 WHERE id = $2").bind(seq).bind(id).execute(env.store.pool()).await.unwrap();
    }
    assert!(audit::verify(&env.store).await.unwrap().is_intact());

    // Removed: entry #3 disappears; the next one is named.
    sqlx::query("DELETE FROM audit_log WHERE id = $1").bind(third).execute(env.store.pool()).await.unwrap();
    let report = audit::verify(&env.store).await.unwrap();
    assert!(report.problems.iter().any(|p| p.id == Some(fourth) && p.what.contains("removed")), "{:?}", report.problems);
    // Removed at the end: the head knows how long the chain was.
    sqlx::query("DELETE FROM audit_log WHERE seq >= 3").execute(env.store.pool()).await.unwrap();
    let report = audit::verify(&env.store).await.unwrap();
    assert!(report.problems.iter().any(|p| p.id.is_none() && p.what.contains("last entries")), "{:?}", report.problems);
}

async fn lookups_are_limited_per_address_and_show_only_the_status(db: Db) {
    let Some(env) = env(db).await else { return };
    let clock = Clock::system();
    let config = RaConfig::new(vec![(date!(2020 - 01 - 01), common::BCV_TIYIN)], common::PEPPER.to_vec(), "http://x")
        .with_clock(clock.clone())
        .with_lookups_per_minute(3)
        .with_trusted_proxies(vec!["10.0.0.2".parse().unwrap()]);
    let ra = Registration::new(env.store.clone(), env.ra.ca().clone(), config);
    let (number, fee, _) = submitted(&env, "+998 91 500 00 01", "looked_up").await;

    // The status, and nothing personal.
    let captcha = common::planted_captcha(&env.store, "40417").await;
    let seen = ra.lookup_status(&number, &captcha, "40417", "192.0.2.7").await.unwrap();
    assert_eq!((seen.number.as_str(), seen.state.as_str(), seen.fee_tiyin), (number.as_str(), "awaiting_payment", fee));
    let json = serde_json::to_value(&seen).unwrap();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "{json}");
    let text = json.to_string().to_lowercase();
    assert!(!text.contains("ulomov") && !text.contains("32808810170066") && !text.contains("998915000001"), "{text}");

    // Three per minute per address; wrong answers count too; the captcha is not used up
    // by a refused lookup; other addresses are not affected.
    for _ in 0..2 {
        let c = common::planted_captcha(&env.store, "11111").await;
        assert_eq!(ra.lookup_status(&number, &c, "22222", "192.0.2.7").await.unwrap_err().code, "captcha_wrong");
    }
    let kept = common::planted_captcha(&env.store, "33333").await;
    let e = ra.lookup_status(&number, &kept, "33333", "192.0.2.7").await.unwrap_err();
    assert_eq!((e.kind, e.code), (imzo_ra::ErrorKind::TooMany, "too_many_lookups"));
    assert_eq!(ra.lookup_status(&number, &kept, "33333", "192.0.2.8").await.unwrap().state, "awaiting_payment");
    // A new minute: allowed again.
    clock.advance(Duration::from_secs(61));
    let c = common::planted_captcha(&env.store, "44444").await;
    ra.lookup_status(&number, &c, "44444", "192.0.2.7").await.unwrap();
    assert!(count(&env, "SELECT COUNT(*) FROM rate_limits").await >= 2);

    // X-Real-IP counts only from the trusted proxy.
    let peer = |a: &str| Some(a.parse().unwrap());
    assert_eq!(ra.client_address(peer("10.0.0.2"), Some("198.51.100.9")), "198.51.100.9");
    assert_eq!(ra.client_address(peer("10.0.0.2"), Some("garbage")), "10.0.0.2");
    assert_eq!(ra.client_address(peer("192.0.2.7"), Some("198.51.100.9")), "192.0.2.7");
    assert_eq!(ra.client_address(None, Some("198.51.100.9")), "unknown");
}

async fn renewal_signed_with_the_current_key_pays_and_is_approved_without_review(db: Db) {
    use base64::Engine;
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let (number, fee, holder) = submitted(&env, "+998 91 600 00 01", "holder").await;
    pay(ra, "d305e3bab097f420a62ced0b", &number, fee).await;
    decide(&env, ra, &number, serde_json::json!({"decision": "approve"})).await.unwrap();
    let ch = ra.new_challenge(&number).await.unwrap();
    let issued = ra.confirm(&number, &ch.id, &holder.prove(&ch.challenge_base64)).await.unwrap();

    let renewed_key = common::Applicant::new(env.dir.path(), "renewed");
    let csr_base64 = base64::engine::general_purpose::STANDARD.encode(renewed_key.csr_der());
    let document = |ch: &imzo_ra::Challenge, csr: &str| {
        serde_json::to_vec(&serde_json::json!({
            "challenge_id": ch.id, "challenge_base64": ch.challenge_base64, "csr_base64": csr
        }))
        .unwrap()
    };
    let applications = || count(&env, "SELECT COUNT(*) FROM applications");
    let before = applications().await;

    // Refused, storing nothing: the current key in the request; a signer who is not a holder.
    let ch = ra.renewal_challenge().await.unwrap();
    let same = base64::engine::general_purpose::STANDARD.encode(holder.csr_der());
    let signed = holder.sign_as_holder(&document(&ch, &same), &issued.certificate_pem, &issued.chain_pem);
    assert_eq!(ra.renew(&signed).await.unwrap_err().code, "same_key");
    let stranger = common::Applicant::new(env.dir.path(), "stranger");
    let self_signed = std::fs::read_to_string(env.dir.path().join("stranger").join("self.pem")).unwrap();
    let signed = stranger.sign_as_holder(&document(&ch, &csr_base64), &self_signed, &issued.chain_pem);
    assert_eq!(ra.renew(&signed).await.unwrap_err().code, "not_a_valid_holder");
    assert_eq!(applications().await, before);

    let ch = ra.renewal_challenge().await.unwrap();
    let signed = holder.sign_as_holder(&document(&ch, &csr_base64), &issued.certificate_pem, &issued.chain_pem);
    let renewal = ra.renew(&signed).await.unwrap();
    assert_eq!(renewal.fee_tiyin, fee, "a renewal still pays");
    assert_eq!(ra.renew(&signed).await.unwrap_err().code, "challenge_invalid", "one renewal per challenge");
    assert_eq!(state_of(&env.store, &renewal.number).await, "awaiting_payment");
    assert_eq!(ra.run_due_jobs().await.unwrap(), 0, "unpaid: nothing to approve");
    pay(ra, "e305e3bab097f420a62ced0b", &renewal.number, fee).await;
    assert_eq!(ra.run_due_jobs().await.unwrap(), 1);
    assert_eq!(state_of(&env.store, &renewal.number).await, "approved");
    let ch = ra.new_challenge(&renewal.number).await.unwrap();
    let new_cert = ra.confirm(&renewal.number, &ch.id, &renewed_key.prove(&ch.challenge_base64)).await.unwrap();
    assert_ne!(new_cert.serial, issued.serial);
    let old = imzo_store::certificates::by_serial(env.store.pool(), &issued.serial).await.unwrap().unwrap();
    let new = imzo_store::certificates::by_serial(env.store.pool(), &new_cert.serial).await.unwrap().unwrap();
    assert_eq!((new.pinfl.as_deref(), new.subject.as_str()), (old.pinfl.as_deref(), old.subject.as_str()));
    let renewal_row = imzo_store::applications::by_number(env.store.pool(), &renewal.number).await.unwrap().unwrap();
    assert!(imzo_store::documents::for_application(env.store.pool(), renewal_row.id).await.unwrap().is_empty());
    let actors: Vec<String> = sqlx::query("SELECT actor FROM audit_log WHERE subject = $1 ORDER BY id")
        .bind(&renewal.number)
        .fetch_all(env.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect();
    assert_eq!(actors.first().map(String::as_str), Some(format!("holder:{}", issued.serial).as_str()));
    assert!(actors.iter().any(|a| a == "system"), "{actors:?}");
    assert!(audit::verify(&env.store).await.unwrap().is_intact());
}
