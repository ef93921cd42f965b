//! The Prepare and Complete endpoints: parse the form, check the signature in constant
//! time, convert the amount exactly, and run the step against the ledger.

use super::{Completion, Ledger, Refusal, Settings, SignedFields, code};
use crate::money::sum_to_tiyin;
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

/// Which endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `action=0`, `POST /pay/click/prepare`.
    Prepare,
    /// `action=1`, `POST /pay/click/complete`.
    Complete,
}

impl Action {
    fn text(self) -> &'static str {
        match self {
            Action::Prepare => "0",
            Action::Complete => "1",
        }
    }
}

/// Longest field value we look at; Click's are short ids, amounts and times.
const MAX_FIELD_LEN: usize = 128;

/// The fields of a call, found by name (first occurrence).
struct Fields<'a>(&'a [(String, String)]);

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A present field of sensible size, or the name of the one that is wrong.
    fn required(&self, name: &'static str) -> Result<&'a str, &'static str> {
        self.get(name).filter(|v| !v.is_empty() && v.len() <= MAX_FIELD_LEN).ok_or(name)
    }
}

/// One Prepare or Complete call: the form's `(name, value)` pairs in, Click's JSON answer
/// out. `settings` is `None` when Click is not configured: every call is then refused.
pub async fn handle<L: Ledger>(ledger: &L, settings: Option<&Settings>, endpoint: Action, form: &[(String, String)]) -> Value {
    let fields = Fields(form);
    let echo_id = fields.get("click_trans_id").map(id_value).unwrap_or(Value::Null);
    let echo_number = fields.get("merchant_trans_id").unwrap_or_default().to_owned();
    let (result, error, note) = match process(ledger, settings, endpoint, &fields).await {
        Ok(id) => (Some(id), code::SUCCESS, "Success".to_owned()),
        Err((error, note)) => {
            tracing::info!(code = error, note = %note, "Click call refused");
            (None, error, note)
        }
    };
    let id_field = match endpoint {
        Action::Prepare => "merchant_prepare_id",
        Action::Complete => "merchant_confirm_id",
    };
    let mut answer = json!({
        "click_trans_id": echo_id,
        "merchant_trans_id": echo_number,
        "error": error,
        "error_note": note,
    });
    answer[id_field] = result.map(Value::from).unwrap_or(Value::Null);
    answer
}

/// Click's ids are numbers; echo them as numbers when they are.
fn id_value(text: &str) -> Value {
    text.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::String(text.to_owned()))
}

type Failure = (i64, String);

fn bad_request(what: &str) -> Failure {
    (code::BAD_REQUEST, format!("Error in request from click: {what}"))
}

fn refused(refusal: &Refusal) -> Failure {
    let note = match refusal {
        Refusal::WrongAmount => "Incorrect parameter amount",
        Refusal::AlreadyPaid => "Already paid",
        Refusal::NoApplication => "User does not exist",
        Refusal::NoTransaction => "Transaction does not exist",
        Refusal::UpdateFailed => "Failed to update user",
        Refusal::Cancelled => "Transaction cancelled",
        Refusal::System(e) => {
            tracing::error!(error = %e, "Click ledger failed");
            "Failed to update user"
        }
    };
    (refusal.code(), note.to_owned())
}

async fn process<L: Ledger>(
    ledger: &L,
    settings: Option<&Settings>,
    endpoint: Action,
    fields: &Fields<'_>,
) -> Result<i64, Failure> {
    let settings = settings.ok_or_else(|| bad_request("Click payments are not configured"))?;
    let need = |name| fields.required(name).map_err(|name| bad_request(&format!("field {name} is missing")));
    let click_trans_id = need("click_trans_id")?;
    let service_id = need("service_id")?;
    let merchant_trans_id = need("merchant_trans_id")?;
    let amount = need("amount")?;
    let action = need("action")?;
    let sign_time = need("sign_time")?;
    let sign_string = need("sign_string")?;
    let merchant_prepare_id = match endpoint {
        Action::Complete => Some(need("merchant_prepare_id")?),
        Action::Prepare => None,
    };
    let signed = SignedFields { click_trans_id, service_id, merchant_trans_id, merchant_prepare_id, amount, action, sign_time };
    let expected = signed.sign(&settings.secret);
    if !bool::from(expected.as_bytes().ct_eq(sign_string.to_ascii_lowercase().as_bytes())) {
        return Err((code::SIGN_CHECK_FAILED, "SIGN CHECK FAILED!".to_owned()));
    }
    if action != endpoint.text() {
        return Err((code::ACTION_NOT_FOUND, "Action not found".to_owned()));
    }
    if service_id != settings.service_id {
        return Err(bad_request("unknown service_id"));
    }
    if !click_trans_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_request("click_trans_id is not a number"));
    }
    let click_error = match fields.get("error").map(str::trim).filter(|e| !e.is_empty()) {
        None => 0,
        Some(text) => text.parse::<i64>().map_err(|_| bad_request("error is not a number"))?,
    };
    let application = merchant_trans_id.trim();
    if !application.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refused(&Refusal::NoApplication));
    }
    let amount_tiyin = match sum_to_tiyin(amount.trim()) {
        Some(tiyin) if tiyin > 0 => tiyin,
        _ => return Err(refused(&Refusal::WrongAmount)),
    };
    let outcome = match (endpoint, merchant_prepare_id) {
        (Action::Complete, Some(prepare_id)) => {
            let prepare_id = match prepare_id.trim().parse::<i64>() {
                Ok(id) if id > 0 => id,
                _ => return Err(refused(&Refusal::NoTransaction)),
            };
            let completion = Completion {
                click_trans_id,
                application,
                prepare_id,
                amount_tiyin,
                click_error: (click_error < 0).then_some(click_error),
            };
            ledger.click_complete(&completion).await
        }
        _ => {
            if click_error < 0 {
                // Click reports a failure before anything was prepared: nothing to record.
                return Err(refused(&Refusal::Cancelled));
            }
            ledger.click_prepare(click_trans_id, application, amount_tiyin).await
        }
    };
    outcome.map_err(|refusal| refused(&refusal))
}
