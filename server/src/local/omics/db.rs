//! The embedded SQLite database holding every piece of metadata (stores, uploads, parts,
//! read sets, jobs, tags). One connection behind a mutex: every statement is short, and
//! serialising them is what makes part replacement and completion race-free.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

use super::error::{ApiError, ApiResult};

const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS stores (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    etag_family TEXT NOT NULL,
    fallback_location TEXT,
    propagated_tags TEXT NOT NULL DEFAULT '[]',
    access_log_location TEXT,
    sse_type TEXT NOT NULL DEFAULT 'KMS',
    client_token TEXT,
    status TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    generated_from TEXT,
    reference_arn TEXT,
    sample_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    source_file_type TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}',
    client_token TEXT,
    state TEXT NOT NULL,
    creation_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    source TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    PRIMARY KEY (upload_id, source, part_number)
);
CREATE TABLE IF NOT EXISTS readsets (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    generated_from TEXT,
    reference_arn TEXT,
    sample_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    file_type TEXT NOT NULL,
    creation_type TEXT NOT NULL,
    creation_job_id TEXT,
    upload_id TEXT,
    status TEXT NOT NULL,
    status_message TEXT,
    creation_time INTEGER NOT NULL,
    etag_algorithm TEXT,
    etag1 TEXT,
    etag2 TEXT,
    read_count INTEGER,
    base_count INTEGER,
    size1 INTEGER,
    size2 INTEGER,
    sources INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    role_arn TEXT,
    destination TEXT,
    client_token TEXT,
    sources TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    completion_time INTEGER
);
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
"#;

/// Shared handle to the store's database.
#[derive(Clone)]
pub struct Db(Arc<Mutex<Connection>>);

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (or creates) `path` and makes sure every table exists.
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Db(Arc::new(Mutex::new(conn))))
    }

    /// Locks the connection for a few statements.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves the connection usable: SQLite rolls back.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The first column (an ID) of every row `sql` selects; the lock is released on return.
    pub fn ids(&self, sql: &str) -> ApiResult<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(sql)?;
        let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ids)
    }
}

/// Serialises a value as JSON text for a column.
pub fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Reads a JSON text column.
pub fn from_json<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_default()
}

/// `Ok(None)` when a query found no row.
pub fn optional<T>(r: rusqlite::Result<T>) -> ApiResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(ApiError::from(e)),
    }
}
