//! Step 6, reading more: an application's audit trail and a search by PINFL, for an
//! operator who signed the request (as for every other view), this centre's only, each
//! view audited as `operator.viewed`.

use super::operator_view::{Wanted, begin, bad_request, of_this_centre, viewed};
use super::{by_number, review};
use crate::{ApplicationDetails, AuditRecord, OperatorAction, RaError, Registration};
use imzo_store::{applications, audit, time_ms::from_ms};

/// Applications one search answers with.
const SEARCH_LIMIT: i64 = 50;

pub(crate) async fn audit_trail(ra: &Registration, number: &str, signed: &[u8]) -> Result<Vec<AuditRecord>, RaError> {
    let wanted = Wanted { action: OperatorAction::Audit, application: Some(number), kind: None };
    let (tx, operator, _) = begin(ra, signed, &wanted).await?;
    let ra = &ra.at(&operator.row.centre_id)?;
    let number = of_this_centre(ra, number).await?;
    let row = by_number(ra, &number).await?;
    // Before it had a number the application was audited under its draft handle.
    let entries = audit::of_subjects(ra.store.pool(), &ra.ca.centre_id, [&number, &row.draft_id]).await?;
    let trail = entries
        .into_iter()
        .map(|e| AuditRecord {
            at: from_ms(e.at_ms),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            // A detail that no longer parses is shown as the text it is.
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::String(e.details)),
            seq: e.seq,
            hash: e.hash,
        })
        .collect();
    viewed(ra, tx, &operator, &number, serde_json::json!({ "action": "audit" })).await?;
    Ok(trail)
}

pub(crate) async fn search(ra: &Registration, signed: &[u8]) -> Result<Vec<ApplicationDetails>, RaError> {
    let wanted = Wanted { action: OperatorAction::Search, application: None, kind: None };
    let (tx, operator, request) = begin(ra, signed, &wanted).await?;
    let pinfl = request.pinfl.as_deref().map(str::trim).unwrap_or_default();
    if pinfl.is_empty() {
        return Err(bad_request("a search names the PINFL in `pinfl`"));
    }
    // The same rules as on entry: a PINFL that cannot exist is named, not searched for.
    crate::validate::pinfl(pinfl)?;
    let ra = &ra.at(&operator.row.centre_id)?;
    let rows = applications::of_pinfl(ra.store.pool(), &ra.ca.centre_id, pinfl, SEARCH_LIMIT).await?;
    let mut found = Vec::with_capacity(rows.len());
    for number in rows.iter().filter_map(|r| r.number.as_deref()) {
        found.push(review::application_details(ra, number).await?);
    }
    let numbers: Vec<&str> = found.iter().map(|a| a.view.number.as_str()).collect();
    let details = serde_json::json!({ "action": "search", "pinfl": pinfl, "applications": numbers });
    viewed(ra, tx, &operator, "search", details).await?;
    Ok(found)
}
