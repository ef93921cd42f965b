//! The Merchant API endpoint: authenticates Payme, validates the JSON-RPC call and runs it
//! against the ledger. The web layer answers HTTP 200 with whatever this returns.

use super::errors::RpcError;
use super::{ACCOUNT_FIELD, Ledger, Refusal, Transaction};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};
use std::time::{SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// Payme's window for performing a created transaction: 12 hours, in milliseconds.
pub const TRANSACTION_TIMEOUT_MS: i64 = 12 * 60 * 60 * 1000;

/// How far ahead of our clock Payme's `time` of a new transaction may be (clock skew):
/// five minutes. A time further ahead is refused (−31008).
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

/// Cancel reason for a transaction that outlived [`TRANSACTION_TIMEOUT_MS`].
pub const REASON_TIMEOUT: i32 = 4;

/// Cancel reasons Payme sends: receiver not found, debit error, execution error, timeout,
/// refund, unknown.
const KNOWN_REASONS: [i64; 6] = [1, 2, 3, 4, 5, 10];

/// Longest transaction id we store (Payme's are 24 characters).
const MAX_ID_LEN: usize = 64;

type Params = Map<String, Value>;

/// Handles one Merchant API call (`Authorization` header value and raw body) and returns
/// the JSON reply: `{"result": …, "id"}` or `{"error": {"code", "message", "data"}, "id"}`.
pub async fn handle<L: Ledger>(ledger: &L, auth_header: Option<&str>, body: &[u8]) -> Value {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    handle_at(ledger, auth_header, body, now_ms).await
}

/// [`handle`] with the current time given (milliseconds since 1970), for the 12-hour rule.
pub async fn handle_at<L: Ledger>(ledger: &L, auth_header: Option<&str>, body: &[u8], now_ms: i64) -> Value {
    let request: Value = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(_) => return reply_error(Value::Null, &RpcError::parse_error()),
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    match process(ledger, auth_header, &request, now_ms).await {
        Ok(result) => json!({"result": result, "id": id}),
        Err(error) => {
            tracing::info!(code = error.code, "Payme call refused");
            reply_error(id, &error)
        }
    }
}

/// The reply to a call that was not a POST (HTTP `method` given): −32300, id null, as
/// the Merchant API requires; the web layer still answers it with HTTP 200.
pub fn not_post_reply(method: &str) -> Value {
    reply_error(Value::Null, &RpcError::not_post(method))
}

fn reply_error(id: Value, error: &RpcError) -> Value {
    json!({"error": error.to_json(), "id": id})
}

async fn process<L: Ledger>(
    ledger: &L,
    auth_header: Option<&str>,
    request: &Value,
    now_ms: i64,
) -> Result<Value, RpcError> {
    authorize(ledger, auth_header).await?;
    let Value::Object(request) = request else {
        return Err(RpcError::invalid_field("request"));
    };
    let method = request.get("method").and_then(Value::as_str).ok_or_else(|| RpcError::invalid_field("method"))?;
    let Some(Value::Object(params)) = request.get("params") else {
        return Err(RpcError::invalid_field("params"));
    };
    tracing::debug!(method, "Payme call");
    match method {
        "CheckPerformTransaction" => check_perform(ledger, params).await,
        "CreateTransaction" => create(ledger, params, now_ms).await,
        "PerformTransaction" => perform(ledger, params, now_ms).await,
        "CancelTransaction" => cancel(ledger, params).await,
        "CheckTransaction" => check(ledger, params).await,
        "GetStatement" => statement(ledger, params).await,
        "ChangePassword" => change_password(ledger, params).await,
        other => Err(RpcError::method_not_found(other)),
    }
}

/// Checks `Basic base64("Paycom:" + key)` against the key in force, in constant time.
async fn authorize<L: Ledger>(ledger: &L, auth_header: Option<&str>) -> Result<(), RpcError> {
    let key = ledger.merchant_key().await.map_err(RpcError::from)?;
    // No key configured means nobody may call: never accept an empty password.
    let Some(key) = key.map(Zeroizing::new).filter(|k| !k.is_empty()) else {
        return Err(RpcError::unauthorized());
    };
    let encoded = auth_header
        .map(str::trim)
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, credentials)| credentials.trim())
        .ok_or_else(RpcError::unauthorized)?;
    let presented = Zeroizing::new(BASE64.decode(encoded).map_err(|_| RpcError::unauthorized())?);
    let mut expected = Zeroizing::new(Vec::with_capacity(7 + key.len()));
    expected.extend_from_slice(b"Paycom:");
    expected.extend_from_slice(key.as_bytes());
    if bool::from(presented.as_slice().ct_eq(expected.as_slice())) {
        Ok(())
    } else {
        Err(RpcError::unauthorized())
    }
}

async fn check_perform<L: Ledger>(ledger: &L, params: &Params) -> Result<Value, RpcError> {
    let amount = amount(params)?;
    let application = account(params)?;
    ledger.check_perform(&application, amount).await?;
    Ok(json!({"allow": true}))
}

async fn create<L: Ledger>(ledger: &L, params: &Params, now_ms: i64) -> Result<Value, RpcError> {
    let id = transaction_id(params)?;
    let payme_time = integer(params, "time")?;
    let amount = amount(params)?;
    let application = account(params)?;
    let transaction = match ledger.get(id).await {
        Ok(existing) => {
            // A repeat of a create we already answered: same answer, unless the
            // transaction has moved on or outlived Payme's window since, or the repeat
            // names another amount or account (then it is not the same transaction).
            if existing.amount_tiyin != amount {
                return Err(RpcError::wrong_amount());
            }
            if existing.application != application {
                return Err(RpcError::account_not_found());
            }
            if existing.state != 1 {
                return Err(RpcError::not_allowed());
            }
            if timed_out(&existing, now_ms) {
                ledger.cancel(id, REASON_TIMEOUT).await?;
                return Err(RpcError::timed_out());
            }
            existing
        }
        Err(Refusal::TransactionNotFound) => {
            if now_ms.saturating_sub(payme_time) > TRANSACTION_TIMEOUT_MS {
                return Err(RpcError::timed_out());
            }
            if payme_time.saturating_sub(now_ms) > MAX_FUTURE_SKEW_MS {
                return Err(RpcError::time_in_future());
            }
            ledger.check_perform(&application, amount).await?;
            let created = ledger.create(id, payme_time, amount, &application).await?;
            // A concurrent twin may have created and already cancelled it.
            if created.state != 1 {
                return Err(RpcError::not_allowed());
            }
            created
        }
        Err(other) => return Err(other.into()),
    };
    Ok(json!({
        "create_time": transaction.create_time_ms,
        "transaction": transaction.receipt,
        "state": transaction.state,
    }))
}

async fn perform<L: Ledger>(ledger: &L, params: &Params, now_ms: i64) -> Result<Value, RpcError> {
    let id = transaction_id(params)?;
    let existing = ledger.get(id).await?;
    let transaction = match existing.state {
        1 if timed_out(&existing, now_ms) => {
            ledger.cancel(id, REASON_TIMEOUT).await?;
            return Err(RpcError::timed_out());
        }
        1 => ledger.perform(id).await.map_err(|refusal| match refusal {
            // The application left awaiting_payment (our 8-hour deadline) after the
            // transaction was created: Payme's answer for that is "cannot perform".
            Refusal::AccountNotFound | Refusal::AccountNotPayable => RpcError::not_allowed(),
            other => other.into(),
        })?,
        2 => existing,
        _ => return Err(RpcError::not_allowed()),
    };
    Ok(json!({
        "transaction": transaction.receipt,
        "perform_time": transaction.perform_time_ms,
        "state": transaction.state,
    }))
}

async fn cancel<L: Ledger>(ledger: &L, params: &Params) -> Result<Value, RpcError> {
    let id = transaction_id(params)?;
    let reason = integer(params, "reason")?;
    if !KNOWN_REASONS.contains(&reason) {
        return Err(RpcError::invalid_field("reason"));
    }
    let reason = i32::try_from(reason).map_err(|_| RpcError::invalid_field("reason"))?;
    let transaction = ledger.cancel(id, reason).await?;
    Ok(json!({
        "transaction": transaction.receipt,
        "cancel_time": transaction.cancel_time_ms,
        "state": transaction.state,
    }))
}

async fn check<L: Ledger>(ledger: &L, params: &Params) -> Result<Value, RpcError> {
    let id = transaction_id(params)?;
    let t = ledger.get(id).await?;
    Ok(json!({
        "create_time": t.create_time_ms,
        "perform_time": t.perform_time_ms,
        "cancel_time": t.cancel_time_ms,
        "transaction": t.receipt,
        "state": t.state,
        "reason": reason_of(&t),
    }))
}

async fn statement<L: Ledger>(ledger: &L, params: &Params) -> Result<Value, RpcError> {
    let from = integer(params, "from")?;
    let to = integer(params, "to")?;
    if from > to {
        return Err(RpcError::invalid_field("to"));
    }
    let transactions: Vec<Value> = ledger
        .statement(from, to)
        .await?
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "time": t.payme_time_ms,
                "amount": t.amount_tiyin,
                "account": {ACCOUNT_FIELD: t.application},
                "create_time": t.create_time_ms,
                "perform_time": t.perform_time_ms,
                "cancel_time": t.cancel_time_ms,
                "transaction": t.receipt,
                "state": t.state,
                "reason": reason_of(t),
            })
        })
        .collect();
    Ok(json!({"transactions": transactions}))
}

async fn change_password<L: Ledger>(ledger: &L, params: &Params) -> Result<Value, RpcError> {
    let password = params
        .get("password")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| RpcError::invalid_field("password"))?;
    if !super::is_acceptable_merchant_key(password) {
        return Err(RpcError::weak_key());
    }
    ledger.set_merchant_key(password).await?;
    tracing::info!("Payme merchant key changed");
    Ok(json!({"success": true}))
}

/// `reason` is null unless the transaction was cancelled.
fn reason_of(t: &Transaction) -> Value {
    match (t.state, t.reason) {
        (-1 | -2, Some(reason)) => json!(reason),
        _ => Value::Null,
    }
}

fn timed_out(t: &Transaction, now_ms: i64) -> bool {
    now_ms.saturating_sub(t.create_time_ms) > TRANSACTION_TIMEOUT_MS
}

fn transaction_id(params: &Params) -> Result<&str, RpcError> {
    params
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| RpcError::invalid_field("id"))
}

/// An integer field; Payme's JSON numbers may arrive as `1.0`, which is still an integer.
fn integer(params: &Params, field: &str) -> Result<i64, RpcError> {
    let value = params.get(field).ok_or_else(|| RpcError::invalid_field(field))?;
    if let Some(n) = value.as_i64() {
        return Ok(n);
    }
    match value.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(RpcError::invalid_field(field)),
    }
}

fn amount(params: &Params) -> Result<i64, RpcError> {
    match params.get("amount") {
        None | Some(Value::Null) => Err(RpcError::invalid_field("amount")),
        Some(Value::Number(_)) => match integer(params, "amount") {
            Ok(tiyin) if tiyin > 0 => Ok(tiyin),
            // Fractions of a tiyin, zero or negative: a number, but never our fee.
            _ => Err(RpcError::wrong_amount()),
        },
        Some(_) => Err(RpcError::invalid_field("amount")),
    }
}

/// `account.application`: our application number, as a string (or a bare number).
fn account(params: &Params) -> Result<String, RpcError> {
    let field = params.get("account").and_then(|a| a.get(ACCOUNT_FIELD));
    let number = match field {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => return Err(RpcError::account_not_found()),
    };
    if number.is_empty() || number.len() > 32 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RpcError::account_not_found());
    }
    Ok(number)
}
