//! Reading certificates from PEM or DER, as users hand them to us.

use crate::PkiError;
use base64::Engine;
use der::Decode;
use x509_cert::Certificate;

/// One PEM block: its label and decoded contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PemBlock {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

/// True when `bytes` look like PEM text (a `-----BEGIN ` line, possibly after other text).
pub(crate) fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Splits PEM text into its blocks. Tolerant of CRLF, any line width, RFC 1421 header
/// lines (`Name: value`) and text between blocks (as `openssl x509 -text` leaves).
pub(crate) fn parse_blocks(bytes: &[u8]) -> Result<Vec<PemBlock>, PkiError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| PkiError::malformed("PEM", "not UTF-8 text"))?;
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            let label = rest
                .strip_suffix("-----")
                .ok_or_else(|| PkiError::malformed("PEM", format!("bad BEGIN line {line:?}")))?;
            if current.is_some() {
                return Err(PkiError::malformed("PEM", "BEGIN inside a block"));
            }
            current = Some((label.to_owned(), String::new()));
        } else if let Some(rest) = line.strip_prefix("-----END ") {
            let label = rest
                .strip_suffix("-----")
                .ok_or_else(|| PkiError::malformed("PEM", format!("bad END line {line:?}")))?;
            let (begin, body) = current
                .take()
                .ok_or_else(|| PkiError::malformed("PEM", "END without BEGIN"))?;
            if begin != label {
                return Err(PkiError::malformed(
                    "PEM",
                    format!("BEGIN {begin} closed by END {label}"),
                ));
            }
            let der = base64::engine::general_purpose::STANDARD
                .decode(body.as_bytes())
                .map_err(|e| PkiError::malformed("PEM", format!("{label}: {e}")))?;
            blocks.push(PemBlock { label: begin, der });
        } else if let Some((_, body)) = current.as_mut() {
            if line.contains(':') {
                continue; // RFC 1421 encapsulated header, e.g. Proc-Type
            }
            body.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
    }
    if current.is_some() {
        return Err(PkiError::malformed("PEM", "block without END line"));
    }
    Ok(blocks)
}

/// Reads one or more certificates from PEM (any number of CERTIFICATE blocks) or from a
/// single DER certificate.
///
/// PEM blocks of other kinds (keys, CRLs) are skipped; PEM without any certificate is an
/// error. Input that is neither PEM nor DER but bare base64 of a DER certificate (as web
/// pages send `cert_64`) is accepted too.
pub fn read_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, PkiError> {
    if is_pem(bytes) {
        let certs = parse_blocks(bytes)?
            .into_iter()
            .filter(|b| b.label == "CERTIFICATE" || b.label == "X509 CERTIFICATE")
            .map(|b| {
                Certificate::from_der(&b.der).map_err(|e| PkiError::malformed("certificate", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err(PkiError::malformed(
                "certificate",
                "no CERTIFICATE block in PEM",
            ));
        }
        return Ok(certs);
    }
    if bytes.first() == Some(&0x30) {
        return Ok(vec![
            Certificate::from_der(bytes).map_err(|e| PkiError::malformed("certificate", e))?,
        ]);
    }
    let compact: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&compact)
        && der.first() == Some(&0x30)
    {
        return Ok(vec![
            Certificate::from_der(&der).map_err(|e| PkiError::malformed("certificate", e))?,
        ]);
    }
    Err(PkiError::malformed("certificate", "neither PEM nor DER"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_tolerate_crlf_headers_and_text() {
        let pem = "junk before\r\n-----BEGIN FOO-----\r\nProc-Type: 4,ENCRYPTED\r\n\r\nAAEC\r\nAw==\r\n-----END FOO-----\r\ntrailing\n-----BEGIN BAR-----\nBA==\n-----END BAR-----\n";
        let blocks = parse_blocks(pem.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            blocks[0],
            PemBlock {
                label: "FOO".into(),
                der: vec![0, 1, 2, 3]
            }
        );
        assert_eq!(blocks[1].label, "BAR");
    }

    #[test]
    fn mismatched_and_unterminated_blocks_fail() {
        assert!(parse_blocks(b"-----BEGIN A-----\nAA==\n-----END B-----\n").is_err());
        assert!(parse_blocks(b"-----BEGIN A-----\nAA==\n").is_err());
        assert!(
            read_certificates(b"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
        assert!(read_certificates(b"\x30\x03\x02\x01\x00").is_err());
        assert!(read_certificates(b"hello").is_err());
    }

    #[test]
    fn reads_the_test_root_in_every_form() {
        // shared/ lies beside the work tree (and beside CI's clone).
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/ozdst/authorised-body-root-2016.pem"
        );
        let Ok(pem) = std::fs::read(path) else {
            eprintln!("skipped: {path} not found");
            return;
        };
        let pem = pem.as_slice();
        let certs = read_certificates(pem).unwrap();
        assert_eq!(certs.len(), 1);
        let der = crate::cert::to_der(&certs[0]).unwrap();
        // The re-encoding is byte-exact.
        let blocks = parse_blocks(pem).unwrap();
        assert_eq!(der, blocks[0].der);
        assert_eq!(read_certificates(&der).unwrap(), certs);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        assert_eq!(read_certificates(b64.as_bytes()).unwrap(), certs);
        let two = format!(
            "{}\n{}",
            String::from_utf8_lossy(pem),
            String::from_utf8_lossy(pem)
        );
        assert_eq!(read_certificates(two.as_bytes()).unwrap().len(), 2);
    }
}
