//! The payment sandbox of the embedded default: plays Payme's, Click's or Paynet's side
//! of a payment against our own merchant endpoints, through the same protocol code, the
//! real credentials (Basic auth, Click's signature) and the providers' habit of sending
//! each call twice.

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::money::{fee_sum_display, url_component};
use crate::router::Shared;
use axum::Json;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use imzo_gateways::payme::{ACCOUNT_FIELD, basic_auth_header};
use imzo_gateways::{click, money::tiyin_to_sum, paynet};
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
    /// `payme` (default), `click` or `paynet`.
    #[serde(default)]
    provider: Option<String>,
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

/// One merchant call the sandbox made, with our endpoint's reply.
#[derive(Debug, Serialize)]
pub(crate) struct Step {
    method: &'static str,
    /// A provider's second send of the call before it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    repeat: bool,
    reply: Value,
}

/// What a sandbox payment did.
#[derive(Debug, Serialize)]
pub(crate) struct Outcome {
    /// `payme`, `click` or `paynet`.
    provider: &'static str,
    /// Whether the payment went through (the application is paid).
    paid: bool,
    /// Whether every repeated call got the answer the protocol requires (the same one,
    /// or Click's "already paid" for a repeated Complete).
    repeats_consistent: bool,
    /// Payme-side transaction id the sandbox made up (Payme only).
    #[serde(skip_serializing_if = "Option::is_none")]
    payme_id: Option<String>,
    /// The provider-side transaction id the sandbox made up.
    transaction_id: String,
    /// The calls, in order.
    steps: Vec<Step>,
}

/// The providers the sandbox can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    Payme,
    Click,
    Paynet,
}

impl Provider {
    fn parse(text: Option<&str>) -> Result<Provider, ApiError> {
        match text.map(str::trim).filter(|t| !t.is_empty()).unwrap_or("payme") {
            "payme" => Ok(Provider::Payme),
            "click" => Ok(Provider::Click),
            "paynet" => Ok(Provider::Paynet),
            _ => Err(ApiError::invalid("provider", ["payme, click yoki paynet", "payme, click или paynet", "payme, click or paynet"])),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Provider::Payme => "payme",
            Provider::Click => "click",
            Provider::Paynet => "paynet",
        }
    }
}

fn not_configured(provider: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "provider_not_configured",
        Some("provider"),
        Localized {
            uz: format!("{provider} sozlanmagan"),
            ru: format!("{provider} не настроен"),
            en: format!("{provider} is not configured"),
        },
    )
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

/// A numeric transaction id as Click and Paynet use.
fn new_numeric_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(&format!("random source failed: {e}")))?;
    let n = bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
    Ok((1_000_000_000 + n % 9_000_000_000).to_string())
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

/// Pays through `provider`'s protocol against our own endpoint's code path.
async fn run_payment(ctx: &Shared, provider: Provider, application: &str, amount: i64) -> Result<Outcome, ApiError> {
    match provider {
        Provider::Payme => run_payme(ctx, application, amount).await,
        Provider::Click => run_click(ctx, application, amount).await,
        Provider::Paynet => run_paynet(ctx, application, amount).await,
    }
}

/// Check → Create (twice) → Perform (twice) through `POST /pay/payme`'s own code path.
async fn run_payme(ctx: &Shared, application: &str, amount: i64) -> Result<Outcome, ApiError> {
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
    let mut consistent = true;
    for (rpc_id, (method, params)) in calls.into_iter().enumerate() {
        let reply = call(ctx, &auth, rpc_id, method, params.clone()).await;
        let failed = reply.get("error").is_some();
        steps.push(Step { method, repeat: false, reply: reply.clone() });
        if !failed && method != "CheckPerformTransaction" {
            // Payme sends Create and Perform again when unsure; the answer must not change.
            let again = call(ctx, &auth, rpc_id, method, params).await;
            consistent &= again == reply;
            steps.push(Step { method, repeat: true, reply: again });
        }
        if failed {
            if method == "PerformTransaction" {
                // Leave no half-made transaction blocking the application for 12 hours.
                let reply = call(ctx, &auth, 3, "CancelTransaction", json!({"id": payme_id, "reason": 3})).await;
                steps.push(Step { method: "CancelTransaction", repeat: false, reply });
            }
            break;
        }
        paid = method == "PerformTransaction";
    }
    Ok(Outcome {
        provider: Provider::Payme.name(),
        paid,
        repeats_consistent: consistent,
        payme_id: Some(payme_id.clone()),
        transaction_id: payme_id,
        steps,
    })
}

/// Prepare (twice) → Complete (twice), signed with the Click secret, through
/// `POST /pay/click/*`'s own code path.
async fn run_click(ctx: &Shared, application: &str, amount: i64) -> Result<Outcome, ApiError> {
    let settings = ctx.click.as_ref().ok_or_else(|| not_configured("Click"))?;
    let click_trans_id = new_numeric_id()?;
    let amount_text = tiyin_to_sum(amount);
    let sign_time = paynet::timestamp(now_ms());
    let click_call = |action: click::Action, prepare_id: Option<String>| {
        let fields = click::SignedFields {
            click_trans_id: &click_trans_id,
            service_id: &settings.service_id,
            merchant_trans_id: application,
            merchant_prepare_id: prepare_id.as_deref(),
            amount: &amount_text,
            action: if action == click::Action::Prepare { "0" } else { "1" },
            sign_time: &sign_time,
        };
        let sign = fields.sign(&settings.secret);
        let mut pairs = vec![
            ("click_trans_id", fields.click_trans_id),
            ("service_id", fields.service_id),
            ("click_paydoc_id", fields.click_trans_id),
            ("merchant_trans_id", application),
            ("amount", fields.amount),
            ("action", fields.action),
            ("error", "0"),
            ("error_note", "Success"),
            ("sign_time", fields.sign_time),
            ("sign_string", &sign),
        ];
        if let Some(id) = fields.merchant_prepare_id {
            pairs.push(("merchant_prepare_id", id));
        }
        // The form travels encoded, as Click posts it, and is read by the endpoint's parser.
        let body = click::encode_form(&pairs);
        let form = super::pay::form_pairs(body.as_bytes());
        async move { click::handle(&ctx.registration.sandbox_books(), Some(settings), action, &form).await }
    };
    let mut steps = Vec::new();
    let first = click_call(click::Action::Prepare, None).await;
    let again = click_call(click::Action::Prepare, None).await;
    let mut consistent = again == first;
    steps.push(Step { method: "Prepare", repeat: false, reply: first.clone() });
    steps.push(Step { method: "Prepare", repeat: true, reply: again });
    let mut paid = false;
    if first["error"] == 0 {
        let prepare_id = first["merchant_prepare_id"].to_string();
        let complete = click_call(click::Action::Complete, Some(prepare_id.clone())).await;
        paid = complete["error"] == 0;
        steps.push(Step { method: "Complete", repeat: false, reply: complete });
        if paid {
            // Click's rule for a repeated Complete of a paid transaction: −4 "already paid".
            let again = click_call(click::Action::Complete, Some(prepare_id)).await;
            consistent &= again["error"] == click::code::ALREADY_PAID;
            steps.push(Step { method: "Complete", repeat: true, reply: again });
        }
    }
    Ok(Outcome {
        provider: Provider::Click.name(),
        paid,
        repeats_consistent: consistent,
        payme_id: None,
        transaction_id: click_trans_id.clone(),
        steps,
    })
}

/// GetInformation → PerformTransaction (twice) → CheckTransaction with Basic auth, through
/// `POST /pay/paynet`'s own code path.
async fn run_paynet(ctx: &Shared, application: &str, amount: i64) -> Result<Outcome, ApiError> {
    use imzo_gateways::paynet::Ledger as _;
    let settings = ctx.paynet.as_ref().ok_or_else(|| not_configured("Paynet"))?;
    // The sandbox's books: its payments are recorded as provider `sandbox`.
    let books = ctx.registration.sandbox_books();
    let stored = ctx
        .registration
        .paynet_password()
        .await
        .map_err(|refusal| ApiError::internal(&format!("reading the Paynet password: {refusal:?}")))?;
    let password = stored.map(zeroize::Zeroizing::new).unwrap_or_else(|| settings.password.clone());
    let auth = paynet::basic_auth_header(&settings.user, &password);
    let transaction_id = new_numeric_id()?;
    let fields = json!({paynet::ACCOUNT_FIELD: application});
    let calls: [(&'static str, Value); 3] = [
        ("GetInformation", json!({"fields": fields})),
        (
            "PerformTransaction",
            json!({"serviceId": 1, "transactionId": transaction_id, "amount": amount,
                   "time": paynet::timestamp(now_ms()), "fields": fields}),
        ),
        ("CheckTransaction", json!({"serviceId": 1, "transactionId": transaction_id})),
    ];
    let mut steps = Vec::new();
    let mut paid = false;
    let mut consistent = true;
    for (rpc_id, (method, params)) in calls.into_iter().enumerate() {
        let body = json!({"jsonrpc": "2.0", "id": rpc_id + 1, "method": method, "params": params}).to_string();
        let reply = paynet::handle(&books, Some(settings), Some(&auth), body.as_bytes()).await;
        let failed = reply.get("error").is_some();
        steps.push(Step { method, repeat: false, reply: reply.clone() });
        if failed {
            break;
        }
        if method == "PerformTransaction" {
            paid = true;
            let again = paynet::handle(&books, Some(settings), Some(&auth), body.as_bytes()).await;
            consistent &= again == reply;
            steps.push(Step { method, repeat: true, reply: again });
        }
    }
    Ok(Outcome {
        provider: Provider::Paynet.name(),
        paid,
        repeats_consistent: consistent,
        payme_id: None,
        transaction_id,
        steps,
    })
}

/// One Payme call through the Merchant API's own code, on the sandbox's books (its
/// payments are recorded as provider `sandbox`, never as Payme's).
async fn call(ctx: &Shared, auth: &str, rpc_id: usize, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": rpc_id + 1, "method": method, "params": params}).to_string();
    imzo_gateways::payme::handle(&ctx.registration.sandbox_books(), Some(auth), body.as_bytes()).await
}

/// `POST /api/v1/dev/sandbox/pay` `{application, amount}` (amount in tiyin).
pub(crate) async fn pay_json(State(ctx): State<Shared>, ApiJson(request): ApiJson<PayRequest>) -> Result<Json<Outcome>, ApiError> {
    let application = request.application.trim();
    let provider = Provider::parse(request.provider.as_deref())?;
    let amount = amount_for(&ctx, application, request.amount_text().as_deref()).await?;
    Ok(Json(run_payment(&ctx, provider, application, amount).await?))
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
        format!("<p class=\"amount\">{} so'm / сум / UZS</p>", escape(&shown))
    };
    Html(layout(
        "To'lov (sinov) / Оплата (тест) / Payment (sandbox)",
        &format!(
            "{amount_line}\
<form method=\"post\" action=\"/sandbox/pay\">\
<label>Ariza raqami / Номер заявки / Application number <input name=\"application\" value=\"{}\" required pattern=\"[0-9]{{12}}\"></label>\
<label>Summa, tiyin / Сумма, тийин / Amount, tiyin <input name=\"amount\" value=\"{}\" pattern=\"[0-9]*\"></label>\
<button type=\"submit\">To'lash / Оплатить / Pay</button></form>\
<p class=\"note\">Bu sinov sahifasi: haqiqiy pul yechilmaydi. / Это тестовая страница: настоящие деньги не списываются. / This is a sandbox: no real money moves.</p>",
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
            match (Provider::parse(request.provider.as_deref()), amount_for(&ctx, application, request.amount_text().as_deref()).await) {
                (Ok(provider), Ok(amount)) => run_payment(&ctx, provider, application, amount).await,
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        Err(_) => Err(ApiError::missing("application")),
    };
    outcome_page(outcome)
}

/// The result page of a form payment.
fn outcome_page(outcome: Result<Outcome, ApiError>) -> (StatusCode, Html<String>) {
    match outcome {
        Ok(outcome) => {
            let headline = if outcome.paid {
                "<p class=\"ok\">To'landi. / Оплачено. / Paid.</p>".to_owned()
            } else {
                let en = outcome
                    .steps
                    .last()
                    .and_then(|s| s.reply["error"]["message"]["en"].as_str())
                    .unwrap_or("refused");
                let uz = outcome.steps.last().and_then(|s| s.reply["error"]["message"]["uz"].as_str()).unwrap_or("rad etildi");
                let ru = outcome.steps.last().and_then(|s| s.reply["error"]["message"]["ru"].as_str()).unwrap_or("отказано");
                format!(
                    "<p class=\"fail\">To'lanmadi: {} / Не оплачено: {} / Not paid: {}</p>",
                    escape(uz),
                    escape(ru),
                    escape(en)
                )
            };
            let mut log = format!("{}\n", outcome.provider);
            for step in &outcome.steps {
                let repeat = if step.repeat { " (repeat)" } else { "" };
                log.push_str(&format!("{}{repeat} → {}\n", step.method, step.reply));
            }
            let status = if outcome.paid { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            (status, Html(layout("To'lov natijasi / Результат оплаты / Payment result", &format!("{headline}<pre>{}</pre>", escape(&log)))))
        }
        Err(e) => {
            let body = format!(
                "<p class=\"fail\">{} / {} / {}</p><p><a href=\"/sandbox/pay\">Orqaga / Назад / Back</a></p>",
                escape(&e.message.uz),
                escape(&e.message.ru),
                escape(&e.message.en)
            );
            (e.status, Html(layout("To'lov natijasi / Результат оплаты / Payment result", &body)))
        }
    }
}

/// Body of the per-application sandbox form.
#[derive(Debug, Deserialize)]
pub(crate) struct ProviderChoice {
    #[serde(default)]
    provider: Option<String>,
}

/// `GET /sandbox/pay/{number}`: the application's fee and a choice of provider.
pub(crate) async fn page_for(State(ctx): State<Shared>, Path(number): Path<String>) -> (StatusCode, Html<String>) {
    let number = number.trim().to_owned();
    let details = match ctx.registration.application_details(&number).await {
        Ok(details) => details,
        Err(e) => {
            let e = ApiError::from(e);
            let body =
                format!("<p class=\"fail\">{} / {} / {}</p>", escape(&e.message.uz), escape(&e.message.ru), escape(&e.message.en));
            return (e.status, Html(layout("To'lov (sinov) / Оплата (тест) / Payment (sandbox)", &body)));
        }
    };
    let choices = [("payme", "Payme", true), ("click", "Click", ctx.click.is_some()), ("paynet", "Paynet", ctx.paynet.is_some())];
    let mut radios = String::new();
    let mut first = true;
    for (value, label, enabled) in choices {
        let checked = if enabled && first { " checked" } else { "" };
        first &= !enabled;
        let disabled = if enabled { "" } else { " disabled" };
        radios.push_str(&format!(
            "<label class=\"choice\"><input type=\"radio\" name=\"provider\" value=\"{value}\"{checked}{disabled}> {label}</label>"
        ));
    }
    let body = format!(
        "<p>Ariza / Заявка / Application <b>{}</b> — {}</p><p class=\"amount\">{} so'm / сум / UZS</p>\
<form method=\"post\" action=\"/sandbox/pay/{}\">{radios}<button type=\"submit\">To'lash / Оплатить / Pay</button></form>\
<p class=\"note\">Bu sinov sahifasi: to'lov tizimi o'rnida bizning o'z manzillarimizni chaqiradi, haqiqiy pul yechilmaydi. / \
Это тестовая страница: она играет роль платёжной системы на наших адресах, настоящие деньги не списываются. / \
This is a sandbox: it plays the provider against our own endpoints; no real money moves.</p>",
        escape(&number),
        escape(&details.view.state),
        escape(&fee_sum_display(details.view.fee_tiyin)),
        url_component(&number),
    );
    (StatusCode::OK, Html(layout("To'lov (sinov) / Оплата (тест) / Payment (sandbox)", &body)))
}

/// `POST /sandbox/pay/{number}` (form `provider`): pays the fee through that provider.
pub(crate) async fn pay_form_for(
    State(ctx): State<Shared>,
    Path(number): Path<String>,
    form: Result<Form<ProviderChoice>, FormRejection>,
) -> (StatusCode, Html<String>) {
    let provider = form.ok().and_then(|Form(choice)| choice.provider);
    let number = number.trim();
    let outcome = match (Provider::parse(provider.as_deref()), amount_for(&ctx, number, None).await) {
        (Ok(provider), Ok(amount)) => run_payment(&ctx, provider, number, amount).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    outcome_page(outcome)
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

/// The sandbox page with a choice of provider for an application.
pub(crate) fn provider_link(application: &str) -> String {
    format!("/sandbox/pay/{}", url_component(application))
}
