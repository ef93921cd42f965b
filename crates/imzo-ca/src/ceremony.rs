//! The authorised body's ceremonies, as `imzo ca` runs them: the root's key generation,
//! a centre's key and request (made where the centre's key will live), the root signing
//! a centre's request (the centre is then registered), revoking a centre. Each one that
//! changes the register is one audited transaction and leaves a ceremony record (JSON)
//! in `DATA/ceremonies/`.

use crate::authority::{self, Names};
use crate::files::{io, private_dir, random_hex, read_secret, write_private};
use crate::{CaError, CentreCa, bootstrap, serial::new_serial};
use imzo_keys::SoftwareKey;
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
    /// Where the key lives, for init-root: the key file, or the token URI (no PIN).
    pub key_ref: Option<String>,
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
///
/// With `token` (a `pkcs11:` URI) the root key lives on that token instead: the key the
/// URI names if it is there already (made beforehand with `imzo hsm keygen`), else a
/// P-256 key generated on the token now. `DATA/pki/root.key.pem` then holds only the
/// URI (a token pointer, without the PIN), so every later start signs on the token.
pub async fn init_root(
    store: &Store,
    data: &Path,
    settings: &bootstrap::Settings,
    token: Option<&str>,
) -> Result<Record, CaError> {
    if let Some(uri) = token
        && !imzo_keys::pkcs11::is_pkcs11_uri(uri)
    {
        return Err(CaError::Setup(format!("--key-ref {uri:?}: give a pkcs11: URI (RFC 7512) naming the root key's token")));
    }
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
    // The key (or, for a token, its pointer) is written before the certificate: a crash
    // in between leaves a key file, which a second init-root refuses by name rather
    // than silently making another root.
    let key = imzo_keys::stored::create(&key_file, settings.algorithm, passphrase.as_bytes(), token)?;
    let key_ref = key.reference(&key_file);
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
        "key_ref": key_ref, "key_file": key_file.display().to_string(), "on_token": token.is_some(),
    });
    audit::record(
        &mut tx,
        AuditEntry { centre_id: None, actor: crate::root::ACTOR, action: "root.initialised", subject: bootstrap::ROOT_ID, details: details.clone() },
    )
    .await?;
    let record_file = write_record(data, "init-root", details)?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(Record {
        record_file,
        certificate_file: cert_file,
        fingerprint: print,
        ca_id: bootstrap::ROOT_ID.to_string(),
        key_ref: Some(key_ref),
    })
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
    Ok(Record { record_file, certificate_file, fingerprint: print, ca_id: id, key_ref: None })
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
        // Say which: a second revocation is a different mistake from a wrong id.
        let already = centres::get(&mut *tx, id).await?.filter(|c| c.status == "revoked");
        return Err(CaError::Setup(match already {
            Some(c) => format!(
                "ID: centre {id} is already revoked ({})",
                c.revocation_reason.as_deref().unwrap_or("reason not recorded")
            ),
            None => format!("ID: centre {id} is not an active registered centre"),
        }));
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
    Ok(Record {
        record_file,
        certificate_file: PathBuf::new(),
        fingerprint: fingerprint(&certificate)?,
        ca_id: id.to_string(),
        key_ref: None,
    })
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

/// How an authorised person's key comes to be.
#[derive(Debug, Clone, Copy)]
pub enum PersonKey<'a> {
    /// The person made their key and brings this PKCS#10 request (PEM or DER): the
    /// authorised body never sees the private key.
    Request(&'a [u8]),
    /// The authorised body makes the key (of the deployment's algorithm) and hands it over
    /// as a .pfx with a random password, both written in this folder, as `imzo up` does
    /// for operator1…10.
    Generate {
        /// The folder (made private if missing).
        out: &'a Path,
    },
}

/// What `imzo ca person issue` made.
#[derive(Debug, Clone)]
pub struct PersonRecord {
    /// The ceremony record file.
    pub record_file: PathBuf,
    /// The person's certificate, PEM (`DATA/pki/persons/SERIAL.pem`).
    pub certificate_file: PathBuf,
    /// Its serial, lower-case hex (what `imzo ca person revoke` takes).
    pub serial: String,
    /// Its SHA-256 fingerprint as OpenSSL prints it.
    pub fingerprint: String,
    /// The centre the person acts for.
    pub centre_id: String,
    /// The .pfx and its password file, when the key was generated here.
    pub pfx: Option<(PathBuf, PathBuf)>,
}

/// A person's name as a certificate's common name: 1 to 64 printable characters.
fn person_name(name: &str) -> Result<String, CaError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(CaError::Setup("--name: give the person's name, 1 to 64 printable characters".to_string()));
    }
    Ok(name.to_string())
}

/// `imzo ca person issue`: the root certifies a further authorised person (`role`
/// operator or officer) of the active registered centre `centre_id`, who may then log in
/// to the console and sign decisions for it. The certificate, the register entry and the
/// audit entry commit in one transaction; a ceremony record is left.
pub async fn person_issue(
    store: &Store,
    data: &Path,
    centre_id: &str,
    name: &str,
    role: &str,
    key: PersonKey<'_>,
    settings: &bootstrap::Settings,
) -> Result<PersonRecord, CaError> {
    let name = person_name(name)?;
    if role != authority::ROLE_OPERATOR && role != authority::ROLE_OFFICER {
        return Err(CaError::Setup(format!("--role {role:?}: give operator or officer")));
    }
    let centre = centres::get(store.pool(), centre_id)
        .await?
        .ok_or_else(|| CaError::Setup(format!("--centre: no centre {centre_id} in the register")))?;
    // A revoked centre has nobody acting for it; its persons' certificates stay as they were.
    if centre.status != "active" {
        return Err(CaError::Setup(format!("--centre: centre {centre_id} is {}, not active", centre.status)));
    }
    let ca_row = cas::ca(store.pool(), &centre.ca_id)
        .await?
        .ok_or_else(|| CaError::Setup(format!("centre {centre_id} has no CA record")))?;
    let centre_certificate = imzo_pki::pem::read_certificates(&ca_row.cert_der)?
        .into_iter()
        .next()
        .ok_or_else(|| CaError::Setup(format!("centre {centre_id}'s CA record holds no certificate")))?;

    let (public_key_der, generated) = match key {
        PersonKey::Request(request) => {
            let csr = imzo_pki::csr::parse_and_verify(request)
                .map_err(|e| CaError::Setup(format!("--csr is not a valid PKCS#10 request: {e}")))?;
            (csr.public_key_der, None)
        }
        PersonKey::Generate { out } => {
            private_dir(out)?;
            let base = slug(&name);
            let pfx = out.join(format!("{base}.pfx"));
            let password_file = out.join(format!("{base}.password"));
            for f in [&pfx, &password_file] {
                if f.exists() {
                    return Err(CaError::Setup(format!("{} exists already; choose another folder with --out", f.display())));
                }
            }
            let key = SoftwareKey::generate_with(settings.algorithm)?;
            (key.public_key_der().to_vec(), Some((key, pfx, password_file)))
        }
    };
    // One key, one certificate: a key certified already (another person's, a centre's)
    // would make the register unable to tell who signed.
    let spki = certificates::spki_sha256(&public_key_der);
    if !certificates::by_spki_sha256(store.pool(), &spki).await?.is_empty() {
        return Err(CaError::Setup("--csr: this key is certified already; a person needs a key of their own".to_string()));
    }
    let root_ca = load_root(data, settings)?;
    let mut tx = store.begin().await?;
    let certificate =
        authority::issue_person_under(&mut tx, &root_ca, centre_id, &centre_certificate, &name, role, &public_key_der).await?;
    let info = cert::info(&certificate)?;
    let print = fingerprint(&certificate)?;
    let persons_dir = data.join("pki").join("persons");
    private_dir(&persons_dir)?;
    let certificate_file = persons_dir.join(format!("{}.pem", info.serial_hex));
    write_private(&certificate_file, cert::to_pem(&certificate)?.as_bytes())?;
    let pfx = match generated {
        Some((key, pfx, password_file)) => {
            let password = random_hex(16)?;
            let mut line = zeroize::Zeroizing::new(password.as_bytes().to_vec());
            line.push(b'\n');
            write_private(&password_file, &line)?;
            imzo_keys::pfxfile::save(&pfx, &key, &[certificate.clone(), root_ca.certificate.clone()], &password)?;
            Some((pfx, password_file))
        }
        None => None,
    };
    let record_file = write_record(
        data,
        &format!("person-issue-{}", info.serial_hex),
        serde_json::json!({
            "ceremony": "person-issue", "centre": centre_id, "name": name, "role": role, "subject": info.subject,
            "serial": info.serial_hex, "sha256": print, "not_after": to_ms(info.not_after),
            "key": if pfx.is_some() { "generated" } else { "request" },
        }),
    )?;
    // Files before the commit: a failed commit leaves files of a certificate nobody
    // recorded (harmless, never trusted by the console), never a recorded person whose
    // key was lost.
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(PersonRecord {
        record_file,
        certificate_file,
        serial: info.serial_hex,
        fingerprint: print,
        centre_id: centre_id.to_string(),
        pfx,
    })
}

/// What `imzo ca person revoke` did.
#[derive(Debug, Clone)]
pub struct PersonRevoked {
    /// The ceremony record file.
    pub record_file: PathBuf,
    /// The centre the person acted for.
    pub centre_id: String,
    /// The person's name.
    pub name: String,
    /// The certificate's serial, lower-case hex.
    pub serial: String,
}

/// `imzo ca person revoke SERIAL --reason R`: the authorised person's certificate is
/// revoked in one audited transaction. The console refuses them at once, the register
/// shows them revoked, and the root's CRL and OCSP say so.
pub async fn person_revoke(
    store: &Store,
    data: &Path,
    serial: &str,
    reason: RevocationReason,
) -> Result<PersonRevoked, CaError> {
    let serial = serial.trim().trim_start_matches("0x").to_ascii_lowercase();
    if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CaError::Setup(format!("SERIAL {serial:?}: give the certificate's serial in hex")));
    }
    let mut tx = store.begin().await?;
    let row = certificates::by_serial(&mut *tx, &serial)
        .await?
        .filter(|r| r.ca_id == bootstrap::ROOT_ID)
        .ok_or_else(|| CaError::Setup(format!("SERIAL: the root issued no certificate {serial}")))?;
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&row.cert_der))
    };
    let person = cas::lookup_operator_by_cert_sha256(&mut *tx, &sha256)
        .await?
        .ok_or_else(|| CaError::Setup(format!("SERIAL: certificate {serial} is not an authorised person's")))?;
    let now = now_ms();
    let before = status::revoke(&mut tx, &serial, reason.code(), now).await?;
    let details = serde_json::json!({
        "ceremony": "person-revoke", "centre": person.centre_id, "name": person.name, "serial": serial,
        "reason": reason.name(), "previous_status": before.status,
    });
    audit::record(
        &mut tx,
        AuditEntry { centre_id: None, actor: crate::root::ACTOR, action: "person.revoked", subject: &serial, details: details.clone() },
    )
    .await?;
    let record_file = write_record(data, &format!("person-revoke-{serial}"), details)?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(PersonRevoked { record_file, centre_id: person.centre_id, name: person.name, serial })
}
