//! Key files of the installed base through the module, as pages use it: `.pfx` files in
//! the installed base's layout (national O'z DSt 1092 key in both private-key forms, a
//! Cyrillic password under the BouncyCastle rule), written by `imzo-keys`, lie in a
//! DSKEYS folder; over the WebSocket API they list with the alias the installed base
//! shows, refuse a wrong password, load, sign a CMS, and the signature verifies (the
//! module's own verify call and `imzo_pki::cms::verify`). The pinentry and certificate
//! helpers are shared with `protocol.rs` (`tests/common`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::issue_for;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use der::Encode;
use futures_util::{SinkExt, StreamExt};
use imzo_agent::prompt::Pinentry;
use imzo_agent::{Agent, AgentConfig};
use imzo_keys::installed_base::{self, PasswordRule, WriteOptions};
use imzo_keys::{RawSigner, SoftwareKey};
use imzo_pki::Certificate;
use imzo_pki::cert::Profile;
use imzo_pki::cms::{self, VerifyOptions};
use imzo_pki::name::Subject;
use imzo_pki::ozdst::{self, OidFamily, ParamSet, SigningKey};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PORTAL: &str = "http://localhost:8080";
const PINFL: &str = "32808810170066";
/// Cyrillic: UTF-8 and the BouncyCastle low-8-bits rule give different bytes, so only a
/// reader that applies the installed base's rule opens the file.
const PASSWORD: &str = "Пароль123";


struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    url: String,
    flash: PathBuf,
}

impl World {
    fn answer(&self, pin: &str, confirm: &str) {
        std::fs::write(self.dir.join("pinentry/pin"), pin).unwrap();
        std::fs::write(self.dir.join("pinentry/confirm"), confirm).unwrap();
    }

    async fn call(&self, msg: Value) -> Value {
        let mut req = self.url.as_str().into_client_request().unwrap();
        req.headers_mut().insert("Origin", PORTAL.parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        ws.send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
        let reply = loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Text(t) => break serde_json::from_str::<Value>(&t).unwrap(),
                _ => continue,
            }
        };
        let _ = ws.close(None).await;
        reply
    }

    async fn ok(&self, plugin: &str, name: &str, args: Value) -> Value {
        let r = self
            .call(json!({"plugin": plugin, "name": name, "arguments": args}))
            .await;
        assert_eq!(r["success"], true, "{plugin}.{name}: {r}");
        r
    }

    async fn err(&self, plugin: &str, name: &str, args: Value) -> String {
        let r = self
            .call(json!({"plugin": plugin, "name": name, "arguments": args}))
            .await;
        assert_eq!(r["success"], false, "{plugin}.{name} should fail: {r}");
        r["reason"].as_str().unwrap().to_string()
    }
}


fn named(cn: &str) -> Subject {
    Subject {
        common_name: cn.into(),
        country: Some("UZ".into()),
        ..Default::default()
    }
}

/// The installed base's second private-key form: algorithm parameters as a SEQUENCE
/// holding the parameter-set OID, the privateKey contents the raw little-endian d.
fn second_form(key: &SigningKey) -> Vec<u8> {
    let mut le = *key.to_be_bytes();
    le.reverse();
    let algorithm = x509_cert::spki::AlgorithmIdentifierOwned {
        oid: ozdst::OZDST_1092_KEY,
        parameters: Some(
            der::Any::encode_from(&vec![ParamSet::CryptoProA.national_oid()]).unwrap(),
        ),
    };
    let mut body = 0u8.to_der().unwrap();
    body.extend(algorithm.to_der().unwrap());
    body.extend(
        der::asn1::OctetString::new(le.to_vec())
            .unwrap()
            .to_der()
            .unwrap(),
    );
    der::Any::new(der::Tag::Sequence, body)
        .unwrap()
        .to_der()
        .unwrap()
}

struct Material {
    root: Certificate,
    holder: Certificate,
    /// (file name without `.pfx`, file bytes), one per private-key form.
    files: Vec<(String, Vec<u8>)>,
}

/// A national root → centre → holder hierarchy and the holder's key in two installed-base
/// `.pfx` files (first and second key form), written into `flash/DSKEYS`.
fn material(flash: &std::path::Path) -> Material {
    let national = || {
        SoftwareKey::from_national(
            SigningKey::generate(ParamSet::CryptoProA, OidFamily::National).unwrap(),
        )
        .unwrap()
    };
    let (root_key, centre_key) = (national(), national());
    let holder_key = SigningKey::generate(ParamSet::CryptoProA, OidFamily::National).unwrap();
    let holder_spki = holder_key.public_key().to_spki_der().unwrap();
    let root = issue_for(
        None,
        &root_key,
        root_key.public_key_der(),
        named("Milliy Ildiz"),
        Profile::Root,
        1,
    );
    let centre = issue_for(
        Some(&root),
        &root_key,
        centre_key.public_key_der(),
        named("Markaz 1"),
        Profile::CentreCa,
        2,
    );
    let holder = issue_for(
        Some(&centre),
        &centre_key,
        &holder_spki,
        Subject {
            common_name: "ALIYEV VALI".into(),
            given_name: Some("VALI".into()),
            surname: Some("ALIYEV".into()),
            country: Some("UZ".into()),
            pinfl: Some(PINFL.into()),
            ..Default::default()
        },
        Profile::Holder,
        3,
    );
    let chain = [holder.clone(), centre, root.clone()];
    let options = WriteOptions {
        rule: PasswordRule::BouncyCastle,
        iterations: 2048,
    };
    let dskeys = flash.join("DSKEYS");
    std::fs::create_dir_all(&dskeys).unwrap();
    let mut files = Vec::new();
    for (counter, key_der) in [
        ("0001", holder_key.to_pkcs8_der().unwrap().to_vec()),
        ("0002", second_form(&holder_key)),
    ] {
        let bytes = installed_base::write(&key_der, &chain, None, PASSWORD, options).unwrap();
        let name = format!("DS{PINFL}{counter}");
        std::fs::write(dskeys.join(format!("{name}.pfx")), &bytes).unwrap();
        files.push((name, bytes));
    }
    Material {
        root,
        holder,
        files,
    }
}

async fn start() -> (World, Material) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let pinentry = common::install_pinentry(&dir);
    let flash = dir.join("FLASH");
    let m = material(&flash);
    let mut config = AgentConfig::new(dir.join("sites.json"));
    config.key_roots = vec![flash.clone()];
    config.trust_anchors = vec![m.root.clone()];
    config.lockout_base = Duration::from_secs(30);
    let agent = Agent::new(config, std::sync::Arc::new(Pinentry::new(&pinentry)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/service/cryptapi", listener.local_addr().unwrap());
    tokio::spawn(imzo_agent::server::serve(agent, listener));
    (
        World {
            _tmp: tmp,
            dir,
            url,
            flash,
        },
        m,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installed_base_pfx_lists_loads_signs_and_verifies() {
    let (w, m) = start().await;
    let disk = w.flash.display().to_string();
    let expected_alias = imzo_pki::pfx::alias(&m.holder).unwrap();

    // Listing: both files, each with the alias the file itself shows without a password.
    let all = w.ok("pfx", "list_all_certificates", json!([])).await;
    let certs = all["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), m.files.len(), "{all}");
    for (name, bytes) in &m.files {
        let listed = certs
            .iter()
            .find(|c| c["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not listed: {all}"));
        assert_eq!(listed["path"], "DSKEYS");
        assert_eq!(listed["disk"], disk.as_str());
        let in_file = installed_base::list_aliases(bytes).unwrap();
        assert_eq!(in_file, vec![expected_alias.clone()]);
        assert_eq!(listed["alias"], in_file[0].as_str(), "{name}");
        assert!(
            expected_alias.contains(&format!("1.2.860.3.16.1.2={PINFL}")),
            "{expected_alias}"
        );
    }

    for (name, _) in &m.files {
        // A wrong password (one character off) fails clearly, and no key is loaded.
        w.answer("Пароль124", "ok");
        assert_eq!(
            w.err("pfx", "load_key", json!([disk, "DSKEYS", name, ""]))
                .await,
            "wrong password",
            "{name}"
        );
        // The password in UTF-8 bytes is not what the file was written with; the module
        // must apply the installed base's rule itself. Right password: it loads.
        w.answer(PASSWORD, "ok");
        let loaded = w
            .ok("pfx", "load_key", json!([disk, "DSKEYS", name, ""]))
            .await;
        let key_id = loaded["keyId"].as_str().unwrap().to_string();

        // Sign attached (the confirmation dialog answered yes).
        let doc = format!("Hujjat: {name} dan imzo").into_bytes();
        w.answer("", "ok");
        let r = w
            .ok(
                "pkcs7",
                "create_pkcs7",
                json!([B64.encode(&doc), key_id, "no"]),
            )
            .await;
        let signed = B64.decode(r["pkcs7_64"].as_str().unwrap()).unwrap();
        assert_eq!(r["signer_serial_number"], "03", "{r}");
        // The signer info speaks the national signature algorithm.
        let national_oid = ozdst::OZDST_1092_WITH_1106.as_bytes();
        assert!(
            signed
                .windows(national_oid.len())
                .any(|x| x == national_oid),
            "no national signature OID in the CMS"
        );

        // The module's verify call: valid, the holder's PINFL.
        let v = w
            .ok(
                "pkcs7",
                "verify_pkcs7_attached",
                json!([B64.encode(&signed)]),
            )
            .await;
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["signers"][0]["pinfl"], PINFL, "{v}");

        // imzo-pki, to the national root: valid; one content byte changed: not valid.
        let opts = VerifyOptions {
            anchors: vec![m.root.clone()],
            at: None,
        };
        let report = cms::verify(&signed, None, &opts).unwrap();
        assert!(report.all_valid(), "{:?}", report.signers);
        assert_eq!(report.content, doc);
        assert_eq!(report.signers[0].certificate.as_ref(), Some(&m.holder));
        let mut tampered = signed.clone();
        let at = tampered
            .windows(doc.len())
            .position(|x| x == doc.as_slice())
            .unwrap();
        tampered[at] ^= 1;
        assert!(!cms::verify(&tampered, None, &opts).unwrap().all_valid());
        let v = w
            .ok(
                "pkcs7",
                "verify_pkcs7_attached",
                json!([B64.encode(&tampered)]),
            )
            .await;
        assert_eq!(v["valid"], false, "{v}");
    }
}
