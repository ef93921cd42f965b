//! The handlers' shared context: [`AppState`](crate::AppState) with the Payme ledger behind
//! an object-safe face, so handlers need no type parameter.

use axum::body::Bytes;
use imzo_gateways::payme::{self, Ledger, Refusal};
use imzo_ra::Registration;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The Payme merchant endpoint as the web layer uses it.
pub(crate) trait PaymeEndpoint: Send + Sync {
    /// One Merchant API call: `Authorization` header and raw body in, JSON-RPC reply out.
    fn call(&self, auth_header: Option<String>, body: Bytes) -> BoxFuture<'_, Value>;
    /// The merchant key in force (the sandbox authenticates with it, as Payme would).
    fn merchant_key(&self) -> BoxFuture<'_, Result<Option<String>, Refusal>>;
}

impl<L: Ledger> PaymeEndpoint for L {
    fn call(&self, auth_header: Option<String>, body: Bytes) -> BoxFuture<'_, Value> {
        Box::pin(async move { payme::handle(self, auth_header.as_deref(), &body).await })
    }

    fn merchant_key(&self) -> BoxFuture<'_, Result<Option<String>, Refusal>> {
        Box::pin(Ledger::merchant_key(self))
    }
}

/// What every handler can reach.
pub(crate) struct Ctx {
    pub(crate) registration: Registration,
    pub(crate) payme: Box<dyn PaymeEndpoint>,
    pub(crate) ca_certificates: Vec<(String, Vec<u8>)>,
    pub(crate) payme_merchant_id: Option<String>,
    pub(crate) payme_sandbox: bool,
    pub(crate) click: Option<imzo_gateways::click::Settings>,
    pub(crate) paynet: Option<imzo_gateways::paynet::Settings>,
    pub(crate) status: crate::routes::status::StatusPublishing,
    pub(crate) tsa: std::sync::Arc<imzo_ca::tsa::Tsa>,
}
