//! The bodies of the fuzz targets, as plain functions.
//!
//! Each `fuzz_targets/<name>.rs` is one line around the function of the same name here,
//! so the same code runs under libFuzzer (`cargo fuzz run <name>`, or `run.sh` on stable)
//! and in the stable smoke test `tests/fuzz_smoke.rs`, which includes this file with
//! `#[path]` and feeds every body the seed corpus plus a few thousand mutated inputs.
//! A body must return for any input; a panic (or a failed `assert!`) is a finding.
//!
//! Only `imzo_pki` and `std` may be used here: the smoke test compiles this file inside
//! the imzo-pki package.

use imzo_pki::cms::{self, VerifyOptions};
use imzo_pki::path::{self, PathOptions};
use imzo_pki::{Certificate, cert, cms_tools, crl, csr, ocsp, pem, pfx, tsp};
use std::sync::OnceLock;

/// A target's body.
pub type Body = fn(&[u8]);

/// Every target: its name (the folder under `corpus/`) and its body.
pub const TARGETS: &[(&str, Body)] = &[
    ("ber_to_der", ber_to_der),
    ("certificate", certificate),
    ("cms_verify", cms_verify),
    ("crl", crl),
    ("csr", csr),
    ("ocsp_request", ocsp_request),
    ("pfx", pfx),
    ("tsa_request", tsa_request),
];

/// The root that issued every seed (certificates, CRLs, CMS signers): with it as the
/// anchor the signature and path checks run all the way instead of stopping early.
fn seed_root() -> &'static [Certificate] {
    static ROOT: OnceLock<Vec<Certificate>> = OnceLock::new();
    ROOT.get_or_init(|| {
        pem::read_certificates(include_bytes!("../corpus/certificate/seed-root.der"))
            .unwrap_or_default()
    })
}

/// Password of the .pfx seeds.
pub const PFX_PASSWORD: &str = "fuzz";

/// The BER normaliser: never panics, and its output is a fixed point.
pub fn ber_to_der(data: &[u8]) {
    if let Ok(der) = cms::ber::to_der(data) {
        assert_eq!(
            cms::ber::to_der(&der).ok().as_deref(),
            Some(der.as_slice()),
            "to_der(to_der(x)) != to_der(x)"
        );
    }
}

/// CMS parsing and verification (attached, detached, proof of possession, the tools
/// that read SignedData) on arbitrary bytes.
pub fn cms_verify(data: &[u8]) {
    let options = VerifyOptions {
        anchors: seed_root().to_vec(),
        at: None,
    };
    let _ = cms::verify(data, None, &options);
    let _ = cms::verify(data, Some(b"content"), &options);
    let _ = cms::verify_proof_of_possession(data, b"challenge", &[]);
    let _ = cms_tools::certificates(data);
    let _ = cms_tools::message_digests(data);
}

/// Certificates (PEM, DER or bare base64), then what is read out of one.
pub fn certificate(data: &[u8]) {
    let Ok(certs) = pem::read_certificates(data) else {
        return;
    };
    for c in &certs {
        let _ = cert::info(c);
        let _ = cert::public_key_der(c);
        let _ = ocsp::status_urls(c);
        let _ = ocsp::issuer_key_id(c);
        let _ = ocsp::IssuerHashes::of(c);
        let _ = cms_tools::policy_identifiers(c);
        if let Ok(der) = cert::to_der(c) {
            let again = pem::read_certificates(&der).ok();
            assert_eq!(again.as_deref(), Some(std::slice::from_ref(c)));
        }
        // As its own anchor and as a leaf under the seed root: every extension is read.
        let at = time::OffsetDateTime::now_utc();
        let options = PathOptions { at, max_depth: 4 };
        let _ = path::validate(c, &certs, std::slice::from_ref(c), &options);
        let _ = path::validate(c, &certs, seed_root(), &options);
    }
}

/// CRLs (DER or PEM) without and with the signature check.
pub fn crl(data: &[u8]) {
    if let Ok(info) = crl::parse(data) {
        let _ = info.find("01");
    }
    if let Some(root) = seed_root().first() {
        let _ = crl::verify(data, root);
    }
}

/// OCSP requests as the responder receives them.
pub fn ocsp_request(data: &[u8]) {
    if let Ok(request) = ocsp::parse_request(data)
        && let Some(root) = seed_root().first()
        && let Ok(hashes) = ocsp::IssuerHashes::of(root)
    {
        for id in &request.cert_ids {
            let _ = hashes.matches(id);
        }
    }
}

/// Policies the TSA of [`tsa_request`] serves (one of them is the seeds').
pub const TSA_POLICIES: &[&str] = &["1.2.860.3.2.2.1.9", "1.2.3.4"];

/// RFC 3161 TimeStampReq as the TSA receives it, with and without a policy list; what is
/// accepted is written back readably.
pub fn tsa_request(data: &[u8]) {
    let _ = tsp::parse_request(data, &[]);
    if let Ok(request) = tsp::parse_request(data, TSA_POLICIES)
        && let Ok(der) = request.to_der()
    {
        assert_eq!(
            tsp::parse_request(&der, TSA_POLICIES).ok(),
            Some(request),
            "re-encoded request read differently"
        );
    }
}

/// PKCS#12 (.pfx / .p12) with the seeds' password.
pub fn pfx(data: &[u8]) {
    if let Ok(read) = pfx::read(data, PFX_PASSWORD)
        && let Some(first) = read.chain.first()
    {
        let _ = pfx::alias(first);
    }
}

/// PKCS#10 requests: parse and check the self-signature.
pub fn csr(data: &[u8]) {
    let _ = csr::parse_and_verify(data);
}
