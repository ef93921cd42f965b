//! Drives the signing module over a real WebSocket, as pages do: one JSON message per
//! connection, the `Origin` header set, dialogs answered by a scripted pinentry that
//! speaks Assuan. Signatures are checked with the OpenSSL CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::issue_for;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures_util::{SinkExt, StreamExt};
use imzo_agent::prompt::Pinentry;
use imzo_agent::{Agent, AgentConfig};
use imzo_keys::{RawSigner, SoftwareKey, pfxfile};
use imzo_pki::Certificate;
use imzo_pki::cert::Profile;
use imzo_pki::name::Subject;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PORTAL: &str = "http://localhost:8080";
const PINFL: &str = "32808810170066";


struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    url: String,
    flash: PathBuf,
    root: Certificate,
    root_key: SoftwareKey,
    sites_file: PathBuf,
}

impl World {
    fn answer(&self, pin: &str, confirm: &str) {
        std::fs::write(self.dir.join("pinentry/pin"), pin).unwrap();
        std::fs::write(self.dir.join("pinentry/confirm"), confirm).unwrap();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pinentry/log")).unwrap_or_default()
    }

    fn clear_log(&self) {
        let _ = std::fs::remove_file(self.dir.join("pinentry/log"));
    }

    async fn call(&self, origin: Option<&str>, msg: Value) -> Value {
        let mut req = self.url.as_str().into_client_request().unwrap();
        if let Some(o) = origin {
            req.headers_mut().insert("Origin", o.parse().unwrap());
        }
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

    async fn ok(&self, origin: &str, plugin: &str, name: &str, args: Value) -> Value {
        let r = self
            .call(
                Some(origin),
                json!({"plugin": plugin, "name": name, "arguments": args}),
            )
            .await;
        assert_eq!(r["success"], true, "{plugin}.{name}: {r}");
        r
    }

    async fn err(&self, origin: &str, plugin: &str, name: &str, args: Value) -> String {
        let r = self
            .call(
                Some(origin),
                json!({"plugin": plugin, "name": name, "arguments": args}),
            )
            .await;
        assert_eq!(r["success"], false, "{plugin}.{name} should fail: {r}");
        r["reason"].as_str().unwrap().to_string()
    }
}

fn subject(cn: &str, pinfl: &str) -> Subject {
    Subject {
        common_name: cn.into(),
        surname: Some("TESTOV".into()),
        given_name: Some("TEST".into()),
        country: Some("UZ".into()),
        pinfl: Some(pinfl.into()),
        ..Default::default()
    }
}


async fn start(lockout: Duration) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let pinentry = common::install_pinentry(&dir);
    let root_key = SoftwareKey::generate().unwrap();
    let root = issue_for(
        None,
        &root_key,
        root_key.public_key_der(),
        Subject {
            common_name: "Test Root".into(),
            country: Some("UZ".into()),
            ..Default::default()
        },
        Profile::Root,
        1,
    );
    std::fs::write(dir.join("root.pem"), imzo_pki::cert::to_pem(&root).unwrap()).unwrap();
    let flash = dir.join("FLASH");
    let key = SoftwareKey::generate().unwrap();
    let leaf = issue_for(
        Some(&root),
        &root_key,
        key.public_key_der(),
        subject("TESTOV TEST", PINFL),
        Profile::Holder,
        2,
    );
    pfxfile::save(
        &flash.join("DSKEYS").join(format!("DS{PINFL}0001.pfx")),
        &key,
        &[leaf, root.clone()],
        "parol",
    )
    .unwrap();
    let sites_file = dir.join("sites.json");
    let mut config = AgentConfig::new(&sites_file);
    config.key_roots = vec![flash.clone(), dir.join("missing")];
    config.trust_anchors = vec![root.clone()];
    config.lockout_base = lockout;
    let agent = Agent::new(config, std::sync::Arc::new(Pinentry::new(&pinentry)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/service/cryptapi", listener.local_addr().unwrap());
    tokio::spawn(imzo_agent::server::serve(agent, listener));
    World {
        _tmp: tmp,
        dir,
        url,
        flash,
        root,
        root_key,
        sites_file,
    }
}

fn openssl_verify(dir: &Path, sig: &[u8], content: Option<&[u8]>) -> bool {
    let sig_path = dir.join("sig.der");
    std::fs::write(&sig_path, sig).unwrap();
    let mut cmd = Command::new("openssl");
    cmd.args([
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-purpose",
        "any",
        "-out",
        "/dev/null",
        "-in",
    ])
    .arg(&sig_path)
    .arg("-CAfile")
    .arg(dir.join("root.pem"));
    if let Some(c) = content {
        let p = dir.join("content.bin");
        std::fs::write(&p, c).unwrap();
        cmd.arg("-content").arg(p);
    }
    let out = cmd.output().unwrap();
    out.status.success()
}

async fn load(w: &World, origin: &str) -> String {
    w.answer("parol", "ok");
    let disk = w.flash.display().to_string();
    let r = w
        .ok(
            origin,
            "pfx",
            "load_key",
            json!([disk, "DSKEYS", format!("DS{PINFL}0001"), ""]),
        )
        .await;
    r["keyId"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_good_and_bad() {
    let w = start(Duration::from_secs(30)).await;
    // Module check: no approval needed, version >= 486.
    let v = w
        .call(Some("https://unknown.example"), json!({"name": "version"}))
        .await;
    let version: u32 = v["major"].as_str().unwrap().parse::<u32>().unwrap() * 100
        + v["minor"].as_str().unwrap().parse::<u32>().unwrap();
    assert!(version >= 486, "{v}");
    let doc = w.call(None, json!({"name": "apidoc"})).await;
    assert!(doc["calls"].as_array().unwrap().len() >= 20);
    let key128 = "a".repeat(128);
    assert_eq!(
        w.call(
            Some(PORTAL),
            json!({"name": "apikey", "arguments": ["localhost", key128]})
        )
        .await["success"],
        true
    );
    assert_eq!(
        w.call(
            Some(PORTAL),
            json!({"name": "apikey", "arguments": ["localhost", "abc"]})
        )
        .await["success"],
        false
    );
    assert_eq!(
        w.call(
            Some(PORTAL),
            json!({"name": "apikey", "arguments": ["localhost"]})
        )
        .await["success"],
        false
    );
    // Malformed messages.
    let r = w.call(Some(PORTAL), json!("hello")).await;
    assert_eq!(r["success"], false);
    assert!(
        w.err(PORTAL, "pfx", "no_such_call", json!([]))
            .await
            .contains("unknown call")
    );
    assert!(
        w.err(PORTAL, "nope", "x", json!([]))
            .await
            .contains("unknown call")
    );

    // pfx listing.
    let disk = w.flash.display().to_string();
    let disks = w.ok(PORTAL, "pfx", "list_disks", json!([])).await;
    assert_eq!(disks["disks"], json!([disk]));
    let all = w
        .ok(PORTAL, "pfx", "list_all_certificates", json!([]))
        .await;
    let certs = all["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["name"], format!("DS{PINFL}0001"));
    assert_eq!(certs[0]["path"], "DSKEYS");
    let alias = certs[0]["alias"].as_str().unwrap();
    assert!(alias.starts_with("cn=testov test,name=test,surname=testov,c=uz,1.2.860.3.16.1.2=32808810170066,serialnumber=02,validfrom="), "{alias}");
    let on_disk = w
        .ok(PORTAL, "pfx", "list_certificates", json!([disk]))
        .await;
    assert_eq!(on_disk["certificates"], all["certificates"]);
    assert!(
        w.err(PORTAL, "pfx", "list_certificates", json!(["/etc"]))
            .await
            .contains("unknown disk")
    );
    assert!(
        w.err(PORTAL, "pfx", "list_certificates", json!([]))
            .await
            .contains("missing")
    );

    // load_key: wrong password, cancelled, a file outside the listing, then right.
    w.clear_log();
    w.answer("wrong", "ok");
    let name = format!("DS{PINFL}0001");
    assert_eq!(
        w.err(PORTAL, "pfx", "load_key", json!([disk, "DSKEYS", name, ""]))
            .await,
        "wrong password"
    );
    let log = w.log();
    assert!(
        log.contains("SETDESC")
            && log.contains(PORTAL)
            && log.contains("TESTOV TEST")
            && log.contains(PINFL),
        "{log}"
    );
    w.answer("", "ok");
    assert!(
        w.err(PORTAL, "pfx", "load_key", json!([disk, "DSKEYS", name, ""]))
            .await
            .contains("cancelled")
    );
    assert!(
        w.err(
            PORTAL,
            "pfx",
            "load_key",
            json!([disk, "..", "etc/passwd", ""])
        )
        .await
        .contains("no key file")
    );
    let key_id = load(&w, PORTAL).await;

    // verify_password.
    w.answer("parol", "ok");
    w.ok(PORTAL, "pfx", "verify_password", json!([key_id]))
        .await;
    w.answer("nope", "ok");
    assert_eq!(
        w.err(PORTAL, "pfx", "verify_password", json!([key_id]))
            .await,
        "wrong password"
    );

    // create_pkcs7, attached; the confirmation names site, size and SHA-256.
    let doc = b"Hujjat: 1 KB of text".to_vec();
    w.clear_log();
    w.answer("", "ok");
    let r = w
        .ok(
            PORTAL,
            "pkcs7",
            "create_pkcs7",
            json!([B64.encode(&doc), key_id, "no"]),
        )
        .await;
    let log = w.log();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&doc))
    };
    assert!(
        log.contains(&sha) && log.contains(&format!("{} bytes", doc.len())) && log.contains(PORTAL),
        "{log}"
    );
    let attached = B64.decode(r["pkcs7_64"].as_str().unwrap()).unwrap();
    assert!(openssl_verify(&w.dir, &attached, None));
    assert_eq!(r["signer_serial_number"], "02");
    assert!(r["signature_hex"].as_str().unwrap().len() > 100);
    // Refused, then bad arguments.
    w.answer("", "no");
    assert!(
        w.err(
            PORTAL,
            "pkcs7",
            "create_pkcs7",
            json!([B64.encode(&doc), key_id, ""])
        )
        .await
        .contains("refused")
    );
    assert!(
        w.err(PORTAL, "pkcs7", "create_pkcs7", json!(["***", key_id, ""]))
            .await
            .contains("base64")
    );
    assert!(
        w.err(
            PORTAL,
            "pkcs7",
            "create_pkcs7",
            json!([B64.encode(&doc), key_id, "maybe"])
        )
        .await
        .contains("detached")
    );
    assert!(
        w.err(
            PORTAL,
            "pkcs7",
            "create_pkcs7",
            json!([B64.encode(&doc), "00", ""])
        )
        .await
        .contains("no key is loaded")
    );

    // Detached; then "trust until unloaded": no more dialogs for this key.
    w.answer("", "trust");
    let r = w
        .ok(
            PORTAL,
            "pkcs7",
            "create_pkcs7",
            json!([B64.encode(&doc), key_id, "yes"]),
        )
        .await;
    let detached = B64.decode(r["pkcs7_64"].as_str().unwrap()).unwrap();
    assert!(openssl_verify(&w.dir, &detached, Some(&doc)));
    assert!(!openssl_verify(&w.dir, &detached, Some(b"other")));
    w.answer("", "no");
    w.ok(
        PORTAL,
        "pkcs7",
        "create_pkcs7",
        json!([B64.encode(&doc), key_id, ""]),
    )
    .await;

    // Verify and info calls.
    let v = w
        .ok(
            PORTAL,
            "pkcs7",
            "verify_pkcs7_attached",
            json!([B64.encode(&attached)]),
        )
        .await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["signers"][0]["pinfl"], PINFL);
    let v = w
        .ok(
            PORTAL,
            "pkcs7",
            "verify_pkcs7_detached",
            json!([B64.encode(&detached), B64.encode(&doc)]),
        )
        .await;
    assert_eq!(v["valid"], true);
    let v = w
        .ok(
            PORTAL,
            "pkcs7",
            "verify_pkcs7_detached",
            json!([B64.encode(&detached), B64.encode(b"forged")]),
        )
        .await;
    assert_eq!(v["valid"], false);
    assert!(
        w.err(
            PORTAL,
            "pkcs7",
            "verify_pkcs7_detached",
            json!([B64.encode(&detached)])
        )
        .await
        .contains("data_64")
    );
    assert!(
        w.err(
            PORTAL,
            "pkcs7",
            "verify_pkcs7_attached",
            json!([B64.encode(b"junk")])
        )
        .await
        .len()
            > 5
    );
    let info = w
        .ok(
            PORTAL,
            "pkcs7",
            "get_pkcs7_attached_info",
            json!([B64.encode(&attached)]),
        )
        .await;
    assert_eq!(info["document_64"], B64.encode(&doc));
    assert_eq!(info["certificates"].as_array().unwrap().len(), 2);
    assert_eq!(info["signers"][0]["serial_number"], "02");
    let info = w
        .ok(
            PORTAL,
            "pkcs7",
            "get_pkcs7_detached_info",
            json!([B64.encode(&detached), B64.encode(&doc)]),
        )
        .await;
    assert_eq!(info["signers"].as_array().unwrap().len(), 1);

    // Co-signatures.
    let r = w
        .ok(
            PORTAL,
            "pkcs7",
            "append_pkcs7_attached",
            json!([B64.encode(&attached), key_id]),
        )
        .await;
    let two = B64.decode(r["pkcs7_64"].as_str().unwrap()).unwrap();
    assert!(openssl_verify(&w.dir, &two, None));
    let v = w
        .ok(
            PORTAL,
            "pkcs7",
            "verify_pkcs7_attached",
            json!([B64.encode(&two)]),
        )
        .await;
    assert_eq!(v["signers"].as_array().unwrap().len(), 2);
    assert_eq!(v["valid"], true);
    let r = w
        .ok(
            PORTAL,
            "pkcs7",
            "append_pkcs7_detached",
            json!([B64.encode(&detached), key_id, B64.encode(&doc)]),
        )
        .await;
    let two_d = B64.decode(r["pkcs7_64"].as_str().unwrap()).unwrap();
    assert!(openssl_verify(&w.dir, &two_d, Some(&doc)));
    assert!(
        w.err(
            PORTAL,
            "pkcs7",
            "append_pkcs7_detached",
            json!([B64.encode(&detached), key_id, B64.encode(b"x")])
        )
        .await
        .contains("not the content")
    );
    assert!(
        w.err(
            PORTAL,
            "pkcs7",
            "append_pkcs7_attached",
            json!([B64.encode(&detached), key_id])
        )
        .await
        .contains("detached")
    );

    // x509.
    let chain = w
        .ok(PORTAL, "x509", "get_certificate_chain", json!([key_id]))
        .await;
    let chain = chain["certificates"].as_array().unwrap().clone();
    assert_eq!(chain.len(), 2);
    let info = w
        .ok(PORTAL, "x509", "get_certificate_info", json!([chain[0]]))
        .await;
    assert_eq!(info["certificate_info"]["serialNumber"], "02");
    assert_eq!(info["certificate_info"]["subject"]["pinfl"], PINFL);
    let ok = w
        .ok(PORTAL, "x509", "verify_certificate", json!([chain[0]]))
        .await;
    assert_eq!(ok["valid"], true);
    let stranger_key = SoftwareKey::generate().unwrap();
    let stranger = issue_for(
        None,
        &stranger_key,
        stranger_key.public_key_der(),
        subject("X", PINFL),
        Profile::Root,
        9,
    );
    let bad = w
        .ok(
            PORTAL,
            "x509",
            "verify_certificate",
            json!([B64.encode(imzo_pki::cert::to_der(&stranger).unwrap())]),
        )
        .await;
    assert_eq!(bad["valid"], false);
    assert!(
        w.err(
            PORTAL,
            "x509",
            "get_certificate_info",
            json!([B64.encode(b"nope")])
        )
        .await
        .contains("not an X.509")
    );

    // unload_key; afterwards the keyId is dead.
    w.ok(PORTAL, "pfx", "unload_key", json!([key_id])).await;
    assert!(
        w.err(PORTAL, "pfx", "unload_key", json!([key_id]))
            .await
            .contains("no key is loaded")
    );
    assert!(
        w.err(PORTAL, "x509", "get_certificate_chain", json!([key_id]))
            .await
            .contains("no key is loaded")
    );

    // Enrolment: new key + request, proof of possession, install the issued certificate.
    w.answer("yangi-parol", "ok");
    let r = w
        .ok(PORTAL, "imzo", "create_key", json!([disk, {"cn": "ALIYEV ALI", "surname": "ALIYEV", "name": "ALI", "pinfl": "52107036540012"}]))
        .await;
    assert_eq!(r["name"], "DS521070365400120001");
    let new_id = r["keyId"].as_str().unwrap().to_string();
    let csr = B64.decode(r["csr_64"].as_str().unwrap()).unwrap();
    std::fs::write(w.dir.join("req.der"), &csr).unwrap();
    let out = Command::new("openssl")
        .args(["req", "-verify", "-noout", "-inform", "DER", "-in"])
        .arg(w.dir.join("req.der"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csr_info = imzo_pki::csr::parse_and_verify(&csr).unwrap();
    let challenge = b"server challenge 123";
    let pop = w
        .ok(
            PORTAL,
            "imzo",
            "sign_challenge",
            json!([new_id, B64.encode(challenge)]),
        )
        .await;
    imzo_pki::cms::verify_proof_of_possession(
        &B64.decode(pop["pkcs7_64"].as_str().unwrap()).unwrap(),
        challenge,
        &csr_info.public_key_der,
    )
    .unwrap();
    let issued = issue_for(
        Some(&w.root),
        &w.root_key,
        &csr_info.public_key_der,
        subject("ALIYEV ALI", "52107036540012"),
        Profile::Holder,
        7,
    );
    let issued_64 = B64.encode(imzo_pki::cert::to_der(&issued).unwrap());
    let root_64 = B64.encode(imzo_pki::cert::to_der(&w.root).unwrap());
    // Another key's certificate is refused before any dialog.
    let foreign = chain[0].clone();
    assert!(
        w.err(
            PORTAL,
            "imzo",
            "install_certificate",
            json!([new_id, foreign, [root_64]])
        )
        .await
        .contains("not for this key")
    );
    w.answer("yangi-parol", "ok");
    let r = w
        .ok(
            PORTAL,
            "imzo",
            "install_certificate",
            json!([new_id, issued_64, [root_64]]),
        )
        .await;
    assert!(r["alias"].as_str().unwrap().contains("serialnumber=07"));
    let reopened = pfxfile::open(
        &w.flash.join("DSKEYS/DS521070365400120001.pfx"),
        "yangi-parol",
    )
    .unwrap();
    assert_eq!(reopened.chain.len(), 2);
    assert!(
        w.err(PORTAL, "imzo", "create_key", json!([disk, {"cn": "X"}]))
            .await
            .contains("PINFL")
    );
    assert!(
        w.err(
            PORTAL,
            "imzo",
            "create_key",
            json!([disk, {"cn": "X", "pinfl": PINFL, "evil": 1}])
        )
        .await
        .contains("unknown subject field")
    );
    assert!(
        w.err(
            PORTAL,
            "imzo",
            "create_key",
            json!(["/nowhere", {"cn": "X", "pinfl": PINFL}])
        )
        .await
        .contains("unknown disk")
    );

    // The E-IMZO names of the enrolment calls: save_temporary_pfx, then save_pfx.
    w.answer("boshqa-parol", "ok");
    let r = w
        .ok(
            PORTAL,
            "pfx",
            "save_temporary_pfx",
            json!([disk, {"cn": "ALIYEV ALI", "pinfl": "52107036540012"}]),
        )
        .await;
    assert_eq!(r["name"], "DS521070365400120002");
    let tmp_id = r["keyId"].as_str().unwrap().to_string();
    let tmp_csr =
        imzo_pki::csr::parse_and_verify(&B64.decode(r["csr_64"].as_str().unwrap()).unwrap())
            .unwrap();
    let issued2 = issue_for(
        Some(&w.root),
        &w.root_key,
        &tmp_csr.public_key_der,
        subject("ALIYEV ALI", "52107036540012"),
        Profile::Holder,
        8,
    );
    let issued2_64 = B64.encode(imzo_pki::cert::to_der(&issued2).unwrap());
    w.ok(PORTAL, "pfx", "save_pfx", json!([tmp_id, issued2_64]))
        .await;
    assert!(
        pfxfile::open(
            &w.flash.join("DSKEYS/DS521070365400120002.pfx"),
            "boshqa-parol"
        )
        .unwrap()
        .chain[0]
            == issued2
    );
    assert!(
        w.err(PORTAL, "pfx", "save_pfx", json!([tmp_id]))
            .await
            .contains("cert_64")
    );

    // change_password.
    let id = load(&w, PORTAL).await;
    std::fs::write(w.dir.join("pinentry/pin"), "parol").unwrap();
    w.ok(PORTAL, "pfx", "change_password", json!([id])).await;
    assert!(pfxfile::open(&w.flash.join(format!("DSKEYS/DS{PINFL}0001.pfx")), "parol").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unapproved_sites_and_foreign_key_ids() {
    let w = start(Duration::from_millis(300)).await;
    let evil = "https://evil.example";
    let disk = w.flash.display().to_string();
    // The user refuses: the site can neither list nor sign, and is not asked again at once.
    w.answer("parol", "no");
    assert!(
        w.err(evil, "pfx", "list_all_certificates", json!([]))
            .await
            .contains("did not allow")
    );
    w.answer("parol", "ok");
    assert!(
        w.err(evil, "pfx", "list_disks", json!([]))
            .await
            .contains("did not allow")
    );
    let key_id = load(&w, PORTAL).await;
    assert!(
        w.err(
            evil,
            "pkcs7",
            "create_pkcs7",
            json!([B64.encode(b"x"), key_id, ""])
        )
        .await
        .contains("did not allow")
    );
    // No Origin at all is the opaque origin "null", which needs approval too.
    w.answer("", "no");
    let r = w
        .call(
            None,
            json!({"plugin": "pfx", "name": "list_disks", "arguments": []}),
        )
        .await;
    assert_eq!(r["success"], false);
    assert!(
        !w.sites_file.exists()
            || !std::fs::read_to_string(&w.sites_file)
                .unwrap()
                .contains("evil")
    );

    // Another site approved by the user can list, but the portal's keyId is refused.
    let other = "https://other.example:8443";
    w.answer("", "ok");
    w.ok(other, "pfx", "list_disks", json!([])).await;
    assert!(
        std::fs::read_to_string(&w.sites_file)
            .unwrap()
            .contains(other)
    );
    w.answer("", "ok");
    let reason = w
        .err(
            other,
            "pkcs7",
            "create_pkcs7",
            json!([B64.encode(b"x"), key_id, ""]),
        )
        .await;
    assert!(reason.contains("another site"), "{reason}");
    assert!(
        w.err(other, "pfx", "unload_key", json!([key_id]))
            .await
            .contains("another site")
    );
    assert!(
        w.err(other, "x509", "get_certificate_chain", json!([key_id]))
            .await
            .contains("another site")
    );
    // Still usable by its own site.
    w.ok(PORTAL, "x509", "get_certificate_chain", json!([key_id]))
        .await;
    // Revoked: asked again (and refused).
    assert!(
        imzo_agent::sites::SitesStore::new(&w.sites_file)
            .revoke(other)
            .unwrap()
    );
    w.answer("", "no");
    assert!(
        w.err(other, "pfx", "list_disks", json!([]))
            .await
            .contains("did not allow")
    );

    // Wrong passwords: three free, then a wait.
    let name = format!("DS{PINFL}0001");
    w.answer("bad", "ok");
    for _ in 0..3 {
        assert_eq!(
            w.err(PORTAL, "pfx", "load_key", json!([disk, "DSKEYS", name, ""]))
                .await,
            "wrong password"
        );
    }
    w.answer("parol", "ok");
    assert!(
        w.err(PORTAL, "pfx", "load_key", json!([disk, "DSKEYS", name, ""]))
            .await
            .contains("too many wrong passwords")
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    load(&w, PORTAL).await;
}

/// An OpenSSL TSA stamps the signature value; the module attaches the token (CAdES-T).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_timestamp_token_from_openssl_tsa() {
    let w = start(Duration::from_secs(30)).await;
    let key_id = load(&w, PORTAL).await;
    w.answer("", "trust");
    let doc = b"time-stamped document";
    let r = w
        .ok(
            PORTAL,
            "pkcs7",
            "create_pkcs7",
            json!([B64.encode(doc), key_id, "no"]),
        )
        .await;
    let sig_64 = r["pkcs7_64"].as_str().unwrap().to_string();
    let serial = r["signer_serial_number"].as_str().unwrap().to_string();
    let value = hex::decode(r["signature_hex"].as_str().unwrap()).unwrap();
    let d = &w.dir;
    std::fs::write(d.join("value.bin"), &value).unwrap();
    std::fs::write(d.join("tsa.cnf"), "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = ./tsaserial\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n").unwrap();
    std::fs::write(d.join("tsaserial"), "01\n").unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(d)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "tsa.key",
        "-out",
        "tsa.pem",
        "-subj",
        "/CN=Test TSA",
        "-days",
        "2",
        "-addext",
        "extendedKeyUsage=critical,timeStamping",
    ]);
    run(&[
        "ts",
        "-query",
        "-data",
        "value.bin",
        "-sha256",
        "-cert",
        "-out",
        "q.tsq",
    ]);
    run(&[
        "ts",
        "-reply",
        "-config",
        "tsa.cnf",
        "-queryfile",
        "q.tsq",
        "-signer",
        "tsa.pem",
        "-inkey",
        "tsa.key",
        "-token_out",
        "-out",
        "token.der",
    ]);
    let token = std::fs::read(d.join("token.der")).unwrap();
    let r = w
        .ok(
            PORTAL,
            "pkcs7",
            "attach_timestamp_token_pkcs7",
            json!([sig_64, serial, B64.encode(&token)]),
        )
        .await;
    let stamped = B64.decode(r["pkcs7_64"].as_str().unwrap()).unwrap();
    assert!(openssl_verify(d, &stamped, None));
    std::fs::write(d.join("stamped.der"), &stamped).unwrap();
    let printed = Command::new("openssl")
        .current_dir(d)
        .args([
            "cms",
            "-cmsout",
            "-print",
            "-inform",
            "DER",
            "-in",
            "stamped.der",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&printed.stdout).contains("id-smime-aa-timeStampToken"));
    // A token over other bytes, a wrong serial, junk: refused.
    std::fs::write(d.join("value.bin"), b"other").unwrap();
    run(&[
        "ts",
        "-query",
        "-data",
        "value.bin",
        "-sha256",
        "-cert",
        "-out",
        "q2.tsq",
    ]);
    run(&[
        "ts",
        "-reply",
        "-config",
        "tsa.cnf",
        "-queryfile",
        "q2.tsq",
        "-signer",
        "tsa.pem",
        "-inkey",
        "tsa.key",
        "-token_out",
        "-out",
        "token2.der",
    ]);
    let other = std::fs::read(d.join("token2.der")).unwrap();
    assert!(
        w.err(
            PORTAL,
            "pkcs7",
            "attach_timestamp_token_pkcs7",
            json!([sig_64, serial, B64.encode(&other)])
        )
        .await
        .contains("not over this signer")
    );
    assert!(
        w.err(
            PORTAL,
            "pkcs7",
            "attach_timestamp_token_pkcs7",
            json!([sig_64, "abcdef", B64.encode(&token)])
        )
        .await
        .contains("no signer")
    );
    assert!(
        w.err(
            PORTAL,
            "pkcs7",
            "attach_timestamp_token_pkcs7",
            json!([sig_64, serial, B64.encode(b"junk")])
        )
        .await
        .contains("time-stamp")
    );
}

/// wss with the local certificate: a client trusting the local CA gets answers; one
/// that does not is refused at the handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_local_ca() {
    use imzo_agent::tls::{TlsFiles, TlsListener, acceptor, ensure_files};
    let tmp = tempfile::tempdir().unwrap();
    let files = TlsFiles::in_dir(tmp.path());
    assert!(ensure_files(&files).unwrap());
    assert!(!ensure_files(&files).unwrap());
    assert!(
        !std::fs::read_to_string(tmp.path().join("agent-ca.pem"))
            .unwrap()
            .contains("PRIVATE")
    );
    let listing: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        listing.len(),
        3,
        "only the CA certificate, the server certificate and its key: {listing:?}"
    );
    let agent = Agent::new(
        AgentConfig::new(tmp.path().join("sites.json")),
        std::sync::Arc::new(Pinentry::new("/bin/false")),
    );
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    tokio::spawn(imzo_agent::server::serve_tls(
        agent,
        TlsListener::new(tcp, acceptor(&files).unwrap()),
    ));

    let ca = imzo_pki::pem::read_certificates(&std::fs::read(&files.ca_pem).unwrap()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let client = |roots: rustls::RootCertStore| {
        std::sync::Arc::new(
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    };
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(imzo_pki::cert::to_der(&ca[0]).unwrap().into())
        .unwrap();
    let url = format!("wss://127.0.0.1:{port}/service/cryptapi");
    let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(
        url.as_str(),
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(client(roots))),
    )
    .await
    .unwrap();
    ws.send(Message::Text(json!({"name": "version"}).to_string().into()))
        .await
        .unwrap();
    let Message::Text(reply) = ws.next().await.unwrap().unwrap() else {
        panic!("no text reply")
    };
    assert!(reply.contains("\"major\":\"4\""), "{reply}");
    let refused = tokio_tungstenite::connect_async_tls_with_config(
        url.as_str(),
        None,
        false,
        Some(tokio_tungstenite::Connector::Rustls(client(
            rustls::RootCertStore::empty(),
        ))),
    )
    .await;
    assert!(refused.is_err());
}

/// Every call apidoc.html documents is answered (no "unknown call"), and the page lists
/// each of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_call_exists() {
    let w = start(Duration::from_secs(30)).await;
    let html = imzo_agent::apidoc::html();
    for (plugin, name, ..) in imzo_agent::apidoc::CALLS {
        assert!(
            html.contains(&format!("<code>{name}</code>")),
            "{name} not on the page"
        );
        let msg = if plugin.is_empty() {
            json!({"name": name})
        } else {
            json!({"plugin": plugin, "name": name, "arguments": []})
        };
        let r = w.call(Some(PORTAL), msg).await;
        let reason = r["reason"].as_str().unwrap_or_default();
        assert!(!reason.contains("unknown call"), "{plugin}.{name}: {r}");
    }
}
