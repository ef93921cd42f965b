//! Revocation by a holder who lost the key (number or serial and captcha, then SMS code
//! and reason), on SQLite and PostgreSQL: the answers do not tell whether a number
//! exists, the code rules are the application's, and the revocation is audited and
//! reaches the CRL and OCSP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Db, Env, env, operator_sign, planted_captcha, submitted};
use imzo_ca::ocsp::{OcspPolicy, OcspResponder};
use imzo_gateways::payme::Ledger;
use imzo_pki::crl::RevocationReason;
use imzo_pki::ocsp::{self, CertIdHash, CertStatus};
use imzo_ra::ErrorKind;

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

on_both!(lost_key_revocation);

const PHONE: &str = "998901234567";

/// Runs an application through payment, approval and confirmation; returns (number, serial).
async fn issued(env: &Env) -> (String, String) {
    let (number, fee, applicant) = submitted(env, "+998 90 123-45-67", "holder").await;
    let ra = &env.ra;
    ra.create("5305e3bab097f420a62ced0b", 1_700_000_000_000, fee, &number).await.unwrap();
    ra.perform("5305e3bab097f420a62ced0b").await.unwrap();
    let ch = ra.operator_challenge().await.unwrap();
    let decision = serde_json::json!({
        "challenge_id": ch.id, "challenge_base64": ch.challenge_base64, "application": number, "decision": "approve"
    });
    ra.operator_decide(&operator_sign(env, &decision)).await.unwrap();
    let ch = ra.new_challenge(&number).await.unwrap();
    let issued = ra.confirm(&number, &ch.id, &applicant.prove(&ch.challenge_base64)).await.unwrap();
    (number, issued.serial)
}

/// Codes of the lost-key SMS sent to `PHONE` so far.
async fn lost_key_codes(env: &Env) -> Vec<String> {
    let messages = env.ra.outbox(0).await.unwrap();
    messages
        .iter()
        .filter(|m| m.phone == PHONE && m.text.contains("bekor qilish kodi"))
        .map(|m| m.text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_string())
        .collect()
}

async fn ocsp_status(env: &Env, serial: &str) -> CertStatus {
    let responder = OcspResponder::new(vec![env.ra.ca().clone()], OcspPolicy { memory_ttl: std::time::Duration::ZERO, ..OcspPolicy::default() })
        .unwrap();
    let request = ocsp::build_request(&env.centre, serial, CertIdHash::Sha1, None).unwrap();
    let answer = responder.respond(&env.store, &request).await;
    ocsp::check_response(&answer.der, &env.centre, serial).unwrap().status
}

async fn lost_key_revocation(db: Db) {
    let Some(env) = env(db).await else { return };
    let ra = &env.ra;
    let (number, serial) = issued(&env).await;
    assert_eq!(ocsp_status(&env, &serial).await, CertStatus::Good);
    let mut client = 0;
    let mut start = |input: String, answer: &'static str| {
        client += 1;
        let store = env.store.clone();
        let address = format!("192.0.2.{client}");
        async move {
            let captcha = planted_captcha(&store, "40417").await;
            ra.lost_key_start(&input, &captcha, answer, &address).await
        }
    };

    // Malformed input and a wrong captcha are refused as such.
    assert_eq!(start("not a number".into(), "40417").await.unwrap_err().code, "invalid_number");
    assert_eq!(start(number.clone(), "11111").await.unwrap_err().code, "captcha_wrong");

    // An unknown number (well-formed) and an unknown serial get the same answer as a
    // known number, and no SMS.
    let mut unknown_number = number.clone();
    let digits: Vec<u8> = unknown_number.bytes().collect();
    // Another valid number: change the first digit and recompute the check digit.
    let first = if digits[0] == b'9' { '1' } else { char::from(digits[0] + 1) };
    let body = format!("{first}{}", &unknown_number[1..11]);
    unknown_number = format!("{body}{}", imzo_ra::number::luhn_check_digit(&body).unwrap());
    assert!(imzo_ra::number::is_valid_number(&unknown_number));
    let unknown = start(unknown_number, "40417").await.unwrap();
    let unknown_serial = start("7f00112233".into(), "40417").await.unwrap();
    assert!(lost_key_codes(&env).await.is_empty(), "no SMS for unknown numbers");

    // By serial (leading zero byte and upper case tolerated): the code goes to the phone.
    let by_serial = start(format!("00{}", serial.to_uppercase()), "40417").await.unwrap();
    let as_json = |r: &imzo_ra::LostKeyRequested| {
        let mut v = serde_json::to_value(r).unwrap();
        let keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        v["request_id"] = serde_json::Value::Null;
        v["code_expires_at"] = serde_json::Value::Null;
        (keys, v)
    };
    assert_eq!(as_json(&by_serial), as_json(&unknown), "the answers must not differ");
    assert_eq!(as_json(&by_serial), as_json(&unknown_serial));
    let codes = lost_key_codes(&env).await;
    assert_eq!(codes.len(), 1);

    // Wrong codes count the same for known and unknown numbers.
    let wrong = if codes[0] == "000000" { "111111" } else { "000000" };
    for request in [&unknown.request_id, &by_serial.request_id] {
        let e = ra.lost_key_confirm(request, wrong, None).await.unwrap_err();
        assert_eq!((e.kind, e.code), (ErrorKind::Forbidden, "wrong_code"));
        assert!(e.message.en.contains("Tries left: 4"), "{}", e.message.en);
    }
    assert_eq!(ra.lost_key_confirm(&by_serial.request_id, "12ab56", None).await.unwrap_err().code, "invalid_code");
    assert_eq!(ra.lost_key_confirm(&by_serial.request_id, &codes[0], Some("whim")).await.unwrap_err().code, "invalid_reason");
    assert_eq!(
        ra.lost_key_confirm(&by_serial.request_id, &codes[0], Some("cACompromise")).await.unwrap_err().code,
        "reason_not_for_holder"
    );
    assert_eq!(ra.lost_key_confirm("no-such-request", &codes[0], None).await.unwrap_err().code, "request_invalid");
    // Resends: not within the minute; afterwards a new code that replaces the old one.
    assert_eq!(ra.lost_key_resend(&by_serial.request_id).await.unwrap_err().code, "resend_too_soon");
    assert_eq!(ra.lost_key_resend(&unknown.request_id).await.unwrap_err().code, "resend_too_soon");
    sqlx::query("UPDATE otp_codes SET created_at_ms = created_at_ms - 61000 WHERE draft_id = $1")
        .bind(format!("lost:{}", by_serial.request_id))
        .execute(env.store.pool())
        .await
        .unwrap();
    ra.lost_key_resend(&by_serial.request_id).await.unwrap();
    let codes = lost_key_codes(&env).await;
    assert_eq!(codes.len(), 2);
    if codes[0] != codes[1] {
        // The first code died with the resend.
        assert_eq!(ra.lost_key_confirm(&by_serial.request_id, &codes[0], None).await.unwrap_err().code, "wrong_code");
    }

    // The holder suspends by serial...
    let view = ra.lost_key_confirm(&by_serial.request_id, &codes[1], Some("certificateHold")).await.unwrap();
    assert_eq!((view.status.as_str(), view.by.as_str()), ("on_hold", "holder"));
    assert!(matches!(ocsp_status(&env, &serial).await, CertStatus::Revoked { reason: Some(RevocationReason::CertificateHold), .. }));
    // ... the request is used up ...
    assert_eq!(ra.lost_key_confirm(&by_serial.request_id, &codes[1], None).await.unwrap_err().code, "request_invalid");

    // ... and then revokes for good by application number (key compromise by default).
    let by_number = start(number.clone(), "40417").await.unwrap();
    let code = lost_key_codes(&env).await.pop().unwrap();
    let view = ra.lost_key_confirm(&by_number.request_id, &code, None).await.unwrap();
    assert_eq!((view.status.as_str(), view.reason.as_deref()), ("revoked", Some("keyCompromise")));
    assert!(matches!(ocsp_status(&env, &serial).await, CertStatus::Revoked { reason: Some(RevocationReason::KeyCompromise), .. }));
    let crl = imzo_ca::crl::current(&env.store, ra.ca(), &imzo_ca::crl::CrlPolicy { delay: std::time::Duration::ZERO, ..Default::default() })
        .await
        .unwrap();
    let info = imzo_pki::crl::verify(&crl, &env.centre).unwrap();
    assert_eq!(info.find(&serial).unwrap().reason, Some(RevocationReason::KeyCompromise));

    // A revoked certificate gets the uniform answer and no code.
    let sent = lost_key_codes(&env).await.len();
    let again = start(number.clone(), "40417").await.unwrap();
    assert_eq!(as_json(&again), as_json(&unknown));
    assert_eq!(lost_key_codes(&env).await.len(), sent);

    // Five requests an hour per number, whether or not it exists.
    let e = loop {
        match start(number.clone(), "40417").await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert_eq!((e.kind, e.code), (ErrorKind::TooMany, "too_many_requests"));

    // Audited, chain intact.
    let entries = imzo_store::audit::entries(env.store.pool()).await.unwrap();
    let actions: Vec<&str> = entries.iter().filter(|e| e.subject == serial).map(|e| e.action.as_str()).collect();
    assert!(actions.ends_with(&["certificate.held", "certificate.revocation_requested", "certificate.revoked"]), "{actions:?}");
    assert!(imzo_store::audit::verify(&env.store).await.unwrap().is_intact());
}
