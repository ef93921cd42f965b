//! The authorised body's side of a deployment: the root as an issuer, the ten
//! registration centres of the embedded default, their authorised persons, and the key
//! that signs the public register.
//!
//! Layout added to the data folder (`DATA`), beside [`crate::bootstrap`]'s:
//! - `pki/rcN.key.pem`, `pki/rcN.pem` — centre N's CA (N = 1…10), issued by the root;
//! - `operators/operatorN.pfx`, `operators/operatorN.password` — an authorised person
//!   (operator) of centre N, issued by the root (operator 1 of a one-centre folder was
//!   issued by rc1 and is kept as it is);
//! - `pki/register.key.pem`, `pki/register.pem` — the register signer, issued by the
//!   root (a root key may only sign certificates and CRLs, so OpenSSL refuses CMS signed
//!   by it directly).
//!
//! Every start adds what is missing and never re-keys what exists: a one-centre data
//! folder gains centres 2…10 and their operators on its next start.

use crate::files::{io, private_dir, random_hex, read_secret, write_private};
use crate::{CaError, CentreCa, bootstrap, serial::new_serial};
use imzo_keys::{KeyAlgorithm, SoftwareKey, StoredKey, pfxfile, stored};
use imzo_pki::{
    Certificate, RawSigner,
    cert::{self, IssueParams, Profile},
    name::Subject,
};
use imzo_store::{
    Store, Tx,
    audit::{self, AuditEntry},
    cas::{self, NewCa},
    centres::{self, NewCentre},
    certificates::{self, NewCertificate},
    time_ms::to_ms,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// How many registration centres the embedded default runs, as in the country today.
pub const DEFAULT_CENTRES: i64 = 10;
/// Validity of the register signer's certificate: five years.
pub const REGISTER_SIGNER_VALIDITY_DAYS: i64 = 5 * 365 + 1;
/// Common name of the register signer.
pub const REGISTER_SIGNER_NAME: &str = "Imzo Authorised Body Register";
/// PBKDF2 iterations of CA key files this module writes. Their passphrase is 256 random
/// bits (`DATA/secrets/ca-passphrase`), which no stretching makes stronger; a low count
/// keeps the start of ten centres fast. OpenSSL opens them all the same.
const GENERATED_KEY_ITERATIONS: u32 = 10_000;
/// Role of authorised persons made here.
pub const ROLE_OPERATOR: &str = "operator";
/// Role of a centre's officer (decides applications, as operators do, and answers for
/// the centre to the authorised body).
pub const ROLE_OFFICER: &str = "officer";

/// A centre's names in the three languages of the register.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Names {
    /// Uzbek (Latin).
    pub uz: String,
    /// Russian.
    pub ru: String,
    /// English.
    pub en: String,
}

/// Default names of centre `n` of the embedded deployment.
pub fn default_names(n: i64) -> Names {
    Names {
        uz: format!("{n}-son ro'yxatga olish markazi"),
        ru: format!("Регистрационный центр № {n}"),
        en: format!("Registration Centre {n}"),
    }
}

/// Id of centre `n` (and of its CA): `rcN`.
pub fn centre_id(n: i64) -> String {
    format!("rc{n}")
}

/// The CA certificate's common name of centre `n`.
pub fn centre_ca_name(n: i64) -> String {
    format!("Imzo Registration Centre {n}")
}

/// An authorised person's key file made by the deployment.
#[derive(Debug, Clone)]
pub struct PersonFiles {
    /// The centre they act for.
    pub centre_id: String,
    /// Their .pfx (key and certificate).
    pub pfx: PathBuf,
    /// The file holding its password.
    pub password_file: PathBuf,
}

/// The key that signs the register, with its certificate (issued by the root).
#[derive(Clone)]
pub struct RegisterSigner {
    /// The signer's certificate.
    pub certificate: Certificate,
    /// The root above it.
    pub root: Certificate,
    key: Arc<dyn RawSigner>,
}

impl std::fmt::Debug for RegisterSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterSigner").finish_non_exhaustive()
    }
}

impl RegisterSigner {
    /// A signer from its parts.
    pub fn new(certificate: Certificate, root: Certificate, key: Arc<dyn RawSigner>) -> RegisterSigner {
        RegisterSigner { certificate, root, key }
    }

    /// Signs `content` as attached CMS SignedData carrying the signer's certificate and
    /// the root; DER.
    pub fn sign(&self, content: &[u8]) -> Result<Vec<u8>, CaError> {
        let options = imzo_pki::cms::SignOptions { detached: false, signing_time: OffsetDateTime::now_utc() };
        Ok(imzo_pki::cms::sign(content, self.key.as_ref(), &[self.certificate.clone(), self.root.clone()], &options)?)
    }
}

/// The authorised body and its centres, ready to work.
#[derive(Debug, Clone)]
pub struct Authority {
    /// The root as an issuer (of centre CAs, authorised persons and the register signer).
    pub root_ca: CentreCa,
    /// Every centre whose CA key this deployment holds, by number.
    pub centres: Vec<CentreCa>,
    /// Key files of the authorised persons the deployment made, by centre number.
    pub persons: Vec<PersonFiles>,
    /// The register signer.
    pub register_signer: RegisterSigner,
}

/// The root as an issuing CA: its certificate, its key behind the signer interface.
pub fn root_ca(root: &Certificate, signer: Arc<dyn RawSigner>, public_url: Option<&str>) -> CentreCa {
    CentreCa::new(
        bootstrap::ROOT_ID.to_string(),
        bootstrap::ROOT_ID.to_string(),
        root.clone(),
        root.clone(),
        signer,
        bootstrap::publication_urls(public_url, bootstrap::ROOT_ID),
        None,
    )
}

/// What [`ensure`] needs.
pub struct EnsureInput<'a> {
    /// The data folder.
    pub data_dir: &'a Path,
    /// The root as an issuer.
    pub root_ca: CentreCa,
    /// Centre 1's CA, as [`crate::bootstrap`] loaded it.
    pub first_centre: CentreCa,
    /// The settings.
    pub settings: &'a bootstrap::Settings,
}

/// Adds what is missing of the authorised body's side (centres 2…10, their operators,
/// the register signer, centre numbers and names) and loads it all.
pub async fn ensure(store: &Store, input: EnsureInput<'_>) -> Result<Authority, CaError> {
    let data = input.data_dir;
    for dir in ["pki", "operators"] {
        private_dir(&data.join(dir))?;
    }
    let passphrase = read_secret(&data.join("secrets").join("ca-passphrase"))?;

    // Centre 1 of a one-centre folder gets its number and names.
    {
        let names = default_names(1);
        let mut tx = store.begin().await?;
        centres::fill_missing_names(&mut tx, bootstrap::CENTRE_ID, 1, &names.uz, &names.ru, &names.en).await?;
        tx.commit().await.map_err(imzo_store::StoreError::from)?;
    }
    let mut loaded = vec![input.first_centre.clone()];
    for n in 2..=DEFAULT_CENTRES {
        if let Some(ca) = ensure_centre(store, data, &input.root_ca, n, passphrase.as_bytes(), input.settings).await? {
            loaded.push(ca);
        }
    }
    // Centres registered later by `imzo ca centre issue`, whose key this deployment holds.
    for entry in centres::list(store.pool()).await? {
        if loaded.iter().any(|c| c.centre_id == entry.id) {
            continue;
        }
        match load_registered(store, &entry, &input.root_ca.root, passphrase.as_bytes(), input.settings).await {
            Ok(ca) => loaded.push(ca),
            Err(e) => tracing::warn!(centre = %entry.id, error = %e, "the centre's CA key is not in this deployment; it issues elsewhere"),
        }
    }
    let mut persons = Vec::new();
    for n in 1..=DEFAULT_CENTRES {
        if let Some(files) = ensure_operator(store, data, &input.root_ca, &loaded, n, input.settings.algorithm).await? {
            persons.push(files);
        }
    }
    let register_signer = ensure_register_signer(store, data, &input.root_ca, passphrase.as_bytes(), input.settings).await?;
    Ok(Authority { root_ca: input.root_ca, centres: loaded, persons, register_signer })
}

fn key_path(data: &Path, id: &str) -> PathBuf {
    data.join("pki").join(format!("{id}.key.pem"))
}

fn cert_path(data: &Path, id: &str) -> PathBuf {
    data.join("pki").join(format!("{id}.pem"))
}

/// Writes a CA key encrypted under the deployment's random passphrase.
pub(crate) fn save_ca_key(path: &Path, key: &SoftwareKey, passphrase: &[u8]) -> Result<(), CaError> {
    let der = key.to_pkcs8_der()?;
    let pem = imzo_pki::pkcs8::encrypt_with_iterations(&der, passphrase, GENERATED_KEY_ITERATIONS)?;
    write_private(path, pem.as_bytes())
}

/// Issues the CA certificate of a centre named `common_name` for `public_key_der`.
pub(crate) fn issue_centre_certificate(
    root_ca: &CentreCa,
    common_name: &str,
    public_key_der: &[u8],
) -> Result<Certificate, CaError> {
    let now = OffsetDateTime::now_utc();
    // A centre CA never outlives the root that vouches for it.
    let root_end = cert::info(&root_ca.certificate)?.not_after;
    let not_after = (now + Duration::days(bootstrap::CENTRE_VALIDITY_DAYS)).min(root_end);
    let params = IssueParams {
        subject: ca_subject(common_name),
        subject_public_key_der: public_key_der.to_vec(),
        serial: new_serial()?,
        not_before: now - Duration::minutes(1),
        not_after,
        profile: Profile::CentreCa,
        urls: root_ca.urls().clone(),
        policy_oid: None,
    };
    Ok(cert::issue(Some(&root_ca.certificate), root_ca.signer().as_ref(), &params)?)
}

fn ca_subject(common_name: &str) -> Subject {
    Subject {
        common_name: common_name.to_string(),
        organization: Some(common_name.to_string()),
        country: Some("UZ".to_string()),
        ..Subject::default()
    }
}

/// Records a centre (CA row, centre row, the root-issued certificate) and audits it, all
/// in `tx`.
pub(crate) async fn record_centre(
    tx: &mut Tx<'_>,
    id: &str,
    number: i64,
    names: &Names,
    certificate: &Certificate,
    key_ref: &str,
) -> Result<(), CaError> {
    let der = cert::to_der(certificate)?;
    let info = cert::info(certificate)?;
    let name = info.subject_fields.common_name.clone();
    cas::insert_ca(tx, &NewCa { id, kind: "centre", parent_id: Some(bootstrap::ROOT_ID), name: &name, cert_der: &der, key_ref })
        .await?;
    centres::insert(
        tx,
        &NewCentre { id, number, name: &name, name_uz: &names.uz, name_ru: &names.ru, name_en: &names.en, ca_id: id },
    )
    .await?;
    record_root_issued(tx, certificate).await?;
    audit::record(
        tx,
        AuditEntry {
            centre_id: None,
            actor: crate::root::ACTOR,
            action: "centre.registered",
            subject: id,
            details: serde_json::json!({
                "number": number, "name": name, "serial": info.serial_hex, "ca_sha256": info.sha256_hex,
                "not_after": to_ms(info.not_after),
            }),
        },
    )
    .await?;
    Ok(())
}

/// Records a certificate the root issued (centre CAs, persons, register signer), unless
/// it is recorded already.
pub(crate) async fn record_root_issued(tx: &mut Tx<'_>, certificate: &Certificate) -> Result<(), CaError> {
    let info = cert::info(certificate)?;
    if certificates::by_serial(&mut **tx, &info.serial_hex).await?.is_some() {
        return Ok(());
    }
    let der = cert::to_der(certificate)?;
    certificates::insert(
        tx,
        &NewCertificate {
            serial: &info.serial_hex,
            ca_id: bootstrap::ROOT_ID,
            application_id: None,
            subject: &info.subject,
            pinfl: None,
            inn: None,
            not_before_ms: to_ms(info.not_before),
            not_after_ms: to_ms(info.not_after),
            cert_der: &der,
        },
    )
    .await?;
    Ok(())
}

fn read_one_cert(path: &Path) -> Result<Certificate, CaError> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    let mut certs = imzo_pki::pem::read_certificates(&bytes)?;
    if certs.len() != 1 {
        return Err(CaError::Setup(format!("{} must hold exactly one certificate, found {}", path.display(), certs.len())));
    }
    Ok(certs.remove(0))
}

fn centre_ca(
    id: &str,
    certificate: Certificate,
    root: &Certificate,
    key: impl RawSigner + 'static,
    settings: &bootstrap::Settings,
) -> CentreCa {
    CentreCa::new(
        id.to_string(),
        id.to_string(),
        certificate,
        root.clone(),
        Arc::new(key),
        bootstrap::publication_urls(settings.public_url.as_deref(), id),
        settings.policy_oid.clone(),
    )
}

fn check_key(path: &Path, key: &StoredKey, certificate: &Certificate, algorithm: KeyAlgorithm) -> Result<(), CaError> {
    if cert::public_key_der(certificate)? != key.public_key_der() {
        return Err(CaError::Setup(format!("{} does not hold the key of its certificate", path.display())));
    }
    if key.key_algorithm() != Some(algorithm) {
        return Err(CaError::Setup(format!(
            "ca.algorithm is {algorithm}, but {} holds another algorithm's key; set ca.algorithm to match the data folder",
            path.display()
        )));
    }
    Ok(())
}

/// Centre `n` (2…10): created on first start, recorded in a fresh database, or loaded.
/// None for a centre registered by `imzo ca centre issue` with its key elsewhere.
async fn ensure_centre(
    store: &Store,
    data: &Path,
    root_ca: &CentreCa,
    n: i64,
    passphrase: &[u8],
    settings: &bootstrap::Settings,
) -> Result<Option<CentreCa>, CaError> {
    let id = centre_id(n);
    let (key_file, cert_file) = (key_path(data, &id), cert_path(data, &id));
    let row = cas::ca(store.pool(), &id).await?;
    if row.as_ref().is_some_and(|r| r.key_ref != key_file.display().to_string()) && !key_file.exists() {
        return Ok(None);
    }
    let ca = match (key_file.exists(), cert_file.exists(), row) {
        (false, false, None) => {
            let key = SoftwareKey::generate_with(settings.algorithm)?;
            let certificate = issue_centre_certificate(root_ca, &centre_ca_name(n), key.public_key_der())?;
            // Files first: a crash before the commit leaves files the next start records.
            save_ca_key(&key_file, &key, passphrase)?;
            write_private(&cert_file, cert::to_pem(&certificate)?.as_bytes())?;
            let mut tx = store.begin().await?;
            record_centre(&mut tx, &id, n, &default_names(n), &certificate, &key_file.display().to_string()).await?;
            tx.commit().await.map_err(imzo_store::StoreError::from)?;
            tracing::info!(centre = %id, "registration centre created");
            centre_ca(&id, certificate, &root_ca.certificate, key, settings)
        }
        (true, true, row) => {
            let certificate = read_one_cert(&cert_file)?;
            let key = stored::open(&key_file, passphrase)?;
            check_key(&key_file, &key, &certificate, settings.algorithm)?;
            let der = cert::to_der(&certificate)?;
            match row {
                Some(r) if r.cert_der == der => {}
                Some(_) => {
                    return Err(CaError::Setup(format!(
                        "{} does not match the database's record; the data folder and the database belong to different deployments",
                        cert_file.display()
                    )));
                }
                None => {
                    let mut tx = store.begin().await?;
                    record_centre(&mut tx, &id, n, &default_names(n), &certificate, &key_file.display().to_string()).await?;
                    tx.commit().await.map_err(imzo_store::StoreError::from)?;
                }
            }
            centre_ca(&id, certificate, &root_ca.certificate, key, settings)
        }
        (false, false, Some(_)) => return Err(CaError::Setup(format!(
            "the database holds centre {id}, but {} has none of its files; use the data folder that belongs to this database",
            data.display()
        ))),
        _ => return Err(CaError::Setup(format!(
            "centre {id} is half-made in {} (one of {} and {} is missing); restore it from a backup",
            data.display(),
            key_file.display(),
            cert_file.display()
        ))),
    };
    Ok(Some(ca))
}

/// A centre registered by `imzo ca centre issue` whose key file this deployment can open.
async fn load_registered(
    store: &Store,
    entry: &centres::CentreEntry,
    root: &Certificate,
    passphrase: &[u8],
    settings: &bootstrap::Settings,
) -> Result<CentreCa, CaError> {
    let row = cas::ca(store.pool(), &entry.ca_id)
        .await?
        .ok_or_else(|| CaError::Setup(format!("centre {} has no CA record", entry.id)))?;
    let certificate = imzo_pki::pem::read_certificates(&row.cert_der)?
        .into_iter()
        .next()
        .ok_or_else(|| CaError::Setup(format!("centre {}'s CA record holds no certificate", entry.id)))?;
    let path = Path::new(&row.key_ref);
    // A key file, a token pointer, or the centre's pkcs11: URI itself.
    let key = stored::open(path, passphrase)?;
    check_key(path, &key, &certificate, settings.algorithm)?;
    Ok(centre_ca(&entry.id, certificate, root, key, settings))
}

/// Issues an authorised person's certificate from the root and records it (certificate
/// row under the root, operator row for the centre) in `tx`; returns (certificate, DER).
pub async fn issue_person(
    tx: &mut Tx<'_>,
    root_ca: &CentreCa,
    centre: &CentreCa,
    name: &str,
    role: &str,
    public_key_der: &[u8],
) -> Result<Certificate, CaError> {
    issue_person_under(tx, root_ca, &centre.centre_id, &centre.certificate, name, role, public_key_der).await
}

/// [`issue_person`] for a centre known by its id and CA certificate alone: the
/// authorised body certifies a centre's persons without holding the centre's CA key
/// (a centre registered by `imzo ca centre issue` keeps its key elsewhere).
pub(crate) async fn issue_person_under(
    tx: &mut Tx<'_>,
    root_ca: &CentreCa,
    centre_id: &str,
    centre_certificate: &Certificate,
    name: &str,
    role: &str,
    public_key_der: &[u8],
) -> Result<Certificate, CaError> {
    let organization = cert::info(centre_certificate)?.subject_fields.common_name;
    let subject = Subject {
        common_name: name.to_string(),
        organization: Some(organization),
        country: Some("UZ".to_string()),
        ..Subject::default()
    };
    let issued = root_ca.issue_operator(tx, &subject, public_key_der).await?;
    let info = cert::info(&issued.certificate)?;
    centres::insert_person(tx, centre_id, name, role, &issued.der, &info.sha256_hex).await?;
    audit::record(
        tx,
        AuditEntry {
            centre_id: None,
            actor: crate::root::ACTOR,
            action: "person.authorised",
            subject: &issued.serial_hex,
            details: serde_json::json!({ "centre": centre_id, "name": name, "role": role, "cert_sha256": info.sha256_hex }),
        },
    )
    .await?;
    Ok(issued.certificate)
}

/// Operator N of centre N (2…10; operator 1 is [`crate::bootstrap`]'s): made once, with
/// its key file beside operator 1's. A centre with an operator on record gets none.
async fn ensure_operator(
    store: &Store,
    data: &Path,
    root_ca: &CentreCa,
    centres_loaded: &[CentreCa],
    n: i64,
    algorithm: KeyAlgorithm,
) -> Result<Option<PersonFiles>, CaError> {
    let id = centre_id(n);
    let pfx = data.join("operators").join(format!("operator{n}.pfx"));
    let password_file = data.join("operators").join(format!("operator{n}.password"));
    let files = PersonFiles { centre_id: id.clone(), pfx: pfx.clone(), password_file: password_file.clone() };
    if n == 1 || !cas::operators_of(store.pool(), &id).await?.is_empty() {
        return Ok(pfx.exists().then_some(files));
    }
    let Some(centre) = centres_loaded.iter().find(|c| c.centre_id == id) else { return Ok(None) };
    if pfx.exists() && password_file.exists() {
        // Files of an earlier start whose database rows did not commit, or a fresh
        // database: record the person they hold.
        let password = read_secret(&password_file)?;
        let opened = pfxfile::open(&pfx, &password)?;
        let certificate =
            opened.chain.first().ok_or_else(|| CaError::Setup(format!("{} holds no certificate", pfx.display())))?;
        let info = cert::info(certificate)?;
        let der = cert::to_der(certificate)?;
        let mut tx = store.begin().await?;
        record_root_issued(&mut tx, certificate).await?;
        centres::insert_person(&mut tx, &id, &format!("Imzo Operator {n}"), ROLE_OPERATOR, &der, &info.sha256_hex).await?;
        tx.commit().await.map_err(imzo_store::StoreError::from)?;
        return Ok(Some(files));
    }
    let key = SoftwareKey::generate_with(algorithm)?;
    let mut tx = store.begin().await?;
    let certificate = issue_person(&mut tx, root_ca, centre, &format!("Imzo Operator {n}"), ROLE_OPERATOR, key.public_key_der()).await?;
    let password = random_hex(16)?;
    let mut line = zeroize::Zeroizing::new(password.as_bytes().to_vec());
    line.push(b'\n');
    write_private(&password_file, &line)?;
    pfxfile::save(&pfx, &key, &[certificate, root_ca.certificate.clone()], &password)?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(Some(files))
}

/// The register signer: made once (key under the CA passphrase, certificate from the
/// root, recorded), loaded on every later start; re-issued when its certificate nears
/// its end.
pub(crate) async fn ensure_register_signer(
    store: &Store,
    data: &Path,
    root_ca: &CentreCa,
    passphrase: &[u8],
    settings: &bootstrap::Settings,
) -> Result<RegisterSigner, CaError> {
    let key_file = key_path(data, "register");
    let cert_file = cert_path(data, "register");
    let now = OffsetDateTime::now_utc();
    if key_file.exists() && cert_file.exists() {
        let certificate = read_one_cert(&cert_file)?;
        let key = stored::open(&key_file, passphrase)?;
        check_key(&key_file, &key, &certificate, settings.algorithm)?;
        if cert::info(&certificate)?.not_after > now + Duration::days(30) {
            let mut tx = store.begin().await?;
            record_root_issued(&mut tx, &certificate).await?;
            tx.commit().await.map_err(imzo_store::StoreError::from)?;
            return Ok(RegisterSigner::new(certificate, root_ca.certificate.clone(), Arc::new(key)));
        }
    }
    let key = SoftwareKey::generate_with(settings.algorithm)?;
    let params = IssueParams {
        subject: Subject {
            common_name: REGISTER_SIGNER_NAME.to_string(),
            organization: Some("Imzo Authorised Body".to_string()),
            country: Some("UZ".to_string()),
            ..Subject::default()
        },
        subject_public_key_der: key.public_key_der().to_vec(),
        serial: new_serial()?,
        not_before: now - Duration::minutes(1),
        not_after: now + Duration::days(REGISTER_SIGNER_VALIDITY_DAYS),
        profile: Profile::Holder,
        urls: root_ca.urls().clone(),
        policy_oid: None,
    };
    let mut tx = store.begin().await?;
    let issued = root_ca.issue_with(&mut tx, &params, None).await?;
    audit::record(
        &mut tx,
        AuditEntry {
            centre_id: None,
            actor: crate::root::ACTOR,
            action: "register.signer_issued",
            subject: &issued.serial_hex,
            details: serde_json::json!({ "not_after": to_ms(now + Duration::days(REGISTER_SIGNER_VALIDITY_DAYS)) }),
        },
    )
    .await?;
    save_ca_key(&key_file, &key, passphrase)?;
    write_private(&cert_file, cert::to_pem(&issued.certificate)?.as_bytes())?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(RegisterSigner::new(issued.certificate, root_ca.certificate.clone(), Arc::new(key)))
}
