//! Pay links and the sandbox's provider choice, over the router, after a real submission.

use super::harness::{body_bytes, error_of, harness};
use super::payme::submit_over_http;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use imzo_gateways::money::sum_to_tiyin;
use serde_json::{Value, json};

/// The value of `name` in a link's query string.
fn query_value(link: &str, name: &str) -> String {
    let query = link.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}="))).unwrap_or_default().to_owned()
}

async fn html(h: &super::harness::Harness, request: Request<Body>) -> (StatusCode, String) {
    let response = h.send(request).await;
    let status = response.status();
    (status, String::from_utf8(body_bytes(response).await).unwrap())
}

#[tokio::test]
async fn pay_links_agree_with_the_fee_and_the_sandbox_pays_through_click() {
    let h = harness(true, true).await;
    let submitted = submit_over_http(&h, "998901234501", "links").await;
    let number = submitted["number"].as_str().unwrap().to_owned();
    let fee = submitted["fee_tiyin"].as_i64().unwrap();
    let pay = &submitted["pay"];

    // Payme: base64 of m=…;ac.application=…;a=<tiyin>.
    let payme = pay["payme"].as_str().unwrap().strip_prefix("https://checkout.paycom.uz/").unwrap();
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(payme).unwrap()).unwrap();
    assert!(decoded.contains(&format!("ac.application={number}")), "{decoded}");
    let payme_tiyin: i64 = decoded.split(';').find_map(|p| p.strip_prefix("a=")).unwrap().parse().unwrap();
    // Click: sum with decimals, converted exactly.
    let click = pay["click"].as_str().unwrap();
    assert!(click.starts_with("https://my.click.uz/services/pay?service_id=30125&merchant_id=21870"), "{click}");
    assert_eq!(query_value(click, "transaction_param"), number);
    let click_tiyin = sum_to_tiyin(&query_value(click, "amount")).unwrap();
    // Paynet: tiyin.
    let paynet = pay["paynet"].as_str().unwrap();
    assert_eq!(query_value(paynet, "c"), number);
    let paynet_tiyin: i64 = query_value(paynet, "a").parse().unwrap();
    assert_eq!((payme_tiyin, click_tiyin, paynet_tiyin), (fee, fee, fee), "every link asks for the fee, to the tiyin");
    assert_eq!(pay["sandbox_providers"], format!("/sandbox/pay/{number}"));

    let (status, page) = html(&h, Request::get(format!("/sandbox/pay/{number}")).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    for needle in ["value=\"payme\"", "value=\"click\"", "value=\"paynet\"", "18 900.00", "awaiting_payment"] {
        assert!(page.contains(needle), "{needle}: {page}");
    }
    let (status, _) = html(&h, Request::get("/sandbox/pay/123456789012").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let form = |provider: &str| {
        Request::post(format!("/sandbox/pay/{number}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("provider={provider}")))
            .unwrap()
    };
    let (status, page) = html(&h, form("click")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("To'landi") && page.contains("Prepare (repeat)") && page.contains("Complete (repeat)"), "{page}");
    // Click's repeated Complete of a paid payment is "already paid" (−4), by its protocol.
    assert!(page.contains("&quot;error&quot;:-4"), "{page}");
    // Paid: Paynet now refuses, and the page says so.
    let (status, page) = html(&h, form("paynet")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("201"), "{page}");
    let (status, _) = html(&h, form("cash")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sandbox_pays_through_paynet_with_a_double_send() {
    let h = harness(true, true).await;
    let submitted = submit_over_http(&h, "998901234502", "paynet").await;
    let number = submitted["number"].as_str().unwrap().to_owned();
    let (status, body) = h.json("POST", "/api/v1/dev/sandbox/pay", &json!({"application": number, "provider": "bank"}).to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).1.as_deref(), Some("provider"));
    let (status, outcome) =
        h.json("POST", "/api/v1/dev/sandbox/pay", &json!({"application": number, "provider": "paynet"}).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!((outcome["paid"].clone(), outcome["repeats_consistent"].clone()), (json!(true), json!(true)), "{outcome}");
    let methods: Vec<&str> = outcome["steps"].as_array().unwrap().iter().map(|s| s["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["GetInformation", "PerformTransaction", "PerformTransaction", "CheckTransaction"]);
    assert_eq!(outcome["steps"][3]["reply"]["result"]["transactionState"], 1);
    assert!(outcome.get("payme_id").is_none());
}

#[tokio::test]
async fn providers_get_their_own_protocol_errors_for_garbage() {
    let h = harness(false, false).await;
    let post = |uri: &str, content_type: &str, body: &str| {
        Request::post(uri).header("content-type", content_type).body(Body::from(body.to_owned())).unwrap()
    };
    for uri in ["/pay/click/prepare", "/pay/click/complete"] {
        let response = h.send(post(uri, "application/x-www-form-urlencoded", "%%%&&==")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let reply: Value = serde_json::from_slice(&body_bytes(response).await).unwrap();
        assert_eq!(reply["error"], -8, "{reply}");
    }
    let response = h.send(post("/pay/paynet", "application/json", "{not json")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let reply: Value = serde_json::from_slice(&body_bytes(response).await).unwrap();
    assert_eq!(reply["error"]["code"], -32700, "{reply}");
    // Without the sandbox switched on, its pages do not exist.
    let response = h.send(Request::get("/sandbox/pay/123456789012").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
