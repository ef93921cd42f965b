//! The SubjectPublicKeyInfo inside a DER certificate, found with a minimal DER walk: the
//! store records its hash so a key certified once is found again by index, without
//! depending on the PKI crate.

use sha2::{Digest, Sha256};

/// One DER element: its tag, its content and everything after it.
fn element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7F);
        // Certificates never need more than four length octets; zero means indefinite (BER).
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The whole encoding (tag, length, content) of the element at the start of `bytes`.
fn whole(bytes: &[u8]) -> Option<&[u8]> {
    let (_, _, after) = element(bytes)?;
    Some(&bytes[..bytes.len() - after.len()])
}

/// The DER SubjectPublicKeyInfo of a DER X.509 certificate (RFC 5280 §4.1).
pub(crate) fn spki_der(cert_der: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    let (tag, cert, _) = element(cert_der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = element(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rest = tbs;
    // [0] EXPLICIT version, when present.
    if rest.first() == Some(&0xA0) {
        rest = element(rest)?.2;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        rest = element(rest)?.2;
    }
    let spki = whole(rest)?;
    (spki.first() == Some(&SEQUENCE)).then_some(spki)
}

/// SHA-256 of the certificate's SubjectPublicKeyInfo, lower-case hex.
pub(crate) fn spki_sha256_of_cert(cert_der: &[u8]) -> Option<String> {
    spki_der(cert_der).map(|spki| hex::encode(Sha256::digest(spki)))
}

/// SHA-256 of a DER SubjectPublicKeyInfo, lower-case hex (the form the column holds).
pub(crate) fn spki_sha256(spki_der: &[u8]) -> String {
    hex::encode(Sha256::digest(spki_der))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenSSL makes the certificate and says what its key's DER is.
    #[test]
    fn finds_the_key_openssl_put_in_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        for (curve, days) in [("P-256", "1"), ("P-384", "4000")] {
            run(&["req", "-x509", "-newkey", "ec", "-pkeyopt", &format!("ec_paramgen_curve:{curve}"), "-nodes",
                  "-keyout", "k.pem", "-outform", "DER", "-out", "c.der", "-subj", "/CN=Spki Test/O=Imzo", "-days", days]);
            run(&["pkey", "-in", "k.pem", "-pubout", "-outform", "DER", "-out", "pub.der"]);
            let cert = std::fs::read(dir.path().join("c.der")).unwrap();
            let spki = std::fs::read(dir.path().join("pub.der")).unwrap();
            assert_eq!(spki_der(&cert), Some(spki.as_slice()), "{curve}");
            assert_eq!(spki_sha256_of_cert(&cert), Some(spki_sha256(&spki)));
            // Any truncation loses it rather than reading past the end.
            assert_eq!(spki_der(&cert[..cert.len() / 2]), None);
        }
    }

    #[test]
    fn garbage_has_no_key() {
        assert_eq!(spki_der(b""), None);
        assert_eq!(spki_der(&[0x30, 0x03, 0x30, 0x01]), None);
        assert_eq!(spki_der(&[0x30, 0x80, 0x00, 0x00]), None);
    }
}
