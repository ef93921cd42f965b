//! Imzo's certification authority: the authorised body's root and the registration
//! centres' CAs, issuing policy, serial numbers and certificate records. It acts only on
//! what the registration workflow decided, and reaches its keys only through the signer
//! interface.
#![warn(missing_docs)]

pub mod authority;
pub mod bootstrap;
pub mod ceremony;
pub mod centre;
pub mod crl;
pub mod delta_crl;
pub mod error;
pub mod ocsp;
pub mod ocsp_memory;
pub mod revocation;
pub mod registry;
pub mod revocation_error;
pub mod root;
mod files;
pub mod serial;
pub mod tsa;

pub use bootstrap::{Deployment, Settings};
pub use centre::{CentreCa, HOLDER_VALIDITY_DAYS, IssuedCert};
pub use error::CaError;
pub use revocation_error::StatusError;
