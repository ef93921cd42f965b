//! Protocol checks that need no books: signature, field and action checks come first.

use super::*;
use serde_json::Value;

fn settings() -> Settings {
    Settings { service_id: "77".into(), merchant_id: Some("9".into()), secret: Zeroizing::new("s3cret".into()) }
}

/// Books that must never be reached by the calls below.
struct Untouched;

impl Ledger for Untouched {
    async fn click_prepare(&self, _: &str, _: &str, _: i64) -> Result<i64, Refusal> {
        Err(Refusal::System("the ledger was reached".into()))
    }
    async fn click_complete(&self, _: &Completion<'_>) -> Result<i64, Refusal> {
        Err(Refusal::System("the ledger was reached".into()))
    }
}

fn prepare_form(sign: &str, action: &str) -> Vec<(String, String)> {
    [
        ("click_trans_id", "12345"),
        ("service_id", "77"),
        ("click_paydoc_id", "1"),
        ("merchant_trans_id", "123456789012"),
        ("amount", "18900.00"),
        ("action", action),
        ("error", "0"),
        ("error_note", "Success"),
        ("sign_time", "2026-12-03 10:00:00"),
        ("sign_string", sign),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn signature_matches_md5sum() {
    // `printf '%s' 12345 77 s3cret 123456789012 18900.00 0 '2026-12-03 10:00:00' | md5sum`
    let fields = SignedFields {
        click_trans_id: "12345",
        service_id: "77",
        merchant_trans_id: "123456789012",
        merchant_prepare_id: None,
        amount: "18900.00",
        action: "0",
        sign_time: "2026-12-03 10:00:00",
    };
    assert_eq!(fields.sign("s3cret"), "4e8e5eae2f2c3906b895d790adf1bea5");
}

#[tokio::test]
async fn checks_before_the_books() {
    let s = settings();
    let reply = handle(&Untouched, Some(&s), Action::Prepare, &prepare_form("00", "0")).await;
    assert_eq!(reply["error"], -1, "{reply}");
    assert_eq!(reply["click_trans_id"], 12345);
    assert_eq!(reply["merchant_prepare_id"], Value::Null);
    let good = "4e8e5eae2f2c3906b895d790adf1bea5";
    let reply = handle(&Untouched, Some(&s), Action::Complete, &prepare_form(good, "0")).await;
    assert_eq!(reply["error"], -8, "a Complete without merchant_prepare_id: {reply}");
    let reply = handle(&Untouched, None, Action::Prepare, &prepare_form(good, "0")).await;
    assert_eq!(reply["error"], -8, "{reply}");
    let mut form = prepare_form(good, "0");
    form.retain(|(k, _)| k != "amount");
    assert_eq!(handle(&Untouched, Some(&s), Action::Prepare, &form).await["error"], -8);
    // The right signature reaches the books (which answer −7 here).
    let reply = handle(&Untouched, Some(&s), Action::Prepare, &prepare_form(good, "0")).await;
    assert_eq!(reply["error"], -7, "{reply}");
}

#[test]
fn links_and_forms() {
    assert_eq!(
        pay_url("77", "9", "123456789012", 1_890_050, Some("https://x.uz/a?b=1")),
        "https://my.click.uz/services/pay?service_id=77&merchant_id=9&amount=18900.50&transaction_param=123456789012&return_url=https%3A%2F%2Fx.uz%2Fa%3Fb%3D1"
    );
    assert_eq!(encode_form(&[("sign_time", "2026-12-03 10:00:00")]), "sign_time=2026-12-03+10%3A00%3A00");
}
