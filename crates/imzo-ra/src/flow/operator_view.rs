//! Step 6, reading: the review queue, an application and its documents, shown only to an
//! operator who signed the request (as for decisions), and audited as `operator.viewed`
//! because it reads personal data.

use super::operator_auth::{self, Operator};
use super::{audit, by_number, review};
use crate::{ApplicationDetails, OperatorAction, OperatorRequest, RaError, Registration};
use imzo_store::Tx;

/// Applications shown in one queue answer.
const QUEUE_LIMIT: i64 = 200;

pub(super) fn bad_request(detail: &str) -> RaError {
    RaError::invalid(
        "signed_request",
        "malformed_operator_request",
        &format!("Operatorning imzolangan so'rovi noto'g'ri: {detail}"),
        &format!("Подписанный запрос оператора некорректен: {detail}"),
        &format!("The operator's signed request is malformed: {detail}"),
    )
}

fn mismatch(detail: &str) -> RaError {
    RaError::forbidden(
        "request_mismatch",
        "Imzolangan so'rov boshqa narsani so'raydi.",
        "Подписанный запрос относится к другому действию.",
        &format!("The signed request is for something else: {detail}"),
    )
}

/// What the signed request must name to allow this view.
pub(super) struct Wanted<'a> {
    pub(super) action: OperatorAction,
    pub(super) application: Option<&'a str>,
    pub(super) kind: Option<&'a str>,
}

fn action_name(action: OperatorAction) -> &'static str {
    match action {
        OperatorAction::Queue => "queue",
        OperatorAction::Show => "show",
        OperatorAction::Document => "document",
        OperatorAction::Audit => "audit",
        OperatorAction::Search => "search",
    }
}

/// Checks the signature and that the signed request is for exactly this view, then,
/// in a transaction, that the signer is an active operator here, consuming the challenge.
/// The caller audits and commits only once the data was found, so a failed view leaves
/// nothing behind.
pub(super) async fn begin<'a>(
    ra: &'a Registration,
    signed: &[u8],
    wanted: &Wanted<'_>,
) -> Result<(Tx<'a>, Operator, OperatorRequest), RaError> {
    let signed = operator_auth::verify_signature(ra, signed, bad_request)?;
    let request: OperatorRequest = serde_json::from_slice(&signed.content)
        .map_err(|e| bad_request(&format!("content is not an operator request: {e}")))?;
    if request.action != wanted.action {
        return Err(mismatch(&format!(
            "it asks for {}, not {}",
            action_name(request.action),
            action_name(wanted.action)
        )));
    }
    let same = |signed: Option<&str>, here: Option<&str>| signed.map(str::trim) == here.map(str::trim);
    if !same(request.application.as_deref(), wanted.application) {
        return Err(mismatch("it names another application"));
    }
    if !same(request.kind.as_deref(), wanted.kind) {
        return Err(mismatch("it names another document"));
    }
    let presented = operator_auth::challenge_bytes(&request.challenge_base64, bad_request)?;
    let mut tx = ra.store.begin().await?;
    let operator = operator_auth::authorise(ra, &mut tx, &signed, &request.challenge_id, &presented).await?;
    Ok((tx, operator, request))
}

/// Records the view and commits (consuming the challenge).
pub(super) async fn viewed(
    ra: &Registration,
    mut tx: Tx<'_>,
    operator: &Operator,
    subject: &str,
    mut details: serde_json::Value,
) -> Result<(), RaError> {
    details["operator"] = operator.row.name.clone().into();
    details["operator_cert_sha256"] = operator.cert_sha256.clone().into();
    audit(ra, &mut tx, &operator.actor(), "operator.viewed", subject, details).await?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(())
}

/// An application of this centre, for an operator; others' are as good as absent.
pub(super) async fn of_this_centre(ra: &Registration, number: &str) -> Result<String, RaError> {
    let row = by_number(ra, number).await?;
    if row.centre_id != ra.ca.centre_id {
        return Err(RaError::no_application());
    }
    Ok(row.number.unwrap_or_default())
}

pub(crate) async fn queue(ra: &Registration, signed: &[u8]) -> Result<Vec<ApplicationDetails>, RaError> {
    let wanted = Wanted { action: OperatorAction::Queue, application: None, kind: None };
    let (tx, operator, _) = begin(ra, signed, &wanted).await?;
    let ra = &ra.at(&operator.row.centre_id)?;
    let queue = review::review_queue(ra, QUEUE_LIMIT).await?;
    let numbers: Vec<&str> = queue.iter().map(|a| a.view.number.as_str()).collect();
    viewed(ra, tx, &operator, "queue", serde_json::json!({ "action": "queue", "applications": numbers })).await?;
    Ok(queue)
}

pub(crate) async fn application(ra: &Registration, number: &str, signed: &[u8]) -> Result<ApplicationDetails, RaError> {
    let wanted = Wanted { action: OperatorAction::Show, application: Some(number), kind: None };
    let (tx, operator, _) = begin(ra, signed, &wanted).await?;
    let ra = &ra.at(&operator.row.centre_id)?;
    let number = of_this_centre(ra, number).await?;
    let details = review::application_details(ra, &number).await?;
    viewed(ra, tx, &operator, &number, serde_json::json!({ "action": "show" })).await?;
    Ok(details)
}

pub(crate) async fn document(
    ra: &Registration,
    number: &str,
    kind: &str,
    signed: &[u8],
) -> Result<(String, Vec<u8>), RaError> {
    let wanted = Wanted { action: OperatorAction::Document, application: Some(number), kind: Some(kind) };
    let (tx, operator, _) = begin(ra, signed, &wanted).await?;
    let ra = &ra.at(&operator.row.centre_id)?;
    let number = of_this_centre(ra, number).await?;
    let (media_type, bytes) = review::document(ra, &number, kind.trim()).await?;
    let details =
        serde_json::json!({ "action": "document", "kind": kind.trim(), "media_type": media_type, "size": bytes.len() });
    viewed(ra, tx, &operator, &number, details).await?;
    Ok((media_type, bytes))
}
