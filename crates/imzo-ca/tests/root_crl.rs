//! The authorised body's root publishes its own CRL at the URL its certificates carry:
//! `openssl crl -verify` accepts it, and `openssl verify -crl_check_all` of a full chain
//! passes until the root revokes the centre CA, then fails at the centre. SQLite and
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-store/tests/common/mod.rs"]
mod common;

use common::Db;
use imzo_ca::StatusError;
use imzo_ca::bootstrap::{self, Settings};
use imzo_ca::crl::CrlPolicy;
use imzo_ca::revocation::RevocationAction;
use imzo_keys::{RawSigner, SoftwareKey};
use imzo_pki::crl::RevocationReason;
use imzo_pki::{cert, name::Subject};
use std::process::Command;
use std::time::Duration;

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn pem_crl(der: &[u8]) -> String {
    der::pem::encode_string("X509 CRL", der::pem::LineEnding::LF, der).unwrap()
}

async fn scenario(db: Db) {
    let Some((store, _keep)) = common::store(db).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings { public_url: Some("http://127.0.0.1:8080".into()), ..Settings::default() };
    let deployment = bootstrap::ensure(&store, &dir.path().join("data"), &settings).await.unwrap();
    let ca = deployment.centre.clone();
    let root = deployment.root_crl.clone();
    assert_eq!(root.ca_id, "root");

    // The centre CA certificate names the root's CRL where the web layer serves it.
    let urls = imzo_pki::ocsp::status_urls(&ca.certificate).unwrap();
    assert_eq!(urls.crl, ["http://127.0.0.1:8080/crl/root.crl"]);
    let centre_serial = cert::info(&ca.certificate).unwrap().serial_hex;

    let holder_key = SoftwareKey::generate().unwrap();
    let subject = Subject { common_name: "QODIROV ALI".into(), pinfl: Some("31234567890123".into()), country: Some("UZ".into()), ..Default::default() };
    let mut tx = store.begin().await.unwrap();
    let issued = ca.issue_holder(&mut tx, &subject, holder_key.public_key_der(), None).await.unwrap();
    tx.commit().await.unwrap();

    let policy = CrlPolicy { delay: Duration::ZERO, ..CrlPolicy::default() };
    let root0 = imzo_ca::crl::current_of(&store, &root, &policy).await.unwrap();
    let info0 = imzo_pki::crl::verify(&root0, &deployment.root).unwrap();
    assert_eq!((info0.number, info0.entries.len()), (Some(1), 0));
    assert!(imzo_pki::crl::verify(&root0, &ca.certificate).is_err(), "signed by the root, not the centre");
    let centre_crl = imzo_ca::crl::current(&store, &ca, &policy).await.unwrap();

    let d = dir.path();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    std::fs::write(d.join("root.pem"), cert::to_pem(&deployment.root).unwrap()).unwrap();
    std::fs::write(d.join("chain.pem"), format!("{}{}", cert::to_pem(&ca.certificate).unwrap(), cert::to_pem(&deployment.root).unwrap()))
        .unwrap();
    std::fs::write(d.join("holder.pem"), cert::to_pem(&issued.certificate).unwrap()).unwrap();
    std::fs::write(d.join("root.crl.pem"), pem_crl(&root0)).unwrap();
    let (ok, out) = openssl(&["crl", "-in", &p("root.crl.pem"), "-CAfile", &p("root.pem"), "-noout"]);
    assert!(ok && out.contains("verify OK"), "{out}");
    std::fs::write(d.join("crls.pem"), format!("{}{}", pem_crl(&root0), pem_crl(&centre_crl))).unwrap();
    let (ok, out) = openssl(&["verify", "-crl_check_all", "-CAfile", &p("chain.pem"), "-CRLfile", &p("crls.pem"), &p("holder.pem")]);
    assert!(ok && out.contains("holder.pem: OK"), "{out}");
    // Without the root's CRL the whole chain cannot be checked: the root CRL is what
    // makes -crl_check_all possible at all.
    std::fs::write(d.join("centre.crl.pem"), pem_crl(&centre_crl)).unwrap();
    let (ok, out) =
        openssl(&["verify", "-crl_check_all", "-CAfile", &p("chain.pem"), "-CRLfile", &p("centre.crl.pem"), &p("holder.pem")]);
    assert!(!ok && out.contains("unable to get certificate CRL"), "{out}");

    // The root revokes only what it issued.
    assert!(matches!(
        imzo_ca::root::change(&store, &issued.serial_hex, RevocationAction::Revoke, None).await,
        Err(StatusError::NotFound(_))
    ));
    let view = imzo_ca::root::change(&store, &centre_serial, RevocationAction::Revoke, None).await.unwrap();
    assert_eq!((view.status.as_str(), view.reason.as_deref(), view.by.as_str()), ("revoked", Some("cACompromise"), "authorised_body"));
    assert!(matches!(
        imzo_ca::root::change(&store, &centre_serial, RevocationAction::Revoke, None).await,
        Err(StatusError::Conflict(_))
    ));

    let root1 = imzo_ca::crl::current_of(&store, &root, &policy).await.unwrap();
    let info1 = imzo_pki::crl::verify(&root1, &deployment.root).unwrap();
    assert_eq!(info1.number, Some(2));
    assert_eq!(info1.find(&centre_serial).unwrap().reason, Some(RevocationReason::CaCompromise));
    // The centre's own CRL is untouched by the root's change.
    assert_eq!(imzo_ca::crl::current(&store, &ca, &policy).await.unwrap(), centre_crl);

    std::fs::write(d.join("root.crl.pem"), pem_crl(&root1)).unwrap();
    let (ok, out) = openssl(&["crl", "-in", &p("root.crl.pem"), "-CAfile", &p("root.pem"), "-noout"]);
    assert!(ok && out.contains("verify OK"), "{out}");
    std::fs::write(d.join("crls.pem"), format!("{}{}", pem_crl(&root1), pem_crl(&centre_crl))).unwrap();
    let (ok, out) = openssl(&["verify", "-crl_check_all", "-CAfile", &p("chain.pem"), "-CRLfile", &p("crls.pem"), &p("holder.pem")]);
    assert!(!ok && out.contains("certificate revoked") && out.contains("at 1 depth"), "{out}");

    let entries = imzo_store::audit::entries(store.pool()).await.unwrap();
    assert!(entries.iter().any(|e| e.subject == centre_serial && e.action == "certificate.revoked" && e.actor == "authorised_body"));
    assert!(imzo_store::audit::verify(&store).await.unwrap().is_intact());

    // A later start finds the same deployment (and the recorded centre certificate).
    let again = bootstrap::ensure(&store, &dir.path().join("data"), &settings).await.unwrap();
    assert_eq!(cert::to_der(&again.root_crl.certificate).unwrap(), cert::to_der(&deployment.root).unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn root_crl_sqlite() {
    scenario(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn root_crl_postgres() {
    scenario(Db::Postgres).await;
}
