//! Router-level tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod challenge_limits;
mod harness;
mod hardening;
mod http;
mod lang;
mod observability;
mod openapi;
mod payme;
mod portal_http;
mod sandbox_providers;
mod uploads;
