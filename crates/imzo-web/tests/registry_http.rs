//! The public state register over HTTP, on SQLite and PostgreSQL, on the embedded
//! default's authorised body (root, ten centres, their operators): `POST
//! /api/v1/registry/check` answers for an operator's certificate, a centre's CA, a CMS an
//! operator signed (also once that operator's certificate is revoked), a stranger's
//! self-signed certificate, and refuses garbage naming the field; `GET /registry` speaks
//! the language `Accept-Language` asks for; `GET /api/v1/registry/signed` verifies with
//! OpenSSL and the root alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-ra/tests/common/mod.rs"]
mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use common::{Db, Keep, store};
use imzo_ca::bootstrap;
use imzo_ca::revocation::RevocationAction;
use imzo_keys::{SoftwareKey, pfxfile};
use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::name::Subject;
use imzo_ra::{RaConfig, Registration};
use imzo_web::{AppState, router};
use serde_json::{Value, json};
use std::path::PathBuf;
use time::{OffsetDateTime, macros::date};
use tower::ServiceExt as _;

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Db::Postgres).await
            }
        }
    )*};
}

on_both!(the_check_answers_for_persons_centres_signatures_and_strangers, the_page_speaks_the_asked_language);

struct Site {
    app: Router,
    store: imzo_store::Store,
    data: PathBuf,
    dir: tempfile::TempDir,
    _keep: Keep,
}

async fn site(db: Db) -> Option<Site> {
    let (store, keep) = store(db).await?;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let settings =
        bootstrap::Settings { public_url: Some("http://127.0.0.1:8080".into()), policy_oid: None, algorithm: Default::default() };
    let deployment = bootstrap::ensure(&store, &data, &settings).await.unwrap();
    let config = RaConfig::new(vec![(date!(2020 - 01 - 01), 27_000_000)], common::PEPPER.to_vec(), "http://127.0.0.1:8080");
    let registration = Registration::new(store.clone(), deployment.centre.clone(), config)
        .with_centres(deployment.authority.centres.clone())
        .with_register_signer(deployment.authority.register_signer.clone());
    let app = router(AppState {
        registration: registration.clone(),
        payme: registration,
        ca_certificates: Vec::new(),
        dev_outbox: false,
        payme_sandbox: false,
        payme_merchant_id: None,
        click: None,
        paynet: None,
    });
    Some(Site { app, store, data, dir, _keep: keep })
}

impl Site {
    async fn send(&self, request: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap().to_vec(), headers)
    }

    async fn check(&self, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let request =
            Request::post("/api/v1/registry/check").header("content-type", content_type).body(Body::from(body)).unwrap();
        let (status, bytes, _) = self.send(request).await;
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
        (status, value)
    }

    fn operator(&self, n: u32) -> pfxfile::PfxKey {
        let ops = self.data.join("operators");
        let password = std::fs::read_to_string(ops.join(format!("operator{n}.password"))).unwrap();
        pfxfile::open(&ops.join(format!("operator{n}.pfx")), password.trim()).unwrap()
    }
}

fn self_signed() -> imzo_pki::Certificate {
    let key = SoftwareKey::generate().unwrap();
    let now = OffsetDateTime::now_utc();
    let params = IssueParams {
        // The same name as a registered centre: the name alone proves nothing.
        subject: Subject { common_name: "Imzo Registration Centre 2".into(), country: Some("UZ".into()), ..Subject::default() },
        subject_public_key_der: imzo_keys::RawSigner::public_key_der(&key).to_vec(),
        serial: vec![7],
        not_before: now - time::Duration::hours(1),
        not_after: now + time::Duration::days(30),
        profile: Profile::Root,
        urls: PublicationUrls::default(),
        policy_oid: None,
    };
    cert::issue(None, &key, &params).unwrap()
}

async fn the_check_answers_for_persons_centres_signatures_and_strangers(db: Db) {
    let Some(s) = site(db).await else { return };
    let op3 = s.operator(3);
    let op3_pem = cert::to_pem(&op3.chain[0]).unwrap();

    // An operator's certificate, as PEM text: a registered authorised person of rc3.
    let (status, answer) = s.check("application/x-pem-file", op3_pem.clone().into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["kind"].as_str(), answer["registered"].as_bool()), (Some("certificate"), Some(true)), "{answer}");
    let verdict = &answer["certificate"];
    assert_eq!((verdict["role"].as_str(), verdict["centre"].as_str()), (Some("authorised_person"), Some("rc3")), "{answer}");
    assert_eq!(verdict["person"], "Imzo Operator 3");
    assert!(verdict["problems"].as_array().unwrap().is_empty(), "{answer}");

    // A centre's CA certificate, as base64 DER inside JSON.
    let rc5 = std::fs::read(s.data.join("pki/rc5.pem")).unwrap();
    let rc5_der = cert::to_der(&imzo_pki::pem::read_certificates(&rc5).unwrap()[0]).unwrap();
    let body = json!({ "certificate": base64::engine::general_purpose::STANDARD.encode(&rc5_der) });
    let (status, answer) = s.check("application/json", serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["registered"], true, "{answer}");
    assert_eq!((answer["certificate"]["role"].as_str(), answer["certificate"]["centre"].as_str()), (Some("centre"), Some("rc5")));

    // A CMS an operator signed (attached): registered, the signature valid.
    let options = imzo_pki::cms::SignOptions { detached: false, signing_time: OffsetDateTime::now_utc() };
    let cms = imzo_pki::cms::sign(b"Qaror: tasdiqlandi", &op3.key, &op3.chain, &options).unwrap();
    let (status, answer) = s.check("application/pkcs7-mime", cms.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["kind"].as_str(), answer["registered"].as_bool()), (Some("signature"), Some(true)), "{answer}");
    let signer = &answer["signers"][0];
    assert_eq!(signer["signature_valid"], true);
    assert_eq!((signer["centre"].as_str(), signer["role"].as_str()), (Some("rc3"), Some("authorised_person")), "{answer}");

    // Detached without its content: cannot be judged (400 naming content_base64); with the
    // content, registered.
    let options = imzo_pki::cms::SignOptions { detached: true, signing_time: OffsetDateTime::now_utc() };
    let detached = imzo_pki::cms::sign(b"Qaror: tasdiqlandi", &op3.key, &op3.chain, &options).unwrap();
    let body = json!({ "cms": base64::engine::general_purpose::STANDARD.encode(&detached) });
    let (status, answer) = s.check("application/json", serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!((answer["error"]["code"].as_str(), answer["error"]["field"].as_str()), (Some("content_missing"), Some("content_base64")));
    let body = json!({
        "cms": base64::engine::general_purpose::STANDARD.encode(&detached),
        "content_base64": base64::engine::general_purpose::STANDARD.encode(b"Qaror: tasdiqlandi"),
    });
    let (status, answer) = s.check("application/json", serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["registered"], true, "{answer}");
    // With other content: not registered, and the answer says why.
    let body = json!({
        "cms": base64::engine::general_purpose::STANDARD.encode(&detached),
        "content_base64": base64::engine::general_purpose::STANDARD.encode(b"Qaror: rad etildi"),
    });
    let (status, answer) = s.check("application/json", serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["registered"].as_bool(), answer["signers"][0]["signature_valid"].as_bool()), (Some(false), Some(false)));
    assert!(!answer["signers"][0]["problems"].as_array().unwrap().is_empty(), "{answer}");

    // A stranger's self-signed certificate with a centre's name: not registered.
    let stranger = cert::to_pem(&self_signed()).unwrap();
    let (status, answer) = s.check("application/x-pem-file", stranger.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!((answer["registered"].as_bool(), answer["certificate"]["role"].as_str()), (Some(false), Some("unknown")), "{answer}");
    assert!(!answer["certificate"]["problems"].as_array().unwrap().is_empty(), "{answer}");

    // Garbage: 400 naming the field.
    let (status, answer) = s.check("application/json", br#"{"certificate": "bm90IGEgY2VydA=="}"#.to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!((answer["error"]["code"].as_str(), answer["error"]["field"].as_str()), (Some("not_a_certificate"), Some("certificate")));
    assert!(answer["error"]["message"]["ru"].as_str().unwrap().contains("не сертификат X.509"), "{answer}");
    assert!(answer["error"]["message"]["uz"].as_str().unwrap().contains("sertifikat emas"), "{answer}");
    let (status, answer) = s.check("application/octet-stream", b"\x01\x02 plainly not a signature".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!((answer["error"]["code"].as_str(), answer["error"]["field"].as_str()), (Some("not_a_signature"), Some("cms")));
    let body = json!({ "cms": base64::engine::general_purpose::STANDARD.encode(&cms), "at": "yesterday" });
    let (status, answer) = s.check("application/json", serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["field"], "at");
    let (status, answer) = s.check("application/json", serde_json::to_vec(&json!({})).unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["field"], "certificate");

    // The operator's certificate revoked: neither it nor a signature made now is registered;
    // judged at a time before the revocation, the earlier signature still is.
    let before = OffsetDateTime::now_utc() - time::Duration::seconds(5);
    let serial = cert::info(&op3.chain[0]).unwrap().serial_hex;
    imzo_ca::root::change(&s.store, &serial, RevocationAction::Revoke, Some(imzo_pki::crl::RevocationReason::KeyCompromise))
        .await
        .unwrap();
    let (_, answer) = s.check("application/x-pem-file", op3_pem.into_bytes()).await;
    assert_eq!(answer["registered"], false, "{answer}");
    let codes: Vec<&str> = answer["certificate"]["problems"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"revoked"), "{answer}");
    let at = before.format(&time::format_description::well_known::Rfc3339).unwrap();
    let body = json!({ "cms": base64::engine::general_purpose::STANDARD.encode(&cms), "at": at });
    let (status, answer) = s.check("application/json", serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["registered"], true, "judged before the revocation: {answer}");
}

async fn the_page_speaks_the_asked_language(db: Db) {
    let Some(s) = site(db).await else { return };
    let page = |lang: &'static str| {
        let request = Request::get("/registry").header("accept-language", lang).body(Body::empty()).unwrap();
        s.send(request)
    };
    for (asked, lang, title, centre) in [
        ("ru-RU,ru;q=0.9,en;q=0.5", "ru", "Государственный реестр", "Регистрационный центр № 7"),
        ("en-GB,en;q=0.8", "en", "State register of registration centres", "Registration Centre 7"),
        ("uz,ru;q=0.5", "uz-Latn", "davlat reestri", "7-son ro&#x27;yxatga olish markazi"),
        ("uz-Cyrl", "uz-Cyrl", "давлат реестри", "7-сон рўйхатга олиш маркази"),
        ("fr", "uz-Latn", "davlat reestri", "ro"),
    ] {
        let (status, body, headers) = page(asked).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains(&format!("<html lang=\"{lang}\"")), "{asked}: {html}");
        assert!(html.contains(title), "{asked}: {html}");
        assert!(html.contains(centre) || html.contains(&centre.replace("&#x27;", "'")), "{asked}: {html}");
        assert_eq!(headers.get("content-language").unwrap(), lang);
        assert_eq!(headers.get("vary").unwrap(), "Accept-Language, Cookie");
        assert!(html.contains("href=\"/registry?lang=ru\""), "the language switcher: {html}");
        if lang == "ru" {
            assert!(html.contains("действует") && !html.contains(">active<"), "statuses in the page's language: {html}");
        }
        let (rc2, rc10) = (html.find("<td>rc2</td>").unwrap(), html.find("<td>rc10</td>").unwrap());
        assert!(rc2 < rc10, "persons in centre number order");
        // Ten centres and ten authorised persons, each with download links.
        assert_eq!(html.matches("/ca/rc").count(), 20, "{asked}");
        assert_eq!(html.matches("Imzo Operator ").count(), 10, "{asked}");
    }

    // `?lang=` wins over Accept-Language and is kept in a cookie, as on the portal.
    let request = Request::get("/registry?lang=uz-Cyrl").header("accept-language", "en").body(Body::empty()).unwrap();
    let (status, body, headers) = s.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(body).unwrap().contains("давлат реестри"));
    assert!(headers.get("set-cookie").unwrap().to_str().unwrap().starts_with("imzo_lang=uz-Cyrl;"));

    // The JSON register names each centre in Uzbek Cyrillic too.
    let (status, body, _) = s.send(Request::get("/api/v1/registry").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let register: Value = serde_json::from_slice(&body).unwrap();
    let names = &register["centres"][6]["names"];
    assert_eq!(names["uz_cyrl"], imzo_ra::translit::uz_latin_to_cyrillic(names["uz"].as_str().unwrap()).as_str(), "{names}");
    assert!(names["uz_cyrl"].as_str().unwrap().contains("маркази"), "{names}");

    // The signed register: OpenSSL verifies it with the root alone; the content is the JSON.
    let (status, cms, headers) = s.send(Request::get("/api/v1/registry/signed").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("content-type").unwrap().to_str().unwrap().starts_with("application/pkcs7-mime"));
    let file = s.dir.path().join("register.p7m");
    std::fs::write(&file, &cms).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-in"])
        .arg(&file)
        .arg("-CAfile")
        .arg(s.data.join("pki/root.pem"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let register: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(register["centres"].as_array().unwrap().len(), 10);
    // The signed file itself passes the authenticity check: its signer is the register's.
    let (status, answer) = s.check("application/pkcs7-mime", cms.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["registered"], true, "{answer}");
    assert_eq!(answer["signers"][0]["role"], "register_signer", "{answer}");
}
