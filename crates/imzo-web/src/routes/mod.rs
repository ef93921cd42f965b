//! Handlers, grouped by the part of the flow they serve.

pub(crate) mod applications;
pub(crate) mod ca;
pub(crate) mod certificates;
pub(crate) mod dev;
pub(crate) mod health;
pub(crate) mod lookup;
pub(crate) mod lost_key;
pub(crate) mod openapi;
pub(crate) mod operator;
pub(crate) mod pay;
pub(crate) mod registry;
pub(crate) mod relying_party;
pub(crate) mod renewal;
pub(crate) mod sandbox;
pub(crate) mod status;
pub(crate) mod status_texts;
pub(crate) mod tsa;
