//! The embedded default's authorised body: ten centres with their own CA keys and
//! operators issued by the root, a one-centre folder upgraded on restart without
//! re-keying, and the register signed so that plain `openssl cms -verify` accepts it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use imzo_ca::bootstrap::{self, Settings};
use imzo_pki::cert;
use imzo_store::Store;
use std::process::Command;

fn settings() -> Settings {
    Settings { public_url: Some("http://127.0.0.1:8080".into()), policy_oid: None, algorithm: Default::default() }
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_centres_persons_from_the_root_and_a_register_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("imzo.db").display())).await.unwrap();
    let first = bootstrap::ensure(&store, &data, &settings()).await.unwrap();
    assert_eq!(first.authority.centres.len(), 10);
    let ids: Vec<&str> = first.authority.centres.iter().map(|c| c.centre_id.as_str()).collect();
    assert_eq!(ids, ["rc1", "rc2", "rc3", "rc4", "rc5", "rc6", "rc7", "rc8", "rc9", "rc10"]);
    // Every centre has its own key.
    let mut keys: Vec<Vec<u8>> =
        first.authority.centres.iter().map(|c| cert::public_key_der(&c.certificate).unwrap()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 10);
    let listed = imzo_store::centres::list(store.pool()).await.unwrap();
    assert_eq!(listed.iter().map(|c| c.number).collect::<Vec<_>>(), (1..=10).map(Some).collect::<Vec<_>>());
    assert!(listed.iter().all(|c| c.name_ru.is_some() && c.status == "active"));

    // Operators of every centre, issued by the root (OpenSSL: root alone suffices).
    let root = data.join("pki/root.pem");
    for n in 1..=10 {
        let ops = imzo_store::cas::operators_of(store.pool(), &format!("rc{n}")).await.unwrap();
        assert_eq!(ops.len(), 1, "centre {n}");
        let pem = dir.path().join(format!("op{n}.pem"));
        std::fs::write(&pem, cert::to_pem(&imzo_pki::pem::read_certificates(&ops[0].cert_der).unwrap()[0]).unwrap()).unwrap();
        let out = Command::new("openssl").args(["verify", "-CAfile"]).arg(&root).arg(&pem).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    // The signed register verifies with the root alone, with the default purpose check.
    let json = imzo_ca::registry::json(&store, "").await.unwrap();
    let signed = first.authority.register_signer.sign(&json).unwrap();
    let p7 = dir.path().join("register.p7m");
    std::fs::write(&p7, &signed).unwrap();
    let out = Command::new("openssl")
        .args(["cms", "-verify", "-inform", "DER", "-in"])
        .arg(&p7)
        .arg("-CAfile")
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, json);
    let register: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(register["centres"].as_array().unwrap().len(), 10);
    assert_eq!(register["authorised_persons"].as_array().unwrap().len(), 10);

    // A restart re-keys nothing.
    let second = bootstrap::ensure(&store, &data, &settings()).await.unwrap();
    for (a, b) in first.authority.centres.iter().zip(&second.authority.centres) {
        assert_eq!(cert::to_der(&a.certificate).unwrap(), cert::to_der(&b.certificate).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_centre_folder_gains_the_other_nine_and_keeps_centre_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("imzo.db").display())).await.unwrap();
    let first = bootstrap::ensure(&store, &data, &settings()).await.unwrap();
    let rc1 = std::fs::read(data.join("pki/rc1.pem")).unwrap();
    // Make the folder look like the one-centre layout: only rc1 and operator 1.
    for n in 2..=10 {
        for f in [format!("pki/rc{n}.pem"), format!("pki/rc{n}.key.pem"), format!("operators/operator{n}.pfx"), format!("operators/operator{n}.password")] {
            std::fs::remove_file(data.join(f)).unwrap();
        }
    }
    let fresh = Store::connect(&format!("sqlite://{}", dir.path().join("fresh.db").display())).await.unwrap();
    let again = bootstrap::ensure(&fresh, &data, &settings()).await.unwrap();
    assert_eq!(again.authority.centres.len(), 10);
    assert_eq!(std::fs::read(data.join("pki/rc1.pem")).unwrap(), rc1);
    assert_eq!(cert::to_der(&first.centre.certificate).unwrap(), cert::to_der(&again.centre.certificate).unwrap());
    assert!(data.join("operators/operator7.pfx").exists());
}
