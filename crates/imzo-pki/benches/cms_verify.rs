//! CMS verifications per second, one thread, beside OpenSSL on the same file:
//! `cargo bench -p imzo-pki --bench cms_verify` (optionally `-- SECONDS`, default 3 per
//! measurement).
//!
//! The input: a 1 KB attached P-256/SHA-256 SignedData made by `openssl cms -sign`, with
//! signed attributes and its chain (signer + intermediate CA) embedded; the root is the
//! trust anchor. Each round parses and verifies from the bytes (`cms::verify`: digest,
//! signature, path to the anchor, key usage). No revocation source is consulted on
//! either side. Path validation remembers certificate signatures it has verified
//! (`path::clear_signature_cache`), so after the first round only the CMS signature
//! itself needs ECDSA arithmetic (validity, constraints and key usage are still checked
//! each time); a second figure clears that cache before every round. OpenSSL's side is
//! `d2i_CMS_ContentInfo` + `CMS_verify` in a C loop (`cms_verify_openssl.c`, compiled
//! here with gcc against libcrypto), and for scale `openssl cms -verify`, one process
//! per verification.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use imzo_pki::Certificate;
use imzo_pki::cms::{self, VerifyOptions};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const OPENSSL_SOURCE: &str = include_str!("cms_verify_openssl.c");

/// Calls `f` repeatedly for `seconds`; returns calls per second.
fn rate(seconds: f64, mut f: impl FnMut()) -> f64 {
    for _ in 0..20 {
        f();
    }
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        f();
        n += 1;
        if n.is_multiple_of(8) && start.elapsed() >= budget {
            break;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl CLI");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Root -> intermediate -> signer, all P-256, and the signature over 1 KB.
fn make_input(d: &Path) {
    for name in ["root", "ca", "signer"] {
        openssl(
            d,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &format!("{name}.key"),
            ],
        );
    }
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "root.key",
            "-subj",
            "/CN=Bench Root/O=Imzo/C=UZ",
            "-days",
            "3650",
            "-out",
            "root.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectKeyIdentifier=hash",
        ],
    );
    std::fs::write(
        d.join("ca.ext"),
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    std::fs::write(
        d.join("signer.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    for (name, subject, issuer) in [
        ("ca", "/CN=Bench Centre/O=Imzo/C=UZ", "root"),
        ("signer", "/CN=Valiyev Ali/C=UZ", "ca"),
    ] {
        openssl(
            d,
            &[
                "req",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-subj",
                subject,
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{issuer}.pem"),
                "-CAkey",
                &format!("{issuer}.key"),
                "-CAcreateserial",
                "-days",
                "365",
                "-sha256",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
    let content: Vec<u8> = (0..1024u32)
        .map(|i| b"Hujjat matni 0123456789\n"[i as usize % 24])
        .collect();
    std::fs::write(d.join("content.txt"), content).unwrap();
    openssl(
        d,
        &[
            "cms",
            "-sign",
            "-md",
            "sha256",
            "-nodetach",
            "-binary",
            "-in",
            "content.txt",
            "-signer",
            "signer.pem",
            "-inkey",
            "signer.key",
            "-certfile",
            "ca.pem",
            "-outform",
            "DER",
            "-out",
            "sig.der",
        ],
    );
}

/// OpenSSL's in-process rate from the C loop, or why it could not be measured.
fn openssl_in_process(d: &Path, seconds: f64) -> Result<f64, String> {
    let src = d.join("cms_verify_openssl.c");
    let bin = d.join("cms_verify_openssl");
    std::fs::write(&src, OPENSSL_SOURCE).map_err(|e| e.to_string())?;
    let cc = Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .arg("-lcrypto")
        .output()
        .map_err(|e| format!("gcc not runnable ({e}); install gcc and libssl-dev"))?;
    if !cc.status.success() {
        return Err(format!(
            "gcc failed (is libssl-dev installed?): {}",
            String::from_utf8_lossy(&cc.stderr)
        ));
    }
    let out = Command::new(&bin)
        .arg(d.join("sig.der"))
        .arg(d.join("root.pem"))
        .arg(seconds.to_string())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "the C loop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    text.lines()
        .find_map(|l| l.strip_prefix("verify_per_s"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no verify_per_s in {text:?}"))
}

fn main() {
    let seconds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<f64>().ok())
        .unwrap_or(3.0);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_input(d);
    let sig = std::fs::read(d.join("sig.der")).unwrap();
    let root: Certificate =
        imzo_pki::pem::read_certificates(&std::fs::read(d.join("root.pem")).unwrap())
            .unwrap()
            .remove(0);
    let options = VerifyOptions {
        anchors: vec![root],
        at: None,
    };
    let report = cms::verify(&sig, None, &options).unwrap();
    assert!(
        report.all_valid() && report.content.len() == 1024,
        "the benchmark input does not verify: {:?}",
        report.signers.iter().map(|s| &s.errors).collect::<Vec<_>>()
    );
    assert_eq!(imzo_pki::cms_tools::certificates(&sig).unwrap().len(), 2);

    let ours = rate(seconds, || {
        let report = cms::verify(std::hint::black_box(&sig), None, &options).unwrap();
        assert!(report.all_valid());
        std::hint::black_box(report);
    });

    println!(
        "CMS verify, one thread: {} B attached P-256/SHA-256 SignedData, 1 KB content, \
         signer + intermediate embedded, root as anchor, parse + verify each time",
        sig.len()
    );
    println!("{:<52} {:>10}", "", "verify/s");
    // The same, but with no certificate signature remembered from earlier rounds: the
    // cost of a chain seen for the first time (three ECDSA verifications).
    let cold = rate(seconds, || {
        imzo_pki::path::clear_signature_cache();
        let report = cms::verify(std::hint::black_box(&sig), None, &options).unwrap();
        assert!(report.all_valid());
        std::hint::black_box(report);
    });
    println!("{:<52} {:>10.0}", "imzo-pki cms::verify", ours);
    println!(
        "{:<52} {:>10.0}",
        "imzo-pki cms::verify, chain cache cleared each time", cold
    );
    match openssl_in_process(d, seconds) {
        Ok(theirs) => {
            println!(
                "{:<52} {:>10.0}",
                "OpenSSL d2i_CMS_ContentInfo + CMS_verify (C loop)", theirs
            );
            println!(
                "{:<52} {:>10.2}",
                "imzo-pki / OpenSSL in-process",
                ours / theirs
            );
            println!(
                "{:<52} {:>10.2}",
                "imzo-pki (chain cache cleared) / OpenSSL in-process",
                cold / theirs
            );
        }
        Err(why) => println!("OpenSSL CMS_verify: not measured: {why}"),
    }
    // One process per verification, for scale (a shorter run: it is slow).
    let per_process = rate(seconds.min(2.0), || {
        openssl(
            d,
            &[
                "cms",
                "-verify",
                "-inform",
                "DER",
                "-in",
                "sig.der",
                "-CAfile",
                "root.pem",
                "-binary",
                "-out",
                "/dev/null",
            ],
        );
    });
    println!(
        "{:<52} {:>10.0}",
        "openssl cms -verify (one process each)", per_process
    );
}
