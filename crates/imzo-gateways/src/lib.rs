//! Imzo's connections to the outside world: SMS gateways and the payment providers'
//! merchant protocols (the provider calls us; we answer in its protocol).
#![warn(missing_docs)]

pub mod click;
pub mod money;
pub mod payme;
pub mod paynet;
pub mod sms;
