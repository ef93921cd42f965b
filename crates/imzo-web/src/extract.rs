//! A JSON extractor whose rejections use the API's error shape (400 naming the field).

use crate::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// axum's default body limit, which JSON endpoints keep.
pub(crate) const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// `Json<T>` with our error shape instead of axum's plain-text rejections.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(rejection_to_error(&rejection)),
        }
    }
}

fn rejection_to_error(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::json_content_type(),
        JsonRejection::JsonDataError(e) => {
            let text = e.body_text();
            match (field_of(&text), allowed_variants(&text)) {
                (Some(field), Some(allowed)) => ApiError::not_one_of(&field, &allowed),
                (field, _) => ApiError::malformed_json(field.as_deref()),
            }
        }
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(None, JSON_BODY_LIMIT),
        _ => ApiError::malformed_json(None),
    }
}

/// The field serde complained about. axum reports data errors as
/// `…target type: <path>: <serde message>` and serde names missing fields in backticks.
/// Only the name is kept: serde's text may quote the caller's values, which we never echo.
pub(crate) fn field_of(message: &str) -> Option<String> {
    if let Some(rest) = message.split("missing field `").nth(1) {
        return rest.split('`').next().map(str::to_owned).filter(|f| !f.is_empty());
    }
    let detail = message.split("target type: ").nth(1)?;
    let (path, _) = detail.split_once(": ")?;
    let is_path = !path.is_empty() && path != "." && !path.contains(' ');
    is_path.then(|| path.to_owned())
}

/// The values serde lists after `unknown variant …, expected` (our enum's own names,
/// never the caller's value, which stands before them).
pub(crate) fn allowed_variants(message: &str) -> Option<Vec<String>> {
    let after = message.split("unknown variant `").nth(1)?;
    // serde's own list comes last; the caller's value, before it, may contain anything.
    let expected = after.rsplit_once("expected ")?.1;
    let expected = expected.split(" at line ").next().unwrap_or(expected);
    let names: Vec<String> = expected.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    let plain = |n: &String| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (!names.is_empty() && names.iter().all(plain)).then_some(names)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{allowed_variants, field_of};

    #[test]
    fn lists_the_allowed_values_not_the_callers() {
        let text = "Failed to deserialize the JSON body into the target type: applicant_type: unknown variant `robot`, expected `individual` or `legal_entity` at line 1 column 30";
        assert_eq!(field_of(text).as_deref(), Some("applicant_type"));
        assert_eq!(allowed_variants(text), Some(vec!["individual".to_owned(), "legal_entity".to_owned()]));
        let three = "x: unknown variant `a, expected `<b>`, expected one of `approve`, `reject`, `other`";
        assert_eq!(allowed_variants(three).unwrap(), ["approve", "reject", "other"]);
        assert_eq!(allowed_variants("x: unknown variant `a`, expected `<b>`"), None);
        assert_eq!(allowed_variants("missing field `code`"), None);
    }

    #[test]
    fn names_the_field_from_serde_messages() {
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: missing field `code` at line 1 column 2"),
            Some("code".to_owned())
        );
        assert_eq!(
            field_of("Failed to deserialize the JSON body into the target type: pinfl: invalid type: integer `5`, expected a string at line 1 column 10"),
            Some("pinfl".to_owned())
        );
        assert_eq!(field_of("Failed to parse the request body as JSON: EOF while parsing"), None);
    }
}
