//! One key, one certificate: a request for a key that any certificate we issued already
//! holds (a holder's, an operator's) or that a CA or operator certificate holds is
//! refused, so a stolen or shared key cannot be certified under a second identity.

use crate::{RaError, Registration};
use imzo_store::{
    Tx,
    cas,
    certificates::{self, cert_spki_sha256, spki_sha256},
};

/// Certificates recorded before the key-hash column existed are hashed this many at a time.
const BACKFILL_BATCH: i64 = 500;

fn key_in_use() -> RaError {
    RaError::invalid(
        "csr",
        "key_already_certified",
        "Bu kalit allaqachon sertifikatlangan (sizning yoki boshqa sertifikatda). Yangi kalit juftini yarating va yangi so'rov yuboring.",
        "Этот ключ уже сертифицирован (в вашем или другом сертификате). Создайте новую ключевую пару и отправьте новый запрос.",
        "This key is already certified (in your certificate or another one). Create a new key pair and send a new request.",
    )
}

/// Refuses `public_key_der` (DER SubjectPublicKeyInfo) if a recorded certificate, a CA
/// certificate or an operator certificate holds it.
pub(crate) async fn refuse_certified_key(
    ra: &Registration,
    tx: &mut Tx<'_>,
    public_key_der: &[u8],
) -> Result<(), RaError> {
    loop {
        let filled = certificates::fill_missing_spki_hashes(tx, BACKFILL_BATCH).await?;
        if i64::try_from(filled).unwrap_or(0) < BACKFILL_BATCH {
            break;
        }
    }
    let hash = spki_sha256(public_key_der);
    if !certificates::by_spki_sha256(&mut **tx, &hash).await?.is_empty() {
        return Err(key_in_use());
    }
    // CA and operator certificates are few and need not be in the certificates table.
    let cas = cas::all_cas(&mut **tx).await?;
    let operators = cas::all_operators(&mut **tx).await?;
    let held = cas.iter().map(|c| &c.cert_der).chain(operators.iter().map(|o| &o.cert_der));
    for der in held {
        if cert_spki_sha256(der).as_deref() == Some(hash.as_str()) {
            return Err(key_in_use());
        }
    }
    // The centre's own chain as configured (it may predate the database rows).
    for cert in ra.ca.chain() {
        if let Ok(der) = imzo_pki::cert::to_der(&cert)
            && cert_spki_sha256(&der).as_deref() == Some(hash.as_str())
        {
            return Err(key_in_use());
        }
    }
    Ok(())
}
