//! A centre CA whose key is on a SoftHSM2 token (opened through a token pointer file, as
//! a data folder holds it), with OCSP and TSA keys on the same token: it issues
//! certificates, signs a CRL, OCSP answers and time-stamps that the OpenSSL CLI accepts,
//! and keeps signing after every session with the token was closed under it. On SQLite
//! and PostgreSQL. Each test runs in a process of its own with a fresh token
//! (`imzo_keys::pkcs11::softhsm::isolated`); without SoftHSM2 they skip, unless CI is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-store/tests/common/mod.rs"]
mod common;

use common::Db;
use imzo_ca::CentreCa;
use imzo_ca::crl::CrlPolicy;
use imzo_ca::ocsp::{OcspPolicy, OcspResponder};
use imzo_ca::tsa::{Tsa, TsaSettings};
use imzo_keys::pkcs11::softhsm;
use imzo_keys::{KeyAlgorithm, RawSigner, SoftwareKey, StoredKey, stored};
use imzo_pki::cert::{self, IssueParams, Profile};
use imzo_pki::name::Subject;
use imzo_pki::ocsp::{self, CertIdHash};
use imzo_store::{cas, certificates, status, time_ms::now_ms};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn subject(cn: &str) -> Subject {
    Subject { common_name: cn.into(), organization: Some(cn.into()), country: Some("UZ".into()), ..Subject::default() }
}

async fn scenario(test: &str, db: Db) {
    let Some(hsm) = softhsm::isolated(test).unwrap() else { return };
    let Some((store, _keep)) = common::store(db).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();

    // The root stays a key file; the centre's key is made on the token, and the data
    // folder's key file only points at it.
    let root_key = SoftwareKey::generate().unwrap();
    let root = cert::issue(
        None,
        &root_key,
        &IssueParams {
            subject: subject("HSM Test Root"),
            subject_public_key_der: root_key.public_key_der().to_vec(),
            serial: vec![0x01, 0x23],
            not_before: now - time::Duration::minutes(1),
            not_after: now + time::Duration::days(3650),
            profile: Profile::Root,
            urls: Default::default(),
            policy_oid: None,
        },
    )
    .unwrap();
    let pointer = dir.path().join("rc-hsm.key.pem");
    let made = stored::create(&pointer, KeyAlgorithm::EcdsaP256, b"", Some(&hsm.key_uri("rc-hsm"))).unwrap();
    let centre_key = Arc::new(stored::open(&pointer, b"not used for tokens").unwrap());
    let StoredKey::Token(token_key) = centre_key.as_ref() else { panic!("{pointer:?} must open on the token") };
    assert_eq!(centre_key.public_key_der(), made.public_key_der());
    drop(made);
    let centre_cert = cert::issue(
        Some(&root),
        &root_key,
        &IssueParams {
            subject: subject("HSM Registration Centre"),
            subject_public_key_der: centre_key.public_key_der().to_vec(),
            serial: vec![0x02, 0x34],
            not_before: now - time::Duration::minutes(1),
            not_after: now + time::Duration::days(1800),
            profile: Profile::CentreCa,
            urls: Default::default(),
            policy_oid: None,
        },
    )
    .unwrap();
    let key_ref = centre_key.reference(&pointer);
    assert!(key_ref.starts_with("pkcs11:token=imzo-test;object=rc-hsm;"), "{key_ref}");
    let mut tx = store.begin().await.unwrap();
    for (id, kind, parent, certificate, key_ref) in
        [("root", "root", None, &root, "root.key.pem"), ("rchsm", "centre", Some("root"), &centre_cert, key_ref.as_str())]
    {
        let der = cert::to_der(certificate).unwrap();
        cas::insert_ca(&mut tx, &cas::NewCa { id, kind, parent_id: parent, name: id, cert_der: &der, key_ref }).await.unwrap();
    }
    tx.commit().await.unwrap();
    let ca = CentreCa::new(
        "rchsm".into(),
        "rchsm".into(),
        centre_cert.clone(),
        root.clone(),
        centre_key.clone(),
        imzo_ca::bootstrap::publication_urls(Some("http://127.0.0.1:8080"), "rchsm"),
        None,
    );

    // Two holders; the token signs both certificates.
    let mut holders = Vec::new();
    for name in ["KARIMOVA NODIRA", "TOSHEV BEKZOD"] {
        let key = SoftwareKey::generate().unwrap();
        let mut tx = store.begin().await.unwrap();
        let issued = ca.issue_holder(&mut tx, &subject(name), key.public_key_der(), None).await.unwrap();
        tx.commit().await.unwrap();
        holders.push(issued);
    }
    // Every session with the token is closed under the CA between two signatures: the
    // next signature re-opens one instead of failing.
    softhsm::close_all_sessions(hsm.module()).unwrap();
    let mut tx = store.begin().await.unwrap();
    status::revoke(&mut tx, &holders[1].serial_hex, 1, now_ms()).await.unwrap();
    tx.commit().await.unwrap();
    let crl = imzo_ca::crl::current(&store, &ca, &CrlPolicy { delay: Duration::ZERO, ..CrlPolicy::default() }).await.unwrap();
    assert_eq!(token_key.reopened(), 1, "the CRL signature re-opened the closed session");

    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    write("root.pem", cert::to_pem(&root).unwrap().as_bytes());
    write("ca.pem", cert::to_pem(&centre_cert).unwrap().as_bytes());
    write("chain.pem", format!("{}{}", cert::to_pem(&centre_cert).unwrap(), cert::to_pem(&root).unwrap()).as_bytes());
    write("good.pem", cert::to_pem(&holders[0].certificate).unwrap().as_bytes());
    write("revoked.pem", cert::to_pem(&holders[1].certificate).unwrap().as_bytes());
    write("crl.der", &crl);
    let (ok, out) = openssl(dir.path(), &["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"]);
    assert!(ok, "{out}");

    let (ok, out) = openssl(dir.path(), &["verify", "-CAfile", "chain.pem", "good.pem"]);
    assert!(ok && out.contains("good.pem: OK"), "{out}");
    let (ok, out) = openssl(dir.path(), &["crl", "-in", "crl.pem", "-CAfile", "chain.pem", "-noout"]);
    assert!(ok && out.contains("verify OK"), "{out}");
    let (ok, out) = openssl(dir.path(), &["verify", "-crl_check", "-CAfile", "chain.pem", "-CRLfile", "crl.pem", "good.pem"]);
    assert!(ok, "{out}");
    let (ok, out) = openssl(dir.path(), &["verify", "-crl_check", "-CAfile", "chain.pem", "-CRLfile", "crl.pem", "revoked.pem"]);
    assert!(!ok && out.contains("certificate revoked"), "{out}");

    // OCSP answers signed by the responder key on the token, which the CA certifies.
    let ocsp_key = Arc::new(imzo_keys::pkcs11::generate_p256(&hsm.key_uri("ocsp")).unwrap());
    let responder = OcspResponder::new(vec![ca.clone()], OcspPolicy { memory_ttl: Duration::ZERO, ..OcspPolicy::default() })
        .unwrap()
        .with_responder_key(ocsp_key.clone());
    for (holder, file, expected) in [(&holders[0], "good.pem", "good.pem: good"), (&holders[1], "revoked.pem", "revoked.pem: revoked")] {
        let request = ocsp::build_request(&centre_cert, &holder.serial_hex, CertIdHash::Sha1, None).unwrap();
        let answer = responder.respond(&store, &request).await;
        write("resp.der", &answer.der);
        let (ok, out) = openssl(
            dir.path(),
            &["ocsp", "-respin", "resp.der", "-issuer", "ca.pem", "-cert", file, "-CAfile", "chain.pem"],
        );
        assert!(ok && out.contains("Response verify OK") && out.contains(expected), "{out}");
    }
    let spki = certificates::spki_sha256(ocsp_key.public_key_der());
    assert_eq!(certificates::by_spki_sha256(store.pool(), &spki).await.unwrap().len(), 1, "one responder certificate for the token key");

    // Time-stamps signed by the TSA key on the token.
    let tsa_key = Arc::new(imzo_keys::pkcs11::generate_p256(&hsm.key_uri("tsa")).unwrap());
    let tsa = Tsa::new(ca.clone(), TsaSettings::default()).unwrap().with_key(tsa_key.clone());
    write("data.txt", b"hujjat matni\n");
    let (ok, out) = openssl(dir.path(), &["ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "q.tsq"]);
    assert!(ok, "{out}");
    let reply = tsa.respond(&store, &std::fs::read(dir.path().join("q.tsq")).unwrap()).await;
    write("r.tsr", &reply);
    let (ok, out) =
        openssl(dir.path(), &["ts", "-verify", "-in", "r.tsr", "-queryfile", "q.tsq", "-CAfile", "root.pem", "-untrusted", "chain.pem"]);
    assert!(ok && out.contains("Verification: OK"), "{out}");
    let tsa_cert = tsa.certificate(&store).await.unwrap();
    assert_eq!(cert::public_key_der(&tsa_cert).unwrap(), tsa_key.public_key_der());
    assert!(ocsp_key.reopened() <= 1 && tsa_key.reopened() == 0);
}

#[tokio::test]
async fn centre_ca_on_softhsm_sqlite() {
    scenario("centre_ca_on_softhsm_sqlite", Db::Sqlite).await;
}

#[tokio::test]
async fn centre_ca_on_softhsm_postgres() {
    scenario("centre_ca_on_softhsm_postgres", Db::Postgres).await;
}
