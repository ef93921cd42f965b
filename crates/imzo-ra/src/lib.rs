//! The registration workflow of a registration centre (DESIGN §2): start, phone code,
//! key request and documents, number and fee, payment, review, lookup, proof of
//! possession, issuance.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
mod captcha;
pub mod config;
pub mod error;
pub mod fee;
mod flow;
pub mod number;
mod secret;
pub mod state;
pub mod upload;
pub mod validate;

pub use api::*;
pub use config::RaConfig;
pub use error::{ErrorKind, Localized, RaError};
