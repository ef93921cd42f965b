//! The BER → DER normaliser: any BER spelling of a tree (indefinite lengths, long-form
//! lengths, OCTET STRINGs cut into constructed segments) comes back as its one DER form.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use imzo_pki::cms::ber::to_der;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Node {
    Primitive(u8, Vec<u8>),
    Octets(Vec<u8>),
    Constructed(u8, Vec<Node>),
}

fn der_length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let mut out = vec![0x80 | (bytes.len() - skip) as u8];
    out.extend_from_slice(&bytes[skip..]);
    out
}

fn der(node: &Node) -> Vec<u8> {
    let (tag, body) = match node {
        Node::Primitive(tag, value) => (*tag, value.clone()),
        Node::Octets(value) => (0x04, value.clone()),
        Node::Constructed(tag, children) => (*tag, children.iter().flat_map(der).collect()),
    };
    let mut out = vec![tag];
    out.extend(der_length(body.len()));
    out.extend(body);
    out
}

/// A tiny deterministic choice source so one seed spells one BER variant.
struct Choices(u64);

impl Choices {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn ber_definite(tag: u8, body: Vec<u8>, c: &mut Choices) -> Vec<u8> {
    let mut out = vec![tag];
    if c.next(3) == 0 {
        // Long form even where the short one would do.
        out.push(0x82);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    } else {
        out.extend(der_length(body.len()));
    }
    out.extend(body);
    out
}

fn ber_constructed(tag: u8, parts: Vec<Vec<u8>>, c: &mut Choices) -> Vec<u8> {
    if c.next(2) == 0 {
        let mut out = vec![tag, 0x80];
        out.extend(parts.concat());
        out.extend([0, 0]);
        out
    } else {
        ber_definite(tag, parts.concat(), c)
    }
}

fn ber_octets(value: &[u8], c: &mut Choices, depth: u8) -> Vec<u8> {
    if depth > 2 || c.next(3) != 0 {
        return ber_definite(0x04, value.to_vec(), c);
    }
    let mut parts = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let take = 1 + c.next(rest.len() as u64) as usize;
        parts.push(ber_octets(&rest[..take], c, depth + 1));
        rest = &rest[take..];
    }
    ber_constructed(0x24, parts, c)
}

fn ber(node: &Node, c: &mut Choices) -> Vec<u8> {
    match node {
        Node::Primitive(tag, value) => ber_definite(*tag, value.clone(), c),
        Node::Octets(value) => ber_octets(value, c, 0),
        Node::Constructed(tag, children) => {
            let parts = children.iter().map(|child| ber(child, c)).collect();
            ber_constructed(*tag, parts, c)
        }
    }
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        (
            prop::sample::select(vec![0x02u8, 0x05, 0x06, 0x0c, 0x80, 0x81]),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(tag, value)| Node::Primitive(tag, value)),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Node::Octets),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        (
            prop::sample::select(vec![0x30u8, 0x31, 0xa0, 0xa1, 0xa3]),
            prop::collection::vec(inner, 0..6),
        )
            .prop_map(|(tag, children)| Node::Constructed(tag, children))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_ber_spelling_normalises_to_der(tree in node(), seed in any::<u64>()) {
        let expected = der(&tree);
        prop_assert_eq!(to_der(&expected).unwrap(), expected.clone());
        let spelled = ber(&tree, &mut Choices(seed));
        prop_assert_eq!(to_der(&spelled).unwrap(), expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(out) = to_der(&bytes) {
            // What comes out is DER and stays put.
            prop_assert_eq!(to_der(&out).unwrap(), out);
        }
    }

    #[test]
    fn truncated_ber_is_an_error(tree in node(), seed in any::<u64>(), cut in any::<prop::sample::Index>()) {
        let spelled = ber(&tree, &mut Choices(seed));
        let cut = cut.index(spelled.len());
        prop_assert!(to_der(&spelled[..cut]).is_err());
    }
}
