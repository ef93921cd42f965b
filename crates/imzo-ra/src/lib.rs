//! The registration workflow of a registration centre (DESIGN §2): start, phone code,
//! key request and documents, number and fee, payment, review, lookup, proof of
//! possession, issuance.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
mod captcha;
pub mod clock;
pub mod config;
pub mod error;
pub mod fee;
mod flow;
pub mod number;
pub mod reasons;
mod secret;
pub mod state;
pub mod translit;
pub mod statement;
pub mod upload;
pub mod validate;

pub use api::*;
pub use clock::Clock;
/// SMS gateways, for the binary to configure [`RaConfig::with_sms_gateway`].
pub use imzo_gateways::sms;
pub use config::RaConfig;
pub use error::{ErrorKind, Language, Localized, RaError};
pub use flow::lost_key::LostKeyRequested;
