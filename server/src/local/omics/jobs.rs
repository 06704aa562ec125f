//! Read set import, export and activation jobs: Start, Get and List for each.
//!
//! A job moves SUBMITTED -> IN_PROGRESS -> COMPLETED | COMPLETED_WITH_FAILURES | FAILED on its
//! own, one `job_step` per state, and survives restarts (unfinished jobs resume). `s3://bucket/key`
//! means the file `{data}/s3/bucket/key`: imports read from there, exports write there.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use rusqlite::{params, Row};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::db::{from_json, optional, to_json};
use super::error::{ApiError, ApiResult};
use super::etag::Family;
use super::out;
use super::readsets::{self, hash_files, set_active, short};
use super::clock::{iso, now_ms};
use super::uploads::FILE_TYPES;
use super::validate::{self as v, JsonBody, Page};
use super::{new_id, stores, Shared, Store};

const JOB_STATUSES: &[&str] = &["SUBMITTED", "IN_PROGRESS", "CANCELLING", "CANCELLED", "FAILED", "COMPLETED", "COMPLETED_WITH_FAILURES"];

/// The three kinds of job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// StartReadSetImportJob
    Import,
    /// StartReadSetExportJob
    Export,
    /// StartReadSetActivationJob
    Activation,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Import => "import",
            Kind::Export => "export",
            Kind::Activation => "activation",
        }
    }
    fn parse(s: &str) -> Kind {
        match s {
            "import" => Kind::Import,
            "export" => Kind::Export,
            _ => Kind::Activation,
        }
    }
    fn list_key(self) -> &'static str {
        match self {
            Kind::Import => "importJobs",
            Kind::Export => "exportJobs",
            Kind::Activation => "activationJobs",
        }
    }
}

/// One source of a job with its progress (the union of the three kinds' source shapes).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    #[serde(skip_serializing_if = "Option::is_none")]
    read_set_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    generated_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_file_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_files: Option<SourceFiles>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<HashMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
}

/// `sourceFiles` of an import source.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SourceFiles {
    #[serde(skip_serializing_if = "Option::is_none")]
    source1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source2: Option<String>,
}

struct JobRow {
    id: String,
    store_id: String,
    kind: Kind,
    status: String,
    status_message: Option<String>,
    role_arn: Option<String>,
    destination: Option<String>,
    sources: Vec<Source>,
    creation_time: i64,
    completion_time: Option<i64>,
}

const COLUMNS: &str = "id, store_id, kind, status, status_message, role_arn, destination, sources, creation_time, completion_time";

fn row(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        store_id: r.get(1)?,
        kind: Kind::parse(&r.get::<_, String>(2)?),
        status: r.get(3)?,
        status_message: r.get(4)?,
        role_arn: r.get(5)?,
        destination: r.get(6)?,
        sources: from_json(&r.get::<_, String>(7)?),
        creation_time: r.get(8)?,
        completion_time: r.get(9)?,
    })
}

fn summary(j: &JobRow) -> Value {
    let mut m = json!({
        "id": j.id,
        "sequenceStoreId": j.store_id,
        "status": j.status,
        "creationTime": iso(j.creation_time),
        "completionTime": j.completion_time.map(iso),
    });
    let o = m.as_object_mut().expect("object");
    match j.kind {
        Kind::Import => {
            o.insert("roleArn".into(), json!(j.role_arn));
        }
        Kind::Export => {
            o.insert("destination".into(), json!(j.destination));
        }
        Kind::Activation => {}
    }
    m
}

fn detail(j: &JobRow) -> Value {
    let mut m = summary(j);
    let o = m.as_object_mut().expect("object");
    o.insert("statusMessage".into(), json!(j.status_message));
    match j.kind {
        Kind::Import | Kind::Activation => {
            o.insert("sources".into(), serde_json::to_value(&j.sources).unwrap_or_default());
        }
        Kind::Export => {
            let rs: Vec<Value> = j
                .sources
                .iter()
                .map(|s| json!({ "id": s.read_set_id, "status": s.status, "statusMessage": s.status_message }))
                .collect();
            o.insert("readSets".into(), json!(rs));
        }
    }
    m
}

fn load(st: &Store, kind: Kind, store_id: &str, id: &str) -> ApiResult<JobRow> {
    stores::load(st, store_id)?;
    v::id("id", id)?;
    let conn = st.db.lock();
    optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1 AND store_id = ?2 AND kind = ?3"),
        [id, store_id, kind.as_str()],
        row,
    ))?
    .ok_or_else(|| ApiError::not_found(format!("{} job {id} not found in sequence store {store_id}", kind.as_str())))
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StartRequest {
    client_token: Option<String>,
    role_arn: Option<String>,
    destination: Option<String>,
    sources: Option<Vec<Source>>,
}

fn start(st: &Shared, kind: Kind, store_id: &str, req: StartRequest) -> ApiResult<Json<Value>> {
    stores::load(st, store_id)?;
    v::opt_text("clientToken", &req.client_token, 1, 127)?;
    let mut sources = req.sources.ok_or_else(|| ApiError::validation("sources is required"))?;
    let max = if kind == Kind::Activation { 20 } else { 100 };
    if sources.is_empty() || sources.len() > max {
        return Err(ApiError::validation(format!("sources must hold 1 to {max} items, got {}", sources.len())));
    }
    if kind != Kind::Activation {
        let role = req.role_arn.as_deref().ok_or_else(|| ApiError::validation("roleArn is required"))?;
        v::arn("roleArn", role, 20, 2048)?;
    }
    if kind == Kind::Export {
        let d = req.destination.as_deref().ok_or_else(|| ApiError::validation("destination is required"))?;
        v::s3_uri("destination", d)?;
    }
    for (i, s) in sources.iter_mut().enumerate() {
        let f = |name: &str| format!("sources[{i}].{name}");
        if kind == Kind::Import {
            let ft = s.source_file_type.clone().ok_or_else(|| ApiError::validation(format!("{} is required", f("sourceFileType"))))?;
            v::one_of(&f("sourceFileType"), &ft, FILE_TYPES)?;
            for (name, val) in [("sampleId", &s.sample_id), ("subjectId", &s.subject_id)] {
                let x = val.as_deref().ok_or_else(|| ApiError::validation(format!("{} is required", f(name))))?;
                v::text(&f(name), x, 1, 127)?;
            }
            v::opt_text(&f("name"), &s.name, 1, 127)?;
            v::opt_text(&f("description"), &s.description, 1, 255)?;
            v::opt_text(&f("generatedFrom"), &s.generated_from, 1, 127)?;
            match &s.reference_arn {
                Some(a) => v::arn(&f("referenceArn"), a, 1, 127)?,
                None if ft == "BAM" || ft == "CRAM" => {
                    return Err(ApiError::validation(format!("{} is required for {ft}", f("referenceArn"))))
                }
                None => {}
            }
            let files = s.source_files.clone().ok_or_else(|| ApiError::validation(format!("{} is required", f("sourceFiles"))))?;
            let s1 = files.source1.as_deref().ok_or_else(|| ApiError::validation(format!("{} is required", f("sourceFiles.source1"))))?;
            v::s3_uri(&f("sourceFiles.source1"), s1)?;
            if let Some(s2) = &files.source2 {
                v::s3_uri(&f("sourceFiles.source2"), s2)?;
                if ft != "FASTQ" {
                    return Err(ApiError::validation(format!("{} is for paired FASTQ only", f("sourceFiles.source2"))));
                }
            }
            if let Some(t) = &s.tags {
                v::tags(&f("tags"), t)?;
            }
            s.read_set_id = None;
        } else {
            let id = s.read_set_id.as_deref().ok_or_else(|| ApiError::validation(format!("{} is required", f("readSetId"))))?;
            v::id(&f("readSetId"), id)?;
        }
        s.status = Some("NOT_STARTED".into());
        s.status_message = None;
    }

    let conn = st.db.lock();
    if let Some(token) = &req.client_token {
        let existing = optional(conn.query_row(
            &format!("SELECT {COLUMNS} FROM jobs WHERE store_id = ?1 AND kind = ?2 AND client_token = ?3"),
            [store_id, kind.as_str(), token],
            row,
        ))?;
        if let Some(j) = existing {
            return Ok(out::json(summary(&j)));
        }
    }
    let id = new_id();
    conn.execute(
        "INSERT INTO jobs (id, store_id, kind, status, role_arn, destination, client_token, sources, creation_time)
         VALUES (?1, ?2, ?3, 'SUBMITTED', ?4, ?5, ?6, ?7, ?8)",
        params![id, store_id, kind.as_str(), req.role_arn, req.destination, req.client_token, to_json(&sources), now_ms()],
    )?;
    let j = optional(conn.query_row(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"), [&id], row))?
        .ok_or_else(|| ApiError::internal("job vanished"))?;
    drop(conn);
    spawn(st.clone(), id);
    let mut s = summary(&j);
    s.as_object_mut().expect("object").remove("completionTime");
    Ok(out::json(s))
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListRequest {
    filter: Option<ListFilter>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListFilter {
    status: Option<String>,
    created_after: Option<Value>,
    created_before: Option<Value>,
}

fn list(st: &Shared, kind: Kind, store_id: &str, q: &HashMap<String, String>, req: ListRequest) -> ApiResult<Json<Value>> {
    let page = Page::from_query(q)?;
    stores::load(st, store_id)?;
    let f = req.filter.unwrap_or_default();
    if let Some(s) = &f.status {
        v::one_of("filter.status", s, JOB_STATUSES)?;
    }
    let after = v::timestamp("filter.createdAfter", &f.created_after)?;
    let before = v::timestamp("filter.createdBefore", &f.created_before)?;
    let rows: Vec<JobRow> = {
        let conn = st.db.lock();
        let mut stmt =
            conn.prepare(&format!("SELECT {COLUMNS} FROM jobs WHERE store_id = ?1 AND kind = ?2 ORDER BY creation_time, id"))?;
        let all = stmt.query_map([store_id, kind.as_str()], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        all
    };
    let rows: Vec<JobRow> = rows
        .into_iter()
        .filter(|j| f.status.as_ref().is_none_or(|s| &j.status == s))
        .filter(|j| after.is_none_or(|t| j.creation_time >= t) && before.is_none_or(|t| j.creation_time <= t))
        .collect();
    let (rows, next) = page.cut(rows);
    let items: Vec<Value> = rows.iter().map(summary).collect();
    Ok(out::json(json!({ kind.list_key(): items, "nextToken": next })))
}

macro_rules! job_handlers {
    ($kind:expr, $start:ident, $get:ident, $list:ident) => {
        /// Start a job of this kind.
        pub async fn $start(
            State(st): State<Shared>,
            Path(store_id): Path<String>,
            JsonBody(req): JsonBody<StartRequest>,
        ) -> ApiResult<Json<Value>> {
            start(&st, $kind, &store_id, req)
        }
        /// Get a job of this kind.
        pub async fn $get(State(st): State<Shared>, Path((store_id, id)): Path<(String, String)>) -> ApiResult<Json<Value>> {
            Ok(out::json(detail(&load(&st, $kind, &store_id, &id)?)))
        }
        /// List jobs of this kind.
        pub async fn $list(
            State(st): State<Shared>,
            Path(store_id): Path<String>,
            Query(q): Query<HashMap<String, String>>,
            JsonBody(req): JsonBody<ListRequest>,
        ) -> ApiResult<Json<Value>> {
            list(&st, $kind, &store_id, &q, req)
        }
    };
}

job_handlers!(Kind::Import, start_import, get_import, list_import);
job_handlers!(Kind::Export, start_export, get_export, list_export);
job_handlers!(Kind::Activation, start_activation, get_activation, list_activation);

/// Resumes jobs a previous run left unfinished.
pub fn resume(st: &Shared) -> ApiResult<()> {
    for id in st.db.ids("SELECT id FROM jobs WHERE status IN ('SUBMITTED', 'IN_PROGRESS')")? {
        spawn(st.clone(), id);
    }
    Ok(())
}

fn spawn(st: Shared, id: String) {
    tokio::spawn(async move {
        // Bounded: a job takes two steps; the bound only guards against a row that never moves.
        for _ in 0..10 {
            let status: Option<String> =
                match optional(st.db.lock().query_row("SELECT status FROM jobs WHERE id = ?1", [&id], |r| r.get(0))) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            tokio::time::sleep(st.cfg.job_step).await;
            match status.as_deref() {
                Some("SUBMITTED") => {
                    let _ = st.db.lock().execute("UPDATE jobs SET status = 'IN_PROGRESS' WHERE id = ?1", [&id]);
                }
                Some("IN_PROGRESS") => {
                    let (st2, id2) = (st.clone(), id.clone());
                    let r = tokio::task::spawn_blocking(move || run(&st2, &id2)).await;
                    if let Ok(Err(e)) | Err(e) = r.map_err(ApiError::internal) {
                        let _ = st.db.lock().execute(
                            "UPDATE jobs SET status = 'FAILED', status_message = ?1, completion_time = ?2 WHERE id = ?3",
                            params![short(&e.message), now_ms(), id],
                        );
                    }
                    return;
                }
                _ => return,
            }
        }
    });
}

/// Does the work of a job and records its final state.
fn run(st: &Store, id: &str) -> ApiResult<()> {
    let j = st.db.lock().query_row(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"), [id], row)?;
    let mut sources = j.sources.clone();
    for s in sources.iter_mut() {
        let outcome = match j.kind {
            Kind::Import => import_one(st, &j, s).map(|rid| s.read_set_id = Some(rid)),
            Kind::Export => export_one(st, &j, s),
            Kind::Activation => activate_one(st, &j, s),
        };
        match outcome {
            Ok(()) => {
                s.status = Some("FINISHED".into());
                s.status_message = None;
            }
            Err(msg) => {
                s.status = Some("FAILED".into());
                s.status_message = Some(short(&msg));
            }
        }
    }
    let failed: Vec<&Source> = sources.iter().filter(|s| s.status.as_deref() == Some("FAILED")).collect();
    let (status, message) = if failed.is_empty() {
        ("COMPLETED", None)
    } else if failed.len() == sources.len() {
        ("FAILED", failed[0].status_message.clone())
    } else {
        ("COMPLETED_WITH_FAILURES", Some(format!("{} of {} sources failed", failed.len(), sources.len())))
    };
    let message = message.map(|m| m.chars().take(127).collect::<String>());
    st.db.lock().execute(
        "UPDATE jobs SET status = ?1, status_message = ?2, sources = ?3, completion_time = ?4 WHERE id = ?5",
        params![status, message, to_json(&sources), now_ms(), id],
    )?;
    Ok(())
}

fn import_one(st: &Store, j: &JobRow, s: &Source) -> Result<String, String> {
    let files = s.source_files.clone().unwrap_or_default();
    let uris: Vec<String> = [files.source1, files.source2].into_iter().flatten().collect();
    for uri in &uris {
        if !st.s3_path(uri).is_file() {
            return Err(format!("source file {uri} does not exist"));
        }
    }
    let file_type = s.source_file_type.clone().unwrap_or_default();
    let family = Family::parse(&stores::load(st, &j.store_id).map_err(|e| e.message)?.etag_family);
    let rid = new_id();
    let dir = st.readset_dir(&rid);
    let copy = || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        for (i, uri) in uris.iter().enumerate() {
            std::fs::copy(st.s3_path(uri), readsets::source_path(st, &rid, i as u8 + 1))?;
        }
        Ok(())
    };
    copy().map_err(|e| format!("could not copy the source files: {e}"))?;
    let built = match hash_files(st, &rid, &file_type, family, uris.len() as u8) {
        Ok(b) => b,
        Err(msg) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(msg);
        }
    };
    let name = s.name.clone().unwrap_or_else(|| {
        let first = uris[0].rsplit('/').next().unwrap_or("imported").to_string();
        first.chars().take(127).collect()
    });
    let insert = || -> ApiResult<()> {
        let conn = st.db.lock();
        conn.execute(
            "INSERT INTO readsets (id, store_id, name, description, generated_from, reference_arn, sample_id, subject_id, file_type, creation_type, creation_job_id, status, creation_time, sources)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'IMPORT', ?10, 'PROCESSING_UPLOAD', ?11, ?12)",
            params![
                rid,
                j.store_id,
                name,
                s.description,
                s.generated_from,
                s.reference_arn,
                s.sample_id,
                s.subject_id,
                file_type,
                j.id,
                now_ms(),
                uris.len() as i64
            ],
        )?;
        super::tags::put_all(&conn, &st.readset_arn(&j.store_id, &rid), &s.tags.clone().unwrap_or_default())?;
        drop(conn);
        set_active(st, &rid, &built)
    };
    insert().map_err(|e| e.message)?;
    Ok(rid)
}

fn export_one(st: &Store, j: &JobRow, s: &Source) -> Result<(), String> {
    let rid = s.read_set_id.clone().unwrap_or_default();
    let r = readsets::find(st, &j.store_id, &rid)
        .map_err(|e| e.message)?
        .ok_or_else(|| format!("read set {rid} not found"))?;
    if r.status != "ACTIVE" {
        return Err(format!("read set {rid} is {}, not ACTIVE", r.status));
    }
    let ext = match r.file_type.as_str() {
        "FASTQ" => "fastq.gz",
        "CRAM" => "cram",
        _ => "bam",
    };
    let dest = st.s3_path(j.destination.as_deref().unwrap_or_default()).join(&rid);
    let copy = || -> std::io::Result<()> {
        std::fs::create_dir_all(&dest)?;
        for n in 1..=r.sources as u8 {
            std::fs::copy(readsets::source_path(st, &rid, n), dest.join(format!("source{n}.{ext}")))?;
        }
        Ok(())
    };
    copy().map_err(|e| format!("could not write the export: {e}"))
}

fn activate_one(st: &Store, j: &JobRow, s: &Source) -> Result<(), String> {
    let rid = s.read_set_id.clone().unwrap_or_default();
    let r = readsets::find(st, &j.store_id, &rid)
        .map_err(|e| e.message)?
        .ok_or_else(|| format!("read set {rid} not found"))?;
    match r.status.as_str() {
        "ACTIVE" => Ok(()),
        "ARCHIVED" | "ACTIVATING" => {
            st.db.lock().execute("UPDATE readsets SET status = 'ACTIVE' WHERE id = ?1", [&rid]).map_err(|e| e.to_string())?;
            Ok(())
        }
        other => Err(format!("read set {rid} is {other} and cannot be activated")),
    }
}
