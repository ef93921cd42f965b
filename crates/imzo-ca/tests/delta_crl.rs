//! Delta CRLs (RFC 5280 §5.2.4) on SQLite and PostgreSQL, judged by OpenSSL: the
//! complete CRL names its delta (Freshest CRL); the delta names its base (critical
//! deltaCRLIndicator), lists what was revoked or held since and takes released holds off
//! (removeFromCRL); `openssl verify -crl_check -use_deltas` with both gives each
//! certificate's current status while the complete CRL alone is behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-store/tests/common/mod.rs"]
mod common;

use common::Db;
use imzo_ca::bootstrap::{self, Settings};
use imzo_ca::crl::{CrlIssuer, CrlPolicy};
use imzo_keys::{RawSigner, SoftwareKey};
use imzo_pki::crl::RevocationReason;
use imzo_pki::{cert, name::Subject};
use imzo_store::Store;
use std::process::Command;
use std::time::Duration;

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn pem_crl(der: &[u8]) -> String {
    der::pem::encode_string("X509 CRL", der::pem::LineEnding::LF, der).unwrap()
}

async fn set_status(store: &Store, serial: &str, reason: Option<RevocationReason>) {
    let mut tx = store.begin().await.unwrap();
    let now = imzo_store::time_ms::now_ms();
    match reason {
        Some(r) => {
            imzo_store::status::revoke(&mut tx, serial, r.code(), now).await.unwrap();
        }
        None => {
            imzo_store::status::release(&mut tx, serial, now).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
}

async fn scenario(db: Db) {
    let Some((store, _keep)) = common::store(db).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings { public_url: Some("http://127.0.0.1:8080".into()), ..Settings::default() };
    let deployment = bootstrap::ensure(&store, &dir.path().join("data"), &settings).await.unwrap();
    let ca = deployment.centre.clone();
    let issuer = CrlIssuer::of_centre(&ca);
    assert_eq!(issuer.delta_url.as_deref(), Some("http://127.0.0.1:8080/crl/rc1-delta.crl"));

    let d = dir.path();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    let mut serials = Vec::new();
    for name in ["a", "b", "c", "d"] {
        let key = SoftwareKey::generate().unwrap();
        let subject = Subject { common_name: format!("HOLDER {name}"), country: Some("UZ".into()), ..Default::default() };
        let mut tx = store.begin().await.unwrap();
        let issued = ca.issue_holder(&mut tx, &subject, key.public_key_der(), None).await.unwrap();
        tx.commit().await.unwrap();
        std::fs::write(d.join(format!("{name}.pem")), cert::to_pem(&issued.certificate).unwrap()).unwrap();
        serials.push(issued.serial_hex);
    }
    let (a, b, c, dd) = (&serials[0], &serials[1], &serials[2], &serials[3]);
    std::fs::write(d.join("chain.pem"), format!("{}{}", cert::to_pem(&ca.certificate).unwrap(), cert::to_pem(&deployment.root).unwrap()))
        .unwrap();

    // Before the complete CRL: a and d held, c revoked.
    set_status(&store, a, Some(RevocationReason::CertificateHold)).await;
    set_status(&store, dd, Some(RevocationReason::CertificateHold)).await;
    set_status(&store, c, Some(RevocationReason::KeyCompromise)).await;
    // Changes reach the delta at once, the complete CRL within an hour.
    let policy = CrlPolicy { delay: Duration::ZERO, base_delay: Some(Duration::from_secs(3600)), ..CrlPolicy::default() };
    let base = imzo_ca::crl::current_of(&store, &issuer, &policy).await.unwrap();
    let base_info = imzo_pki::crl::verify(&base, &ca.certificate).unwrap();
    let base_number = base_info.number.unwrap();
    assert_eq!(base_info.freshest_urls, ["http://127.0.0.1:8080/crl/rc1-delta.crl"]);
    assert_eq!(base_info.delta_of, None);
    assert_eq!(base_info.entries.len(), 3);

    // Afterwards: a released, b revoked, d's hold made final.
    set_status(&store, a, None).await;
    set_status(&store, b, Some(RevocationReason::KeyCompromise)).await;
    set_status(&store, dd, Some(RevocationReason::Superseded)).await;
    assert_eq!(imzo_ca::crl::current_of(&store, &issuer, &policy).await.unwrap(), base, "the complete CRL waits");
    let delta = imzo_ca::delta_crl::current(&store, &issuer, &policy).await.unwrap();
    let info = imzo_pki::crl::verify(&delta, &ca.certificate).unwrap();
    assert_eq!(info.delta_of, Some(base_number));
    assert!(info.number.unwrap() > base_number);
    assert_eq!(info.find(b).unwrap().reason, Some(RevocationReason::KeyCompromise));
    assert_eq!(info.find(dd).unwrap().reason, Some(RevocationReason::Superseded));
    // c changed just before the complete CRL was made: within the margin for late
    // commits it may be listed again, never differently.
    assert!(info.find(c).is_none_or(|e| e.reason == Some(RevocationReason::KeyCompromise)));
    assert_eq!(info.removed, std::slice::from_ref(a));
    assert_eq!(imzo_ca::delta_crl::current(&store, &issuer, &policy).await.unwrap(), delta, "unchanged delta is served as stored");

    // OpenSSL: both verify; the delta says what it is.
    std::fs::write(d.join("base.pem"), pem_crl(&base)).unwrap();
    std::fs::write(d.join("delta.pem"), pem_crl(&delta)).unwrap();
    for f in ["base.pem", "delta.pem"] {
        let (ok, out) = openssl(&["crl", "-in", &p(f), "-CAfile", &p("chain.pem"), "-noout"]);
        assert!(ok && out.contains("verify OK"), "{f}: {out}");
    }
    let (ok, out) = openssl(&["crl", "-in", &p("delta.pem"), "-noout", "-text"]);
    assert!(ok && out.contains("Delta CRL Indicator") && out.contains("critical") && out.contains("Remove From CRL"), "{out}");
    let (ok, out) = openssl(&["crl", "-in", &p("base.pem"), "-noout", "-text"]);
    assert!(ok && out.contains("Freshest CRL") && out.contains("rc1-delta.crl"), "{out}");

    std::fs::write(d.join("both.pem"), format!("{}{}", pem_crl(&base), pem_crl(&delta))).unwrap();
    let verify = |name: &str, deltas: bool| {
        let mut args = vec!["verify", "-crl_check"];
        if deltas {
            args.push("-use_deltas");
        }
        // Without deltas, the complete CRL alone: given both, OpenSSL's choice between
        // CRLs made within the same second is not stable, and this is about the base.
        let crls = if deltas { p("both.pem") } else { p("base.pem") };
        let (chain, cert) = (p("chain.pem"), p(&format!("{name}.pem")));
        args.extend(["-CAfile", &chain, "-CRLfile", &crls, &cert]);
        openssl(&args)
    };
    // With deltas: the current status of each.
    let (ok, out) = verify("a", true);
    assert!(ok, "a was released: {out}");
    for name in ["b", "c", "d"] {
        let (ok, out) = verify(name, true);
        assert!(!ok && out.contains("certificate revoked"), "{name}: {out}");
    }
    // The complete CRL alone is behind: a still held, b still good.
    let (ok, out) = verify("a", false);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = verify("b", false);
    assert!(ok, "{out}");

    // A new complete CRL takes a number above the delta's; the next delta follows it.
    let prompt = CrlPolicy { delay: Duration::ZERO, ..CrlPolicy::default() };
    let base2 = imzo_ca::crl::current_of(&store, &issuer, &prompt).await.unwrap();
    let info2 = imzo_pki::crl::verify(&base2, &ca.certificate).unwrap();
    assert!(info2.number > info.number, "{:?} after delta {:?}", info2.number, info.number);
    assert!(info2.find(a).is_none() && info2.find(b).is_some());
    let delta2 = imzo_ca::delta_crl::current(&store, &issuer, &prompt).await.unwrap();
    let dinfo2 = imzo_pki::crl::verify(&delta2, &ca.certificate).unwrap();
    assert_eq!(dinfo2.delta_of, info2.number);
    assert!(dinfo2.number > info2.number);
    // Whatever the new delta repeats agrees with the new complete CRL.
    for e in &dinfo2.entries {
        assert_eq!(info2.find(&e.serial_hex).map(|b| b.reason), Some(e.reason), "{e:?}");
    }
    assert!(dinfo2.removed.iter().all(|s| info2.find(s).is_none()));
    // Changes long before the complete CRL are not repeated: only what changed within
    // the margin is listed.
    let mut tx = store.begin().await.unwrap();
    sqlx::query("UPDATE certificates SET status_changed_at_ms = status_changed_at_ms - 600000 WHERE ca_id = 'rc1'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    set_status(&store, a, Some(RevocationReason::AffiliationChanged)).await;
    let delta3 = imzo_ca::delta_crl::current(&store, &issuer, &policy).await.unwrap();
    let dinfo3 = imzo_pki::crl::verify(&delta3, &ca.certificate).unwrap();
    assert_eq!(dinfo3.delta_of, info2.number);
    assert_eq!(dinfo3.entries.len(), 1, "{:?}", dinfo3.entries);
    assert_eq!(dinfo3.find(a).unwrap().reason, Some(RevocationReason::AffiliationChanged));
    assert!(dinfo3.removed.is_empty());
    // The background refresh finds nothing due now.
    assert!(!imzo_ca::crl::refresh_of_if_due(&store, &issuer, &policy).await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn delta_crl_sqlite() {
    scenario(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn delta_crl_postgres() {
    scenario(Db::Postgres).await;
}
