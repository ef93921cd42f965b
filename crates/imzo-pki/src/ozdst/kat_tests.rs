//! Known-answer and arithmetic tests of the curve definitions and signature equations.

use super::curves::{CryptoProA, CryptoProC, Rfc5832Test};
use super::gost::{self, GostCurve};
use elliptic_curve::ff::PrimeField;
use elliptic_curve::{Curve, Group, Scalar};
use primeorder::ProjectivePoint;

fn be(hex_str: &str) -> [u8; 32] {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

fn scalar<C: GostCurve>(hex_str: &str) -> Scalar<C> {
    gost::scalar_from_be::<C>(&be(hex_str)).unwrap()
}

/// RFC 5832 §7.1: key, e, k, r, s and the public key of the example.
#[test]
fn rfc5832_example() {
    type C = Rfc5832Test;
    let d = scalar::<C>("7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28");
    let e = scalar::<C>("2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5");
    let k = scalar::<C>("77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3");
    let (r, s) = gost::sign_with_k::<C>(&d, &e, &k).unwrap();
    assert_eq!(
        hex::encode_upper(gost::scalar_to_be::<C>(&r)),
        "41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493"
    );
    assert_eq!(
        hex::encode_upper(gost::scalar_to_be::<C>(&s)),
        "01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40"
    );
    let q = gost::public_point::<C>(&d);
    let (x, y) = gost::point_to_be::<C>(&q);
    assert_eq!(
        hex::encode_upper(x),
        "7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B"
    );
    assert_eq!(
        hex::encode_upper(y),
        "26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA"
    );
    assert!(gost::verify_e::<C>(&q, &e, &r, &s));
    // Any other e, r or s fails.
    let one = Scalar::<C>::from(1u64);
    assert!(!gost::verify_e::<C>(&q, &(e + one), &r, &s));
    assert!(!gost::verify_e::<C>(&q, &e, &(r + one), &s));
    assert!(!gost::verify_e::<C>(&q, &e, &r, &(s + one)));
}

fn generator_has_order_q<C: GostCurve>() {
    let g = ProjectivePoint::<C>::generator();
    assert!(!bool::from(g.is_identity()));
    // q·G = O, computed as (q-1)·G + G so that the scalar stays in range.
    let q_minus_1 = -Scalar::<C>::from(1u64);
    assert!(bool::from((g * q_minus_1 + g).is_identity()));
    let order_bytes = C::ORDER.as_ref().to_be_bytes();
    assert_eq!(order_bytes.len(), 32);
}

#[test]
fn cryptopro_curves_are_well_formed() {
    generator_has_order_q::<CryptoProA>();
    generator_has_order_q::<CryptoProC>();
    generator_has_order_q::<Rfc5832Test>();
}

fn round_trip<C: GostCurve>() {
    let d = gost::random_scalar::<C>().unwrap();
    let q = gost::public_point::<C>(&d);
    let digest = [0x5a; 32];
    let (r, s) = gost::sign::<C>(&d, &digest).unwrap();
    let (r, s) = (gost::scalar_to_be::<C>(&r), gost::scalar_to_be::<C>(&s));
    assert!(gost::verify::<C>(&q, &digest, &r, &s));
    let mut other = digest;
    other[31] ^= 1;
    assert!(!gost::verify::<C>(&q, &other, &r, &s));
    assert!(!gost::verify::<C>(&q, &digest, &[0; 32], &s));
    assert!(!gost::verify::<C>(&q, &digest, &r, &[0xff; 32]));
}

#[test]
fn sign_verify_round_trip() {
    round_trip::<CryptoProA>();
    round_trip::<CryptoProC>();
}

#[test]
fn zero_digest_signs_with_e_one() {
    type C = CryptoProA;
    assert_eq!(gost::e_from_digest::<C>(&[0; 32]), Scalar::<C>::from(1u64));
    // Little-endian: the first byte is the least significant.
    let mut digest = [0u8; 32];
    digest[0] = 2;
    assert_eq!(gost::e_from_digest::<C>(&digest), Scalar::<C>::from(2u64));
    let q_le: Vec<u8> = C::ORDER
        .as_ref()
        .to_be_bytes()
        .iter()
        .rev()
        .copied()
        .collect();
    let q_le: [u8; 32] = q_le.try_into().unwrap();
    assert_eq!(gost::e_from_digest::<C>(&q_le), Scalar::<C>::from(1u64));
    let _ = <Scalar<C> as PrimeField>::NUM_BITS;
}
