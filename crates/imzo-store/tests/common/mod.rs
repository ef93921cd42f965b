//! Shared setup of database tests: a store on a temporary SQLite file or on a fresh
//! PostgreSQL database (`IMZO_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`) that is dropped afterwards. Without a
//! reachable server the PostgreSQL variant is skipped with a notice, unless `CI` is set.
//! Other crates' tests include this file with `#[path]`, so there is one copy.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use imzo_store::Store;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A fresh PostgreSQL database, dropped when the test ends (even if it panics).
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any runtime guarantee: use a private one on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                sqlx::any::install_default_drivers();
                if let Ok(pool) = sqlx::AnyPool::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// Whatever keeps the database alive for the test.
pub enum Keep {
    Dir(tempfile::TempDir),
    Pg(PgDatabase),
}

/// A store on `db`, or `None` (with a notice) when PostgreSQL is unreachable outside CI.
pub async fn store(db: Db) -> Option<(Store, Keep)> {
    match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("imzo.db").display());
            Some((Store::connect(&url).await.unwrap(), Keep::Dir(dir)))
        }
        Db::Postgres => {
            let admin_url = std::env::var("IMZO_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
            sqlx::any::install_default_drivers();
            // A short timeout: an absent server should cost seconds, not the pool's default 30 s.
            let options =
                sqlx::any::AnyPoolOptions::new().acquire_timeout(std::time::Duration::from_secs(3));
            let admin = match options.connect(&admin_url).await {
                Ok(pool) => pool,
                Err(e) if std::env::var_os("CI").is_some() => {
                    panic!("PostgreSQL unreachable in CI: {e}")
                }
                Err(e) => {
                    eprintln!(
                        "SKIPPED: PostgreSQL at {} is unreachable ({e}); set IMZO_TEST_DATABASE_URL",
                        imzo_store::redact_url(&admin_url)
                    );
                    return None;
                }
            };
            let name = format!("imzo_test_{}", random_hex(6));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let guard = PgDatabase {
                admin_url: admin_url.clone(),
                name: name.clone(),
            };
            let (base, _) = admin_url.rsplit_once('/').unwrap();
            let store = Store::connect(&format!("{base}/{name}")).await.unwrap();
            Some((store, Keep::Pg(guard)))
        }
    }
}

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).unwrap();
    hex::encode(b)
}
