//! Tracing to stderr, filtered by `RUST_LOG` (default: info); one JSON object per line
//! with `IMZO_LOG_FORMAT=json`, for log collectors of a cluster.

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Human-readable lines (coloured on a terminal).
    Text,
    /// One JSON object per line, with the fields of the current span (the request id).
    Json,
}

impl Format {
    /// The format `IMZO_LOG_FORMAT` asks for: `json`, or text for anything else (an
    /// unknown value must not keep a node from starting; it is warned about once logging is up).
    fn from_env(value: Option<&str>) -> (Format, Option<String>) {
        match value.map(str::trim) {
            None | Some("" | "text") => (Format::Text, None),
            Some(v) if v.eq_ignore_ascii_case("json") => (Format::Json, None),
            Some(other) => (Format::Text, Some(other.to_owned())),
        }
    }
}

/// Installs the stderr subscriber once.
pub(crate) fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let requested = std::env::var("IMZO_LOG_FORMAT").ok();
    let (format, unknown) = Format::from_env(requested.as_deref());
    use std::io::IsTerminal;
    let _ = match format {
        Format::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .try_init(),
        Format::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    if let Some(value) = unknown {
        tracing::warn!(value, "IMZO_LOG_FORMAT is neither text nor json; writing text");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_environment() {
        assert_eq!(Format::from_env(None), (Format::Text, None));
        assert_eq!(Format::from_env(Some("json")), (Format::Json, None));
        assert_eq!(Format::from_env(Some(" JSON ")), (Format::Json, None));
        assert_eq!(Format::from_env(Some("text")), (Format::Text, None));
        assert_eq!(Format::from_env(Some("xml")), (Format::Text, Some("xml".to_owned())));
    }
}
