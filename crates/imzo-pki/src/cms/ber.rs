//! BER → DER normalisation for CMS input.
//!
//! Streaming signers (`openssl cms -sign -stream`, S/MIME tools) emit indefinite lengths
//! and constructed OCTET STRINGs, which the DER decoder rejects. This rewrites such input
//! into definite, minimal lengths with every constructed string joined into one primitive
//! string. It does not sort SET OF elements: the decoder does that itself, and signed
//! attributes must be checked exactly as they were signed.

use crate::PkiError;

/// Deeper nesting than any real CMS message; bounds recursion on hostile input.
const MAX_DEPTH: usize = 64;

const WHAT: &str = "BER encoding";

/// Rewrites one BER-encoded element (with nothing after it) as DER lengths and
/// primitive strings. DER input comes back unchanged.
pub fn to_der(input: &[u8]) -> Result<Vec<u8>, PkiError> {
    let mut reader = Reader {
        bytes: input,
        pos: 0,
    };
    let element = reader.element(0)?;
    if reader.pos != input.len() {
        return Err(PkiError::malformed(
            WHAT,
            format!(
                "{} bytes of trailing data after the outer element",
                input.len() - reader.pos
            ),
        ));
    }
    let mut out = Vec::with_capacity(input.len());
    element.write(&mut out);
    Ok(out)
}

/// One element after parsing: raw identifier octets and either primitive bytes or children.
struct Element {
    identifier: Vec<u8>,
    body: Body,
}

enum Body {
    Primitive(Vec<u8>),
    Constructed(Vec<Element>),
}

impl Element {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.identifier);
        match &self.body {
            Body::Primitive(value) => {
                write_length(out, value.len());
                out.extend_from_slice(value);
            }
            Body::Constructed(children) => {
                let mut inner = Vec::new();
                for child in children {
                    child.write(&mut inner);
                }
                write_length(out, inner.len());
                out.extend_from_slice(&inner);
            }
        }
    }
}

fn write_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Universal string types whose constructed form is a sequence of segments to join.
fn is_joinable_string(tag_number: u8) -> bool {
    matches!(tag_number, 3 | 4 | 12 | 18..=22 | 25..=28 | 30)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, PkiError> {
        let b = *self.bytes.get(self.pos).ok_or_else(|| {
            PkiError::malformed(WHAT, format!("input ends early at byte {}", self.pos))
        })?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], PkiError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                PkiError::malformed(
                    WHAT,
                    format!("length {n} at byte {} runs past the end", self.pos),
                )
            })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn at_end_of_contents(&self) -> bool {
        self.bytes.get(self.pos..self.pos + 2) == Some(&[0, 0])
    }

    fn element(&mut self, depth: usize) -> Result<Element, PkiError> {
        if depth > MAX_DEPTH {
            return Err(PkiError::malformed(
                WHAT,
                format!("nesting deeper than {MAX_DEPTH}"),
            ));
        }
        let start = self.pos;
        let first = self.byte()?;
        let mut identifier = vec![first];
        if first & 0x1f == 0x1f {
            // High tag numbers: base-128 digits, the last without the continuation bit.
            loop {
                let b = self.byte()?;
                identifier.push(b);
                if identifier.len() > 6 {
                    return Err(PkiError::malformed(
                        WHAT,
                        format!("tag at byte {start} is too long"),
                    ));
                }
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let constructed = first & 0x20 != 0;
        let length = self.length()?;
        let children = match (constructed, length) {
            (false, None) => {
                return Err(PkiError::malformed(
                    WHAT,
                    format!("primitive element at byte {start} has an indefinite length"),
                ));
            }
            (false, Some(len)) => {
                return Ok(Element {
                    identifier,
                    body: Body::Primitive(self.take(len)?.to_vec()),
                });
            }
            (true, Some(len)) => {
                let contents = self.take(len)?;
                let mut inner = Reader {
                    bytes: contents,
                    pos: 0,
                };
                let mut children = Vec::new();
                while inner.pos < contents.len() {
                    children.push(inner.element(depth + 1)?);
                }
                children
            }
            (true, None) => {
                let mut children = Vec::new();
                loop {
                    if self.pos >= self.bytes.len() {
                        return Err(PkiError::malformed(
                            WHAT,
                            format!(
                                "indefinite-length element at byte {start} has no end-of-contents"
                            ),
                        ));
                    }
                    if self.at_end_of_contents() {
                        self.pos += 2;
                        break;
                    }
                    children.push(self.element(depth + 1)?);
                }
                children
            }
        };
        let universal = first & 0xc0 == 0;
        if universal && is_joinable_string(first & 0x1f) {
            let joined = join_segments(first & 0x1f, children, start)?;
            return Ok(Element {
                identifier: vec![first & !0x20],
                body: Body::Primitive(joined),
            });
        }
        Ok(Element {
            identifier,
            body: Body::Constructed(children),
        })
    }

    /// `None` is the indefinite form.
    fn length(&mut self) -> Result<Option<usize>, PkiError> {
        let at = self.pos;
        let first = self.byte()?;
        match first {
            0x80 => Ok(None),
            b if b < 0x80 => Ok(Some(usize::from(b))),
            b => {
                let count = usize::from(b & 0x7f);
                if count > 4 {
                    return Err(PkiError::malformed(
                        WHAT,
                        format!("length at byte {at} is too large"),
                    ));
                }
                let mut len = 0usize;
                for _ in 0..count {
                    len = (len << 8) | usize::from(self.byte()?);
                }
                Ok(Some(len))
            }
        }
    }
}

/// Joins the segments of a constructed string (X.690 §8.7.3, §8.6.4).
fn join_segments(
    tag_number: u8,
    segments: Vec<Element>,
    start: usize,
) -> Result<Vec<u8>, PkiError> {
    let mut joined = Vec::new();
    let mut unused_bits = 0u8;
    let count = segments.len();
    for (i, segment) in segments.into_iter().enumerate() {
        // Nested constructed segments were already joined into primitives when parsed.
        let same_type = segment.identifier.len() == 1 && segment.identifier[0] == tag_number;
        let Body::Primitive(bytes) = segment.body else {
            return Err(PkiError::malformed(
                WHAT,
                format!("bad segment in constructed string at byte {start}"),
            ));
        };
        if !same_type {
            return Err(PkiError::malformed(
                WHAT,
                format!("segment of another type in constructed string at byte {start}"),
            ));
        }
        if tag_number == 3 {
            let (&bits, rest) = bytes.split_first().ok_or_else(|| {
                PkiError::malformed(WHAT, format!("empty BIT STRING segment at byte {start}"))
            })?;
            if bits > 7 || (bits != 0 && i + 1 != count) {
                return Err(PkiError::malformed(
                    WHAT,
                    format!("bad unused-bits count in BIT STRING at byte {start}"),
                ));
            }
            unused_bits = bits;
            joined.extend_from_slice(rest);
        } else {
            joined.extend_from_slice(&bytes);
        }
    }
    if tag_number == 3 {
        joined.insert(0, unused_bits);
    }
    Ok(joined)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::to_der;

    #[test]
    fn indefinite_sequence_with_constructed_octet_string() {
        // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { "ab", "c" } }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0, 0, 0, 0,
        ];
        assert_eq!(
            to_der(&ber).unwrap(),
            vec![0x30, 0x05, 0x04, 0x03, b'a', b'b', b'c']
        );
    }

    #[test]
    fn non_minimal_length_is_shortened() {
        assert_eq!(
            to_der(&[0x04, 0x81, 0x01, 0x07]).unwrap(),
            vec![0x04, 0x01, 0x07]
        );
    }

    #[test]
    fn bit_string_segments_keep_last_unused_bits() {
        let ber = [
            0x23, 0x80, 0x03, 0x02, 0x00, 0xff, 0x03, 0x02, 0x04, 0xf0, 0, 0,
        ];
        assert_eq!(to_der(&ber).unwrap(), vec![0x03, 0x03, 0x04, 0xff, 0xf0]);
    }

    #[test]
    fn errors_name_the_problem() {
        let err = to_der(&[0x30, 0x80, 0x04, 0x00]).unwrap_err().to_string();
        assert!(err.contains("end-of-contents"), "{err}");
        let err = to_der(&[0x04, 0x80, 0x00, 0x00]).unwrap_err().to_string();
        assert!(err.contains("indefinite"), "{err}");
        assert!(to_der(&[0x04, 0x05, 0x00]).is_err());
        assert!(
            to_der(&[0x04, 0x00, 0x00])
                .unwrap_err()
                .to_string()
                .contains("trailing")
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut ber = Vec::new();
        for _ in 0..200 {
            ber.extend_from_slice(&[0x30, 0x80]);
        }
        for _ in 0..200 {
            ber.extend_from_slice(&[0, 0]);
        }
        assert!(to_der(&ber).unwrap_err().to_string().contains("nesting"));
    }
}
