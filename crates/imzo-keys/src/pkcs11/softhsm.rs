//! Throw-away SoftHSM2 tokens for tests, benchmarks and trials.
//!
//! SoftHSM2 reads its configuration (where tokens live) from the file `SOFTHSM2_CONF`
//! names, once, when the library is initialised: so a private token store needs a
//! process started with that variable. [`isolated`] runs the calling test again in such a
//! child process; the child gets a fresh token, the parent only checks that it passed.
//!
//! `scripts/ensure-softhsm.sh` installs SoftHSM2. Without it, tests that need it skip
//! with a notice, unless `IMZO_REQUIRE_SOFTHSM` is set (CI sets it): then they fail.

use super::init_token;
use crate::KeyError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming the SoftHSM2 module explicitly.
pub const MODULE_ENV: &str = "IMZO_PKCS11_MODULE";
/// Environment variable that turns a missing SoftHSM2 into a failure.
pub const REQUIRE_ENV: &str = "IMZO_REQUIRE_SOFTHSM";
/// Set in the child process: the folder of its token store.
const CHILD_ENV: &str = "IMZO_SOFTHSM_DIR";
/// Label of the token made for a test.
pub const TEST_TOKEN: &str = "imzo-test";
/// User PIN of the token made for a test (the test's token is thrown away with it).
const TEST_USER_PIN: &str = "123456";
/// Security officer PIN of the token made for a test.
const TEST_SO_PIN: &str = "12345678";

/// Where SoftHSM2's module is: `IMZO_PKCS11_MODULE`, else the usual install places.
pub fn module_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(MODULE_ENV) {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib64/pkcs11/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Whether a missing SoftHSM2 must fail the run (`IMZO_REQUIRE_SOFTHSM` or `CI` set).
pub fn required() -> bool {
    std::env::var_os(REQUIRE_ENV).is_some() || std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Writes a SoftHSM2 configuration keeping tokens in `dir/tokens`; returns its path
/// (what `SOFTHSM2_CONF` must name).
pub fn write_config(dir: &Path) -> std::io::Result<PathBuf> {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens)?;
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        ),
    )?;
    Ok(conf)
}

/// A SoftHSM2 token of this process, made by [`isolated`] or [`SoftHsm::create`].
#[derive(Debug)]
pub struct SoftHsm {
    module: PathBuf,
    pin_file: PathBuf,
}

impl SoftHsm {
    /// Initialises token [`TEST_TOKEN`] in the store this process's `SOFTHSM2_CONF`
    /// names, writing its user PIN to `dir/user-pin` (mode 0600).
    pub fn create(module: &Path, dir: &Path) -> Result<SoftHsm, KeyError> {
        init_token(module, TEST_TOKEN, TEST_SO_PIN, TEST_USER_PIN)?;
        let pin_file = dir.join("user-pin");
        crate::durable::write_private(&pin_file, format!("{TEST_USER_PIN}\n").as_bytes())?;
        Ok(SoftHsm { module: module.to_path_buf(), pin_file })
    }

    /// The module.
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The file holding the token's user PIN.
    pub fn pin_file(&self) -> &Path {
        &self.pin_file
    }

    /// The URI of private key `object` on the token, PIN from the file.
    pub fn key_uri(&self, object: &str) -> String {
        format!(
            "pkcs11:token={TEST_TOKEN};object={object};type=private?module-path={}&pin-source=file:{}",
            self.module.display(),
            self.pin_file.display()
        )
    }
}

/// Runs the test `test_name` (its full path in the test binary, as `--exact` wants it)
/// with a fresh SoftHSM2 token.
///
/// In the test process this starts the test binary again for that one test, with
/// `SOFTHSM2_CONF` pointing at a new temporary store, and returns `Ok(None)` once that
/// child passed (the caller returns). In the child it makes the token and returns it.
/// Without SoftHSM2 it returns `Ok(None)` after a notice, or an error when
/// [`required`].
pub fn isolated(test_name: &str) -> Result<Option<SoftHsm>, String> {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        let dir = PathBuf::from(dir);
        let module = module_path().ok_or("SoftHSM2 vanished between parent and child")?;
        std::fs::write(dir.join("started"), test_name).map_err(|e| e.to_string())?;
        return SoftHsm::create(&module, &dir).map(Some).map_err(|e| e.to_string());
    }
    let Some(module) = module_path() else {
        let message = "SoftHSM2 (libsofthsm2.so) is not installed: run scripts/ensure-softhsm.sh";
        if required() {
            return Err(format!("{message} ({REQUIRE_ENV} or CI is set, so this is a failure)"));
        }
        eprintln!("SKIPPED {test_name}: {message}");
        return Ok(None);
    };
    let dir = std::env::temp_dir().join(format!("imzo-softhsm-{}-{}", std::process::id(), unique()));
    let conf = write_config(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD_ENV, &dir)
        .env(MODULE_ENV, &module)
        .status()
        .map_err(|e| format!("starting the test again under SoftHSM2: {e}"));
    let started = dir.join("started").exists();
    let _ = std::fs::remove_dir_all(&dir);
    let status = status?;
    if !started {
        return Err(format!("the child process did not run {test_name}: is that its exact path?"));
    }
    if !status.success() {
        return Err(format!("{test_name} failed under SoftHSM2 ({status})"));
    }
    Ok(None)
}

/// Closes every session this process has with the module at `module` (and logs it out),
/// as a token reset would: `C_Finalize` then `C_Initialize`, as another user of the library
/// in this process might. Keys opened before re-open their sessions on next use.
pub fn close_all_sessions(module: &Path) -> Result<(), String> {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    let other = Pkcs11::new(module).map_err(|e| format!("{}: {e}", module.display()))?;
    other.clone().finalize().map_err(|e| format!("C_Finalize: {e}"))?;
    other
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(|e| format!("C_Initialize: {e}"))
}

/// A number distinct between calls in one process (several tests may share a process).
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    (NEXT.fetch_add(1, Ordering::Relaxed) << 32) ^ nanos
}
