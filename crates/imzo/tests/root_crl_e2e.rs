//! The root's own CRL and the delta CRLs against the real `imzo up`: `/crl/root.crl` is
//! where the centre CA certificate says, signed by the root, and lets OpenSSL check a
//! whole chain (`-crl_check_all`); `imzo authority revoke` of the centre CA reaches it
//! within the delay; `/crl/rc1-delta.crl` is the delta the complete CRL names.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, http, imzo, openssl, run, text};
use std::time::{Duration, Instant};

#[test]
fn root_crl_delta_crl_and_the_authority_revoking_a_centre() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, None, &[("IMZO_STATUS_CRL_DELAY_SECONDS", "1")]);
    let w = |name: &str| work.path().join(name).to_str().unwrap().to_string();
    let d = |name: &str| data.join(name).to_str().unwrap().to_string();
    let (root, ca) = (d("pki/root.pem"), d("pki/rc1.pem"));
    let fetch = |path: &str, out: &str| {
        let response = http().get(format!("{}{path}", server.base)).send().unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "application/pkix-crl");
        std::fs::write(w(&format!("{out}.der")), response.bytes().unwrap()).unwrap();
        let (ok, o) = openssl(&["crl", "-inform", "DER", "-in", &w(&format!("{out}.der")), "-out", &w(&format!("{out}.pem"))]);
        assert!(ok, "{o}");
        openssl(&["crl", "-in", &w(&format!("{out}.pem")), "-noout", "-text"]).1
    };

    // The centre CA certificate names the root's CRL; the root signed it.
    let (ok, out) = openssl(&["x509", "-in", &ca, "-noout", "-ext", "crlDistributionPoints,freshestCRL"]);
    assert!(ok && out.contains(&format!("{}/crl/root.crl", server.base)), "{out}");
    assert!(out.contains(&format!("{}/crl/root-delta.crl", server.base)), "new certificates name the delta CRL: {out}");
    let root_text = fetch("/crl/root.crl", "root-crl");
    assert!(root_text.contains("Freshest CRL") && root_text.contains("root-delta.crl"), "{root_text}");
    let (ok, out) = openssl(&["crl", "-in", &w("root-crl.pem"), "-CAfile", &root, "-noout"]);
    assert!(ok && out.contains("verify OK"), "{out}");

    // The centre's CRL names its delta, which verifies and names its base.
    let centre_text = fetch("/crl/rc1.crl", "rc1-crl");
    assert!(centre_text.contains(&format!("{}/crl/rc1-delta.crl", server.base)), "{centre_text}");
    let delta_text = fetch("/crl/rc1-delta.crl", "rc1-delta");
    assert!(delta_text.contains("Delta CRL Indicator") && delta_text.contains("critical"), "{delta_text}");
    std::fs::write(w("chain.pem"), format!("{}{}", std::fs::read_to_string(&ca).unwrap(), std::fs::read_to_string(&root).unwrap())).unwrap();
    let (ok, out) = openssl(&["crl", "-in", &w("rc1-delta.pem"), "-CAfile", &w("chain.pem"), "-noout"]);
    assert!(ok && out.contains("verify OK"), "{out}");

    // With both CRLs OpenSSL checks the whole chain of the centre's OCSP responder
    // certificate (issued by rc1), fetched from an OCSP answer.
    let (ok, out) = openssl(&["ocsp", "-issuer", &ca, "-serial", "0x7f00112233", "-url", &format!("{}/ocsp", server.base),
        "-resp_text", "-noverify"]);
    assert!(ok, "{out}");
    let responder_pem = {
        let start = out.find("-----BEGIN CERTIFICATE-----").expect("the answer carries the responder certificate");
        let end = out[start..].find("-----END CERTIFICATE-----").unwrap() + start + "-----END CERTIFICATE-----".len();
        out[start..end].to_string()
    };
    std::fs::write(w("responder.pem"), format!("{responder_pem}\n")).unwrap();
    std::fs::write(w("crls.pem"), format!("{}{}", std::fs::read_to_string(w("root-crl.pem")).unwrap(), std::fs::read_to_string(w("rc1-crl.pem")).unwrap()))
        .unwrap();
    let check_all = || openssl(&["verify", "-crl_check_all", "-CAfile", &w("chain.pem"), "-CRLfile", &w("crls.pem"), &w("responder.pem")]);
    let (ok, out) = check_all();
    assert!(ok, "{out}");

    // The authorised body revokes the centre's CA: only what the root issued.
    let data_dir = data.to_str().unwrap().to_string();
    let out = run(imzo().args(["authority", "revoke", "--data", &data_dir, "--serial", "7f00112233"]));
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let centre_serial = {
        let (ok, out) = openssl(&["x509", "-in", &ca, "-noout", "-serial"]);
        assert!(ok);
        out.trim().trim_start_matches("serial=").to_string()
    };
    let out = run(imzo().args(["authority", "revoke", "--data", &data_dir, "--serial", &centre_serial]));
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("cACompromise"), "{}", text(&out.stdout));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed = fetch("/crl/root.crl", "root-crl");
        if listed.to_ascii_lowercase().contains(&centre_serial.to_ascii_lowercase()) {
            assert!(listed.contains("CA Compromise"), "{listed}");
            break;
        }
        assert!(Instant::now() < deadline, "the root CRL does not list the centre CA:\n{listed}");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::fs::write(w("crls.pem"), format!("{}{}", std::fs::read_to_string(w("root-crl.pem")).unwrap(), std::fs::read_to_string(w("rc1-crl.pem")).unwrap()))
        .unwrap();
    let (ok, out) = check_all();
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    server.stop();
}
