//! One module per subcommand of the `imzo` binary.

pub(crate) mod pfx;
pub(crate) mod sign;
pub(crate) mod trust;
pub(crate) mod verify;
pub(crate) mod x509;

pub(crate) mod enroll;
pub(crate) mod operator;
pub(crate) mod outbox;
pub(crate) mod up;
