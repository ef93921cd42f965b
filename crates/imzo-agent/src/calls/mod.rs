//! The calls of the protocol, one module per plugin; this module holds what they share:
//! argument reading and the failure type.

pub(crate) mod imzo;
pub(crate) mod pfx;
pub(crate) mod pkcs7;
pub(crate) mod x509;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

/// A failed call: the text goes to the page as `reason`.
#[derive(Debug)]
pub(crate) struct CallError(pub(crate) String);

impl<E: std::fmt::Display> From<E> for CallError {
    fn from(e: E) -> Self {
        CallError(e.to_string())
    }
}

/// The result of a call: reply fields (without `success`) or a failure.
pub(crate) type CallResult = Result<Map<String, Value>, CallError>;

/// Makes a failure with a formatted reason.
macro_rules! fail {
    ($($t:tt)*) => { return Err($crate::calls::CallError(format!($($t)*))) };
}
pub(crate) use fail;

/// The `arguments` array of a call.
pub(crate) struct Args<'a> {
    call: &'a str,
    values: &'a [Value],
}

impl<'a> Args<'a> {
    pub(crate) fn new(call: &'a str, values: &'a [Value]) -> Self {
        Args { call, values }
    }

    /// Argument `i` (named `name` in errors) as a string; numbers are accepted as text.
    pub(crate) fn string(&self, i: usize, name: &str) -> Result<String, CallError> {
        match self.values.get(i) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(other) => Err(CallError(format!(
                "{}: argument {} ({name}) must be a string, not {}",
                self.call,
                i + 1,
                kind(other)
            ))),
            None => Err(CallError(format!(
                "{}: argument {} ({name}) is missing",
                self.call,
                i + 1
            ))),
        }
    }

    /// Optional string argument `i` (absent, null or "" → `None`).
    pub(crate) fn optional(&self, i: usize, name: &str) -> Result<Option<String>, CallError> {
        match self.values.get(i) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => Ok(Some(self.string(i, name)?).filter(|s| !s.is_empty())),
        }
    }

    /// Argument `i` as base64 bytes (standard alphabet; white space ignored).
    pub(crate) fn base64(&self, i: usize, name: &str) -> Result<Vec<u8>, CallError> {
        let text = self.string(i, name)?;
        decode_base64(&text).map_err(|e| {
            CallError(format!(
                "{}: argument {} ({name}) is not base64: {e}",
                self.call,
                i + 1
            ))
        })
    }

    /// Argument `i` as a JSON value.
    pub(crate) fn value(&self, i: usize, name: &str) -> Result<&'a Value, CallError> {
        self.values.get(i).ok_or_else(|| {
            CallError(format!(
                "{}: argument {} ({name}) is missing",
                self.call,
                i + 1
            ))
        })
    }

    /// How many arguments were given.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }
}

/// Base64 as pages write it: standard alphabet, line breaks and spaces tolerated.
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact.as_bytes())
}

/// Standard base64.
pub(crate) fn b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Builds reply fields from `key => value` pairs.
macro_rules! reply {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = serde_json::Map::new();
        $( m.insert($k.to_string(), serde_json::json!($v)); )*
        Ok(m)
    }};
}
pub(crate) use reply;
