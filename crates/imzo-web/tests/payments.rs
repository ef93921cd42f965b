//! The payment providers' merchant endpoints over HTTP, on SQLite and PostgreSQL: Payme's
//! two sandbox scenarios with every Create, Perform and Cancel sent twice, Click's
//! published 15-step run, a Paynet perform / check / cancel / statement run, and 50
//! parallel duplicates for one application. Applications are real submissions made by
//! the workflow with OpenSSL-made keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-ra/tests/common/mod.rs"]
mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Db, Env, env, state_of, submitted};
use imzo_gateways::money::{sum_to_tiyin, tiyin_to_sum};
use imzo_gateways::{click, payme, paynet};
use imzo_web::{AppState, router};
use serde_json::{Value, json};
use sqlx::Row as _;
use tower::ServiceExt as _;

/// The Payme key the shared workflow test environment configures.
const PAYME_KEY: &str = "configured-key";
const CLICK_SERVICE: &str = "30125";
const CLICK_SECRET: &str = "click-test-secret";
const PAYNET_USER: &str = "paynet-test";
const PAYNET_PASSWORD: &str = "paynet-test-password";

struct Site {
    env: Env,
    app: Router,
}

async fn site(db: Db) -> Option<Site> {
    let env = env(db).await?;
    let app = router(AppState {
        registration: env.ra.clone(),
        payme: env.ra.clone(),
        ca_certificates: Vec::new(),
        dev_outbox: false,
        payme_sandbox: true,
        payme_merchant_id: Some("587f72c72cac0d162c722ae2".into()),
        click: Some(click::Settings {
            service_id: CLICK_SERVICE.into(),
            merchant_id: Some("21870".into()),
            secret: zeroize::Zeroizing::new(CLICK_SECRET.into()),
        }),
        paynet: Some(paynet::Settings {
            user: PAYNET_USER.into(),
            password: zeroize::Zeroizing::new(PAYNET_PASSWORD.into()),
            merchant_id: Some("4521".into()),
        }),
    });
    Some(Site { env, app })
}

impl Site {
    async fn post(&self, uri: &str, content_type: &str, auth: Option<&str>, body: String) -> Value {
        let mut request = Request::post(uri).header("content-type", content_type);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = self.app.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "providers always get 200 from {uri}");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    async fn payme_as(&self, key: &str, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).to_string();
        self.post("/pay/payme", "application/json", Some(&payme::basic_auth_header(key)), body).await
    }

    async fn payme(&self, method: &str, params: Value) -> Value {
        self.payme_as(PAYME_KEY, method, params).await
    }

    /// Sends a Payme call twice, as Payme does when unsure, and insists on one answer.
    async fn payme_twice(&self, method: &str, params: Value) -> Value {
        let first = self.payme(method, params.clone()).await;
        let second = self.payme(method, params).await;
        assert_eq!(first, second, "{method} sent twice must be answered the same");
        first
    }

    async fn paynet_as(&self, password: &str, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 11, "method": method, "params": params}).to_string();
        let auth = paynet::basic_auth_header(PAYNET_USER, password);
        self.post("/pay/paynet", "application/json", Some(&auth), body).await
    }

    async fn paynet(&self, method: &str, params: Value) -> Value {
        self.paynet_as(PAYNET_PASSWORD, method, params).await
    }

    async fn count(&self, sql: &str, subject: &str) -> i64 {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).bind(subject).fetch_one(self.env.store.pool()).await.unwrap();
        row.try_get::<i64, _>(0).unwrap()
    }

    async fn paid_audits(&self, number: &str) -> i64 {
        self.count("SELECT COUNT(*) FROM audit_log WHERE action = 'application.paid' AND subject = $1", number).await
    }

    async fn payments_of(&self, number: &str) -> i64 {
        self.count(
            "SELECT COUNT(*) FROM payments p JOIN applications a ON a.id = p.application_id WHERE a.number = $1",
            number,
        )
        .await
    }
}

/// A Click call as Click makes it: form-urlencoded and signed (unless `sign` is given).
struct ClickCall<'a> {
    trans_id: &'a str,
    number: &'a str,
    amount: &'a str,
    prepare_id: Option<&'a str>,
    error: &'a str,
    sign: Option<&'a str>,
}

impl Site {
    async fn click(&self, c: ClickCall<'_>) -> Value {
        let action = if c.prepare_id.is_some() { "1" } else { "0" };
        let sign_time = "2026-12-03 10:15:00";
        let fields = click::SignedFields {
            click_trans_id: c.trans_id,
            service_id: CLICK_SERVICE,
            merchant_trans_id: c.number,
            merchant_prepare_id: c.prepare_id,
            amount: c.amount,
            action,
            sign_time,
        };
        let signature = c.sign.map(str::to_owned).unwrap_or_else(|| fields.sign(CLICK_SECRET));
        let mut pairs = vec![
            ("click_trans_id", c.trans_id),
            ("service_id", CLICK_SERVICE),
            ("click_paydoc_id", "4477"),
            ("merchant_trans_id", c.number),
            ("amount", c.amount),
            ("action", action),
            ("error", c.error),
            ("error_note", if c.error == "0" { "Success" } else { "Insufficient funds" }),
            ("sign_time", sign_time),
            ("sign_string", &signature),
        ];
        if let Some(id) = c.prepare_id {
            pairs.push(("merchant_prepare_id", id));
        }
        let uri = if c.prepare_id.is_some() { "/pay/click/complete" } else { "/pay/click/prepare" };
        self.post(uri, "application/x-www-form-urlencoded", None, click::encode_form(&pairs)).await
    }
}

fn prepare<'a>(trans_id: &'a str, number: &'a str, amount: &'a str) -> ClickCall<'a> {
    ClickCall { trans_id, number, amount, prepare_id: None, error: "0", sign: None }
}

fn complete<'a>(trans_id: &'a str, number: &'a str, amount: &'a str, prepare_id: &'a str) -> ClickCall<'a> {
    ClickCall { trans_id, number, amount, prepare_id: Some(prepare_id), error: "0", sign: None }
}

fn payme_error(reply: &Value) -> i64 {
    reply["error"]["code"].as_i64().unwrap_or_else(|| panic!("expected an error: {reply}"))
}

/// Runs `body` on SQLite and, when reachable, PostgreSQL.
macro_rules! on_both_databases {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $body(site(Db::Sqlite).await.unwrap()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(site) = site(Db::Postgres).await {
                    $body(site).await;
                }
            }
        }
    };
}

on_both_databases!(payme_sandbox_scenarios, payme_scenarios);
on_both_databases!(click_published_run, click_run);
on_both_databases!(paynet_run, paynet_steps);
on_both_databases!(parallel_duplicates, parallel);
on_both_databases!(eight_hour_rule, eight_hours);

async fn payme_scenarios(s: Site) {
    let (number, fee, _) = submitted(&s.env, "+998901110001", "payme-1").await;
    let account = json!({"application": number});
    // Scenario 1: wrong key, wrong amount, unknown account, then create and cancel.
    let reply = s.payme_as("wrong-key", "CheckPerformTransaction", json!({"amount": fee, "account": account})).await;
    assert_eq!(payme_error(&reply), -32504);
    let reply = s.payme("CheckPerformTransaction", json!({"amount": fee + 1, "account": account})).await;
    assert_eq!(payme_error(&reply), -31001);
    let reply = s.payme("CheckPerformTransaction", json!({"amount": fee, "account": {"application": "000000000000"}})).await;
    assert!((-31099..=-31050).contains(&payme_error(&reply)), "{reply}");
    for language in ["ru", "uz", "en"] {
        assert!(reply["error"]["message"][language].is_string(), "{reply}");
    }
    let reply = s.payme("CheckPerformTransaction", json!({"amount": fee, "account": account})).await;
    assert_eq!(reply["result"]["allow"], true, "{reply}");
    let t1 = "5e730e8e0b852a417aa49ceb";
    let now = imzo_store::time_ms::now_ms();
    let created = s.payme_twice("CreateTransaction", json!({"id": t1, "time": now, "amount": fee, "account": account})).await;
    assert_eq!(created["result"]["state"], 1, "{created}");
    let check = s.payme("CheckTransaction", json!({"id": t1})).await;
    assert_eq!(check["result"]["create_time"], created["result"]["create_time"]);
    assert_eq!((check["result"]["perform_time"].clone(), check["result"]["reason"].clone()), (json!(0), Value::Null));
    let other = s
        .payme("CreateTransaction", json!({"id": "5e730e8e0b852a417aa49cec", "time": now, "amount": fee, "account": account}))
        .await;
    assert_eq!(payme_error(&other), -31008, "a second transaction for one application");
    let cancelled = s.payme_twice("CancelTransaction", json!({"id": t1, "reason": 1})).await;
    assert_eq!(cancelled["result"]["state"], -1, "{cancelled}");
    let check = s.payme("CheckTransaction", json!({"id": t1})).await;
    assert_eq!((check["result"]["state"].clone(), check["result"]["reason"].clone()), (json!(-1), json!(1)));
    assert_eq!(check["result"]["cancel_time"], cancelled["result"]["cancel_time"]);
    assert_eq!(state_of(&s.env.store, &number).await, "awaiting_payment");

    // Scenario 2: the same on a fresh application, then perform and cancel after perform.
    let (number, fee, _) = submitted(&s.env, "+998901110002", "payme-2").await;
    let account = json!({"application": number});
    assert_eq!(payme_error(&s.payme_as("", "CheckPerformTransaction", json!({"amount": fee, "account": account})).await), -32504);
    assert_eq!(payme_error(&s.payme("CheckPerformTransaction", json!({"amount": 1, "account": account})).await), -31001);
    let t2 = "5e730e8e0b852a417aa49ced";
    let created = s.payme_twice("CreateTransaction", json!({"id": t2, "time": now, "amount": fee, "account": account})).await;
    assert_eq!(created["result"]["state"], 1);
    let performed = s.payme_twice("PerformTransaction", json!({"id": t2})).await;
    assert_eq!(performed["result"]["state"], 2, "{performed}");
    assert_eq!(performed["result"]["transaction"], created["result"]["transaction"]);
    assert_eq!(state_of(&s.env.store, &number).await, "paid");
    let check = s.payme("CheckTransaction", json!({"id": t2})).await;
    assert_eq!(check["result"]["perform_time"], performed["result"]["perform_time"]);
    let cancelled = s.payme_twice("CancelTransaction", json!({"id": t2, "reason": 5})).await;
    assert_eq!(cancelled["result"]["state"], -2, "{cancelled}");
    let check = s.payme("CheckTransaction", json!({"id": t2})).await;
    assert_eq!((check["result"]["state"].clone(), check["result"]["reason"].clone()), (json!(-2), json!(5)));
    assert_eq!(state_of(&s.env.store, &number).await, "cancelled", "a refund cancels the application");
    assert_eq!(s.paid_audits(&number).await, 1);
    let statement = s.payme("GetStatement", json!({"from": now - 1000, "to": now + 1000})).await;
    let ids: Vec<&str> = statement["result"]["transactions"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [t1, t2]);
}

async fn click_run(s: Site) {
    let (a, fee, _) = submitted(&s.env, "+998901120001", "click-a").await;
    let amount = tiyin_to_sum(fee);
    assert_eq!(sum_to_tiyin(&amount), Some(fee), "the Click amount is the fee to the tiyin");
    let wrong_amount = tiyin_to_sum(fee + 1);
    // 1: prepare with a bad signature → −1.
    let bad = ClickCall { sign: Some("0123456789abcdef0123456789abcdef"), ..prepare("1001", &a, &amount) };
    assert_eq!(s.click(bad).await["error"], -1);
    // 2: prepare for an unknown application → −5.
    assert_eq!(s.click(prepare("1002", "000000000000", &amount)).await["error"], -5);
    // 3: prepare → 0.
    let prepared = s.click(prepare("1003", &a, &amount)).await;
    assert_eq!(prepared["error"], 0, "{prepared}");
    assert_eq!(prepared["click_trans_id"], 1003);
    assert_eq!(prepared["merchant_trans_id"], a.as_str());
    let prepare_id = prepared["merchant_prepare_id"].as_i64().unwrap().to_string();
    // 4: complete with a bad signature → −1.
    let bad = ClickCall { sign: Some("ffffffffffffffffffffffffffffffff"), ..complete("1003", &a, &amount, &prepare_id) };
    assert_eq!(s.click(bad).await["error"], -1);
    // 5: complete with a wrong amount (one tiyin more) → −2.
    assert_eq!(s.click(complete("1003", &a, &wrong_amount, &prepare_id)).await["error"], -2);
    assert_eq!(state_of(&s.env.store, &a).await, "awaiting_payment");
    // 6: complete → 0; the application is paid.
    let done = s.click(complete("1003", &a, &amount, &prepare_id)).await;
    assert_eq!(done["error"], 0, "{done}");
    assert_eq!(done["merchant_confirm_id"].as_i64().unwrap().to_string(), prepare_id);
    assert_eq!(state_of(&s.env.store, &a).await, "paid");
    // 7: the same complete again → −4.
    assert_eq!(s.click(complete("1003", &a, &amount, &prepare_id)).await["error"], -4);
    // 8: complete with Click's error < 0 for that paid payment → −9. Click's own run
    // expects −9 here (its prose says −4 for paid payments); the run wins, and since Click
    // says the money did not move, the payment is refunded in our books.
    let failed = ClickCall { error: "-5017", ..complete("1003", &a, &amount, &prepare_id) };
    assert_eq!(s.click(failed).await["error"], -9);
    assert_eq!(state_of(&s.env.store, &a).await, "cancelled");

    let (b, fee_b, _) = submitted(&s.env, "+998901120002", "click-b").await;
    let amount_b = tiyin_to_sum(fee_b);
    // 9: prepare → 0.
    let prepared = s.click(prepare("2001", &b, &amount_b)).await;
    assert_eq!(prepared["error"], 0, "{prepared}");
    let prepare_b = prepared["merchant_prepare_id"].as_i64().unwrap().to_string();
    // 10: complete with an unknown merchant_prepare_id → −6.
    assert_eq!(s.click(complete("2001", &b, &amount_b, "999999999")).await["error"], -6);
    // 11: complete → 0.
    assert_eq!(s.click(complete("2001", &b, &amount_b, &prepare_b)).await["error"], 0);
    assert_eq!(state_of(&s.env.store, &b).await, "paid");

    let (c, fee_c, _) = submitted(&s.env, "+998901120003", "click-c").await;
    // The same fee written as Click may send it: "18900", "18900.0", "18900.00".
    let amount_c = (fee_c / 100).to_string();
    assert_eq!(fee_c % 100, 0);
    // 12: prepare → 0.
    let prepared = s.click(prepare("3001", &c, &amount_c)).await;
    assert_eq!(prepared["error"], 0, "{prepared}");
    let prepare_c = prepared["merchant_prepare_id"].as_i64().unwrap().to_string();
    // 13: complete with Click's error < 0 (cancel) → −9; 14: the same again → −9.
    let cancel = || ClickCall { error: "-5017", ..complete("3001", &c, &amount_c, &prepare_c) };
    assert_eq!(s.click(cancel()).await["error"], -9);
    assert_eq!(s.click(cancel()).await["error"], -9);
    // 15: a normal complete after that cancel → −9.
    let with_decimals = format!("{amount_c}.0");
    assert_eq!(s.click(complete("3001", &c, &with_decimals, &prepare_c)).await["error"], -9);
    assert_eq!(state_of(&s.env.store, &c).await, "awaiting_payment", "a failed Click payment leaves it payable");
    assert_eq!(s.paid_audits(&c).await, 0);
    assert_eq!(s.paid_audits(&b).await, 1);
}

async fn paynet_steps(s: Site) {
    let (number, fee, _) = submitted(&s.env, "+998901130001", "paynet-1").await;
    let fields = json!({"application": number});
    let reply = s.paynet_as("wrong", "GetInformation", json!({"fields": fields})).await;
    assert_eq!(reply["error"]["code"], 412, "{reply}");
    // Russian, Uzbek and English, in that order, in Paynet's one message string.
    assert_eq!(reply["error"]["message"], "Неверный логин / Login yoki parol noto'g'ri / Wrong login or password", "{reply}");
    let info = s.paynet("GetInformation", json!({"fields": fields})).await;
    assert_eq!(info["result"]["fields"]["amount"], fee, "{info}");
    let time = paynet::timestamp(imzo_store::time_ms::now_ms());
    let bad = s
        .paynet("PerformTransaction", json!({"serviceId": 1, "transactionId": 77001, "amount": fee - 1, "time": time, "fields": fields}))
        .await;
    assert_eq!(bad["error"]["code"], 413, "{bad}");
    assert!(bad["error"]["message"].as_str().unwrap().contains("Noto'g'ri summa"), "{bad}");
    let perform = json!({"serviceId": 1, "transactionId": 77002, "amount": fee, "time": time, "fields": fields});
    let first = s.paynet("PerformTransaction", perform.clone()).await;
    let again = s.paynet("PerformTransaction", perform).await;
    assert!(first.get("result").is_some(), "{first}");
    assert_eq!(first, again, "a repeated perform returns the stored answer");
    assert_eq!(state_of(&s.env.store, &number).await, "paid");
    let receipt = first["result"]["providerTrnId"].clone();
    let check = s.paynet("CheckTransaction", json!({"serviceId": 1, "transactionId": 77002})).await;
    assert_eq!((check["result"]["transactionState"].clone(), check["result"]["providerTrnId"].clone()), (json!(1), receipt.clone()));
    let unknown = s.paynet("CheckTransaction", json!({"serviceId": 1, "transactionId": 99999})).await;
    assert_eq!(unknown["result"]["transactionState"], 3);
    let period = json!({"dateFrom": "2020-01-01 00:00:00", "dateTo": "2099-01-01 00:00:00"});
    let statement = s.paynet("GetStatement", period.clone()).await;
    let lines = statement["result"]["statements"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{statement}");
    assert_eq!((lines[0]["transactionId"].clone(), lines[0]["amount"].clone()), (json!("77002"), json!(fee)));

    // Reconciled: the payment matches the paid application.
    let all = imzo_ra::statement::statement(&s.env.store, 0, i64::MAX / 2).await.unwrap();
    assert_eq!(all.totals["paynet"].paid_tiyin, fee);
    assert!(all.discrepancies.is_empty(), "{:?}", all.discrepancies);

    let cancel = json!({"serviceId": 1, "transactionId": 77002});
    let first = s.paynet("CancelTransaction", cancel.clone()).await;
    let again = s.paynet("CancelTransaction", cancel).await;
    assert_eq!(first["result"]["transactionState"], 2, "{first}");
    assert_eq!(first, again);
    assert_eq!(state_of(&s.env.store, &number).await, "cancelled");
    let check = s.paynet("CheckTransaction", json!({"serviceId": 1, "transactionId": 77002})).await;
    assert_eq!(check["result"]["transactionState"], 2);
    let statement = s.paynet("GetStatement", period).await;
    assert_eq!(statement["result"]["statements"], json!([]), "a cancelled payment leaves the statement");
    let all = imzo_ra::statement::statement(&s.env.store, 0, i64::MAX / 2).await.unwrap();
    assert_eq!(all.totals["paynet"].refunded_tiyin, fee);
    assert!(all.discrepancies.is_empty(), "{:?}", all.discrepancies);

    // ChangePassword: the new password wins over the configured one.
    let changed = s.paynet("ChangePassword", json!({"password": "rotated-password"})).await;
    assert_eq!(changed["result"]["result"], "success", "{changed}");
    assert_eq!(s.paynet("GetStatement", json!({"dateFrom": "2020-01-01 00:00:00", "dateTo": "2020-01-02 00:00:00"})).await["error"]["code"], 412);
    let reply = s.paynet_as("rotated-password", "CheckTransaction", json!({"transactionId": 77002})).await;
    assert_eq!(reply["result"]["transactionState"], 2, "{reply}");
}

async fn parallel(s: Site) {
    // 50 parallel duplicate Payme Creates for one application.
    let (a, fee, _) = submitted(&s.env, "+998901140001", "parallel-a").await;
    let now = imzo_store::time_ms::now_ms();
    let params = json!({"id": "6e730e8e0b852a417aa49cea", "time": now, "amount": fee, "account": {"application": a}});
    let replies = futures_util::future::join_all((0..50).map(|_| s.payme("CreateTransaction", params.clone()))).await;
    for reply in &replies {
        assert_eq!(reply, &replies[0], "every duplicate gets the stored answer");
    }
    assert_eq!(replies[0]["result"]["state"], 1, "{}", replies[0]);
    assert_eq!(s.payments_of(&a).await, 1);
    let performs =
        futures_util::future::join_all((0..50).map(|_| s.payme("PerformTransaction", json!({"id": "6e730e8e0b852a417aa49cea"})))).await;
    assert!(performs.iter().all(|r| r == &performs[0] && r["result"]["state"] == 2), "{:?}", performs[0]);
    assert_eq!(s.paid_audits(&a).await, 1, "one state change");

    // 50 parallel Click Completes for one prepared payment.
    let (b, fee_b, _) = submitted(&s.env, "+998901140002", "parallel-b").await;
    let amount = tiyin_to_sum(fee_b);
    let prepared = s.click(prepare("5001", &b, &amount)).await;
    let prepare_id = prepared["merchant_prepare_id"].as_i64().unwrap().to_string();
    let replies =
        futures_util::future::join_all((0..50).map(|_| s.click(complete("5001", &b, &amount, &prepare_id)))).await;
    let codes: Vec<i64> = replies.iter().map(|r| r["error"].as_i64().unwrap()).collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| *c == 0 || *c == -4), "the rest are 'already paid': {codes:?}");
    assert_eq!(s.payments_of(&b).await, 1);
    assert_eq!(s.paid_audits(&b).await, 1, "one state change");
    assert_eq!(state_of(&s.env.store, &b).await, "paid");
}

async fn eight_hours(s: Site) {
    // The same centre on a clock the test moves: eight hours pass in a moment.
    let clock = imzo_ra::clock::Clock::system();
    let config = imzo_ra::RaConfig::new(
        vec![(time::macros::date!(2020 - 01 - 01), common::BCV_TIYIN)],
        common::PEPPER.to_vec(),
        "http://127.0.0.1:8080",
    )
    .with_payme_key(Some(PAYME_KEY.into()))
    .with_clock(clock.clone());
    let ra = imzo_ra::Registration::new(s.env.store.clone(), s.env.ra.ca().clone(), config);
    let late = Site {
        app: router(AppState {
            registration: ra.clone(),
            payme: ra.clone(),
            ca_certificates: Vec::new(),
            dev_outbox: false,
            payme_sandbox: false,
            payme_merchant_id: None,
            click: Some(click::Settings {
                service_id: CLICK_SERVICE.into(),
                merchant_id: None,
                secret: zeroize::Zeroizing::new(CLICK_SECRET.into()),
            }),
            paynet: Some(paynet::Settings {
                user: PAYNET_USER.into(),
                password: zeroize::Zeroizing::new(PAYNET_PASSWORD.into()),
                merchant_id: None,
            }),
        }),
        env: s.env,
    };
    let (number, fee, _) = submitted(&late.env, "+998901150001", "late").await;
    let amount = tiyin_to_sum(fee);
    let prepared = late.click(prepare("6001", &number, &amount)).await;
    assert_eq!(prepared["error"], 0, "{prepared}");
    let prepare_id = prepared["merchant_prepare_id"].as_i64().unwrap().to_string();

    clock.advance(std::time::Duration::from_secs(8 * 3600 + 60));
    // Past the deadline, before the job has run: no protocol takes the money.
    assert_eq!(late.click(prepare("6002", &number, &amount)).await["error"], -9, "Click: cancelled");
    let time = paynet::timestamp(clock.now_ms());
    let perform = json!({"serviceId": 1, "transactionId": 88001, "amount": fee, "time": time, "fields": {"application": number}});
    assert_eq!(late.paynet("PerformTransaction", perform.clone()).await["error"]["code"], 304);
    // The prepared Click payment cannot complete either; it is void.
    assert_eq!(late.click(complete("6001", &number, &amount, &prepare_id)).await["error"], -9);
    assert_eq!(ra.run_due_jobs().await.unwrap(), 1);
    assert_eq!(state_of(&late.env.store, &number).await, "cancelled");
    let check = late.payme("CheckPerformTransaction", json!({"amount": fee, "account": {"application": number}})).await;
    assert_eq!(payme_error(&check), -31051, "Payme's own code for an account that cannot be paid");
    assert_eq!(late.paynet("PerformTransaction", perform).await["error"]["code"], 304);
    assert_eq!(late.paid_audits(&number).await, 0);
}
