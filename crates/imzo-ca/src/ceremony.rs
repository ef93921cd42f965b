//! The authorised body's ceremonies, as `imzo ca` runs them: the root's key generation,
//! a centre's key and request (made where the centre's key will live), the root signing
//! a centre's request (the centre is then registered), revoking a centre. Each one that
//! changes the register is one audited transaction and leaves a ceremony record (JSON)
//! in `DATA/ceremonies/`.

use crate::authority::{self, Names};
use crate::files::{io, private_dir, random_hex, read_secret, write_private};
use crate::{CaError, CentreCa, bootstrap, serial::new_serial};
use imzo_keys::{SoftwareKey, keyfile};
use imzo_pki::{
    Certificate, RawSigner,
    cert::{self, IssueParams, Profile, PublicationUrls},
    crl::RevocationReason,
    name::Subject,
};
use imzo_store::{
    Store,
    audit::{self, AuditEntry},
    cas::{self, NewCa},
    centres, certificates, status,
    time_ms::{now_ms, to_ms},
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// SHA-256 fingerprint of a certificate as OpenSSL prints it (`AB:CD:…`).
pub fn fingerprint(certificate: &Certificate) -> Result<String, CaError> {
    use sha2::Digest;
    let der = cert::to_der(certificate)?;
    let digest = sha2::Sha256::digest(&der);
    Ok(digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
}

/// What a ceremony leaves behind.
#[derive(Debug, Clone)]
pub struct Record {
    /// The ceremony record file.
    pub record_file: PathBuf,
    /// The certificate made (root or centre CA), PEM file.
    pub certificate_file: PathBuf,
    /// Its SHA-256 fingerprint.
    pub fingerprint: String,
    /// CA id (`root`, `rc11`).
    pub ca_id: String,
}

fn write_record(data: &Path, kind: &str, body: serde_json::Value) -> Result<PathBuf, CaError> {
    let dir = data.join("ceremonies");
    private_dir(&dir)?;
    let path = dir.join(format!("{}-{kind}.json", now_ms()));
    let text = serde_json::to_string_pretty(&body).map_err(|e| CaError::Setup(format!("ceremony record: {e}")))?;
    write_private(&path, text.as_bytes())?;
    Ok(path)
}

/// True when of bootstrap's files (passphrase, root key, root certificate, centre 1's key
/// and certificate, operator 1's .pfx and password, in that order) only the first three
/// exist: a folder `imzo ca init-root` made.
pub(crate) fn root_only(files: &[&Path]) -> bool {
    files.len() == 7 && files[..3].iter().all(|p| p.exists()) && files[3..].iter().all(|p| !p.exists())
}

/// `imzo ca init-root`: generates the root key in `data` (encrypted under a new random
/// passphrase in `DATA/secrets/ca-passphrase`), self-signs the root, records it and the
/// ceremony. Refuses a folder or database that has a root already.
pub async fn init_root(store: &Store, data: &Path, settings: &bootstrap::Settings) -> Result<Record, CaError> {
    let passphrase_file = data.join("secrets").join("ca-passphrase");
    let key_file = data.join("pki").join("root.key.pem");
    let cert_file = data.join("pki").join("root.pem");
    if key_file.exists() || cert_file.exists() || cas::ca(store.pool(), bootstrap::ROOT_ID).await?.is_some() {
        return Err(CaError::Setup(format!(
            "a root exists already ({} or the database); a root is made once",
            cert_file.display()
        )));
    }
    for dir in ["secrets", "pki", "operators"] {
        private_dir(&data.join(dir))?;
    }
    let passphrase = if passphrase_file.exists() {
        read_secret(&passphrase_file)?
    } else {
        let p = random_hex(32)?;
        write_private(&passphrase_file, p.as_bytes())?;
        p
    };
    let key = SoftwareKey::generate_with(settings.algorithm)?;
    let now = OffsetDateTime::now_utc();
    let root = cert::issue(
        None,
        &key,
        &IssueParams {
            subject: Subject {
                common_name: bootstrap::ROOT_NAME.to_string(),
                organization: Some("Imzo Authorised Body".to_string()),
                country: Some("UZ".to_string()),
                ..Subject::default()
            },
            subject_public_key_der: key.public_key_der().to_vec(),
            serial: new_serial()?,
            not_before: now - Duration::minutes(1),
            not_after: now + Duration::days(bootstrap::ROOT_VALIDITY_DAYS),
            profile: Profile::Root,
            urls: PublicationUrls::default(),
            policy_oid: None,
        },
    )?;
    keyfile::save(&key_file, &key, passphrase.as_bytes())?;
    write_private(&cert_file, cert::to_pem(&root)?.as_bytes())?;
    let print = fingerprint(&root)?;
    let info = cert::info(&root)?;
    let der = cert::to_der(&root)?;
    let mut tx = store.begin().await?;
    cas::insert_ca(
        &mut tx,
        &NewCa {
            id: bootstrap::ROOT_ID,
            kind: "root",
            parent_id: None,
            name: bootstrap::ROOT_NAME,
            cert_der: &der,
            key_ref: &key_file.display().to_string(),
        },
    )
    .await?;
    let details = serde_json::json!({
        "ceremony": "init-root", "subject": info.subject, "serial": info.serial_hex, "sha256": print,
        "algorithm": settings.algorithm.to_string(), "not_before": to_ms(info.not_before), "not_after": to_ms(info.not_after),
        "key_ref": key_file.display().to_string(),
    });
    audit::record(
        &mut tx,
        AuditEntry { centre_id: None, actor: crate::root::ACTOR, action: "root.initialised", subject: bootstrap::ROOT_ID, details: details.clone() },
    )
    .await?;
    let record_file = write_record(data, "init-root", details)?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(Record { record_file, certificate_file: cert_file, fingerprint: print, ca_id: bootstrap::ROOT_ID.to_string() })
}

/// The root of `data`, loaded to issue.
pub fn load_root(data: &Path, settings: &bootstrap::Settings) -> Result<CentreCa, CaError> {
    let passphrase = read_secret(&data.join("secrets").join("ca-passphrase"))?;
    let cert_file = data.join("pki").join("root.pem");
    let bytes = std::fs::read(&cert_file).map_err(|e| io(&cert_file, e))?;
    let root = imzo_pki::pem::read_certificates(&bytes)?
        .into_iter()
        .next()
        .ok_or_else(|| CaError::Setup(format!("{} holds no certificate", cert_file.display())))?;
    let key = imzo_keys::stored::open(&data.join("pki").join("root.key.pem"), passphrase.as_bytes())?;
    if cert::public_key_der(&root)? != key.public_key_der() {
        return Err(CaError::Setup("the root key file does not hold the root certificate's key".to_string()));
    }
    Ok(authority::root_ca(&root, Arc::new(key), settings.public_url.as_deref()))
}

/// Centre 1 and operator 1 for a folder `imzo ca init-root` made (files, then rows).
pub(crate) async fn complete_first_centre(store: &Store, data: &Path, settings: &bootstrap::Settings) -> Result<(), CaError> {
    let root_ca = load_root(data, settings)?;
    let passphrase = read_secret(&data.join("secrets").join("ca-passphrase"))?;
    let key = SoftwareKey::generate_with(settings.algorithm)?;
    let certificate = authority::issue_centre_certificate(&root_ca, bootstrap::CENTRE_NAME, key.public_key_der())?;
    let key_file = data.join("pki").join("rc1.key.pem");
    authority::save_ca_key(&key_file, &key, passphrase.as_bytes())?;
    write_private(&data.join("pki").join("rc1.pem"), cert::to_pem(&certificate)?.as_bytes())?;
    let centre = CentreCa::new(
        bootstrap::CENTRE_ID.to_string(),
        bootstrap::CENTRE_ID.to_string(),
        certificate.clone(),
        root_ca.certificate.clone(),
        Arc::new(key),
        bootstrap::publication_urls(settings.public_url.as_deref(), bootstrap::CENTRE_ID),
        None,
    );
    let operator_key = SoftwareKey::generate_with(settings.algorithm)?;
    let mut tx = store.begin().await?;
    authority::record_centre(&mut tx, bootstrap::CENTRE_ID, 1, &authority::default_names(1), &certificate, &key_file.display().to_string())
        .await?;
    let operator = authority::issue_person(
        &mut tx,
        &root_ca,
        &centre,
        bootstrap::OPERATOR_NAME,
        authority::ROLE_OPERATOR,
        operator_key.public_key_der(),
    )
    .await?;
    let password = random_hex(16)?;
    let mut line = zeroize::Zeroizing::new(password.as_bytes().to_vec());
    line.push(b'\n');
    write_private(&data.join("operators").join("operator1.password"), &line)?;
    imzo_keys::pfxfile::save(
        &data.join("operators").join("operator1.pfx"),
        &operator_key,
        &[operator, root_ca.certificate.clone()],
        &password,
    )?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(())
}

/// What `imzo ca centre new` made.
#[derive(Debug, Clone)]
pub struct CentreRequest {
    /// The encrypted key file (where the centre's key lives).
    pub key_file: PathBuf,
    /// The PKCS#10 request (PEM) to take to the authorised body.
    pub request_file: PathBuf,
    /// SHA-256 of the public key, hex.
    pub public_key_sha256: String,
}

/// A file-name-safe form of a centre's name.
fn slug(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let s = s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
    if s.is_empty() { "centre".to_string() } else { s }
}

/// `imzo ca centre new NAME`: the centre makes its CA key (encrypted under `passphrase`)
/// and a PKCS#10 request in `dir`, where the key will live. No file is overwritten.
pub fn centre_new(
    dir: &Path,
    name: &str,
    passphrase: &[u8],
    algorithm: imzo_keys::KeyAlgorithm,
) -> Result<CentreRequest, CaError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(CaError::Setup("NAME: give the centre's name, 1 to 64 printable characters".to_string()));
    }
    private_dir(dir)?;
    let base = slug(name);
    let key_file = dir.join(format!("{base}.key.pem"));
    let request_file = dir.join(format!("{base}.csr.pem"));
    for f in [&key_file, &request_file] {
        if f.exists() {
            return Err(CaError::Setup(format!("{} exists already; choose another name or folder", f.display())));
        }
    }
    let key = SoftwareKey::generate_with(algorithm)?;
    let subject = Subject {
        common_name: name.to_string(),
        organization: Some(name.to_string()),
        country: Some("UZ".to_string()),
        ..Subject::default()
    };
    let der = imzo_pki::csr::build(&key, &subject)?;
    authority::save_ca_key(&key_file, &key, passphrase)?;
    write_private(&request_file, pem("CERTIFICATE REQUEST", &der).as_bytes())?;
    Ok(CentreRequest {
        key_file,
        request_file,
        public_key_sha256: certificates::spki_sha256(key.public_key_der()),
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// `imzo ca centre issue REQ`: the root signs a centre's request; the centre is
/// registered under the next number. `names` default to the request's common name;
/// `key_ref` says where the centre keeps its key (recorded, so a deployment holding that
/// key file can run the centre).
pub async fn centre_issue(
    store: &Store,
    data: &Path,
    request: &[u8],
    names: Option<Names>,
    key_ref: Option<&str>,
    settings: &bootstrap::Settings,
) -> Result<Record, CaError> {
    let csr = imzo_pki::csr::parse_and_verify(request)
        .map_err(|e| CaError::Setup(format!("REQ is not a valid PKCS#10 request: {e}")))?;
    let spki = certificates::spki_sha256(&csr.public_key_der);
    if !certificates::by_spki_sha256(store.pool(), &spki).await?.is_empty() {
        return Err(CaError::Setup("REQ: this key is certified already; a centre needs a key of its own".to_string()));
    }
    for ca in cas::all_cas(store.pool()).await? {
        if certificates::cert_spki_sha256(&ca.cert_der).as_deref() == Some(spki.as_str()) {
            return Err(CaError::Setup(format!("REQ: this key is CA {}'s already", ca.id)));
        }
    }
    let common_name = csr
        .subject
        .split(',')
        .find_map(|part| part.trim().strip_prefix("CN="))
        .map(str::to_string)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| CaError::Setup("REQ: the request's subject has no common name (the centre's name)".to_string()))?;
    let root_ca = load_root(data, settings)?;
    let names = names.unwrap_or_else(|| Names { uz: common_name.clone(), ru: common_name.clone(), en: common_name.clone() });
    let certificate = authority::issue_centre_certificate(&root_ca, &common_name, &csr.public_key_der)?;
    let mut tx = store.begin().await?;
    // Numbers 1…10 belong to the embedded default's centres, which `imzo up` makes on a
    // root-only folder; a centre registered before that first start must not take one.
    let number = centres::next_number(&mut *tx).await?.max(authority::DEFAULT_CENTRES + 1);
    let id = authority::centre_id(number);
    if cas::ca(&mut *tx, &id).await?.is_some() {
        return Err(CaError::Setup(format!("CA id {id} is taken; the register's numbering is inconsistent")));
    }
    authority::record_centre(&mut tx, &id, number, &names, &certificate, key_ref.unwrap_or("external")).await?;
    let print = fingerprint(&certificate)?;
    let info = cert::info(&certificate)?;
    let certificate_file = data.join("pki").join(format!("{id}.issued.pem"));
    write_private(&certificate_file, cert::to_pem(&certificate)?.as_bytes())?;
    let record_file = write_record(
        data,
        &format!("centre-issue-{id}"),
        serde_json::json!({
            "ceremony": "centre-issue", "centre": id, "number": number, "names": names, "subject": info.subject,
            "serial": info.serial_hex, "sha256": print, "not_after": to_ms(info.not_after), "key_ref": key_ref,
        }),
    )?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(Record { record_file, certificate_file, fingerprint: print, ca_id: id })
}

/// `imzo ca centre revoke ID --reason R`: the centre's registration and its CA
/// certificate are revoked in one audited transaction (the root's CRL and OCSP say so).
pub async fn centre_revoke(store: &Store, data: &Path, id: &str, reason: RevocationReason) -> Result<Record, CaError> {
    let ca = cas::ca(store.pool(), id).await?.ok_or_else(|| CaError::Setup(format!("ID: no centre {id} in the register")))?;
    let certificate = imzo_pki::pem::read_certificates(&ca.cert_der)?
        .into_iter()
        .next()
        .ok_or_else(|| CaError::Setup(format!("centre {id}'s record holds no certificate")))?;
    let info = cert::info(&certificate)?;
    let now = now_ms();
    let mut tx = store.begin().await?;
    if !centres::revoke(&mut tx, id, reason.name(), now).await? {
        return Err(CaError::Setup(format!("ID: centre {id} is not an active registered centre")));
    }
    authority::record_root_issued(&mut tx, &certificate).await?;
    status::revoke(&mut tx, &info.serial_hex, reason.code(), now).await?;
    let details = serde_json::json!({ "ceremony": "centre-revoke", "centre": id, "serial": info.serial_hex, "reason": reason.name() });
    audit::record(
        &mut tx,
        AuditEntry { centre_id: None, actor: crate::root::ACTOR, action: "centre.revoked", subject: id, details: details.clone() },
    )
    .await?;
    let record_file = write_record(data, &format!("centre-revoke-{id}"), details)?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(Record { record_file, certificate_file: PathBuf::new(), fingerprint: fingerprint(&certificate)?, ca_id: id.to_string() })
}

/// The register signer of `data` (issued by the root and recorded if missing or near its
/// end), for `imzo ca register export`.
pub async fn register_signer(
    store: &Store,
    data: &Path,
    settings: &bootstrap::Settings,
) -> Result<authority::RegisterSigner, CaError> {
    let root_ca = load_root(data, settings)?;
    let passphrase = read_secret(&data.join("secrets").join("ca-passphrase"))?;
    authority::ensure_register_signer(store, data, &root_ca, passphrase.as_bytes(), settings).await
}
