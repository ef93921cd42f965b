//! Keys on PKCS#11 tokens (hardware security modules; SoftHSM2 in tests), named by RFC 7512
//! URIs and used through [`imzo_pki::RawSigner`] like every other key home.
//!
//! - [`Pkcs11Key::open`] finds an ECDSA P-256 private key, logs in with the URI's PIN and
//!   reads the public key from the token; signatures are `CKM_ECDSA` over a SHA-256
//!   digest computed here, DER-encoded as X.509 and CMS expect.
//! - A session the token lost (logged out, closed, library finalised, token removed and
//!   re-inserted) is re-opened and the signature tried once more.
//! - [`generate_p256`] makes a key pair on the token (`C_GenerateKeyPair`), for ceremonies.
//! - [`softhsm`] sets up throw-away SoftHSM2 tokens for tests and trials.

mod generate;
mod key;
mod module;
pub mod softhsm;
mod token;
pub mod uri;

pub use generate::generate_p256;
pub use key::Pkcs11Key;
pub use token::init_token;
pub use uri::{ObjectType, PinSource, Pkcs11Uri, UriError, is_pkcs11_uri};

use cryptoki::error::{Error, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use module::Module;
use zeroize::Zeroizing;

/// What went wrong with a token.
#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    /// The URI is malformed or names an unknown attribute.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// The module, token or key is missing or unsuitable.
    #[error("{0}")]
    Setup(String),
    /// A PKCS#11 call failed.
    #[error("{what}: {}", describe(.source))]
    Call {
        /// What was being done.
        what: String,
        /// The library's answer.
        source: Error,
    },
}

impl Pkcs11Error {
    fn call(what: impl Into<String>, source: Error) -> Pkcs11Error {
        Pkcs11Error::Call { what: what.into(), source }
    }

    /// Whether the failure means the session (or the login, or the library's
    /// initialisation) was lost, so re-opening may cure it.
    pub fn is_session_lost(&self) -> bool {
        matches!(
            self,
            Pkcs11Error::Call {
                source: Error::Pkcs11(
                    RvError::SessionHandleInvalid
                        | RvError::SessionClosed
                        | RvError::UserNotLoggedIn
                        | RvError::DeviceRemoved
                        | RvError::TokenNotPresent
                        | RvError::CryptokiNotInitialized
                        | RvError::KeyHandleInvalid
                        | RvError::ObjectHandleInvalid,
                    _
                ),
                ..
            }
        )
    }

    fn library_not_initialised(&self) -> bool {
        matches!(self, Pkcs11Error::Call { source: Error::Pkcs11(RvError::CryptokiNotInitialized, _), .. })
    }
}

/// `C_Sign failed: CKR_SESSION_HANDLE_INVALID` rather than the specification's paragraph.
fn describe(error: &Error) -> String {
    match error {
        Error::Pkcs11(rv, function) => {
            let mut name = String::from("CKR");
            for c in format!("{rv:?}").chars() {
                if c.is_ascii_uppercase() {
                    name.push('_');
                }
                name.push(c.to_ascii_uppercase());
            }
            format!("C_{function:?} failed: {name}")
        }
        other => other.to_string(),
    }
}

/// The slots whose token matches the URI's token and slot attributes (the library
/// attributes are checked against the module too).
fn matching_slots(module: &Module, uri: &Pkcs11Uri) -> Result<Vec<Slot>, Pkcs11Error> {
    let context = module.context();
    if uri.library_manufacturer.is_some() || uri.library_description.is_some() || uri.library_version.is_some() {
        let info = context.get_library_info().map_err(|e| Pkcs11Error::call("reading the library information", e))?;
        let version = info.library_version();
        let fits = uri.library_manufacturer.as_deref().is_none_or(|m| info.manufacturer_id() == m)
            && uri.library_description.as_deref().is_none_or(|d| info.library_description() == d)
            && uri.library_version.is_none_or(|(major, minor)| {
                version.major() == major && minor.is_none_or(|minor| version.minor() == minor)
            });
        if !fits {
            return Err(Pkcs11Error::Setup(format!(
                "{} is \"{}\" {}.{} by \"{}\", not the library the URI names",
                module.path().display(),
                info.library_description(),
                version.major(),
                version.minor(),
                info.manufacturer_id()
            )));
        }
    }
    let slots = context.get_slots_with_token().map_err(|e| Pkcs11Error::call("listing the slots", e))?;
    let mut found = Vec::new();
    let mut seen = Vec::new();
    for slot in slots {
        if uri.slot_id.is_some_and(|id| slot.id() != id) {
            continue;
        }
        let token = context.get_token_info(slot).map_err(|e| Pkcs11Error::call("reading a token's information", e))?;
        if !token.token_initialized() {
            continue;
        }
        let slot_info = context.get_slot_info(slot).map_err(|e| Pkcs11Error::call("reading a slot's information", e))?;
        seen.push(format!("\"{}\"", token.label()));
        let fits = uri.token.as_deref().is_none_or(|t| token.label() == t)
            && uri.manufacturer.as_deref().is_none_or(|m| token.manufacturer_id() == m)
            && uri.model.as_deref().is_none_or(|m| token.model() == m)
            && uri.serial.as_deref().is_none_or(|s| token.serial_number() == s)
            && uri.slot_description.as_deref().is_none_or(|d| slot_info.slot_description() == d)
            && uri.slot_manufacturer.as_deref().is_none_or(|m| slot_info.manufacturer_id() == m);
        if fits {
            found.push(slot);
        }
    }
    if found.is_empty() {
        let seen = if seen.is_empty() { "none".to_string() } else { seen.join(", ") };
        return Err(Pkcs11Error::Setup(format!(
            "no token of {} matches {uri} (tokens present: {seen})",
            module.path().display()
        )));
    }
    Ok(found)
}

/// Opens a read-write session on `slot` and logs the user in with `pin` (an application
/// already logged in through another session counts as logged in).
fn open_logged_in(module: &Module, slot: Slot, pin: Option<&Zeroizing<String>>) -> Result<Session, Pkcs11Error> {
    let session = module.context().open_rw_session(slot).map_err(|e| Pkcs11Error::call("opening a session", e))?;
    if let Some(pin) = pin {
        let secret = AuthPin::from(pin.as_str());
        match session.login(UserType::User, Some(&secret)) {
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e @ Error::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange, _)) => {
                return Err(Pkcs11Error::Setup(format!("the token refused the PIN ({})", describe(&e))));
            }
            Err(e) => return Err(Pkcs11Error::call("logging in", e)),
        }
    }
    Ok(session)
}

#[cfg(test)]
mod tests;
