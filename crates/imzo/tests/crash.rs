//! Crash safety: several applicants go through the flow at once against one node
//! (`imzo enroll`, sandbox payment, operator approval, confirmation), the node is killed
//! with SIGKILL in the middle, and restarted on the same data folder. Nothing the node
//! acknowledged is lost, nothing is half-written (every application in a valid state,
//! certificates and payments consistent with their applications, none twice), the audit
//! chain verifies, and every interrupted application can be finished.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/flow.rs"]
mod flow;

use common::*;
use flow::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const APPLICANTS: u32 = 6;

/// What the node acknowledged to one applicant before it died.
#[derive(Debug, Clone, Default)]
struct Progress {
    number: Option<String>,
    pfx: Option<PathBuf>,
    paid: bool,
    approved: bool,
    serial: Option<String>,
    stopped_by: Option<String>,
}

impl Progress {
    fn steps(&self) -> usize {
        usize::from(self.number.is_some()) + usize::from(self.paid) + usize::from(self.approved) + usize::from(self.serial.is_some())
    }
}

/// One applicant's whole flow against `base`, recording each acknowledged step.
fn walk(base: &str, data: &Path, who: &Person, slot: &Mutex<Progress>) {
    let set = |f: &dyn Fn(&mut Progress)| f(&mut slot.lock().unwrap());
    let (number, pfx) = match enroll(base, base, who) {
        Ok(v) => v,
        Err(e) => return set(&|p| p.stopped_by = Some(e.clone())),
    };
    set(&|p| {
        p.number = Some(number.clone());
        p.pfx = Some(pfx.clone());
    });
    if let Err(e) = sandbox_pay(base, &number) {
        return set(&|p| p.stopped_by = Some(e.clone()));
    }
    set(&|p| p.paid = true);
    let out = operator(base, data, &["approve", &number]);
    if !out.status.success() {
        let e = text(&out.stderr);
        return set(&|p| p.stopped_by = Some(e.clone()));
    }
    set(&|p| p.approved = true);
    match confirm(base, &number, &pfx, who) {
        Ok(serial) => set(&|p| p.serial = Some(serial.clone())),
        Err(e) => set(&|p| p.stopped_by = Some(e.clone())),
    }
}

fn sqlite_url(data: &Path) -> String {
    format!("sqlite://{}/imzo.db", data.display())
}

fn none(url: &str, what: &str, sql: &str) {
    let rows = query(url, sql);
    assert!(rows.is_empty(), "{what}: {rows:?}");
}

/// What must hold of the database at any time, crash or not.
fn consistent(url: &str) {
    none(url, "applications in an unknown state", "SELECT id, state FROM applications WHERE state NOT IN \
        ('started','phone_verified','awaiting_payment','paid','approved','issued','cancelled','rejected','expired','abandoned')");
    none(url, "submitted applications without number or fee", "SELECT id, state FROM applications \
        WHERE state IN ('awaiting_payment','paid','approved','issued') AND (number IS NULL OR fee_tiyin IS NULL OR pay_before_ms IS NULL)");
    none(url, "certificates whose application is not issued with that serial", "SELECT c.serial, a.state, a.certificate_serial \
        FROM certificates c JOIN applications a ON a.id = c.application_id \
        WHERE a.state <> 'issued' OR a.certificate_serial IS NULL OR a.certificate_serial <> c.serial");
    none(url, "issued applications without their certificate", "SELECT a.id, a.certificate_serial FROM applications a \
        WHERE a.state = 'issued' AND (SELECT COUNT(*) FROM certificates c WHERE c.application_id = a.id AND c.serial = a.certificate_serial) <> 1");
    none(url, "applications with two certificates", "SELECT application_id FROM certificates \
        WHERE application_id IS NOT NULL GROUP BY application_id HAVING COUNT(*) > 1");
    none(url, "applications paid twice", "SELECT application_id FROM payments WHERE state = 2 GROUP BY application_id HAVING COUNT(*) > 1");
    none(url, "paid applications without a performed payment", "SELECT a.id, a.state FROM applications a \
        WHERE a.state IN ('paid','approved','issued') AND (SELECT COUNT(*) FROM payments p WHERE p.application_id = a.id AND p.state = 2) <> 1");
    none(url, "performed payments of unpaid applications", "SELECT a.id, a.state FROM applications a JOIN payments p ON p.application_id = a.id \
        WHERE p.state = 2 AND a.state NOT IN ('paid','approved','issued')");
}

fn state_of(url: &str, number: &str) -> String {
    query(url, &format!("SELECT state FROM applications WHERE number = '{number}'"))
        .first()
        .map(|r| r[0].clone())
        .unwrap_or_else(|| format!("missing application {number}"))
}

const ENV: [(&str, &str); 2] = [BCV_ENV, STARTS_ENV];

#[test]
fn kill_9_under_load_loses_and_duplicates_nothing() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let mut server = Server::start(&data, None, &ENV);
    // Several crashes in a row, each with new applicants, on the same folder.
    for round in 0..3 {
        server = load_kill_restart(round, server, &data, work.path());
    }
    server.stop();
    let (code, out) = audit_verify(&sqlite_url(&data));
    assert_eq!(code, Some(0), "{out}");
}

/// One round: applicants at once, kill -9, checks, restart, checks, finish them all.
/// Returns the restarted node.
fn load_kill_restart(round: u32, server: Server, data: &Path, work: &Path) -> Server {
    let url = sqlite_url(data);
    let data = data.to_path_buf();
    let people: Vec<Person> = (0..APPLICANTS).map(|i| Person::new(10 + round * APPLICANTS + i, work)).collect();
    let progress: Arc<Vec<Mutex<Progress>>> = Arc::new(people.iter().map(|_| Mutex::default()).collect());

    let workers: Vec<_> = people
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, who)| {
            let (base, data, progress) = (server.base.clone(), data.clone(), Arc::clone(&progress));
            std::thread::spawn(move || {
                // Staggered, so the kill finds applicants at different steps.
                std::thread::sleep(Duration::from_millis(150 * i as u64));
                walk(&base, &data, &who, &progress[i]);
            })
        })
        .collect();

    // Kill once half of all steps are acknowledged: some applicants done, some
    // mid-way, some not started.
    let total = |p: &[Mutex<Progress>]| p.iter().map(|s| s.lock().unwrap().steps()).sum::<usize>();
    let give_up = Instant::now() + Duration::from_secs(60);
    while total(&progress) < APPLICANTS as usize * 2 {
        assert!(Instant::now() < give_up, "no progress: {:?}\n{}", progress, server.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for w in workers {
        w.join().unwrap();
    }
    let seen: Vec<Progress> = progress.iter().map(|s| s.lock().unwrap().clone()).collect();
    let done = seen.iter().filter(|p| p.serial.is_some()).count();
    eprintln!("round {round}, acknowledged before the kill: {:?}", seen.iter().map(Progress::steps).collect::<Vec<_>>());
    assert!(done < APPLICANTS as usize, "the kill came after every applicant had finished: {seen:#?}");

    // Straight after the crash, before any restart: consistent, audit chain intact.
    consistent(&url);
    let (code, out) = audit_verify(&url);
    assert_eq!(code, Some(0), "audit chain after kill -9: {out}");

    // The node starts again on the same folder and database.
    drop(server);
    let server = Server::start(&data, None, &ENV);
    consistent(&url);

    // Nothing acknowledged is lost.
    for p in &seen {
        let Some(number) = &p.number else { continue };
        let state = state_of(&url, number);
        let allowed: &[&str] = match p {
            Progress { serial: Some(_), .. } => &["issued"],
            Progress { approved: true, .. } => &["approved", "issued"],
            Progress { paid: true, .. } => &["paid", "approved", "issued"],
            _ => &["awaiting_payment", "paid", "approved", "issued"],
        };
        assert!(allowed.contains(&state.as_str()), "{number} is {state} after the restart, but the node had acknowledged {p:?}");
        if let Some(serial) = &p.serial {
            let rows = query(&url, &format!("SELECT certificate_serial FROM applications WHERE number = '{number}'"));
            assert_eq!(&rows[0][0], serial, "{number}");
        }
        // The operator's view, through the restarted node, agrees with the database.
        let out = operator(&server.base, &data, &["show", number]);
        let shown = text(&out.stdout);
        assert!(out.status.success() && shown.contains(&format!("Application {number}: {state}")), "{shown}{}", text(&out.stderr));
    }

    // Every interrupted application can be finished on the restarted node, once.
    for (who, p) in people.iter().zip(&seen) {
        let rows = query(&url, &format!("SELECT number FROM applications WHERE pinfl = '{}' AND number IS NOT NULL", who.pinfl));
        assert!(rows.len() <= 1, "two submitted applications for one applicant: {rows:?}");
        let Some(number) = rows.first().map(|r| r[0].clone()) else { continue };
        // A node killed after submitting but before answering: the key file is already there.
        let pfx = p.pfx.clone().unwrap_or_else(|| who.work.join(format!("keys/DSKEYS/DS{}0001.pfx", who.pinfl)));
        if state_of(&url, &number) == "awaiting_payment" {
            let created = query(&url, &format!(
                "SELECT p.provider_txn_id FROM payments p JOIN applications a ON a.id = p.application_id \
                 WHERE a.number = '{number}' AND p.state = 1"));
            if !created.is_empty() {
                // Killed between the sandbox's CreateTransaction and PerformTransaction:
                // the created transaction holds the application (still pending, valid)
                // until its deadline; the sandbox cannot perform it afterwards.
                assert!(sandbox_pay(&server.base, &number).is_err(), "{number} paid beside a created transaction");
                continue;
            } else {
                sandbox_pay(&server.base, &number).unwrap();
            }
        }
        if state_of(&url, &number) == "paid" {
            let out = operator(&server.base, &data, &["approve", &number]);
            assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
        }
        if !pfx.exists() {
            continue;
        }
        // Approved: issue. Issued (maybe with the answer lost to the kill): the same
        // certificate comes back, never a second one.
        let serial = confirm(&server.base, &number, &pfx, who).unwrap();
        let stored = query(&url, &format!("SELECT state, certificate_serial FROM applications WHERE number = '{number}'"));
        assert_eq!(stored, vec![vec!["issued".to_string(), serial.clone()]]);
        if let Some(before) = &p.serial {
            assert_eq!(before, &serial, "{number} got a second certificate");
        }
    }
    let issued = query(&url, "SELECT COUNT(*) FROM applications WHERE state = 'issued'")[0][0].parse::<usize>().unwrap();
    assert!(issued >= done, "{issued} issued, {done} were before the kill");
    consistent(&url);
    server
}
