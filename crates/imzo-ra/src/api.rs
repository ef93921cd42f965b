//! The public operations of the registration centre, as the web layer calls them.

use crate::{Localized, RaConfig, RaError, flow};
use imzo_ca::CentreCa;
use imzo_store::Store;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;

/// Individual or legal entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantType {
    /// A citizen for themself.
    Individual,
    /// A person acting for a company.
    LegalEntity,
}

/// Step 1: the applicant's data (DESIGN §2). Validated strictly; errors name the field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StartRequest {
    /// Individual or legal entity.
    pub applicant_type: ApplicantType,
    /// PINFL, 14 digits (the person acting, for a company).
    pub pinfl: String,
    /// Surname.
    pub surname: String,
    /// Given name.
    pub given_name: String,
    /// Patronymic, if any.
    #[serde(default)]
    pub patronymic: Option<String>,
    /// Birth date, YYYY-MM-DD; must agree with the PINFL.
    pub birth_date: String,
    /// Region (viloyat).
    pub region: String,
    /// District (tuman), if given.
    #[serde(default)]
    pub district: Option<String>,
    /// Passport series and number, e.g. "AA1234567".
    pub passport: String,
    /// Mobile phone, any common spelling of +998 XX XXX XX XX.
    pub phone: String,
    /// Company INN (legal entity only).
    #[serde(default)]
    pub company_inn: Option<String>,
    /// Company name (legal entity only).
    #[serde(default)]
    pub company_name: Option<String>,
    /// The person's title in the company (legal entity only).
    #[serde(default)]
    pub title: Option<String>,
    /// The registration centre chosen, by number (`GET /api/v1/centres`); default 1.
    #[serde(default)]
    pub centre: Option<i64>,
}

/// Answer to step 1.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    /// Unguessable handle of the draft application (a bearer secret of the applicant).
    pub draft_id: String,
    /// The phone the code went to, masked for display ("+998 90 *** ** 67").
    pub phone_masked: String,
    /// When the code expires (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub code_expires_at: OffsetDateTime,
}

/// An uploaded document as received (size already bounded by the web layer).
#[derive(Debug, Clone)]
pub struct Upload {
    /// File name the browser sent; informational only (content decides the type).
    pub file_name: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Answer to the submission: the application number and what to pay.
#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    /// 12-digit application number.
    pub number: String,
    /// Fee in tiyin.
    pub fee_tiyin: i64,
    /// Payment deadline (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub pay_before: OffsetDateTime,
}

/// What an applicant (or operator) sees of an application.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationView {
    /// 12-digit application number.
    pub number: String,
    /// State name (`awaiting_payment`, `paid`, `approved`, `issued`, `rejected`, ...).
    pub state: String,
    /// Individual or legal entity.
    pub applicant_type: ApplicantType,
    /// Full name as it will appear in the certificate.
    pub full_name: String,
    /// Fee in tiyin.
    pub fee_tiyin: i64,
    /// Payment deadline (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub pay_before: OffsetDateTime,
    /// Rejection reason, if rejected.
    pub rejection_reason: Option<String>,
    /// Certificate serial (hex), once issued.
    pub certificate_serial: Option<String>,
}

/// What a person sees of an application found by number and captcha: its status only,
/// no personal data (that needs proof of possession of the key).
#[derive(Debug, Clone, Serialize)]
pub struct LookupStatus {
    /// 12-digit application number.
    pub number: String,
    /// State name.
    pub state: String,
    /// Fee in tiyin.
    pub fee_tiyin: i64,
    /// Payment deadline (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub pay_before: OffsetDateTime,
}

/// A one-time challenge kept in the database.
#[derive(Debug, Clone, Serialize)]
pub struct Challenge {
    /// Identifier to send back with the answer.
    pub id: String,
    /// The bytes to sign, base64.
    pub challenge_base64: String,
    /// Expiry (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A captcha image kept in the database.
#[derive(Debug, Clone)]
pub struct Captcha {
    /// Identifier to send back with the answer.
    pub id: String,
    /// PNG image.
    pub png: Vec<u8>,
}

/// An issued certificate with its chain.
#[derive(Debug, Clone, Serialize)]
pub struct Issued {
    /// Serial number, hex.
    pub serial: String,
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The issuing chain (centre CA, root), PEM, concatenated.
    pub chain_pem: String,
}

/// An operator's decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Decision {
    /// Approve the application.
    Approve,
    /// Reject it with a listed reason and free text, sent to the applicant by SMS.
    Reject {
        /// Code of a listed reason ([`crate::reasons::rejection_reasons`]); absent means
        /// `other`, which needs the free text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        /// Free text (up to 500 characters); required for `other`.
        #[serde(default)]
        reason: String,
    },
}

/// The document an operator signs (attached CMS) to decide an application.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecisionDocument {
    /// Operator challenge id (from [`Registration::operator_challenge`]).
    pub challenge_id: String,
    /// Challenge bytes, base64, as received.
    pub challenge_base64: String,
    /// Application number.
    pub application: String,
    /// The decision.
    #[serde(flatten)]
    pub decision: Decision,
}

/// The renewal application a holder signs (attached CMS, signer certificate inside) with
/// the key of their current certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenewalDocument {
    /// Renewal challenge id (from [`Registration::renewal_challenge`]).
    pub challenge_id: String,
    /// Challenge bytes, base64, as received.
    pub challenge_base64: String,
    /// The PKCS#10 request of the new key, DER, base64.
    pub csr_base64: String,
}

/// A message in the development SMS outbox.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxMessage {
    /// Queue id.
    pub id: i64,
    /// Recipient, 998XXXXXXXXX.
    pub phone: String,
    /// Message text.
    pub text: String,
    /// When it was queued (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A document attached to an application, as the operator console lists it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentInfo {
    /// `passport` or `selfie`.
    pub kind: String,
    /// Media type recognised from the content.
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// File name the applicant's browser sent (informational only).
    pub file_name: Option<String>,
}

/// Everything an operator reviews about an application.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationDetails {
    /// What the applicant sees too.
    #[serde(flatten)]
    pub view: ApplicationView,
    /// Full name (the same as in `view`, so serialised only once).
    #[serde(skip_serializing)]
    pub full_name: String,
    /// PINFL.
    pub pinfl: String,
    /// The birth date the PINFL carries, YYYY-MM-DD (beside the typed one, for the operator).
    pub pinfl_birth_date: Option<String>,
    /// The sex the PINFL carries: `male` or `female`.
    pub pinfl_sex: Option<String>,
    /// Birth date as typed, YYYY-MM-DD.
    pub birth_date: String,
    /// Region.
    pub region: String,
    /// District.
    pub district: Option<String>,
    /// Passport series and number.
    pub passport: String,
    /// Phone, 998XXXXXXXXX.
    pub phone: String,
    /// Company INN (legal entity).
    pub company_inn: Option<String>,
    /// Company name (legal entity).
    pub company_name: Option<String>,
    /// Title of the acting person (legal entity).
    pub title: Option<String>,
    /// When the draft was started (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    /// Attached documents.
    pub documents: Vec<DocumentInfo>,
    /// The payment transaction in force, if any.
    pub payment: Option<PaymentInfo>,
}

/// The payment of an application, as the operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentInfo {
    /// `payme`, `click`, `paynet`, `counter` or `sandbox`.
    pub provider: String,
    /// Amount, tiyin.
    pub amount_tiyin: i64,
    /// When the payment was performed (UTC); absent while only created.
    #[serde(with = "time::serde::rfc3339::option")]
    pub paid_at: Option<OffsetDateTime>,
}

/// A registration centre an applicant can choose.
#[derive(Debug, Clone, Serialize)]
pub struct CentreInfo {
    /// Number to give as `centre` when starting an application.
    pub number: i64,
    /// Id (`rc1`).
    pub id: String,
    /// Names in Uzbek, Russian and English.
    pub name: Localized,
    /// `active`, or `revoked` (no new applications).
    pub status: String,
    /// Its CA certificate (`/ca/{id}.pem`).
    pub ca_certificate: String,
}

/// How a registration centre stopped taking part in issuance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentreEnd {
    /// `centre_revoked` (its registration) or `ca_revoked` (the root revoked its CA).
    pub why: &'static str,
    /// When, UTC milliseconds (if recorded).
    pub at_ms: Option<i64>,
    /// The recorded reason.
    pub reason: Option<imzo_pki::crl::RevocationReason>,
}

/// What an operator asks to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorAction {
    /// The review queue.
    Queue,
    /// One application with its data.
    Show,
    /// One document of an application.
    Document,
    /// The audit trail of one application.
    Audit,
    /// The applications of one PINFL (named in `pinfl`).
    Search,
}

/// The document an operator signs (attached CMS) to view applications; every view of
/// personal data is audited under the operator's name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperatorRequest {
    /// Operator challenge id (from [`Registration::operator_challenge`]).
    pub challenge_id: String,
    /// Challenge bytes, base64, as received.
    pub challenge_base64: String,
    /// What to see.
    pub action: OperatorAction,
    /// Application number (`show`, `document`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// Document kind, `passport` or `selfie` (`document`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The PINFL searched for (`search`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinfl: Option<String>,
}

/// One entry of an application's audit trail as an operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who acted: `applicant`, `operator:<id>`, `payme`, `system`, ...
    pub actor: String,
    /// What happened: `application.submitted`, `operator.viewed`, ...
    pub action: String,
    /// What it happened to (the number, or the draft handle before there was one).
    pub subject: String,
    /// The entry's details (never secrets).
    pub details: serde_json::Value,
    /// Position in the centre's hash chain.
    pub seq: Option<i64>,
    /// The entry's hash in the chain.
    pub hash: Option<String>,
}

/// Provider name of payments made in the payment sandbox (no real money).
pub const SANDBOX_PROVIDER: &str = "sandbox";

/// The registration centre's workflow service. Cheap to clone; all state is in the database.
#[derive(Clone, Debug)]
pub struct Registration {
    pub(crate) store: Store,
    /// The centre this handle acts for (centre 1 unless switched by [`Registration::at`]).
    pub(crate) ca: Arc<CentreCa>,
    /// Every centre of the deployment whose CA this process holds.
    pub(crate) centres: Arc<Vec<Arc<CentreCa>>>,
    /// The authorised body's register signer, where this process holds it.
    pub(crate) register_signer: Option<Arc<imzo_ca::authority::RegisterSigner>>,
    pub(crate) config: Arc<RaConfig>,
    /// Payments made through this handle are the sandbox's (see [`Registration::sandbox_books`]).
    pub(crate) sandbox: bool,
}

impl Registration {
    /// The workflow of centre `ca`, keeping its state in `store`.
    pub fn new(store: Store, ca: CentreCa, config: RaConfig) -> Registration {
        let ca = Arc::new(ca);
        Registration {
            store,
            centres: Arc::new(vec![Arc::clone(&ca)]),
            ca,
            register_signer: None,
            config: Arc::new(config),
            sandbox: false,
        }
    }

    /// The same workflow whose payment books (Payme, Click and Paynet ledgers) record
    /// every payment under provider [`SANDBOX_PROVIDER`]: the payment sandbox pays through
    /// the providers' real protocol code, but no provider's money moved, so its payments
    /// must never show up in a provider's statement or reconciliation as theirs.
    pub fn sandbox_books(&self) -> Registration {
        Registration { sandbox: true, ..self.clone() }
    }

    /// `real`, or [`SANDBOX_PROVIDER`] for the sandbox's books.
    pub(crate) fn payment_provider(&self, real: &'static str) -> &'static str {
        if self.sandbox { SANDBOX_PROVIDER } else { real }
    }

    /// The same workflow serving every centre of `centres` too (the first centre given
    /// to [`Registration::new`] stays the default an applicant gets).
    pub fn with_centres(mut self, centres: Vec<CentreCa>) -> Registration {
        let mut all: Vec<Arc<CentreCa>> = vec![Arc::clone(&self.ca)];
        all.extend(centres.into_iter().filter(|c| c.centre_id != self.ca.centre_id).map(Arc::new));
        self.centres = Arc::new(all);
        self
    }

    /// The same workflow with the authorised body's register signer (for the signed
    /// register file).
    pub fn with_register_signer(mut self, signer: imzo_ca::authority::RegisterSigner) -> Registration {
        self.register_signer = Some(Arc::new(signer));
        self
    }

    /// Every centre whose CA this workflow holds, the default first.
    pub fn centre_cas(&self) -> Vec<&CentreCa> {
        self.centres.iter().map(|c| c.as_ref()).collect()
    }

    /// The CA of centre `centre_id`, if this workflow holds it.
    pub fn centre_ca(&self, centre_id: &str) -> Option<&CentreCa> {
        self.centres.iter().find(|c| c.centre_id == centre_id || c.ca_id == centre_id).map(|c| c.as_ref())
    }

    /// The register signer, if this process holds it.
    pub fn register_signer(&self) -> Option<&imzo_ca::authority::RegisterSigner> {
        self.register_signer.as_deref()
    }

    /// This workflow acting for centre `centre_id` (whose application it is working on):
    /// audit rows, SMS and issuance go to that centre.
    pub(crate) fn at(&self, centre_id: &str) -> Result<Registration, RaError> {
        if self.ca.centre_id == centre_id {
            return Ok(self.clone());
        }
        let ca = self
            .centres
            .iter()
            .find(|c| c.centre_id == centre_id)
            .ok_or_else(|| RaError::internal(format!("centre {centre_id}'s CA is not held by this process")))?;
        Ok(Registration { ca: Arc::clone(ca), ..self.clone() })
    }

    /// The registration centres an applicant can choose (`GET /api/v1/centres`).
    pub async fn centres(&self) -> Result<Vec<CentreInfo>, RaError> {
        flow::centres::list(self).await
    }

    /// Whether centre `centre_id` still stands: `Some` once its registration or its CA
    /// certificate was revoked (the earlier of the two), for relying parties to judge
    /// everything under it.
    pub async fn centre_ended(&self, centre_id: &str) -> Result<Option<CentreEnd>, RaError> {
        flow::centres::standing(self, self.store.pool(), centre_id).await
    }

    /// The store this workflow uses.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The centre's CA.
    pub fn ca(&self) -> &CentreCa {
        &self.ca
    }

    /// Step 1: validates the applicant's data, stores a draft, queues the SMS code.
    /// Limited per PINFL per day ([`RaConfig::starts_per_pinfl_per_day`]).
    pub async fn start(&self, request: StartRequest) -> Result<Started, RaError> {
        flow::phone::start(self, request, None).await
    }

    /// Step 1 as the portal serves it: [`Registration::start`], also limited per `client`
    /// address per hour ([`RaConfig::starts_per_address_per_hour`]; see
    /// [`Registration::client_address`]).
    pub async fn start_from(&self, request: StartRequest, client: &str) -> Result<Started, RaError> {
        flow::phone::start(self, request, Some(client)).await
    }

    /// Sends a new code for a draft (within the resend limits).
    pub async fn resend_code(&self, draft_id: &str) -> Result<Started, RaError> {
        flow::phone::resend_code(self, draft_id).await
    }

    /// Step 2: checks the SMS code.
    pub async fn verify_phone(&self, draft_id: &str, code: &str) -> Result<(), RaError> {
        flow::phone::verify_phone(self, draft_id, code).await
    }

    /// Steps 3–4: PKCS#10 request (PEM or DER) and the two documents → number and fee.
    pub async fn submit(
        &self,
        draft_id: &str,
        csr: &[u8],
        passport_scan: Upload,
        selfie: Upload,
    ) -> Result<Submitted, RaError> {
        flow::submit::submit(self, draft_id, csr, passport_scan, selfie).await
    }

    /// A new captcha for a lookup by number.
    pub async fn new_captcha(&self) -> Result<Captcha, RaError> {
        flow::lookup::new_captcha(self).await
    }

    /// Step 7, people: find an application by number and captcha answer.
    pub async fn lookup(&self, number: &str, captcha_id: &str, answer: &str) -> Result<ApplicationView, RaError> {
        flow::lookup::lookup(self, number, captcha_id, answer).await
    }

    /// Step 7, people, as the portal serves it: rate-limited per `client` address, one
    /// guess per captcha, and only the status (no personal data).
    pub async fn lookup_status(
        &self,
        number: &str,
        captcha_id: &str,
        answer: &str,
        client: &str,
    ) -> Result<LookupStatus, RaError> {
        flow::lookup::lookup_status(self, number, captcha_id, answer, client).await
    }

    /// The client address of a request: `X-Real-IP` only when the socket `peer` is a
    /// configured trusted proxy, else the peer.
    pub fn client_address(&self, peer: Option<std::net::IpAddr>, x_real_ip: Option<&str>) -> String {
        flow::lookup::client_address(self, peer, x_real_ip)
    }

    /// Counts one request by `client` for a new challenge or captcha of `kind` (`captcha`,
    /// `pop`, `relying-party`, …) and refuses it (429 with a retry time) past the
    /// configured number per minute: each such request writes a row, so none is free.
    pub async fn limit_challenges(&self, kind: &str, client: &str) -> Result<(), RaError> {
        flow::lookup::limit_challenges(self, kind, client).await
    }

    /// Step 7, key holders: a proof-of-possession challenge for an application.
    pub async fn new_challenge(&self, number: &str) -> Result<Challenge, RaError> {
        flow::lookup::new_challenge(self, number).await
    }

    /// Shows an application to the holder of its request's key (no captcha needed).
    /// `cms` is the proof of possession over the challenge bytes.
    pub async fn view_with_proof(
        &self,
        number: &str,
        challenge_id: &str,
        cms: &[u8],
    ) -> Result<ApplicationView, RaError> {
        flow::lookup::view_with_proof(self, number, challenge_id, cms).await
    }

    /// Step 7: confirms an approved application with a proof of possession and issues the
    /// two-year certificate.
    pub async fn confirm(&self, number: &str, challenge_id: &str, cms: &[u8]) -> Result<Issued, RaError> {
        flow::enrol::confirm(self, number, challenge_id, cms).await
    }

    /// Step 8: the issued certificate of an application, with chain.
    pub async fn certificate(&self, number: &str) -> Result<Issued, RaError> {
        flow::lookup::certificate(self, number).await
    }

    /// A challenge for a holder to sign a renewal application with.
    pub async fn renewal_challenge(&self) -> Result<Challenge, RaError> {
        flow::renewal::renewal_challenge(self).await
    }

    /// Renewal: a holder of a valid certificate of this centre applies for a new one with
    /// a [`RenewalDocument`] signed (attached CMS) by the current key. No documents, no
    /// review; the fee is due as for a first application, then approval is automatic.
    pub async fn renew(&self, signed_renewal: &[u8]) -> Result<Submitted, RaError> {
        flow::renewal::renew(self, signed_renewal).await
    }

    /// A challenge for an operator to sign a decision with.
    pub async fn operator_challenge(&self) -> Result<Challenge, RaError> {
        flow::review::operator_challenge(self).await
    }

    /// Step 6: applies a decision signed (attached CMS over a JSON [`DecisionDocument`])
    /// by a registered operator of this centre.
    pub async fn operator_decide(&self, signed_decision: &[u8]) -> Result<ApplicationView, RaError> {
        flow::review::operator_decide(self, signed_decision).await
    }

    /// The review queue for an operator who signed (attached CMS) an [`OperatorRequest`]
    /// with action `queue`; audited as `operator.viewed`.
    pub async fn operator_queue(&self, signed_request: &[u8]) -> Result<Vec<ApplicationDetails>, RaError> {
        flow::operator_view::queue(self, signed_request).await
    }

    /// Application `number` for an operator who signed an [`OperatorRequest`] with action
    /// `show` naming it; audited as `operator.viewed`.
    pub async fn operator_application(&self, number: &str, signed_request: &[u8]) -> Result<ApplicationDetails, RaError> {
        flow::operator_view::application(self, number, signed_request).await
    }

    /// Document `kind` of application `number` (media type and bytes) for an operator who
    /// signed an [`OperatorRequest`] with action `document` naming both; audited as
    /// `operator.viewed`.
    pub async fn operator_document(
        &self,
        number: &str,
        kind: &str,
        signed_request: &[u8],
    ) -> Result<(String, Vec<u8>), RaError> {
        flow::operator_view::document(self, number, kind, signed_request).await
    }

    /// The audit trail of application `number` (this centre's only) for an operator who
    /// signed an [`OperatorRequest`] with action `audit` naming it; the view is audited too.
    pub async fn operator_audit_trail(&self, number: &str, signed_request: &[u8]) -> Result<Vec<AuditRecord>, RaError> {
        flow::operator_trail::audit_trail(self, number, signed_request).await
    }

    /// This centre's applications of the PINFL an operator signed an [`OperatorRequest`]
    /// with action `search` for, newest first; audited as `operator.viewed`.
    pub async fn operator_search(&self, signed_request: &[u8]) -> Result<Vec<ApplicationDetails>, RaError> {
        flow::operator_trail::search(self, signed_request).await
    }

    /// Paid applications of this centre waiting for review, oldest first (at most `limit`).
    pub async fn review_queue(&self, limit: i64) -> Result<Vec<ApplicationDetails>, RaError> {
        flow::review::review_queue(self, limit).await
    }

    /// Everything an operator reviews about application `number`.
    pub async fn application_details(&self, number: &str) -> Result<ApplicationDetails, RaError> {
        flow::review::application_details(self, number).await
    }

    /// A document of application `number` (`passport` or `selfie`): media type and bytes.
    pub async fn document(&self, number: &str, kind: &str) -> Result<(String, Vec<u8>), RaError> {
        flow::review::document(self, number, kind).await
    }

    /// Messages in the local SMS outbox, newest last (embedded default only).
    pub async fn outbox(&self, after_id: i64) -> Result<Vec<OutboxMessage>, RaError> {
        flow::lookup::outbox_after(self, after_id).await
    }

    /// Delivers due messages of the SMS queue through the configured gateway (any node
    /// may run it); returns how many were delivered.
    pub async fn deliver_sms(&self) -> Result<usize, RaError> {
        flow::sms_delivery::deliver_due(self).await
    }

    /// The workflow's clock.
    pub fn clock(&self) -> &crate::Clock {
        &self.config.clock
    }

    /// Runs background jobs that are due (payment deadlines, ...); returns how many ran.
    pub async fn run_due_jobs(&self) -> Result<usize, RaError> {
        flow::deadlines::run_due_jobs(self).await
    }
}
