//! Request ids and HTTP metrics, for operating several nodes behind one proxy.
//!
//! Every response carries `x-request-id` (the caller's if it is a sane token, so a proxy's
//! id follows the request through; ours otherwise) and the request's tracing span records
//! it, so one id finds a request in the proxy's log and in every JSON log line it caused.
//! Counters and latency histograms live in this process's memory: each node reports its
//! own traffic and Prometheus adds them up.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// The request id header, both ways.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a caller: longer ones are replaced, not cut, so an id is
/// either the caller's exactly or ours.
const MAX_REQUEST_ID: usize = 64;

/// Is `id` safe to echo and log as it is (no spaces, quotes or control characters)?
pub(crate) fn is_sane_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A fresh id: 128 random bits in hex.
fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Without randomness an id only has to be unique in this process's logs.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        return format!("local-{}-{n}", std::process::id());
    }
    hex::encode(bytes)
}

/// Outermost layer: settles the request's id before the trace span is opened (the span
/// reads it from the request) and puts it on the response.
pub(crate) async fn request_id(mut request: Request, next: Next) -> Response {
    let given = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|id| is_sane_request_id(id));
    let id = match given {
        Some(id) => id.to_owned(),
        None => new_request_id(),
    };
    // Both spellings are visible ASCII only, so the header value cannot be refused.
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    request.headers_mut().insert(REQUEST_ID, value.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
}

/// The span of one request: method, path (never the query, which may carry codes) and id.
pub(crate) fn request_span(request: &Request) -> tracing::Span {
    let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// (method, route template, status).
type SeriesKey = (&'static str, String, u16);

/// One series: a request counter and its latency histogram.
#[derive(Default)]
struct Series {
    /// Requests per bucket (not cumulative; summed up when rendered).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// This node's HTTP counters, by method, route template and status.
#[derive(Default)]
pub(crate) struct HttpMetrics {
    series: RwLock<HashMap<SeriesKey, Arc<Series>>>,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").finish_non_exhaustive()
    }
}

/// Known methods by name; anything else is one label value, so a scanner sending made-up
/// methods cannot grow the series without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

impl HttpMetrics {
    /// Counts one answered request.
    pub(crate) fn observe(&self, method: &'static str, route: &str, status: u16, elapsed: std::time::Duration) {
        let key: SeriesKey = (method, route.to_owned(), status);
        let existing = self.series.read().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
        let series = match existing {
            Some(series) => series,
            None => Arc::clone(self.series.write().unwrap_or_else(|e| e.into_inner()).entry(key).or_default()),
        };
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|le| seconds <= *le) {
            series.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        series.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        series.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Appends the counters and histograms in Prometheus text format.
    pub(crate) fn render(&self, out: &mut String) {
        let mut series: Vec<(SeriesKey, Arc<Series>)> = self
            .series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        series.sort_by(|a, b| a.0.cmp(&b.0));
        let labels = |(method, route, status): &SeriesKey| {
            format!("method=\"{}\",route=\"{}\",status=\"{status}\"", escape_label(method), escape_label(route))
        };
        out.push_str("# HELP imzo_http_requests_total HTTP requests answered by this node.\n");
        out.push_str("# TYPE imzo_http_requests_total counter\n");
        for (key, s) in &series {
            let _ = writeln!(out, "imzo_http_requests_total{{{}}} {}", labels(key), s.count.load(Ordering::Relaxed));
        }
        out.push_str("# HELP imzo_http_request_duration_seconds Time from request to response head, by this node.\n");
        out.push_str("# TYPE imzo_http_request_duration_seconds histogram\n");
        for (key, s) in &series {
            let labels = labels(key);
            let mut cumulative = 0u64;
            for (le, bucket) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += bucket.load(Ordering::Relaxed);
                let _ = writeln!(out, "imzo_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            let count = s.count.load(Ordering::Relaxed);
            let _ = writeln!(out, "imzo_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}");
            let sum = s.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "imzo_http_request_duration_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "imzo_http_request_duration_seconds_count{{{labels}}} {count}");
        }
    }
}

/// Label value as the text format wants it: backslash, double quote and line feed escaped.
pub(crate) fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Counts every request under its route template (`/api/v1/applications/{key}/phone`,
/// never the concrete path, which would make a series per application), or `unmatched`.
pub(crate) async fn count_requests(State(metrics): State<Arc<HttpMetrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    let route = route.as_deref().unwrap_or("unmatched");
    metrics.observe(method, route, response.status().as_u16(), started.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_taken_only_when_sane() {
        assert!(is_sane_request_id("abc-DEF_1.2"));
        assert!(is_sane_request_id(&"a".repeat(64)));
        for bad in ["", "a b", "a\"b", "ü", "a/b", "a\nb"] {
            assert!(!is_sane_request_id(bad), "{bad:?}");
        }
        assert!(!is_sane_request_id(&"a".repeat(65)));
        let id = new_request_id();
        assert!(is_sane_request_id(&id) && id.len() == 32, "{id}");
    }

    #[test]
    fn labels_are_escaped_and_buckets_cumulative() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        let m = HttpMetrics::default();
        m.observe("GET", "/x\"y", 200, std::time::Duration::from_millis(1));
        m.observe("GET", "/x\"y", 200, std::time::Duration::from_millis(300));
        let mut out = String::new();
        m.render(&mut out);
        let labels = "method=\"GET\",route=\"/x\\\"y\",status=\"200\"";
        assert!(out.contains(&format!("imzo_http_requests_total{{{labels}}} 2\n")), "{out}");
        assert!(out.contains(&format!("imzo_http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1\n")), "{out}");
        assert!(out.contains(&format!("imzo_http_request_duration_seconds_bucket{{{labels},le=\"0.25\"}} 1\n")), "{out}");
        assert!(out.contains(&format!("imzo_http_request_duration_seconds_bucket{{{labels},le=\"0.5\"}} 2\n")), "{out}");
        assert!(out.contains(&format!("imzo_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 2\n")), "{out}");
    }
}
