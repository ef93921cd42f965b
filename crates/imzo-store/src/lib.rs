//! Imzo's database: SQLite (embedded default) or PostgreSQL (scale-out) through one
//! `sqlx::Any` pool, the same queries on both. Times are stored as UTC milliseconds,
//! money as integer tiyin. Every state change goes through a transaction that also
//! writes its audit record.
#![warn(missing_docs)]

pub mod applications;
pub mod audit;
pub mod cas;
pub mod centres;
pub mod certificates;
pub mod challenges;
pub mod documents;
pub mod error;
pub mod jobs;
pub mod metrics;
pub mod otp;
pub mod outbox;
pub mod payments;
pub mod rate_limits;
pub mod settings;
mod spki;
pub mod status;
pub mod time_ms;
pub mod timestamps;

pub use error::StoreError;
pub use sqlx::{Any, AnyConnection, AnyPool, Row, Transaction as SqlxTransaction, any::AnyRow};

use sqlx::any::AnyPoolOptions;
use std::str::FromStr;
use std::time::Duration;

/// A database transaction on whichever backend is in use.
pub type Tx<'a> = sqlx::Transaction<'a, Any>;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file (embedded default).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The database handle. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating a SQLite file if
    /// missing, and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::BadUrl(redact_url(url)));
        };
        if backend == Backend::Sqlite {
            restrict_sqlite_file(url)?;
        }
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        options = match backend {
            // One writer at a time is SQLite's nature: WAL lets readers go on, the busy
            // timeout makes writers queue instead of failing, FULL sync makes a commit durable.
            Backend::Sqlite => options.max_connections(8).after_connect(|conn, _meta| {
                Box::pin(async move {
                    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                    Ok(())
                })
            }),
            Backend::Postgres => options.max_connections(16),
        };
        let _ = sqlx::any::AnyConnectOptions::from_str(&url).map_err(|e| StoreError::Connect(e.to_string()))?;
        let pool = options
            .connect(&url)
            .await
            .map_err(|e| StoreError::Connect(format!("{}: {e}", redact_url(&url))))?;
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let result = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.pool).await,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&self.pool).await,
        };
        result.map_err(|e| StoreError::Migrate(e.to_string()))
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so two writers never deadlock on a lock upgrade.
    pub async fn begin(&self) -> Result<Tx<'static>, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Creates the SQLite file readable by its owner only (it holds personal data and
/// passport scans); SQLite gives its -wal and -shm files the same mode.
fn restrict_sqlite_file(url: &str) -> Result<(), StoreError> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    let fail = |e: std::io::Error| StoreError::Connect(format!("{path}: {e}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(fail)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    }
    #[cfg(not(unix))]
    {
        std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(fail)?;
    }
    Ok(())
}

/// Hides the password in a database URL before it is shown or logged.
///
/// ```
/// use imzo_store::redact_url;
/// assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
/// assert_eq!(redact_url("postgres://h/db?user=u&password=pw&sslmode=require"), "postgres://h/db?user=u&password=***&sslmode=require");
/// assert_eq!(redact_url("sqlite:///var/lib/imzo/imzo.db"), "sqlite:///var/lib/imzo/imzo.db");
/// ```
pub fn redact_url(url: &str) -> String {
    let with_user = match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    };
    // libpq also takes the password as a query parameter (`?password=…`).
    let Some((base, query)) = with_user.split_once('?') else { return with_user };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.to_ascii_lowercase().contains("password") => format!("{name}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}
