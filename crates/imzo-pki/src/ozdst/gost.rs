//! The GOST R 34.10-2001 signature equations (RFC 5832 §6), generic over a curve.
//!
//! Only the equations live here; every field, scalar and point operation is the curve
//! crate machinery's. Scalars enter and leave as big-endian integers.

use crate::PkiError;
use elliptic_curve::bigint::U256;
use elliptic_curve::ff::{Field, PrimeField};
use elliptic_curve::ops::Reduce;
use elliptic_curve::point::AffineCoordinates;
use elliptic_curve::sec1::FromSec1Point;
use elliptic_curve::ops::MulByGeneratorVartime;
use elliptic_curve::{FieldBytes, Group, Scalar};
use primeorder::{AffinePoint, PrimeCurveParams, ProjectivePoint};
use zeroize::Zeroize;

/// A curve usable here: 256-bit fields, scalars read from 32 big-endian bytes.
pub(crate) trait GostCurve:
    PrimeCurveParams<Uint = U256, FieldBytesSize = elliptic_curve::consts::U32>
{
}

impl<C> GostCurve for C where
    C: PrimeCurveParams<Uint = U256, FieldBytesSize = elliptic_curve::consts::U32>
{
}

/// Reads a canonical big-endian scalar (`< q`); `None` when out of range.
pub(crate) fn scalar_from_be<C: GostCurve>(bytes: &[u8; 32]) -> Option<Scalar<C>> {
    let repr = FieldBytes::<C>::from(*bytes);
    Option::from(Scalar::<C>::from_repr(repr))
}

/// The integer e of the standard: the hash read as a little-endian integer, mod q; 0 → 1.
pub(crate) fn e_from_digest<C: GostCurve>(digest: &[u8; 32]) -> Scalar<C> {
    let e = <Scalar<C> as Reduce<U256>>::reduce(&U256::from_le_slice(digest));
    if bool::from(e.is_zero()) {
        Scalar::<C>::ONE
    } else {
        e
    }
}

/// x-coordinate of a point, reduced mod q.
fn x_mod_q<C: GostCurve>(point: &AffinePoint<C>) -> Scalar<C> {
    let x = point.x();
    <Scalar<C> as Reduce<U256>>::reduce(&U256::from_be_slice(&x))
}

/// The public point d·G.
pub(crate) fn public_point<C: GostCurve>(d: &Scalar<C>) -> AffinePoint<C> {
    ProjectivePoint::<C>::mul_by_generator(d).to_affine()
}

/// One signing attempt with a given k: `Some((r, s))`, or `None` when r or s came out 0
/// (the caller then draws another k).
pub(crate) fn sign_with_k<C: GostCurve>(
    d: &Scalar<C>,
    e: &Scalar<C>,
    k: &Scalar<C>,
) -> Option<(Scalar<C>, Scalar<C>)> {
    // Constant-time fixed-base multiplication from the precomputed generator table
    // (primeorder's `BasepointTable::mul`), k secret.
    let c = ProjectivePoint::<C>::mul_by_generator(k).to_affine();
    let r = x_mod_q::<C>(&c);
    if bool::from(r.is_zero()) {
        return None;
    }
    let s = r * d + *k * e;
    if bool::from(s.is_zero()) {
        return None;
    }
    Some((r, s))
}

/// A fresh uniformly random non-zero scalar from the operating system's generator.
pub(crate) fn random_scalar<C: GostCurve>() -> Result<Scalar<C>, PkiError> {
    let mut buf = [0u8; 32];
    // Rejection sampling keeps k uniform; for the smallest order here about 6 draws in
    // 10 are accepted.
    for _ in 0..256 {
        getrandom::fill(&mut buf).map_err(|e| PkiError::Signer(format!("random source: {e}")))?;
        let candidate = scalar_from_be::<C>(&buf);
        buf.zeroize();
        if let Some(k) = candidate
            && !bool::from(k.is_zero())
        {
            return Ok(k);
        }
    }
    Err(PkiError::Signer(
        "random source gave no usable scalar in 256 draws".into(),
    ))
}

/// Signs the digest with `d` and a fresh random k; returns (r, s).
pub(crate) fn sign<C: GostCurve>(
    d: &Scalar<C>,
    digest: &[u8; 32],
) -> Result<(Scalar<C>, Scalar<C>), PkiError> {
    let e = e_from_digest::<C>(digest);
    for _ in 0..64 {
        let mut k = random_scalar::<C>()?;
        let out = sign_with_k::<C>(d, &e, &k);
        k.zeroize();
        if let Some(rs) = out {
            return Ok(rs);
        }
    }
    Err(PkiError::Signer("no valid signature in 64 attempts".into()))
}

/// Checks (r, s) over the digest under the public point `q_point` (RFC 5832 §6.2).
pub(crate) fn verify<C: GostCurve>(
    q_point: &AffinePoint<C>,
    digest: &[u8; 32],
    r: &[u8; 32],
    s: &[u8; 32],
) -> bool {
    let (Some(r), Some(s)) = (scalar_from_be::<C>(r), scalar_from_be::<C>(s)) else {
        return false;
    };
    if bool::from(r.is_zero()) || bool::from(s.is_zero()) {
        return false;
    }
    verify_e::<C>(q_point, &e_from_digest::<C>(digest), &r, &s)
}

/// The verification equation with e already computed.
pub(crate) fn verify_e<C: GostCurve>(
    q_point: &AffinePoint<C>,
    e: &Scalar<C>,
    r: &Scalar<C>,
    s: &Scalar<C>,
) -> bool {
    let Some(v) = Option::<Scalar<C>>::from(e.invert()) else {
        return false;
    };
    let z1 = *s * v;
    let z2 = -(*r * v);
    // Everything here is public: a variable-time z1·G + z2·Q (Straus) is safe.
    let c = ProjectivePoint::<C>::mul_by_generator_and_mul_add_vartime(
        &z1,
        &z2,
        &ProjectivePoint::<C>::from(*q_point),
    );
    if bool::from(c.is_identity()) {
        return false;
    }
    x_mod_q::<C>(&c.to_affine()) == *r
}

/// Decodes a point from big-endian X and Y, checking that it lies on the curve and is
/// not the identity.
pub(crate) fn point_from_be<C: GostCurve>(x: &[u8; 32], y: &[u8; 32]) -> Option<AffinePoint<C>> {
    let mut sec1 = [0u8; 65];
    sec1[0] = 4;
    sec1[1..33].copy_from_slice(x);
    sec1[33..].copy_from_slice(y);
    let point = AffinePoint::<C>::from_sec1_bytes(&sec1).ok()?;
    if bool::from(point.is_identity()) {
        return None;
    }
    Some(point)
}

/// Big-endian X and Y of a point.
pub(crate) fn point_to_be<C: GostCurve>(point: &AffinePoint<C>) -> ([u8; 32], [u8; 32]) {
    use elliptic_curve::sec1::ToSec1Point;
    let encoded = point.to_sec1_point(false);
    let mut x = [0u8; 32];
    let mut y = [0u8; 32];
    if let (Some(ex), Some(ey)) = (encoded.x(), encoded.y()) {
        x.copy_from_slice(ex);
        y.copy_from_slice(ey);
    }
    (x, y)
}

/// Big-endian bytes of a scalar.
pub(crate) fn scalar_to_be<C: GostCurve>(s: &Scalar<C>) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&s.to_repr());
    out
}
