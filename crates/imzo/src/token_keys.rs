//! The service keys a deployment may keep on a PKCS#11 token instead of in memory: the
//! OCSP responder's (`status.ocsp_key`) and the TSA's (`tsa.key`).

use anyhow::{Context, Result};
use std::sync::Arc;

fn open(setting: &str, uri: &str) -> Result<Arc<dyn imzo_pki::RawSigner>> {
    let key = imzo_keys::pkcs11::Pkcs11Key::open(uri).with_context(|| format!("{setting}: cannot open the token key"))?;
    tracing::info!(setting, key = %key.reference(), "service key on a PKCS#11 token");
    Ok(Arc::new(key))
}

/// The responder, signing with the token key `uri` when one is configured.
pub(crate) fn ocsp(responder: imzo_ca::ocsp::OcspResponder, uri: Option<&str>) -> Result<imzo_ca::ocsp::OcspResponder> {
    Ok(match uri {
        Some(uri) => responder.with_responder_key(open("status.ocsp_key", uri)?),
        None => responder,
    })
}

/// The TSA, signing with the token key `uri` when one is configured.
pub(crate) fn tsa(tsa: imzo_ca::tsa::Tsa, uri: Option<&str>) -> Result<imzo_ca::tsa::Tsa> {
    Ok(match uri {
        Some(uri) => tsa.with_key(open("tsa.key", uri)?),
        None => tsa,
    })
}
