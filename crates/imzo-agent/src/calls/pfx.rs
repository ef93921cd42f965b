//! Plugin `pfx`: key files in `DSKEYS` folders.

use super::{Args, CallError, CallResult, fail, reply};
use crate::dskeys::{self, KeyFileEntry};
use crate::prompt::PasswordRequest;
use crate::service::Agent;
use imzo_keys::KeyError;
use imzo_keys::pfxfile::{self, PfxKey};
use imzo_pki::PkiError;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub(crate) async fn call(agent: &Agent, origin: &str, name: &str, args: &Args<'_>) -> CallResult {
    match name {
        "list_disks" => reply!("disks" => disks(agent)),
        "list_all_certificates" => {
            let list: Vec<Value> = key_files(agent).iter().map(entry_json).collect();
            reply!("certificates" => list)
        }
        "list_certificates" => {
            let disk = args.string(0, "disk")?;
            if !disks(agent).contains(&disk) {
                fail!("pfx.list_certificates: unknown disk {disk:?} (see list_disks)");
            }
            let list: Vec<Value> = key_files(agent)
                .iter()
                .filter(|e| e.disk == disk)
                .map(entry_json)
                .collect();
            reply!("certificates" => list)
        }
        "load_key" => load_key(agent, origin, args).await,
        "unload_key" => {
            let id = args.string(0, "keyId")?;
            agent
                .keyring
                .remove(&id, origin)
                .map_err(|e| crate::service::key_error(e, &id, origin))?;
            reply!()
        }
        "verify_password" => {
            let id = args.string(0, "keyId")?;
            let handle = agent.key(&id, origin)?;
            open_with_prompt(
                agent,
                origin,
                &handle.file,
                &handle.owner,
                "check the password of",
            )
            .await?;
            reply!()
        }
        "change_password" => change_password(agent, origin, args).await,
        // Enrolment under E-IMZO's names: the temporary file is made with the new key, the
        // permanent one by installing the issued certificate into it.
        "save_temporary_pfx" => super::imzo::call(agent, origin, "create_key", args).await,
        "save_pfx" => super::imzo::call(agent, origin, "install_certificate", args).await,
        _ => fail!("unknown call pfx.{name} (see http://127.0.0.1:64646/apidoc.html)"),
    }
}

/// The disks: every searched root that exists (holding a `DSKEYS` folder or not, so
/// enrolment can make one there).
pub(crate) fn disks(agent: &Agent) -> Vec<String> {
    let mut out: Vec<String> = agent
        .config
        .roots()
        .iter()
        .map(|r| dskeys::disk_of_root(r))
        .filter(|d| d.is_dir())
        .map(|d| d.display().to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

pub(crate) fn key_files(agent: &Agent) -> Vec<KeyFileEntry> {
    dskeys::list_key_files(&agent.config.roots())
}

/// The alias of a key file, read without the password when the file allows it (key
/// bag outside the encrypted part); otherwise the owner's identifier from the file name.
pub(crate) fn file_alias(path: &Path, name: &str) -> String {
    let from_file = std::fs::read(path)
        .ok()
        .and_then(|bytes| imzo_keys::installed_base::list_aliases(&bytes).ok())
        .and_then(|aliases| aliases.into_iter().next());
    if let Some(alias) = from_file {
        return alias.to_lowercase();
    }
    match dskeys::parse_key_file_name(name) {
        Some((id, _)) if dskeys::is_valid_pinfl(&id) => format!("1.2.860.3.16.1.2={id}"),
        Some((id, _)) => format!("1.2.860.3.16.1.1={id}"),
        None => String::new(),
    }
}

fn entry_json(e: &KeyFileEntry) -> Value {
    json!({
        "disk": e.disk,
        "path": e.path,
        "name": e.name,
        "alias": file_alias(&e.file_path(), &e.name),
    })
}

/// A person-readable owner from an alias: the cn and the PINFL / INN.
pub(crate) fn owner_of(alias: &str, fallback: &str) -> String {
    let field = |k: &str| {
        alias
            .split(',')
            .find_map(|p| p.strip_prefix(&format!("{k}=")))
            .map(str::to_uppercase)
    };
    let id = field("1.2.860.3.16.1.2")
        .map(|p| format!("PINFL {p}"))
        .or_else(|| field("1.2.860.3.16.1.1").map(|i| format!("INN {i}")));
    match (field("cn"), id) {
        (Some(cn), Some(id)) => format!("{cn} ({id})"),
        (Some(cn), None) => cn,
        (None, Some(id)) => id,
        (None, None) => fallback.to_string(),
    }
}

/// The key file the page names, if it is one of the files the module lists (a page
/// cannot point the module at any other file).
pub(crate) fn find_entry(
    agent: &Agent,
    disk: &str,
    path: &str,
    name: &str,
) -> Result<KeyFileEntry, CallError> {
    let wanted = KeyFileEntry {
        disk: disk.to_string(),
        path: path.to_string(),
        name: name.to_string(),
    };
    if key_files(agent).contains(&wanted) {
        Ok(wanted)
    } else {
        fail!("no key file {name:?} in {path:?} on disk {disk:?} (see list_all_certificates)")
    }
}

/// Asks the password of `file` (naming the site and the owner) and opens it, counting
/// wrong passwords.
pub(crate) async fn open_with_prompt(
    agent: &Agent,
    origin: &str,
    file: &Path,
    owner: &str,
    purpose: &str,
) -> Result<(PfxKey, Zeroizing<String>), CallError> {
    if let Some(wait) = agent.limiter.wait(file) {
        fail!(
            "too many wrong passwords for this key; try again in {} s",
            wait.as_secs().max(1)
        );
    }
    let request = PasswordRequest {
        title: "Imzo: key password".into(),
        description: format!(
            "The web site {origin} asks to {purpose} the key of {owner}\n({}).\n\nEnter the \
             key's password only if you trust this site.",
            file.display()
        ),
        prompt: "Password:".into(),
        repeat: false,
    };
    let Some(password) = agent.ask_password(request).await? else {
        fail!("the user cancelled the password dialog");
    };
    let path = file.to_path_buf();
    let pw = password.clone();
    let opened = tokio::task::spawn_blocking(move || pfxfile::open(&path, &pw)).await?;
    match opened {
        Ok(key) => {
            agent.limiter.succeeded(file);
            Ok((key, password))
        }
        Err(KeyError::WrongPassword(_)) | Err(KeyError::Pki(PkiError::WrongPassword)) => {
            agent.limiter.failed(file);
            tracing::warn!(%origin, file = %file.display(), "wrong key password");
            fail!("wrong password")
        }
        Err(e) => fail!("cannot open the key file: {e}"),
    }
}

async fn load_key(agent: &Agent, origin: &str, args: &Args<'_>) -> CallResult {
    let disk = args.string(0, "disk")?;
    let path = args.string(1, "path")?;
    let name = args.string(2, "name")?;
    // The page's alias (argument 4) is not trusted: the dialog names the owner from the file.
    let entry = find_entry(agent, &disk, &path, &name)?;
    let file = entry.file_path();
    let alias = file_alias(&file, &name);
    let owner = owner_of(&alias, &name);
    let (opened, _password) = open_with_prompt(agent, origin, &file, &owner, "load").await?;
    let owner = opened
        .chain
        .first()
        .and_then(|c| imzo_pki::pfx::alias(c).ok())
        .map(|a| owner_of(&a, &owner))
        .unwrap_or(owner);
    let id = agent
        .keyring
        .insert(origin, opened.key, opened.chain, owner, file)?;
    reply!("keyId" => id)
}

async fn change_password(agent: &Agent, origin: &str, args: &Args<'_>) -> CallResult {
    let id = args.string(0, "keyId")?;
    let handle = agent.key(&id, origin)?;
    let (opened, _old) = open_with_prompt(
        agent,
        origin,
        &handle.file,
        &handle.owner,
        "change the password of",
    )
    .await?;
    let request = PasswordRequest {
        title: "Imzo: new key password".into(),
        description: format!(
            "New password for the key of {} ({}), asked by {origin}.",
            handle.owner,
            handle.file.display()
        ),
        prompt: "New password:".into(),
        repeat: true,
    };
    let Some(new) = agent.ask_password(request).await? else {
        fail!("the user cancelled the password dialog");
    };
    let path: PathBuf = handle.file.clone();
    tokio::task::spawn_blocking(move || pfxfile::save(&path, &opened.key, &opened.chain, &new))
        .await??;
    reply!()
}
