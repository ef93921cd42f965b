//! Liveness, readiness and metrics for load balancers, monitoring and the end-to-end test.

use crate::error::ApiError;
use crate::observe::{HttpMetrics, escape_label};
use crate::router::Shared;
use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use imzo_ca::CentreCa;
use imzo_ra::Localized;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// `GET /healthz` → `ok` once a trivial query (this centre's row) came back from the database.
pub(crate) async fn healthz(State(ctx): State<Shared>) -> Result<&'static str, ApiError> {
    let pool = ctx.registration.store().pool();
    match imzo_store::cas::centre(pool, &ctx.registration.ca().centre_id).await {
        Ok(Some(_)) => Ok("ok"),
        Ok(None) => Err(unavailable("the centre is not recorded in the database")),
        Err(e) => Err(unavailable(&e.to_string())),
    }
}

/// A hung token (a PKCS#11 module waiting on a network HSM) must make the node not ready,
/// not make the load balancer's probe hang.
const KEY_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET /readyz` → `ready` while this node can do its work: the database answers and the
/// centre CA's key (which also signs CRLs and certifies the OCSP responder) signs.
pub(crate) async fn readyz(State(ctx): State<Shared>) -> Result<&'static str, ApiError> {
    let pool = ctx.registration.store().pool();
    match imzo_store::cas::centre(pool, &ctx.registration.ca().centre_id).await {
        Ok(Some(_)) => {}
        Ok(None) => return Err(not_ready("the centre is not recorded in the database")),
        Err(e) => return Err(not_ready(&e.to_string())),
    }
    let ca = ctx.registration.ca().clone();
    let probe = tokio::task::spawn_blocking(move || signing_key_usable(&ca));
    match tokio::time::timeout(KEY_PROBE_TIMEOUT, probe).await {
        Ok(Ok(Ok(()))) => Ok("ready"),
        Ok(Ok(Err(detail))) => Err(not_ready(&detail)),
        Ok(Err(e)) => Err(not_ready(&format!("the signing probe failed: {e}"))),
        Err(_) => Err(not_ready("the CA signing key did not answer within 5 s")),
    }
}

/// Signs a probe with the CA's key and checks it against the CA certificate: a key that
/// signs but is not the certificate's would make CRLs and OCSP answers nobody accepts.
pub(crate) fn signing_key_usable(ca: &CentreCa) -> Result<(), String> {
    let expected =
        imzo_pki::cert::public_key_der(&ca.certificate).map_err(|e| format!("the CA certificate has no readable key: {e}"))?;
    let signer = ca.signer();
    if signer.public_key_der() != expected.as_slice() {
        return Err("the CA signing key is not the key of the CA certificate".to_owned());
    }
    let probe = b"imzo readiness probe";
    let signature = signer.sign(probe).map_err(|e| format!("the CA signing key cannot sign: {e}"))?;
    imzo_pki::alg::verify_signature(&expected, &signer.algorithm().oid().to_string(), probe, &signature)
        .map_err(|e| format!("the CA signing key made a signature that does not verify: {e}"))
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

fn not_ready(detail: &str) -> ApiError {
    tracing::warn!(detail, "readiness check failed");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        None,
        Localized {
            uz: "Xizmat hali so'rovlarni qabul qilishga tayyor emas".to_owned(),
            ru: "Сервис пока не готов принимать запросы".to_owned(),
            en: "The service is not ready to take requests".to_owned(),
        },
    )
}

/// The exposition format Prometheus reads (text, version 0.0.4).
pub(crate) const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`: this node's HTTP counters, then counts from the shared database.
pub(crate) async fn metrics(State(ctx): State<Shared>, Extension(http): Extension<Arc<HttpMetrics>>) -> Response {
    let mut out = String::with_capacity(8 * 1024);
    http.render(&mut out);
    let database_up = match database_metrics(&ctx, &mut out).await {
        Ok(()) => 1,
        Err(e) => {
            // The node's own counters are still worth a scrape while the database is away.
            tracing::warn!(error = %e, "metrics: database counts unavailable");
            0
        }
    };
    out.push_str("# HELP imzo_database_up Whether the database answered the counts of this scrape.\n");
    out.push_str("# TYPE imzo_database_up gauge\n");
    let _ = writeln!(out, "imzo_database_up {database_up}");
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], out).into_response()
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Everything is queried before anything is written, so a failing query leaves no half
/// family in the output.
async fn database_metrics(ctx: &Shared, out: &mut String) -> Result<(), imzo_store::StoreError> {
    use imzo_store::metrics as m;
    let pool = ctx.registration.store().pool();
    let applications = m::applications_by_state(pool).await?;
    let sms = m::sms_by_status(pool).await?;
    let certificates = m::certificates_by_status(pool).await?;
    let ocsp = m::ocsp_cache(pool).await?;
    let now_ms = imzo_store::time_ms::now_ms();

    let mut text = String::new();
    family(&mut text, "imzo_applications", "gauge", "Applications by centre and state.");
    for c in &applications {
        let _ = writeln!(text, "imzo_applications{{centre=\"{}\",state=\"{}\"}} {}", escape_label(&c.owner), escape_label(&c.kind), c.n);
    }
    family(&mut text, "imzo_sms_outbox_messages", "gauge", "SMS outbox messages by centre and status (queued is the queue depth).");
    for c in &sms {
        let _ = writeln!(text, "imzo_sms_outbox_messages{{centre=\"{}\",status=\"{}\"}} {}", escape_label(&c.owner), escape_label(&c.kind), c.n);
    }
    family(&mut text, "imzo_certificates", "gauge", "Certificates by issuing CA and current status.");
    for c in &certificates {
        let _ = writeln!(text, "imzo_certificates{{ca=\"{}\",status=\"{}\"}} {}", escape_label(&c.owner), escape_label(&c.kind), c.n);
    }
    let mut issued: Vec<(&str, i64, i64)> = Vec::new();
    for c in &certificates {
        let revoked = if c.kind == "revoked" { c.n } else { 0 };
        match issued.iter_mut().find(|(ca, _, _)| *ca == c.owner) {
            Some(entry) => {
                entry.1 += c.n;
                entry.2 += revoked;
            }
            None => issued.push((&c.owner, c.n, revoked)),
        }
    }
    family(&mut text, "imzo_certificates_issued_total", "counter", "Certificates issued, by issuing CA.");
    for (ca, n, _) in &issued {
        let _ = writeln!(text, "imzo_certificates_issued_total{{ca=\"{}\"}} {n}", escape_label(ca));
    }
    family(&mut text, "imzo_certificates_revoked", "gauge", "Certificates revoked, by issuing CA.");
    for (ca, _, n) in &issued {
        let _ = writeln!(text, "imzo_certificates_revoked{{ca=\"{}\"}} {n}", escape_label(ca));
    }
    family(&mut text, "imzo_ocsp_cached_responses", "gauge", "Pre-signed OCSP answers held, by CA.");
    for o in &ocsp {
        let _ = writeln!(text, "imzo_ocsp_cached_responses{{ca=\"{}\"}} {}", escape_label(&o.ca_id), o.responses);
    }
    family(&mut text, "imzo_ocsp_cache_oldest_age_seconds", "gauge", "Age of the oldest pre-signed OCSP answer, by CA.");
    for o in &ocsp {
        let age = (now_ms - o.oldest_this_update_ms).max(0) as f64 / 1000.0;
        let _ = writeln!(text, "imzo_ocsp_cache_oldest_age_seconds{{ca=\"{}\"}} {age}", escape_label(&o.ca_id));
    }
    out.push_str(&text);
    Ok(())
}
