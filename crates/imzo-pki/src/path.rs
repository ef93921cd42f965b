//! Certification path validation (RFC 5280 §6, the parts Imzo's profiles use).
//!
//! A path is built from the leaf upwards: a certificate's issuer is any candidate whose
//! subject matches the issuer name (RFC 5280 §7.1 comparison: case- and
//! whitespace-insensitive for strings) and whose subjectKeyIdentifier does not
//! contradict the authorityKeyIdentifier. Candidates are tried depth-first, trust
//! anchors before intermediates, so a wrong cross-certificate or a stale intermediate
//! does not hide a good path. On each complete path every certificate is checked:
//! signature, validity at [`PathOptions::at`], unknown critical extensions, and for
//! each issuer basicConstraints cA, keyCertSign (when keyUsage is present) and
//! pathLenConstraint (self-issued intermediates not counted). Anchors are trusted as
//! given: their own signature is not checked, but their validity period, and their
//! basicConstraints/keyUsage/pathLen when present, are (as OpenSSL does).
//!
//! Not processed: certificate policies (no policy is required), name constraints and
//! the policy-constraint extensions — a certificate marking one of those critical is
//! refused as [`PathError::UnknownCritical`] rather than silently accepted.

use crate::cert::{
    EXT_AIA, EXT_AUTHORITY_KEY_ID, EXT_BASIC_CONSTRAINTS, EXT_CERT_POLICIES, EXT_CRL_DP,
    EXT_EXT_KEY_USAGE, EXT_KEY_USAGE, EXT_SUBJECT_KEY_ID, basic_constraints, from_x509_time,
    spki_der, verify_cert_signature,
};
use crate::name::{any_to_string, name_to_string};
use der::asn1::ObjectIdentifier;
use der::{Encode, Tag, Tagged};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, KeyUsage, SubjectKeyIdentifier};
use x509_cert::name::Name;

/// Why a path is not valid. `code()` gives the stable code printed by `--json`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// No chain from the certificate to any trust anchor could be built.
    #[error("no path to a trusted root: {0}")]
    Untrusted(String),
    /// A certificate in the path is outside its validity period at the checked time.
    #[error("certificate {subject} not valid at {at}")]
    Expired {
        /// Subject of the offending certificate.
        subject: String,
        /// The checked time, RFC 3339.
        at: String,
    },
    /// A certificate in the path is not valid yet at the checked time (before notBefore).
    #[error("certificate {subject} not yet valid at {at} (valid from {not_before})")]
    NotYetValid {
        /// Subject of the offending certificate.
        subject: String,
        /// The checked time, RFC 3339.
        at: String,
        /// Its notBefore, RFC 3339.
        not_before: String,
    },
    /// A signature in the path does not verify.
    #[error("bad signature on {0}")]
    BadSignature(String),
    /// An issuing certificate is not a CA, or path length / key usage forbid it.
    #[error("certificate {0} may not issue certificates")]
    NotCa(String),
    /// The path is longer than allowed.
    #[error("path longer than {0}")]
    TooLong(usize),
    /// A critical extension Imzo does not understand.
    #[error("unknown critical extension {0}")]
    UnknownCritical(String),
    /// A certificate could not be parsed.
    #[error("malformed certificate: {0}")]
    Malformed(String),
}

impl PathError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PathError::Untrusted(_) => "untrusted",
            PathError::Expired { .. } => "expired",
            PathError::NotYetValid { .. } => "not_yet_valid",
            PathError::BadSignature(_) => "bad_certificate_signature",
            PathError::NotCa(_) => "not_ca",
            PathError::TooLong(_) => "path_too_long",
            PathError::UnknownCritical(_) => "unknown_critical_extension",
            PathError::Malformed(_) => "malformed_certificate",
        }
    }

    /// How telling the error is when several candidate paths failed: the most specific
    /// complaint wins over "no path".
    fn rank(&self) -> u8 {
        match self {
            PathError::Untrusted(_) => 0,
            PathError::TooLong(_) => 1,
            _ => 2,
        }
    }
}

/// Options of a validation.
#[derive(Debug, Clone)]
pub struct PathOptions {
    /// The time at which every certificate must be valid.
    pub at: OffsetDateTime,
    /// Maximum number of certificates between leaf and anchor (exclusive).
    pub max_depth: usize,
}

/// Extensions this validator understands (and may therefore be critical).
const KNOWN_EXTENSIONS: &[ObjectIdentifier] = &[
    EXT_BASIC_CONSTRAINTS,
    EXT_KEY_USAGE,
    EXT_EXT_KEY_USAGE,
    EXT_SUBJECT_KEY_ID,
    EXT_AUTHORITY_KEY_ID,
    EXT_CRL_DP,
    EXT_CERT_POLICIES,
    EXT_AIA,
    // subjectAltName, issuerAltName: informational for path validation.
    ObjectIdentifier::new_unwrap("2.5.29.17"),
    ObjectIdentifier::new_unwrap("2.5.29.18"),
    // freshestCRL, subjectInfoAccess.
    ObjectIdentifier::new_unwrap("2.5.29.46"),
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.11"),
];

fn subject_text(cert: &Certificate) -> String {
    let s = name_to_string(cert.tbs_certificate().subject());
    if s.is_empty() {
        format!("(empty subject, serial {})", crate::cert::serial_hex(cert))
    } else {
        s
    }
}

/// One attribute value, normalised for comparison (RFC 5280 §7.1, simplified RFC 4518:
/// strings compared case-insensitively with leading/trailing white space removed and
/// inner runs of white space collapsed; other values compared as DER).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum NormValue {
    Text(String),
    Der(Vec<u8>),
}

fn normalise(name: &Name) -> Vec<Vec<(String, NormValue)>> {
    name.iter_rdn()
        .map(|rdn| {
            let mut atvs: Vec<(String, NormValue)> = rdn
                .iter()
                .map(|atv| {
                    let v = match atv.value.tag() {
                        Tag::Utf8String
                        | Tag::PrintableString
                        | Tag::TeletexString
                        | Tag::BmpString
                        | Tag::Ia5String => match any_to_string(&atv.value) {
                            Some(s) => NormValue::Text(
                                s.split_whitespace()
                                    .collect::<Vec<_>>()
                                    .join(" ")
                                    .to_lowercase(),
                            ),
                            None => NormValue::Der(atv.value.to_der().unwrap_or_default()),
                        },
                        _ => NormValue::Der(atv.value.to_der().unwrap_or_default()),
                    };
                    (atv.oid.to_string(), v)
                })
                .collect();
            atvs.sort();
            atvs
        })
        .collect()
}

/// RFC 5280 §7.1 name comparison.
pub(crate) fn names_match(a: &Name, b: &Name) -> bool {
    a == b || normalise(a) == normalise(b)
}

fn authority_key_id(cert: &Certificate) -> Result<Option<Vec<u8>>, PathError> {
    Ok(cert
        .tbs_certificate()
        .get_extension::<AuthorityKeyIdentifier>()
        .map_err(|e| {
            PathError::Malformed(format!(
                "{}: authorityKeyIdentifier: {e}",
                subject_text(cert)
            ))
        })?
        .and_then(|(_, aki)| aki.key_identifier.map(|k| k.as_bytes().to_vec())))
}

fn subject_key_id(cert: &Certificate) -> Result<Option<Vec<u8>>, PathError> {
    Ok(cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .map_err(|e| {
            PathError::Malformed(format!("{}: subjectKeyIdentifier: {e}", subject_text(cert)))
        })?
        .map(|(_, ski)| ski.0.as_bytes().to_vec()))
}

/// Could `issuer` have issued `child` (names chain, key identifiers do not contradict)?
fn may_have_issued(child: &Certificate, issuer: &Certificate) -> Result<bool, PathError> {
    if !names_match(
        child.tbs_certificate().issuer(),
        issuer.tbs_certificate().subject(),
    ) {
        return Ok(false);
    }
    if let (Some(aki), Some(ski)) = (authority_key_id(child)?, subject_key_id(issuer)?)
        && aki != ski
    {
        return Ok(false);
    }
    Ok(true)
}

fn is_self_issued(cert: &Certificate) -> bool {
    names_match(
        cert.tbs_certificate().issuer(),
        cert.tbs_certificate().subject(),
    )
}

fn der_of(cert: &Certificate) -> Vec<u8> {
    crate::cert::to_der(cert).unwrap_or_default()
}

/// Certificate signatures already found valid, so that the same intermediate and signer
/// certificates, met again in every signature a service checks, cost no ECDSA/RSA
/// arithmetic after the first time.
///
/// Why this is safe: an entry is the SHA-256 of the child certificate's DER followed by
/// the issuer's SubjectPublicKeyInfo DER. Those bytes hold everything the check depends
/// on (the TBSCertificate, both algorithm identifiers, the signature value and the key;
/// the certificate DER is self-delimiting, so the concatenation is unambiguous), and the
/// check is a pure function of them. A hit therefore stands for the very same check with
/// the very same outcome; finding a different input with the same key would need a
/// SHA-256 collision. Only successes are stored, so failures are always recomputed and
/// report their exact reason. Nothing else is cached: validity at the checked time,
/// constraints, key usage and critical extensions are evaluated on every validation.
/// The bound keeps memory fixed (about 1 MB) whatever an attacker submits; filling the
/// cache with valid certificates only costs the victim recomputation.
mod verified_cache {
    use sha2::{Digest, Sha256};
    use std::collections::{HashSet, VecDeque};
    use std::sync::{Mutex, PoisonError};

    /// Most entries kept; the oldest is forgotten first.
    pub(super) const CAPACITY: usize = 10_000;

    pub(super) type Key = [u8; 32];

    #[derive(Default)]
    struct Entries {
        set: HashSet<Key>,
        order: VecDeque<Key>,
    }

    static CACHE: Mutex<Option<Entries>> = Mutex::new(None);

    pub(super) fn key(child_der: &[u8], issuer_spki_der: &[u8]) -> Key {
        let mut h = Sha256::new();
        h.update(child_der);
        h.update(issuer_spki_der);
        h.finalize().into()
    }

    pub(super) fn contains(key: &Key) -> bool {
        // A poisoned lock only means another thread panicked mid-update; the set is
        // still a set of verified keys (insertion below keeps it consistent at each step).
        let guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().is_some_and(|e| e.set.contains(key))
    }

    pub(super) fn insert(key: Key) {
        let mut guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        let entries = guard.get_or_insert_with(Entries::default);
        if !entries.set.insert(key) {
            return;
        }
        entries.order.push_back(key);
        while entries.order.len() > CAPACITY {
            if let Some(old) = entries.order.pop_front() {
                entries.set.remove(&old);
            }
        }
    }

    pub(super) fn clear() {
        let mut guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        *guard = None;
    }

    #[cfg(test)]
    pub(super) fn len() -> usize {
        let guard = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map_or(0, |e| e.set.len())
    }
}

/// Forgets every certificate signature remembered as verified (see the module's cache of
/// verified signatures), so the next validations redo all signature arithmetic.
///
/// Never needed for correctness (an entry stays true forever: it records a fact about
/// fixed bytes); it lets benchmarks measure the cost of a chain seen for the first time.
pub fn clear_signature_cache() {
    verified_cache::clear();
}

fn check_signature(child: &Certificate, issuer: &Certificate) -> Result<(), PathError> {
    let key = spki_der(issuer).map_err(|e| PathError::Malformed(e.to_string()))?;
    let child_der = der_of(child);
    // An unencodable certificate gets no cache entry (and fails in the check itself).
    let cache_key = (!child_der.is_empty()).then(|| verified_cache::key(&child_der, &key));
    if cache_key.as_ref().is_some_and(verified_cache::contains) {
        return Ok(());
    }
    verify_cert_signature(child, &key).map_err(|e| match e {
        crate::PkiError::Malformed { .. } => {
            PathError::Malformed(format!("{}: {e}", subject_text(child)))
        }
        _ => PathError::BadSignature(format!("{} ({e})", subject_text(child))),
    })?;
    if let Some(k) = cache_key {
        verified_cache::insert(k);
    }
    Ok(())
}

fn check_validity(cert: &Certificate, at: OffsetDateTime) -> Result<(), PathError> {
    let v = cert.tbs_certificate().validity();
    let nb = from_x509_time(&v.not_before).map_err(|e| PathError::Malformed(e.to_string()))?;
    let na = from_x509_time(&v.not_after).map_err(|e| PathError::Malformed(e.to_string()))?;
    let show = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    if at < nb {
        return Err(PathError::NotYetValid {
            subject: subject_text(cert),
            at: show(at),
            not_before: show(nb),
        });
    }
    if at > na {
        return Err(PathError::Expired {
            subject: subject_text(cert),
            at: at.format(&Rfc3339).unwrap_or_else(|_| at.to_string()),
        });
    }
    Ok(())
}

fn check_critical(cert: &Certificate) -> Result<(), PathError> {
    for ext in cert
        .tbs_certificate()
        .extensions()
        .map(|e| e.as_slice())
        .unwrap_or(&[])
    {
        if ext.critical && !KNOWN_EXTENSIONS.contains(&ext.extn_id) {
            return Err(PathError::UnknownCritical(format!(
                "{} in {}",
                ext.extn_id,
                subject_text(cert)
            )));
        }
    }
    // Each extension at most once (RFC 5280 §4.2).
    let exts = cert
        .tbs_certificate()
        .extensions()
        .map(|e| e.as_slice())
        .unwrap_or(&[]);
    for (i, a) in exts.iter().enumerate() {
        if exts[i + 1..].iter().any(|b| b.extn_id == a.extn_id) {
            return Err(PathError::Malformed(format!(
                "{}: extension {} repeated",
                subject_text(cert),
                a.extn_id
            )));
        }
    }
    Ok(())
}

/// Issuer checks: cA, keyCertSign, pathLen. `below` is the number of non-self-issued
/// intermediate certificates between this issuer and the leaf.
fn check_issuer(cert: &Certificate, below: usize, is_anchor: bool) -> Result<(), PathError> {
    let bc = basic_constraints(cert).map_err(|e| PathError::Malformed(e.to_string()))?;
    match &bc {
        Some(bc) if bc.ca => {
            if let Some(len) = bc.path_len_constraint
                && below > usize::from(len)
            {
                return Err(PathError::NotCa(format!(
                    "{} (pathLenConstraint {len} with {below} CA certificates below it)",
                    subject_text(cert)
                )));
            }
        }
        Some(_) => {
            return Err(PathError::NotCa(format!(
                "{} (basicConstraints cA is false)",
                subject_text(cert)
            )));
        }
        // A version-1 root given as a trust anchor is trusted as given.
        None if is_anchor => {}
        None => {
            return Err(PathError::NotCa(format!(
                "{} (no basicConstraints)",
                subject_text(cert)
            )));
        }
    }
    let ku = cert
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .map_err(|e| PathError::Malformed(format!("{}: keyUsage: {e}", subject_text(cert))))?;
    if let Some((_, ku)) = ku
        && !ku.key_cert_sign()
    {
        return Err(PathError::NotCa(format!(
            "{} (keyUsage lacks keyCertSign)",
            subject_text(cert)
        )));
    }
    Ok(())
}

/// Checks a complete path (leaf first, anchor last; signatures already checked).
fn check_path(path: &[&Certificate], options: &PathOptions) -> Result<(), PathError> {
    let n = path.len();
    if n.saturating_sub(2) > options.max_depth {
        return Err(PathError::TooLong(options.max_depth));
    }
    // Top-down, as RFC 5280 §6.1 processes a path.
    for i in (0..n).rev() {
        let cert = path[i];
        let is_anchor = i == n - 1;
        check_validity(cert, options.at)?;
        if !is_anchor {
            check_critical(cert)?;
        }
        if i > 0 {
            // Intermediates strictly between this issuer and the leaf.
            let below = path[1..i].iter().filter(|c| !is_self_issued(c)).count();
            check_issuer(cert, below, is_anchor)?;
        }
    }
    Ok(())
}

struct Search<'a> {
    intermediates: &'a [Certificate],
    anchors: &'a [Certificate],
    anchor_ders: Vec<Vec<u8>>,
    options: &'a PathOptions,
    best: Option<PathError>,
    steps: usize,
}

/// Upper bound on candidate issuers examined, against pathological inputs.
const MAX_STEPS: usize = 10_000;

impl<'a> Search<'a> {
    fn note(&mut self, e: PathError) {
        match &self.best {
            Some(b) if b.rank() >= e.rank() => {}
            _ => self.best = Some(e),
        }
    }

    /// Extends `path` (whose last element is not yet anchored) until an anchor is reached.
    fn extend(&mut self, path: &mut Vec<&'a Certificate>) -> Option<Vec<Certificate>> {
        let current = *path.last()?;
        for anchor in self.anchors {
            self.steps += 1;
            match may_have_issued(current, anchor) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    self.note(e);
                    continue;
                }
            }
            if let Err(e) = check_signature(current, anchor) {
                self.note(e);
                continue;
            }
            path.push(anchor);
            let result = check_path(path, self.options);
            let full: Vec<Certificate> = path.iter().map(|c| (*c).clone()).collect();
            path.pop();
            match result {
                Ok(()) => return Some(full),
                Err(e) => self.note(e),
            }
        }
        for inter in self.intermediates {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return None;
            }
            if path.iter().any(|c| std::ptr::eq(*c, inter) || *c == inter) {
                continue;
            }
            // An intermediate that is also an anchor was tried as an anchor already.
            if self.anchor_ders.contains(&der_of(inter)) {
                continue;
            }
            match may_have_issued(current, inter) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    self.note(e);
                    continue;
                }
            }
            if let Err(e) = check_signature(current, inter) {
                self.note(e);
                continue;
            }
            // path = leaf + intermediates so far; adding one more intermediate.
            if path.len() > self.options.max_depth {
                self.note(PathError::TooLong(self.options.max_depth));
                continue;
            }
            path.push(inter);
            let found = self.extend(path);
            path.pop();
            if found.is_some() {
                return found;
            }
        }
        None
    }
}

/// Builds and checks a path from `leaf` through any of `intermediates` to one of
/// `anchors`. Returns the path leaf first, anchor last.
///
/// A leaf that is itself one of the anchors is valid on its own (if within its validity
/// period) only when it is a CA certificate (basicConstraints cA=true): a trust anchor
/// vouches for others, and an end-entity certificate trusted as an anchor would let its
/// holder vouch for themselves. When no candidate path is valid, the most specific problem met on the way is
/// returned (a bad signature or an expired certificate rather than "untrusted").
pub fn validate(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    options: &PathOptions,
) -> Result<Vec<Certificate>, PathError> {
    let anchor_ders: Vec<Vec<u8>> = anchors.iter().map(der_of).collect();
    let leaf_der = der_of(leaf);
    if leaf_der.is_empty() {
        return Err(PathError::Malformed(subject_text(leaf)));
    }
    if anchor_ders.contains(&leaf_der) {
        let is_ca = basic_constraints(leaf)
            .map_err(|e| PathError::Malformed(e.to_string()))?
            .is_some_and(|bc| bc.ca);
        if !is_ca {
            return Err(PathError::Untrusted(format!(
                "{} is given as a trust anchor but is an end-entity certificate (basicConstraints cA is not true); a trust anchor must be a CA (root) certificate",
                subject_text(leaf)
            )));
        }
        check_validity(leaf, options.at)?;
        return Ok(vec![leaf.clone()]);
    }
    let mut search = Search {
        intermediates,
        anchors,
        anchor_ders,
        options,
        best: None,
        steps: 0,
    };
    let mut path = vec![leaf];
    if let Some(found) = search.extend(&mut path) {
        return Ok(found);
    }
    Err(search.best.unwrap_or_else(|| {
        PathError::Untrusted(format!(
            "no trusted issuer found for {} (issuer {})",
            subject_text(leaf),
            name_to_string(leaf.tbs_certificate().issuer())
        ))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{IssueParams, Profile, PublicationUrls, issue};
    use crate::name::Subject;
    use crate::{PkiError, RawSigner, SignatureAlgorithm};
    use p256::ecdsa::{Signature, SigningKey, signature::Signer};
    use p256::pkcs8::EncodePublicKey;
    use time::macros::datetime;

    struct Key(SigningKey, Vec<u8>);
    impl Key {
        fn new(seed: u8) -> Key {
            let sk = SigningKey::from_slice(&[seed; 32]).unwrap();
            let spki = sk.verifying_key().to_public_key_der().unwrap().into_vec();
            Key(sk, spki)
        }
    }
    impl RawSigner for Key {
        fn algorithm(&self) -> SignatureAlgorithm {
            SignatureAlgorithm::EcdsaP256Sha256
        }
        fn public_key_der(&self) -> &[u8] {
            &self.1
        }
        fn sign(&self, m: &[u8]) -> Result<Vec<u8>, PkiError> {
            let s: Signature = self.0.sign(m);
            Ok(s.to_der().as_bytes().to_vec())
        }
    }

    fn params(cn: &str, key: &Key, serial: u8, profile: Profile) -> IssueParams {
        IssueParams {
            subject: Subject {
                common_name: cn.into(),
                country: Some("UZ".into()),
                ..Default::default()
            },
            subject_public_key_der: key.1.clone(),
            serial: vec![serial],
            not_before: datetime!(2025-01-01 00:00 UTC),
            not_after: datetime!(2030-01-01 00:00 UTC),
            profile,
            urls: PublicationUrls::default(),
            policy_oid: None,
        }
    }

    fn opts() -> PathOptions {
        PathOptions {
            at: datetime!(2026-06-01 00:00 UTC),
            max_depth: 5,
        }
    }

    fn chain() -> (Certificate, Certificate, Certificate, Key, Key) {
        let rk = Key::new(1);
        let ck = Key::new(2);
        let hk = Key::new(3);
        let root = issue(None, &rk, &params("Root", &rk, 1, Profile::Root)).unwrap();
        let ca = issue(
            Some(&root),
            &rk,
            &params("Centre CA", &ck, 2, Profile::CentreCa),
        )
        .unwrap();
        let leaf = issue(Some(&ca), &ck, &params("Holder", &hk, 3, Profile::Holder)).unwrap();
        (root, ca, leaf, rk, ck)
    }

    #[test]
    fn valid_chain() {
        let (root, ca, leaf, _, _) = chain();
        let p = validate(
            &leaf,
            std::slice::from_ref(&ca),
            std::slice::from_ref(&root),
            &opts(),
        )
        .unwrap();
        assert_eq!(p, vec![leaf.clone(), ca.clone(), root.clone()]);
        // The root alone is valid; the CA is valid under the root.
        assert_eq!(
            validate(&root, &[], std::slice::from_ref(&root), &opts())
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            validate(&ca, &[], std::slice::from_ref(&root), &opts())
                .unwrap()
                .len(),
            2
        );
        // An end-entity certificate is no trust anchor, not even for itself.
        let e = validate(&leaf, &[], std::slice::from_ref(&leaf), &opts()).unwrap_err();
        assert_eq!(e.code(), "untrusted");
        assert!(e.to_string().contains("must be a CA"), "{e}");
        // Irrelevant extra intermediates do not matter.
        let other = Key::new(9);
        let stray = issue(None, &other, &params("Stray", &other, 9, Profile::Root)).unwrap();
        assert!(
            validate(
                &leaf,
                &[stray.clone(), ca.clone(), root.clone()],
                std::slice::from_ref(&root),
                &opts()
            )
            .is_ok()
        );
    }

    #[test]
    fn failures() {
        let (root, ca, leaf, rk, _) = chain();
        let e = validate(&leaf, &[], std::slice::from_ref(&root), &opts()).unwrap_err();
        assert_eq!(e.code(), "untrusted");
        let at = PathOptions {
            at: datetime!(2031-01-01 00:00 UTC),
            ..opts()
        };
        assert_eq!(
            validate(
                &leaf,
                std::slice::from_ref(&ca),
                std::slice::from_ref(&root),
                &at
            )
            .unwrap_err()
            .code(),
            "expired"
        );
        let at = PathOptions {
            at: datetime!(2024-01-01 00:00 UTC),
            ..opts()
        };
        assert_eq!(
            validate(
                &leaf,
                std::slice::from_ref(&ca),
                std::slice::from_ref(&root),
                &at
            )
            .unwrap_err()
            .code(),
            "not_yet_valid"
        );
        let depth0 = PathOptions {
            max_depth: 0,
            ..opts()
        };
        assert_eq!(
            validate(
                &leaf,
                std::slice::from_ref(&ca),
                std::slice::from_ref(&root),
                &depth0
            )
            .unwrap_err()
            .code(),
            "path_too_long"
        );
        // A holder cannot issue.
        let hk = Key::new(3);
        let xk = Key::new(4);
        let under_leaf = issue(Some(&leaf), &hk, &params("Sub", &xk, 5, Profile::Holder)).unwrap();
        assert_eq!(
            validate(
                &under_leaf,
                &[leaf.clone(), ca.clone()],
                std::slice::from_ref(&root),
                &opts()
            )
            .unwrap_err()
            .code(),
            "not_ca"
        );
        // pathLen 0 of the centre CA forbids a CA below it.
        let ck = Key::new(2);
        let sub_ca = issue(Some(&ca), &ck, &params("Sub CA", &xk, 6, Profile::CentreCa)).unwrap();
        let yk = Key::new(5);
        let under_sub =
            issue(Some(&sub_ca), &xk, &params("Deep", &yk, 7, Profile::Holder)).unwrap();
        assert_eq!(
            validate(
                &under_sub,
                &[sub_ca, ca.clone()],
                std::slice::from_ref(&root),
                &opts()
            )
            .unwrap_err()
            .code(),
            "not_ca"
        );
        // A tampered signature.
        let mut der = crate::cert::to_der(&leaf).unwrap();
        let last = der.len() - 1;
        der[last] ^= 0x01;
        let tampered = <Certificate as der::Decode>::from_der(&der).unwrap();
        assert_eq!(
            validate(
                &tampered,
                std::slice::from_ref(&ca),
                std::slice::from_ref(&root),
                &opts()
            )
            .unwrap_err()
            .code(),
            "bad_certificate_signature"
        );
        // The right issuer name but another key: refused by the signer check at issue time.
        let wrong = issue(
            Some(&root),
            &Key::new(7),
            &params("CA2", &Key::new(8), 8, Profile::CentreCa),
        );
        assert!(matches!(wrong, Err(PkiError::Signer(_))));
        let _ = rk;
    }

    /// Remembered signatures skip only the arithmetic: validity is still judged at the
    /// asked time, a tampered copy is still refused, and failures are never remembered.
    #[test]
    fn verified_signature_cache() {
        let (root, ca, leaf, _, _) = chain();
        let inter = std::slice::from_ref(&ca);
        let anchors = std::slice::from_ref(&root);
        let mut der = crate::cert::to_der(&leaf).unwrap();
        let last = der.len() - 1;
        der[last] ^= 0x01;
        let tampered = <Certificate as der::Decode>::from_der(&der).unwrap();
        clear_signature_cache();
        let before = verified_cache::len();
        assert_eq!(
            validate(&tampered, inter, anchors, &opts())
                .unwrap_err()
                .code(),
            "bad_certificate_signature"
        );
        // The failure was not remembered (and the search stopped below the CA).
        assert_eq!(verified_cache::len(), before);
        validate(&leaf, inter, anchors, &opts()).unwrap();
        assert_eq!(verified_cache::len(), before + 2);
        validate(&leaf, inter, anchors, &opts()).unwrap();
        assert_eq!(verified_cache::len(), before + 2);
        assert_eq!(
            validate(&tampered, inter, anchors, &opts())
                .unwrap_err()
                .code(),
            "bad_certificate_signature"
        );
        let late = PathOptions {
            at: datetime!(2031-01-01 00:00 UTC),
            ..opts()
        };
        assert_eq!(
            validate(&leaf, inter, anchors, &late).unwrap_err().code(),
            "expired"
        );
        // The same leaf under another key of the same name is not a hit.
        let other = Key::new(42);
        let impostor = issue(None, &other, &params("Centre CA", &other, 2, Profile::Root)).unwrap();
        assert!(validate(&leaf, &[], std::slice::from_ref(&impostor), &opts()).is_err());
        assert!(check_signature(&leaf, &impostor).is_err());
    }

    #[test]
    fn cache_is_bounded() {
        clear_signature_cache();
        for i in 0..verified_cache::CAPACITY + 10 {
            verified_cache::insert(verified_cache::key(&i.to_be_bytes(), b"k"));
        }
        assert_eq!(verified_cache::len(), verified_cache::CAPACITY);
        // The oldest went first.
        assert!(!verified_cache::contains(&verified_cache::key(
            &0usize.to_be_bytes(),
            b"k"
        )));
        let newest = verified_cache::CAPACITY + 9;
        assert!(verified_cache::contains(&verified_cache::key(
            &newest.to_be_bytes(),
            b"k"
        )));
    }

    #[test]
    fn name_comparison_rules() {
        use std::str::FromStr;
        let a = Name::from_str("CN=Foo  Bar,O=Org,C=UZ").unwrap();
        let b = Name::from_str("CN=foo bar,O=ORG,C=UZ").unwrap();
        let c = Name::from_str("CN=foo baz,O=ORG,C=UZ").unwrap();
        assert!(names_match(&a, &b));
        assert!(!names_match(&a, &c));
    }
}
