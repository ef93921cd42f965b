//! The fuzz targets' bodies on stable Rust, as CI runs them: every seed under
//! `fuzz/corpus/<target>/` (and whatever a fuzzing run left beside them), then mutated
//! seeds (bit flips, byte changes, cuts, insertions, splices between seeds, length-byte
//! edits) and random bytes from proptest. A panic or a failed assertion in a body is a
//! finding; proptest shrinks it to a small mutation of a seed.
//!
//! `IMZO_FUZZ_CASES` sets the mutated cases per target (default 2000 per target, plus a quarter as many random inputs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(unreachable_pub, dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod bodies;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::{Path, PathBuf};

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir(target))
        .unwrap_or_else(|e| panic!("corpus of {target}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

fn body(target: &str) -> fn(&[u8]) {
    bodies::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap()
}

/// One edit of an input; positions are taken modulo the current length.
#[derive(Debug, Clone)]
enum Edit {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    /// A DER length or tag byte is likeliest to matter: set it to an edge value.
    Edge(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    /// Copy a piece of another seed over this position.
    Splice(usize, usize, usize, usize),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let pos = any::<usize>();
    prop_oneof![
        3 => (pos, 0u8..8).prop_map(|(p, b)| Edit::FlipBit(p, b)),
        2 => (pos, any::<u8>()).prop_map(|(p, v)| Edit::SetByte(p, v)),
        2 => (pos, prop::sample::select(vec![0x00u8, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x84, 0x88, 0xff]))
            .prop_map(|(p, v)| Edit::Edge(p, v)),
        1 => pos.prop_map(Edit::Truncate),
        1 => (pos, prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(p, v)| Edit::Insert(p, v)),
        1 => (pos, 1usize..16).prop_map(|(p, n)| Edit::Remove(p, n)),
        1 => (any::<usize>(), pos, pos, 1usize..64)
            .prop_map(|(s, from, to, n)| Edit::Splice(s, from, to, n)),
        1 => (pos, 1usize..32).prop_map(|(p, n)| Edit::Duplicate(p, n)),
    ]
}

fn apply(data: &mut Vec<u8>, edit: &Edit, all: &[(String, Vec<u8>)]) {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % len };
    let len = data.len();
    match edit {
        Edit::FlipBit(p, b) if len > 0 => data[at(*p, len)] ^= 1 << b,
        Edit::SetByte(p, v) | Edit::Edge(p, v) if len > 0 => data[at(*p, len)] = *v,
        Edit::Truncate(p) => data.truncate(at(*p, len + 1)),
        Edit::Insert(p, bytes) => {
            let i = at(*p, len + 1);
            data.splice(i..i, bytes.iter().copied());
        }
        Edit::Remove(p, n) if len > 0 => {
            let i = at(*p, len);
            data.drain(i..(i + n).min(len));
        }
        Edit::Splice(s, from, to, n) if !all.is_empty() && len > 0 => {
            let other = &all[s % all.len()].1;
            if !other.is_empty() {
                let from = from % other.len();
                let piece = &other[from..(from + n).min(other.len())];
                let to = at(*to, len);
                let end = (to + piece.len()).min(len);
                data.splice(to..end, piece.iter().copied());
            }
        }
        Edit::Duplicate(p, n) if len > 0 => {
            let i = at(*p, len);
            let piece = data[i..(i + n).min(len)].to_vec();
            data.splice(i..i, piece);
        }
        _ => {}
    }
}

fn cases() -> u32 {
    std::env::var("IMZO_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn smoke(target: &str) {
    let run = body(target);
    let all = seeds(target);
    assert!(
        all.iter().filter(|(n, _)| n.starts_with("seed-")).count() >= 3,
        "{target}: fewer than three seeds"
    );
    for (name, data) in &all {
        assert!(
            data.len() < 4096 || !name.starts_with("seed-"),
            "{name} is too large"
        );
        run(data);
        // Every prefix of a seed is a cheap, classic crash source (lengths past the end).
        for cut in (0..data.len()).step_by(data.len() / 24 + 1) {
            run(&data[..cut]);
        }
    }

    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let n = all.len();
    let mutated = (0..n, prop::collection::vec(edit(), 1..6));
    runner
        .run(&mutated, |(seed, edits)| {
            let mut data = all[seed].1.clone();
            for e in &edits {
                apply(&mut data, e, &all);
            }
            run(&data);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{target}: {e}"));

    // Bytes from nothing, some of them shaped like DER (a SEQUENCE header first).
    let mut runner = TestRunner::new(Config {
        cases: cases() / 4,
        failure_persistence: None,
        ..Config::default()
    });
    let random = (any::<bool>(), prop::collection::vec(any::<u8>(), 0..512));
    runner
        .run(&random, |(sequence, mut data)| {
            if sequence {
                let len = data.len().min(127) as u8;
                data.splice(0..0, [0x30, len]);
            }
            run(&data);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{target}: {e}"));
}

#[test]
fn every_target_has_a_smoke_test() {
    let tested = [
        "ber_to_der",
        "certificate",
        "cms_verify",
        "crl",
        "csr",
        "ocsp_request",
        "pfx",
        "tsa_request",
    ];
    let mut names: Vec<&str> = bodies::TARGETS.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    assert_eq!(names, tested);
    // And each has its libFuzzer binary.
    for name in tested {
        let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/fuzz_targets")
            .join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&bin).unwrap();
        assert!(text.contains(&format!("imzo_pki_fuzz::{name}(")), "{bin:?}");
    }
}

#[test]
fn seeds_are_valid_inputs() {
    use imzo_pki::{crl, csr, ocsp, pem, pfx, tsp};
    let each = |target: &str, ok: &dyn Fn(&[u8]) -> bool| {
        for (name, data) in seeds(target) {
            if name.starts_with("seed-") {
                assert!(ok(&data), "{target}/{name} is not accepted");
            }
        }
    };
    each("certificate", &|d| pem::read_certificates(d).is_ok());
    each("crl", &|d| crl::parse(d).is_ok());
    each("ocsp_request", &|d| ocsp::parse_request(d).is_ok());
    each("tsa_request", &|d| {
        tsp::parse_request(d, bodies::TSA_POLICIES).is_ok()
    });
    each("pfx", &|d| pfx::read(d, bodies::PFX_PASSWORD).is_ok());
    // RSA and Ed25519 requests are well-formed but refused as unsupported keys.
    each("csr", &|d| match csr::parse_and_verify(d) {
        Ok(_) => true,
        Err(e) => matches!(e, imzo_pki::PkiError::Unsupported(_)),
    });
    each("cms_verify", &|d| {
        imzo_pki::cms_tools::certificates(d).is_ok()
    });
    each("ber_to_der", &|d| imzo_pki::cms::ber::to_der(d).is_ok());
}

#[test]
fn smoke_ber_to_der() {
    smoke("ber_to_der");
}

#[test]
fn smoke_certificate() {
    smoke("certificate");
}

#[test]
fn smoke_cms_verify() {
    smoke("cms_verify");
}

#[test]
fn smoke_crl() {
    smoke("crl");
}

#[test]
fn smoke_csr() {
    smoke("csr");
}

#[test]
fn smoke_ocsp_request() {
    smoke("ocsp_request");
}

#[test]
fn smoke_pfx() {
    smoke("pfx");
}

#[test]
fn smoke_tsa_request() {
    smoke("tsa_request");
}
