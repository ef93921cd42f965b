//! Key generation on the token, for ceremonies: the private key is made inside the token
//! and never leaves it (sensitive, not extractable).

use super::key::P256_PARAMS;
use super::module::Module;
use super::{Pkcs11Error, Pkcs11Key, Pkcs11Uri, matching_slots, open_logged_in};
use crate::KeyError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass};

/// Generates an ECDSA P-256 key pair (`C_GenerateKeyPair`, `CKM_EC_KEY_PAIR_GEN`) on the
/// one token the URI names, labelled with its `object` and given its `id` (16 random
/// bytes when the URI has none), and opens it.
///
/// Refuses when the token already holds a private key with that label or id, so a
/// repeated ceremony never leaves two keys answering to one name.
pub fn generate_p256(uri: &str) -> Result<Pkcs11Key, KeyError> {
    let mut uri = Pkcs11Uri::parse(uri).map_err(Pkcs11Error::from)?;
    if uri.object_type.is_some_and(|t| t != super::ObjectType::Private) {
        return Err(Pkcs11Error::Setup(format!("{uri}: a new key is named with type=private (or no type)")).into());
    }
    let label = uri
        .object
        .clone()
        .ok_or_else(|| Pkcs11Error::Setup(format!("{uri}: name the new key with object=LABEL")))?;
    let module = Module::get(uri.module().map_err(Pkcs11Error::from)?)?;
    let slots = matching_slots(&module, &uri)?;
    let [slot] = slots.as_slice() else {
        return Err(Pkcs11Error::Setup(format!(
            "{uri} matches {} tokens; add token= or serial= to choose one",
            slots.len()
        ))
        .into());
    };
    let pin = uri.pin.read().map_err(Pkcs11Error::from)?;
    if pin.is_none() {
        return Err(Pkcs11Error::Setup(format!("{uri}: generating a key needs the user PIN (pin-source=file:/path)")).into());
    }
    let session = open_logged_in(&module, *slot, pin.as_ref())?;
    let mut existing = vec![Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(label.as_bytes().to_vec())];
    let taken_label = session.find_objects(&existing).map_err(|e| Pkcs11Error::call("looking for the label", e))?;
    let taken_id = match &uri.id {
        Some(id) => {
            existing = vec![Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(id.clone())];
            session.find_objects(&existing).map_err(|e| Pkcs11Error::call("looking for the id", e))?
        }
        None => Vec::new(),
    };
    if !taken_label.is_empty() || !taken_id.is_empty() {
        return Err(Pkcs11Error::Setup(format!(
            "the token already holds a private key named by {uri}; use it as it is or choose another object= and id="
        ))
        .into());
    }
    let id = match uri.id.clone() {
        Some(id) => id,
        None => {
            let mut id = vec![0u8; 16];
            getrandom::fill(&mut id).map_err(|e| Pkcs11Error::Setup(format!("random source: {e}")))?;
            id
        }
    };
    let public = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        // A CA key signs and does nothing else.
        Attribute::Encrypt(false),
        Attribute::Wrap(false),
        Attribute::KeyType(KeyType::EC),
        Attribute::EcParams(P256_PARAMS.to_vec()),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.clone()),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
        Attribute::KeyType(KeyType::EC),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.clone()),
    ];
    session
        .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
        .map_err(|e| Pkcs11Error::call(format!("generating a P-256 key pair on {uri}"), e))?;
    drop(session);
    uri.id = Some(id);
    let key = Pkcs11Key::open_uri(uri)?;
    tracing::info!(key = %key.reference(), "generated a P-256 key pair on the token");
    Ok(key)
}
