//! `imzo backup` and `imzo restore`: one file holding the data folder and a consistent
//! snapshot of the database, checked member by member against a manifest on restore.
//!
//! The file is a POSIX ustar archive (`tar -tvf` lists it) with, in this order:
//! - `data/…`: every file and folder of the data folder (CA keys stay the encrypted
//!   PKCS#8 files they are; `secrets/` and password files are included), except the
//!   SQLite database and its `-wal`/`-shm`/`-journal` files;
//! - `database/imzo.db` (SQLite, made with `VACUUM INTO`, consistent while the server
//!   runs) or `database/<table>.jsonl` (PostgreSQL: one `row_to_json` object per line, in
//!   primary-key order, all tables read in one REPEATABLE READ transaction);
//! - `MANIFEST.json`: format, imzo version, time (UTC), database kind (and for PostgreSQL
//!   the tables, their columns, row counts and applied migrations), and the size and
//!   SHA-256 of every member;
//! - `MANIFEST.json.sha256`: the SHA-256 of the manifest itself, so no byte of the file
//!   goes unchecked (headers carry the tar checksum, padding must be zero).

use crate::config::{Overrides, Settings};
use anyhow::{Context, Result, anyhow, bail};
use imzo_store::redact_url;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

const FORMAT: &str = "imzo-backup";
const FORMAT_VERSION: u32 = 1;
const MANIFEST: &str = "MANIFEST.json";
const MANIFEST_SUM: &str = "MANIFEST.json.sha256";
const SQLITE_MEMBER: &str = "database/imzo.db";
/// A manifest is a few kilobytes per thousand files; anything far larger is not ours and
/// is not read into memory.
const MANIFEST_LIMIT: u64 = 64 << 20;

/// Arguments of `imzo backup`.
#[derive(Debug, clap::Args)]
pub(crate) struct BackupArgs {
    /// Data folder of the deployment to back up.
    #[arg(long, env = "IMZO_DATA")]
    data: PathBuf,
    /// Database URL, `sqlite://PATH` or `postgres://…` (default: the data folder's settings).
    #[arg(long)]
    database: Option<String>,
    /// The backup file to write (refused if it exists; written with mode 0600).
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `imzo restore`.
#[derive(Debug, clap::Args)]
pub(crate) struct RestoreArgs {
    /// The backup file made by `imzo backup`.
    #[arg(long = "in")]
    input: PathBuf,
    /// The new data folder: must not exist or be empty. No IMZO_DATA default: a restore
    /// names its target explicitly.
    #[arg(long)]
    data: PathBuf,
    /// Database URL to restore into (default: the restored settings, i.e. NEWDIR/imzo.db).
    /// Must hold no Imzo tables.
    #[arg(long)]
    database: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    format_version: u32,
    imzo_version: String,
    created_utc: String,
    database: DatabaseInfo,
    directories: Vec<String>,
    members: Vec<MemberInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DatabaseInfo {
    /// `sqlite` or `postgres`.
    kind: String,
    #[serde(default)]
    tables: Vec<TableInfo>,
    #[serde(default)]
    migrations: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TableInfo {
    name: String,
    columns: Vec<String>,
    rows: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MemberInfo {
    path: String,
    size: u64,
    sha256: String,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")
}

fn database_url(data: &Path, database: &Option<String>) -> Result<String> {
    let overrides = Overrides { config: None, listen: None, database: database.clone() };
    Ok(Settings::load(data, &overrides)?.database_url.to_string())
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The file behind a `sqlite:` URL (as the store reads it).
fn sqlite_path(url: &str) -> Result<PathBuf> {
    let rest = url.strip_prefix("sqlite:").ok_or_else(|| anyhow!("not a sqlite: or postgres:// URL: {}", redact_url(url)))?;
    let rest = rest.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        bail!("an in-memory SQLite database cannot be backed up or restored");
    }
    Ok(PathBuf::from(path))
}

/// Runs `imzo backup`.
pub(crate) fn backup(args: BackupArgs) -> Result<ExitCode> {
    if !args.data.is_dir() {
        bail!("--data {}: no such folder", args.data.display());
    }
    if args.out.exists() {
        bail!("--out {}: already exists; choose a new file name (a backup is never overwritten)", args.out.display());
    }
    let data = std::fs::canonicalize(&args.data).with_context(|| format!("cannot resolve {}", args.data.display()))?;
    let url = database_url(&data, &args.database)?;
    let out_name = args.out.file_name().ok_or_else(|| anyhow!("--out {}: not a file name", args.out.display()))?;
    let out_dir = match args.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let out_dir = std::fs::canonicalize(&out_dir).with_context(|| format!("cannot resolve {}", out_dir.display()))?;
    let partial = out_dir.join(format!("{}.partial", out_name.to_string_lossy()));
    let stage = Stage::new(out_dir.join(format!(".{}.stage-{}", out_name.to_string_lossy(), std::process::id())))?;

    // What must not be copied as a data file: the live database (copied consistently
    // below instead) and our own output.
    let mut skip: BTreeSet<PathBuf> = BTreeSet::new();
    skip.insert(partial.clone());
    skip.insert(out_dir.join(out_name));
    skip.insert(stage.path.clone());
    let sqlite = !is_postgres(&url);
    if sqlite {
        let db = sqlite_path(&url)?;
        if let (Some(parent), Some(name)) = (db.parent(), db.file_name())
            && let Ok(parent) = std::fs::canonicalize(if parent.as_os_str().is_empty() { Path::new(".") } else { parent })
        {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                skip.insert(parent.join(format!("{}{suffix}", name.to_string_lossy())));
            }
        }
    }

    // The database snapshot first: the data folder changes only at bootstrap, the
    // database all the time.
    let rt = runtime()?;
    let (info, db_files) = if sqlite {
        let snapshot = stage.path.join("imzo.db");
        rt.block_on(snapshot_sqlite(&url, &snapshot))?;
        (DatabaseInfo { kind: "sqlite".into(), tables: Vec::new(), migrations: Vec::new() }, vec![(SQLITE_MEMBER.to_string(), snapshot)])
    } else {
        rt.block_on(dump_postgres(&url, &stage.path))?
    };

    let file = open_private(&partial)?;
    let mut tar = TarWriter { out: std::io::BufWriter::new(file), members: Vec::new(), directories: Vec::new() };
    let mut count = 0usize;
    add_folder(&mut tar, &data, &data, &skip, &mut count)?;
    for (member, path) in &db_files {
        let mut f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let size = f.metadata()?.len();
        tar.add_file(member, 0o600, size, &mut f)?;
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        imzo_version: env!("CARGO_PKG_VERSION").into(),
        created_utc: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .context("cannot format the time")?,
        database: info.clone(),
        directories: tar.directories.clone(),
        members: tar.members.clone(),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).context("cannot write the manifest")?;
    let manifest_sum = format!("{}  {MANIFEST}\n", hex::encode(Sha256::digest(&manifest_bytes)));
    tar.add_file(MANIFEST, 0o600, manifest_bytes.len() as u64, &mut manifest_bytes.as_slice())?;
    tar.add_file(MANIFEST_SUM, 0o600, manifest_sum.len() as u64, &mut manifest_sum.as_bytes())?;
    let file = tar.finish()?;
    file.sync_all().context("cannot flush the backup file")?;
    drop(file);
    std::fs::rename(&partial, &args.out).with_context(|| format!("cannot move the backup into place at {}", args.out.display()))?;
    let size = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    println!("Backup written: {} ({size} bytes, mode 0600)", args.out.display());
    println!("  Data folder:  {} ({count} files)", data.display());
    match info.kind.as_str() {
        "sqlite" => println!("  Database:     SQLite snapshot (VACUUM INTO)"),
        _ => println!(
            "  Database:     PostgreSQL, {} tables, {} rows",
            info.tables.len(),
            info.tables.iter().map(|t| t.rows).sum::<u64>()
        ),
    }
    println!("  Keep it as safe as the data folder: it holds the CA keys, secrets and personal data.");
    Ok(ExitCode::SUCCESS)
}

/// A scratch folder (mode 0700) removed when dropped, whatever happened.
struct Stage {
    path: PathBuf,
}

impl Stage {
    fn new(path: PathBuf) -> Result<Stage> {
        create_private_dir(&path)?;
        Ok(Stage { path })
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).with_context(|| format!("cannot create {}", path.display()))
}

/// Creates `path` readable by its owner only: a backup is as sensitive as the data folder.
fn open_private(path: &Path) -> Result<std::fs::File> {
    create_file(path, 0o600)
}

fn create_file(path: &Path, mode: u32) -> Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(mode);
        let file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
        // The umask may have taken bits away, and an existing file kept its old mode.
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of {}", path.display()))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        options.open(path).with_context(|| format!("cannot create {}", path.display()))
    }
}

fn mode_of(meta: &std::fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0o600
    }
}

fn add_folder<W: Write>(tar: &mut TarWriter<W>, root: &Path, dir: &Path, skip: &BTreeSet<PathBuf>, count: &mut usize) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if skip.contains(&path) {
            continue;
        }
        let rel = path.strip_prefix(root).context("a path outside the data folder")?;
        let rel = rel.to_str().ok_or_else(|| anyhow!("{}: not a UTF-8 file name", path.display()))?.replace('\\', "/");
        let member = format!("data/{rel}");
        let meta = std::fs::symlink_metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            tar.add_dir(&member, mode_of(&meta))?;
            add_folder(tar, root, &path, skip, count)?;
        } else if meta.is_file() {
            let mut f = std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
            tar.add_file(&member, mode_of(&meta), meta.len(), &mut f)
                .with_context(|| format!("cannot back up {}", path.display()))?;
            *count += 1;
        } else {
            // Skipping it silently would make a backup that restores to something else.
            bail!("{}: not a regular file or folder (a link?); the data folder must hold only files", path.display());
        }
    }
    Ok(())
}

async fn snapshot_sqlite(url: &str, dest: &Path) -> Result<()> {
    use sqlx::ConnectOptions as _;
    let path = sqlite_path(url)?;
    if !path.is_file() {
        bail!("no SQLite database at {}", path.display());
    }
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(false)
        // The server may be writing: wait for its transaction rather than fail.
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .with_context(|| format!("cannot open {}", path.display()))?;
    let dest_text = dest.to_str().ok_or_else(|| anyhow!("{}: not a UTF-8 path", dest.display()))?;
    // One read transaction: the copy is the database as of one moment, WAL included.
    sqlx::query("VACUUM INTO ?")
        .bind(dest_text)
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot snapshot {}", path.display()))?;
    let _ = sqlx::Connection::close(conn).await;
    Ok(())
}

/// Double-quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Our table names become member names: only plain lower-case SQL names are expected.
fn plain_name(name: &str) -> Result<&str> {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        Ok(name)
    } else {
        bail!("unexpected table name {name:?}")
    }
}

async fn pg_connect(url: &str) -> Result<sqlx::PgConnection> {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(url).await.map_err(|e| anyhow!("cannot connect to {}: {e}", redact_url(url)))
}

async fn dump_postgres(url: &str, stage: &Path) -> Result<(DatabaseInfo, Vec<(String, PathBuf)>)> {
    use futures_util::TryStreamExt as _;
    use sqlx::Connection as _;
    let mut conn = pg_connect(url).await?;
    let mut tx = conn.begin().await?;
    // Every table as of one moment, and no write by us.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(&mut *tx)
    .await?;
    if !tables.iter().any(|t| t == "_sqlx_migrations") {
        bail!("{} holds no Imzo schema (no _sqlx_migrations table)", redact_url(url));
    }
    let migrations: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut *tx)
        .await?;
    let mut infos = Vec::new();
    let mut files = Vec::new();
    for table in &tables {
        let name = plain_name(table)?;
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(name)
        .fetch_all(&mut *tx)
        .await?;
        let key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = $1::regclass AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
        )
        .bind(ident(name))
        .fetch_all(&mut *tx)
        .await?;
        let order = if key.is_empty() { "1".to_string() } else { key.iter().map(|k| format!("t.{}", ident(k))).collect::<Vec<_>>().join(", ") };
        let sql = format!("SELECT row_to_json(t)::text FROM {} t ORDER BY {order}", ident(name));
        let path = stage.join(format!("{name}.jsonl"));
        let mut out = std::io::BufWriter::new(open_private(&path)?);
        let mut rows = 0u64;
        {
            let mut stream = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
            while let Some(line) = stream.try_next().await.with_context(|| format!("cannot read table {name}"))? {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
                rows += 1;
            }
        }
        out.flush()?;
        infos.push(TableInfo { name: name.to_string(), columns, rows });
        files.push((format!("database/{name}.jsonl"), path));
    }
    tx.rollback().await?;
    let _ = conn.close().await;
    Ok((DatabaseInfo { kind: "postgres".into(), tables: infos, migrations }, files))
}

// ---------------------------------------------------------------------------------------
// Restore

/// Runs `imzo restore`.
pub(crate) fn restore(args: RestoreArgs) -> Result<ExitCode> {
    // Everything is checked before anything is written.
    let manifest = verify(&args.input)?;
    let created = match std::fs::read_dir(&args.data) {
        Ok(mut entries) => {
            if let Some(first) = entries.next() {
                let first = first.map(|e| e.file_name().to_string_lossy().into_owned()).unwrap_or_default();
                bail!(
                    "--data {}: the folder is not empty (it holds {first:?}); restore only into a new or empty folder",
                    args.data.display()
                );
            }
            false
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create_private_dir(&args.data)?;
            true
        }
        Err(e) => return Err(e).with_context(|| format!("--data {}: cannot read the folder", args.data.display())),
    };
    match restore_into(&args, &manifest) {
        Ok(()) => {}
        Err(e) => {
            // All or nothing: the folder was empty or absent, so all of it is ours.
            if created {
                let _ = std::fs::remove_dir_all(&args.data);
            } else if let Ok(entries) = std::fs::read_dir(&args.data) {
                for entry in entries.flatten() {
                    let p = entry.path();
                    let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
                }
            }
            return Err(e);
        }
    }
    println!("Restored {} into {}", args.input.display(), args.data.display());
    println!("  Made:      {} by imzo {}", manifest.created_utc, manifest.imzo_version);
    println!("  Files:     {}", manifest.members.iter().filter(|m| m.path.starts_with("data/")).count());
    println!("  Database:  {}", manifest.database.kind);
    println!("Start it with: imzo up --data {}", args.data.display());
    Ok(ExitCode::SUCCESS)
}

/// Reads the whole backup once: every header checksum, every member's SHA-256 against
/// the manifest, the manifest's own SHA-256. Returns the manifest.
fn verify(input: &Path) -> Result<Manifest> {
    let file = std::fs::File::open(input).with_context(|| format!("--in {}: cannot open", input.display()))?;
    let bad = |what: String| anyhow!("--in {}: not a valid Imzo backup: {what}", input.display());
    let mut tar = TarReader { input: BufReader::new(file) };
    let mut found: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut dirs: Vec<String> = Vec::new();
    let mut manifest_bytes: Option<Vec<u8>> = None;
    let mut manifest_sum: Option<Vec<u8>> = None;
    while let Some(entry) = tar.next().map_err(|e| bad(format!("{e:#}")))? {
        if entry.dir {
            dirs.push(entry.path);
            continue;
        }
        if entry.path == MANIFEST || entry.path == MANIFEST_SUM {
            if entry.size > MANIFEST_LIMIT {
                return Err(bad(format!("{} is too large", entry.path)));
            }
            let mut bytes = Vec::new();
            let mut body = tar.body(entry.size);
            body.read_to_end(&mut bytes).map_err(|e| bad(e.to_string()))?;
            body.finish().map_err(|e| bad(format!("{e:#}")))?;
            let slot = if entry.path == MANIFEST { &mut manifest_bytes } else { &mut manifest_sum };
            if slot.replace(bytes).is_some() {
                return Err(bad(format!("{} appears twice", entry.path)));
            }
            continue;
        }
        let mut body = tar.body(entry.size);
        std::io::copy(&mut body, &mut std::io::sink()).map_err(|e| bad(format!("{}: {e}", entry.path)))?;
        let sum = body.finish().map_err(|e| bad(format!("{}: {e:#}", entry.path)))?;
        if found.insert(entry.path.clone(), (entry.size, sum)).is_some() {
            return Err(bad(format!("{} appears twice", entry.path)));
        }
    }
    let manifest_bytes = manifest_bytes.ok_or_else(|| bad(format!("no {MANIFEST}")))?;
    let manifest_sum = manifest_sum.ok_or_else(|| bad(format!("no {MANIFEST_SUM}")))?;
    let expected = format!("{}  {MANIFEST}\n", hex::encode(Sha256::digest(&manifest_bytes)));
    if manifest_sum != expected.as_bytes() {
        return Err(bad(format!("the SHA-256 of {MANIFEST} does not match {MANIFEST_SUM} (the file was changed)")));
    }
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes).map_err(|e| bad(format!("{MANIFEST}: {e}")))?;
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        return Err(bad(format!("format {} version {} is not {FORMAT} version {FORMAT_VERSION}", manifest.format, manifest.format_version)));
    }
    for m in &manifest.members {
        match found.remove(&m.path) {
            None => return Err(bad(format!("{} is in the manifest but not in the file", m.path))),
            Some((size, sum)) if size != m.size || sum != m.sha256 => {
                return Err(bad(format!("{}: its SHA-256 does not match the manifest (the file was changed)", m.path)));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = found.keys().next() {
        return Err(bad(format!("{extra} is in the file but not in the manifest")));
    }
    if dirs != manifest.directories {
        return Err(bad("its folders differ from the manifest".into()));
    }
    match manifest.database.kind.as_str() {
        "sqlite" if manifest.members.iter().any(|m| m.path == SQLITE_MEMBER) => {}
        "postgres" => {
            for t in &manifest.database.tables {
                plain_name(&t.name).map_err(|e| bad(format!("{e:#}")))?;
                let member = format!("database/{}.jsonl", t.name);
                if !manifest.members.iter().any(|m| m.path == member) {
                    return Err(bad(format!("no {member}")));
                }
            }
        }
        other => return Err(bad(format!("database kind {other:?} without its snapshot"))),
    }
    Ok(manifest)
}

/// A member path as a relative path with plain components only (outside input: no
/// `..`, no absolute path may escape the target folder).
fn safe_relative(path: &str) -> Result<PathBuf> {
    let p = Path::new(path);
    if path.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        bail!("unsafe member path {path:?}");
    }
    Ok(p.to_path_buf())
}

fn restore_into(args: &RestoreArgs, manifest: &Manifest) -> Result<()> {
    let expected: BTreeMap<&str, &MemberInfo> = manifest.members.iter().map(|m| (m.path.as_str(), m)).collect();
    let stage = Stage::new(args.data.join(".imzo-restore"))?;
    let file = std::fs::File::open(&args.input).with_context(|| format!("--in {}: cannot open", args.input.display()))?;
    let mut tar = TarReader { input: BufReader::new(file) };
    while let Some(entry) = tar.next()? {
        let target = if let Some(rel) = entry.path.strip_prefix("data/") {
            args.data.join(safe_relative(rel)?)
        } else if let Some(rel) = entry.path.strip_prefix("database/") {
            stage.path.join(safe_relative(rel)?)
        } else {
            // The manifest members, checked already.
            let mut body = tar.body(entry.size);
            std::io::copy(&mut body, &mut std::io::sink())?;
            body.finish()?;
            continue;
        };
        if entry.dir {
            std::fs::create_dir_all(&target).with_context(|| format!("cannot create {}", target.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(entry.mode & 0o777 | 0o700))?;
            }
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let mut out = std::io::BufWriter::new(create_file(&target, entry.mode & 0o777)?);
        let mut body = tar.body(entry.size);
        std::io::copy(&mut body, &mut out).with_context(|| format!("cannot write {}", target.display()))?;
        let sum = body.finish()?;
        out.flush()?;
        // Read again since `verify`: the file must not have changed in between.
        if expected.get(entry.path.as_str()).map(|m| m.sha256.as_str()) != Some(sum.as_str()) {
            bail!("{}: changed since it was verified; nothing restored", entry.path);
        }
    }
    let url = database_url(&args.data, &args.database)?;
    let rt = runtime()?;
    match (manifest.database.kind.as_str(), is_postgres(&url)) {
        ("sqlite", false) => rt.block_on(restore_sqlite(&url, &stage.path.join("imzo.db")))?,
        ("postgres", true) => rt.block_on(restore_postgres(&url, &stage.path, &manifest.database))?,
        (kind, _) => bail!(
            "the backup holds a {kind} database but the target is {}: give --database with a {kind} URL",
            redact_url(&url)
        ),
    }
    Ok(())
}

async fn sqlite_tables(path: &Path) -> Result<Vec<String>> {
    use sqlx::ConnectOptions as _;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("cannot open {}", path.display()))?;
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .with_context(|| format!("{}: not a SQLite database", path.display()))?;
    let _ = sqlx::Connection::close(conn).await;
    Ok(tables)
}

async fn restore_sqlite(url: &str, staged: &Path) -> Result<()> {
    let path = sqlite_path(url)?;
    if path.exists() {
        let tables = sqlite_tables(&path).await?;
        if !tables.is_empty() {
            bail!(
                "the database {} already holds Imzo tables ({}); restore into a new database",
                path.display(),
                tables.join(", ")
            );
        }
    }
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            bail!("{} exists beside the target database; remove it or restore elsewhere", side.display());
        }
    }
    let mut from = std::fs::File::open(staged).with_context(|| format!("cannot read {}", staged.display()))?;
    let mut to = create_file(&path, 0o600)?;
    std::io::copy(&mut from, &mut to).with_context(|| format!("cannot write {}", path.display()))?;
    to.sync_all()?;
    Ok(())
}

async fn restore_postgres(url: &str, stage: &Path, info: &DatabaseInfo) -> Result<()> {
    use sqlx::Connection as _;
    let names: Vec<String> = info.tables.iter().map(|t| t.name.clone()).collect();
    let mut conn = pg_connect(url).await?;
    let present: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = ANY($1) ORDER BY table_name",
    )
    .bind(&names)
    .fetch_all(&mut conn)
    .await?;
    if !present.is_empty() {
        bail!(
            "the database {} already holds Imzo tables ({}); restore into a new, empty database",
            redact_url(url),
            present.join(", ")
        );
    }
    let _ = conn.close().await;
    // The schema as this imzo makes it, then the rows.
    let store = imzo_store::Store::connect(url).await.context("cannot create the schema")?;
    store.close().await;
    let mut conn = pg_connect(url).await?;
    let have: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut conn)
        .await?;
    if have != info.migrations {
        bail!(
            "the backup's schema (migrations {:?}) differs from this imzo's ({have:?}): restore with the imzo version \
             that made it, then upgrade; the database now holds an empty schema, drop and recreate it first",
            info.migrations
        );
    }
    let edges: Vec<(String, String)> = sqlx::query_as(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint \
         WHERE contype = 'f' AND connamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut conn)
    .await?;
    let order = parents_first(&names, &edges)?;
    let self_referencing: BTreeSet<&str> = edges.iter().filter(|(a, b)| a == b).map(|(a, _)| a.as_str()).collect();
    let mut tx = conn.begin().await?;
    for table in order.iter().filter(|t| t.as_str() != "_sqlx_migrations") {
        let Some(t) = info.tables.iter().find(|x| &x.name == table) else { continue };
        let cols = t.columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "INSERT INTO {tbl} ({cols}) SELECT {cols} FROM json_populate_record(NULL::{tbl}, $1::json)",
            tbl = ident(&t.name)
        );
        let path = stage.join(format!("{}.jsonl", t.name));
        let reader = BufReader::new(std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?);
        let mut rows = 0u64;
        if self_referencing.contains(t.name.as_str()) {
            // Rows may point at rows later in key order (a centre CA before its root):
            // insert what can be, retry the rest until nothing is left.
            let mut pending: Vec<String> = reader.lines().collect::<Result<_, _>>()?;
            while !pending.is_empty() {
                let mut later = Vec::new();
                let before = pending.len();
                for line in pending {
                    sqlx::raw_sql("SAVEPOINT imzo_row").execute(&mut *tx).await?;
                    match sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(&line).execute(&mut *tx).await {
                        Ok(_) => {
                            sqlx::raw_sql("RELEASE SAVEPOINT imzo_row").execute(&mut *tx).await?;
                            rows += 1;
                        }
                        Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("23503") => {
                            sqlx::raw_sql("ROLLBACK TO SAVEPOINT imzo_row").execute(&mut *tx).await?;
                            later.push(line);
                        }
                        Err(e) => return Err(e).with_context(|| format!("cannot restore a row of {}", t.name)),
                    }
                }
                if later.len() == before {
                    bail!("rows of {} refer to rows missing from the backup", t.name);
                }
                pending = later;
            }
        } else {
            for line in reader.lines() {
                let line = line?;
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(&line)
                    .execute(&mut *tx)
                    .await
                    .with_context(|| format!("cannot restore a row of {}", t.name))?;
                rows += 1;
            }
        }
        if rows != t.rows {
            bail!("{}: {rows} rows restored, the manifest says {}", t.name, t.rows);
        }
    }
    // New ids continue after the restored ones.
    let serials: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (table, column) in serials {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({c}) FROM {t}), 0) + 1, false)",
            c = ident(&column),
            t = ident(&table)
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ident(&table)).bind(&column).execute(&mut *tx).await?;
    }
    tx.commit().await.context("cannot commit the restored rows")?;
    let _ = conn.close().await;
    Ok(())
}

/// `tables` ordered so that a table comes after every table it refers to.
fn parents_first(tables: &[String], edges: &[(String, String)]) -> Result<Vec<String>> {
    let mut left: Vec<String> = tables.to_vec();
    let mut done: Vec<String> = Vec::new();
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|t| {
                edges.iter().all(|(child, parent)| child != *t || parent == *t || done.contains(parent) || !tables.contains(parent))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            bail!("the foreign keys among {} form a cycle", left.join(", "));
        }
        left.retain(|t| !ready.contains(t));
        done.extend(ready);
    }
    Ok(done)
}

// ---------------------------------------------------------------------------------------
// ustar

const BLOCK: usize = 512;

struct TarWriter<W: Write> {
    out: W,
    members: Vec<MemberInfo>,
    directories: Vec<String>,
}

impl<W: Write> TarWriter<W> {
    fn add_dir(&mut self, path: &str, mode: u32) -> Result<()> {
        let h = header(&format!("{path}/"), b'5', mode, 0)?;
        self.out.write_all(&h)?;
        self.directories.push(path.to_string());
        Ok(())
    }

    /// Writes `size` bytes from `content`; a file that shrank or grew meanwhile is an error.
    fn add_file(&mut self, path: &str, mode: u32, size: u64, content: &mut dyn Read) -> Result<()> {
        self.out.write_all(&header(path, b'0', mode, size)?)?;
        let mut hash = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = size;
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let n = content.read(&mut buf[..want])?;
            if n == 0 {
                bail!("{path}: shrank while being read");
            }
            hash.update(&buf[..n]);
            self.out.write_all(&buf[..n])?;
            left -= n as u64;
        }
        if content.read(&mut buf[..1])? != 0 {
            bail!("{path}: grew while being read");
        }
        self.out.write_all(&vec![0u8; padding(size)])?;
        self.members.push(MemberInfo { path: path.to_string(), size, sha256: hex::encode(hash.finalize()) });
        Ok(())
    }

    fn finish(mut self) -> Result<W::Inner>
    where
        W: IntoInner,
    {
        self.out.write_all(&[0u8; 2 * BLOCK])?;
        self.out.into_inner_checked()
    }
}

/// `BufWriter::into_inner` with its error made an anyhow error.
trait IntoInner: Write {
    type Inner;
    fn into_inner_checked(self) -> Result<Self::Inner>;
}

impl<T: Write> IntoInner for std::io::BufWriter<T> {
    type Inner = T;
    fn into_inner_checked(self) -> Result<T> {
        self.into_inner().map_err(|e| anyhow!("cannot write the backup file: {}", e.error()))
    }
}

fn padding(size: u64) -> usize {
    let rem = (size % BLOCK as u64) as usize;
    if rem == 0 { 0 } else { BLOCK - rem }
}

fn header(path: &str, kind: u8, mode: u32, size: u64) -> Result<[u8; BLOCK]> {
    let mut h = [0u8; BLOCK];
    // Long names go into the ustar prefix field, split at a '/'.
    let (prefix, name) = if path.len() <= 100 {
        ("", path)
    } else {
        path.match_indices('/')
            .map(|(i, _)| (&path[..i], &path[i + 1..]))
            .find(|(p, n)| p.len() <= 155 && !n.is_empty() && n.len() <= 100)
            .ok_or_else(|| anyhow!("{path}: the name is too long for the archive"))?
    };
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], u64::from(mode & 0o7777));
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    if size < 8u64.pow(11) {
        octal(&mut h[124..136], size);
    } else {
        // GNU base-256 for members of 8 GiB and more (a large SQLite snapshot).
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    octal(&mut h[136..148], 0);
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    let sum = checksum_text(&h);
    h[148..156].copy_from_slice(&sum);
    Ok(h)
}

fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&text.as_bytes()[text.len() - digits..]);
    field[digits] = 0;
}

fn checksum(h: &[u8; BLOCK]) -> u32 {
    h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { u32::from(b' ') } else { u32::from(b) }).sum()
}

fn checksum_text(h: &[u8; BLOCK]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(format!("{:06o}\0 ", checksum(h)).as_bytes());
    out
}

struct Entry {
    path: String,
    dir: bool,
    mode: u32,
    size: u64,
}

struct TarReader<R: Read> {
    input: R,
}

impl<R: Read> TarReader<R> {
    /// The next member's header, or none at the end (two zero blocks, then only zeros).
    fn next(&mut self) -> Result<Option<Entry>> {
        let mut h = [0u8; BLOCK];
        self.input.read_exact(&mut h).context("the file ends inside the archive (truncated?)")?;
        if h.iter().all(|&b| b == 0) {
            let mut rest = Vec::new();
            self.input.read_to_end(&mut rest)?;
            if rest.len() < BLOCK || rest.iter().any(|&b| b != 0) {
                bail!("data after the end of the archive");
            }
            return Ok(None);
        }
        if h[148..156] != checksum_text(&h) {
            bail!("a member header was changed (checksum mismatch)");
        }
        if &h[257..263] != b"ustar\0" {
            bail!("not a ustar archive");
        }
        let text = |field: &[u8]| -> Result<String> {
            let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
            String::from_utf8(field[..end].to_vec()).map_err(|_| anyhow!("a member name is not UTF-8"))
        };
        let name = text(&h[..100])?;
        let prefix = text(&h[345..500])?;
        let path = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let dir = match h[156] {
            b'0' | 0 => false,
            b'5' => true,
            other => bail!("member {path}: type {:?} is not a file or folder", char::from(other)),
        };
        let path = path.trim_end_matches('/').to_string();
        let mode = u32::try_from(number(&h[100..108])?).map_err(|_| anyhow!("member {path}: bad mode"))?;
        let size = number(&h[124..136])?;
        if dir && size != 0 {
            bail!("folder {path} has a size");
        }
        Ok(Some(Entry { path, dir, mode, size }))
    }

    fn body(&mut self, size: u64) -> Body<'_, R> {
        Body { input: &mut self.input, left: size, pad: padding(size), hash: Sha256::new() }
    }
}

fn number(field: &[u8]) -> Result<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = 0;
        for &b in &field[1..] {
            v = v.checked_mul(256).and_then(|v| v.checked_add(u64::from(b))).ok_or_else(|| anyhow!("a number overflows"))?;
        }
        return Ok(v);
    }
    let text: String = field.iter().take_while(|&&b| b != 0).map(|&b| char::from(b)).collect();
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8).map_err(|_| anyhow!("a header number is not octal"))
}

/// One member's content: reads at most its size, hashing; `finish` checks the padding.
struct Body<'a, R: Read> {
    input: &'a mut R,
    left: u64,
    pad: usize,
    hash: Sha256,
}

impl<R: Read> Read for Body<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = usize::try_from(self.left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = self.input.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file ends inside a member (truncated?)"));
        }
        self.hash.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

impl<R: Read> Body<'_, R> {
    /// Reads what is left and the padding (which must be zeros); the content's SHA-256 in hex.
    fn finish(mut self) -> Result<String> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        let mut pad = vec![0u8; self.pad];
        self.input.read_exact(&mut pad).context("the file ends inside a member (truncated?)")?;
        if pad.iter().any(|&b| b != 0) {
            bail!("padding after a member was changed");
        }
        Ok(hex::encode(self.hash.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_round_trip_and_long_names() {
        let long = format!("data/{}/{}", "d".repeat(120), "f".repeat(90));
        let mut tar = TarWriter { out: Vec::new(), members: Vec::new(), directories: Vec::new() };
        tar.add_dir("data/pki", 0o700).unwrap_or_else(|e| panic!("{e}"));
        tar.add_file(&long, 0o600, 3, &mut b"abc".as_slice()).unwrap_or_else(|e| panic!("{e}"));
        tar.out.write_all(&[0u8; 2 * BLOCK]).unwrap_or_else(|e| panic!("{e}"));
        let mut r = TarReader { input: tar.out.as_slice() };
        let d = r.next().unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("dir"));
        assert!(d.dir && d.path == "data/pki");
        let f = r.next().unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("file"));
        assert_eq!((f.path.as_str(), f.size, f.mode), (long.as_str(), 3, 0o600));
        let sum = r.body(f.size).finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sum, tar.members[0].sha256);
        assert!(r.next().unwrap_or_else(|e| panic!("{e}")).is_none());
        assert!(safe_relative("../x").is_err() && safe_relative("/etc/x").is_err() && safe_relative("a/b").is_ok());
    }
}
