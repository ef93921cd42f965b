//! Pure PKI building blocks for Imzo: no I/O, no async, no database.
//!
//! Everything that turns bytes into certificates, requests, signatures and key files
//! (and back) lives here, so every other crate speaks in these types and never touches
//! ASN.1 itself.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod alg;
pub mod cert;
pub mod cms;
pub mod cms_tools;
pub mod crl;
pub mod csr;
pub mod error;
pub mod name;
pub mod ocsp;
pub mod oid;
pub mod ozdst;
pub mod path;
pub mod pem;
pub mod pfx;
pub mod pkcs8;
pub mod tsp;
mod p12_bridge;
mod rsa_verify;

pub use alg::{RawSigner, SignatureAlgorithm};
pub use error::PkiError;
pub use x509_cert::Certificate;
