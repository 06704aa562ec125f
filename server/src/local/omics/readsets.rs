//! Read sets: ListReadSets, GetReadSetMetadata, GetReadSet (download a part), BatchDeleteReadSet,
//! and the background step that turns a completed upload into an ACTIVE (or UPLOAD_FAILED)
//! read set: parts are joined into one file per source, then hashed.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rusqlite::{params, Row};
use serde::Deserialize;
use serde_json::{json, Value};

use super::db::optional;
use super::error::{ApiError, ApiResult};
use super::etag::{self, Family};
use super::out;
use super::clock::iso;
use super::validate::{self as v, JsonBody, Page, MAX_PART_SIZE};
use super::{stores, Shared, Store};

/// Part size of read set downloads (as HealthOmics: 100 MiB).
const DOWNLOAD_PART_SIZE: u64 = MAX_PART_SIZE;
/// Read set statuses of the reference.
const STATUSES: &[&str] = &["ARCHIVED", "ACTIVATING", "ACTIVE", "DELETING", "DELETED", "PROCESSING_UPLOAD", "UPLOAD_FAILED"];

/// A read set row.
#[derive(Debug, Clone)]
pub struct ReadSetRow {
    /// ID.
    pub id: String,
    /// Store ID.
    pub store_id: String,
    name: String,
    description: Option<String>,
    generated_from: Option<String>,
    reference_arn: Option<String>,
    sample_id: String,
    subject_id: String,
    /// FASTQ | BAM | CRAM | UBAM.
    pub file_type: String,
    creation_type: String,
    creation_job_id: Option<String>,
    /// Status.
    pub status: String,
    status_message: Option<String>,
    creation_time: i64,
    etag_algorithm: Option<String>,
    etag1: Option<String>,
    etag2: Option<String>,
    read_count: Option<i64>,
    base_count: Option<i64>,
    size1: Option<i64>,
    size2: Option<i64>,
    /// Number of sources (1, or 2 for paired FASTQ).
    pub sources: i64,
}

const COLUMNS: &str = "id, store_id, name, description, generated_from, reference_arn, sample_id, subject_id, file_type, creation_type, creation_job_id, status, status_message, creation_time, etag_algorithm, etag1, etag2, read_count, base_count, size1, size2, sources";

fn row(r: &Row<'_>) -> rusqlite::Result<ReadSetRow> {
    Ok(ReadSetRow {
        id: r.get(0)?,
        store_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        generated_from: r.get(4)?,
        reference_arn: r.get(5)?,
        sample_id: r.get(6)?,
        subject_id: r.get(7)?,
        file_type: r.get(8)?,
        creation_type: r.get(9)?,
        creation_job_id: r.get(10)?,
        status: r.get(11)?,
        status_message: r.get(12)?,
        creation_time: r.get(13)?,
        etag_algorithm: r.get(14)?,
        etag1: r.get(15)?,
        etag2: r.get(16)?,
        read_count: r.get(17)?,
        base_count: r.get(18)?,
        size1: r.get(19)?,
        size2: r.get(20)?,
        sources: r.get(21)?,
    })
}

/// Loads a read set of a store, or `None`.
pub fn find(st: &Store, store_id: &str, id: &str) -> ApiResult<Option<ReadSetRow>> {
    let conn = st.db.lock();
    optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM readsets WHERE id = ?1 AND store_id = ?2"),
        [id, store_id],
        row,
    ))
}

fn load(st: &Store, store_id: &str, id: &str) -> ApiResult<ReadSetRow> {
    v::id("id", id)?;
    stores::load(st, store_id)?;
    find(st, store_id, id)?.ok_or_else(|| ApiError::not_found(format!("Read set {id} not found in sequence store {store_id}")))
}

/// The file of `source` (1 or 2) of a read set.
pub fn source_path(st: &Store, id: &str, source: u8) -> PathBuf {
    st.readset_dir(id).join(format!("source{source}"))
}

fn list_item(st: &Store, r: &ReadSetRow) -> Value {
    let etag = r.etag_algorithm.as_ref().map(|a| json!({ "algorithm": a, "source1": r.etag1, "source2": r.etag2 }));
    let seq = if r.file_type == "FASTQ" && r.read_count.is_some() {
        Some(json!({
            "totalReadCount": r.read_count,
            "totalBaseCount": r.base_count,
            "generatedFrom": r.generated_from,
            "alignment": "UNALIGNED",
        }))
    } else {
        None
    };
    json!({
        "arn": st.readset_arn(&r.store_id, &r.id),
        "id": r.id,
        "sequenceStoreId": r.store_id,
        "name": r.name,
        "description": r.description,
        "referenceArn": r.reference_arn,
        "sampleId": r.sample_id,
        "subjectId": r.subject_id,
        "fileType": r.file_type,
        "creationType": r.creation_type,
        "status": r.status,
        "statusMessage": r.status_message,
        "creationTime": iso(r.creation_time),
        "etag": etag,
        "sequenceInformation": seq,
    })
}

fn file_info(r: &ReadSetRow, n: u8, size: Option<i64>) -> Value {
    match size {
        None => Value::Null,
        Some(size) => json!({
            "contentLength": size,
            "partSize": DOWNLOAD_PART_SIZE,
            "totalParts": (size as u64).div_ceil(DOWNLOAD_PART_SIZE).max(1),
            "s3Access": { "s3Uri": format!("s3://local-readset-store/{}/readSet/{}/source{n}", r.store_id, r.id) },
        }),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListRequest {
    filter: Option<ListFilter>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListFilter {
    created_after: Option<Value>,
    created_before: Option<Value>,
    creation_type: Option<String>,
    generated_from: Option<String>,
    name: Option<String>,
    reference_arn: Option<String>,
    sample_id: Option<String>,
    status: Option<String>,
    subject_id: Option<String>,
}

/// `POST /sequencestore/{id}/readsets`
pub async fn list(
    State(st): State<Shared>,
    Path(store_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    JsonBody(req): JsonBody<ListRequest>,
) -> ApiResult<Json<Value>> {
    let page = Page::from_query(&q)?;
    stores::load(&st, &store_id)?;
    let f = req.filter.unwrap_or_default();
    let after = v::timestamp("filter.createdAfter", &f.created_after)?;
    let before = v::timestamp("filter.createdBefore", &f.created_before)?;
    if let Some(c) = &f.creation_type {
        v::one_of("filter.creationType", c, &["IMPORT", "UPLOAD"])?;
    }
    if let Some(s) = &f.status {
        v::one_of("filter.status", s, STATUSES)?;
    }
    v::opt_text("filter.generatedFrom", &f.generated_from, 1, 127)?;
    v::opt_text("filter.name", &f.name, 1, 127)?;
    v::opt_text("filter.sampleId", &f.sample_id, 1, 127)?;
    v::opt_text("filter.subjectId", &f.subject_id, 1, 127)?;
    if let Some(a) = &f.reference_arn {
        if !a.is_empty() {
            v::arn("filter.referenceArn", a, 0, 127)?;
        }
    }
    let rows: Vec<ReadSetRow> = {
        let conn = st.db.lock();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM readsets WHERE store_id = ?1 ORDER BY creation_time, id"))?;
        let all = stmt.query_map([&store_id], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        all
    };
    let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    let opt_eq = |want: &Option<String>, have: &Option<String>| want.as_deref().is_none_or(|w| have.as_deref() == Some(w));
    let rows: Vec<ReadSetRow> = rows
        .into_iter()
        .filter(|r| after.is_none_or(|t| r.creation_time >= t) && before.is_none_or(|t| r.creation_time <= t))
        .filter(|r| eq(&f.creation_type, &r.creation_type) && eq(&f.status, &r.status))
        .filter(|r| eq(&f.name, &r.name) && eq(&f.sample_id, &r.sample_id) && eq(&f.subject_id, &r.subject_id))
        .filter(|r| opt_eq(&f.generated_from, &r.generated_from))
        .filter(|r| match f.reference_arn.as_deref() {
            None => true,
            // An empty referenceArn filter selects read sets without a reference.
            Some("") => r.reference_arn.is_none(),
            Some(a) => r.reference_arn.as_deref() == Some(a),
        })
        .collect();
    let (rows, next) = page.cut(rows);
    let items: Vec<Value> = rows.iter().map(|r| list_item(&st, r)).collect();
    Ok(out::json(json!({ "readSets": items, "nextToken": next })))
}

/// `GET /sequencestore/{id}/readset/{readSetId}/metadata`
pub async fn metadata(State(st): State<Shared>, Path((store_id, id)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    let r = load(&st, &store_id, &id)?;
    let mut m = list_item(&st, &r);
    let o = m.as_object_mut().expect("object");
    o.insert("creationJobId".into(), json!(r.creation_job_id));
    o.insert(
        "files".into(),
        json!({ "source1": file_info(&r, 1, r.size1), "source2": file_info(&r, 2, r.size2) }),
    );
    Ok(out::json(m))
}

/// `GET /sequencestore/{id}/readset/{readSetId}?file=SOURCE1&partNumber=N`: the bytes of one
/// 100 MiB part of a source file, streamed from disk.
pub async fn download_part(
    State(st): State<Shared>,
    Path((store_id, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let file = q.get("file").cloned().unwrap_or_else(|| "SOURCE1".into());
    v::one_of("file", &file, &["SOURCE1", "SOURCE2", "INDEX"])?;
    let part = v::int_param(&q, "partNumber", 1, 10_000)? as u64;
    let r = load(&st, &store_id, &id)?;
    if r.status != "ACTIVE" {
        return Err(ApiError::conflict(format!("Read set {id} is {}, not ACTIVE; it cannot be downloaded", r.status)));
    }
    let (n, size) = match file.as_str() {
        "SOURCE1" => (1, r.size1),
        "SOURCE2" => (2, r.size2),
        _ => (0, None),
    };
    let size = size.ok_or_else(|| ApiError::not_found(format!("Read set {id} has no {file} file")))? as u64;
    let total = size.div_ceil(DOWNLOAD_PART_SIZE).max(1);
    if part > total {
        return Err(ApiError::validation(format!("partNumber {part} is past the last part ({total}) of {file}")));
    }
    let start = (part - 1) * DOWNLOAD_PART_SIZE;
    let len = DOWNLOAD_PART_SIZE.min(size - start);
    let path = source_path(&st, &id, n);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let send = |r| tx.blocking_send(r).is_ok();
        let mut f = match std::fs::File::open(&path).and_then(|mut f| f.seek(SeekFrom::Start(start)).map(|_| f)) {
            Ok(f) => f,
            Err(e) => {
                send(Err(e));
                return;
            }
        };
        let mut left = len;
        let mut buf = vec![0u8; 1 << 20];
        while left > 0 {
            let want = buf.len().min(left as usize);
            match f.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(got) => {
                    left -= got as u64;
                    if !send(Ok(bytes::Bytes::copy_from_slice(&buf[..got]))) {
                        return;
                    }
                }
                Err(e) => {
                    send(Err(e));
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    Ok((
        [("content-type", "application/octet-stream".to_string()), ("content-length", len.to_string())],
        Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Debug, Deserialize, Default)]
pub struct BatchDeleteRequest {
    ids: Option<Vec<String>>,
}

/// `POST /sequencestore/{id}/readset/batch/delete`
pub async fn batch_delete(
    State(st): State<Shared>,
    Path(store_id): Path<String>,
    JsonBody(req): JsonBody<BatchDeleteRequest>,
) -> ApiResult<Json<Value>> {
    stores::load(&st, &store_id)?;
    let ids = req.ids.ok_or_else(|| ApiError::validation("ids is required"))?;
    if ids.is_empty() || ids.len() > 100 {
        return Err(ApiError::validation(format!("ids must list 1 to 100 read set IDs, got {}", ids.len())));
    }
    for id in &ids {
        v::id("ids item", id)?;
    }
    let mut errors = Vec::new();
    for id in &ids {
        let deleted = {
            let conn = st.db.lock();
            let n = conn.execute(
                "DELETE FROM readsets WHERE id = ?1 AND store_id = ?2 AND status != 'PROCESSING_UPLOAD'",
                params![id, store_id],
            )?;
            if n == 1 {
                super::tags::delete_all(&conn, &st.readset_arn(&store_id, id))?;
                true
            } else {
                let status: Option<String> =
                    optional(conn.query_row("SELECT status FROM readsets WHERE id = ?1 AND store_id = ?2", params![id, store_id], |r| r.get(0)))?;
                match status {
                    None => errors.push(json!({ "id": id, "code": "404", "message": format!("Read set {id} not found") })),
                    Some(s) => errors.push(json!({ "id": id, "code": "409", "message": format!("Read set {id} is {s}; try again once it is processed") })),
                }
                false
            }
        };
        if deleted {
            let _ = tokio::fs::remove_dir_all(st.readset_dir(id)).await;
        }
    }
    Ok(Json(json!({ "errors": errors })))
}

/// What hashing a read set's files gave.
pub struct Built {
    /// `etag.algorithm`.
    pub algorithm: String,
    /// Per source: digest, reads, bases, size.
    pub sources: Vec<(etag::SourceSummary, u64)>,
}

/// Hashes the files of a read set already in place (`source1`, maybe `source2`).
pub fn hash_files(st: &Store, id: &str, file_type: &str, family: Family, sources: u8) -> Result<Built, String> {
    let mut out = Vec::new();
    for n in 1..=sources {
        let label = format!("SOURCE{n}");
        let path = source_path(st, id, n);
        let f = std::fs::File::open(&path).map_err(|e| format!("{label}: cannot open: {e}"))?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        let s = if file_type == "FASTQ" {
            etag::fastq(f, family, &label)?
        } else {
            etag::alignment(f, family, file_type, &label)?
        };
        out.push((s, size));
    }
    Ok(Built { algorithm: family.algorithm(file_type), sources: out })
}

/// Records a read set's hashes and makes it ACTIVE.
pub fn set_active(st: &Store, id: &str, b: &Built) -> ApiResult<()> {
    let reads: u64 = b.sources.iter().map(|(s, _)| s.reads).sum();
    let bases: u64 = b.sources.iter().map(|(s, _)| s.bases).sum();
    let get = |i: usize| b.sources.get(i);
    st.db.lock().execute(
        "UPDATE readsets SET status = 'ACTIVE', status_message = NULL, etag_algorithm = ?1, etag1 = ?2, etag2 = ?3,
         read_count = ?4, base_count = ?5, size1 = ?6, size2 = ?7 WHERE id = ?8",
        params![
            b.algorithm,
            get(0).map(|s| s.0.etag.clone()),
            get(1).map(|s| s.0.etag.clone()),
            reads as i64,
            bases as i64,
            get(0).map(|s| s.1 as i64),
            get(1).map(|s| s.1 as i64),
            id
        ],
    )?;
    Ok(())
}

/// Cuts a status message to the reference's 255 characters.
pub fn short(msg: &str) -> String {
    msg.chars().take(255).collect()
}

/// Starts the background step for a read set in PROCESSING_UPLOAD.
pub fn spawn_processing(st: Shared, id: String) {
    tokio::spawn(async move {
        tokio::time::sleep(st.cfg.processing_delay).await;
        let st2 = st.clone();
        let id2 = id.clone();
        let r = tokio::task::spawn_blocking(move || process_upload(&st2, &id2)).await;
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(readset = %id, error = %e.message, "processing failed"),
            Err(e) => tracing::error!(readset = %id, error = %e, "processing panicked"),
        }
    });
}

/// Resumes read sets left in PROCESSING_UPLOAD by a previous run.
pub fn resume(st: &Shared) -> ApiResult<()> {
    for id in st.db.ids("SELECT id FROM readsets WHERE status = 'PROCESSING_UPLOAD'")? {
        spawn_processing(st.clone(), id);
    }
    Ok(())
}

/// Joins the parts of each source into the read set's files, hashes them and records the
/// outcome; then drops the parts.
fn process_upload(st: &Store, id: &str) -> ApiResult<()> {
    let (upload_id, store_id, file_type, status): (String, String, String, String) = st.db.lock().query_row(
        "SELECT upload_id, store_id, file_type, status FROM readsets WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    if status != "PROCESSING_UPLOAD" {
        return Ok(());
    }
    let family = Family::parse(&stores::load(st, &store_id)?.etag_family);
    let parts: Vec<(String, i64)> = {
        let conn = st.db.lock();
        let mut stmt = conn.prepare("SELECT source, part_number FROM parts WHERE upload_id = ?1 ORDER BY source, part_number")?;
        let all = stmt.query_map([&upload_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        all
    };
    let dir = st.readset_dir(id);
    std::fs::create_dir_all(&dir)?;
    let mut sources = 0u8;
    for (n, label) in [(1u8, "SOURCE1"), (2, "SOURCE2")] {
        let nums: Vec<i64> = parts.iter().filter(|(s, _)| s == label).map(|(_, n)| *n).collect();
        if nums.is_empty() {
            continue;
        }
        sources = n;
        let tmp = dir.join(format!("source{n}.joining"));
        let mut out = std::fs::File::create(&tmp)?;
        for p in nums {
            let mut f = std::fs::File::open(st.part_path(&upload_id, label, p))?;
            std::io::copy(&mut f, &mut out)?;
        }
        drop(out);
        std::fs::rename(&tmp, source_path(st, id, n))?;
    }
    match hash_files(st, id, &file_type, family, sources) {
        Ok(b) => set_active(st, id, &b)?,
        Err(msg) => {
            st.db.lock().execute(
                "UPDATE readsets SET status = 'UPLOAD_FAILED', status_message = ?1 WHERE id = ?2",
                params![short(&msg), id],
            )?;
        }
    }
    st.db.lock().execute("DELETE FROM parts WHERE upload_id = ?1", [&upload_id])?;
    let _ = std::fs::remove_dir_all(st.upload_dir(&upload_id));
    Ok(())
}
