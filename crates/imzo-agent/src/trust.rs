//! `imzo agent trust`: installs the local CA where browsers look — NSS databases
//! (Chromium's `~/.pki/nssdb`, Firefox profiles) through `certutil`, and the system
//! store when running as root — and says what it did.

use crate::tls::CA_NICKNAME;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What happened at one store.
#[derive(Debug, Clone)]
pub struct TrustStep {
    /// The store.
    pub store: String,
    /// Whether the CA is now in it.
    pub done: bool,
    /// What was done, or what the user must do.
    pub message: String,
}

fn certutil(args: &[&str], db: &Path) -> Result<(), String> {
    let out = Command::new("certutil")
        .args(args)
        .arg("-d")
        .arg(format!("sql:{}", db.display()))
        .output()
        .map_err(|e| format!("cannot run certutil (Debian: apt install libnss3-tools): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The NSS databases of `home`: Chromium's (made if missing) and every Firefox profile.
pub fn nss_databases(home: &Path) -> Vec<(PathBuf, bool)> {
    let mut dbs = vec![(home.join(".pki/nssdb"), true)];
    for base in [".mozilla/firefox", "snap/firefox/common/.mozilla/firefox"] {
        if let Ok(entries) = std::fs::read_dir(home.join(base)) {
            for e in entries.flatten() {
                if e.path().join("cert9.db").is_file() {
                    dbs.push((e.path(), false));
                }
            }
        }
    }
    dbs
}

/// Installs the CA certificate at `ca_pem` for the user whose home is `home`.
pub fn install(ca_pem: &Path, home: &Path) -> Vec<TrustStep> {
    let mut steps = Vec::new();
    let ca = ca_pem.display().to_string();
    for (db, create) in nss_databases(home) {
        let store = format!("NSS database {}", db.display());
        if create && !db.join("cert9.db").is_file() {
            if let Err(e) = std::fs::create_dir_all(&db) {
                steps.push(TrustStep {
                    store,
                    done: false,
                    message: e.to_string(),
                });
                continue;
            }
            if let Err(e) = certutil(&["-N", "--empty-password"], &db) {
                steps.push(TrustStep {
                    store,
                    done: false,
                    message: e,
                });
                continue;
            }
        }
        // Replacing keeps one entry when the CA was made anew.
        let _ = certutil(&["-D", "-n", CA_NICKNAME], &db);
        let step = match certutil(&["-A", "-n", CA_NICKNAME, "-t", "C,,", "-i", &ca], &db) {
            Ok(()) => TrustStep {
                store,
                done: true,
                message: format!("added \"{CA_NICKNAME}\" as a trusted web-site CA"),
            },
            Err(e) => TrustStep {
                store,
                done: false,
                message: e,
            },
        };
        steps.push(step);
    }
    steps.push(system_store(ca_pem));
    steps
}

#[cfg(target_os = "linux")]
fn system_store(ca_pem: &Path) -> TrustStep {
    let target = Path::new("/usr/local/share/ca-certificates/imzo-agent-ca.crt");
    let store = "system store (/usr/local/share/ca-certificates)".to_string();
    let manual = format!(
        "run as root: cp {} {} && update-ca-certificates",
        ca_pem.display(),
        target.display()
    );
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root || !target.parent().is_some_and(Path::is_dir) {
        return TrustStep {
            store,
            done: false,
            message: manual,
        };
    }
    let copied = std::fs::copy(ca_pem, target).is_ok();
    let updated = copied
        && Command::new("update-ca-certificates")
            .output()
            .is_ok_and(|o| o.status.success());
    TrustStep {
        store,
        done: updated,
        message: if updated {
            format!("installed as {}", target.display())
        } else {
            manual
        },
    }
}

#[cfg(target_os = "macos")]
fn system_store(ca_pem: &Path) -> TrustStep {
    TrustStep {
        store: "login keychain".into(),
        done: false,
        message: format!(
            "run: security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db {}",
            ca_pem.display()
        ),
    }
}

#[cfg(windows)]
fn system_store(ca_pem: &Path) -> TrustStep {
    TrustStep {
        store: "Windows user root store".into(),
        done: false,
        message: format!("run: certutil -user -addstore Root {}", ca_pem.display()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn system_store(ca_pem: &Path) -> TrustStep {
    TrustStep {
        store: "system store".into(),
        done: false,
        message: format!("add {} to the system's trusted CAs", ca_pem.display()),
    }
}
