//! Step 7, finding an application: captcha for people, proof of possession for key
//! holders; and step 8, the certificate download.

use super::{by_number, by_number_tx, ms, new_id, random_failed, view};
use crate::{ApplicationView, Captcha, Challenge, Issued, OutboxMessage, RaError, Registration, captcha, secret};
use base64::Engine;
use imzo_store::{
    Tx,
    applications::ApplicationRow,
    certificates, challenges, outbox,
    time_ms::{from_ms, now_ms},
};
use zeroize::Zeroizing;

/// Purpose of proof-of-possession challenges.
pub(crate) const POP: &str = "pop";

pub(crate) async fn new_captcha(ra: &Registration) -> Result<Captcha, RaError> {
    let answer = Zeroizing::new(secret::random_digits(5).map_err(random_failed)?);
    let id = new_id()?;
    let png = captcha::render(&answer).map_err(RaError::internal)?;
    let hash = secret::keyed_hash(&ra.config.otp_secret, &format!("captcha:{id}"), &answer);
    let expires = now_ms().saturating_add(ms(ra.config.code_ttl));
    challenges::insert_captcha(ra.store.pool(), &id, &hash, expires).await?;
    Ok(Captcha { id, png })
}

pub(crate) async fn lookup(
    ra: &Registration,
    number: &str,
    captcha_id: &str,
    answer: &str,
) -> Result<ApplicationView, RaError> {
    // The captcha is used up before the answer is compared: one guess per image.
    let stored = challenges::consume_captcha(ra.store.pool(), captcha_id, now_ms()).await?.ok_or_else(|| {
        RaError::forbidden(
            "captcha_expired",
            "Rasmdagi kodning muddati tugagan yoki u ishlatilgan: yangi rasm oling.",
            "Код с картинки устарел или уже использован: получите новую картинку.",
            "The picture code has expired or was used already: get a new picture.",
        )
    })?;
    if !secret::keyed_hash_matches(&ra.config.otp_secret, &format!("captcha:{captcha_id}"), answer.trim(), &stored) {
        return Err(RaError::forbidden(
            "captcha_wrong",
            "Rasmdagi kod noto'g'ri kiritildi.",
            "Код с картинки введён неверно.",
            "The picture code is wrong.",
        ));
    }
    Ok(view(&by_number(ra, number).await?))
}

pub(crate) async fn new_challenge(ra: &Registration, number: &str) -> Result<Challenge, RaError> {
    let app = by_number(ra, number).await?;
    if app.public_key_der.is_none() {
        return Err(RaError::wrong_state(&app.state));
    }
    issue_challenge(ra, POP, app.number.as_deref()).await
}

/// Stores a fresh 32-byte challenge of `purpose`.
pub(crate) async fn issue_challenge(
    ra: &Registration,
    purpose: &str,
    subject: Option<&str>,
) -> Result<Challenge, RaError> {
    let mut bytes = [0u8; 32];
    secret::fill(&mut bytes).map_err(random_failed)?;
    let id = new_id()?;
    let expires = now_ms().saturating_add(ms(ra.config.code_ttl));
    challenges::insert(ra.store.pool(), &id, purpose, subject, &bytes, expires).await?;
    Ok(Challenge {
        id,
        challenge_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        expires_at: from_ms(expires),
    })
}

pub(crate) fn challenge_invalid() -> RaError {
    RaError::forbidden(
        "challenge_invalid",
        "So'rov (challenge) topilmadi, muddati tugagan yoki ishlatilgan: yangisini oling.",
        "Запрос (challenge) не найден, устарел или уже использован: получите новый.",
        "The challenge is unknown, expired or used already: get a new one.",
    )
}

/// Checks and uses up a proof of possession for application `number`: the challenge is
/// consumed even when the proof fails (one answer per challenge). On `Ok` the caller
/// continues in `tx`; on a failed proof `tx` is committed here so the challenge stays used.
pub(crate) async fn check_proof(
    tx: &mut Tx<'_>,
    number: &str,
    challenge_id: &str,
    cms: &[u8],
) -> Result<Result<ApplicationRow, RaError>, RaError> {
    let app = by_number_tx(tx, number).await?;
    let Some(challenge) = challenges::get(&mut **tx, challenge_id).await? else {
        return Err(challenge_invalid());
    };
    if challenge.purpose != POP || challenge.subject.as_deref() != app.number.as_deref() {
        return Err(challenge_invalid());
    }
    if !challenges::consume(tx, challenge_id, POP, now_ms()).await? {
        return Err(challenge_invalid());
    }
    let Some(key) = app.public_key_der.as_deref() else {
        return Ok(Err(RaError::wrong_state(&app.state)));
    };
    match imzo_pki::cms::verify_proof_of_possession(cms, &challenge.challenge, key) {
        Ok(()) => Ok(Ok(app)),
        Err(e) => Ok(Err(RaError::forbidden(
            "bad_proof",
            "Imzo ariza kalitiga mos kelmadi.",
            "Подпись не соответствует ключу заявки.",
            &format!("The signature does not prove possession of the application's key: {e}"),
        ))),
    }
}

pub(crate) async fn view_with_proof(
    ra: &Registration,
    number: &str,
    challenge_id: &str,
    cms: &[u8],
) -> Result<ApplicationView, RaError> {
    let mut tx = ra.store.begin().await?;
    let checked = check_proof(&mut tx, number, challenge_id, cms).await?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(view(&checked?))
}

/// PEM of the chain above holder certificates.
pub(crate) fn chain_pem(ra: &Registration) -> Result<String, RaError> {
    let mut out = String::new();
    for cert in ra.ca.chain() {
        out.push_str(&imzo_pki::cert::to_pem(&cert).map_err(RaError::internal)?);
    }
    Ok(out)
}

pub(crate) async fn certificate(ra: &Registration, number: &str) -> Result<Issued, RaError> {
    let app = by_number(ra, number).await?;
    let serial = match (app.state.as_str(), app.certificate_serial.as_deref()) {
        ("issued", Some(serial)) => serial.to_string(),
        _ => return Err(RaError::wrong_state(&app.state)),
    };
    let row = certificates::by_serial(ra.store.pool(), &serial)
        .await?
        .ok_or_else(|| RaError::internal(format!("certificate {serial} of application {number} is missing")))?;
    let cert = imzo_pki::pem::read_certificates(&row.cert_der)
        .map_err(RaError::internal)?
        .into_iter()
        .next()
        .ok_or_else(|| RaError::internal(format!("certificate {serial} is empty")))?;
    Ok(Issued {
        serial,
        certificate_pem: imzo_pki::cert::to_pem(&cert).map_err(RaError::internal)?,
        chain_pem: chain_pem(ra)?,
    })
}

pub(crate) async fn outbox_after(ra: &Registration, after_id: i64) -> Result<Vec<OutboxMessage>, RaError> {
    let rows = outbox::after(ra.store.pool(), after_id, 500).await?;
    Ok(rows
        .into_iter()
        .map(|r| OutboxMessage { id: r.id, phone: r.phone, text: r.text, created_at: from_ms(r.created_at_ms) })
        .collect())
}
