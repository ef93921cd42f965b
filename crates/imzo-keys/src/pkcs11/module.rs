//! Loaded PKCS#11 modules, one per library file for the whole process.
//!
//! A module is initialised once and never finalised: `C_Finalize` from one user would
//! close every other user's sessions, since the library's state is per process. When
//! something else in the process finalised it anyway, [`Module::reinitialize`] brings it
//! back (the signers then re-open their sessions).

use super::Pkcs11Error;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// One loaded, initialised PKCS#11 library.
pub(crate) struct Module {
    path: PathBuf,
    context: Pkcs11,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module").field("path", &self.path).finish()
    }
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Arc<Module>>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Arc<Module>>>> = OnceLock::new();
    MODULES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// `C_Initialize`, treating "already initialised" (by another user in this process) as done.
fn initialize(context: &Pkcs11, path: &Path) -> Result<(), Pkcs11Error> {
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(Pkcs11Error::call(format!("initialising {}", path.display()), e)),
    }
}

impl Module {
    /// The module at `path`, loaded and initialised on first use.
    pub(crate) fn get(path: &Path) -> Result<Arc<Module>, Pkcs11Error> {
        // One entry per file, however it is spelt.
        let key = std::fs::canonicalize(path)
            .map_err(|e| Pkcs11Error::Setup(format!("module-path {}: {e}", path.display())))?;
        let mut modules = registry().lock().map_err(|_| Pkcs11Error::Setup("module registry poisoned".into()))?;
        if let Some(module) = modules.get(&key) {
            return Ok(Arc::clone(module));
        }
        let context = Pkcs11::new(&key)
            .map_err(|e| Pkcs11Error::Setup(format!("cannot load PKCS#11 module {}: {e}", key.display())))?;
        initialize(&context, &key)?;
        let module = Arc::new(Module { path: key.clone(), context });
        modules.insert(key, Arc::clone(&module));
        Ok(module)
    }

    /// The cryptoki context.
    pub(crate) fn context(&self) -> &Pkcs11 {
        &self.context
    }

    /// The library file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Initialises the library again after something finalised it.
    pub(crate) fn reinitialize(&self) -> Result<(), Pkcs11Error> {
        initialize(&self.context, &self.path)
    }
}
