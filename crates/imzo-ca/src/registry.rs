//! The public state register: the registered centres with their CA certificates, and
//! their authorised persons with theirs, each with status; and the check of whether a
//! certificate or a CMS signature comes from a registered centre or one of its persons,
//! valid at a given time.

use crate::{CaError, revocation::status_name};
use base64::Engine as _;
use imzo_pki::{Certificate, cert, path};
use imzo_store::{Store, cas, centres, certificates, time_ms::{from_ms, to_ms}};
use serde::Serialize;
use time::OffsetDateTime;

/// One certificate as the register shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CertEntry {
    /// Serial, lower-case hex.
    pub serial: String,
    /// Subject (RFC 4514).
    pub subject: String,
    /// Issuer (RFC 4514).
    pub issuer: String,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// `good`, `revoked`, `on_hold` or `expired`.
    pub status: String,
    /// When revoked or put on hold.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// SHA-256 of the DER certificate, lower-case hex.
    pub sha256: String,
    /// SHA-1 of the DER certificate, lower-case hex (what older tools show).
    pub sha1: String,
    /// Download links: PEM and DER.
    pub download: Downloads,
}

/// Where a certificate can be downloaded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Downloads {
    /// PEM.
    pub pem: String,
    /// DER.
    pub der: String,
}

/// A centre's names.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CentreNames {
    /// Uzbek (Latin).
    pub uz: String,
    /// Russian.
    pub ru: String,
    /// English.
    pub en: String,
}

/// A registered centre.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CentreEntry {
    /// Id (`rc1`).
    pub id: String,
    /// Number an applicant chooses.
    pub number: Option<i64>,
    /// Names.
    pub names: CentreNames,
    /// `active` or `revoked`.
    pub status: String,
    /// When its registration was revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Why.
    pub revocation_reason: Option<String>,
    /// Its CA certificate.
    pub certificate: Option<CertEntry>,
}

/// An authorised person of a centre.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PersonEntry {
    /// The centre they act for.
    pub centre: String,
    /// Name.
    pub name: String,
    /// `operator` or `officer`.
    pub role: String,
    /// `active`, `disabled` or the certificate's status when it is not good.
    pub status: String,
    /// Their certificate.
    pub certificate: CertEntry,
}

/// The register.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Register {
    /// Format tag.
    pub format: &'static str,
    /// When this copy was made.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// The authorised body's root.
    pub root: Option<CertEntry>,
    /// The centres, by number.
    pub centres: Vec<CentreEntry>,
    /// Their authorised persons, by centre.
    pub authorised_persons: Vec<PersonEntry>,
}

fn hex_digest<D: sha2::Digest>(der: &[u8]) -> String {
    hex::encode(D::digest(der))
}

fn link(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// A register entry for `der`, status from the certificates table when recorded.
async fn cert_entry(store: &Store, der: &[u8], links: Downloads, now: OffsetDateTime) -> Result<CertEntry, CaError> {
    let certificate = parse_der(der)?;
    let info = cert::info(&certificate)?;
    let row = certificates::by_serial(store.pool(), &info.serial_hex).await?.filter(|r| r.cert_der == der);
    let mut status = match &row {
        Some(r) => status_name(&r.status, r.revocation_reason).to_string(),
        None => "good".to_string(),
    };
    if status == "good" && (now > info.not_after || now < info.not_before) {
        status = "expired".to_string();
    }
    Ok(CertEntry {
        serial: info.serial_hex,
        subject: info.subject,
        issuer: info.issuer,
        not_before: info.not_before,
        not_after: info.not_after,
        status,
        revoked_at: row.and_then(|r| r.revoked_at_ms).map(from_ms),
        sha256: hex_digest::<sha2::Sha256>(der),
        sha1: hex::encode(<sha1::Sha1 as sha1::Digest>::digest(der)),
        download: links,
    })
}

fn parse_der(der: &[u8]) -> Result<Certificate, CaError> {
    imzo_pki::pem::read_certificates(der)?
        .into_iter()
        .next()
        .ok_or_else(|| CaError::Setup("a recorded certificate is empty".to_string()))
}

/// The register as of now; links start with `base_url` (empty: relative links).
pub async fn build(store: &Store, base_url: &str) -> Result<Register, CaError> {
    let now = OffsetDateTime::now_utc();
    let mut root = None;
    for ca in cas::all_cas(store.pool()).await?.into_iter().filter(|c| c.kind == "root") {
        let links = Downloads { pem: link(base_url, &format!("/ca/{}.pem", ca.id)), der: link(base_url, &format!("/ca/{}.crt", ca.id)) };
        root = Some(cert_entry(store, &ca.cert_der, links, now).await?);
    }
    let mut centre_entries = Vec::new();
    for c in centres::list(store.pool()).await? {
        let certificate = match cas::ca(store.pool(), &c.ca_id).await? {
            Some(ca) => {
                let links =
                    Downloads { pem: link(base_url, &format!("/ca/{}.pem", ca.id)), der: link(base_url, &format!("/ca/{}.crt", ca.id)) };
                Some(cert_entry(store, &ca.cert_der, links, now).await?)
            }
            None => None,
        };
        centre_entries.push(CentreEntry {
            names: CentreNames {
                uz: c.name_uz.clone().unwrap_or_else(|| c.name.clone()),
                ru: c.name_ru.clone().unwrap_or_else(|| c.name.clone()),
                en: c.name_en.clone().unwrap_or_else(|| c.name.clone()),
            },
            id: c.id,
            number: c.number,
            status: c.status,
            revoked_at: c.revoked_at_ms.map(from_ms),
            revocation_reason: c.revocation_reason,
            certificate,
        });
    }
    let mut persons = Vec::new();
    for p in centres::persons(store.pool()).await? {
        let info = cert::info(&parse_der(&p.cert_der)?)?;
        let links = Downloads {
            pem: link(base_url, &format!("/api/v1/certificates/{}.pem", info.serial_hex)),
            der: link(base_url, &format!("/api/v1/certificates/{}.der", info.serial_hex)),
        };
        let certificate = cert_entry(store, &p.cert_der, links, now).await?;
        let status = if p.disabled_at_ms.is_some() {
            "disabled".to_string()
        } else if certificate.status != "good" {
            certificate.status.clone()
        } else {
            "active".to_string()
        };
        persons.push(PersonEntry { centre: p.centre_id, name: p.name, role: p.role, status, certificate });
    }
    // Centre order is number order (rc2 before rc10), as the centres are listed.
    let number_of = |id: &str| id.trim_start_matches("rc").parse::<u64>().unwrap_or(u64::MAX);
    persons.sort_by(|a, b| (number_of(&a.centre), &a.centre).cmp(&(number_of(&b.centre), &b.centre)));
    Ok(Register { format: "imzo-register/1", generated_at: now, root, centres: centre_entries, authorised_persons: persons })
}

/// The register as JSON bytes (what the signed file carries).
pub async fn json(store: &Store, base_url: &str) -> Result<Vec<u8>, CaError> {
    let register = build(store, base_url).await?;
    serde_json::to_vec_pretty(&register).map_err(|e| CaError::Setup(format!("cannot write the register: {e}")))
}

/// Why a check could not be made (the input, not the verdict).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BadInput {
    /// The field at fault (`certificate`, `cms`, `at`).
    pub field: &'static str,
    /// Stable code.
    pub code: &'static str,
    /// What is wrong, in English.
    pub message: String,
}

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct CheckInput {
    /// A certificate: PEM, DER or base64 of DER.
    pub certificate: Option<Vec<u8>>,
    /// A CMS signature: PEM, DER/BER or base64.
    pub cms: Option<Vec<u8>>,
    /// The signed content of a detached CMS.
    pub content: Option<Vec<u8>>,
    /// Judge at this time instead of the signing time (or now, for a certificate).
    pub at: Option<OffsetDateTime>,
}

/// One certificate of the chain in an answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChainLink {
    /// Subject.
    pub subject: String,
    /// Serial, hex.
    pub serial: String,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
    /// Validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// Validity end.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Recorded status now (`good`, `revoked`, `on_hold`, `unknown`).
    pub status: String,
    /// When revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A problem found, with a stable code.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// Stable code.
    pub code: String,
    /// English message.
    pub message: String,
}

/// The register's answer about one certificate (a CMS signer's, or the one given).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Verdict {
    /// True when the certificate is a registered centre's, one of its authorised persons',
    /// the register signer's, or issued by a registered centre, and everything held at `at`.
    pub registered: bool,
    /// `authorised_body`, `centre`, `authorised_person`, `register_signer`,
    /// `issued_by_centre`, `issued_by_root` or `unknown`.
    pub role: String,
    /// The centre concerned.
    pub centre: Option<String>,
    /// The person's name, for an authorised person.
    pub person: Option<String>,
    /// The time judged at.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The chain, the certificate first, the root last (empty when none was found).
    pub chain: Vec<ChainLink>,
    /// What is wrong (empty when `registered`).
    pub problems: Vec<Problem>,
}

/// The answer for a CMS signature: one verdict per signer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignerVerdict {
    /// The signature value checks out over the content.
    pub signature_valid: bool,
    /// The signing time the signer claimed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub signing_time: Option<OffsetDateTime>,
    /// The register's verdict on the signer's certificate.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckAnswer {
    /// `certificate` or `signature`.
    pub kind: &'static str,
    /// True when every verdict (and, for a signature, every signature value) holds.
    pub registered: bool,
    /// The verdict on a certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Verdict>,
    /// The verdicts on a signature's signers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signers: Vec<SignerVerdict>,
}

/// Bytes given as PEM, DER or base64 text: DER (or the PEM/BER as given, for the parsers
/// that read PEM themselves).
fn unwrap_base64(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim();
    if trimmed.starts_with("-----BEGIN") || bytes.first() == Some(&0x30) {
        return bytes.to_vec();
    }
    let compact: String = trimmed.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&compact))
        .unwrap_or_else(|_| bytes.to_vec())
}

struct Known {
    root: Vec<Certificate>,
    centre_cas: Vec<(String, Certificate, Vec<u8>)>,
}

async fn known(store: &Store) -> Result<Known, CaError> {
    let mut root = Vec::new();
    let mut centre_cas = Vec::new();
    for ca in cas::all_cas(store.pool()).await? {
        let c = parse_der(&ca.cert_der)?;
        if ca.kind == "root" {
            root.push(c);
        } else {
            centre_cas.push((ca.id, c, ca.cert_der));
        }
    }
    Ok(Known { root, centre_cas })
}

/// Checks a certificate or a CMS signature against the register.
pub async fn check(store: &Store, input: CheckInput) -> Result<CheckAnswer, CheckError> {
    let known = known(store).await?;
    match (input.certificate, input.cms) {
        (Some(_), Some(_)) => Err(CheckError::Input(BadInput {
            field: "certificate",
            code: "one_input",
            message: "give either a certificate or a CMS signature, not both".to_string(),
        })),
        (None, None) => Err(CheckError::Input(BadInput {
            field: "certificate",
            code: "missing",
            message: "give a certificate (PEM, DER or base64) or a CMS signature (cms)".to_string(),
        })),
        (Some(bytes), None) => {
            let der = unwrap_base64(&bytes);
            let certificate = imzo_pki::pem::read_certificates(&der)
                .ok()
                .and_then(|mut v| (!v.is_empty()).then(|| v.remove(0)))
                .ok_or_else(|| {
                    CheckError::Input(BadInput {
                        field: "certificate",
                        code: "not_a_certificate",
                        message: "this is not an X.509 certificate in PEM, DER or base64".to_string(),
                    })
                })?;
            let at = input.at.unwrap_or_else(OffsetDateTime::now_utc);
            let verdict = judge(store, &known, &certificate, &[], at).await?;
            Ok(CheckAnswer { kind: "certificate", registered: verdict.registered, certificate: Some(verdict), signers: Vec::new() })
        }
        (None, Some(bytes)) => {
            let cms = unwrap_base64(&bytes);
            let options = imzo_pki::cms::VerifyOptions { anchors: known.root.clone(), at: input.at };
            let report = imzo_pki::cms::verify(&cms, input.content.as_deref(), &options).map_err(|e| {
                CheckError::Input(BadInput {
                    field: "cms",
                    code: "not_a_signature",
                    message: format!("this is not a CMS SignedData (or its content is detached and missing): {e}"),
                })
            })?;
            // Without its content a detached signature cannot be judged at all: that is
            // the caller's omission, not an invalid signature.
            if report.signers.iter().any(|s| s.errors.iter().any(|e| e.code == "content_missing")) {
                return Err(CheckError::Input(BadInput {
                    field: "content_base64",
                    code: "content_missing",
                    message: "the signature is detached: send the signed content as content_base64".to_string(),
                }));
            }
            let mut signers = Vec::new();
            for s in &report.signers {
                // The signing time is the signer's own claim (a clock set back would hide a
                // revocation): judged at the time asked about, else now.
                let at = input.at.unwrap_or_else(OffsetDateTime::now_utc);
                let verdict = match &s.certificate {
                    Some(c) => judge(store, &known, c, &[], at).await?,
                    None => Verdict {
                        registered: false,
                        role: "unknown".to_string(),
                        centre: None,
                        person: None,
                        at,
                        chain: Vec::new(),
                        problems: vec![Problem {
                            code: "no_signer_certificate".to_string(),
                            message: "the signer's certificate is not in the signature".to_string(),
                        }],
                    },
                };
                let mut verdict = verdict;
                if !s.signature_valid {
                    // Say why the signature itself failed (wrong content, tampering), not
                    // only that it did.
                    for e in &s.errors {
                        verdict.problems.push(Problem { code: e.code.clone(), message: e.message.clone() });
                    }
                    if verdict.problems.is_empty() {
                        verdict.problems.push(Problem {
                            code: "bad_signature".to_string(),
                            message: "the signature does not match the signed content".to_string(),
                        });
                    }
                }
                signers.push(SignerVerdict { signature_valid: s.signature_valid, signing_time: s.signing_time, verdict });
            }
            let registered =
                !signers.is_empty() && signers.iter().all(|s| s.signature_valid && s.verdict.registered);
            Ok(CheckAnswer { kind: "signature", registered, certificate: None, signers })
        }
    }
}

/// A check that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The input is wrong.
    #[error(transparent)]
    Input(BadInput),
    /// The register could not be read.
    #[error(transparent)]
    Ca(#[from] CaError),
}

impl From<imzo_store::StoreError> for CheckError {
    fn from(e: imzo_store::StoreError) -> Self {
        CheckError::Ca(CaError::Store(e))
    }
}

async fn judge(
    store: &Store,
    known: &Known,
    certificate: &Certificate,
    extra: &[Certificate],
    at: OffsetDateTime,
) -> Result<Verdict, CaError> {
    let mut problems = Vec::new();
    let mut intermediates: Vec<Certificate> = known.centre_cas.iter().map(|(_, c, _)| c.clone()).collect();
    intermediates.extend(extra.iter().cloned());
    let options = path::PathOptions { at, max_depth: 4 };
    let chain = match path::validate(certificate, &intermediates, &known.root, &options) {
        Ok(chain) => chain,
        Err(e) => {
            problems.push(Problem { code: e.code().to_string(), message: e.to_string() });
            Vec::new()
        }
    };
    let der = cert::to_der(certificate)?;
    let sha256 = hex_digest::<sha2::Sha256>(&der);
    // Who the certificate is.
    let mut role = "unknown".to_string();
    let mut centre = None;
    let mut person = None;
    if known.root.iter().any(|r| cert::to_der(r).ok().as_deref() == Some(der.as_slice())) {
        role = "authorised_body".to_string();
    } else if let Some((id, _, _)) = known.centre_cas.iter().find(|(_, _, d)| *d == der) {
        role = "centre".to_string();
        centre = Some(id.clone());
    } else if let Some(p) = cas::lookup_operator_by_cert_sha256(store.pool(), &sha256).await? {
        role = "authorised_person".to_string();
        centre = Some(p.centre_id.clone());
        person = Some(p.name);
    } else if let Some(issuer) = chain.get(1) {
        let issuer_der = cert::to_der(issuer)?;
        if let Some((id, _, _)) = known.centre_cas.iter().find(|(_, _, d)| *d == issuer_der) {
            role = "issued_by_centre".to_string();
            centre = Some(id.clone());
        } else if cert::info(certificate)?.subject_fields.common_name == crate::authority::REGISTER_SIGNER_NAME {
            // Only the root issues under itself, and it gives this name to one key only.
            role = "register_signer".to_string();
        } else {
            role = "issued_by_root".to_string();
        }
    }
    if role == "unknown" && problems.is_empty() {
        problems.push(Problem { code: "not_registered".to_string(), message: "the certificate is not in the register".to_string() });
    }
    // Statuses at `at`: every certificate of the chain below the root, and the centre.
    let at_ms = to_ms(at);
    let mut links = Vec::new();
    let shown: Vec<Certificate> = if chain.is_empty() { vec![certificate.clone()] } else { chain.clone() };
    for c in &shown {
        let info = cert::info(c)?;
        let c_der = cert::to_der(c)?;
        let row = certificates::by_serial(store.pool(), &info.serial_hex).await?.filter(|r| r.cert_der == c_der);
        let is_root = known.root.iter().any(|r| cert::to_der(r).ok().as_deref() == Some(c_der.as_slice()));
        let status = match &row {
            Some(r) => status_name(&r.status, r.revocation_reason).to_string(),
            None if is_root => "good".to_string(),
            None => "unknown".to_string(),
        };
        if let Some(r) = &row
            && r.status != "good"
            && r.revoked_at_ms.is_some_and(|t| t <= at_ms)
        {
            problems.push(Problem {
                code: "revoked".to_string(),
                message: format!("{} was revoked (or put on hold) before the time judged", info.subject),
            });
        }
        links.push(ChainLink {
            subject: info.subject,
            serial: info.serial_hex,
            sha256: hex_digest::<sha2::Sha256>(&c_der),
            not_before: info.not_before,
            not_after: info.not_after,
            status,
            revoked_at: row.and_then(|r| r.revoked_at_ms).map(from_ms),
        });
    }
    if let Some(id) = &centre
        && let Some(entry) = centres::get(store.pool(), id).await?
        && entry.status != "active"
        && entry.revoked_at_ms.is_some_and(|t| t <= at_ms)
    {
        problems.push(Problem {
            code: "centre_revoked".to_string(),
            message: format!("centre {id}'s registration was revoked before the time judged"),
        });
    }
    let registered = problems.is_empty() && role != "unknown" && role != "issued_by_root" && !chain.is_empty();
    if role == "issued_by_root" && problems.is_empty() {
        problems.push(Problem {
            code: "not_registered".to_string(),
            message: "issued by the root, but neither a centre nor an authorised person".to_string(),
        });
    }
    Ok(Verdict { registered, role, centre, person, at, chain: links, problems })
}
