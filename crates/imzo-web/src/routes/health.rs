//! Liveness for load balancers and the end-to-end test.

use crate::error::ApiError;
use crate::router::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use imzo_ra::Localized;

/// `GET /healthz` → `ok` once a trivial query (this centre's row) came back from the database.
pub(crate) async fn healthz(State(ctx): State<Shared>) -> Result<&'static str, ApiError> {
    let pool = ctx.registration.store().pool();
    match imzo_store::cas::centre(pool, &ctx.registration.ca().centre_id).await {
        Ok(Some(_)) => Ok("ok"),
        Ok(None) => Err(unavailable("the centre is not recorded in the database")),
        Err(e) => Err(unavailable(&e.to_string())),
    }
}

fn unavailable(detail: &str) -> ApiError {
    tracing::error!(detail, "health check failed");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        None,
        Localized {
            uz: "Xizmat vaqtincha ishlamayapti".to_owned(),
            ru: "Сервис временно недоступен".to_owned(),
            en: "Service temporarily unavailable".to_owned(),
        },
    )
}
