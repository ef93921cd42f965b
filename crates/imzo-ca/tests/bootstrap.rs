//! Bootstrap and issuance against a real SQLite database, checked with the OpenSSL CLI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use imzo_ca::bootstrap::{self, Settings};
use imzo_pki::{cert, name::Subject};
use imzo_keys::{RawSigner, SoftwareKey, pfxfile};
use imzo_store::Store;
use std::path::Path;
use std::process::Command;

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().expect("openssl CLI is installed");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

async fn store_in(dir: &Path) -> Store {
    Store::connect(&format!("sqlite://{}", dir.join("imzo.db").display())).await.unwrap()
}

fn settings() -> Settings {
    Settings {
        public_url: Some("http://127.0.0.1:8080".into()),
        policy_oid: Some("1.2.860.3.2.1".into()),
        algorithm: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn first_start_creates_a_chain_openssl_accepts_and_second_start_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = store_in(dir.path()).await;
    let first = bootstrap::ensure(&store, &data, &settings()).await.unwrap();

    for f in ["secrets/ca-passphrase", "pki/root.key.pem", "operators/operator1.password"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(data.join(f)).unwrap().permissions());
        assert_eq!(mode & 0o077, 0, "{f} is readable by others: {mode:o}");
    }
    let passphrase = std::fs::read_to_string(data.join("secrets/ca-passphrase")).unwrap();
    assert_eq!(passphrase.trim().len(), 64);

    let root = data.join("pki/root.pem");
    let rc1 = data.join("pki/rc1.pem");
    let (ok, text) = openssl(&["verify", "-CAfile", root.to_str().unwrap(), rc1.to_str().unwrap()]);
    assert!(ok, "{text}");
    let (ok, text) = openssl(&["x509", "-in", root.to_str().unwrap(), "-noout", "-subject"]);
    assert!(ok && text.contains("Imzo Authorised Body Root") && text.contains("C = UZ"), "{text}");
    // The root key file is an encrypted PKCS#8 that OpenSSL opens with the passphrase.
    let pass_arg = format!("pass:{}", passphrase.trim());
    let (ok, text) = openssl(&["pkey", "-in", data.join("pki/rc1.key.pem").to_str().unwrap(), "-passin", &pass_arg, "-noout"]);
    assert!(ok, "{text}");

    // The operator's .pfx opens, and its certificate chains to the root.
    let password = std::fs::read_to_string(&first.operator_password_file).unwrap();
    let operator = pfxfile::open(&first.operator_pfx, password.trim()).unwrap();
    let op_pem = dir.path().join("operator.pem");
    std::fs::write(&op_pem, cert::to_pem(&operator.chain[0]).unwrap()).unwrap();
    let (ok, text) =
        openssl(&["verify", "-CAfile", root.to_str().unwrap(), "-untrusted", rc1.to_str().unwrap(), op_pem.to_str().unwrap()]);
    assert!(ok, "{text}");
    let op_sha = cert::info(&operator.chain[0]).unwrap().sha256_hex;
    let row = imzo_store::cas::lookup_operator_by_cert_sha256(store.pool(), &op_sha).await.unwrap().unwrap();
    assert_eq!(row.centre_id, "rc1");

    // A second start reuses everything.
    let second = bootstrap::ensure(&store, &data, &settings()).await.unwrap();
    assert_eq!(cert::to_der(&first.root).unwrap(), cert::to_der(&second.root).unwrap());
    assert_eq!(
        cert::to_der(&first.centre.certificate).unwrap(),
        cert::to_der(&second.centre.certificate).unwrap()
    );

    // A holder certificate: recorded, two years, chains to the root, serial well-formed.
    let holder_key = SoftwareKey::generate().unwrap();
    let subject = Subject {
        common_name: "ALIYEV VALI".into(),
        surname: Some("ALIYEV".into()),
        given_name: Some("VALI".into()),
        country: Some("UZ".into()),
        pinfl: Some("32808810170066".into()),
        ..Subject::default()
    };
    let mut tx = store.begin().await.unwrap();
    let issued = second.centre.issue_holder(&mut tx, &subject, holder_key.public_key_der(), None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(issued.serial_hex.len(), 32);
    assert!(u8::from_str_radix(&issued.serial_hex[..2], 16).unwrap() < 0x80);
    let info = cert::info(&issued.certificate).unwrap();
    let days = (info.not_after - info.not_before).whole_days();
    assert_eq!(days, 730, "validity {days} days");
    let row = imzo_store::certificates::by_serial(store.pool(), &issued.serial_hex).await.unwrap().unwrap();
    assert_eq!(row.cert_der, issued.der);
    assert_eq!(row.pinfl.as_deref(), Some("32808810170066"));
    assert_eq!(row.status, "good");
    let holder_pem = dir.path().join("holder.pem");
    std::fs::write(&holder_pem, cert::to_pem(&issued.certificate).unwrap()).unwrap();
    let (ok, text) = openssl(&[
        "verify",
        "-CAfile",
        root.to_str().unwrap(),
        "-untrusted",
        rc1.to_str().unwrap(),
        holder_pem.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let (ok, text) = openssl(&["x509", "-in", holder_pem.to_str().unwrap(), "-noout", "-text"]);
    assert!(ok && text.contains("http://127.0.0.1:8080/crl/rc1.crl") && text.contains("1.2.860.3.2.1"), "{text}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn half_made_or_mismatched_folders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = store_in(dir.path()).await;
    bootstrap::ensure(&store, &data, &settings()).await.unwrap();

    // A missing file is named.
    let rc1 = data.join("pki/rc1.pem");
    let saved = std::fs::read(&rc1).unwrap();
    std::fs::remove_file(&rc1).unwrap();
    let err = bootstrap::ensure(&store, &data, &settings()).await.unwrap_err().to_string();
    assert!(err.contains("half-made") && err.contains("rc1.pem"), "{err}");
    std::fs::write(&rc1, &saved).unwrap();

    // A data folder from another deployment does not match this database.
    let other_dir = tempfile::tempdir().unwrap();
    let other_store = store_in(other_dir.path()).await;
    let other_data = other_dir.path().join("data");
    bootstrap::ensure(&other_store, &other_data, &settings()).await.unwrap();
    let err = bootstrap::ensure(&store, &other_data, &settings()).await.unwrap_err().to_string();
    assert!(err.contains("does not match") || err.contains("different deployments"), "{err}");

    // An empty data folder next to a populated database is refused too.
    let err = bootstrap::ensure(&store, &dir.path().join("empty"), &settings()).await.unwrap_err().to_string();
    assert!(err.contains("none of its files"), "{err}");

    // A fresh database next to a complete folder adopts the folder's CAs.
    let fresh = tempfile::tempdir().unwrap();
    let fresh_store = store_in(fresh.path()).await;
    let adopted = bootstrap::ensure(&fresh_store, &data, &settings()).await.unwrap();
    assert!(imzo_store::cas::ca(fresh_store.pool(), "rc1").await.unwrap().is_some());
    assert_eq!(adopted.centre.centre_id, "rc1");
    for s in [store, other_store, fresh_store] {
        s.close().await;
    }
}
