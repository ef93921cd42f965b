//! Step 7, finding an application: captcha for people, proof of possession for key
//! holders; and step 8, the certificate download.

use super::{by_number, by_number_tx, ms, new_id, random_failed, view};
use crate::{
    ApplicationView, Captcha, Challenge, Issued, LookupStatus, OutboxMessage, RaError, Registration, captcha, secret,
};
use base64::Engine;
use imzo_store::{
    Tx,
    applications::ApplicationRow,
    certificates, challenges, outbox, rate_limits,
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
    Ok(view(&checked_lookup(ra, number, captcha_id, answer).await?))
}

async fn checked_lookup(
    ra: &Registration,
    number: &str,
    captcha_id: &str,
    answer: &str,
) -> Result<ApplicationRow, RaError> {
    use_captcha(ra, captcha_id, answer).await?;
    by_number(ra, number).await
}

/// Uses up captcha `captcha_id` and checks `answer` against it.
pub(crate) async fn use_captcha(ra: &Registration, captcha_id: &str, answer: &str) -> Result<(), RaError> {
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
    Ok(())
}

/// One window of the lookup rate limit.
const LOOKUP_WINDOW_MS: i64 = 60_000;

/// The address a request came from: `X-Real-IP` only when the socket peer is a trusted
/// proxy, else the peer itself; `unknown` when the server was not told (tests in-process).
pub(crate) fn client_address(ra: &Registration, peer: Option<std::net::IpAddr>, x_real_ip: Option<&str>) -> String {
    match peer {
        Some(peer) if ra.config.trusted_proxies.contains(&peer) => {
            match x_real_ip.and_then(|h| h.trim().parse::<std::net::IpAddr>().ok()) {
                Some(client) => client.to_string(),
                None => peer.to_string(),
            }
        }
        Some(peer) => peer.to_string(),
        None => "unknown".to_string(),
    }
}

/// Counts a lookup by `client` and refuses it past the per-minute limit.
pub(crate) async fn limit_lookups(ra: &Registration, client: &str) -> Result<(), RaError> {
    let now = ra.config.clock.now_ms();
    let window = now - now.rem_euclid(LOOKUP_WINDOW_MS);
    let hits = rate_limits::hit_window(ra.store.pool(), &format!("lookup:{client}"), window, LOOKUP_WINDOW_MS).await?;
    if hits > ra.config.lookups_per_minute {
        let wait = ((window + LOOKUP_WINDOW_MS - now + 999) / 1000).max(1);
        return Err(RaError::too_many(
            "too_many_lookups",
            &format!("Juda ko'p so'rov. {wait} soniyadan so'ng qayta urinib ko'ring."),
            &format!("Слишком много запросов. Повторите через {wait} с."),
            &format!("Too many lookups from this address. Try again in {wait} s."),
        )
        .with_retry_after(wait));
    }
    Ok(())
}

/// One window of the per-client limit on new challenges and captchas.
const CHALLENGE_WINDOW_MS: i64 = 60_000;

/// Counts a request by `client` for a new challenge or captcha of `kind` and refuses it
/// past the per-minute limit. Every such request stores a row (and a captcha renders a
/// picture), so an unlimited caller could fill the database; each kind counts apart so
/// one page's captchas do not use up a key holder's challenges.
pub(crate) async fn limit_challenges(ra: &Registration, kind: &str, client: &str) -> Result<(), RaError> {
    let now = ra.config.clock.now_ms();
    let window = now - now.rem_euclid(CHALLENGE_WINDOW_MS);
    let bucket = format!("challenge:{kind}:{client}");
    let hits = rate_limits::hit_window(ra.store.pool(), &bucket, window, CHALLENGE_WINDOW_MS).await?;
    if hits > ra.config.challenges_per_minute {
        let wait = ((window + CHALLENGE_WINDOW_MS - now + 999) / 1000).max(1);
        return Err(RaError::too_many(
            "too_many_challenges",
            &format!("Bu manzildan juda ko'p so'rov. {wait} soniyadan so'ng qayta urinib ko'ring."),
            &format!("Слишком много запросов с этого адреса. Повторите через {wait} с."),
            &format!("Too many requests from this address. Try again in {wait} s."),
        )
        .with_retry_after(wait));
    }
    Ok(())
}

/// A person's lookup: rate-limited per client address, captcha first, then the status
/// only — no personal data before the key holder proves possession.
pub(crate) async fn lookup_status(
    ra: &Registration,
    number: &str,
    captcha_id: &str,
    answer: &str,
    client: &str,
) -> Result<LookupStatus, RaError> {
    limit_lookups(ra, client).await?;
    let row = checked_lookup(ra, number, captcha_id, answer).await?;
    Ok(LookupStatus {
        number: row.number.clone().unwrap_or_default(),
        state: row.state.clone(),
        fee_tiyin: row.fee_tiyin.unwrap_or(0),
        pay_before: from_ms(row.pay_before_ms.unwrap_or(0)),
    })
}

/// A proof-of-possession challenge for any well-formed number, whether or not such an
/// application exists: the answer must not tell who has applied. An unknown number's
/// proof later fails exactly as a wrong key's does ([`bad_proof`]).
pub(crate) async fn new_challenge(ra: &Registration, number: &str) -> Result<Challenge, RaError> {
    let number = number.trim();
    if !crate::number::is_valid_number(number) {
        return Err(RaError::invalid(
            "number",
            "invalid_number",
            "Ariza raqami 12 ta raqamdan iborat (oxirgisi nazorat raqami): raqamni tekshiring.",
            "Номер заявления — 12 цифр (последняя контрольная): проверьте номер.",
            "An application number is 12 digits, the last a check digit: please check the number.",
        ));
    }
    issue_challenge(ra, POP, Some(number)).await
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

/// The one refusal of a proof of possession, whatever failed: an unknown number, an
/// application without a key, or a signature by another key. The verifier's words would
/// tell an existing application from an unknown number, so they go to the log only.
pub(crate) fn bad_proof() -> RaError {
    RaError::forbidden(
        "bad_proof",
        "Imzo bu raqamli arizaning kalitiga egalikni isbotlamadi: ariza raqamini va kalit faylini tekshiring.",
        "Подпись не доказывает владение ключом заявления с этим номером: проверьте номер заявления и файл ключа.",
        "The signature does not prove possession of the key of the application with this number: check the number and the key file.",
    )
}

/// Checks and uses up a proof of possession for application `number`: the challenge is
/// consumed even when the proof fails (one answer per challenge). On `Ok` the caller
/// continues in `tx`; on a failed proof `tx` is committed here so the challenge stays used.
/// An unknown number fails as a wrong key does, so the answer reveals nothing.
pub(crate) async fn check_proof(
    tx: &mut Tx<'_>,
    number: &str,
    challenge_id: &str,
    cms: &[u8],
) -> Result<Result<ApplicationRow, RaError>, RaError> {
    let number = number.trim();
    let Some(challenge) = challenges::get(&mut **tx, challenge_id).await? else {
        return Err(challenge_invalid());
    };
    if challenge.purpose != POP || challenge.subject.as_deref() != Some(number) {
        return Err(challenge_invalid());
    }
    if !challenges::consume(tx, challenge_id, POP, now_ms()).await? {
        return Err(challenge_invalid());
    }
    let app = match by_number_tx(tx, number).await {
        Ok(app) => app,
        Err(e) if e.kind == crate::ErrorKind::NotFound => return Ok(Err(bad_proof())),
        Err(e) => return Err(e),
    };
    let Some(key) = app.public_key_der.as_deref() else {
        return Ok(Err(bad_proof()));
    };
    match imzo_pki::cms::verify_proof_of_possession(cms, &challenge.challenge, key) {
        Ok(()) => Ok(Ok(app)),
        Err(e) => {
            tracing::debug!(error = %e, "proof of possession refused");
            Ok(Err(bad_proof()))
        }
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

/// The one answer for every number without an issued certificate (unknown, malformed, or
/// in any other state), so the download reveals no application's existence or state.
fn no_certificate() -> RaError {
    RaError::not_found(
        "no_certificate",
        "Bu raqam bo'yicha berilgan sertifikat yo'q.",
        "По этому номеру нет выданного сертификата.",
        "There is no issued certificate for this number.",
    )
}

pub(crate) async fn certificate(ra: &Registration, number: &str) -> Result<Issued, RaError> {
    let app = match by_number(ra, number).await {
        Ok(app) => app,
        Err(e) if e.kind == crate::ErrorKind::NotFound => return Err(no_certificate()),
        Err(e) => return Err(e),
    };
    let serial = match (app.state.as_str(), app.certificate_serial.as_deref()) {
        ("issued", Some(serial)) => serial.to_string(),
        _ => return Err(no_certificate()),
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
        chain_pem: chain_pem(&ra.at(&app.centre_id)?)?,
    })
}

pub(crate) async fn outbox_after(ra: &Registration, after_id: i64) -> Result<Vec<OutboxMessage>, RaError> {
    let rows = outbox::after(ra.store.pool(), after_id, 500).await?;
    Ok(rows
        .into_iter()
        .map(|r| OutboxMessage { id: r.id, phone: r.phone, text: r.text, created_at: from_ms(r.created_at_ms) })
        .collect())
}
