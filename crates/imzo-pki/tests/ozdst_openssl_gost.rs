//! GOST R 34.10-2001 (standard OIDs) against OpenSSL's GOST engine (Debian
//! `libengine-gost-openssl`): the engine verifies our certificates and CMS signatures,
//! we verify the engine's certificates, CSRs and CMS signatures, and a key the engine
//! generated signs through our code. Without a loadable engine the tests are skipped
//! with a notice (and fail under `CI`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use der::DecodePem;
use imzo_pki::cert::{self, IssueParams, Profile, PublicationUrls};
use imzo_pki::cms::{self, SignOptions, VerifyOptions};
use imzo_pki::name::Subject;
use imzo_pki::ozdst::{self, OidFamily, ParamSet, SigningKey, SoftwareSigner};
use imzo_pki::path::{self, PathOptions};
use imzo_pki::{Certificate, RawSigner, SignatureAlgorithm, csr};
use std::path::Path;
use std::process::{Command, Output};
use time::{Duration, OffsetDateTime};

/// Whether `openssl engine gost` loads; panics under CI when it does not.
fn engine_available() -> bool {
    let ok = Command::new("openssl")
        .args(["engine", "gost", "-t"])
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("available"))
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "OpenSSL's GOST engine is not loadable (install libengine-gost-openssl)"
        );
        eprintln!(
            "NOTICE: OpenSSL GOST engine not loadable; GOST interop test skipped \
             (install libengine-gost-openssl)"
        );
    }
    ok
}

fn openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn openssl_ok(dir: &Path, args: &[&str]) -> Output {
    let out = openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn gost_signer(set: ParamSet) -> SoftwareSigner {
    SoftwareSigner::new(SigningKey::generate(set, OidFamily::Gost2001).unwrap()).unwrap()
}

fn params(cn: &str, spki: &[u8], serial: u8, profile: Profile) -> IssueParams {
    let now = OffsetDateTime::now_utc();
    IssueParams {
        subject: Subject {
            common_name: cn.into(),
            country: Some("UZ".into()),
            ..Default::default()
        },
        subject_public_key_der: spki.to_vec(),
        serial: vec![serial],
        not_before: now - Duration::hours(1),
        not_after: now + Duration::days(30),
        profile,
        urls: PublicationUrls::default(),
        policy_oid: None,
    }
}

fn write_pem(dir: &Path, name: &str, c: &Certificate) {
    std::fs::write(dir.join(name), cert::to_pem(c).unwrap()).unwrap();
}

fn read_pem(dir: &Path, name: &str) -> Certificate {
    Certificate::from_pem(std::fs::read(dir.join(name)).unwrap()).unwrap()
}

fn now_options() -> PathOptions {
    PathOptions {
        at: OffsetDateTime::now_utc(),
        max_depth: 4,
    }
}

/// Root (A) → centre (A) → holder (C), all ours, standard GOST OIDs.
struct OurPki {
    root: Certificate,
    centre: Certificate,
    holder: Certificate,
    holder_key: SoftwareSigner,
}

fn our_pki(holder_set: ParamSet) -> OurPki {
    let root_key = gost_signer(ParamSet::CryptoProA);
    let centre_key = gost_signer(ParamSet::CryptoProA);
    let holder_key = gost_signer(holder_set);
    assert_eq!(root_key.algorithm(), SignatureAlgorithm::Gost2001);
    let root = cert::issue(
        None,
        &root_key,
        &params("GOST Root", root_key.public_key_der(), 1, Profile::Root),
    )
    .unwrap();
    let centre = cert::issue(
        Some(&root),
        &root_key,
        &params(
            "GOST Centre",
            centre_key.public_key_der(),
            2,
            Profile::CentreCa,
        ),
    )
    .unwrap();
    let holder = cert::issue(
        Some(&centre),
        &centre_key,
        &params(
            "Aliyev Vali",
            holder_key.public_key_der(),
            3,
            Profile::Holder,
        ),
    )
    .unwrap();
    OurPki {
        root,
        centre,
        holder,
        holder_key,
    }
}

#[test]
fn engine_verifies_our_certificates_and_cms() {
    if !engine_available() {
        return;
    }
    for holder_set in [ParamSet::CryptoProA, ParamSet::CryptoProC] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pki = our_pki(holder_set);
        assert_eq!(
            pki.holder.signature_algorithm().oid.to_string(),
            "1.2.643.2.2.3"
        );
        write_pem(d, "root.pem", &pki.root);
        write_pem(d, "centre.pem", &pki.centre);
        write_pem(d, "holder.pem", &pki.holder);

        let out = openssl_ok(
            d,
            &[
                "verify",
                "-engine",
                "gost",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "centre.pem",
                "holder.pem",
            ],
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("holder.pem: OK"));
        // The engine reads our key encoding (X‖Y little-endian in an OCTET STRING).
        let text = openssl_ok(
            d,
            &[
                "x509",
                "-engine",
                "gost",
                "-in",
                "holder.pem",
                "-noout",
                "-text",
            ],
        );
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("GOST R 34.10-2001"), "{text}");
        assert!(!text.contains("Unable to load Public Key"), "{text}");

        // One flipped bit in the holder's signature value: the engine refuses it.
        let mut der = cert::to_der(&pki.holder).unwrap();
        let last = der.len() - 5;
        der[last] ^= 0x01;
        std::fs::write(d.join("bad.der"), &der).unwrap();
        openssl_ok(
            d,
            &[
                "x509", "-inform", "DER", "-in", "bad.der", "-out", "bad.pem",
            ],
        );
        let out = openssl(
            d,
            &[
                "verify",
                "-engine",
                "gost",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "centre.pem",
                "bad.pem",
            ],
        );
        assert!(!out.status.success(), "tampered certificate accepted");

        // CMS, attached and detached, with the chain inside.
        let content = b"Hujjat: GOST R 34.10-2001 interop\n\x00\xff";
        std::fs::write(d.join("content.bin"), content).unwrap();
        for detached in [false, true] {
            let signed = cms::sign(
                content,
                &pki.holder_key,
                &[pki.holder.clone(), pki.centre.clone()],
                &SignOptions {
                    detached,
                    signing_time: OffsetDateTime::now_utc(),
                },
            )
            .unwrap();
            std::fs::write(d.join("sig.p7s"), &signed).unwrap();
            let mut args = vec![
                "cms", "-verify", "-engine", "gost", "-inform", "DER", "-in", "sig.p7s", "-binary",
                "-purpose", "any", "-CAfile", "root.pem", "-out", "out.bin",
            ];
            if detached {
                args.extend(["-content", "content.bin"]);
            }
            openssl_ok(d, &args);
            assert_eq!(std::fs::read(d.join("out.bin")).unwrap(), content);

            // Another content: the engine says no.
            std::fs::write(d.join("other.bin"), b"Hujjat: something else").unwrap();
            if detached {
                let mut bad = args.clone();
                let at = bad.iter().position(|a| *a == "content.bin").unwrap();
                bad[at] = "other.bin";
                assert!(!openssl(d, &bad).status.success());
            }
        }
    }
}

/// An engine key pair (PEM and DER PKCS#8) named `name` on `paramset`.
fn engine_key(d: &Path, name: &str, paramset: &str) {
    openssl_ok(
        d,
        &[
            "genpkey",
            "-engine",
            "gost",
            "-algorithm",
            "gost2001",
            "-pkeyopt",
            &format!("paramset:{paramset}"),
            "-out",
            &format!("{name}.key"),
        ],
    );
    openssl_ok(
        d,
        &[
            "pkey",
            "-engine",
            "gost",
            "-in",
            &format!("{name}.key"),
            "-outform",
            "DER",
            "-out",
            &format!("{name}.key.der"),
        ],
    );
}

#[test]
fn we_verify_the_engines_certificates_csr_and_cms() {
    if !engine_available() {
        return;
    }
    for leaf_set in ["A", "C"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        engine_key(d, "root", "A");
        openssl_ok(
            d,
            &[
                "req",
                "-x509",
                "-new",
                "-engine",
                "gost",
                "-key",
                "root.key",
                "-subj",
                "/CN=Engine Root/C=UZ",
                "-days",
                "30",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-out",
                "root.pem",
            ],
        );
        engine_key(d, "leaf", leaf_set);
        openssl_ok(
            d,
            &[
                "req",
                "-new",
                "-engine",
                "gost",
                "-key",
                "leaf.key",
                "-subj",
                "/CN=Valiyev Ali/C=UZ",
                "-outform",
                "DER",
                "-out",
                "leaf.csr",
            ],
        );
        // The engine's CSR passes our CSR check and carries the engine's key.
        let info = csr::parse_and_verify(&std::fs::read(d.join("leaf.csr")).unwrap()).unwrap();
        let engine_leaf =
            ozdst::private_key_from_pkcs8(&std::fs::read(d.join("leaf.key.der")).unwrap()).unwrap();
        assert_eq!(
            ozdst::parse_spki(&info.public_key_der)
                .unwrap()
                .to_le_bytes(),
            engine_leaf.public_key().to_le_bytes()
        );
        std::fs::write(
            d.join("leaf.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n\
             subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
        )
        .unwrap();
        openssl_ok(
            d,
            &[
                "x509",
                "-req",
                "-engine",
                "gost",
                "-inform",
                "DER",
                "-in",
                "leaf.csr",
                "-CA",
                "root.pem",
                "-CAkey",
                "root.key",
                "-set_serial",
                "7",
                "-days",
                "30",
                "-extfile",
                "leaf.ext",
                "-out",
                "leaf.pem",
            ],
        );
        let root = read_pem(d, "root.pem");
        let leaf = read_pem(d, "leaf.pem");
        let chain =
            path::validate(&leaf, &[], std::slice::from_ref(&root), &now_options()).unwrap();
        assert_eq!(chain.len(), 2);
        // The same leaf under a stranger root with the same name fails.
        engine_key(d, "stranger", "A");
        openssl_ok(
            d,
            &[
                "req",
                "-x509",
                "-new",
                "-engine",
                "gost",
                "-key",
                "stranger.key",
                "-subj",
                "/CN=Engine Root/C=UZ",
                "-days",
                "30",
                "-out",
                "stranger.pem",
            ],
        );
        let stranger = read_pem(d, "stranger.pem");
        assert!(
            path::validate(&leaf, &[], std::slice::from_ref(&stranger), &now_options()).is_err()
        );

        // CMS by the engine (its signer info names the key OID 1.2.643.2.2.19).
        let content = b"Hujjat imzolandi: OpenSSL GOST engine\n";
        std::fs::write(d.join("content.txt"), content).unwrap();
        for detached in [false, true] {
            let mut args = vec![
                "cms",
                "-sign",
                "-engine",
                "gost",
                "-binary",
                "-in",
                "content.txt",
                "-signer",
                "leaf.pem",
                "-inkey",
                "leaf.key",
                "-outform",
                "DER",
                "-out",
                "e.p7s",
            ];
            if !detached {
                args.push("-nodetach");
            }
            openssl_ok(d, &args);
            let signed = std::fs::read(d.join("e.p7s")).unwrap();
            let opts = VerifyOptions {
                anchors: vec![root.clone()],
                at: None,
            };
            let detached_content = detached.then_some(&content[..]);
            let report = cms::verify(&signed, detached_content, &opts).unwrap();
            assert!(report.all_valid(), "{:?}", report.signers);
            assert_eq!(report.content, content);
            // Tampered content or the stranger root: not valid.
            let other = b"Hujjat imzolandi: OpenSSL GOST engine?\n";
            if detached {
                let report = cms::verify(&signed, Some(other), &opts).unwrap();
                assert!(!report.all_valid());
            } else {
                let mut bad = signed.clone();
                let at = bad
                    .windows(content.len())
                    .position(|w| w == content)
                    .unwrap();
                bad[at] ^= 1;
                assert!(!cms::verify(&bad, None, &opts).unwrap().all_valid());
            }
            let strangers = VerifyOptions {
                anchors: vec![stranger.clone()],
                at: None,
            };
            assert!(
                !cms::verify(&signed, detached_content, &strangers)
                    .unwrap()
                    .all_valid()
            );
        }

        // The engine's own key signs through our code; the engine checks the result.
        let signer = SoftwareSigner::new(engine_leaf).unwrap();
        let ours = cms::sign(
            content,
            &signer,
            std::slice::from_ref(&leaf),
            &SignOptions {
                detached: false,
                signing_time: OffsetDateTime::now_utc(),
            },
        )
        .unwrap();
        std::fs::write(d.join("ours.p7s"), &ours).unwrap();
        openssl_ok(
            d,
            &[
                "cms", "-verify", "-engine", "gost", "-inform", "DER", "-in", "ours.p7s",
                "-binary", "-purpose", "any", "-CAfile", "root.pem", "-out", "out.txt",
            ],
        );
        assert_eq!(std::fs::read(d.join("out.txt")).unwrap(), content);
    }
}
