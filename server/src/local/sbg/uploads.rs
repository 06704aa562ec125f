//! The multipart upload API: init, list, details (`list_parts`), part URL, report one or many
//! parts, complete, abort.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::db::{FileRow, Finish, PartRow, UploadRow};
use super::error::SbgError;
use super::page::Page;
use super::{clock, files, ids, part_url, AppState, MAX_PARTS, MAX_PART_SIZE, PART_HEADER, PLATFORM_MIN_PART_SIZE};

/// The part size and part count the server uses for a file of `size` bytes.
///
/// Starts from the requested part size (5 MiB, or `min_part_size` if larger, when none is
/// given), raises it to `min_part_size`, lowers it to 5 GiB, then raises it to
/// `ceil(size / 10,000)` when more than 10,000 parts would be needed. An empty file has one
/// empty part. Fails only when even 5 GiB parts would need more than 10,000 of them.
pub fn plan_parts(size: u64, requested: Option<u64>, min_part_size: u64) -> Result<(u64, u32), String> {
    let min = min_part_size.max(1);
    let mut part_size = requested.unwrap_or(PLATFORM_MIN_PART_SIZE.max(min)).max(min).min(MAX_PART_SIZE);
    if size.div_ceil(part_size) > MAX_PARTS {
        part_size = size.div_ceil(MAX_PARTS);
        if part_size > MAX_PART_SIZE {
            return Err(format!(
                "`size` {size} is too large: at most {MAX_PARTS} parts of at most {MAX_PART_SIZE} bytes each"
            ));
        }
    }
    let count = size.div_ceil(part_size).max(1);
    Ok((part_size, count as u32))
}

/// The size part `n` (1-based) of an upload must have.
fn expected_part_size(u: &UploadRow, n: u32) -> u64 {
    if n < u.part_count {
        u.part_size
    } else {
        u.size - u.part_size * (u64::from(u.part_count) - 1)
    }
}

/// `owner/name`, each of letters, digits, `-`, `_`, `.`.
pub fn valid_project(p: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    matches!(p.split_once('/'), Some((owner, name)) if ok(owner) && ok(name))
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 255 {
        return Err(format!("`name` must be 1..=255 bytes, got {}", name.len()));
    }
    if name == "." || name == ".." || name.contains('/') || name.chars().any(char::is_control) {
        return Err(format!("`name` `{name}` is not a file name (no `/`, no control characters, not `.` or `..`)"));
    }
    Ok(())
}

/// An ETag as compared: without surrounding quotes, lowercase.
fn normalize_etag(s: &str) -> String {
    s.trim().trim_start_matches("W/").trim_matches('"').to_ascii_lowercase()
}

/// Lists part numbers briefly: `2, 5, 7` or `2, 5, ... (40 parts)`.
fn numbers(ns: &[u32]) -> String {
    const SHOWN: usize = 10;
    let mut s = ns.iter().take(SHOWN).map(u32::to_string).collect::<Vec<_>>().join(", ");
    if ns.len() > SHOWN {
        s.push_str(&format!(", ... ({} parts)", ns.len()));
    }
    s
}

fn upload_json(state: &AppState, u: &UploadRow) -> Value {
    json!({
        "href": format!("{}/v2/upload/multipart/{}", state.base_url, u.upload_id),
        "upload_id": u.upload_id,
        "project": u.project,
        "name": u.name,
        "size": u.size,
        "part_size": u.part_size,
        "initiated": clock::iso_seconds(u.initiated),
    })
}

fn part_json(p: &PartRow, etag: &str) -> Value {
    json!({
        "part_number": p.part_number,
        "size": p.size,
        "response": {"headers": {"ETag": format!("\"{etag}\"")}},
    })
}

fn get_upload(state: &AppState, upload_id: &str) -> Result<UploadRow, SbgError> {
    state.db.upload(upload_id)?.ok_or_else(|| SbgError::upload_not_found(upload_id))
}

#[derive(Deserialize)]
struct InitBody {
    project: Option<String>,
    parent: Option<String>,
    name: Option<String>,
    size: Option<u64>,
    part_size: Option<u64>,
}

/// `POST /v2/upload/multipart[?overwrite=true]` `{project, name, size, part_size}`.
pub async fn init(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, SbgError> {
    let b: InitBody = serde_json::from_slice(&body)
        .map_err(|e| SbgError::bad_init(format!("expected JSON {{project, name, size, part_size}}: {e}")))?;
    if b.parent.is_some() {
        return Err(SbgError::bad_init(
            "`parent` (a folder id) is not supported by the local store, which has no folders; give `project` instead",
        ));
    }
    let project = b.project.ok_or_else(|| SbgError::bad_init("`project` is required (`owner/project`)"))?;
    if !valid_project(&project) {
        return Err(SbgError::malformed_project(&project));
    }
    let name = b.name.ok_or_else(|| SbgError::bad_init("`name` is required"))?;
    check_name(&name).map_err(SbgError::bad_init)?;
    let size = b.size.ok_or_else(|| SbgError::bad_init("`size` (bytes, a whole number >= 0) is required"))?;
    let overwrite = match q.get("overwrite").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(SbgError::bad_init(format!("`overwrite` must be `true` or `false`, got `{other}`"))),
    };
    let (part_size, part_count) = plan_parts(size, b.part_size, state.config.min_part_size).map_err(SbgError::bad_init)?;
    if !overwrite && state.db.file_named(&project, &name)?.is_some() {
        return Err(SbgError::file_exists(&project, &name));
    }
    let upload = UploadRow {
        upload_id: ids::upload_id(),
        project,
        name,
        size,
        part_size,
        part_count,
        overwrite,
        initiated: clock::now_unix(),
    };
    state.db.insert_upload(&upload)?;
    tracing::info!(upload_id = %upload.upload_id, project = %upload.project, name = %upload.name, size, part_size, "sbg: upload started");
    Ok(Json(upload_json(&state, &upload)).into_response())
}

/// `GET /v2/upload/multipart?offset&limit`: the open uploads.
pub async fn list(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Result<Response, SbgError> {
    let page = Page::from_query(&q)?;
    let (rows, total) = state.db.uploads(page.offset, page.limit)?;
    let items = rows.iter().map(|u| upload_json(&state, u)).collect();
    Ok(page.answer(&format!("{}/v2/upload/multipart", state.base_url), items, total))
}

/// `GET /v2/upload/multipart/{upload_id}[?list_parts=true]`: the upload, with its reported
/// parts when asked.
pub async fn details(
    State(state): State<AppState>,
    Path(upload_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SbgError> {
    let upload = get_upload(&state, &upload_id)?;
    let mut body = upload_json(&state, &upload);
    if q.get("list_parts").is_some_and(|v| v == "true") {
        let parts: Vec<Value> = state
            .db
            .parts(&upload_id)?
            .iter()
            .filter_map(|p| p.reported_etag.as_deref().map(|etag| part_json(p, etag)))
            .collect();
        body["parts"] = Value::Array(parts);
    }
    Ok(Json(body).into_response())
}

fn parse_part_number(upload: &UploadRow, raw: &str) -> Result<u32, SbgError> {
    match raw.parse::<u32>() {
        Ok(n) if (1..=upload.part_count).contains(&n) => Ok(n),
        _ => Err(SbgError::bad_part_number(format!(
            "`{raw}` is not a part of this upload, which has parts 1..={} ({} bytes in parts of {} bytes)",
            upload.part_count, upload.size, upload.part_size
        ))),
    }
}

/// `GET /v2/upload/multipart/{upload_id}/part/{part_number}`: a signed, short-lived, one-use
/// URL to `PUT` the part's bytes to.
pub async fn part_url(
    State(state): State<AppState>,
    Path((upload_id, raw_number)): Path<(String, String)>,
) -> Result<Response, SbgError> {
    let upload = get_upload(&state, &upload_id)?;
    let n = parse_part_number(&upload, &raw_number)?;
    let expires = clock::now_unix() + state.config.part_url_ttl.as_secs() as i64;
    let path = part_url::part_path(&upload_id, n);
    let signed = state.signer.sign("PUT", &path, expires);
    let headers = if state.config.require_part_header {
        json!({ PART_HEADER: signed.nonce })
    } else {
        json!({})
    };
    Ok(Json(json!({
        "method": "PUT",
        "url": format!("{}{path}?{}", state.base_url, signed.query()),
        "expires": clock::iso_seconds(expires),
        "headers": headers,
        // The platform's table puts `success_codes` at the top, its example inside `report`.
        "success_codes": [200],
        "report": {"headers": ["ETag"], "success_codes": [200]},
    }))
    .into_response())
}

/// Reads one part report `{part_number, response: {headers: {ETag}}}`.
fn parse_report(upload: &UploadRow, v: &Value) -> Result<(u32, String), SbgError> {
    let n = match v.get("part_number") {
        None => return Err(SbgError::bad_part_number("the report has no `part_number`")),
        Some(raw) => parse_part_number(upload, &raw.to_string())?,
    };
    let headers = v
        .get("response")
        .and_then(|r| r.get("headers"))
        .and_then(Value::as_object)
        .ok_or_else(|| SbgError::bad_report(format!("part {n}: expected `response: {{headers: {{ETag: ...}}}}`")))?;
    let etag = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("etag"))
        .and_then(|(_, v)| v.as_str())
        .ok_or_else(|| {
            SbgError::bad_report(format!("part {n}: `response.headers` has no `ETag` (the PUT response's ETag header)"))
        })?;
    Ok((n, normalize_etag(etag)))
}

/// Checks reports against the stored parts and records them, all or none.
fn record_reports(state: &AppState, upload: &UploadRow, reports: &[(u32, String)]) -> Result<Vec<Value>, SbgError> {
    let stored: HashMap<u32, PartRow> =
        state.db.parts(&upload.upload_id)?.into_iter().map(|p| (p.part_number, p)).collect();
    let mut out = Vec::with_capacity(reports.len());
    for (n, etag) in reports {
        let Some(p) = stored.get(n) else {
            return Err(SbgError::bad_report(format!("part {n} has not been uploaded: no bytes are stored for it")));
        };
        if &p.etag != etag {
            return Err(SbgError::bad_report(format!(
                "part {n}: the reported ETag \"{etag}\" is not the stored part's ETag \"{}\"; report the ETag of \
                 the PUT response of that part",
                p.etag
            )));
        }
        out.push(part_json(p, etag));
    }
    if let Err(n) = state.db.report(&upload.upload_id, reports)? {
        return Err(SbgError::bad_report(format!(
            "part {n} was uploaded again while it was being reported; report the ETag of its latest upload"
        )));
    }
    Ok(out)
}

/// `POST /v2/upload/multipart/{upload_id}/part` `{part_number, response: {headers: {ETag}}}`.
pub async fn report_one(
    State(state): State<AppState>,
    Path(upload_id): Path<String>,
    body: Bytes,
) -> Result<Response, SbgError> {
    let upload = get_upload(&state, &upload_id)?;
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| SbgError::bad_report(format!("the body is not JSON: {e}")))?;
    let report = parse_report(&upload, &v)?;
    let mut parts = record_reports(&state, &upload, std::slice::from_ref(&report))?;
    Ok(Json(parts.remove(0)).into_response())
}

/// `POST /v2/upload/multipart/{upload_id}` `{parts: [{part_number, response: {headers: {ETag}}}, ...]}`:
/// reports many parts at once, all or none.
pub async fn report_many(
    State(state): State<AppState>,
    Path(upload_id): Path<String>,
    body: Bytes,
) -> Result<Response, SbgError> {
    let upload = get_upload(&state, &upload_id)?;
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| SbgError::bad_parts_list(format!("The body is not JSON: {e}")))?;
    let items = v
        .get("parts")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| SbgError::bad_parts_list("`parts` is missing, not an array, or empty."))?;
    let mut reports = Vec::with_capacity(items.len());
    for item in items {
        let (n, etag) = parse_report(&upload, item)?;
        if reports.iter().any(|(m, _)| *m == n) {
            return Err(SbgError::bad_parts_list(format!("Part {n} is listed more than once.")));
        }
        reports.push((n, etag));
    }
    let parts = record_reports(&state, &upload, &reports)?;
    Ok(Json(json!({ "parts": parts })).into_response())
}

/// Why the parts cannot be completed yet, naming the parts; `None` when they can.
fn completion_problems(upload: &UploadRow, parts: &[PartRow]) -> Option<String> {
    let by_number: HashMap<u32, &PartRow> = parts.iter().map(|p| (p.part_number, p)).collect();
    let (mut missing, mut unreported, mut sizes) = (vec![], vec![], vec![]);
    for n in 1..=upload.part_count {
        match by_number.get(&n) {
            None => missing.push(n),
            Some(p) => {
                // A part uploaded again loses its report (see `Db::store_part`).
                if p.reported_etag.as_deref() != Some(p.etag.as_str()) {
                    unreported.push(n);
                }
                let want = expected_part_size(upload, n);
                if p.size != want {
                    sizes.push(format!("part {n} holds {} bytes but must hold {want}", p.size));
                }
            }
        }
    }
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("part(s) {} were never uploaded", numbers(&missing)));
    }
    if !unreported.is_empty() {
        problems.push(format!(
            "part(s) {} were uploaded but not reported since their last upload (report each with its PUT response's ETag)",
            numbers(&unreported)
        ));
    }
    if !sizes.is_empty() {
        problems.push(format!(
            "{} (every part but the last holds part_size {} bytes; the last holds the rest of {} bytes)",
            sizes.join(", "),
            upload.part_size,
            upload.size
        ));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// Writes the parts one after the other into `dest`; returns the bytes written.
async fn assemble(state: &AppState, parts: &[PartRow], dest: &std::path::Path) -> std::io::Result<u64> {
    let mut out = tokio::fs::File::create(dest).await?;
    let mut total = 0;
    for p in parts {
        let mut src = tokio::fs::File::open(state.dirs.root.join(&p.file)).await?;
        total += tokio::io::copy(&mut src, &mut out).await?;
    }
    out.flush().await?;
    out.sync_all().await?;
    Ok(total)
}

/// Removes files named relative to the sbg folder, logging (not failing on) what cannot go.
pub(super) async fn remove_quietly(state: &AppState, rel_paths: impl IntoIterator<Item = String>) {
    for rel in rel_paths {
        if let Err(e) = tokio::fs::remove_file(state.dirs.root.join(&rel)).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(file = %rel, error = %e, "sbg: could not remove");
            }
        }
    }
}

/// `POST /v2/upload/multipart/{upload_id}/complete`: checks that parts 1..N are uploaded,
/// reported and of the right sizes, joins them into the file and returns it.
pub async fn complete(State(state): State<AppState>, Path(upload_id): Path<String>) -> Result<Response, SbgError> {
    let upload = get_upload(&state, &upload_id)?;
    if !upload.overwrite && state.db.file_named(&upload.project, &upload.name)?.is_some() {
        return Err(SbgError::file_exists(&upload.project, &upload.name));
    }
    let parts = state.db.parts(&upload_id)?;
    if let Some(problems) = completion_problems(&upload, &parts) {
        return Err(SbgError::complete_failed(problems));
    }
    let file_id = ids::file_id();
    let tmp = state.dirs.tmp.join(format!("{file_id}.assembling"));
    let written = match assemble(&state, &parts, &tmp).await {
        Ok(n) => n,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            // Another request completing or aborting the same upload removes the parts.
            if state.db.upload(&upload_id)?.is_none() {
                return Err(SbgError::upload_not_found(&upload_id));
            }
            return Err(SbgError::internal(format!("assembling upload {upload_id}: {e}")));
        }
    };
    if written != upload.size {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(SbgError::internal(format!(
            "upload {upload_id}: parts on disk hold {written} bytes, expected {}",
            upload.size
        )));
    }
    let rel = format!("files/{file_id}");
    tokio::fs::rename(&tmp, state.dirs.root.join(&rel)).await?;
    let now = clock::now_unix();
    let file = FileRow {
        id: file_id,
        project: upload.project.clone(),
        name: upload.name.clone(),
        size: upload.size,
        created_on: now,
        modified_on: now,
    };
    match state.db.finish(&upload_id, &file, upload.overwrite)? {
        Finish::Done { part_files, replaced_file_id } => {
            remove_quietly(&state, part_files).await;
            let _ = tokio::fs::remove_dir(state.dirs.root.join("parts").join(&upload_id)).await;
            if let Some(old) = replaced_file_id {
                remove_quietly(&state, [format!("files/{old}")]).await;
            }
            tracing::info!(upload_id, file_id = %file.id, size = file.size, "sbg: upload complete");
            Ok(Json(files::file_json(&state, &file)).into_response())
        }
        Finish::UploadGone => {
            remove_quietly(&state, [rel]).await;
            Err(SbgError::upload_not_found(&upload_id))
        }
        Finish::NameTaken => {
            remove_quietly(&state, [rel]).await;
            Err(SbgError::file_exists(&upload.project, &upload.name))
        }
    }
}

/// `DELETE /v2/upload/multipart/{upload_id}`: forgets the upload and removes its parts.
pub async fn abort(State(state): State<AppState>, Path(upload_id): Path<String>) -> Result<Response, SbgError> {
    let part_files = state.db.abort(&upload_id)?.ok_or_else(|| SbgError::upload_not_found(&upload_id))?;
    remove_quietly(&state, part_files).await;
    if ids::is_hex_id(&upload_id, 64) {
        let _ = tokio::fs::remove_dir(state.dirs.root.join("parts").join(&upload_id)).await;
    }
    tracing::info!(upload_id, "sbg: upload aborted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn requested_part_size_is_kept_within_limits() {
        assert_eq!(plan_parts(100 * MIB, Some(8 * MIB), 5 * MIB), Ok((8 * MIB, 13)));
        assert_eq!(plan_parts(100 * MIB, Some(MIB), 5 * MIB), Ok((5 * MIB, 20)), "raised to the minimum");
        assert_eq!(plan_parts(100 * MIB, None, 5 * MIB), Ok((5 * MIB, 20)), "default 5 MiB");
        assert_eq!(plan_parts(10_000, Some(1024), 1024), Ok((1024, 10)), "test minimum");
        assert_eq!(plan_parts(0, Some(1024), 1024), Ok((1024, 1)), "an empty file has one empty part");
        assert_eq!(plan_parts(6 * 1024 * MIB, Some(8 * 1024 * MIB), 5 * MIB), Ok((5 * 1024 * MIB, 2)), "lowered to 5 GiB");
    }

    #[test]
    fn part_size_grows_when_more_than_ten_thousand_parts_would_be_needed() {
        let size = 100_000 * MIB;
        let (ps, n) = plan_parts(size, Some(5 * MIB), 5 * MIB).unwrap();
        assert_eq!(ps, size.div_ceil(10_000));
        assert!(n <= 10_000);
        assert!(plan_parts(10_001 * MAX_PART_SIZE, None, 5 * MIB).is_err());
    }

    #[test]
    fn projects_are_owner_slash_name() {
        assert!(valid_project("alice/my-project_1.0"));
        for bad in ["alice", "/p", "alice/", "a/b/c", "a b/c", ""] {
            assert!(!valid_project(bad), "{bad}");
        }
    }

    #[test]
    fn etags_compare_without_quotes_or_case() {
        assert_eq!(normalize_etag("\"ABC123\""), "abc123");
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
        assert_eq!(normalize_etag("abc"), "abc");
    }
}
