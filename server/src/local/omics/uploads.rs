//! Direct upload: CreateMultipartReadSetUpload, UploadReadSetPart, CompleteMultipartReadSetUpload,
//! AbortMultipartReadSetUpload, ListMultipartReadSetUploads, ListReadSetUploadParts.
//!
//! A part body streams to a temp file while its SHA-256 is computed; only a body that arrived
//! whole (as many bytes as its `Content-Length`) is renamed into place, under the database lock
//! together with its row, so concurrent re-sends of one part number cannot leave file and row
//! disagreeing.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use futures_util::StreamExt;
use rusqlite::{params, Row};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::db::{from_json, optional, to_json};
use super::error::{ApiError, ApiResult, ErrorKind};
use super::out;
use super::sigv4::SignedPayloadSha256;
use super::clock::{iso, now_ms};
use super::validate::{self as v, JsonBody, Page, MAX_PART_SIZE};
use super::{new_id, stores, Shared, Store};

/// File types of the reference.
pub const FILE_TYPES: &[&str] = &["FASTQ", "BAM", "CRAM", "UBAM"];
/// Part sources of the reference.
pub const PART_SOURCES: &[&str] = &["SOURCE1", "SOURCE2"];

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateRequest {
    client_token: Option<String>,
    description: Option<String>,
    generated_from: Option<String>,
    name: Option<String>,
    reference_arn: Option<String>,
    sample_id: Option<String>,
    source_file_type: Option<String>,
    subject_id: Option<String>,
    tags: Option<HashMap<String, String>>,
}

/// An upload row.
#[derive(Debug, Clone)]
pub struct UploadRow {
    /// Upload ID.
    pub id: String,
    /// Store ID.
    pub store_id: String,
    /// Read set name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// generatedFrom.
    pub generated_from: Option<String>,
    /// Reference ARN.
    pub reference_arn: Option<String>,
    /// Sample ID.
    pub sample_id: String,
    /// Subject ID.
    pub subject_id: String,
    /// FASTQ | BAM | CRAM | UBAM.
    pub source_file_type: String,
    /// Tags (JSON object).
    pub tags: String,
    state: String,
    creation_time: i64,
}

const COLUMNS: &str =
    "id, store_id, name, description, generated_from, reference_arn, sample_id, subject_id, source_file_type, tags, state, creation_time";

fn row(r: &Row<'_>) -> rusqlite::Result<UploadRow> {
    Ok(UploadRow {
        id: r.get(0)?,
        store_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        generated_from: r.get(4)?,
        reference_arn: r.get(5)?,
        sample_id: r.get(6)?,
        subject_id: r.get(7)?,
        source_file_type: r.get(8)?,
        tags: r.get(9)?,
        state: r.get(10)?,
        creation_time: r.get(11)?,
    })
}

/// Loads an open upload of `store_id` or answers 404.
fn load_open(conn: &rusqlite::Connection, store_id: &str, upload_id: &str) -> ApiResult<UploadRow> {
    optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM uploads WHERE id = ?1 AND store_id = ?2 AND state = 'OPEN'"),
        [upload_id, store_id],
        row,
    ))?
    .ok_or_else(|| ApiError::not_found(format!("Upload {upload_id} not found in sequence store {store_id} (unknown, completed or aborted)")))
}

fn check_ids(st: &Store, store_id: &str, upload_id: &str) -> ApiResult<stores::StoreRow> {
    v::id("sequenceStoreId", store_id)?;
    v::id("uploadId", upload_id)?;
    stores::load(st, store_id)
}

fn upload_json(u: &UploadRow) -> Value {
    let tags: HashMap<String, String> = from_json(&u.tags);
    json!({
        "uploadId": u.id,
        "sequenceStoreId": u.store_id,
        "name": u.name,
        "description": u.description,
        "generatedFrom": u.generated_from,
        "referenceArn": u.reference_arn,
        "sampleId": u.sample_id,
        "subjectId": u.subject_id,
        "sourceFileType": u.source_file_type,
        "tags": tags,
        "creationTime": iso(u.creation_time),
    })
}

/// `POST /sequencestore/{id}/upload`
pub async fn create(
    State(st): State<Shared>,
    Path(store_id): Path<String>,
    JsonBody(req): JsonBody<CreateRequest>,
) -> ApiResult<Json<Value>> {
    stores::load(&st, &store_id)?;
    let required = |f: &str, x: &Option<String>| x.clone().ok_or_else(|| ApiError::validation(format!("{f} is required")));
    let name = required("name", &req.name)?;
    let sample_id = required("sampleId", &req.sample_id)?;
    let subject_id = required("subjectId", &req.subject_id)?;
    let file_type = required("sourceFileType", &req.source_file_type)?;
    v::text("name", &name, 1, 127)?;
    v::text("sampleId", &sample_id, 1, 127)?;
    v::text("subjectId", &subject_id, 1, 127)?;
    v::one_of("sourceFileType", &file_type, FILE_TYPES)?;
    v::opt_text("description", &req.description, 1, 255)?;
    v::opt_text("generatedFrom", &req.generated_from, 1, 127)?;
    v::opt_text("clientToken", &req.client_token, 1, 127)?;
    if let Some(a) = &req.reference_arn {
        v::arn("referenceArn", a, 1, 127)?;
    } else if file_type == "BAM" || file_type == "CRAM" {
        return Err(ApiError::validation(format!("referenceArn is required for {file_type} uploads")));
    }
    let tags = req.tags.clone().unwrap_or_default();
    v::tags("tags", &tags)?;

    let conn = st.db.lock();
    if let Some(token) = &req.client_token {
        let existing = optional(conn.query_row(
            &format!("SELECT {COLUMNS} FROM uploads WHERE store_id = ?1 AND client_token = ?2"),
            [&store_id, token],
            row,
        ))?;
        if let Some(u) = existing {
            return Ok(out::json(upload_json(&u)));
        }
    }
    let id = new_id();
    conn.execute(
        "INSERT INTO uploads (id, store_id, name, description, generated_from, reference_arn, sample_id, subject_id, source_file_type, tags, client_token, state, creation_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'OPEN', ?12)",
        params![
            id,
            store_id,
            name,
            req.description,
            req.generated_from,
            req.reference_arn,
            sample_id,
            subject_id,
            file_type,
            to_json(&tags),
            req.client_token,
            now_ms()
        ],
    )?;
    let u = load_open(&conn, &store_id, &id)?;
    Ok(out::json(upload_json(&u)))
}

/// Removes the temp file unless the part was moved into place.
struct TempFile(Option<std::path::PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// `PUT /sequencestore/{id}/upload/{uploadId}/part?partNumber=N&partSource=SOURCE1`
pub async fn upload_part(
    State(st): State<Shared>,
    Path((store_id, upload_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    signed: Option<Extension<SignedPayloadSha256>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    v::id("sequenceStoreId", &store_id)?;
    v::id("uploadId", &upload_id)?;
    let source = q.get("partSource").ok_or_else(|| ApiError::validation("partSource is required"))?.clone();
    v::one_of("partSource", &source, PART_SOURCES)?;
    let number = v::int_param(&q, "partNumber", 1, 10_000)?;
    // Refuse an oversized or unsized body before reading any of it.
    let length: u64 = headers
        .get("content-length")
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::validation("Content-Length is required on part uploads (no chunked bodies)"))?;
    if length > MAX_PART_SIZE {
        return Err(ApiError::validation(format!(
            "part body is {length} bytes; a part may hold at most {MAX_PART_SIZE} bytes (100 MiB)"
        )));
    }
    if length == 0 {
        return Err(ApiError::validation("part body is empty"));
    }
    stores::load(&st, &store_id)?;
    load_open(&st.db.lock(), &store_id, &upload_id)?;

    let tmp_path = st.tmp_dir().join(format!("{upload_id}-{source}-{number}-{}", new_id()));
    let mut guard = TempFile(Some(tmp_path.clone()));
    let mut file = tokio::fs::File::create(&tmp_path).await?;
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::validation(format!("part body ended early: {e}")))?;
        received += chunk.len() as u64;
        if received > length {
            return Err(ApiError::validation(format!("part body is longer than its Content-Length {length}")));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await?;
    }
    if received != length {
        return Err(ApiError::validation(format!(
            "part body has {received} bytes but Content-Length said {length}; the part was not stored"
        )));
    }
    file.flush().await?;
    drop(file);
    let digest = hasher.finalize();
    if let Some(Extension(SignedPayloadSha256(expected))) = signed {
        if expected != hex::encode(digest) {
            return Err(ApiError::new(
                ErrorKind::ContentSha256Mismatch,
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ));
        }
    }

    let checksum = st.cfg.part_checksums.encode(&digest);
    let dest = st.part_path(&upload_id, &source, number);
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    {
        let conn = st.db.lock();
        // The upload may have been completed or aborted while the body streamed.
        load_open(&conn, &store_id, &upload_id)?;
        std::fs::rename(&tmp_path, &dest)?;
        guard.0 = None;
        let now = now_ms();
        conn.execute(
            "INSERT INTO parts (upload_id, source, part_number, size, checksum, creation_time, last_updated_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT(upload_id, source, part_number)
             DO UPDATE SET size = excluded.size, checksum = excluded.checksum, last_updated_time = excluded.last_updated_time",
            params![upload_id, source, number, length as i64, checksum, now],
        )?;
    }
    Ok(Json(json!({ "checksum": checksum })))
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CompleteRequest {
    parts: Option<Vec<CompletePart>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CompletePart {
    checksum: Option<String>,
    part_number: Option<i64>,
    part_source: Option<String>,
}

/// `POST /sequencestore/{id}/upload/{uploadId}/complete`
pub async fn complete(
    State(st): State<Shared>,
    Path((store_id, upload_id)): Path<(String, String)>,
    JsonBody(req): JsonBody<CompleteRequest>,
) -> ApiResult<Json<Value>> {
    check_ids(&st, &store_id, &upload_id)?;
    let parts = req.parts.ok_or_else(|| ApiError::validation("parts is required"))?;
    if parts.is_empty() {
        return Err(ApiError::validation("parts must list at least one part"));
    }
    // source -> part number -> checksum
    let mut listed: BTreeMap<String, BTreeMap<i64, String>> = BTreeMap::new();
    for (i, p) in parts.iter().enumerate() {
        let src = p.part_source.clone().ok_or_else(|| ApiError::validation(format!("parts[{i}].partSource is required")))?;
        v::one_of(&format!("parts[{i}].partSource"), &src, PART_SOURCES)?;
        let n = p.part_number.ok_or_else(|| ApiError::validation(format!("parts[{i}].partNumber is required")))?;
        if !(1..=10_000).contains(&n) {
            return Err(ApiError::validation(format!("parts[{i}].partNumber {n} is out of range 1..10000")));
        }
        let sum = p.checksum.clone().ok_or_else(|| ApiError::validation(format!("parts[{i}].checksum is required")))?;
        v::text(&format!("parts[{i}].checksum"), &sum, 1, 100)?;
        if listed.entry(src.clone()).or_default().insert(n, sum).is_some() {
            return Err(ApiError::validation(format!("part {n} of {src} is listed twice")));
        }
    }
    if !listed.contains_key("SOURCE1") {
        return Err(ApiError::validation("parts must include SOURCE1"));
    }
    for (src, nums) in &listed {
        for (expected, n) in (1..).zip(nums.keys()) {
            if *n != expected {
                return Err(ApiError::validation(format!(
                    "part numbers of {src} must be contiguous from 1: part {expected} of {src} is missing"
                )));
            }
        }
    }

    let readset_id = new_id();
    {
        let conn = st.db.lock();
        let u = load_open(&conn, &store_id, &upload_id)?;
        if listed.contains_key("SOURCE2") && u.source_file_type != "FASTQ" {
            return Err(ApiError::validation(format!(
                "SOURCE2 is for paired FASTQ only; this upload is {}",
                u.source_file_type
            )));
        }
        let mut stored: HashMap<(String, i64), String> = HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT source, part_number, checksum FROM parts WHERE upload_id = ?1")?;
            let rows = stmt.query_map([&upload_id], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
            for r in rows {
                let (k, c) = r?;
                stored.insert(k, c);
            }
        }
        for (src, nums) in &listed {
            for (n, sum) in nums {
                match stored.get(&(src.clone(), *n)) {
                    None => {
                        return Err(ApiError::validation(format!("part {n} of {src} was never uploaded to upload {upload_id}")))
                    }
                    Some(c) if c != sum => {
                        return Err(ApiError::validation(format!(
                            "part {n} of {src}: checksum `{sum}` does not match the uploaded part's `{c}`"
                        )))
                    }
                    Some(_) => {}
                }
            }
        }
        // Parts uploaded but not listed are not part of the read set.
        for (src, n) in stored.keys() {
            if !listed.get(src).is_some_and(|m| m.contains_key(n)) {
                conn.execute(
                    "DELETE FROM parts WHERE upload_id = ?1 AND source = ?2 AND part_number = ?3",
                    params![upload_id, src, n],
                )?;
                let _ = std::fs::remove_file(st.part_path(&upload_id, src, *n));
            }
        }
        conn.execute("UPDATE uploads SET state = 'COMPLETED' WHERE id = ?1", [&upload_id])?;
        conn.execute(
            "INSERT INTO readsets (id, store_id, name, description, generated_from, reference_arn, sample_id, subject_id, file_type, creation_type, upload_id, status, creation_time, sources)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'UPLOAD', ?10, 'PROCESSING_UPLOAD', ?11, ?12)",
            params![
                readset_id,
                store_id,
                u.name,
                u.description,
                u.generated_from,
                u.reference_arn,
                u.sample_id,
                u.subject_id,
                u.source_file_type,
                upload_id,
                now_ms(),
                listed.len() as i64
            ],
        )?;
        let tags: HashMap<String, String> = from_json(&u.tags);
        super::tags::put_all(&conn, &st.readset_arn(&store_id, &readset_id), &tags)?;
    }
    super::readsets::spawn_processing(st.clone(), readset_id.clone());
    Ok(Json(json!({ "readSetId": readset_id })))
}

/// `DELETE /sequencestore/{id}/upload/{uploadId}/abort`
pub async fn abort(
    State(st): State<Shared>,
    Path((store_id, upload_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    check_ids(&st, &store_id, &upload_id)?;
    {
        let conn = st.db.lock();
        load_open(&conn, &store_id, &upload_id)?;
        conn.execute("UPDATE uploads SET state = 'ABORTED' WHERE id = ?1", [&upload_id])?;
        conn.execute("DELETE FROM parts WHERE upload_id = ?1", [&upload_id])?;
    }
    let _ = tokio::fs::remove_dir_all(st.upload_dir(&upload_id)).await;
    Ok(Json(json!({})))
}

/// `POST /sequencestore/{id}/uploads`
pub async fn list_uploads(
    State(st): State<Shared>,
    Path(store_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let page = Page::from_query(&q)?;
    stores::load(&st, &store_id)?;
    let rows: Vec<UploadRow> = {
        let conn = st.db.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM uploads WHERE store_id = ?1 AND state = 'OPEN' ORDER BY creation_time, id"
        ))?;
        let all = stmt.query_map([&store_id], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        all
    };
    let (rows, next) = page.cut(rows);
    let items: Vec<Value> = rows.iter().filter(|u| u.state == "OPEN").map(upload_json).collect();
    Ok(out::json(json!({ "uploads": items, "nextToken": next })))
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListPartsRequest {
    part_source: Option<String>,
    filter: Option<ListPartsFilter>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListPartsFilter {
    created_after: Option<Value>,
    created_before: Option<Value>,
}

/// `POST /sequencestore/{id}/upload/{uploadId}/parts`
pub async fn list_parts(
    State(st): State<Shared>,
    Path((store_id, upload_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    JsonBody(req): JsonBody<ListPartsRequest>,
) -> ApiResult<Json<Value>> {
    let page = Page::from_query(&q)?;
    check_ids(&st, &store_id, &upload_id)?;
    let source = req.part_source.ok_or_else(|| ApiError::validation("partSource is required"))?;
    v::one_of("partSource", &source, PART_SOURCES)?;
    let f = req.filter.unwrap_or_default();
    let after = v::timestamp("filter.createdAfter", &f.created_after)?;
    let before = v::timestamp("filter.createdBefore", &f.created_before)?;
    let rows: Vec<(i64, i64, String, i64, i64)> = {
        let conn = st.db.lock();
        load_open(&conn, &store_id, &upload_id)?;
        let mut stmt = conn.prepare(
            "SELECT part_number, size, checksum, creation_time, last_updated_time FROM parts
             WHERE upload_id = ?1 AND source = ?2 ORDER BY part_number",
        )?;
        let all = stmt
            .query_map([&upload_id, &source], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        all
    };
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| after.is_none_or(|t| r.3 >= t) && before.is_none_or(|t| r.3 <= t))
        .collect();
    let (rows, next) = page.cut(rows);
    let items: Vec<Value> = rows
        .iter()
        .map(|(n, size, sum, c, u)| {
            json!({
                "partNumber": n,
                "partSize": size,
                "partSource": source,
                "checksum": sum,
                "creationTime": iso(*c),
                "lastUpdatedTime": iso(*u),
            })
        })
        .collect();
    Ok(out::json(json!({ "parts": items, "nextToken": next })))
}
