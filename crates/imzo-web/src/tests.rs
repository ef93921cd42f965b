//! Router-level tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod hardening;
mod http;
mod lang;
mod openapi;
mod payme;
mod sandbox_providers;
mod uploads;
