//! Where Imzo's private keys live, behind the one signer interface
//! ([`imzo_pki::RawSigner`]): software keys from encrypted PKCS#8 files and from `.pfx`
//! files (ECDSA P-256 or O'z DSt 1092 national keys), and ECDSA P-256 keys on PKCS#11 tokens
//! (HSMs) named by RFC 7512 URIs.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod algorithm;
mod durable;
pub mod error;
pub mod installed_base;
pub mod keyfile;
pub mod pfxfile;
pub mod pkcs11;
pub mod software;
pub mod stored;

pub use algorithm::KeyAlgorithm;
pub use error::KeyError;
pub use imzo_pki::RawSigner;
pub use software::SoftwareKey;
pub use stored::StoredKey;
