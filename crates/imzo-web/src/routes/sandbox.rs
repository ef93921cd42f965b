//! The payment sandbox of the embedded default: plays Payme's side of a payment against our
//! own merchant endpoint, through the same protocol code and the real Basic-auth key.

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::money::{fee_sum_display, url_component};
use crate::router::Shared;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use imzo_gateways::payme::{ACCOUNT_FIELD, basic_auth_header};
use imzo_ra::Localized;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// Which application to pay, and how much (tiyin), as the checkout link carries them.
#[derive(Debug, Deserialize)]
pub(crate) struct PayRequest {
    application: String,
    /// Tiyin, as a JSON number or a string (forms and query strings only have strings).
    #[serde(default, alias = "amount_tiyin")]
    amount: Option<Value>,
}

impl PayRequest {
    /// The amount as text, if one was given.
    fn amount_text(&self) -> Option<String> {
        match &self.amount {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        }
    }
}

/// One Merchant API call the sandbox made, with our endpoint's reply.
#[derive(Debug, Serialize)]
pub(crate) struct Step {
    method: &'static str,
    reply: Value,
}

/// What a sandbox payment did.
#[derive(Debug, Serialize)]
pub(crate) struct Outcome {
    /// Whether PerformTransaction succeeded (the application is paid).
    paid: bool,
    /// Payme-side transaction id the sandbox made up.
    payme_id: String,
    /// The calls, in order.
    steps: Vec<Step>,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// A Payme-style 24-hex-character transaction id.
fn new_payme_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(&format!("random source failed: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The amount to pay: as given (a checkout link carries it), else the application's fee.
async fn amount_for(ctx: &Shared, application: &str, amount: Option<&str>) -> Result<i64, ApiError> {
    match amount.map(str::trim).filter(|a| !a.is_empty()) {
        Some(text) => match text.parse::<i64>() {
            Ok(tiyin) if tiyin > 0 => Ok(tiyin),
            _ => Err(ApiError::invalid(
                "amount",
                ["tiyinda musbat butun son bo'lishi kerak", "должно быть положительным целым числом тийинов", "a positive whole number of tiyin"],
            )),
        },
        None => Ok(ctx.registration.application_details(application).await?.view.fee_tiyin),
    }
}

/// Check → Create → Perform through `POST /pay/payme`'s own code path.
async fn run_payment(ctx: &Shared, application: &str, amount: i64) -> Result<Outcome, ApiError> {
    let key = ctx
        .payme
        .merchant_key()
        .await
        .map_err(|refusal| ApiError::internal(&format!("reading the Payme key: {refusal:?}")))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_merchant_key",
                None,
                Localized {
                    uz: "Payme kaliti sozlanmagan".to_owned(),
                    ru: "Ключ Payme не настроен".to_owned(),
                    en: "No Payme merchant key is configured".to_owned(),
                },
            )
        })?;
    let auth = basic_auth_header(&key);
    let payme_id = new_payme_id()?;
    let account = json!({ACCOUNT_FIELD: application});
    let calls: [(&'static str, Value); 3] = [
        ("CheckPerformTransaction", json!({"amount": amount, "account": account})),
        ("CreateTransaction", json!({"id": payme_id, "time": now_ms(), "amount": amount, "account": account})),
        ("PerformTransaction", json!({"id": payme_id})),
    ];
    let mut steps = Vec::new();
    let mut paid = false;
    for (rpc_id, (method, params)) in calls.into_iter().enumerate() {
        let reply = call(ctx, &auth, rpc_id, method, params).await;
        let failed = reply.get("error").is_some();
        steps.push(Step { method, reply });
        if failed {
            if method == "PerformTransaction" {
                // Leave no half-made transaction blocking the application for 12 hours.
                let reply = call(ctx, &auth, 3, "CancelTransaction", json!({"id": payme_id, "reason": 3})).await;
                steps.push(Step { method: "CancelTransaction", reply });
            }
            break;
        }
        paid = method == "PerformTransaction";
    }
    Ok(Outcome { paid, payme_id, steps })
}

async fn call(ctx: &Shared, auth: &str, rpc_id: usize, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": rpc_id + 1, "method": method, "params": params}).to_string();
    ctx.payme.call(Some(auth.to_owned()), Bytes::from(body)).await
}

/// `POST /api/v1/dev/sandbox/pay` `{application, amount}` (amount in tiyin).
pub(crate) async fn pay_json(State(ctx): State<Shared>, ApiJson(request): ApiJson<PayRequest>) -> Result<Json<Outcome>, ApiError> {
    let application = request.application.trim();
    let amount = amount_for(&ctx, application, request.amount_text().as_deref()).await?;
    Ok(Json(run_payment(&ctx, application, amount).await?))
}

/// `GET /sandbox/pay?application=N[&amount=T]`: the "checkout" page.
pub(crate) async fn page(State(ctx): State<Shared>, query: Result<Query<PayRequest>, QueryRejection>) -> Html<String> {
    let (application, mut amount) = match &query {
        Ok(Query(q)) => (q.application.trim().to_owned(), q.amount_text().unwrap_or_default()),
        Err(_) => (String::new(), String::new()),
    };
    if amount.trim().is_empty() && !application.is_empty() {
        // A bare `?application=N` link: show the fee so the page is still one click.
        if let Ok(details) = ctx.registration.application_details(&application).await {
            amount = details.view.fee_tiyin.to_string();
        }
    }
    let shown = amount.trim().parse::<i64>().map(fee_sum_display).unwrap_or_default();
    let amount_line = if shown.is_empty() {
        String::new()
    } else {
        format!("<p class=\"amount\">{} so'm / UZS</p>", escape(&shown))
    };
    Html(layout(
        "To'lov (sinov) / Payment (sandbox)",
        &format!(
            "{amount_line}\
<form method=\"post\" action=\"/sandbox/pay\">\
<label>Ariza raqami / Application number <input name=\"application\" value=\"{}\" required pattern=\"[0-9]{{12}}\"></label>\
<label>Summa, tiyin / Amount, tiyin <input name=\"amount\" value=\"{}\" pattern=\"[0-9]*\"></label>\
<button type=\"submit\">To'lash / Pay</button></form>\
<p class=\"note\">Bu sinov sahifasi: haqiqiy pul yechilmaydi. / This is a sandbox: no real money moves.</p>",
            escape(&application),
            escape(amount.trim()),
        ),
    ))
}

/// `POST /sandbox/pay` (form `application`, `amount`): pays and shows what happened.
pub(crate) async fn pay_form(
    State(ctx): State<Shared>,
    form: Result<Form<PayRequest>, FormRejection>,
) -> (StatusCode, Html<String>) {
    let outcome = match form {
        Ok(Form(request)) => {
            let application = request.application.trim();
            match amount_for(&ctx, application, request.amount_text().as_deref()).await {
                Ok(amount) => run_payment(&ctx, application, amount).await,
                Err(e) => Err(e),
            }
        }
        Err(_) => Err(ApiError::missing("application")),
    };
    match outcome {
        Ok(outcome) => {
            let headline = if outcome.paid {
                "<p class=\"ok\">To'landi. / Paid.</p>".to_owned()
            } else {
                let en = outcome
                    .steps
                    .last()
                    .and_then(|s| s.reply["error"]["message"]["en"].as_str())
                    .unwrap_or("refused");
                let uz = outcome.steps.last().and_then(|s| s.reply["error"]["message"]["uz"].as_str()).unwrap_or("rad etildi");
                format!("<p class=\"fail\">To'lanmadi: {} / Not paid: {}</p>", escape(uz), escape(en))
            };
            let mut log = String::new();
            for step in &outcome.steps {
                log.push_str(&format!("{} → {}\n", step.method, step.reply));
            }
            let status = if outcome.paid { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            (status, Html(layout("To'lov natijasi / Payment result", &format!("{headline}<pre>{}</pre>", escape(&log)))))
        }
        Err(e) => {
            let body = format!(
                "<p class=\"fail\">{} / {}</p><p><a href=\"/sandbox/pay\">Orqaga / Back</a></p>",
                escape(&e.message.uz),
                escape(&e.message.en)
            );
            (e.status, Html(layout("To'lov natijasi / Payment result", &body)))
        }
    }
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"uz\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
<style>body{{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}}\
label{{display:block;margin:.8rem 0}}input{{display:block;width:100%;padding:.4rem}}\
button{{padding:.6rem 2rem;font-size:1.1rem}}.amount{{font-size:1.6rem}}.ok{{color:#060}}.fail{{color:#a00}}\
pre{{white-space:pre-wrap;font-size:.8rem;background:#f4f4f4;padding:.5rem}}.note{{color:#666}}</style>\
</head><body><h1>{title}</h1>{body}</body></html>",
        title = escape(title),
    )
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The sandbox link for an application (what a checkout link would be in production).
pub(crate) fn link(application: &str, amount_tiyin: i64) -> String {
    format!("/sandbox/pay?application={}&amount={amount_tiyin}", url_component(application))
}
