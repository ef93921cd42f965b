//! Where Imzo's private keys live, behind the one signer interface
//! ([`imzo_pki::RawSigner`]): software keys from encrypted PKCS#8 files and from `.pfx`
//! files (ECDSA P-256 or O'z DSt 1092 national keys). PKCS#11 tokens come later behind the same trait.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod algorithm;
mod durable;
pub mod error;
pub mod installed_base;
pub mod keyfile;
pub mod pfxfile;
pub mod software;

pub use algorithm::KeyAlgorithm;
pub use error::KeyError;
pub use imzo_pki::RawSigner;
pub use software::SoftwareKey;
