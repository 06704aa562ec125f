//! Enough of the files API to see and fetch what was uploaded: list a project's files, get
//! one, and get a signed download URL for it.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::db::FileRow;
use super::error::SbgError;
use super::page::Page;
use super::uploads::valid_project;
use super::{clock, part_url, AppState};

/// The file object, as `GET /v2/files/{id}` and upload completion return it.
pub fn file_json(state: &AppState, f: &FileRow) -> Value {
    json!({
        "href": format!("{}/v2/files/{}", state.base_url, f.id),
        "id": f.id,
        "name": f.name,
        "size": f.size,
        "project": f.project,
        "type": "file",
        "created_on": clock::iso_seconds(f.created_on),
        "modified_on": clock::iso_seconds(f.modified_on),
    })
}

/// `GET /v2/files?project=owner/name&offset&limit`: the project's files by name.
pub async fn list(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Result<Response, SbgError> {
    let project = q.get("project").ok_or_else(|| SbgError::bad_files_query("`project` is missing"))?;
    if !valid_project(project) {
        return Err(SbgError::bad_files_query(format!("got `{project}`")));
    }
    let page = Page::from_query(&q)?;
    if !state.db.project_exists(project)? {
        return Err(SbgError::project_not_found(project));
    }
    let (rows, total) = state.db.files(project, page.offset, page.limit)?;
    let items = rows.iter().map(|f| file_json(&state, f)).collect();
    let base = format!("{}/v2/files?project={project}", state.base_url);
    Ok(page.answer(&base, items, total))
}

fn get_file(state: &AppState, id: &str) -> Result<FileRow, SbgError> {
    state.db.file(id)?.ok_or_else(|| SbgError::file_not_found(id))
}

/// `GET /v2/files/{id}`.
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, SbgError> {
    let f = get_file(&state, &id)?;
    Ok(Json(file_json(&state, &f)).into_response())
}

/// `GET /v2/files/{id}/download_info` -> `{url}`: a signed URL, good for any number of
/// downloads until it expires (`download_url_ttl`).
pub async fn download_info(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, SbgError> {
    let f = get_file(&state, &id)?;
    let path = part_url::file_path(&f.id);
    let signed = state.signer.sign("GET", &path, clock::now_unix() + state.config.download_url_ttl.as_secs() as i64);
    Ok(Json(json!({ "url": format!("{}{path}?{}", state.base_url, signed.query()) })).into_response())
}
