//! National-algorithm key pairs: signing and verifying.

use super::curves::{CryptoProA, CryptoProC};
use super::gost::{self, GostCurve};
use super::{OidFamily, ParamSet};
use crate::PkiError;
use zeroize::{Zeroize, Zeroizing};

/// A public key: curve, OID family and the point as it travels (X‖Y, each little-endian).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    param_set: ParamSet,
    family: OidFamily,
    xy_le: [u8; 64],
}

fn split_le(xy_le: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    let mut x = [0u8; 32];
    let mut y = [0u8; 32];
    x.copy_from_slice(&xy_le[..32]);
    y.copy_from_slice(&xy_le[32..]);
    x.reverse();
    y.reverse();
    (x, y)
}

fn on_curve<C: GostCurve>(xy_le: &[u8; 64]) -> bool {
    let (x, y) = split_le(xy_le);
    gost::point_from_be::<C>(&x, &y).is_some()
}

fn verify_with<C: GostCurve>(xy_le: &[u8; 64], digest: &[u8; 32], sig: &[u8; 64]) -> bool {
    let (x, y) = split_le(xy_le);
    let Some(point) = gost::point_from_be::<C>(&x, &y) else {
        return false;
    };
    let mut s = [0u8; 32];
    let mut r = [0u8; 32];
    s.copy_from_slice(&sig[..32]);
    r.copy_from_slice(&sig[32..]);
    gost::verify::<C>(&point, digest, &r, &s)
}

impl PublicKey {
    /// A public key from X‖Y (64 bytes, each half little-endian); the point must lie on
    /// the curve.
    pub fn from_le_bytes(
        param_set: ParamSet,
        family: OidFamily,
        xy_le: &[u8],
    ) -> Result<Self, PkiError> {
        let xy_le: [u8; 64] = xy_le.try_into().map_err(|_| {
            PkiError::malformed(
                "GOST public key",
                format!("{} bytes where X‖Y takes 64", xy_le.len()),
            )
        })?;
        let ok = match param_set {
            ParamSet::CryptoProA => on_curve::<CryptoProA>(&xy_le),
            ParamSet::CryptoProC => on_curve::<CryptoProC>(&xy_le),
        };
        if !ok {
            return Err(PkiError::malformed(
                "GOST public key",
                format!("the point is not on the curve {param_set:?}"),
            ));
        }
        Ok(PublicKey {
            param_set,
            family,
            xy_le,
        })
    }

    /// The curve.
    pub fn param_set(&self) -> ParamSet {
        self.param_set
    }

    /// The OID family the key was labelled with.
    pub fn family(&self) -> OidFamily {
        self.family
    }

    /// X‖Y, each 32 bytes little-endian.
    pub fn to_le_bytes(&self) -> [u8; 64] {
        self.xy_le
    }

    /// Checks a hash already computed with [`super::hash`] against `s‖r` (64 bytes).
    pub fn verify_digest(&self, digest: &[u8; 32], signature: &[u8]) -> Result<(), PkiError> {
        let sig: &[u8; 64] = signature.try_into().map_err(|_| {
            PkiError::BadSignature(format!(
                "GOST signature of {} bytes (s‖r takes 64)",
                signature.len()
            ))
        })?;
        let ok = match self.param_set {
            ParamSet::CryptoProA => verify_with::<CryptoProA>(&self.xy_le, digest, sig),
            ParamSet::CryptoProC => verify_with::<CryptoProC>(&self.xy_le, digest, sig),
        };
        if ok {
            Ok(())
        } else {
            Err(PkiError::BadSignature(
                "O'z DSt 1092 / GOST R 34.10-2001 signature does not match".into(),
            ))
        }
    }

    /// Hashes `message` with the 1106 hash and checks `s‖r` over it.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), PkiError> {
        self.verify_digest(&super::hash(message), signature)
    }
}

/// A private key d (kept big-endian, zeroised on drop) with its public key.
pub struct SigningKey {
    d_be: Zeroizing<[u8; 32]>,
    public: PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

fn public_of<C: GostCurve>(d_be: &[u8; 32]) -> Result<[u8; 64], PkiError> {
    let mut d = gost::scalar_from_be::<C>(d_be)
        .ok_or_else(|| PkiError::malformed("GOST private key", "d is not below the group order"))?;
    if bool::from(elliptic_curve::ff::Field::is_zero(&d)) {
        return Err(PkiError::malformed("GOST private key", "d is zero"));
    }
    let point = gost::public_point::<C>(&d);
    d.zeroize();
    let (mut x, mut y) = gost::point_to_be::<C>(&point);
    x.reverse();
    y.reverse();
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&x);
    out[32..].copy_from_slice(&y);
    Ok(out)
}

fn sign_with<C: GostCurve>(d_be: &[u8; 32], digest: &[u8; 32]) -> Result<[u8; 64], PkiError> {
    let mut d = gost::scalar_from_be::<C>(d_be)
        .ok_or_else(|| PkiError::Signer("private key out of range".into()))?;
    let result = gost::sign::<C>(&d, digest);
    d.zeroize();
    let (r, s) = result?;
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&gost::scalar_to_be::<C>(&s));
    out[32..].copy_from_slice(&gost::scalar_to_be::<C>(&r));
    Ok(out)
}

fn random_d<C: GostCurve>() -> Result<Zeroizing<[u8; 32]>, PkiError> {
    let mut d = gost::random_scalar::<C>()?;
    let out = Zeroizing::new(gost::scalar_to_be::<C>(&d));
    d.zeroize();
    Ok(out)
}

impl SigningKey {
    /// A new key from the operating system's random generator.
    pub fn generate(param_set: ParamSet, family: OidFamily) -> Result<Self, PkiError> {
        let d = match param_set {
            ParamSet::CryptoProA => random_d::<CryptoProA>()?,
            ParamSet::CryptoProC => random_d::<CryptoProC>()?,
        };
        Self::from_be_bytes(param_set, family, d.as_slice())
    }

    /// A key from d as 32 big-endian bytes (`0 < d < q`).
    pub fn from_be_bytes(
        param_set: ParamSet,
        family: OidFamily,
        d_be: &[u8],
    ) -> Result<Self, PkiError> {
        let d: Zeroizing<[u8; 32]> = Zeroizing::new(d_be.try_into().map_err(|_| {
            PkiError::malformed(
                "GOST private key",
                format!("{} bytes where d takes 32", d_be.len()),
            )
        })?);
        let xy_le = match param_set {
            ParamSet::CryptoProA => public_of::<CryptoProA>(&d)?,
            ParamSet::CryptoProC => public_of::<CryptoProC>(&d)?,
        };
        Ok(SigningKey {
            d_be: d,
            public: PublicKey {
                param_set,
                family,
                xy_le,
            },
        })
    }

    /// d as 32 big-endian bytes.
    pub fn to_be_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.d_be.clone()
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs a hash computed with [`super::hash`]; returns `s‖r` (64 bytes, each
    /// big-endian), with a fresh random k.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<[u8; 64], PkiError> {
        match self.public.param_set {
            ParamSet::CryptoProA => sign_with::<CryptoProA>(&self.d_be, digest),
            ParamSet::CryptoProC => sign_with::<CryptoProC>(&self.d_be, digest),
        }
    }

    /// Hashes `message` with the 1106 hash and signs it; returns `s‖r`.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], PkiError> {
        self.sign_digest(&super::hash(message))
    }
}
