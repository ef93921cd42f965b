//! What the module's protocol tests share: the scripted pinentry and certificates
//! issued for them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use imzo_keys::SoftwareKey;
use imzo_pki::Certificate;
use imzo_pki::cert::{IssueParams, Profile, PublicationUrls, issue};
use imzo_pki::name::Subject;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// A pinentry that answers from files next to it and logs every command it gets.
pub(crate) const PINENTRY: &str = r#"#!/bin/sh
DIR=$(dirname "$0")
echo "OK Pleased to meet you"
while IFS= read -r line; do
  printf '%s\n' "$line" >> "$DIR/log"
  case "$line" in
    GETPIN)
      if [ -s "$DIR/pin" ]; then printf 'D %s\n' "$(cat "$DIR/pin")"; echo OK;
      else echo "ERR 83886179 Operation cancelled"; fi ;;
    CONFIRM*)
      case "$(cat "$DIR/confirm")" in
        ok) echo OK ;;
        trust) echo "ERR 83886194 Not confirmed" ;;
        *) echo "ERR 83886179 Operation cancelled" ;;
      esac ;;
    BYE) echo OK; exit 0 ;;
    *) echo OK ;;
  esac
done
"#;

/// Writes the scripted pinentry into `dir/pinentry/` and returns its path.
pub(crate) fn install_pinentry(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("pinentry")).unwrap();
    let pinentry = dir.join("pinentry/pinentry.sh");
    std::fs::write(&pinentry, PINENTRY).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pinentry, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    pinentry
}

/// A certificate for `key_der`, valid from an hour ago for 30 days.
pub(crate) fn issue_for(
    issuer: Option<&Certificate>,
    signer: &SoftwareKey,
    key_der: &[u8],
    s: Subject,
    profile: Profile,
    serial: u8,
) -> Certificate {
    let now = OffsetDateTime::now_utc();
    issue(
        issuer,
        signer,
        &IssueParams {
            subject: s,
            subject_public_key_der: key_der.to_vec(),
            serial: vec![serial],
            not_before: now - time::Duration::hours(1),
            not_after: now + time::Duration::days(30),
            profile,
            urls: PublicationUrls::default(),
            policy_oid: None,
        },
    )
    .unwrap()
}
