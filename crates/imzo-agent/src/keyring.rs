//! Keys loaded by web pages: each bound to the origin that loaded it, unloaded after
//! inactivity; and the wrong-password limiter.

use imzo_keys::SoftwareKey;
use imzo_pki::Certificate;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A key in memory, usable only by the origin that loaded it.
pub(crate) struct LoadedKey {
    pub(crate) origin: String,
    pub(crate) key: Arc<SoftwareKey>,
    pub(crate) chain: Vec<Certificate>,
    /// Who the key belongs to, as the dialogs name it.
    pub(crate) owner: String,
    pub(crate) file: PathBuf,
    last_used: Instant,
    /// The user chose "trust this site until the key is unloaded".
    pub(crate) trusted: bool,
}

/// Why a keyId cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyLookupError {
    Unknown,
    OtherOrigin,
}

/// The loaded keys, by keyId.
pub(crate) struct Keyring {
    keys: Mutex<HashMap<String, LoadedKey>>,
    idle: Duration,
}

/// What a signer needs, cloned out of the ring so the lock is not held while signing.
#[derive(Clone)]
pub(crate) struct KeyHandle {
    pub(crate) key: Arc<SoftwareKey>,
    pub(crate) chain: Vec<Certificate>,
    pub(crate) owner: String,
    pub(crate) file: PathBuf,
    pub(crate) trusted: bool,
}

impl Keyring {
    pub(crate) fn new(idle: Duration) -> Self {
        Keyring {
            keys: Mutex::new(HashMap::new()),
            idle,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LoadedKey>> {
        // A panic while holding the lock leaves the map consistent (single inserts and
        // removals), so a poisoned lock is still usable.
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores a key for `origin` and returns its new keyId.
    pub(crate) fn insert(
        &self,
        origin: &str,
        key: SoftwareKey,
        chain: Vec<Certificate>,
        owner: String,
        file: PathBuf,
    ) -> Result<String, getrandom::Error> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id)?;
        let id = hex::encode(id);
        self.lock().insert(
            id.clone(),
            LoadedKey {
                origin: origin.to_owned(),
                key: Arc::new(key),
                chain,
                owner,
                file,
                last_used: Instant::now(),
                trusted: false,
            },
        );
        Ok(id)
    }

    /// Unloads keys idle for longer than the limit; returns how many.
    pub(crate) fn sweep(&self) -> usize {
        let idle = self.idle;
        let mut keys = self.lock();
        let before = keys.len();
        keys.retain(|_, k| k.last_used.elapsed() < idle);
        before - keys.len()
    }

    /// The key `id` for `origin`, marking it used.
    pub(crate) fn get(&self, id: &str, origin: &str) -> Result<KeyHandle, KeyLookupError> {
        self.sweep();
        let mut keys = self.lock();
        let k = keys.get_mut(id).ok_or(KeyLookupError::Unknown)?;
        if k.origin != origin {
            return Err(KeyLookupError::OtherOrigin);
        }
        k.last_used = Instant::now();
        Ok(KeyHandle {
            key: k.key.clone(),
            chain: k.chain.clone(),
            owner: k.owner.clone(),
            file: k.file.clone(),
            trusted: k.trusted,
        })
    }

    /// Marks key `id` as trusted for its origin until unloaded.
    pub(crate) fn trust(&self, id: &str) {
        if let Some(k) = self.lock().get_mut(id) {
            k.trusted = true;
        }
    }

    /// Replaces the chain of every loaded copy of `file` (after a certificate install).
    pub(crate) fn update_chain(&self, file: &std::path::Path, chain: &[Certificate]) {
        for k in self.lock().values_mut().filter(|k| k.file == file) {
            k.chain = chain.to_vec();
        }
    }

    /// Unloads key `id` if `origin` loaded it.
    pub(crate) fn remove(&self, id: &str, origin: &str) -> Result<(), KeyLookupError> {
        let mut keys = self.lock();
        match keys.get(id) {
            None => Err(KeyLookupError::Unknown),
            Some(k) if k.origin != origin => Err(KeyLookupError::OtherOrigin),
            Some(_) => {
                keys.remove(id);
                Ok(())
            }
        }
    }
}

/// Counts wrong passwords per key file and makes the user wait after a few.
pub(crate) struct Limiter {
    state: Mutex<HashMap<PathBuf, (u32, Option<Instant>)>>,
    free_attempts: u32,
    base: Duration,
}

impl Limiter {
    pub(crate) fn new(free_attempts: u32, base: Duration) -> Self {
        Limiter {
            state: Mutex::new(HashMap::new()),
            free_attempts,
            base,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (u32, Option<Instant>)>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long the user must still wait before trying `file` again, if at all.
    pub(crate) fn wait(&self, file: &std::path::Path) -> Option<Duration> {
        let state = self.lock();
        let (_, until) = state.get(file)?;
        until.and_then(|u| u.checked_duration_since(Instant::now()))
    }

    /// Records a wrong password; after the free attempts each further one doubles the
    /// wait (capped at one hour).
    pub(crate) fn failed(&self, file: &std::path::Path) {
        let mut state = self.lock();
        let entry = state.entry(file.to_path_buf()).or_insert((0, None));
        entry.0 += 1;
        if entry.0 >= self.free_attempts {
            let doublings = (entry.0 - self.free_attempts).min(16);
            let wait = self
                .base
                .saturating_mul(1 << doublings)
                .min(Duration::from_secs(3600));
            entry.1 = Some(Instant::now() + wait);
        }
    }

    /// Forgets the failures of `file` (the right password was given).
    pub(crate) fn succeeded(&self, file: &std::path::Path) {
        self.lock().remove(file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_waits_after_free_attempts() {
        let l = Limiter::new(3, Duration::from_secs(30));
        let f = std::path::Path::new("/k.pfx");
        l.failed(f);
        l.failed(f);
        assert!(l.wait(f).is_none());
        l.failed(f);
        let w = l.wait(f).unwrap();
        assert!(w > Duration::from_secs(25) && w <= Duration::from_secs(30));
        l.failed(f);
        assert!(l.wait(f).unwrap() > Duration::from_secs(55));
        l.succeeded(f);
        assert!(l.wait(f).is_none());
    }

    #[test]
    fn keys_are_bound_to_origin_and_expire() {
        let ring = Keyring::new(Duration::from_millis(200));
        let id = ring
            .insert(
                "http://a",
                SoftwareKey::generate().unwrap(),
                vec![],
                "X".into(),
                "/k".into(),
            )
            .unwrap();
        assert!(ring.get(&id, "http://a").is_ok());
        assert_eq!(
            ring.get(&id, "http://b").err(),
            Some(KeyLookupError::OtherOrigin)
        );
        assert_eq!(
            ring.remove(&id, "http://b"),
            Err(KeyLookupError::OtherOrigin)
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            ring.get(&id, "http://a").err(),
            Some(KeyLookupError::Unknown)
        );
    }
}
