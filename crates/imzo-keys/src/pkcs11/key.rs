//! An ECDSA P-256 private key on a PKCS#11 token, behind [`RawSigner`].

use super::module::Module;
use super::{Pkcs11Error, Pkcs11Uri, matching_slots, open_logged_in};
use crate::KeyError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use imzo_pki::{PkiError, RawSigner, SignatureAlgorithm};
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// DER of the namedCurve OID prime256v1 (1.2.840.10045.3.1.7), as CKA_EC_PARAMS holds it.
pub(super) const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// A session ready to sign: logged in, with the key's handle found in it.
struct Ready {
    session: Session,
    key: ObjectHandle,
    /// The [`Pkcs11Key::epoch`] it was opened in: sessions of an older epoch are lost.
    epoch: u64,
}

/// A P-256 private key on a token, named by a PKCS#11 URI.
///
/// Signing threads take a logged-in session from a small pool (opening another when all
/// are busy), so concurrent signatures do not queue behind one session. When the token
/// reports the session, the login or the library's initialisation lost, every pooled
/// session is dropped, the library re-initialised if needed, and the signature tried once
/// more on a fresh session; [`Pkcs11Key::reopened`] counts how often that happened.
pub struct Pkcs11Key {
    module: Arc<Module>,
    uri: Pkcs11Uri,
    shown: String,
    pin: Option<Zeroizing<String>>,
    spki_der: Vec<u8>,
    idle: Mutex<Vec<Ready>>,
    epoch: AtomicU64,
    reopened: AtomicU64,
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Pkcs11Key").field(&self.shown).finish()
    }
}

impl Pkcs11Key {
    /// Opens the key a `pkcs11:` URI names: loads the module, finds the token, logs in
    /// with the URI's PIN, finds exactly one EC private key, reads its public key and
    /// checks with one signature that the two belong together.
    pub fn open(uri: &str) -> Result<Pkcs11Key, KeyError> {
        Self::open_uri(Pkcs11Uri::parse(uri).map_err(Pkcs11Error::from)?)
    }

    /// [`Pkcs11Key::open`] for a parsed URI.
    pub fn open_uri(uri: Pkcs11Uri) -> Result<Pkcs11Key, KeyError> {
        if uri.object_type.is_some_and(|t| t != super::ObjectType::Private) {
            return Err(Pkcs11Error::Setup(format!("{uri}: a signing key needs type=private")).into());
        }
        if uri.object.is_none() && uri.id.is_none() {
            return Err(Pkcs11Error::Setup(format!("{uri}: name the key with object=LABEL or id=...")).into());
        }
        let module = Module::get(uri.module().map_err(Pkcs11Error::from)?)?;
        let pin = uri.pin.read().map_err(Pkcs11Error::from)?;
        let shown = uri.to_string();
        let mut key = Pkcs11Key {
            module,
            uri,
            shown,
            pin,
            spki_der: Vec::new(),
            idle: Mutex::new(Vec::new()),
            epoch: AtomicU64::new(0),
            reopened: AtomicU64::new(0),
        };
        let ready = key.connect()?;
        key.spki_der = public_key(&ready.session, ready.key, &key.shown)?;
        key.put(ready);
        // A public key object that does not belong to the private key would make every
        // certificate unverifiable: check the pair once, now.
        let probe = Sha256::digest(b"imzo pkcs11 key check");
        let signature = key.sign_digest(&probe)?;
        imzo_pki::alg::verify_signature(&key.spki_der, "1.2.840.10045.4.3.2", b"imzo pkcs11 key check", &signature)
            .map_err(|_| {
                Pkcs11Error::Setup(format!("{}: the token's public key does not belong to its private key", key.shown))
            })?;
        tracing::info!(key = %key.shown, "opened PKCS#11 key");
        Ok(key)
    }

    /// The URI without any PIN: what to log and to record as the key's home.
    pub fn reference(&self) -> &str {
        &self.shown
    }

    /// How many times a lost session was re-opened.
    pub fn reopened(&self) -> u64 {
        self.reopened.load(Ordering::Relaxed)
    }

    /// Opens a logged-in session on the first matching token that holds the key.
    fn connect(&self) -> Result<Ready, Pkcs11Error> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let slots = matching_slots(&self.module, &self.uri)?;
        for slot in slots {
            let session = open_logged_in(&self.module, slot, self.pin.as_ref())?;
            let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::KeyType(KeyType::EC)];
            if let Some(label) = &self.uri.object {
                template.push(Attribute::Label(label.as_bytes().to_vec()));
            }
            if let Some(id) = &self.uri.id {
                template.push(Attribute::Id(id.clone()));
            }
            let found = session.find_objects(&template).map_err(|e| Pkcs11Error::call("finding the key", e))?;
            match found.as_slice() {
                [] => continue,
                [key] => return Ok(Ready { session, key: *key, epoch }),
                many => {
                    return Err(Pkcs11Error::Setup(format!(
                        "{} matches {} private keys on one token; add id= to choose one",
                        self.shown,
                        many.len()
                    )));
                }
            }
        }
        let hint = if self.pin.is_none() { " (no PIN given: add pin-source=file:/path)" } else { "" };
        Err(Pkcs11Error::Setup(format!("no EC private key matches {}{hint}", self.shown)))
    }

    fn take(&self) -> Result<Ready, Pkcs11Error> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match pooled {
            Some(ready) if ready.epoch == epoch => Ok(ready),
            _ => self.connect(),
        }
    }

    fn put(&self, ready: Ready) {
        if ready.epoch != self.epoch.load(Ordering::Acquire) {
            // Opened before a loss: its handle may by now name someone else's session.
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(ready);
        }
    }

    /// Forgets every pooled session after `error` said they are lost, and initialises
    /// the library again when it was finalised under us.
    fn reset(&self, error: &Pkcs11Error) -> Result<(), Pkcs11Error> {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let stale: Vec<Ready> = self.idle.lock().map(|mut idle| idle.drain(..).collect()).unwrap_or_default();
        let handles_gone = matches!(
            error,
            Pkcs11Error::Call {
                source: cryptoki::error::Error::Pkcs11(
                    cryptoki::error::RvError::SessionHandleInvalid
                        | cryptoki::error::RvError::SessionClosed
                        | cryptoki::error::RvError::CryptokiNotInitialized
                        | cryptoki::error::RvError::DeviceRemoved
                        | cryptoki::error::RvError::TokenNotPresent,
                    _
                ),
                ..
            }
        );
        for ready in stale {
            if !handles_gone {
                // Still valid handles (only the login or the key handle was lost): close them.
                let _ = ready.session.close();
            }
        }
        if error.library_not_initialised() {
            self.module.reinitialize()?;
        }
        self.reopened.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn sign_once(&self, digest: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let ready = self.take()?;
        match ready.session.sign(&Mechanism::Ecdsa, ready.key, digest) {
            Ok(raw) => {
                self.put(ready);
                Ok(raw)
            }
            Err(e) => {
                let error = Pkcs11Error::call(format!("signing with {}", self.shown), e);
                if !error.is_session_lost() {
                    self.put(ready);
                }
                Err(error)
            }
        }
    }

    /// Signs a SHA-256 digest (`CKM_ECDSA`), re-opening a lost session once; returns
    /// the DER `ECDSA-Sig-Value`.
    pub fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let raw = match self.sign_once(digest) {
            Err(error) if error.is_session_lost() => {
                tracing::warn!(key = %self.shown, %error, "PKCS#11 session lost; re-opening it and signing again");
                self.reset(&error)?;
                self.sign_once(digest)?
            }
            other => other?,
        };
        let signature = p256::ecdsa::Signature::from_slice(&raw).map_err(|_| {
            Pkcs11Error::Setup(format!("{}: the token returned a {}-byte signature, not P-256 r||s", self.shown, raw.len()))
        })?;
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

impl Drop for Pkcs11Key {
    fn drop(&mut self) {
        if let Ok(mut idle) = self.idle.lock() {
            for ready in idle.drain(..) {
                let _ = ready.session.close();
            }
        }
    }
}

impl RawSigner for Pkcs11Key {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::EcdsaP256Sha256
    }
    fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        self.sign_digest(&Sha256::digest(message)).map_err(|e| PkiError::Signer(e.to_string()))
    }
}

/// The SubjectPublicKeyInfo of `private`: from the public key object with the same
/// CKA_ID (or, without one, the same label), else the private key's CKA_PUBLIC_KEY_INFO.
fn public_key(session: &Session, private: ObjectHandle, shown: &str) -> Result<Vec<u8>, Pkcs11Error> {
    let call = |what: &str| {
        let what = format!("{what} of {shown}");
        move |e| Pkcs11Error::call(what, e)
    };
    let attributes = session
        .get_attributes(private, &[AttributeType::Id, AttributeType::Label, AttributeType::PublicKeyInfo])
        .map_err(call("reading the key's attributes"))?;
    let (mut id, mut label, mut spki) = (None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::Id(v) if !v.is_empty() => id = Some(v),
            Attribute::Label(v) if !v.is_empty() => label = Some(v),
            Attribute::PublicKeyInfo(v) if !v.is_empty() => spki = Some(v),
            _ => {}
        }
    }
    let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY), Attribute::KeyType(KeyType::EC)];
    match (id, label) {
        (Some(id), _) => template.push(Attribute::Id(id)),
        (None, Some(label)) => template.push(Attribute::Label(label)),
        (None, None) => {}
    }
    let found = session.find_objects(&template).map_err(call("finding the public key"))?;
    if let [public] = found.as_slice() {
        let values = session
            .get_attributes(*public, &[AttributeType::EcParams, AttributeType::EcPoint])
            .map_err(call("reading the public key"))?;
        let (mut params, mut point) = (None, None);
        for value in values {
            match value {
                Attribute::EcParams(p) => params = Some(p),
                Attribute::EcPoint(p) => point = Some(p),
                _ => {}
            }
        }
        if params.as_deref() != Some(P256_PARAMS) {
            return Err(Pkcs11Error::Setup(format!("{shown}: only NIST P-256 (prime256v1) keys are supported")));
        }
        let point = point.ok_or_else(|| Pkcs11Error::Setup(format!("{shown}: the public key has no CKA_EC_POINT")))?;
        // CKA_EC_POINT is a DER OCTET STRING around the point; some tokens give it bare.
        let sec1 = match point.as_slice() {
            [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
            bare => bare,
        };
        let key = p256::PublicKey::from_sec1_bytes(sec1)
            .map_err(|_| Pkcs11Error::Setup(format!("{shown}: CKA_EC_POINT is not a P-256 point")))?;
        return key
            .to_public_key_der()
            .map(|d| d.into_vec())
            .map_err(|e| Pkcs11Error::Setup(format!("{shown}: encoding the public key: {e}")));
    }
    spki.ok_or_else(|| {
        Pkcs11Error::Setup(format!(
            "{shown}: found {} matching public key objects and no CKA_PUBLIC_KEY_INFO; keep exactly one public key \
             with the private key's id",
            found.len()
        ))
    })
}
