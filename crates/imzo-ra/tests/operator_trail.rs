//! The operator console's reads on both databases: an application's audit trail and a
//! search by PINFL, each for a signed request naming exactly what it shows, each view
//! itself audited, and refused for a request signed for something else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Db, Env, env, operator_sign, submitted};
use imzo_gateways::payme::Ledger;
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

on_both!(audit_trail_shows_the_application_history_and_records_the_view, search_by_pinfl_finds_this_centres_applications);

/// A signed operator request with a fresh challenge and the fields of `rest`.
async fn request(env: &Env, rest: serde_json::Value) -> Vec<u8> {
    let ch = env.ra.operator_challenge().await.unwrap();
    let mut doc = serde_json::json!({ "challenge_id": ch.id, "challenge_base64": ch.challenge_base64 });
    for (k, v) in rest.as_object().unwrap() {
        doc[k] = v.clone();
    }
    operator_sign(env, &doc)
}

async fn audit_trail_shows_the_application_history_and_records_the_view(db: Db) {
    let Some(env) = env(db).await else { return };
    let (number, fee, _) = submitted(&env, "+998 90 300 00 01", "trail").await;
    env.ra.create("trail-txn-000000000000001", 1_700_000_000_000, fee, &number).await.unwrap();
    env.ra.perform("trail-txn-000000000000001").await.unwrap();

    let signed = request(&env, serde_json::json!({ "action": "audit", "application": number })).await;
    let trail = env.ra.operator_audit_trail(&number, &signed).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    // The draft's entries (under its handle) come first, then those under the number.
    for wanted in ["application.started", "application.phone_verified", "application.submitted", "application.paid"] {
        assert!(actions.contains(&wanted), "{wanted} missing from {actions:?}");
    }
    assert_eq!(actions[0], "application.started", "{actions:?}");
    assert!(trail.windows(2).all(|w| w[0].at <= w[1].at), "oldest first");
    assert!(trail.iter().all(|e| e.hash.as_deref().is_some_and(|h| h.len() == 64)), "entries carry their chain hash");
    // The challenge is used up: the same request again is refused.
    let again = env.ra.operator_audit_trail(&number, &signed).await.unwrap_err();
    assert_eq!((again.kind, again.code), (ErrorKind::Forbidden, "challenge_invalid"));

    // Looking at the trail is itself in the trail, under the operator's name.
    let signed = request(&env, serde_json::json!({ "action": "audit", "application": number })).await;
    let trail = env.ra.operator_audit_trail(&number, &signed).await.unwrap();
    let view = trail.iter().find(|e| e.action == "operator.viewed" && e.details["action"] == "audit").unwrap();
    assert!(view.actor.starts_with("operator:"), "{view:?}");

    // A request signed for another view, or another application, shows nothing.
    let signed = request(&env, serde_json::json!({ "action": "show", "application": number })).await;
    let e = env.ra.operator_audit_trail(&number, &signed).await.unwrap_err();
    assert_eq!((e.kind, e.code), (ErrorKind::Forbidden, "request_mismatch"));
    let signed = request(&env, serde_json::json!({ "action": "audit", "application": "123456789012" })).await;
    let e = env.ra.operator_audit_trail(&number, &signed).await.unwrap_err();
    assert_eq!(e.code, "request_mismatch");
    // An application that does not exist is absent, not an empty trail.
    let signed = request(&env, serde_json::json!({ "action": "audit", "application": "123456789012" })).await;
    assert!(env.ra.operator_audit_trail("123456789012", &signed).await.is_err());
}

async fn search_by_pinfl_finds_this_centres_applications(db: Db) {
    let Some(env) = env(db).await else { return };
    let (first, _, _) = submitted(&env, "+998 90 300 00 02", "first").await;
    let (second, _, _) = submitted(&env, "+998 90 300 00 03", "second").await;
    let signed = request(&env, serde_json::json!({ "action": "search", "pinfl": "32808810170066" })).await;
    let found = env.ra.operator_search(&signed).await.unwrap();
    let numbers: Vec<&str> = found.iter().map(|a| a.view.number.as_str()).collect();
    assert_eq!(numbers, [second.as_str(), first.as_str()], "newest first");
    assert_eq!(found[0].pinfl_birth_date.as_deref(), Some("1981-08-28"));

    // Nobody else's PINFL: nothing found (and the search is audited all the same).
    let signed = request(&env, serde_json::json!({ "action": "search", "pinfl": "32808810170073" })).await;
    assert!(env.ra.operator_search(&signed).await.unwrap().is_empty());
    let audited: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = 'operator.viewed' AND subject = 'search'")
        .fetch_one(env.store.pool())
        .await
        .map(|r| imzo_store::Row::try_get::<i64, _>(&r, 0).unwrap())
        .unwrap();
    assert_eq!(audited, 2);

    // A PINFL that cannot exist is named; a search without one is malformed.
    let signed = request(&env, serde_json::json!({ "action": "search", "pinfl": "32808810170067" })).await;
    let e = env.ra.operator_search(&signed).await.unwrap_err();
    assert_eq!(e.field.as_deref(), Some("pinfl"), "{e:?}");
    let signed = request(&env, serde_json::json!({ "action": "search" })).await;
    let e = env.ra.operator_search(&signed).await.unwrap_err();
    assert_eq!(e.code, "malformed_operator_request");
    let signed = request(&env, serde_json::json!({ "action": "queue" })).await;
    assert_eq!(env.ra.operator_search(&signed).await.unwrap_err().code, "request_mismatch");
}
