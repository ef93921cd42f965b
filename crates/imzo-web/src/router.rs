//! The route table. Every route is registered through [`Routes::add`] together with the
//! path the OpenAPI document gives it, so the test can hold the two against each other.

use crate::context::Ctx;
use crate::error::ApiError;
use crate::routes::{applications, ca, certificates, dev, health, lookup, lost_key, openapi, operator, pay, relying_party, renewal, sandbox, status, tsa};
use crate::{AppState, extract::JSON_BODY_LIMIT};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodRouter, get, post};
use imzo_gateways::payme::Ledger;
use std::sync::Arc;
use tower_http::trace::TraceLayer;

pub(crate) type Shared = Arc<Ctx>;

/// Largest submission body: two 5 MB documents, the request and multipart framing.
pub(crate) const SUBMIT_BODY_LIMIT: usize = 11 * 1024 * 1024;

/// Largest relying-party body: base64 of signed documents (a 10 MB document, twice
/// for data and attached signature).
pub(crate) const RELYING_PARTY_BODY_LIMIT: usize = 28 * 1024 * 1024;

/// A router under construction plus the (method, documented path) list of what it serves.
pub(crate) struct Routes {
    router: Router<Shared>,
    table: Vec<(Method, &'static str)>,
}

impl Routes {
    fn new() -> Self {
        Routes { router: Router::new(), table: Vec::new() }
    }

    /// Serves `handler` at `axum_path` and records it under `documented` (the OpenAPI
    /// spelling, which may differ: matchit allows no suffix after a parameter, and one
    /// segment must keep one parameter name across routes).
    fn add(mut self, method: Method, documented: &[&'static str], axum_path: &str, handler: MethodRouter<Shared>) -> Self {
        self.table.extend(documented.iter().map(|path| (method.clone(), *path)));
        self.router = self.router.route(axum_path, handler);
        self
    }

    /// (method, documented path) of every route served.
    #[cfg(test)]
    pub(crate) fn table(&self) -> &[(Method, &'static str)] {
        &self.table
    }
}

/// All routes for a deployment with these switches.
pub(crate) fn routes(dev_outbox: bool, payme_sandbox: bool) -> Routes {
    let mut r = Routes::new()
        .add(Method::GET, &["/healthz"], "/healthz", get(health::healthz))
        .add(Method::GET, &["/readyz"], "/readyz", get(health::readyz))
        .add(Method::GET, &["/metrics"], "/metrics", get(health::metrics))
        .add(Method::GET, &["/api/openapi.json"], "/api/openapi.json", get(openapi::document))
        .add(Method::POST, &["/api/v1/applications"], "/api/v1/applications", post(applications::start))
        .add(
            Method::POST,
            &["/api/v1/applications/{draft_id}/code/resend"],
            "/api/v1/applications/{key}/code/resend",
            post(applications::resend_code),
        )
        .add(
            Method::POST,
            &["/api/v1/applications/{draft_id}/phone"],
            "/api/v1/applications/{key}/phone",
            post(applications::verify_phone),
        )
        .add(
            Method::POST,
            &["/api/v1/applications/{draft_id}/submit"],
            "/api/v1/applications/{key}/submit",
            post(applications::submit).layer(DefaultBodyLimit::max(SUBMIT_BODY_LIMIT)),
        )
        .add(Method::POST, &["/api/v1/captcha"], "/api/v1/captcha", post(lookup::new_captcha))
        .add(Method::POST, &["/api/v1/lookup"], "/api/v1/lookup", post(lookup::lookup))
        .add(
            Method::POST,
            &["/api/v1/applications/{number}/challenge"],
            "/api/v1/applications/{key}/challenge",
            post(lookup::challenge),
        )
        .add(Method::POST, &["/api/v1/applications/{number}/view"], "/api/v1/applications/{key}/view", post(lookup::view))
        .add(
            Method::POST,
            &["/api/v1/applications/{number}/confirm"],
            "/api/v1/applications/{key}/confirm",
            post(lookup::confirm),
        )
        .add(
            Method::GET,
            &["/api/v1/applications/{number}/certificate"],
            "/api/v1/applications/{key}/certificate",
            get(lookup::certificate),
        )
        .add(Method::POST, &["/api/v1/operator/challenge"], "/api/v1/operator/challenge", post(operator::challenge))
        .add(Method::POST, &["/api/v1/operator/decisions"], "/api/v1/operator/decisions", post(operator::decide))
        .add(Method::POST, &["/api/v1/operator/queue"], "/api/v1/operator/queue", post(operator::queue))
        .add(
            Method::POST,
            &["/api/v1/operator/applications/{number}"],
            "/api/v1/operator/applications/{number}",
            post(operator::application),
        )
        .add(
            Method::POST,
            &["/api/v1/operator/applications/{number}/documents/{kind}"],
            "/api/v1/operator/applications/{number}/documents/{kind}",
            post(operator::document),
        )
        .add(
            Method::POST,
            &["/api/v1/operator/applications/{number}/audit"],
            "/api/v1/operator/applications/{number}/audit",
            post(operator::audit_trail),
        )
        .add(Method::POST, &["/api/v1/operator/search"], "/api/v1/operator/search", post(operator::search))
        .add(
            Method::GET,
            &["/api/v1/operator/rejection-reasons"],
            "/api/v1/operator/rejection-reasons",
            get(renewal::rejection_reasons),
        )
        .add(Method::POST, &["/api/v1/renewals/challenge"], "/api/v1/renewals/challenge", post(renewal::challenge))
        .add(Method::POST, &["/api/v1/renewals"], "/api/v1/renewals", post(renewal::renew))
        .add(
            Method::GET,
            &["/api/v1/certificates/{serial}.pem", "/api/v1/certificates/{serial}.der"],
            "/api/v1/certificates/{file}",
            get(certificates::by_serial),
        )
        .add(Method::GET, &["/ca/{id}.crt", "/ca/{id}.pem"], "/ca/{file}", get(ca::certificate))
        .add(Method::POST, &["/pay/payme"], "/pay/payme", post(pay::payme).fallback(pay::payme_not_post))
        .add(Method::POST, &["/pay/click/prepare"], "/pay/click/prepare", post(pay::click_prepare))
        .add(Method::POST, &["/pay/click/complete"], "/pay/click/complete", post(pay::click_complete))
        .add(Method::POST, &["/pay/paynet"], "/pay/paynet", post(pay::paynet))
        .add(Method::POST, &["/api/v1/revocations/challenge"], "/api/v1/revocations/challenge", post(status::challenge))
        .add(Method::POST, &["/api/v1/revocations"], "/api/v1/revocations", post(status::revoke))
        .add(Method::POST, &["/api/v1/revocations/lost"], "/api/v1/revocations/lost", post(lost_key::start))
        .add(
            Method::POST,
            &["/api/v1/revocations/lost/{request_id}/resend"],
            "/api/v1/revocations/lost/{request_id}/resend",
            post(lost_key::resend),
        )
        .add(
            Method::POST,
            &["/api/v1/revocations/lost/{request_id}/confirm"],
            "/api/v1/revocations/lost/{request_id}/confirm",
            post(lost_key::confirm),
        )
        .add(Method::GET, &["/crl/{ca}.crl", "/crl/{ca}-delta.crl"], "/crl/{file}", get(status::crl))
        .add(Method::POST, &["/ocsp"], "/ocsp", post(status::ocsp_post))
        .add(Method::GET, &["/ocsp/{request}"], "/ocsp/{*request}", get(status::ocsp_get))
        .add(Method::POST, &["/tsa"], "/tsa", post(tsa::timestamp))
        .add(Method::GET, &["/frontend/challenge"], "/frontend/challenge", get(relying_party::challenge))
        .add(Method::POST, &["/backend/auth"], "/backend/auth", post(relying_party::auth))
        .add(
            Method::POST,
            &["/backend/pkcs7/verify/attached"],
            "/backend/pkcs7/verify/attached",
            post(relying_party::verify_attached).layer(DefaultBodyLimit::max(RELYING_PARTY_BODY_LIMIT)),
        )
        .add(
            Method::POST,
            &["/backend/pkcs7/verify/detached"],
            "/backend/pkcs7/verify/detached",
            post(relying_party::verify_detached).layer(DefaultBodyLimit::max(RELYING_PARTY_BODY_LIMIT)),
        )
        .add(
            Method::POST,
            &["/frontend/pkcs7/make-attached"],
            "/frontend/pkcs7/make-attached",
            post(relying_party::make_attached).layer(DefaultBodyLimit::max(RELYING_PARTY_BODY_LIMIT)),
        )
        .add(
            Method::POST,
            &["/frontend/pkcs7/join"],
            "/frontend/pkcs7/join",
            post(relying_party::join).layer(DefaultBodyLimit::max(RELYING_PARTY_BODY_LIMIT)),
        )
        .add(
            Method::POST,
            &["/frontend/timestamp/pkcs7"],
            "/frontend/timestamp/pkcs7",
            post(relying_party::timestamp_pkcs7).layer(DefaultBodyLimit::max(RELYING_PARTY_BODY_LIMIT)),
        );
    // The applicant portal (HTML pages and their embedded scripts).
    r = r
        .add(Method::GET, &["/"], "/", get(crate::portal::pages::home))
        .add(Method::GET, &["/apply"], "/apply", get(crate::portal::pages::apply))
        .add(Method::GET, &["/find"], "/find", get(crate::portal::pages::find))
        .add(Method::GET, &["/console"], "/console", get(crate::portal::console::page))
        .add(Method::GET, &["/download/imzo"], "/download/imzo", get(crate::portal::download::module))
        .add(Method::GET, &["/portal/{asset}"], "/portal/{asset}", get(crate::portal::assets::asset));
    // The public state register and the centres an applicant chooses from.
    r = r
        .add(Method::GET, &["/api/v1/centres"], "/api/v1/centres", get(crate::routes::registry::centres))
        .add(Method::GET, &["/registry"], "/registry", get(crate::routes::registry::page))
        .add(Method::GET, &["/api/v1/registry"], "/api/v1/registry", get(crate::routes::registry::register_json))
        .add(Method::GET, &["/api/v1/registry/signed"], "/api/v1/registry/signed", get(crate::routes::registry::register_signed))
        .add(Method::POST, &["/api/v1/registry/check"], "/api/v1/registry/check", post(crate::routes::registry::check));
    if dev_outbox {
        r = r.add(Method::GET, &["/api/v1/dev/outbox"], "/api/v1/dev/outbox", get(dev::outbox));
    }
    if payme_sandbox {
        r = r
            .add(Method::GET, &["/sandbox/pay"], "/sandbox/pay", get(sandbox::page))
            .add(Method::POST, &["/sandbox/pay"], "/sandbox/pay", post(sandbox::pay_form))
            .add(Method::GET, &["/sandbox/pay/{number}"], "/sandbox/pay/{number}", get(sandbox::page_for))
            .add(Method::POST, &["/sandbox/pay/{number}"], "/sandbox/pay/{number}", post(sandbox::pay_form_for))
            .add(Method::POST, &["/api/v1/dev/sandbox/pay"], "/api/v1/dev/sandbox/pay", post(sandbox::pay_json));
    }
    r
}

async fn no_route() -> ApiError {
    ApiError::not_found("route")
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        None,
        imzo_ra::Localized {
            uz: "Bu manzil uchun bunday HTTP metodi yo'q".to_owned(),
            ru: "Этот HTTP-метод не поддерживается по данному адресу".to_owned(),
            en: "This HTTP method is not allowed here".to_owned(),
        },
    )
}

/// The whole HTTP surface of a registration centre, with the default CRL and OCSP
/// policies.
pub fn router<L>(state: AppState<L>) -> Router
where
    L: Ledger + 'static,
{
    let responder = status::default_responder(&state.registration, imzo_ca::ocsp::OcspPolicy::default());
    router_with_status(state, imzo_ca::crl::CrlPolicy::default(), responder)
}

/// The whole HTTP surface of a registration centre, CRLs made by `crl_policy` and OCSP
/// answered by `responder` (shared with the job that signs answers ahead).
pub fn router_with_status<L>(
    state: AppState<L>,
    crl_policy: imzo_ca::crl::CrlPolicy,
    responder: Arc<imzo_ca::ocsp::OcspResponder>,
) -> Router
where
    L: Ledger + 'static,
{
    let tsa = match imzo_ca::tsa::Tsa::new(state.registration.ca().clone(), imzo_ca::tsa::TsaSettings::default()) {
        Ok(tsa) => Arc::new(tsa),
        Err(e) => unreachable!("the default TSA policy is a valid OID: {e}"),
    };
    router_with_services(state, crl_policy, responder, tsa)
}

/// The whole HTTP surface, as [`router_with_status`], with time-stamps made by `tsa`.
pub fn router_with_services<L>(
    state: AppState<L>,
    crl_policy: imzo_ca::crl::CrlPolicy,
    responder: Arc<imzo_ca::ocsp::OcspResponder>,
    tsa: Arc<imzo_ca::tsa::Tsa>,
) -> Router
where
    L: Ledger + 'static,
{
    router_with_root_crl(state, crl_policy, responder, tsa, None)
}

/// The whole HTTP surface, as [`router_with_services`], also publishing the root's own
/// CRL at `/crl/{root id}.crl` when this node holds the root key (`root_crl`).
pub fn router_with_root_crl<L>(
    state: AppState<L>,
    crl_policy: imzo_ca::crl::CrlPolicy,
    responder: Arc<imzo_ca::ocsp::OcspResponder>,
    tsa: Arc<imzo_ca::tsa::Tsa>,
    root_crl: Option<imzo_ca::crl::CrlIssuer>,
) -> Router
where
    L: Ledger + 'static,
{
    let status = status::StatusPublishing { responder, crl_policy, root_crl };
    let routes = routes(state.dev_outbox, state.payme_sandbox);
    let ctx = Ctx {
        registration: state.registration,
        payme: Box::new(state.payme),
        ca_certificates: state.ca_certificates,
        payme_merchant_id: state.payme_merchant_id,
        payme_sandbox: state.payme_sandbox,
        click: state.click,
        paynet: state.paynet,
        status,
        tsa,
    };
    let http_metrics = Arc::new(crate::observe::HttpMetrics::default());
    // The last layer added runs first: the request id is settled before the trace span
    // reads it, and the counter sits inside both, after routing, to see the route template.
    routes
        .router
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn(crate::lang::localize_errors))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&http_metrics), crate::observe::count_requests))
        .layer(axum::Extension(http_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(crate::observe::request_span))
        .layer(axum::middleware::from_fn(crate::observe::request_id))
        .with_state(Arc::new(ctx))
}
