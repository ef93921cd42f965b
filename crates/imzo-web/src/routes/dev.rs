//! Development aids of the embedded default (registered only when switched on).

use crate::error::ApiError;
use crate::router::Shared;
use axum::Json;
use axum::extract::{Query, State};
use imzo_ra::OutboxMessage;
use serde::Deserialize;

/// `?after=N`: only messages with a larger id.
#[derive(Debug, Deserialize)]
pub(crate) struct After {
    #[serde(default)]
    after: i64,
}

/// `GET /api/v1/dev/outbox[?after=N]`: the local SMS outbox, oldest first.
pub(crate) async fn outbox(
    State(ctx): State<Shared>,
    query: Result<Query<After>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<OutboxMessage>>, ApiError> {
    let Query(after) = query.map_err(|_| ApiError::invalid("after", ["butun son bo'lishi kerak", "должно быть целым числом", "must be an integer"]))?;
    Ok(Json(ctx.registration.outbox(after.after).await?))
}
