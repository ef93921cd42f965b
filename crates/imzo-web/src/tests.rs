//! Router-level tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod http;
mod openapi;
mod payme;
mod uploads;
