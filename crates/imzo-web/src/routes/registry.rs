//! The public state register and the centres an applicant chooses from: `GET /registry`
//! (page), `GET /api/v1/registry` (JSON), `GET /api/v1/registry/signed` (the register as
//! CMS SignedData by the authorised body), `POST /api/v1/registry/check`, and
//! `GET /api/v1/centres`. No login: the register is public.

use crate::error::ApiError;
use crate::router::Shared;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use imzo_ca::registry::{self, CheckError, CheckInput};
use imzo_ra::{Language, Localized};
use serde::Deserialize;

fn failed(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(&e.to_string())
}

/// `GET /api/v1/centres`.
pub(crate) async fn centres(State(ctx): State<Shared>) -> Result<Response, ApiError> {
    let list = ctx.registration.centres().await.map_err(failed)?;
    Ok(Json(serde_json::json!({ "centres": list })).into_response())
}

/// `GET /api/v1/registry`.
pub(crate) async fn register_json(State(ctx): State<Shared>) -> Result<Response, ApiError> {
    let register = registry::build(ctx.registration.store(), "").await.map_err(failed)?;
    let mut json = serde_json::to_value(&register).map_err(failed)?;
    // Uzbek in Cyrillic beside the recorded names, as `/api/v1/centres` gives them (the
    // root-signed file keeps exactly what was recorded).
    for centre in json["centres"].as_array_mut().into_iter().flatten() {
        if let Some(uz) = centre["names"]["uz"].as_str().map(imzo_ra::translit::uz_latin_to_cyrillic) {
            centre["names"]["uz_cyrl"] = serde_json::Value::String(uz);
        }
    }
    Ok(Json(json).into_response())
}

/// `GET /api/v1/registry/signed`: DER CMS SignedData over the register's JSON.
pub(crate) async fn register_signed(State(ctx): State<Shared>) -> Result<Response, ApiError> {
    let signer = ctx.registration.register_signer().ok_or_else(|| ApiError::not_found("signed register"))?;
    let json = registry::json(ctx.registration.store(), "").await.map_err(failed)?;
    let cms = signer.sign(&json).map_err(failed)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pkcs7-mime; smime-type=signed-data"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"imzo-register.p7m\""),
        ],
        cms,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct CheckRequest {
    #[serde(default)]
    certificate: Option<String>,
    #[serde(default)]
    cms: Option<String>,
    #[serde(default)]
    content_base64: Option<String>,
    #[serde(default)]
    at: Option<String>,
}

fn bad(field: &str, code: &'static str, en: &str) -> ApiError {
    // A person may read these (the register page links the check): their language first.
    let (uz, ru) = match code {
        "one_input" => ("Sertifikat yoki CMS imzoni yuboring, ikkalasini emas.", "Передайте сертификат или подпись CMS, но не оба."),
        "missing" => ("Sertifikat (PEM, DER yoki base64) yoki CMS imzo (cms) yuboring.", "Передайте сертификат (PEM, DER или base64) или подпись CMS (cms)."),
        "not_a_certificate" => ("Bu PEM, DER yoki base64 ko'rinishidagi X.509 sertifikat emas.", "Это не сертификат X.509 в PEM, DER или base64."),
        "not_a_signature" => (
            "Bu CMS SignedData emas (yoki uning mazmuni alohida va yuborilmagan).",
            "Это не CMS SignedData (или её содержимое отделено и не передано).",
        ),
        "content_missing" => (
            "Imzo alohida (detached): imzolangan mazmunni «content_base64» da yuboring.",
            "Подпись отделённая (detached): передайте подписанное содержимое в «content_base64».",
        ),
        "not_base64" => ("«content_base64» base64 emas.", "«content_base64» — не base64."),
        "invalid_time" => (
            "«at» RFC 3339 vaqti bo'lishi kerak, masalan 2026-01-31T12:00:00Z.",
            "«at» должно быть временем RFC 3339, например 2026-01-31T12:00:00Z.",
        ),
        _ => (en, en),
    };
    ApiError::new(StatusCode::BAD_REQUEST, code, Some(field), Localized::new(uz, ru, en))
}

/// `POST /api/v1/registry/check`: JSON `{certificate | cms, content_base64?, at?}`, or the
/// certificate or signature itself as the body (PEM, DER or base64).
pub(crate) async fn check(State(ctx): State<Shared>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    if body.is_empty() {
        return Err(ApiError::missing("certificate"));
    }
    let mut input = CheckInput::default();
    if content_type == "application/json" {
        let request: CheckRequest = serde_json::from_slice(&body)
            .map_err(|e| ApiError::malformed_json(crate::extract::field_of(&format!("target type: {e}")).as_deref()))?;
        input.certificate = request.certificate.map(String::into_bytes);
        input.cms = request.cms.map(String::into_bytes);
        if let Some(content) = request.content_base64 {
            input.content = Some(
                base64::engine::general_purpose::STANDARD
                    .decode(content.trim())
                    .map_err(|_| bad("content_base64", "not_base64", "content_base64 is not base64"))?,
            );
        }
        if let Some(at) = request.at {
            input.at = Some(
                time::OffsetDateTime::parse(at.trim(), &time::format_description::well_known::Rfc3339)
                    .map_err(|_| bad("at", "invalid_time", "at must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z"))?,
            );
        }
    } else {
        // A body that parses as a certificate is one; anything else is taken for a CMS.
        let text = String::from_utf8_lossy(&body);
        let is_cert = text.contains("BEGIN CERTIFICATE") || looks_like_certificate(&body);
        if is_cert {
            input.certificate = Some(body.to_vec());
        } else {
            input.cms = Some(body.to_vec());
        }
    }
    match registry::check(ctx.registration.store(), input).await {
        Ok(answer) => Ok(Json(answer).into_response()),
        Err(CheckError::Input(e)) => Err(bad(e.field, e.code, &e.message)),
        Err(CheckError::Ca(e)) => Err(failed(e)),
    }
}

fn looks_like_certificate(body: &[u8]) -> bool {
    let der = if body.first() == Some(&0x30) {
        body.to_vec()
    } else {
        let compact: String = String::from_utf8_lossy(body).chars().filter(|c| !c.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD.decode(compact).unwrap_or_default()
    };
    imzo_pki::pem::read_certificates(&der).is_ok_and(|v| !v.is_empty())
}

struct Words {
    intro: &'static str,
    centres: &'static str,
    persons: &'static str,
    number: &'static str,
    name: &'static str,
    status: &'static str,
    valid: &'static str,
    serial: &'static str,
    fingerprint: &'static str,
    download: &'static str,
    centre: &'static str,
    role: &'static str,
    root: &'static str,
    signed: &'static str,
}

fn words(language: Language) -> Words {
    match language {
        Language::Ru => Words {
            intro: "Регистрационные центры, зарегистрированные уполномоченным органом, их сертификаты и уполномоченные лица.",
            centres: "Регистрационные центры",
            persons: "Уполномоченные лица",
            number: "№",
            name: "Название",
            status: "Статус",
            valid: "Действует",
            serial: "Серийный номер",
            fingerprint: "SHA-256",
            download: "Скачать",
            centre: "Центр",
            role: "Роль",
            root: "Корневой сертификат уполномоченного органа",
            signed: "Реестр, подписанный уполномоченным органом (CMS)",
        },
        Language::En => Words {
            intro: "The registration centres the authorised body registered, their certificates and authorised persons.",
            centres: "Registration centres",
            persons: "Authorised persons",
            number: "No.",
            name: "Name",
            status: "Status",
            valid: "Valid",
            serial: "Serial",
            fingerprint: "SHA-256",
            download: "Download",
            centre: "Centre",
            role: "Role",
            root: "The authorised body's root certificate",
            signed: "The register signed by the authorised body (CMS)",
        },
        Language::UzLatn | Language::UzCyrl => Words {
            intro: "Vakolatli organ ro'yxatga olgan markazlar, ularning sertifikatlari va vakolatli shaxslari.",
            centres: "Ro'yxatga olish markazlari",
            persons: "Vakolatli shaxslar",
            number: "№",
            name: "Nomi",
            status: "Holati",
            valid: "Amal qiladi",
            serial: "Seriya raqami",
            fingerprint: "SHA-256",
            download: "Yuklab olish",
            centre: "Markaz",
            role: "Vazifasi",
            root: "Vakolatli organning ildiz sertifikati",
            signed: "Vakolatli organ imzolagan reestr (CMS)",
        },
    }
}

/// A status or role value of the register in the page's language (Uzbek in Latin; the
/// caller transliterates). Unknown values are shown as recorded.
fn word(language: Language, value: &str) -> &str {
    let (uz, ru, en) = match value {
        "active" => ("amalda", "действует", "active"),
        "revoked" => ("bekor qilingan", "отозван", "revoked"),
        "on_hold" | "held" => ("to'xtatilgan", "приостановлен", "on hold"),
        "operator" => ("operator", "оператор", "operator"),
        "officer" => ("mas'ul xodim", "ответственный сотрудник", "officer"),
        _ => return value,
    };
    match language {
        Language::Ru => ru,
        Language::En => en,
        _ => uz,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn date(t: time::OffsetDateTime) -> String {
    let d = t.date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `GET /registry`: the register as a portal page, in the language of `?lang=`, the
/// cookie or `Accept-Language` (Uzbek in both scripts, Russian, English).
pub(crate) async fn page(State(ctx): State<Shared>, uri: axum::http::Uri, headers: HeaderMap) -> Result<Response, ApiError> {
    let (language, chosen) = crate::portal::pages::language(uri.query(), &headers);
    let w = words(language);
    // Uzbek Cyrillic is the Latin text transliterated, as everywhere on the portal.
    let tr = |s: &str| -> String {
        if language == Language::UzCyrl { imzo_ra::translit::uz_latin_to_cyrillic(s) } else { s.to_owned() }
    };
    let register = registry::build(ctx.registration.store(), "").await.map_err(failed)?;
    let mut html = format!("<p class=\"lead\">{}</p>", esc(&tr(w.intro)));
    if let Some(root) = &register.root {
        html.push_str(&format!(
            "<p>{}: <code>{}</code> — <a href=\"{}\">PEM</a> · <a href=\"{}\">DER</a></p>",
            esc(&tr(w.root)),
            esc(&root.sha256),
            esc(&root.download.pem),
            esc(&root.download.der)
        ));
    }
    html.push_str(&format!("<p><a href=\"/api/v1/registry/signed\">{}</a> · <a href=\"/api/v1/registry\">JSON</a></p>", esc(&tr(w.signed))));
    html.push_str(&format!(
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        esc(&tr(w.centres)),
        tr(w.number),
        tr(w.name),
        tr(w.status),
        tr(w.valid),
        tr(w.serial),
        w.fingerprint,
        tr(w.download)
    ));
    for c in &register.centres {
        let name = match language {
            Language::Ru => c.names.ru.clone(),
            Language::En => c.names.en.clone(),
            _ => tr(&c.names.uz),
        };
        let (valid, serial, print, links) = match &c.certificate {
            Some(e) => (
                format!("{} — {}", date(e.not_before), date(e.not_after)),
                e.serial.clone(),
                e.sha256.clone(),
                format!("<a href=\"{}\">PEM</a> · <a href=\"{}\">DER</a>", esc(&e.download.pem), esc(&e.download.der)),
            ),
            None => Default::default(),
        };
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
            c.number.map(|n| n.to_string()).unwrap_or_default(),
            esc(&name),
            esc(&tr(word(language, &c.status))),
            esc(&valid),
            esc(&serial),
            esc(&print),
            links
        ));
    }
    html.push_str("</table>");
    html.push_str(&format!(
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        esc(&tr(w.persons)),
        tr(w.centre),
        tr(w.name),
        tr(w.role),
        tr(w.status),
        tr(w.valid),
        tr(w.serial),
        tr(w.download)
    ));
    // Centres in number order (rc2 before rc10), as in the table above.
    let mut persons: Vec<_> = register.authorised_persons.iter().collect();
    persons.sort_by_key(|p| (p.centre.trim_start_matches("rc").parse::<u32>().unwrap_or(u32::MAX), p.centre.clone(), p.name.clone()));
    for p in persons {
        let e = &p.certificate;
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} — {}</td><td><code>{}</code></td><td><a href=\"{}\">PEM</a> · <a href=\"{}\">DER</a></td></tr>",
            esc(&p.centre),
            esc(&p.name),
            esc(&tr(word(language, &p.role))),
            esc(&tr(word(language, &p.status))),
            date(e.not_before),
            date(e.not_after),
            esc(&e.serial),
            esc(&e.download.pem),
            esc(&e.download.der)
        ));
    }
    html.push_str("</table>");
    let keep = crate::portal::pages::query_without_lang(uri.query());
    let page = crate::portal::layout::Page {
        lang: language,
        path: "/registry",
        keep_query: &keep,
        title_key: "registry.title",
        script: None,
        body: html,
    };
    Ok(crate::portal::pages::respond(language, chosen, crate::portal::layout::render(&page)))
}
