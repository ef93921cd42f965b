//! The WebSocket server: `ws://127.0.0.1:<port>/service/cryptapi` and
//! `http://127.0.0.1:<port>/apidoc.html`.

use crate::service::Agent;
use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use std::sync::Arc;
use std::time::Duration;

/// Largest message accepted (a 16 MB document in base64, with room).
const MAX_MESSAGE: usize = 24 * 1024 * 1024;

/// The module's routes.
pub fn router(agent: Arc<Agent>) -> Router {
    Router::new()
        .route("/service/cryptapi", get(cryptapi))
        .route("/apidoc.html", get(apidoc))
        .with_state(agent)
}

async fn apidoc() -> Html<String> {
    Html(crate::apidoc::html())
}

async fn cryptapi(
    State(agent): State<Arc<Agent>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> impl IntoResponse {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ws.max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| session(agent, origin, socket))
}

/// Answers every text message of one connection in turn (clients send one and close).
async fn session(agent: Arc<Agent>, origin: Option<String>, mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        let text = match msg {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            Message::Close(_) => break,
            _ => continue,
        };
        let reply = agent.handle(origin.as_deref(), &text).await;
        if socket
            .send(Message::Text(reply.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
}

/// Serves on `listener` until the process ends; unloads idle keys every 30 seconds.
pub async fn serve(agent: Arc<Agent>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let sweeper = agent.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            let n = sweeper.unload_idle_keys();
            if n > 0 {
                tracing::info!(keys = n, "unloaded idle keys");
            }
        }
    });
    axum::serve(listener, router(agent)).await
}

/// Serves wss on `listener` (see [`crate::tls`]); run beside [`serve`].
pub async fn serve_tls(
    agent: Arc<Agent>,
    listener: crate::tls::TlsListener,
) -> std::io::Result<()> {
    axum::serve(listener, router(agent)).await
}
