//! The embedded deployment's CAs: created on first start, reused on every later one.
//!
//! Layout of the data folder (`DATA`):
//! - `secrets/ca-passphrase` — random passphrase of the CA key files (0600);
//! - `pki/root.key.pem`, `pki/root.pem` — the authorised body's root (20 years);
//! - `pki/rc1.key.pem`, `pki/rc1.pem` — registration centre 1's CA (10 years);
//! - `operators/operator1.pfx`, `operators/operator1.password` — the first operator's
//!   key and certificate (issued by rc1, 2 years) and its password (0600).
//!
//! The keys are ECDSA P-256 or O'z DSt 1092 (parameter set .1), as `ca.algorithm` says
//! ([`Settings::algorithm`]): a fresh data folder can start a fully national hierarchy.
//!
//! Files are written first, then the database rows in one transaction. A later start
//! checks that files and rows agree; a folder with only some of the files is refused.

use crate::files::{io, private_dir, random_hex, read_secret, write_private};
use crate::{CaError, CentreCa, serial::new_serial};
use imzo_keys::{KeyAlgorithm, SoftwareKey, keyfile, pfxfile};
use imzo_pki::{
    Certificate, RawSigner,
    cert::{self, IssueParams, Profile, PublicationUrls},
    name::Subject,
};
use imzo_store::{
    Store,
    cas::{self, NewCa},
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Id of the authorised body's root in the `cas` table.
pub const ROOT_ID: &str = "root";
/// Id of the first registration centre and of its CA.
pub const CENTRE_ID: &str = "rc1";
/// Common name of the root.
pub const ROOT_NAME: &str = "Imzo Authorised Body Root";
/// Common name of the first centre's CA.
pub const CENTRE_NAME: &str = "Imzo Registration Centre 1";
/// Name of the first operator.
pub const OPERATOR_NAME: &str = "Imzo Operator 1";
/// Root validity: 20 years.
pub const ROOT_VALIDITY_DAYS: i64 = 20 * 365 + 5;
/// Centre CA validity: 10 years.
pub const CENTRE_VALIDITY_DAYS: i64 = 10 * 365 + 3;

/// What the CA part of the deployment needs from the settings.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Public base URL (`http://127.0.0.1:8080`) from which CRL, OCSP and CA certificate
    /// URLs in issued certificates are built; none publishes no URLs.
    pub public_url: Option<String>,
    /// certificatePolicies OID (dotted) for holder certificates.
    pub policy_oid: Option<String>,
    /// Key algorithm of the root, the centre CA and the first operator made on first
    /// start (`ca.algorithm`); a later start refuses a data folder whose CA keys differ.
    pub algorithm: KeyAlgorithm,
}

/// The CAs of a running deployment and where its operator key file is.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The authorised body's root certificate.
    pub root: Certificate,
    /// Registration centre 1's CA, ready to issue.
    pub centre: CentreCa,
    /// The first operator's .pfx.
    pub operator_pfx: PathBuf,
    /// The file holding the operator .pfx's password.
    pub operator_password_file: PathBuf,
    /// `DATA/pki/root.pem`.
    pub root_pem: PathBuf,
    /// `DATA/pki/rc1.pem`.
    pub centre_pem: PathBuf,
    /// The root as the publisher of its own CRL (`/crl/root.crl`: revoked centre CAs),
    /// its key behind the signer interface.
    pub root_crl: crate::crl::CrlIssuer,
    /// The authorised body's side: the root as an issuer, every centre whose key this
    /// deployment holds (centre 1 first), authorised persons' key files, register signer.
    pub authority: crate::authority::Authority,
}

/// The files of a deployment, by role.
struct Paths {
    passphrase: PathBuf,
    root_key: PathBuf,
    root_cert: PathBuf,
    centre_key: PathBuf,
    centre_cert: PathBuf,
    operator_pfx: PathBuf,
    operator_password: PathBuf,
}

impl Paths {
    fn new(data: &Path) -> Paths {
        Paths {
            passphrase: data.join("secrets").join("ca-passphrase"),
            root_key: data.join("pki").join("root.key.pem"),
            root_cert: data.join("pki").join("root.pem"),
            centre_key: data.join("pki").join("rc1.key.pem"),
            centre_cert: data.join("pki").join("rc1.pem"),
            operator_pfx: data.join("operators").join("operator1.pfx"),
            operator_password: data.join("operators").join("operator1.password"),
        }
    }

    fn all(&self) -> [&PathBuf; 7] {
        [
            &self.passphrase,
            &self.root_key,
            &self.root_cert,
            &self.centre_key,
            &self.centre_cert,
            &self.operator_pfx,
            &self.operator_password,
        ]
    }
}

/// The URLs published in certificates issued by CA `ca_id`.
pub fn publication_urls(public_url: Option<&str>, ca_id: &str) -> PublicationUrls {
    match public_url.map(|u| u.trim_end_matches('/')) {
        Some(base) if !base.is_empty() => PublicationUrls {
            crl: Some(format!("{base}/crl/{ca_id}.crl")),
            ocsp: Some(format!("{base}/ocsp")),
            ca_issuers: Some(format!("{base}/ca/{ca_id}.crt")),
            freshest_crl: Some(format!("{base}/crl/{ca_id}-delta.crl")),
        },
        _ => PublicationUrls::default(),
    }
}

/// Creates the deployment's CAs and first operator in `data_dir` and `store` on first
/// start, or loads and checks them on every later one.
pub async fn ensure(store: &Store, data_dir: &Path, settings: &Settings) -> Result<Deployment, CaError> {
    let paths = Paths::new(data_dir);
    let present: Vec<&PathBuf> = paths.all().into_iter().filter(|p| p.exists()).collect();
    let root_row = cas::ca(store.pool(), ROOT_ID).await?;
    if present.is_empty() {
        if root_row.is_some() {
            return Err(CaError::Setup(format!(
                "the database already holds a deployment's CAs, but {} has none of its files; \
                 use the data folder that belongs to this database",
                data_dir.display()
            )));
        }
        create(store, data_dir, &paths, settings).await?;
    } else if crate::ceremony::root_only(&paths.all().map(|p| p.as_path())) {
        // `imzo ca init-root` made the root alone: centre 1 and its operator come now.
        crate::ceremony::complete_first_centre(store, data_dir, settings).await?;
    } else if present.len() < paths.all().len() {
        let missing: Vec<String> =
            paths.all().into_iter().filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
        return Err(CaError::Setup(format!(
            "the data folder {} is half-made (missing {}); restore it from a backup, or delete it to start afresh",
            data_dir.display(),
            missing.join(", ")
        )));
    }
    load(store, &paths, settings).await
}

async fn create(store: &Store, data_dir: &Path, paths: &Paths, settings: &Settings) -> Result<(), CaError> {
    for dir in ["secrets", "pki", "operators"] {
        private_dir(&data_dir.join(dir))?;
    }
    let passphrase = random_hex(32)?;
    let now = OffsetDateTime::now_utc();

    let root_key = SoftwareKey::generate_with(settings.algorithm)?;
    let root_subject = ca_subject(ROOT_NAME, "Imzo Authorised Body");
    let root = cert::issue(
        None,
        &root_key,
        &IssueParams {
            subject: root_subject,
            subject_public_key_der: root_key.public_key_der().to_vec(),
            serial: new_serial()?,
            not_before: now - Duration::minutes(1),
            not_after: now + Duration::days(ROOT_VALIDITY_DAYS),
            profile: Profile::Root,
            urls: PublicationUrls::default(),
            policy_oid: None,
        },
    )?;

    let centre_key = SoftwareKey::generate_with(settings.algorithm)?;
    let centre = cert::issue(
        Some(&root),
        &root_key,
        &IssueParams {
            subject: ca_subject(CENTRE_NAME, CENTRE_NAME),
            subject_public_key_der: centre_key.public_key_der().to_vec(),
            serial: new_serial()?,
            not_before: now - Duration::minutes(1),
            not_after: now + Duration::days(CENTRE_VALIDITY_DAYS),
            profile: Profile::CentreCa,
            urls: publication_urls(settings.public_url.as_deref(), ROOT_ID),
            policy_oid: None,
        },
    )?;

    // The passphrase goes first: every later file is useless without it, and a crash
    // after any step leaves a half-made folder that the next start refuses by name.
    write_private(&paths.passphrase, passphrase.as_bytes())?;
    keyfile::save(&paths.root_key, &root_key, passphrase.as_bytes())?;
    write_private(&paths.root_cert, cert::to_pem(&root)?.as_bytes())?;
    keyfile::save(&paths.centre_key, &centre_key, passphrase.as_bytes())?;
    write_private(&paths.centre_cert, cert::to_pem(&centre)?.as_bytes())?;

    let centre_ca = CentreCa::new(
        CENTRE_ID.to_string(),
        CENTRE_ID.to_string(),
        centre.clone(),
        root.clone(),
        Arc::new(centre_key),
        publication_urls(settings.public_url.as_deref(), CENTRE_ID),
        None,
    );
    let operator_key = SoftwareKey::generate_with(settings.algorithm)?;

    let mut tx = store.begin().await?;
    let root_der = cert::to_der(&root)?;
    let centre_der = cert::to_der(&centre)?;
    cas::insert_ca(
        &mut tx,
        &NewCa {
            id: ROOT_ID,
            kind: "root",
            parent_id: None,
            name: ROOT_NAME,
            cert_der: &root_der,
            key_ref: &paths.root_key.display().to_string(),
        },
    )
    .await?;
    cas::insert_ca(
        &mut tx,
        &NewCa {
            id: CENTRE_ID,
            kind: "centre",
            parent_id: Some(ROOT_ID),
            name: CENTRE_NAME,
            cert_der: &centre_der,
            key_ref: &paths.centre_key.display().to_string(),
        },
    )
    .await?;
    cas::insert_centre(&mut tx, CENTRE_ID, CENTRE_NAME, CENTRE_ID).await?;
    record_centre_certificate(&mut tx, &centre).await?;
    // The authorised body issues the certificates of a centre's authorised persons.
    let root_issuer = crate::authority::root_ca(&root, Arc::new(root_key), settings.public_url.as_deref());
    let operator_cert = crate::authority::issue_person(
        &mut tx,
        &root_issuer,
        &centre_ca,
        OPERATOR_NAME,
        crate::authority::ROLE_OPERATOR,
        operator_key.public_key_der(),
    )
    .await?;

    let password = random_hex(16)?;
    let mut line = zeroize::Zeroizing::new(password.as_bytes().to_vec());
    line.push(b'\n');
    write_private(&paths.operator_password, &line)?;
    pfxfile::save(&paths.operator_pfx, &operator_key, &[operator_cert, root], &password)?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    tracing::info!(data = %data_dir.display(), "bootstrapped root, centre CA rc1 and operator 1");
    Ok(())
}

async fn load(store: &Store, paths: &Paths, settings: &Settings) -> Result<Deployment, CaError> {
    let passphrase = read_secret(&paths.passphrase)?;
    let root = read_one_cert(&paths.root_cert)?;
    let centre = read_one_cert(&paths.centre_cert)?;
    // Key files, or token pointers naming PKCS#11 keys (imzo_keys::stored).
    let root_key = imzo_keys::stored::open(&paths.root_key, passphrase.as_bytes())?;
    let centre_key = imzo_keys::stored::open(&paths.centre_key, passphrase.as_bytes())?;
    same_key(&paths.root_key, &root_key, &root)?;
    same_key(&paths.centre_key, &centre_key, &centre)?;
    same_algorithm(&paths.root_key, &root_key, settings.algorithm)?;
    same_algorithm(&paths.centre_key, &centre_key, settings.algorithm)?;

    let operator_password = read_secret(&paths.operator_password)?;
    let operator = pfxfile::open(&paths.operator_pfx, &operator_password)?;
    let operator_cert = operator
        .chain
        .first()
        .ok_or_else(|| CaError::Setup(format!("{} holds no certificate", paths.operator_pfx.display())))?;
    let operator_info = cert::info(operator_cert)?;

    let root_der = cert::to_der(&root)?;
    let centre_der = cert::to_der(&centre)?;
    let root_row = cas::ca(store.pool(), ROOT_ID).await?;
    let centre_row = cas::ca(store.pool(), CENTRE_ID).await?;
    let centre_record = cas::centre(store.pool(), CENTRE_ID).await?;
    let operator_row = cas::lookup_operator_by_cert_sha256(store.pool(), &operator_info.sha256_hex).await?;
    match (&root_row, &centre_row, &centre_record) {
        (Some(r), Some(c), Some(_)) => {
            if r.cert_der != root_der {
                return Err(disagree(&paths.root_cert));
            }
            if c.cert_der != centre_der {
                return Err(disagree(&paths.centre_cert));
            }
            if operator_row.as_ref().is_none_or(|o| o.centre_id != CENTRE_ID) {
                return Err(disagree(&paths.operator_pfx));
            }
            // Deployments made before the root published a CRL have no record of the
            // certificate it issued to the centre: add it, so it can be revoked.
            let centre_serial = cert::info(&centre)?.serial_hex;
            if imzo_store::certificates::by_serial(store.pool(), &centre_serial).await?.is_none() {
                let mut tx = store.begin().await?;
                record_centre_certificate(&mut tx, &centre).await?;
                tx.commit().await.map_err(imzo_store::StoreError::from)?;
            }
        }
        (None, None, None) if operator_row.is_none() => {
            // A fresh database next to an existing data folder (for example the first
            // start against PostgreSQL): record what the files hold.
            let mut tx = store.begin().await?;
            cas::insert_ca(
                &mut tx,
                &NewCa {
                    id: ROOT_ID,
                    kind: "root",
                    parent_id: None,
                    name: ROOT_NAME,
                    cert_der: &root_der,
                    key_ref: &paths.root_key.display().to_string(),
                },
            )
            .await?;
            cas::insert_ca(
                &mut tx,
                &NewCa {
                    id: CENTRE_ID,
                    kind: "centre",
                    parent_id: Some(ROOT_ID),
                    name: CENTRE_NAME,
                    cert_der: &centre_der,
                    key_ref: &paths.centre_key.display().to_string(),
                },
            )
            .await?;
            cas::insert_centre(&mut tx, CENTRE_ID, CENTRE_NAME, CENTRE_ID).await?;
            record_centre_certificate(&mut tx, &centre).await?;
            let operator_der = cert::to_der(operator_cert)?;
            imzo_store::certificates::insert(
                &mut tx,
                &imzo_store::certificates::NewCertificate {
                    serial: &operator_info.serial_hex,
                    // Operator 1 of a one-centre folder was issued by rc1, later ones by the root.
                    ca_id: if operator_info.issuer == cert::info(&root)?.subject { ROOT_ID } else { CENTRE_ID },
                    application_id: None,
                    subject: &operator_info.subject,
                    pinfl: None,
                    inn: None,
                    not_before_ms: imzo_store::time_ms::to_ms(operator_info.not_before),
                    not_after_ms: imzo_store::time_ms::to_ms(operator_info.not_after),
                    cert_der: &operator_der,
                },
            )
            .await?;
            cas::insert_operator(&mut tx, CENTRE_ID, OPERATOR_NAME, &operator_der, &operator_info.sha256_hex).await?;
            tx.commit().await.map_err(imzo_store::StoreError::from)?;
            tracing::info!("recorded the data folder's CAs and operator in a fresh database");
        }
        _ => {
            return Err(CaError::Setup(
                "the database holds only part of the deployment's CAs, centres and operators; \
                 restore it from a backup or start with a fresh database"
                    .to_string(),
            ));
        }
    }

    let centre_ca = CentreCa::new(
        CENTRE_ID.to_string(),
        CENTRE_ID.to_string(),
        centre,
        root.clone(),
        Arc::new(centre_key),
        publication_urls(settings.public_url.as_deref(), CENTRE_ID),
        settings.policy_oid.clone(),
    );
    let root_signer: Arc<dyn RawSigner> = Arc::new(root_key);
    let root_crl = crate::crl::CrlIssuer::new(ROOT_ID.to_string(), root.clone(), Arc::clone(&root_signer))
        .with_delta_next_to(publication_urls(settings.public_url.as_deref(), ROOT_ID).crl.as_deref());
    let authority = crate::authority::ensure(
        store,
        crate::authority::EnsureInput {
            data_dir: paths.passphrase.parent().and_then(Path::parent).unwrap_or(Path::new(".")),
            root_ca: crate::authority::root_ca(&root, root_signer, settings.public_url.as_deref()),
            first_centre: centre_ca.clone(),
            settings,
        },
    )
    .await?;
    Ok(Deployment {
        root,
        root_crl,
        authority,
        centre: centre_ca,
        operator_pfx: paths.operator_pfx.clone(),
        operator_password_file: paths.operator_password.clone(),
        root_pem: paths.root_cert.clone(),
        centre_pem: paths.centre_cert.clone(),
    })
}

/// Records the centre CA's certificate as one the root issued, so the root's CRL and the
/// authorised body's revocation ([`crate::root`]) know it.
async fn record_centre_certificate(tx: &mut imzo_store::Tx<'_>, centre: &Certificate) -> Result<(), CaError> {
    let info = cert::info(centre)?;
    let der = cert::to_der(centre)?;
    imzo_store::certificates::insert(
        tx,
        &imzo_store::certificates::NewCertificate {
            serial: &info.serial_hex,
            ca_id: ROOT_ID,
            application_id: None,
            subject: &info.subject,
            pinfl: None,
            inn: None,
            not_before_ms: imzo_store::time_ms::to_ms(info.not_before),
            not_after_ms: imzo_store::time_ms::to_ms(info.not_after),
            cert_der: &der,
        },
    )
    .await?;
    Ok(())
}

fn ca_subject(common_name: &str, organization: &str) -> Subject {
    Subject {
        common_name: common_name.to_string(),
        organization: Some(organization.to_string()),
        country: Some("UZ".to_string()),
        ..Subject::default()
    }
}

fn read_one_cert(path: &Path) -> Result<Certificate, CaError> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    let mut certs = imzo_pki::pem::read_certificates(&bytes)?;
    if certs.len() != 1 {
        return Err(CaError::Setup(format!("{} must hold exactly one certificate, found {}", path.display(), certs.len())));
    }
    Ok(certs.remove(0))
}

fn same_key(key_path: &Path, key: &imzo_keys::StoredKey, certificate: &Certificate) -> Result<(), CaError> {
    let cert_spki = der_spki(certificate)?;
    if cert_spki != key.public_key_der() {
        return Err(CaError::Setup(format!("{} does not hold the key of its certificate", key_path.display())));
    }
    Ok(())
}

/// A deployment configured for one algorithm must not run silently on keys of another.
fn same_algorithm(key_path: &Path, key: &imzo_keys::StoredKey, configured: KeyAlgorithm) -> Result<(), CaError> {
    if key.key_algorithm() != Some(configured) {
        let held = key.key_algorithm().map_or_else(|| "another algorithm".to_string(), |a| a.to_string());
        return Err(CaError::Setup(format!(
            "ca.algorithm is {configured}, but {} holds a {held} key; set ca.algorithm to match the data folder, \
             or start with a fresh data folder",
            key_path.display()
        )));
    }
    Ok(())
}

fn der_spki(certificate: &Certificate) -> Result<Vec<u8>, CaError> {
    use der::Encode;
    certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| CaError::Setup(format!("cannot encode a certificate's public key: {e}")))
}

fn disagree(path: &Path) -> CaError {
    CaError::Setup(format!(
        "{} does not match the database's record; the data folder and the database belong to different deployments",
        path.display()
    ))
}
