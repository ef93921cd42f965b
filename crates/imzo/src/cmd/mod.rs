//! One module per subcommand of the `imzo` binary.

pub(crate) mod pfx;
pub(crate) mod sign;
pub(crate) mod timestamp;
pub(crate) mod trust;
pub(crate) mod verify;
pub(crate) mod x509;

pub(crate) mod agent;
pub(crate) mod audit;
pub(crate) mod authority;
pub(crate) mod backup;
pub(crate) mod bench;
pub(crate) mod ca;
pub(crate) mod config_check;
pub(crate) mod enroll;
pub(crate) mod enroll_input;
pub(crate) mod hsm;
pub(crate) mod operator;
pub(crate) mod operator_view;
pub(crate) mod outbox;
pub(crate) mod payments;
pub(crate) mod revocation;
pub(crate) mod revoke;
pub(crate) mod revoke_lost;
pub(crate) mod up;
