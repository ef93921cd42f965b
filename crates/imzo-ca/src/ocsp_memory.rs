//! The OCSP responder's hot path: nonce-less answers held in memory by the exact bytes
//! of the request that asked for them, ready to send — no parsing, no copying, no
//! database on a hit — and one small query a `memory_ttl` that tells whether any status
//! changed anywhere (through any node), in which case everything held is dropped.

use imzo_store::{Store, status, time_ms::now_ms};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use time::OffsetDateTime;

/// A cached nonce-less answer, shared (not copied) with every request it answers.
#[derive(Debug, Clone)]
pub struct CachedAnswer {
    /// DER OCSPResponse.
    pub der: Arc<[u8]>,
    /// thisUpdate (`Last-Modified`).
    pub this_update: OffsetDateTime,
    /// nextUpdate (`Expires`, `max-age`).
    pub next_update: OffsetDateTime,
    /// Strong validator of the bytes (`ETag`, quoted).
    pub etag: Arc<str>,
}

struct Held {
    answer: CachedAnswer,
    serial: Box<str>,
    until: std::time::Instant,
}

/// Most requests held; past it the memory starts afresh.
const LIMIT: usize = 200_000;
/// Marks "not read yet" in [`Memory::seen`].
const UNREAD: i64 = i64::MIN;

/// What a responder holds in memory, and when it last asked whether that is current.
pub(crate) struct Memory {
    by_request: RwLock<HashMap<Box<[u8]>, Held>>,
    /// The status-change count last read from the database.
    seen: AtomicI64,
    /// When (UTC ms) the count is to be read again.
    next_check_ms: AtomicI64,
    /// One reader of the count at a time; the others go on with what is held.
    checking: tokio::sync::Mutex<()>,
}

impl Default for Memory {
    fn default() -> Self {
        Memory {
            by_request: RwLock::default(),
            seen: AtomicI64::new(UNREAD),
            next_check_ms: AtomicI64::new(0),
            checking: tokio::sync::Mutex::new(()),
        }
    }
}

impl Memory {
    /// Reads the status-change count if `ttl_ms` has passed since the last read; returns
    /// true when it changed (the caller then drops everything it remembers).
    pub(crate) async fn changed_elsewhere(&self, store: &Store, ttl_ms: i64) -> bool {
        let now = now_ms();
        if now < self.next_check_ms.load(Ordering::Acquire) {
            return false;
        }
        let Ok(_one) = self.checking.try_lock() else { return false };
        if now < self.next_check_ms.load(Ordering::Acquire) {
            return false;
        }
        let changed = match status::status_changes(store.pool()).await {
            Ok(count) => {
                let before = self.seen.swap(count, Ordering::AcqRel);
                before != UNREAD && before != count
            }
            Err(e) => {
                // Cannot tell: hold nothing rather than risk a stale answer.
                tracing::warn!(error = %e, "cannot read the status-change count; dropping cached OCSP answers");
                self.seen.store(UNREAD, Ordering::Release);
                true
            }
        };
        self.next_check_ms.store(now_ms().saturating_add(ttl_ms), Ordering::Release);
        if changed {
            self.clear();
        }
        changed
    }

    /// The answer held for exactly these request bytes, if still fresh.
    pub(crate) fn get(&self, request_der: &[u8]) -> Option<CachedAnswer> {
        let held = self.by_request.read().ok()?;
        let found = held.get(request_der)?;
        (found.until > std::time::Instant::now()).then(|| found.answer.clone())
    }

    /// Holds `answer` for these request bytes until `until`.
    pub(crate) fn put(&self, request_der: &[u8], serial: &str, answer: CachedAnswer, until: std::time::Instant) {
        if let Ok(mut held) = self.by_request.write() {
            if held.len() >= LIMIT {
                held.clear();
            }
            held.insert(request_der.into(), Held { answer, serial: serial.into(), until });
        }
    }

    /// Drops whatever is held about `serial`.
    pub(crate) fn forget(&self, serial: &str) {
        if let Ok(mut held) = self.by_request.write() {
            held.retain(|_, h| &*h.serial != serial);
        }
    }

    /// Drops everything held.
    pub(crate) fn clear(&self) {
        if let Ok(mut held) = self.by_request.write() {
            held.clear();
        }
    }
}

/// A cached answer from its parts.
pub(crate) fn cached(der: &[u8], this_update: OffsetDateTime, next_update: OffsetDateTime) -> CachedAnswer {
    use sha1::Digest as _;
    // The same validator the web layer gives an answer it sends uncached.
    let etag = format!("\"{}\"", hex::encode(sha1::Sha1::digest(der)));
    CachedAnswer { der: Arc::from(der), this_update, next_update, etag: Arc::from(etag) }
}
