//! National-algorithm speed beside OpenSSL's GOST engine on this machine:
//! `cargo bench -p imzo-pki --bench ozdst` (optionally `-- SECONDS`, default 2 per
//! measurement). Our O'z DSt 1092 sign and verify (CryptoPro-A, with the 1106 hash over
//! a 64-byte message) are timed in-process; the engine's EVP_DigestSign /
//! EVP_DigestVerify loop (`gost_engine_bench.c`) is compiled here with gcc against
//! libcrypto and run, when gcc, the OpenSSL headers and the engine are present.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use imzo_pki::ozdst::{OidFamily, ParamSet, SigningKey};
use std::process::Command;
use std::time::{Duration, Instant};

const ENGINE_SOURCE: &str = include_str!("gost_engine_bench.c");

/// Calls `f` repeatedly for `seconds`; returns calls per second.
fn rate(seconds: f64, mut f: impl FnMut()) -> f64 {
    // A short warm-up so first-call costs do not count.
    for _ in 0..50 {
        f();
    }
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        f();
        n += 1;
        if n.is_multiple_of(16) && start.elapsed() >= budget {
            break;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// (sign/s, verify/s) of the engine, or why it could not be measured.
fn engine_rates(seconds: f64) -> Result<(f64, f64), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let src = dir.path().join("gost_engine_bench.c");
    let bin = dir.path().join("gost_engine_bench");
    std::fs::write(&src, ENGINE_SOURCE).map_err(|e| e.to_string())?;
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
        .arg(seconds.to_string())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "the engine benchmark failed (is libengine-gost-openssl installed?): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Result<f64, String> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| format!("no {name} in {text:?}"))
    };
    Ok((field("sign_per_s")?, field("verify_per_s")?))
}

fn main() {
    // `cargo bench` passes `--bench`; a plain number is the seconds per measurement.
    let seconds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<f64>().ok())
        .unwrap_or(2.0);
    let key = SigningKey::generate(ParamSet::CryptoProA, OidFamily::National).unwrap();
    let public = key.public_key().clone();
    let message = [0x5au8; 64];
    let signature = key.sign(&message).unwrap();
    public.verify(&message, &signature).unwrap();

    let our_sign = rate(seconds, || {
        std::hint::black_box(key.sign(std::hint::black_box(&message)).unwrap());
    });
    let our_verify = rate(seconds, || {
        public
            .verify(std::hint::black_box(&message), &signature)
            .unwrap();
    });

    let digest = imzo_pki::ozdst::hash(&message);
    let hash_rate = rate(seconds / 2.0, || {
        std::hint::black_box(imzo_pki::ozdst::hash(std::hint::black_box(&message)));
    });
    let sign_digest = rate(seconds / 2.0, || {
        std::hint::black_box(key.sign_digest(std::hint::black_box(&digest)).unwrap());
    });
    let verify_digest = rate(seconds / 2.0, || {
        public.verify_digest(std::hint::black_box(&digest), &signature).unwrap();
    });

    println!("O'z DSt 1092:2009 / GOST R 34.10-2001, CryptoPro-A, hash over a 64-byte message, one core");
    println!("{:<44} {:>10} {:>10}", "", "sign/s", "verify/s");
    println!(
        "{:<44} {:>10.0} {:>10.0}",
        "imzo-pki (RustCrypto primeorder + gost94)", our_sign, our_verify
    );
    println!(
        "  of which: 1106 hash {hash_rate:.0}/s; sign without hashing {sign_digest:.0}/s, \
         verify without hashing {verify_digest:.0}/s"
    );
    match engine_rates(seconds) {
        Ok((sign, verify)) => {
            println!(
                "{:<44} {:>10.0} {:>10.0}",
                "OpenSSL GOST engine (EVP_DigestSign/Verify)", sign, verify
            );
            println!(
                "{:<44} {:>10.2} {:>10.2}",
                "imzo-pki / engine", our_sign / sign, our_verify / verify
            );
        }
        Err(why) => println!("OpenSSL GOST engine: not measured: {why}"),
    }
}
