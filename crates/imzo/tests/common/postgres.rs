//! A PostgreSQL database made for one test run and dropped afterwards, next to the
//! server `IMZO_TEST_DATABASE_URL` names (every PostgreSQL variant of the tests uses it).

use sqlx::Connection;

/// A database made for one run, dropped afterwards.
pub(crate) struct FreshDatabase {
    admin: String,
    name: String,
    /// Its URL.
    pub(crate) url: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn execute(admin: &str, sql: String) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await?;
    conn.close().await
}

impl FreshDatabase {
    /// A new empty database next to `admin`'s, or none if the server is unreachable.
    pub(crate) fn create(admin: &str) -> Option<FreshDatabase> {
        let name = format!("imzo_test_{}_{}", std::process::id(), super::free_port());
        let rt = runtime();
        let reachable = rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), sqlx::PgConnection::connect(admin)).await
        });
        match reachable {
            Ok(Ok(conn)) => rt.block_on(async { conn.close().await.ok() }),
            _ => return None,
        };
        rt.block_on(execute(admin, format!("CREATE DATABASE {name}"))).unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
        Some(FreshDatabase { admin: admin.to_string(), url: format!("{base}/{name}"), name })
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = runtime().block_on(execute(&self.admin, sql));
    }
}
