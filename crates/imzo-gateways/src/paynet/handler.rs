//! The Paynet endpoint: authenticates Paynet, validates the JSON-RPC call and runs it
//! against the ledger. The web layer answers HTTP 200 with whatever this returns.

use super::{Ledger, Refusal, Settings, Transaction, parse_timestamp, timestamp};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// The field of `fields` that carries our application number.
pub const ACCOUNT_FIELD: &str = "application";

/// Longest transaction id we store.
const MAX_ID_LEN: usize = 64;

type Params = Map<String, Value>;

/// A Paynet error: code and message. Paynet reads a single string, Russian first as its
/// own messages are; ours add Uzbek and English after it: `ru / uz / en`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RpcError {
    code: i64,
    message: String,
}

impl RpcError {
    fn new(code: i64, ru: &str, uz: &str, en: &str) -> Self {
        RpcError { code, message: format!("{ru} / {uz} / {en}") }
    }
    fn parse() -> Self {
        RpcError::new(-32700, "Ошибка разбора JSON", "JSON tahlil qilishda xato", "Parse error")
    }
    fn method(method: &str) -> Self {
        RpcError::new(
            -32601,
            &format!("Метод не найден: {method}"),
            &format!("Metod topilmadi: {method}"),
            &format!("Method not found: {method}"),
        )
    }
    fn missing(field: &str) -> Self {
        RpcError::new(
            411,
            &format!("Не заданы один или несколько обязательных параметров: {field}"),
            &format!("Bir yoki bir nechta majburiy parametr berilmagan yoki noto'g'ri: {field}"),
            &format!("Missing or bad parameter: {field}"),
        )
    }
    fn invalid_request(field: &str) -> Self {
        RpcError::new(
            -32600,
            &format!("Неверный запрос: {field}"),
            &format!("Noto'g'ri so'rov: {field}"),
            &format!("Invalid Request: {field}"),
        )
    }
    fn login() -> Self {
        RpcError::new(412, "Неверный логин", "Login yoki parol noto'g'ri", "Wrong login or password")
    }
    fn date(field: &str) -> Self {
        RpcError::new(
            414,
            &format!("Неверный формат даты и времени: {field}"),
            &format!("Sana va vaqt formati noto'g'ri: {field}"),
            &format!("Bad date and time: {field}"),
        )
    }
}

impl From<Refusal> for RpcError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::WrongAmount => RpcError::new(413, "Неверная сумма", "Noto'g'ri summa", "Wrong amount"),
            Refusal::NoApplication => RpcError::new(302, "Клиент не найден", "Ariza topilmadi", "No such application"),
            Refusal::AlreadyExists => RpcError::new(
                201,
                "Транзакция уже существует",
                "Tranzaksiya allaqachon mavjud yoki ariza to'langan",
                "Already paid or transaction exists",
            ),
            Refusal::NotPayable => RpcError::new(
                304,
                "Услуга недоступна",
                "Ariza to'lovni kutmayapti",
                "The application is not awaiting payment",
            ),
            Refusal::NotFound => RpcError::new(203, "Транзакция не найдена", "Tranzaksiya topilmadi", "Transaction not found"),
            Refusal::CannotCancel => RpcError::new(
                77,
                "Отмена невозможна: услуга оказана",
                "Bekor qilib bo'lmaydi: xizmat ko'rsatilgan",
                "Cannot cancel: service delivered",
            ),
            Refusal::System(e) => {
                tracing::error!(error = %e, "Paynet ledger failed");
                RpcError::new(102, "Системная ошибка", "Tizim xatosi", "System error")
            }
        }
    }
}

/// The `Authorization` header value Paynet sends: `Basic base64(user:password)`. Our own
/// sandbox uses it to call the endpoint exactly as Paynet would.
pub fn basic_auth_header(user: &str, password: &str) -> String {
    let credentials = Zeroizing::new(format!("{user}:{password}"));
    format!("Basic {}", BASE64.encode(credentials.as_bytes()))
}

/// The Paynet pay link: `https://app.paynet.uz/?m=<merchant_id>&c=<application>&a=<tiyin>`.
pub fn pay_url(merchant_id: &str, application: &str, amount_tiyin: i64) -> String {
    let clean = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>();
    format!("https://app.paynet.uz/?m={}&c={}&a={amount_tiyin}", clean(merchant_id), clean(application))
}

/// Handles one call (`Authorization` header value and raw body) and returns the JSON
/// reply: `{"jsonrpc", "id", "result"}` or `{"jsonrpc", "id", "error": {"code", "message"}}`.
/// `settings` is `None` when Paynet is not configured: every call is then refused.
pub async fn handle<L: Ledger>(ledger: &L, settings: Option<&Settings>, auth_header: Option<&str>, body: &[u8]) -> Value {
    let request: Value = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(_) => return reply_error(Value::Null, &RpcError::parse()),
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    match process(ledger, settings, auth_header, &request).await {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(error) => {
            tracing::info!(code = error.code, "Paynet call refused");
            reply_error(id, &error)
        }
    }
}

fn reply_error(id: Value, error: &RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": error.code, "message": error.message}})
}

async fn process<L: Ledger>(
    ledger: &L,
    settings: Option<&Settings>,
    auth_header: Option<&str>,
    request: &Value,
) -> Result<Value, RpcError> {
    authorize(ledger, settings, auth_header).await?;
    let method = request.get("method").and_then(Value::as_str).ok_or_else(|| RpcError::invalid_request("method"))?;
    let empty = Params::new();
    let params = match request.get("params") {
        Some(Value::Object(params)) => params,
        None | Some(Value::Null) => &empty,
        Some(_) => return Err(RpcError::invalid_request("params")),
    };
    tracing::debug!(method, "Paynet call");
    match method {
        "PerformTransaction" => perform(ledger, params).await,
        "CheckTransaction" => check(ledger, params).await,
        "CancelTransaction" => cancel(ledger, params).await,
        "GetStatement" => statement(ledger, params).await,
        "GetInformation" => information(ledger, params).await,
        "ChangePassword" => change_password(ledger, params).await,
        other => Err(RpcError::method(other)),
    }
}

/// Checks `Basic base64(user:password)` in constant time; a stored password wins.
async fn authorize<L: Ledger>(ledger: &L, settings: Option<&Settings>, auth_header: Option<&str>) -> Result<(), RpcError> {
    let settings = settings.ok_or_else(RpcError::login)?;
    let password = match ledger.paynet_password().await.map_err(RpcError::from)? {
        Some(stored) => Zeroizing::new(stored),
        None => settings.password.clone(),
    };
    // An empty password or user would let anyone in: refuse instead.
    if password.is_empty() || settings.user.is_empty() {
        return Err(RpcError::login());
    }
    let encoded = auth_header
        .map(str::trim)
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, credentials)| credentials.trim())
        .ok_or_else(RpcError::login)?;
    let presented = Zeroizing::new(BASE64.decode(encoded).map_err(|_| RpcError::login())?);
    let expected = Zeroizing::new(format!("{}:{}", settings.user, password.as_str()));
    if bool::from(presented.as_slice().ct_eq(expected.as_bytes())) { Ok(()) } else { Err(RpcError::login()) }
}

fn transaction_id(params: &Params) -> Result<String, RpcError> {
    let id = match params.get("transactionId") {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => return Err(RpcError::missing("transactionId")),
    };
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(RpcError::missing("transactionId"));
    }
    Ok(id)
}

fn application(params: &Params) -> Result<String, RpcError> {
    let number = match params.get("fields").and_then(|f| f.get(ACCOUNT_FIELD)) {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => return Err(RpcError::missing("fields.application")),
    };
    if number.is_empty() || number.len() > 32 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::NoApplication.into());
    }
    Ok(number)
}

/// Tiyin as a whole JSON number (or a string of digits).
fn amount(params: &Params) -> Result<i64, RpcError> {
    let tiyin = match params.get("amount") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => return Err(RpcError::missing("amount")),
    };
    match tiyin {
        Some(t) if t > 0 => Ok(t),
        _ => Err(Refusal::WrongAmount.into()),
    }
}

/// A time as Paynet sends it: `YYYY-MM-DD HH:MM:SS` (Tashkent) or milliseconds.
fn time_field(params: &Params, field: &'static str) -> Result<i64, RpcError> {
    match params.get(field) {
        Some(Value::String(s)) => parse_timestamp(s).ok_or_else(|| RpcError::date(field)),
        Some(Value::Number(n)) => n.as_i64().filter(|ms| *ms >= 0).ok_or_else(|| RpcError::date(field)),
        _ => Err(RpcError::missing(field)),
    }
}

async fn perform<L: Ledger>(ledger: &L, params: &Params) -> Result<Value, RpcError> {
    let id = transaction_id(params)?;
    let amount = amount(params)?;
    let time = time_field(params, "time")?;
    let application = application(params)?;
    let t = ledger.paynet_perform(&id, time, amount, &application).await?;
    Ok(json!({
        "providerTrnId": t.receipt,
        "timestamp": timestamp(t.perform_time_ms),
        "fields": {ACCOUNT_FIELD: t.application},
    }))
}

async fn check<L: Ledger>(ledger: &L, params: &Params) -> Result<Value, RpcError> {
    let id = transaction_id(params)?;
    Ok(match ledger.paynet_get(&id).await? {
        Some(t) if t.state == 2 => {
            json!({"transactionState": 1, "providerTrnId": t.receipt, "timestamp": timestamp(t.perform_time_ms)})
        }
        Some(t) => json!({"transactionState": 2, "providerTrnId": t.receipt, "timestamp": timestamp(t.cancel_time_ms)}),
        None => json!({"transactionState": 3, "providerTrnId": 0, "timestamp": ""}),
    })
}

async fn cancel<L: Ledger>(ledger: &L, params: &Params) -> Result<Value, RpcError> {
    let id = transaction_id(params)?;
    let t = ledger.paynet_cancel(&id).await?;
    Ok(json!({"providerTrnId": t.receipt, "timestamp": timestamp(t.cancel_time_ms), "transactionState": 2}))
}

async fn statement<L: Ledger>(ledger: &L, params: &Params) -> Result<Value, RpcError> {
    let from = time_field(params, "dateFrom")?;
    let to = time_field(params, "dateTo")?;
    if from > to {
        return Err(RpcError::date("dateTo"));
    }
    let statements: Vec<Value> = ledger.paynet_statement(from, to).await?.iter().map(statement_line).collect();
    Ok(json!({"statements": statements}))
}

fn statement_line(t: &Transaction) -> Value {
    json!({
        "transactionId": t.transaction_id,
        "providerTrnId": t.receipt,
        "amount": t.amount_tiyin,
        "timestamp": timestamp(t.perform_time_ms),
        "fields": {ACCOUNT_FIELD: t.application},
    })
}

async fn information<L: Ledger>(ledger: &L, params: &Params) -> Result<Value, RpcError> {
    let application = application(params)?;
    let info = ledger.paynet_information(&application).await?;
    Ok(json!({
        "status": "0",
        "timestamp": timestamp(now_ms()),
        "fields": {ACCOUNT_FIELD: application, "name": info.name, "amount": info.fee_tiyin},
    }))
}

async fn change_password<L: Ledger>(ledger: &L, params: &Params) -> Result<Value, RpcError> {
    let password = params
        .get("password")
        .and_then(Value::as_str)
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| RpcError::missing("password"))?;
    ledger.paynet_set_password(password).await?;
    tracing::info!("Paynet password changed");
    Ok(json!({"result": "success"}))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
