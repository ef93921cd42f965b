//! Shared setup of the workflow's integration tests: a real database (SQLite file or a
//! fresh PostgreSQL database), a root and centre CA built with the real PKI code, an
//! operator registered in the store, and an applicant whose key and request are made by
//! the OpenSSL CLI (foreign input for our readers).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use hmac::{KeyInit, Mac};
use imzo_ca::CentreCa;
use imzo_keys::{RawSigner, SoftwareKey};
use imzo_pki::{
    Certificate,
    cert::{self, IssueParams, Profile, PublicationUrls},
    name::Subject,
};
use imzo_ra::{ApplicantType, RaConfig, Registration, StartRequest, Upload};
use imzo_store::{Store, cas};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use time::{Duration, OffsetDateTime, macros::date};

/// The pepper the tests configure (so they can plant captchas with known answers).
pub const PEPPER: &[u8] = b"test pepper, not a secret";
/// BCV in the tests' table: 270 000 sum.
pub const BCV_TIYIN: i64 = 27_000_000;

#[path = "../../../imzo-store/tests/common/mod.rs"]
mod db;
pub use db::{Db, Keep, store};

/// Everything a workflow test needs.
pub struct Env {
    pub ra: Registration,
    pub store: Store,
    pub root: Certificate,
    pub centre: Certificate,
    pub operator_key: Arc<SoftwareKey>,
    pub operator_cert: Certificate,
    pub dir: tempfile::TempDir,
    _keep: Keep,
}

fn ca_params(subject: Subject, key: &dyn RawSigner, serial: u8, profile: Profile) -> IssueParams {
    let now = OffsetDateTime::now_utc();
    IssueParams {
        subject,
        subject_public_key_der: key.public_key_der().to_vec(),
        serial: vec![serial],
        not_before: now - Duration::hours(1),
        not_after: now + Duration::days(3650),
        profile,
        urls: PublicationUrls::default(),
        policy_oid: None,
    }
}

/// Sets up a root, a centre CA `rc1` and one operator on `db`.
pub async fn env(db: Db) -> Option<Env> {
    let (store, keep) = store(db).await?;
    let root_key = SoftwareKey::generate().unwrap();
    let root_subject = Subject {
        common_name: "Test Authorised Body Root".into(),
        organization: Some("Imzo tests".into()),
        country: Some("UZ".into()),
        ..Subject::default()
    };
    let root = cert::issue(None, &root_key, &ca_params(root_subject, &root_key, 1, Profile::Root)).unwrap();
    let centre_key = SoftwareKey::generate().unwrap();
    let centre_subject = Subject {
        common_name: "Test Registration Centre 1".into(),
        organization: Some("Imzo tests".into()),
        country: Some("UZ".into()),
        ..Subject::default()
    };
    let centre =
        cert::issue(Some(&root), &root_key, &ca_params(centre_subject, &centre_key, 2, Profile::CentreCa)).unwrap();

    let mut tx = store.begin().await.unwrap();
    let root_der = cert::to_der(&root).unwrap();
    let centre_der = cert::to_der(&centre).unwrap();
    cas::insert_ca(
        &mut tx,
        &cas::NewCa { id: "root", kind: "root", parent_id: None, name: "Root", cert_der: &root_der, key_ref: "memory" },
    )
    .await
    .unwrap();
    cas::insert_ca(
        &mut tx,
        &cas::NewCa {
            id: "rc1",
            kind: "centre",
            parent_id: Some("root"),
            name: "Centre 1",
            cert_der: &centre_der,
            key_ref: "memory",
        },
    )
    .await
    .unwrap();
    cas::insert_centre(&mut tx, "rc1", "Centre 1", "rc1").await.unwrap();
    let ca = CentreCa::new(
        "rc1".into(),
        "rc1".into(),
        centre.clone(),
        root.clone(),
        Arc::new(centre_key),
        PublicationUrls::default(),
        None,
    );
    let operator_key = Arc::new(SoftwareKey::generate().unwrap());
    let op_subject = Subject { common_name: "Operator One".into(), country: Some("UZ".into()), ..Subject::default() };
    let issued = ca.issue_operator(&mut tx, &op_subject, operator_key.public_key_der()).await.unwrap();
    let sha = cert::info(&issued.certificate).unwrap().sha256_hex;
    cas::insert_operator(&mut tx, "rc1", "Operator One", &issued.der, &sha).await.unwrap();
    tx.commit().await.unwrap();

    let config = RaConfig::new(
        vec![(date!(2020 - 01 - 01), BCV_TIYIN), (date!(2019 - 01 - 01), 22_300_000)],
        PEPPER.to_vec(),
        "http://127.0.0.1:8080",
    )
    .with_payme_key(Some("configured-key".into()))
    // Tests start many applications for one test person from one process; the start
    // limits themselves are tested with the defaults (tests/hardening.rs).
    .with_start_limits(1000, 1000);
    Some(Env {
        ra: Registration::new(store.clone(), ca, config),
        store,
        root,
        centre,
        operator_key,
        operator_cert: issued.certificate,
        dir: tempfile::tempdir().unwrap(),
        _keep: keep,
    })
}

/// A valid individual's start request with phone `phone`.
pub fn individual(phone: &str) -> StartRequest {
    StartRequest {
        applicant_type: ApplicantType::Individual,
        pinfl: "32808810170066".into(),
        surname: "G\u{02BB}ulomov".into(),
        given_name: "Alisher".into(),
        patronymic: Some("Rustamovich".into()),
        birth_date: "1981-08-28".into(),
        region: "Toshkent shahri".into(),
        district: Some("Yunusobod".into()),
        passport: "aa1234567".into(),
        phone: phone.into(),
        company_inn: None,
        company_name: None,
        title: None,
        centre: None,
    }
}

/// The last code sent to `phone` (998…), read from the outbox as a person would.
pub async fn last_code(ra: &Registration, phone: &str) -> String {
    let messages = ra.outbox(0).await.unwrap();
    let text =
        messages.iter().rev().find(|m| m.phone == phone && m.text.contains("kodi")).expect("a code SMS").text.clone();
    text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).expect("six digits").to_string()
}

pub fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().expect("openssl CLI is installed");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// An applicant whose key, request and proofs are made by OpenSSL.
pub struct Applicant {
    dir: PathBuf,
}

impl Applicant {
    pub fn new(base: &Path, name: &str) -> Applicant {
        let dir = base.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let p = |f: &str| dir.join(f).to_str().unwrap().to_string();
        let (ok, text) =
            openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &p("key.pem")]);
        assert!(ok, "{text}");
        let (ok, text) = openssl(&[
            "req",
            "-new",
            "-key",
            &p("key.pem"),
            "-subj",
            "/CN=Applicant/C=UZ",
            "-outform",
            "DER",
            "-out",
            &p("csr.der"),
        ]);
        assert!(ok, "{text}");
        // A throwaway self-signed certificate only carries the key identifier for `cms -keyid`.
        let (ok, text) = openssl(&[
            "req",
            "-x509",
            "-key",
            &p("key.pem"),
            "-subj",
            "/CN=Applicant",
            "-days",
            "1",
            "-out",
            &p("self.pem"),
        ]);
        assert!(ok, "{text}");
        Applicant { dir }
    }

    /// Attached CMS over `content`, signed with this applicant's key as the holder of
    /// `cert_pem`, the certificate and `chain_pem` inside (as a holder's module signs).
    pub fn sign_as_holder(&self, content: &[u8], cert_pem: &str, chain_pem: &str) -> Vec<u8> {
        let p = |f: &str| self.dir.join(f).to_str().unwrap().to_string();
        std::fs::write(p("content.bin"), content).unwrap();
        std::fs::write(p("holder.pem"), cert_pem).unwrap();
        std::fs::write(p("chain.pem"), chain_pem).unwrap();
        let (ok, text) = openssl(&[
            "cms", "-sign", "-nodetach", "-binary", "-md", "sha256", "-in", &p("content.bin"), "-signer",
            &p("holder.pem"), "-inkey", &p("key.pem"), "-certfile", &p("chain.pem"), "-outform", "DER", "-out",
            &p("signed.der"),
        ]);
        assert!(ok, "{text}");
        std::fs::read(p("signed.der")).unwrap()
    }

    pub fn csr_der(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("csr.der")).unwrap()
    }

    /// PEM of the request, as a browser might upload it.
    pub fn csr_pem(&self) -> Vec<u8> {
        let p = self.dir.join("csr.der");
        let (ok, text) = openssl(&["req", "-inform", "DER", "-in", p.to_str().unwrap()]);
        assert!(ok, "{text}");
        text.into_bytes()
    }

    /// Detached CMS over `challenge`, signer by subject key identifier, no certificates.
    pub fn prove(&self, challenge_base64: &str) -> Vec<u8> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD.decode(challenge_base64).unwrap();
        let p = |f: &str| self.dir.join(f).to_str().unwrap().to_string();
        std::fs::write(p("challenge.bin"), bytes).unwrap();
        let (ok, text) = openssl(&[
            "cms",
            "-sign",
            "-binary",
            "-keyid",
            "-nocerts",
            "-md",
            "sha256",
            "-in",
            &p("challenge.bin"),
            "-signer",
            &p("self.pem"),
            "-inkey",
            &p("key.pem"),
            "-outform",
            "DER",
            "-out",
            &p("proof.der"),
        ]);
        assert!(ok, "{text}");
        std::fs::read(p("proof.der")).unwrap()
    }
}

/// A small real PDF and PNG (240 × 200: documents need 200 × 200 pixels at least).
pub fn documents() -> (Upload, Upload) {
    // Written by ReportLab (tests/data/README.md).
    let pdf = include_bytes!("../data/reportlab.pdf").to_vec();
    let img = image::RgbImage::from_fn(240, 200, |x, y| image::Rgb([(x * 7 % 256) as u8, (y * 9 % 256) as u8, 100]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    (
        Upload { file_name: Some("passport.pdf".into()), bytes: pdf },
        Upload { file_name: Some("selfie.png".into()), bytes: png.into_inner() },
    )
}

/// Plants a captcha whose answer the test knows (the real one is only in the picture).
pub async fn planted_captcha(store: &Store, answer: &str) -> String {
    let id = db::random_hex(16);
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(PEPPER).unwrap();
    mac.update(format!("captcha:{id}").as_bytes());
    mac.update(&[0]);
    mac.update(answer.as_bytes());
    let hash = hex::encode(mac.finalize().into_bytes());
    let expires = imzo_store::time_ms::now_ms() + 60_000;
    imzo_store::challenges::insert_captcha(store.pool(), &id, &hash, expires).await.unwrap();
    id
}

/// Signs a decision document as the operator (attached CMS with the chain).
pub fn operator_sign(env: &Env, json: &serde_json::Value) -> Vec<u8> {
    let content = serde_json::to_vec(json).unwrap();
    let options = imzo_pki::cms::SignOptions { detached: false, signing_time: OffsetDateTime::now_utc() };
    imzo_pki::cms::sign(&content, env.operator_key.as_ref(), &[env.operator_cert.clone(), env.centre.clone()], &options)
        .unwrap()
}

/// Runs an application to `awaiting_payment`; returns (number, fee, applicant).
pub async fn submitted(env: &Env, phone: &str, who: &str) -> (String, i64, Applicant) {
    let started = env.ra.start(individual(phone)).await.unwrap();
    let normal = imzo_ra::validate::phone(phone).unwrap();
    let code = last_code(&env.ra, &normal).await;
    env.ra.verify_phone(&started.draft_id, &code).await.unwrap();
    let applicant = Applicant::new(env.dir.path(), who);
    let (passport, selfie) = documents();
    let s = env.ra.submit(&started.draft_id, &applicant.csr_der(), passport, selfie).await.unwrap();
    (s.number, s.fee_tiyin, applicant)
}

/// Current state of application `number`.
pub async fn state_of(store: &Store, number: &str) -> String {
    imzo_store::applications::by_number(store.pool(), number).await.unwrap().unwrap().state
}
