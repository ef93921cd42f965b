//! The audit tamper test: entries written by the store, one row edited directly in the
//! database, and `imzo audit verify` (the real binary) fails and names the entry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../imzo-store/tests/common/mod.rs"]
mod db;

use db::Db;
use imzo_store::audit::{self, AuditEntry};
use std::process::Command;

fn verify(url: &str, json: bool) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imzo"));
    cmd.args(["audit", "verify", "--database", url]);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn tamper_is_found_and_named(db: Db) {
    let Some((store, keep)) = db::store(db).await else {
        return;
    };
    let url = match &keep {
        db::Keep::Dir(dir) => format!("sqlite://{}", dir.path().join("imzo.db").display()),
        db::Keep::Pg(_) => {
            let name: String = sqlx::query_scalar("SELECT current_database()::text")
                .fetch_one(store.pool())
                .await
                .unwrap();
            let admin = std::env::var("IMZO_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
            format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
        }
    };
    for (i, action) in [
        "application.started",
        "application.phone_verified",
        "application.submitted",
    ]
    .iter()
    .enumerate()
    {
        let mut tx = store.begin().await.unwrap();
        let details = serde_json::json!({ "step": i });
        audit::record(
            &mut tx,
            AuditEntry {
                centre_id: Some("rc1"),
                actor: "applicant",
                action,
                subject: "D1",
                details,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let (code, out) = verify(&url, false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("intact: 3 entries"), "{out}");

    let victim: i64 = sqlx::query_scalar("SELECT id FROM audit_log WHERE seq = 2")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let unguard: &[&str] = match db {
        Db::Sqlite => &["DROP TRIGGER audit_log_no_update"],
        Db::Postgres => &["DROP TRIGGER audit_log_no_change ON audit_log"],
    };
    for sql in unguard {
        sqlx::query(sqlx::AssertSqlSafe(*sql))
            .execute(store.pool())
            .await
            .unwrap();
    }
    sqlx::query("UPDATE audit_log SET actor = 'operator:9' WHERE id = $1")
        .bind(victim)
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;

    let (code, out) = verify(&url, false);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("entry id {victim} (chain rc1, #2)")) && out.contains("altered"),
        "{out}"
    );
    let (code, out) = verify(&url, true);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["errors"][0]["id"], victim);
    drop(keep);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    tamper_is_found_and_named(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    tamper_is_found_and_named(Db::Postgres).await
}

#[test]
fn usage_without_a_database_is_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_imzo"))
        .args(["audit", "verify"])
        .env_remove("IMZO_DATA")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
