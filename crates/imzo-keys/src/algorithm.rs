//! Which kind of key to make: the choice offered at key creation and in CA settings.

use imzo_pki::PkiError;

/// A key algorithm Imzo can generate and store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyAlgorithm {
    /// ECDSA over NIST P-256 with SHA-256 (`ecdsa-p256`). The default.
    #[default]
    EcdsaP256,
    /// O'z DSt 1092:2009-II with the 1106:2009-II hash on parameter set .1
    /// (CryptoPro-A), under the national OIDs (`ozdst1092-a`).
    OzDst1092A,
}

impl KeyAlgorithm {
    /// Every algorithm, in the order they are offered.
    pub const ALL: [KeyAlgorithm; 2] = [KeyAlgorithm::EcdsaP256, KeyAlgorithm::OzDst1092A];

    /// The name used in settings and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::OzDst1092A => "ozdst1092-a",
        }
    }
}

impl std::fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for KeyAlgorithm {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyAlgorithm::ALL
            .into_iter()
            .find(|a| a.name() == s.trim())
            .ok_or_else(|| {
                PkiError::Unsupported(format!(
                    "key algorithm {s:?} (known: ecdsa-p256, ozdst1092-a)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_named() {
        for a in KeyAlgorithm::ALL {
            assert_eq!(a.name().parse::<KeyAlgorithm>().unwrap(), a);
        }
        let e = "rsa-2048".parse::<KeyAlgorithm>().unwrap_err();
        assert!(e.to_string().contains("rsa-2048"), "{e}");
    }
}
