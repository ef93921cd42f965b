//! The protocol against an in-memory ledger with the same rules as the real one (the real
//! ledger is tested in imzo-ra, and end to end through the binary).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::{Future, ready};
use std::sync::Mutex;

const KEY: &str = "k3y-from-the-merchant-cabinet";
const APP: &str = "123456789012";
const OTHER_APP: &str = "210987654321";
const FEE: i64 = 1_890_000;
const T0: i64 = 1_760_000_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AppState {
    AwaitingPayment,
    Paid,
    Issued,
    Cancelled,
}

struct Books {
    apps: HashMap<String, (i64, AppState)>,
    txs: Vec<Transaction>,
    key: Option<String>,
    now_ms: i64,
}

struct TestLedger(Mutex<Books>);

impl TestLedger {
    fn new() -> Self {
        let apps = [(APP, FEE), (OTHER_APP, 2_230_000)]
            .into_iter()
            .map(|(n, fee)| (n.to_owned(), (fee, AppState::AwaitingPayment)))
            .collect();
        TestLedger(Mutex::new(Books { apps, txs: Vec::new(), key: Some(KEY.to_owned()), now_ms: T0 }))
    }

    fn now(&self) -> i64 {
        self.0.lock().unwrap().now_ms
    }

    fn advance(&self, ms: i64) {
        self.0.lock().unwrap().now_ms += ms;
    }

    fn app_state(&self, n: &str) -> AppState {
        self.0.lock().unwrap().apps[n].1
    }

    fn set_app_state(&self, n: &str, state: AppState) {
        self.0.lock().unwrap().apps.get_mut(n).unwrap().1 = state;
    }
}

fn check_books(books: &Books, application: &str, amount: i64) -> Result<(), Refusal> {
    match books.apps.get(application) {
        None => Err(Refusal::AccountNotFound),
        Some((_, state)) if *state != AppState::AwaitingPayment => Err(Refusal::AccountNotPayable),
        Some((fee, _)) if *fee != amount => Err(Refusal::WrongAmount),
        Some(_) => Ok(()),
    }
}

impl Ledger for TestLedger {
    fn check_perform(&self, application: &str, amount_tiyin: i64) -> impl Future<Output = Result<(), Refusal>> + Send {
        ready(check_books(&self.0.lock().unwrap(), application, amount_tiyin))
    }

    fn create(&self, id: &str, payme_time_ms: i64, amount: i64, application: &str) -> impl Future<Output = Result<Transaction, Refusal>> + Send {
        let mut b = self.0.lock().unwrap();
        if let Some(t) = b.txs.iter().find(|t| t.id == id) {
            return ready(Ok(t.clone()));
        }
        if let Err(refusal) = check_books(&b, application, amount) {
            return ready(Err(refusal));
        }
        if b.txs.iter().any(|t| t.application == application && t.state > 0) {
            return ready(Err(Refusal::NotAllowed));
        }
        let t = Transaction {
            id: id.to_owned(),
            receipt: format!("{}", 1000 + b.txs.len()),
            payme_time_ms,
            amount_tiyin: amount,
            application: application.to_owned(),
            state: 1,
            create_time_ms: b.now_ms,
            perform_time_ms: 0,
            cancel_time_ms: 0,
            reason: None,
        };
        b.txs.push(t.clone());
        ready(Ok(t))
    }

    fn perform(&self, id: &str) -> impl Future<Output = Result<Transaction, Refusal>> + Send {
        let mut guard = self.0.lock().unwrap();
        let b = &mut *guard;
        let Some(t) = b.txs.iter_mut().find(|t| t.id == id) else {
            return ready(Err(Refusal::TransactionNotFound));
        };
        match t.state {
            1 => {
                let app = b.apps.get_mut(&t.application).unwrap();
                if app.1 != AppState::AwaitingPayment {
                    return ready(Err(Refusal::AccountNotPayable));
                }
                app.1 = AppState::Paid;
                t.state = 2;
                t.perform_time_ms = b.now_ms;
                ready(Ok(t.clone()))
            }
            2 => ready(Ok(t.clone())),
            _ => ready(Err(Refusal::NotAllowed)),
        }
    }

    fn cancel(&self, id: &str, reason: i32) -> impl Future<Output = Result<Transaction, Refusal>> + Send {
        let mut guard = self.0.lock().unwrap();
        let b = &mut *guard;
        let Some(t) = b.txs.iter_mut().find(|t| t.id == id) else {
            return ready(Err(Refusal::TransactionNotFound));
        };
        let app = b.apps.get_mut(&t.application).unwrap();
        match t.state {
            1 => t.state = -1,
            2 if app.1 == AppState::Issued => return ready(Err(Refusal::CannotCancel)),
            2 => {
                t.state = -2;
                app.1 = AppState::Cancelled;
            }
            _ => return ready(Ok(t.clone())),
        }
        t.cancel_time_ms = b.now_ms;
        t.reason = Some(reason);
        ready(Ok(t.clone()))
    }

    fn get(&self, id: &str) -> impl Future<Output = Result<Transaction, Refusal>> + Send {
        let b = self.0.lock().unwrap();
        ready(b.txs.iter().find(|t| t.id == id).cloned().ok_or(Refusal::TransactionNotFound))
    }

    fn statement(&self, from_ms: i64, to_ms: i64) -> impl Future<Output = Result<Vec<Transaction>, Refusal>> + Send {
        let b = self.0.lock().unwrap();
        let mut list: Vec<_> =
            b.txs.iter().filter(|t| (from_ms..=to_ms).contains(&t.payme_time_ms)).cloned().collect();
        list.sort_by_key(|t| t.payme_time_ms);
        ready(Ok(list))
    }

    fn merchant_key(&self) -> impl Future<Output = Result<Option<String>, Refusal>> + Send {
        ready(Ok(self.0.lock().unwrap().key.clone()))
    }

    fn set_merchant_key(&self, key: &str) -> impl Future<Output = Result<(), Refusal>> + Send {
        self.0.lock().unwrap().key = Some(key.to_owned());
        ready(Ok(()))
    }
}

struct Payme {
    ledger: TestLedger,
    next_rpc_id: Mutex<i64>,
}

impl Payme {
    fn new() -> Self {
        Payme { ledger: TestLedger::new(), next_rpc_id: Mutex::new(1) }
    }

    async fn call_as(&self, auth: Option<&str>, method: &str, params: Value) -> Value {
        let id = {
            let mut n = self.next_rpc_id.lock().unwrap();
            *n += 1;
            *n
        };
        let body = json!({"method": method, "params": params, "id": id}).to_string();
        let reply = handle_at(&self.ledger, auth, body.as_bytes(), self.ledger.now()).await;
        assert_eq!(reply["id"], json!(id), "the reply echoes the request id: {reply}");
        reply
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        self.call_as(Some(&basic_auth_header(KEY)), method, params).await
    }

    /// Sends the same call twice, as Payme's sandbox does, and insists on the same answer.
    async fn call_twice(&self, method: &str, params: Value) -> Value {
        let first = self.call(method, params.clone()).await;
        self.ledger.advance(1_000);
        let second = self.call(method, params).await;
        assert_eq!(strip_id(&first), strip_id(&second), "a repeated {method} must return the stored result");
        first
    }
}

fn strip_id(reply: &Value) -> Value {
    let mut reply = reply.clone();
    reply.as_object_mut().unwrap().remove("id");
    reply
}

fn error_code(reply: &Value) -> i64 {
    reply["error"]["code"].as_i64().unwrap_or_else(|| panic!("expected an error, got {reply}"))
}

fn assert_error_shape(reply: &Value) {
    let error = reply["error"].as_object().unwrap();
    let keys: Vec<_> = error.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 3, "{reply}");
    for key in ["code", "message", "data"] {
        assert!(error.contains_key(key), "{reply}");
    }
    for language in ["ru", "uz", "en"] {
        assert!(!reply["error"]["message"][language].as_str().unwrap().is_empty(), "{reply}");
    }
    assert!(reply.get("result").is_none());
}

fn object_keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<_> = value.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

const TX1: &str = "5305e3bab097f420a62ced0b";
const TX2: &str = "5305e3bab097f420a62ced0c";

/// Steps 1–3 of both sandbox scenarios: wrong key, wrong amount, unknown account.
async fn refusals_before_paying(p: &Payme) {
    let wrong_key = basic_auth_header("not-the-key");
    let reply = p
        .call_as(Some(&wrong_key), "CheckPerformTransaction", json!({"amount": FEE, "account": {"application": APP}}))
        .await;
    assert_eq!(error_code(&reply), -32504);
    assert_error_shape(&reply);

    let reply = p.call("CheckPerformTransaction", json!({"amount": FEE + 100, "account": {"application": APP}})).await;
    assert_eq!(error_code(&reply), -31001);

    let reply = p.call("CheckPerformTransaction", json!({"amount": FEE, "account": {"application": "999999999999"}})).await;
    assert_eq!(error_code(&reply), -31050);
    assert_eq!(reply["error"]["data"], "application");
    assert_error_shape(&reply);
    let reply = p
        .call("CreateTransaction", json!({"id": TX1, "time": T0, "amount": FEE, "account": {"application": "999999999999"}}))
        .await;
    assert_eq!(error_code(&reply), -31050);

    let reply = p.call("CheckPerformTransaction", json!({"amount": FEE, "account": {"application": APP}})).await;
    assert_eq!(reply["result"], json!({"allow": true}));
}

/// Create (twice), check, and a second transaction on the same account refused.
async fn create_and_check(p: &Payme) -> Value {
    let created =
        p.call_twice("CreateTransaction", json!({"id": TX1, "time": T0, "amount": FEE, "account": {"application": APP}})).await;
    assert_eq!(object_keys(&created["result"]), ["create_time", "state", "transaction"]);
    assert_eq!(created["result"]["state"], 1);
    assert_eq!(created["result"]["create_time"], T0);
    assert!(created["result"]["transaction"].is_string());

    let checked = p.call("CheckTransaction", json!({"id": TX1})).await;
    assert_eq!(
        checked["result"],
        json!({"create_time": T0, "perform_time": 0, "cancel_time": 0,
               "transaction": created["result"]["transaction"], "state": 1, "reason": null})
    );

    let second = p
        .call("CreateTransaction", json!({"id": TX2, "time": T0 + 5_000, "amount": FEE, "account": {"application": APP}}))
        .await;
    assert_eq!(error_code(&second), -31008);
    created
}

#[tokio::test]
async fn sandbox_scenario_1_create_then_cancel() {
    let p = Payme::new();
    refusals_before_paying(&p).await;
    let created = create_and_check(&p).await;
    let receipt = created["result"]["transaction"].clone();

    let cancel_time = p.ledger.now();
    let cancelled = p.call_twice("CancelTransaction", json!({"id": TX1, "reason": 3})).await;
    assert_eq!(cancelled["result"], json!({"transaction": receipt, "cancel_time": cancel_time, "state": -1}));

    let checked = p.call("CheckTransaction", json!({"id": TX1})).await;
    assert_eq!(
        checked["result"],
        json!({"create_time": T0, "perform_time": 0, "cancel_time": cancel_time,
               "transaction": receipt, "state": -1, "reason": 3})
    );
    // Cancelled before payment: the application is still waiting for a new transaction.
    assert_eq!(p.ledger.app_state(APP), AppState::AwaitingPayment);
    let reply = p.call("PerformTransaction", json!({"id": TX1})).await;
    assert_eq!(error_code(&reply), -31008);
}

#[tokio::test]
async fn sandbox_scenario_2_create_perform_then_cancel() {
    let p = Payme::new();
    refusals_before_paying(&p).await;
    let created = create_and_check(&p).await;
    let receipt = created["result"]["transaction"].clone();

    let perform_time = p.ledger.now();
    let performed = p.call_twice("PerformTransaction", json!({"id": TX1})).await;
    assert_eq!(performed["result"], json!({"transaction": receipt, "perform_time": perform_time, "state": 2}));
    assert_eq!(p.ledger.app_state(APP), AppState::Paid);

    let checked = p.call("CheckTransaction", json!({"id": TX1})).await;
    assert_eq!(checked["result"]["state"], 2);
    assert_eq!(checked["result"]["perform_time"], perform_time);
    assert_eq!(checked["result"]["reason"], Value::Null);

    // Paid now: checking or creating again for the account is refused.
    let reply = p.call("CheckPerformTransaction", json!({"amount": FEE, "account": {"application": APP}})).await;
    assert_eq!(error_code(&reply), -31051);

    let cancel_time = p.ledger.now();
    let cancelled = p.call_twice("CancelTransaction", json!({"id": TX1, "reason": 5})).await;
    assert_eq!(cancelled["result"], json!({"transaction": receipt, "cancel_time": cancel_time, "state": -2}));
    assert_eq!(p.ledger.app_state(APP), AppState::Cancelled);

    let checked = p.call("CheckTransaction", json!({"id": TX1})).await;
    assert_eq!(
        checked["result"],
        json!({"create_time": T0, "perform_time": perform_time, "cancel_time": cancel_time,
               "transaction": receipt, "state": -2, "reason": 5})
    );
}

#[tokio::test]
async fn cancel_after_issuance_is_refused() {
    let p = Payme::new();
    p.call("CreateTransaction", json!({"id": TX1, "time": T0, "amount": FEE, "account": {"application": APP}})).await;
    p.call("PerformTransaction", json!({"id": TX1})).await;
    p.ledger.set_app_state(APP, AppState::Issued);
    let reply = p.call("CancelTransaction", json!({"id": TX1, "reason": 5})).await;
    assert_eq!(error_code(&reply), -31007);
}

#[tokio::test]
async fn twelve_hour_rule() {
    let p = Payme::new();
    // A create whose Payme time is older than 12 hours is refused outright.
    let stale = T0 - TRANSACTION_TIMEOUT_MS - 1;
    let reply =
        p.call("CreateTransaction", json!({"id": TX1, "time": stale, "amount": FEE, "account": {"application": APP}})).await;
    assert_eq!(error_code(&reply), -31008);
    assert_eq!(error_code(&p.call("CheckTransaction", json!({"id": TX1})).await), -31003);

    // Created in time, performed too late: cancelled with reason 4.
    p.call("CreateTransaction", json!({"id": TX2, "time": T0, "amount": FEE, "account": {"application": APP}})).await;
    p.ledger.advance(TRANSACTION_TIMEOUT_MS + 1);
    let reply = p.call("PerformTransaction", json!({"id": TX2})).await;
    assert_eq!(error_code(&reply), -31008);
    let checked = p.call("CheckTransaction", json!({"id": TX2})).await;
    assert_eq!(checked["result"]["state"], -1);
    assert_eq!(checked["result"]["reason"], REASON_TIMEOUT);
    assert_eq!(p.ledger.app_state(APP), AppState::AwaitingPayment);
}

#[tokio::test]
async fn perform_after_our_deadline_cancelled_the_application() {
    let p = Payme::new();
    p.call("CreateTransaction", json!({"id": TX1, "time": T0, "amount": FEE, "account": {"application": APP}})).await;
    p.ledger.set_app_state(APP, AppState::Cancelled);
    assert_eq!(error_code(&p.call("PerformTransaction", json!({"id": TX1})).await), -31008);
}

#[tokio::test]
async fn statement_lists_by_payme_time_in_range() {
    let p = Payme::new();
    p.call("CreateTransaction", json!({"id": TX2, "time": T0 + 10, "amount": 2_230_000, "account": {"application": OTHER_APP}}))
        .await;
    p.call("CreateTransaction", json!({"id": TX1, "time": T0, "amount": FEE, "account": {"application": APP}})).await;
    let all = p.call("GetStatement", json!({"from": T0, "to": T0 + 10})).await;
    let list = all["result"]["transactions"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], TX1);
    assert_eq!(list[1]["id"], TX2);
    assert_eq!(list[0]["account"], json!({"application": APP}));
    assert_eq!(list[0]["amount"], FEE);
    assert_eq!(
        object_keys(&list[0]),
        ["account", "amount", "cancel_time", "create_time", "id", "perform_time", "reason", "state", "time", "transaction"]
    );
    let some = p.call("GetStatement", json!({"from": T0 + 1, "to": T0 + 10})).await;
    assert_eq!(some["result"]["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(error_code(&p.call("GetStatement", json!({"from": T0 + 1, "to": T0})).await), -32600);
}

#[tokio::test]
async fn change_password_replaces_the_key() {
    const NEW: &str = "Nw7-kEy_from+Payme.2026";
    let p = Payme::new();
    let reply = p.call("ChangePassword", json!({"password": NEW})).await;
    assert_eq!(reply["result"], json!({"success": true}));
    let old = p.call("CheckTransaction", json!({"id": TX1})).await;
    assert_eq!(error_code(&old), -32504);
    let new = p.call_as(Some(&basic_auth_header(NEW)), "CheckTransaction", json!({"id": TX1})).await;
    assert_eq!(error_code(&new), -31003);
    assert_eq!(error_code(&p.call_as(Some(&basic_auth_header(NEW)), "ChangePassword", json!({"password": ""})).await), -32600);
}

#[tokio::test]
async fn change_password_refuses_weak_keys_and_keeps_the_old_one() {
    let p = Payme::new();
    for weak in [json!("x"), json!("fifteen-chars-1"), json!("sixteen chars ok"), json!("ключ-ключ-ключ-ключ"), json!("tab\tseparated-key-long")] {
        let reply = p.call("ChangePassword", json!({"password": weak})).await;
        assert_eq!(error_code(&reply), -32600, "{weak}");
        assert_eq!(reply["error"]["data"], "password");
        for lang in ["ru", "uz", "en"] {
            assert!(reply["error"]["message"][lang].as_str().unwrap().contains("16"), "{reply}");
        }
    }
    // The configured key still works: nothing was changed.
    assert_eq!(error_code(&p.call("CheckTransaction", json!({"id": TX1})).await), -31003);
    let ok = p.call("ChangePassword", json!({"password": "sixteen-chars-ok"})).await;
    assert_eq!(ok["result"], json!({"success": true}));
}

#[tokio::test]
async fn create_refuses_a_time_far_in_the_future() {
    let p = Payme::new();
    // The tester's year-5138 time, and one just past the allowed skew.
    for time in [99_999_999_999_999, T0 + MAX_FUTURE_SKEW_MS + 1] {
        let reply = p.call("CreateTransaction", json!({"id": TX1, "time": time, "amount": FEE, "account": {"application": APP}})).await;
        assert_eq!(error_code(&reply), -31008, "{reply}");
        assert_eq!(reply["error"]["data"], "time");
    }
    assert_eq!(error_code(&p.call("CheckTransaction", json!({"id": TX1})).await), -31003, "nothing was created");
    // A clock a little behind Payme's is fine.
    let reply = p.call("CreateTransaction", json!({"id": TX1, "time": T0 + 60_000, "amount": FEE, "account": {"application": APP}})).await;
    assert_eq!(reply["result"]["state"], 1, "{reply}");
}

#[tokio::test]
async fn authorization_is_required_and_exact() {
    let p = Payme::new();
    let params = json!({"id": TX1});
    for auth in [
        None,
        Some(String::new()),
        Some("Bearer abc".to_owned()),
        Some("Basic not-base64!".to_owned()),
        Some(basic_auth_header(&format!("{KEY}x"))),
        Some(basic_auth_header(&KEY[..KEY.len() - 1])),
        Some(format!("Basic {}", BASE64_FOR_TESTS.encode(format!("Other:{KEY}")))),
    ] {
        let reply = p.call_as(auth.as_deref(), "CheckTransaction", params.clone()).await;
        assert_eq!(error_code(&reply), -32504, "{auth:?}");
    }
    // Scheme names are case-insensitive (RFC 7617).
    let lower = basic_auth_header(KEY).replacen("Basic", "basic", 1);
    assert_eq!(error_code(&p.call_as(Some(&lower), "CheckTransaction", params.clone()).await), -31003);

    // No key configured: nobody gets in, not even with an empty password.
    p.ledger.0.lock().unwrap().key = None;
    assert_eq!(error_code(&p.call_as(Some(&basic_auth_header("")), "CheckTransaction", params).await), -32504);
}

use base64::Engine as _;
const BASE64_FOR_TESTS: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[tokio::test]
async fn malformed_calls() {
    let ledger = TestLedger::new();
    let auth = basic_auth_header(KEY);
    let reply = handle_at(&ledger, Some(&auth), b"{not json", T0).await;
    assert_eq!(error_code(&reply), -32700);
    assert_eq!(reply["id"], Value::Null);
    assert_error_shape(&reply);

    let cases = [
        (json!({"id": 7, "params": {}}), -32600),
        (json!({"id": 7, "method": "CheckTransaction"}), -32600),
        (json!({"id": 7, "method": "CheckTransaction", "params": []}), -32600),
        (json!({"id": 7, "method": "Refund", "params": {}}), -32601),
        (json!({"id": 7, "method": "CheckTransaction", "params": {"id": 5}}), -32600),
        (json!({"id": 7, "method": "CreateTransaction", "params": {"id": TX1, "amount": FEE, "account": {"application": APP}}}), -32600),
        (json!({"id": 7, "method": "CheckPerformTransaction", "params": {"amount": "lots", "account": {"application": APP}}}), -32600),
        (json!({"id": 7, "method": "CheckPerformTransaction", "params": {"amount": 10.5, "account": {"application": APP}}}), -31001),
        (json!({"id": 7, "method": "CheckPerformTransaction", "params": {"amount": -FEE, "account": {"application": APP}}}), -31001),
        (json!({"id": 7, "method": "CheckPerformTransaction", "params": {"amount": FEE, "account": {}}}), -31050),
        (json!({"id": 7, "method": "CheckPerformTransaction", "params": {"amount": FEE, "account": {"application": "12ab"}}}), -31050),
        (json!({"id": 7, "method": "CancelTransaction", "params": {"id": TX1, "reason": 99}}), -32600),
    ];
    for (request, code) in cases {
        let reply = handle_at(&ledger, Some(&auth), request.to_string().as_bytes(), T0).await;
        assert_eq!(error_code(&reply), code, "{request}");
        assert_eq!(reply["id"], 7);
        assert_error_shape(&reply);
    }
    // Whole-number floats and numeric account values are what some clients send.
    let reply = handle_at(
        &ledger,
        Some(&auth),
        json!({"id": "x", "method": "CheckPerformTransaction", "params": {"amount": 1_890_000.0, "account": {"application": 123456789012_u64}}})
            .to_string()
            .as_bytes(),
        T0,
    )
    .await;
    assert_eq!(reply, json!({"result": {"allow": true}, "id": "x"}));
}

#[test]
fn checkout_link_has_the_documented_parameters() {
    let url = checkout_url("587f72c72cac0d162c722ae2", APP, FEE, Some("uz"), None);
    let encoded = url.strip_prefix("https://checkout.paycom.uz/").unwrap();
    let decoded = String::from_utf8(BASE64_FOR_TESTS.decode(encoded).unwrap()).unwrap();
    assert_eq!(decoded, format!("m=587f72c72cac0d162c722ae2;ac.application={APP};a={FEE};l=uz"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever arrives, the answer is one JSON-RPC reply: a result xor a well-formed error.
        #[test]
        fn any_body_gets_one_wellformed_reply(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let ledger = TestLedger::new();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let reply = runtime.block_on(handle_at(&ledger, Some(&basic_auth_header(KEY)), &body, T0));
            prop_assert!(reply.get("result").is_none());
            assert_error_shape(&reply);
        }

        #[test]
        fn any_wrong_key_is_refused(key in "[ -~]{0,40}") {
            prop_assume!(key != KEY);
            let ledger = TestLedger::new();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let body = json!({"id": 1, "method": "CheckTransaction", "params": {"id": TX1}}).to_string();
            let reply = runtime.block_on(handle_at(&ledger, Some(&basic_auth_header(&key)), body.as_bytes(), T0));
            prop_assert_eq!(error_code(&reply), -32504);
        }
    }
}

#[tokio::test]
async fn repeated_create_with_another_amount_is_wrong_amount() {
    let p = Payme::new();
    let params = json!({"id": TX1, "time": T0, "amount": FEE, "account": {"application": APP}});
    let created = p.call("CreateTransaction", params).await;
    assert_eq!(created["result"]["state"], 1, "{created}");
    // Same id, another amount: not the stored success but −31001.
    let reply = p
        .call("CreateTransaction", json!({"id": TX1, "time": T0, "amount": FEE + 100, "account": {"application": APP}}))
        .await;
    assert_eq!(error_code(&reply), -31001, "{reply}");
    assert_error_shape(&reply);
    // The stored transaction is untouched; the right amount still gets the stored answer.
    let again = p.call("CreateTransaction", json!({"id": TX1, "time": T0, "amount": FEE, "account": {"application": APP}})).await;
    assert_eq!(strip_id(&again), strip_id(&created));
}

#[test]
fn not_post_is_32300_with_a_null_id() {
    let reply = super::not_post_reply("GET");
    assert_eq!(error_code(&reply), -32300);
    assert_eq!(reply["id"], Value::Null);
    assert_error_shape(&reply);
}
