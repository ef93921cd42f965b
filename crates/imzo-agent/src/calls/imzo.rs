//! Plugin `imzo`: our enrolment calls — new key + request + temporary `.pfx`, install
//! the issued certificate, sign a proof-of-possession challenge.

use super::{Args, CallError, CallResult, b64, fail, reply};
use crate::calls::pfx::{disks, open_with_prompt};
use crate::enrol;
use crate::prompt::PasswordRequest;
use crate::service::Agent;
use imzo_keys::KeyAlgorithm;
use imzo_pki::name::Subject;
use serde_json::Value;
use std::path::PathBuf;

pub(crate) async fn call(agent: &Agent, origin: &str, name: &str, args: &Args<'_>) -> CallResult {
    match name {
        "create_key" => create_key(agent, origin, args).await,
        "install_certificate" => install(agent, origin, args).await,
        "sign_challenge" => {
            let id = args.string(0, "keyId")?;
            let challenge = args.base64(1, "challenge_64")?;
            let handle = agent.key(&id, origin)?;
            agent
                .consent_to_sign(
                    origin,
                    &id,
                    &handle,
                    "an application challenge (proof that you hold the key)",
                    &challenge,
                )
                .await?;
            let key = handle.key.clone();
            let proof = tokio::task::spawn_blocking(move || {
                imzo_pki::cms::sign_proof_of_possession(&challenge, key.as_ref())
            })
            .await??;
            reply!("pkcs7_64" => b64(&proof))
        }
        _ => fail!("unknown call imzo.{name} (see http://127.0.0.1:64646/apidoc.html)"),
    }
}

fn text(obj: &serde_json::Map<String, Value>, key: &str) -> Result<Option<String>, CallError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => fail!("imzo.create_key: subject field {key:?} must be a string"),
    }
}

/// The subject object of `create_key`.
fn subject(v: &Value) -> Result<Subject, CallError> {
    let Some(obj) = v.as_object() else {
        fail!("imzo.create_key: argument 2 (subject) must be an object");
    };
    const KNOWN: [&str; 12] = [
        "cn",
        "surname",
        "name",
        "l",
        "st",
        "c",
        "o",
        "t",
        "uid",
        "pinfl",
        "inn",
        "businesscategory",
    ];
    if let Some(unknown) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        fail!(
            "imzo.create_key: unknown subject field {unknown:?} (known: {})",
            KNOWN.join(", ")
        );
    }
    let Some(common_name) = text(obj, "cn")? else {
        fail!("imzo.create_key: subject field \"cn\" is required");
    };
    Ok(Subject {
        common_name,
        surname: text(obj, "surname")?,
        given_name: text(obj, "name")?,
        locality: text(obj, "l")?,
        state: text(obj, "st")?,
        country: text(obj, "c")?.or(Some("UZ".into())),
        organization: text(obj, "o")?,
        title: text(obj, "t")?,
        uid: text(obj, "uid")?,
        pinfl: text(obj, "pinfl")?,
        company_inn: text(obj, "inn")?,
        business_category: text(obj, "businesscategory")?,
        ..Subject::default()
    })
}

async fn create_key(agent: &Agent, origin: &str, args: &Args<'_>) -> CallResult {
    let disk = args.string(0, "disk")?;
    let subject = subject(args.value(1, "subject")?)?;
    let algorithm: KeyAlgorithm = match args.optional(2, "algorithm")? {
        None => KeyAlgorithm::default(),
        Some(a) => a
            .parse()
            .map_err(|e| CallError(format!("imzo.create_key: {e}")))?,
    };
    if !disks(agent).contains(&disk) {
        fail!("imzo.create_key: unknown disk {disk:?} (see pfx.list_disks)");
    }
    let identifier =
        enrol::key_identifier(&subject).map_err(|e| CallError(format!("imzo.create_key: {e}")))?;
    let request = PasswordRequest {
        title: "Imzo: new key".into(),
        description: format!(
            "The web site {origin} asks to create a new signing key for {} ({identifier}) \
             on {disk}.\n\nChoose a password for the key file. Nobody, not even the site, \
             can recover it.",
            subject.common_name
        ),
        prompt: "New password:".into(),
        repeat: true,
    };
    let Some(password) = agent.ask_password(request).await? else {
        fail!("the user cancelled the password dialog");
    };
    let disk_path = PathBuf::from(&disk);
    let owner = format!("{} ({identifier})", subject.common_name);
    let made = tokio::task::spawn_blocking(move || {
        enrol::create_key_file(&disk_path, &subject, algorithm, &password)
    })
    .await??;
    let name = made
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let alias = imzo_pki::pfx::alias(&made.placeholder)?;
    let csr = b64(&made.csr_der);
    let id = agent.keyring.insert(
        origin,
        made.key,
        vec![made.placeholder],
        owner,
        made.path.clone(),
    )?;
    reply!(
        "keyId" => id,
        "disk" => disk,
        "path" => crate::dskeys::DSKEYS,
        "name" => name,
        "alias" => alias,
        "csr_64" => csr,
    )
}

async fn install(agent: &Agent, origin: &str, args: &Args<'_>) -> CallResult {
    let id = args.string(0, "keyId")?;
    let mut chain = Vec::new();
    let own = args.string(1, "cert_64")?;
    chain.push(own);
    match args.value(2, "chain_64").ok() {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for v in list {
                let Some(s) = v.as_str() else {
                    fail!("imzo.install_certificate: chain_64 must be an array of base64 strings");
                };
                chain.push(s.to_string());
            }
        }
        Some(_) => fail!("imzo.install_certificate: chain_64 must be an array of base64 strings"),
    }
    let mut certs = Vec::new();
    for (i, text) in chain.iter().enumerate() {
        let der = super::decode_base64(text).map_err(|e| {
            CallError(format!(
                "imzo.install_certificate: certificate {} is not base64: {e}",
                i + 1
            ))
        })?;
        let cert = <imzo_pki::Certificate as der::Decode>::from_der(&der).map_err(|e| {
            CallError(format!(
                "imzo.install_certificate: certificate {} is not X.509 DER: {e}",
                i + 1
            ))
        })?;
        certs.push(cert);
    }
    let handle = agent.key(&id, origin)?;
    if imzo_pki::cert::public_key_der(&certs[0])?
        != imzo_keys::RawSigner::public_key_der(handle.key.as_ref())
    {
        fail!(
            "imzo.install_certificate: the certificate is not for this key; the key file is left unchanged"
        );
    }
    let (opened, password) = open_with_prompt(
        agent,
        origin,
        &handle.file,
        &handle.owner,
        "install a new certificate into",
    )
    .await?;
    let path = handle.file.clone();
    let chain_for_file = certs.clone();
    tokio::task::spawn_blocking(move || {
        enrol::install_certificate(&path, &opened.key, &chain_for_file, &password)
    })
    .await??;
    agent.keyring.update_chain(&handle.file, &certs);
    reply!("alias" => imzo_pki::pfx::alias(&certs[0])?)
}
