//! The SQLite catalogue (`{data_dir}/sbg.sqlite`): projects, uploads, stored parts, used
//! part URLs and files. Bytes live beside it under `{data_dir}/sbg/`; rows name them by a
//! path relative to that folder.
//!
//! Every change that must stay consistent with another happens in one transaction, and the
//! checks that decide it (upload still open, URL not used yet, name still free) run inside
//! that transaction, so concurrent requests cannot half-apply.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row};

/// An open upload.
#[derive(Debug, Clone)]
pub struct UploadRow {
    /// Its id.
    pub upload_id: String,
    /// `owner/name`.
    pub project: String,
    /// File name once complete.
    pub name: String,
    /// Total bytes.
    pub size: u64,
    /// Bytes of every part but the last.
    pub part_size: u64,
    /// Number of parts, 1..=10,000.
    pub part_count: u32,
    /// Whether completing may replace a file of the same name.
    pub overwrite: bool,
    /// When it started (unix seconds).
    pub initiated: i64,
}

/// A part whose bytes are stored.
#[derive(Debug, Clone)]
pub struct PartRow {
    /// 1-based.
    pub part_number: u32,
    /// Bytes.
    pub size: u64,
    /// Lowercase hex MD5 of the bytes (the ETag without quotes).
    pub etag: String,
    /// Path of the bytes relative to the sbg folder.
    pub file: String,
    /// The ETag reported for it, once reported (cleared when the part is uploaded again).
    pub reported_etag: Option<String>,
}

/// A complete file.
#[derive(Debug, Clone)]
pub struct FileRow {
    /// 24 hex characters.
    pub id: String,
    /// `owner/name`.
    pub project: String,
    /// File name, unique within the project.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Unix seconds.
    pub created_on: i64,
    /// Unix seconds.
    pub modified_on: i64,
}

/// Outcome of storing a part.
#[derive(Debug)]
pub enum StorePart {
    /// Stored; the bytes of the part it replaced (if any) can go.
    Stored {
        /// Relative path of the replaced part's bytes.
        replaced_file: Option<String>,
    },
    /// The upload was completed or aborted meanwhile.
    UploadGone,
    /// The URL was used by another request meanwhile.
    UrlUsed,
}

/// Outcome of completing an upload.
#[derive(Debug)]
pub enum Finish {
    /// The file row exists; the parts' bytes (and a replaced file's) can go.
    Done {
        /// Relative paths of the parts' bytes.
        part_files: Vec<String>,
        /// Id of the file this one replaced.
        replaced_file_id: Option<String>,
    },
    /// The upload was completed or aborted meanwhile.
    UploadGone,
    /// A file of that name appeared meanwhile and the upload may not overwrite.
    NameTaken,
}

/// The catalogue.
pub struct Db {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY,
    created_on INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    project TEXT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    part_size INTEGER NOT NULL,
    part_count INTEGER NOT NULL,
    overwrite INTEGER NOT NULL,
    initiated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL REFERENCES uploads(upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    file TEXT NOT NULL,
    reported_etag TEXT,
    PRIMARY KEY (upload_id, part_number)
);
CREATE TABLE IF NOT EXISTS used_urls (
    signature TEXT PRIMARY KEY,
    expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS used_urls_expires ON used_urls(expires);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_on INTEGER NOT NULL,
    modified_on INTEGER NOT NULL,
    UNIQUE (project, name)
);
";

fn upload_row(r: &Row<'_>) -> rusqlite::Result<UploadRow> {
    Ok(UploadRow {
        upload_id: r.get(0)?,
        project: r.get(1)?,
        name: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
        part_size: r.get::<_, i64>(4)? as u64,
        part_count: r.get(5)?,
        overwrite: r.get(6)?,
        initiated: r.get(7)?,
    })
}

const UPLOAD_COLS: &str = "upload_id, project, name, size, part_size, part_count, overwrite, initiated";

fn part_row(r: &Row<'_>) -> rusqlite::Result<PartRow> {
    Ok(PartRow {
        part_number: r.get(0)?,
        size: r.get::<_, i64>(1)? as u64,
        etag: r.get(2)?,
        file: r.get(3)?,
        reported_etag: r.get(4)?,
    })
}

const PART_COLS: &str = "part_number, size, etag, file, reported_etag";

fn file_row(r: &Row<'_>) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        id: r.get(0)?,
        project: r.get(1)?,
        name: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
        created_on: r.get(4)?,
        modified_on: r.get(5)?,
    })
}

const FILE_COLS: &str = "id, project, name, size, created_on, modified_on";

impl Db {
    /// Opens (creating if needed) the catalogue at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back on
        // drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a new upload, creating its project if this is the first thing in it.
    pub fn insert_upload(&self, u: &UploadRow) -> rusqlite::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("INSERT OR IGNORE INTO projects (id, created_on) VALUES (?1, ?2)", params![u.project, u.initiated])?;
        tx.execute(
            &format!("INSERT INTO uploads ({UPLOAD_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![u.upload_id, u.project, u.name, u.size as i64, u.part_size as i64, u.part_count, u.overwrite, u.initiated],
        )?;
        tx.commit()
    }

    /// The open upload `id`.
    pub fn upload(&self, id: &str) -> rusqlite::Result<Option<UploadRow>> {
        self.conn()
            .query_row(&format!("SELECT {UPLOAD_COLS} FROM uploads WHERE upload_id = ?1"), [id], upload_row)
            .optional()
    }

    /// One page of open uploads, oldest first, and how many there are in all.
    pub fn uploads(&self, offset: u64, limit: u64) -> rusqlite::Result<(Vec<UploadRow>, u64)> {
        let conn = self.conn();
        let total: i64 = conn.query_row("SELECT COUNT(*) FROM uploads", [], |r| r.get(0))?;
        let mut stmt = conn.prepare(&format!("SELECT {UPLOAD_COLS} FROM uploads ORDER BY rowid LIMIT ?1 OFFSET ?2"))?;
        let rows = stmt.query_map(params![limit as i64, offset as i64], upload_row)?.collect::<Result<_, _>>()?;
        Ok((rows, total as u64))
    }

    /// Every stored part of an upload, by part number.
    pub fn parts(&self, upload_id: &str) -> rusqlite::Result<Vec<PartRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {PART_COLS} FROM parts WHERE upload_id = ?1 ORDER BY part_number"))?;
        let rows = stmt.query_map([upload_id], part_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// True when a part URL with this signature was already used successfully.
    pub fn url_used(&self, signature: &str) -> rusqlite::Result<bool> {
        self.conn()
            .query_row("SELECT 1 FROM used_urls WHERE signature = ?1", [signature], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
    }

    /// Records stored part bytes and marks the URL used, if the upload is still open and the
    /// URL still unused. A part stored again replaces the previous one and needs a new report.
    pub fn store_part(
        &self,
        upload_id: &str,
        part: &PartRow,
        signature: &str,
        url_expires: i64,
        now_unix: i64,
    ) -> rusqlite::Result<StorePart> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let open = tx.query_row("SELECT 1 FROM uploads WHERE upload_id = ?1", [upload_id], |_| Ok(())).optional()?;
        if open.is_none() {
            return Ok(StorePart::UploadGone);
        }
        // Expired URLs are refused before they get here, so their rows are dead weight.
        tx.execute("DELETE FROM used_urls WHERE expires < ?1", [now_unix])?;
        let fresh = tx.execute(
            "INSERT OR IGNORE INTO used_urls (signature, expires) VALUES (?1, ?2)",
            params![signature, url_expires],
        )?;
        if fresh == 0 {
            return Ok(StorePart::UrlUsed);
        }
        let replaced_file: Option<String> = tx
            .query_row(
                "SELECT file FROM parts WHERE upload_id = ?1 AND part_number = ?2",
                params![upload_id, part.part_number],
                |r| r.get(0),
            )
            .optional()?;
        tx.execute(
            &format!("INSERT OR REPLACE INTO parts (upload_id, {PART_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, NULL)"),
            params![upload_id, part.part_number, part.size as i64, part.etag, part.file],
        )?;
        tx.commit()?;
        Ok(StorePart::Stored { replaced_file })
    }

    /// Marks parts reported with their ETags, all or none: returns the first part number whose
    /// stored ETag is not the reported one (or which is not stored), changing nothing then.
    pub fn report(&self, upload_id: &str, reports: &[(u32, String)]) -> rusqlite::Result<Result<(), u32>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for (n, etag) in reports {
            let changed = tx.execute(
                "UPDATE parts SET reported_etag = ?3 WHERE upload_id = ?1 AND part_number = ?2 AND etag = ?3",
                params![upload_id, n, etag],
            )?;
            if changed == 0 {
                return Ok(Err(*n)); // dropping `tx` rolls back
            }
        }
        tx.commit()?;
        Ok(Ok(()))
    }

    /// Forgets an upload and its parts; returns the parts' files, or `None` if it was not open.
    pub fn abort(&self, upload_id: &str) -> rusqlite::Result<Option<Vec<String>>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let files = {
            let mut stmt = tx.prepare("SELECT file FROM parts WHERE upload_id = ?1")?;
            let files = stmt.query_map([upload_id], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            files
        };
        tx.execute("DELETE FROM parts WHERE upload_id = ?1", [upload_id])?;
        let gone = tx.execute("DELETE FROM uploads WHERE upload_id = ?1", [upload_id])?;
        tx.commit()?;
        Ok((gone == 1).then_some(files))
    }

    /// Turns an upload into `file` (whose bytes are already in place): removes the upload and
    /// its parts and, when allowed, a file of the same name.
    pub fn finish(&self, upload_id: &str, file: &FileRow, overwrite: bool) -> rusqlite::Result<Finish> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let existing: Option<String> = tx
            .query_row("SELECT id FROM files WHERE project = ?1 AND name = ?2", params![file.project, file.name], |r| r.get(0))
            .optional()?;
        if existing.is_some() && !overwrite {
            return Ok(Finish::NameTaken);
        }
        let part_files = {
            let mut stmt = tx.prepare("SELECT file FROM parts WHERE upload_id = ?1")?;
            let files = stmt.query_map([upload_id], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            files
        };
        tx.execute("DELETE FROM parts WHERE upload_id = ?1", [upload_id])?;
        if tx.execute("DELETE FROM uploads WHERE upload_id = ?1", [upload_id])? == 0 {
            return Ok(Finish::UploadGone);
        }
        if let Some(old) = &existing {
            tx.execute("DELETE FROM files WHERE id = ?1", [old])?;
        }
        tx.execute(
            &format!("INSERT INTO files ({FILE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            params![file.id, file.project, file.name, file.size as i64, file.created_on, file.modified_on],
        )?;
        tx.commit()?;
        Ok(Finish::Done { part_files, replaced_file_id: existing })
    }

    /// The file named `name` in `project`.
    pub fn file_named(&self, project: &str, name: &str) -> rusqlite::Result<Option<FileRow>> {
        self.conn()
            .query_row(&format!("SELECT {FILE_COLS} FROM files WHERE project = ?1 AND name = ?2"), [project, name], file_row)
            .optional()
    }

    /// The file `id`.
    pub fn file(&self, id: &str) -> rusqlite::Result<Option<FileRow>> {
        self.conn().query_row(&format!("SELECT {FILE_COLS} FROM files WHERE id = ?1"), [id], file_row).optional()
    }

    /// Creates `project` (no files) unless it exists.
    pub fn ensure_project(&self, project: &str, created_on: i64) -> rusqlite::Result<()> {
        self.conn().execute("INSERT OR IGNORE INTO projects (id, created_on) VALUES (?1, ?2)", params![project, created_on])?;
        Ok(())
    }

    /// True once anything was uploaded into `project` (or it was created at start).
    pub fn project_exists(&self, project: &str) -> rusqlite::Result<bool> {
        self.conn()
            .query_row("SELECT 1 FROM projects WHERE id = ?1", [project], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
    }

    /// One page of a project's files by name, and how many there are in all.
    pub fn files(&self, project: &str, offset: u64, limit: u64) -> rusqlite::Result<(Vec<FileRow>, u64)> {
        let conn = self.conn();
        let total: i64 = conn.query_row("SELECT COUNT(*) FROM files WHERE project = ?1", [project], |r| r.get(0))?;
        let mut stmt =
            conn.prepare(&format!("SELECT {FILE_COLS} FROM files WHERE project = ?1 ORDER BY name LIMIT ?2 OFFSET ?3"))?;
        let rows = stmt.query_map(params![project, limit as i64, offset as i64], file_row)?.collect::<Result<_, _>>()?;
        Ok((rows, total as u64))
    }
}
