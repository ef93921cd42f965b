//! One key, one certificate: a request for a key that any certificate we issued already
//! holds (a holder's, an operator's) or that a CA or operator certificate holds is
//! refused, so a stolen or shared key cannot be certified under a second identity.

use crate::{RaError, Registration};
use imzo_store::{
    Tx,
    applications, cas,
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
    // The centres' own chains as configured (they may predate the database rows).
    for cert in ra.centres.iter().flat_map(|ca| ca.chain()) {
        if let Ok(der) = imzo_pki::cert::to_der(&cert)
            && cert_spki_sha256(&der).as_deref() == Some(hash.as_str())
        {
            return Err(key_in_use());
        }
    }
    Ok(())
}

/// Refuses `public_key_der` if another application that is not finished (cancelled,
/// rejected, expired, abandoned) already holds it: the second would be paid and reviewed
/// only to fail at confirmation. The request was signed with the key, so whoever sends
/// it holds the key and may learn which application has it.
pub(crate) async fn refuse_key_in_open_application(
    tx: &mut Tx<'_>,
    public_key_der: &[u8],
    application_id: i64,
) -> Result<(), RaError> {
    let Some(number) = applications::unfinished_with_key(&mut **tx, public_key_der, application_id).await? else {
        return Ok(());
    };
    Err(RaError::invalid(
        "csr",
        "key_in_other_application",
        &format!(
            "Bu kalit {number} raqamli boshqa arizada turibdi. O'sha arizani yakunlang yoki bekor qiling, yoki yangi kalit juftini yaratib yangi so'rov yuboring."
        ),
        &format!(
            "Этот ключ уже указан в другом заявлении № {number}. Завершите или отмените то заявление либо создайте новую ключевую пару и отправьте новый запрос."
        ),
        &format!(
            "This key is already in another application, number {number}. Finish or cancel that application, or create a new key pair and send a new request."
        ),
    ))
}
