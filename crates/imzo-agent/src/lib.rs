//! Imzo's local signing module (`imzo agent`): the E-IMZO-compatible JSON-over-WebSocket
//! API on 127.0.0.1 that web pages call to list, load and use the keys in `DSKEYS`
//! folders, with passwords and consent asked through the module's own dialog
//! ([`prompt`]), never through the page; plus our enrolment calls ([`enrol`]).
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod apidoc;
mod calls;
pub mod config;
pub mod dskeys;
pub mod enrol;
mod keyring;
pub mod prompt;
pub mod server;
pub mod service;
mod signeddata;
pub mod sites;
pub mod tls;
pub mod trust;

pub use config::AgentConfig;
pub use service::Agent;
