//! One macro that turns a curve's published constants into a RustCrypto curve type.
//!
//! Field and scalar arithmetic come from `primefield` (Montgomery form over
//! `crypto-bigint`), point arithmetic and constant-time scalar multiplication from
//! `primeorder` — the same building blocks `p256`, `sm2` and `bign256` are made of. Only
//! constants are written here, never arithmetic.

/// Defines, inside a new module, the base field, the scalar field and a curve type
/// implementing `primeorder::PrimeCurveParams` for a 256-bit short-Weierstrass curve of
/// prime order. Field elements are big-endian internally (the GOST little-endian wire
/// forms are converted at the edges, in `encoding`).
macro_rules! gost_curve {
    (
        module: $module:ident,
        curve: $curve:ident,
        doc: $doc:expr,
        p: $p:expr,
        p_non_residue: $p_gen:expr,
        q: $q:expr,
        q_non_residue: $q_gen:expr,
        point_arithmetic: $arith:ident,
        a: $a:expr,
        b: $b:expr,
        gx: $gx:expr,
        gy: $gy:expr $(,)?
    ) => {
        #[doc = $doc]
        pub(crate) mod $module {
            #![allow(unreachable_pub, missing_docs, deprecated, clippy::all)]
            use elliptic_curve::bigint::{U256, Odd};
            use elliptic_curve::subtle::{Choice, ConstantTimeEq, ConstantTimeGreater, CtOption};
            use elliptic_curve::ff::PrimeField;
            use elliptic_curve::ops::BatchInvert;
            use elliptic_curve::scalar::{FromUintUnchecked, IsHigh};
            use primefield::ByteOrder;

            primefield::monty_field_params!(
                name: FieldParams,
                modulus: $p,
                uint: U256,
                byte_order: ByteOrder::BigEndian,
                multiplicative_generator: $p_gen,
                doc: "Base field modulus p."
            );
            primefield::monty_field_element!(
                name: FieldElement,
                params: FieldParams,
                uint: U256,
                doc: "Element of the base field."
            );
            primefield::monty_field_arithmetic!(
                name: FieldElement,
                params: FieldParams,
                uint: U256
            );

            mod scalar_params {
                #![allow(deprecated)]
                use super::*;
                primefield::monty_field_params!(
                    name: ScalarParams,
                    modulus: $q,
                    uint: U256,
                    byte_order: ByteOrder::BigEndian,
                    multiplicative_generator: $q_gen,
                    doc: "Group order q."
                );
            }
            pub use scalar_params::ScalarParams;

            primefield::monty_field_element!(
                name: Scalar,
                params: ScalarParams,
                uint: U256,
                doc: "Integer modulo the group order q."
            );
            primefield::monty_field_arithmetic!(
                name: Scalar,
                params: ScalarParams,
                uint: U256
            );
            primefield::monty_field_reduce!(
                name: Scalar,
                params: ScalarParams,
                uint: U256,
            );

            impl BatchInvert for FieldElement {}

            impl AsRef<Scalar> for Scalar {
                fn as_ref(&self) -> &Scalar {
                    self
                }
            }

            impl FromUintUnchecked for Scalar {
                type Uint = U256;
                fn from_uint_unchecked(uint: U256) -> Self {
                    Scalar::from_uint_unchecked(uint)
                }
            }

            impl IsHigh for Scalar {
                fn is_high(&self) -> Choice {
                    let half = <$curve as elliptic_curve::Curve>::ORDER
                        .as_ref()
                        .shr_vartime(1);
                    self.to_canonical().ct_gt(&half)
                }
            }

            elliptic_curve::scalar_impls!($curve, Scalar);
            primeorder::wnaf::impl_wnaf_size_for_scalar!(Scalar);

            #[doc = $doc]
            #[derive(Copy, Clone, Debug, Default, Eq, PartialEq, PartialOrd, Ord)]
            pub struct $curve;

            impl elliptic_curve::Curve for $curve {
                type FieldBytesSize = elliptic_curve::consts::U32;
                type Uint = U256;
                const ORDER: Odd<U256> = Odd::<U256>::from_be_hex($q);
            }

            impl elliptic_curve::PrimeCurve for $curve {}

            impl elliptic_curve::CurveArithmetic for $curve {
                type AffinePoint = primeorder::AffinePoint<$curve>;
                type ProjectivePoint = primeorder::ProjectivePoint<$curve>;
                type Scalar = Scalar;
            }

            impl elliptic_curve::hazmat::FieldArithmetic for $curve {
                type FieldElement = FieldElement;
            }

            impl elliptic_curve::PrimeCurveArithmetic for $curve {
                type CurveGroup = primeorder::ProjectivePoint<$curve>;
            }

            static BASEPOINT_TABLE: primeorder::BasepointTable<
                primeorder::ProjectivePoint<$curve>,
                33,
            > = primeorder::BasepointTable::new();

            impl primeorder::PrimeCurveWithBasepointTable<33> for $curve {
                const BASEPOINT_TABLE: &'static primeorder::BasepointTable<
                    primeorder::ProjectivePoint<$curve>,
                    33,
                > = &BASEPOINT_TABLE;
            }

            impl primeorder::PrimeCurveParams for $curve {
                type PointArithmetic = primeorder::point_arithmetic::$arith;
                // Constant-time k·G from a precomputed table of the generator (33
                // windows of 8 bits for a 256-bit order), built on first use.
                type Backend = primeorder::mul_backend::PrecomputedTables<33>;
                const EQUATION_A: FieldElement = $a;
                const EQUATION_B: FieldElement = FieldElement::from_hex_vartime($b);
                const GENERATOR: (FieldElement, FieldElement) = (
                    FieldElement::from_hex_vartime($gx),
                    FieldElement::from_hex_vartime($gy),
                );
            }
        }
    };
}

pub(crate) use gost_curve;
