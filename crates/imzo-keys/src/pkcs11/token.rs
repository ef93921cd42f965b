//! Token initialisation: what SoftHSM2 (and HSMs that allow it over PKCS#11) needs
//! before a first key can be made. Production HSMs are usually initialised with the
//! vendor's own tools; this is for SoftHSM2 in tests, trials and small deployments.

use super::module::Module;
use super::{Pkcs11Error, describe};
use crate::KeyError;
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use std::path::Path;

/// Initialises the first uninitialised token of the module at `module_path` with
/// `label` and the security officer's PIN, then sets the user PIN.
pub fn init_token(module_path: &Path, label: &str, so_pin: &str, user_pin: &str) -> Result<(), KeyError> {
    let module = Module::get(module_path)?;
    let context = module.context();
    let slots = context.get_slots_with_token().map_err(|e| Pkcs11Error::call("listing the slots", e))?;
    let mut free = None;
    for slot in slots {
        let info = context.get_token_info(slot).map_err(|e| Pkcs11Error::call("reading a token", e))?;
        if info.token_initialized() && info.label() == label {
            return Err(Pkcs11Error::Setup(format!("{} already has a token labelled {label:?}", module_path.display())).into());
        }
        if !info.token_initialized() && free.is_none() {
            free = Some(slot);
        }
    }
    let slot = free.ok_or_else(|| {
        Pkcs11Error::Setup(format!("{} offers no uninitialised token", module_path.display()))
    })?;
    let so = AuthPin::from(so_pin);
    context
        .init_token(slot, &so, label)
        .map_err(|e| Pkcs11Error::Setup(format!("initialising token {label:?}: {}", describe(&e))))?;
    // SoftHSM2 moves a freshly initialised token to a slot of its own: find it by label.
    let slots = context.get_slots_with_token().map_err(|e| Pkcs11Error::call("listing the slots", e))?;
    let mut made = None;
    for slot in slots {
        let info = context.get_token_info(slot).map_err(|e| Pkcs11Error::call("reading a token", e))?;
        if info.token_initialized() && info.label() == label {
            made = Some(slot);
        }
    }
    let slot = made.ok_or_else(|| Pkcs11Error::Setup(format!("token {label:?} vanished after initialisation")))?;
    let session = context.open_rw_session(slot).map_err(|e| Pkcs11Error::call("opening a session", e))?;
    session.login(UserType::So, Some(&so)).map_err(|e| Pkcs11Error::call("logging in as security officer", e))?;
    session
        .init_pin(&AuthPin::from(user_pin))
        .map_err(|e| Pkcs11Error::call("setting the user PIN", e))?;
    session.logout().map_err(|e| Pkcs11Error::call("logging out", e))?;
    Ok(())
}
