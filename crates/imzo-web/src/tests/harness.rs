//! A real router over a real workflow: a SQLite store in a temporary folder and a CA whose
//! key and certificate OpenSSL made.

use crate::{AppState, router};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use imzo_ca::CentreCa;
use imzo_keys::SoftwareKey;
use imzo_pki::cert::PublicationUrls;
use imzo_ra::{RaConfig, Registration};
use imzo_store::Store;
use imzo_store::cas::{NewCa, insert_ca, insert_centre};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use tempfile::TempDir;
use tower::ServiceExt as _;

/// The Payme merchant key the test deployment is configured with.
pub(crate) const PAYME_KEY: &str = "test-merchant-key-Zx81";

pub(crate) struct Harness {
    pub(crate) app: Router,
    pub(crate) root_der: Vec<u8>,
    pub(crate) dir: TempDir,
    /// The workflow behind the router (its store, for looking at the books).
    pub(crate) registration: Registration,
}

pub(crate) fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

pub(crate) async fn harness(dev_outbox: bool, payme_sandbox: bool) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "root.key",
          "-out", "root.pem", "-subj", "/CN=Imzo Web Test Root/C=UZ", "-days", "30"],
    );
    openssl(d, &["x509", "-in", "root.pem", "-outform", "DER", "-out", "root.der"]);
    openssl(d, &["pkcs8", "-topk8", "-nocrypt", "-in", "root.key", "-outform", "DER", "-out", "root.key.der"]);
    let root_der = std::fs::read(d.join("root.der")).unwrap();
    let certificate = imzo_pki::pem::read_certificates(&root_der).unwrap().remove(0);
    let key = SoftwareKey::from_pkcs8_der(&std::fs::read(d.join("root.key.der")).unwrap()).unwrap();

    let store = Store::connect(&format!("sqlite://{}", d.join("imzo.db").display())).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let ca = NewCa {
        id: "root",
        kind: "root",
        parent_id: None,
        name: "Imzo Web Test Root",
        cert_der: &root_der,
        key_ref: "root.key",
    };
    insert_ca(&mut tx, &ca).await.unwrap();
    insert_centre(&mut tx, "rc1", "Test centre", "root").await.unwrap();
    tx.commit().await.unwrap();

    let centre = CentreCa::new(
        "rc1".into(),
        "root".into(),
        certificate.clone(),
        certificate,
        Arc::new(key),
        PublicationUrls::default(),
        None,
    );
    let bcv = time::Date::from_calendar_date(2020, time::Month::January, 1).unwrap();
    let config = RaConfig::new(vec![(bcv, 27_000_000)], b"web-test-pepper-0123456789abcdef".to_vec(), "http://127.0.0.1")
        .with_payme_key(Some(PAYME_KEY.to_owned()));
    let registration = Registration::new(store, centre, config);
    let app = router(AppState {
        registration: registration.clone(),
        payme: registration.clone(),
        ca_certificates: vec![("root".to_owned(), root_der.clone())],
        dev_outbox,
        payme_sandbox,
        payme_merchant_id: Some("587f72c72cac0d162c722ae2".to_owned()),
        click: Some(imzo_gateways::click::Settings {
            service_id: "30125".to_owned(),
            merchant_id: Some("21870".to_owned()),
            secret: zeroize::Zeroizing::new("test-click-secret".to_owned()),
        }),
        paynet: Some(imzo_gateways::paynet::Settings {
            user: "paynet".to_owned(),
            password: zeroize::Zeroizing::new("test-paynet-password".to_owned()),
            merchant_id: Some("4521".to_owned()),
        }),
    });
    Harness { app, root_der, dir, registration }
}

impl Harness {
    pub(crate) async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.app.clone().oneshot(request).await.unwrap()
    }

    pub(crate) async fn json(&self, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = self.send(request).await;
        let status = response.status();
        (status, body_json(response).await)
    }
}

pub(crate) async fn body_bytes(response: Response<Body>) -> Vec<u8> {
    axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await.unwrap().to_vec()
}

pub(crate) async fn body_json(response: Response<Body>) -> Value {
    let bytes = body_bytes(response).await;
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// Asserts the API's error shape and returns (code, field).
pub(crate) fn error_of(body: &Value) -> (String, Option<String>) {
    let error = body["error"].as_object().unwrap_or_else(|| panic!("no error object: {body}"));
    // `detail` (technical, English only) is there when the cause has one.
    let keys: Vec<&str> = error.keys().map(String::as_str).filter(|k| *k != "detail").collect();
    assert_eq!(keys, ["code", "field", "language", "message", "text"], "{body}");
    for language in ["uz", "uz_cyrl", "ru", "en"] {
        assert!(!body["error"]["message"][language].as_str().unwrap().is_empty(), "{body}");
    }
    (error["code"].as_str().unwrap().to_owned(), error["field"].as_str().map(str::to_owned))
}
