//! Imzo's HTTP layer: the application API, payment callbacks, certificate downloads.
//! It holds no key: everything that signs is reached through the workflow and the CA.
#![warn(missing_docs)]

mod context;
mod error;
mod extract;
mod lang;
mod money;
mod observe;
mod portal;
mod router;
mod routes;
mod state;
mod upload;

#[cfg(test)]
mod tests;

pub use error::ApiError;
pub use router::{router, router_with_root_crl, router_with_services, router_with_status};
pub use state::AppState;
