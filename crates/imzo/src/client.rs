//! A small client of a deployment's HTTP API, for the `enroll`, `operator` and `outbox`
//! commands.

use anyhow::{Context, Result, anyhow};
use serde::{Serialize, de::DeserializeOwned};

/// The server refused the request (a definite answer, not a failure to ask).
#[derive(Debug, thiserror::Error)]
#[error("the server refused: {message} ({code}{field}, HTTP {status})")]
pub(crate) struct Refused {
    /// HTTP status.
    pub(crate) status: u16,
    /// The API's stable error code.
    pub(crate) code: String,
    /// `, field x` when the API named a field.
    pub(crate) field: String,
    /// The English message.
    pub(crate) message: String,
}

/// The server to talk to, when `--server` is not given.
pub(crate) const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// A client of one deployment.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    base: url::Url,
    http: reqwest::Client,
}

impl Client {
    /// A client of the deployment at `server` (`http://127.0.0.1:8080`).
    pub(crate) fn new(server: &str) -> Result<Client> {
        let base = url::Url::parse(server).with_context(|| format!("--server: {server:?} is not a URL"))?;
        if !matches!(base.scheme(), "http" | "https") {
            anyhow::bail!("--server: {server:?} must be an http or https URL");
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Client { base, http })
    }

    /// The absolute URL of `path` on this server.
    pub(crate) fn url(&self, path: &str) -> Result<url::Url> {
        self.base.join(path).with_context(|| format!("bad path {path}"))
    }

    /// `GET path`, JSON answer.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = self.url(path)?;
        let response = self.http.get(url.clone()).send().await.map_err(|e| unreachable(&url, &e))?;
        decode(response).await
    }

    /// `POST path` with a JSON body, JSON answer.
    pub(crate) async fn post_json<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let url = self.url(path)?;
        let response = self.http.post(url.clone()).json(body).send().await.map_err(|e| unreachable(&url, &e))?;
        decode(response).await
    }

    /// `POST path` with raw bytes of `content_type`, JSON answer.
    pub(crate) async fn post_bytes<T: DeserializeOwned>(&self, path: &str, content_type: &str, body: Vec<u8>) -> Result<T> {
        let url = self.url(path)?;
        let response = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(&url, &e))?;
        decode(response).await
    }

    /// `POST path` with raw bytes of `content_type`; the answer's media type and bytes.
    pub(crate) async fn post_bytes_for_bytes(&self, path: &str, content_type: &str, body: Vec<u8>) -> Result<(String, Vec<u8>)> {
        let url = self.url(path)?;
        let response = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(&url, &e))?;
        if !response.status().is_success() {
            // A refusal is JSON like any other; `decode` words it.
            return decode::<serde_json::Value>(response).await.map(|_| (String::new(), Vec::new()));
        }
        let media_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let bytes = response.bytes().await.with_context(|| format!("cannot read the answer of {url}"))?;
        Ok((media_type, bytes.to_vec()))
    }

    /// `POST path` with a multipart form, JSON answer.
    pub(crate) async fn post_multipart<T: DeserializeOwned>(&self, path: &str, form: reqwest::multipart::Form) -> Result<T> {
        let url = self.url(path)?;
        let response = self.http.post(url.clone()).multipart(form).send().await.map_err(|e| unreachable(&url, &e))?;
        decode(response).await
    }
}

/// "cannot reach URL: <the innermost cause>", rather than every layer repeating the URL.
fn unreachable(url: &url::Url, error: &reqwest::Error) -> anyhow::Error {
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    anyhow!("cannot reach {url}: {cause}")
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    let status = response.status();
    let url = response.url().clone();
    let body = response.bytes().await.with_context(|| format!("cannot read the answer of {url}"))?;
    if status.is_success() {
        return serde_json::from_slice(&body).with_context(|| format!("unexpected answer from {url}"));
    }
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let error = &parsed["error"];
    let message = error["message"]["en"]
        .as_str()
        .or_else(|| error["message"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(300).collect());
    let refused = Refused {
        status: status.as_u16(),
        code: error["code"].as_str().unwrap_or("error").to_string(),
        field: error["field"].as_str().map(|f| format!(", field {f}")).unwrap_or_default(),
        message,
    };
    if status.is_server_error() {
        return Err(anyhow!("{url}: {refused}"));
    }
    Err(refused.into())
}
