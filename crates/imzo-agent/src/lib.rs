//! Imzo's local signing module. For now: where key files live (`DSKEYS` folders) and
//! how they are named.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod dskeys;
