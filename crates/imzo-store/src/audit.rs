//! The audit log: one row per state change, written in the same transaction as the change.
//!
//! The log is append-only (database triggers refuse updates and deletes) and each entry is
//! chained to the previous entry of its chain (one chain per centre) by SHA-256, so an
//! entry altered, removed or moved by someone who bypassed the triggers is found by
//! [`verify`].

use crate::{Any, StoreError, Tx, time_ms::now_ms};
use sha2::{Digest, Sha256};
use sqlx::{Executor, Row};

/// `prev_hash` of the first entry of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Chain of entries that belong to no centre (the authorised body's own actions).
pub const GLOBAL_CHAIN: &str = "global";

/// One audit record. `details` is JSON and must never hold secrets.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// Centre the change belongs to, if any.
    pub centre_id: Option<&'a str>,
    /// Who acted: `applicant`, `operator:<id>`, `payme`, `system`, ...
    pub actor: &'a str,
    /// What happened: `application.started`, `certificate.issued`, ...
    pub action: &'a str,
    /// What it happened to: application number, draft id, certificate serial.
    pub subject: &'a str,
    /// Details as JSON.
    pub details: serde_json::Value,
}

/// The fields an entry's hash covers, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Row id.
    pub id: i64,
    /// Chain (centre id or [`GLOBAL_CHAIN`]); `None` for rows written before chaining.
    pub chain: Option<String>,
    /// Position in the chain, from 1.
    pub seq: Option<i64>,
    /// When, UTC ms.
    pub at_ms: i64,
    /// Centre.
    pub centre_id: Option<String>,
    /// Who acted.
    pub actor: String,
    /// What happened.
    pub action: String,
    /// To what.
    pub subject: String,
    /// JSON text.
    pub details: String,
    /// Hash of the previous entry of the chain.
    pub prev_hash: Option<String>,
    /// This entry's hash.
    pub hash: Option<String>,
}

fn put(h: &mut Sha256, field: &[u8]) {
    h.update((field.len() as u64).to_be_bytes());
    h.update(field);
}

/// What an entry's hash covers.
#[derive(Debug, Clone, Copy)]
pub struct HashInput<'a> {
    /// Chain.
    pub chain: &'a str,
    /// Position in the chain.
    pub seq: i64,
    /// When, UTC ms.
    pub at_ms: i64,
    /// Centre.
    pub centre_id: Option<&'a str>,
    /// Who acted.
    pub actor: &'a str,
    /// What happened.
    pub action: &'a str,
    /// To what.
    pub subject: &'a str,
    /// JSON text as stored.
    pub details: &'a str,
    /// Hash of the previous entry.
    pub prev_hash: &'a str,
}

/// The hash of an entry: SHA-256 over a domain tag and every field, each length-prefixed
/// (so no two different entries encode alike), the previous hash last.
pub fn entry_hash(e: &HashInput<'_>) -> String {
    let mut h = Sha256::new();
    put(&mut h, b"imzo-audit-v1");
    put(&mut h, e.chain.as_bytes());
    put(&mut h, e.seq.to_string().as_bytes());
    put(&mut h, e.at_ms.to_string().as_bytes());
    match e.centre_id {
        Some(c) => {
            put(&mut h, b"1");
            put(&mut h, c.as_bytes());
        }
        None => put(&mut h, b"0"),
    }
    put(&mut h, e.actor.as_bytes());
    put(&mut h, e.action.as_bytes());
    put(&mut h, e.subject.as_bytes());
    put(&mut h, e.details.as_bytes());
    put(&mut h, e.prev_hash.as_bytes());
    hex::encode(h.finalize())
}

/// Writes `entry` inside `tx`, chained to the head of its centre's chain.
pub async fn record(tx: &mut Tx<'_>, entry: AuditEntry<'_>) -> Result<(), StoreError> {
    let chain = entry.centre_id.unwrap_or(GLOBAL_CHAIN);
    sqlx::query("INSERT INTO audit_heads (chain, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (chain) DO NOTHING")
        .bind(chain)
        .bind(GENESIS)
        .execute(&mut **tx)
        .await?;
    // The update takes the head's row lock: writers of one chain queue here until the
    // first commits, so two entries never claim the same predecessor.
    let head =
        sqlx::query("UPDATE audit_heads SET seq = seq + 1 WHERE chain = $1 RETURNING seq, hash")
            .bind(chain)
            .fetch_one(&mut **tx)
            .await?;
    let seq: i64 = head.try_get("seq")?;
    let prev_hash: String = head.try_get("hash")?;
    let at_ms = now_ms();
    let details = entry.details.to_string();
    let hash = entry_hash(&HashInput {
        chain,
        seq,
        at_ms,
        centre_id: entry.centre_id,
        actor: entry.actor,
        action: entry.action,
        subject: entry.subject,
        details: &details,
        prev_hash: &prev_hash,
    });
    sqlx::query(
        "INSERT INTO audit_log (at_ms, centre_id, actor, action, subject, details, chain, seq, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(at_ms)
    .bind(entry.centre_id)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.subject)
    .bind(&details)
    .bind(chain)
    .bind(seq)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_heads SET hash = $1 WHERE chain = $2")
        .bind(&hash)
        .bind(chain)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One thing wrong with the log, naming the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditProblem {
    /// Row id of the entry at fault, if a row is at fault (not for a missing tail).
    pub id: Option<i64>,
    /// Chain.
    pub chain: String,
    /// Position in the chain the problem was found at.
    pub seq: Option<i64>,
    /// What is wrong.
    pub what: String,
}

impl std::fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.id, self.seq) {
            (Some(id), Some(seq)) => write!(
                f,
                "entry id {id} (chain {}, #{seq}): {}",
                self.chain, self.what
            ),
            (Some(id), None) => write!(f, "entry id {id} (chain {}): {}", self.chain, self.what),
            (None, Some(seq)) => write!(f, "chain {} at #{seq}: {}", self.chain, self.what),
            (None, None) => write!(f, "chain {}: {}", self.chain, self.what),
        }
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// Chains and their length.
    pub chains: Vec<(String, i64)>,
    /// Problems found, in chain order; empty when the log is intact.
    pub problems: Vec<AuditProblem>,
}

impl VerifyReport {
    /// Whether the log is intact.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Every entry, in chain order.
pub async fn entries<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> Result<Vec<StoredEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, chain, seq, at_ms, centre_id, actor, action, subject, details, prev_hash, hash \
         FROM audit_log ORDER BY chain, seq, id",
    )
    .fetch_all(ex)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(StoredEntry {
            id: r.try_get("id")?,
            chain: r.try_get("chain")?,
            seq: r.try_get("seq")?,
            at_ms: r.try_get("at_ms")?,
            centre_id: r.try_get("centre_id")?,
            actor: r.try_get("actor")?,
            action: r.try_get("action")?,
            subject: r.try_get("subject")?,
            details: r.try_get("details")?,
            prev_hash: r.try_get("prev_hash")?,
            hash: r.try_get("hash")?,
        });
    }
    Ok(out)
}

/// The entries of centre `centre_id` about any of `subjects` (an application's number and
/// its draft handle), oldest first: an application's audit trail as an operator sees it.
pub async fn of_subjects<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    centre_id: &str,
    subjects: [&str; 2],
) -> Result<Vec<StoredEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, chain, seq, at_ms, centre_id, actor, action, subject, details, prev_hash, hash \
         FROM audit_log WHERE centre_id = $1 AND (subject = $2 OR subject = $3) ORDER BY at_ms, id",
    )
    .bind(centre_id)
    .bind(subjects[0])
    .bind(subjects[1])
    .fetch_all(ex)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(StoredEntry {
            id: r.try_get("id")?,
            chain: r.try_get("chain")?,
            seq: r.try_get("seq")?,
            at_ms: r.try_get("at_ms")?,
            centre_id: r.try_get("centre_id")?,
            actor: r.try_get("actor")?,
            action: r.try_get("action")?,
            subject: r.try_get("subject")?,
            details: r.try_get("details")?,
            prev_hash: r.try_get("prev_hash")?,
            hash: r.try_get("hash")?,
        });
    }
    Ok(out)
}

/// Checks every chain of the log against its hashes and its head: finds altered entries
/// (hash mismatch), removed ones (a gap, a broken link or a short tail) and reordered ones
/// (a broken link, or row ids out of order).
pub async fn verify(store: &crate::Store) -> Result<VerifyReport, StoreError> {
    let all = entries(store.pool()).await?;
    let heads = sqlx::query("SELECT chain, seq, hash FROM audit_heads ORDER BY chain")
        .fetch_all(store.pool())
        .await?;
    let mut head_of = std::collections::BTreeMap::new();
    for h in heads {
        let chain: String = h.try_get("chain")?;
        let seq: i64 = h.try_get("seq")?;
        let hash: String = h.try_get("hash")?;
        head_of.insert(chain, (seq, hash));
    }
    Ok(check(&all, &head_of))
}

/// The pure part of [`verify`].
pub fn check(
    all: &[StoredEntry],
    heads: &std::collections::BTreeMap<String, (i64, String)>,
) -> VerifyReport {
    let mut report = VerifyReport {
        entries: all.len() as u64,
        ..VerifyReport::default()
    };
    let mut i = 0;
    while i < all.len() {
        let Some(chain) = all[i].chain.clone() else {
            report.problems.push(AuditProblem {
                id: Some(all[i].id),
                chain: "-".into(),
                seq: None,
                what: "entry is not chained (no chain, position or hash)".into(),
            });
            i += 1;
            continue;
        };
        let mut expected_seq = 1;
        let mut prev_hash = GENESIS.to_string();
        let mut prev_id = i64::MIN;
        while i < all.len() && all[i].chain.as_deref() == Some(chain.as_str()) {
            let e = &all[i];
            i += 1;
            let problem = |what: String| AuditProblem {
                id: Some(e.id),
                chain: chain.clone(),
                seq: e.seq,
                what,
            };
            let (Some(seq), Some(stored_prev), Some(stored_hash)) =
                (e.seq, e.prev_hash.as_deref(), e.hash.as_deref())
            else {
                report
                    .problems
                    .push(problem("entry has no position or hash".into()));
                continue;
            };
            if seq != expected_seq {
                report.problems.push(problem(format!(
                    "expected position #{expected_seq}, found #{seq}: entries before it were removed"
                )));
            }
            if e.id < prev_id {
                report.problems.push(problem(
                    "row order disagrees with chain order: entries were reordered".into(),
                ));
            }
            if stored_prev != prev_hash {
                report.problems.push(problem(
                    "does not link to the entry before it: an entry was removed, inserted or reordered".into(),
                ));
            }
            let computed = entry_hash(&HashInput {
                chain: &chain,
                seq,
                at_ms: e.at_ms,
                centre_id: e.centre_id.as_deref(),
                actor: &e.actor,
                action: &e.action,
                subject: &e.subject,
                details: &e.details,
                prev_hash: stored_prev,
            });
            if computed != stored_hash {
                report.problems.push(problem(
                    "content does not match its hash: the entry was altered".into(),
                ));
            }
            expected_seq = seq + 1;
            prev_hash = stored_hash.to_string();
            prev_id = e.id;
        }
        let length = expected_seq - 1;
        match heads.get(&chain) {
            Some((head_seq, head_hash)) if *head_seq != length || *head_hash != prev_hash => {
                report.problems.push(AuditProblem {
                    id: None,
                    chain: chain.clone(),
                    seq: Some(*head_seq),
                    what: format!("the chain ends at #{length} but its head records #{head_seq}: the last entries were removed or altered"),
                })
            }
            Some(_) => {}
            None => report.problems.push(AuditProblem {
                id: None,
                chain: chain.clone(),
                seq: None,
                what: "the chain has no head record".into(),
            }),
        }
        report.chains.push((chain, length));
    }
    for (chain, (seq, _)) in heads {
        if *seq > 0 && !report.chains.iter().any(|(c, _)| c == chain) {
            report.problems.push(AuditProblem {
                id: None,
                chain: chain.clone(),
                seq: Some(*seq),
                what: format!("all {seq} entries of the chain are missing"),
            });
        }
    }
    report
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn chain(n: usize) -> (Vec<StoredEntry>, BTreeMap<String, (i64, String)>) {
        let mut prev = GENESIS.to_string();
        let mut out = Vec::new();
        for i in 0..n {
            let seq = i as i64 + 1;
            let details = format!("{{\"step\":{i}}}");
            let hash = entry_hash(&HashInput {
                chain: "rc1",
                seq,
                at_ms: 1_000 + seq,
                centre_id: Some("rc1"),
                actor: "applicant",
                action: "application.started",
                subject: "D",
                details: &details,
                prev_hash: &prev,
            });
            out.push(StoredEntry {
                id: seq * 10,
                chain: Some("rc1".into()),
                seq: Some(seq),
                at_ms: 1_000 + seq,
                centre_id: Some("rc1".into()),
                actor: "applicant".into(),
                action: "application.started".into(),
                subject: "D".into(),
                details,
                prev_hash: Some(prev.clone()),
                hash: Some(hash.clone()),
            });
            prev = hash;
        }
        let heads = BTreeMap::from([("rc1".to_string(), (n as i64, prev))]);
        (out, heads)
    }

    proptest! {
        #[test]
        fn any_single_tampering_is_found(n in 2usize..12, pick in 0usize..100, how in 0u8..5) {
            let (mut entries, heads) = chain(n);
            prop_assert!(check(&entries, &heads).is_intact());
            let i = pick % n;
            match how {
                0 => entries[i].details.push(' '),
                1 => entries[i].actor = "operator:1".into(),
                2 => entries[i].at_ms += 1,
                3 => { entries.remove(i); }
                _ => {
                    // Two neighbours swap places in chain order (their positions swapped).
                    let j = if i + 1 < n { i + 1 } else { i - 1 };
                    let (a, b) = (entries[i].seq, entries[j].seq);
                    entries[i].seq = b;
                    entries[j].seq = a;
                    entries.sort_by_key(|e| e.seq);
                }
            }
            let report = check(&entries, &heads);
            prop_assert!(!report.is_intact());
            prop_assert!(report.problems.iter().all(|p| !p.to_string().is_empty()));
        }
    }
}
