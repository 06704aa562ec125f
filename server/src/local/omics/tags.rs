//! Tags on sequence stores and read sets: TagResource, UntagResource, ListTagsForResource.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use rusqlite::{params, Connection};
use serde::Deserialize;
use serde_json::{json, Value};

use super::db::optional;
use super::error::{ApiError, ApiResult};
use super::validate::{self as v, JsonBody};
use super::{Shared, Store};

/// Sets every tag of `tags` on `arn` (replacing values of existing keys).
pub fn put_all(conn: &Connection, arn: &str, tags: &HashMap<String, String>) -> ApiResult<()> {
    for (k, val) in tags {
        conn.execute(
            "INSERT INTO tags (arn, key, value) VALUES (?1, ?2, ?3) ON CONFLICT(arn, key) DO UPDATE SET value = excluded.value",
            params![arn, k, val],
        )?;
    }
    Ok(())
}

/// Removes every tag of `arn`.
pub fn delete_all(conn: &Connection, arn: &str) -> ApiResult<()> {
    conn.execute("DELETE FROM tags WHERE arn = ?1", [arn])?;
    Ok(())
}

/// Every tag of `arn`.
pub fn get_all(conn: &Connection, arn: &str) -> ApiResult<HashMap<String, String>> {
    let mut stmt = conn.prepare("SELECT key, value FROM tags WHERE arn = ?1")?;
    let rows = stmt.query_map([arn], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
}

/// Checks that `arn` names an existing store or read set of this store.
fn check_resource(st: &Store, arn: &str) -> ApiResult<()> {
    v::arn("resourceArn", arn, 1, 150)?;
    let prefix = format!("arn:aws:omics:{}:{}:sequenceStore/", st.cfg.region, super::ACCOUNT_ID);
    let rest = arn.strip_prefix(&prefix).ok_or_else(|| {
        ApiError::not_found(format!("Resource {arn} not found: this store knows {prefix}ID[/readSet/ID]"))
    })?;
    let segs: Vec<&str> = rest.split('/').collect();
    let conn = st.db.lock();
    let found = match segs.as_slice() {
        [store] => optional(conn.query_row("SELECT 1 FROM stores WHERE id = ?1", [store], |_| Ok(())))?,
        [store, "readSet", id] => optional(conn.query_row(
            "SELECT 1 FROM readsets WHERE id = ?1 AND store_id = ?2",
            [id, store],
            |_| Ok(()),
        ))?,
        _ => None,
    };
    found.map(|_| ()).ok_or_else(|| ApiError::not_found(format!("Resource {arn} not found")))
}

/// `GET /tags/{resourceArn}`
pub async fn list(State(st): State<Shared>, Path(arn): Path<String>) -> ApiResult<Json<Value>> {
    check_resource(&st, &arn)?;
    let tags = get_all(&st.db.lock(), &arn)?;
    Ok(Json(json!({ "tags": tags })))
}

#[derive(Debug, Deserialize, Default)]
pub struct TagRequest {
    tags: Option<HashMap<String, String>>,
}

/// `POST /tags/{resourceArn}` (204)
pub async fn tag(
    State(st): State<Shared>,
    Path(arn): Path<String>,
    JsonBody(req): JsonBody<TagRequest>,
) -> ApiResult<StatusCode> {
    let tags = req.tags.ok_or_else(|| ApiError::validation("tags is required"))?;
    v::tags("tags", &tags)?;
    check_resource(&st, &arn)?;
    let conn = st.db.lock();
    let existing = get_all(&conn, &arn)?;
    let total = existing.keys().chain(tags.keys().filter(|k| !existing.contains_key(*k))).count();
    if total > 50 {
        return Err(ApiError::validation(format!("a resource holds at most 50 tags; this would make {total}")));
    }
    put_all(&conn, &arn, &tags)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /tags/{resourceArn}?tagKeys=...` (204)
pub async fn untag(
    State(st): State<Shared>,
    Path(arn): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<StatusCode> {
    let keys: Vec<&String> = q.iter().filter(|(k, _)| k == "tagKeys").map(|(_, v)| v).collect();
    if keys.len() > 50 {
        return Err(ApiError::validation("tagKeys has more than 50 items"));
    }
    for k in &keys {
        v::text("tagKeys item", k, 1, 128)?;
    }
    check_resource(&st, &arn)?;
    let conn = st.db.lock();
    for k in keys {
        conn.execute("DELETE FROM tags WHERE arn = ?1 AND key = ?2", params![arn, k])?;
    }
    Ok(StatusCode::NO_CONTENT)
}
