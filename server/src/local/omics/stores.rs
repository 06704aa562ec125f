//! Sequence stores: Create, Get, List, Update, Delete.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use rusqlite::{params, Row};
use serde::Deserialize;
use serde_json::{json, Value};

use super::db::{from_json, optional, to_json};
use super::error::{ApiError, ApiResult};
use super::out;
use super::clock::{iso, now_ms};
use super::validate::{self as v, JsonBody, Page};
use super::{new_id, Shared, Store};

/// ETag algorithm families of the reference.
pub const ETAG_FAMILIES: &[&str] = &["MD5up", "SHA256up", "SHA512up"];

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreateRequest {
    client_token: Option<String>,
    description: Option<String>,
    #[serde(rename = "eTagAlgorithmFamily")]
    etag_family: Option<String>,
    fallback_location: Option<String>,
    name: Option<String>,
    propagated_set_level_tags: Option<Vec<String>>,
    s3_access_config: Option<S3AccessConfig>,
    sse_config: Option<SseConfig>,
    tags: Option<HashMap<String, String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct S3AccessConfig {
    access_log_location: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SseConfig {
    #[serde(rename = "type")]
    kind: Option<String>,
    key_arn: Option<String>,
}

/// A store row as the handlers need it.
#[derive(Debug, Clone)]
pub struct StoreRow {
    /// Store ID.
    pub id: String,
    name: String,
    description: Option<String>,
    /// ETag family (`MD5up`, ...).
    pub etag_family: String,
    fallback_location: Option<String>,
    propagated_tags: String,
    access_log_location: Option<String>,
    sse_type: String,
    status: String,
    creation_time: i64,
    update_time: i64,
}

const COLUMNS: &str = "id, name, description, etag_family, fallback_location, propagated_tags, access_log_location, sse_type, status, creation_time, update_time";

fn row(r: &Row<'_>) -> rusqlite::Result<StoreRow> {
    Ok(StoreRow {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        etag_family: r.get(3)?,
        fallback_location: r.get(4)?,
        propagated_tags: r.get(5)?,
        access_log_location: r.get(6)?,
        sse_type: r.get(7)?,
        status: r.get(8)?,
        creation_time: r.get(9)?,
        update_time: r.get(10)?,
    })
}

/// Loads a store or answers 404 (after checking the ID's form).
pub fn load(store: &Store, id: &str) -> ApiResult<StoreRow> {
    v::id("sequenceStoreId", id)?;
    let conn = store.db.lock();
    optional(conn.query_row(&format!("SELECT {COLUMNS} FROM stores WHERE id = ?1"), [id], row))?
        .ok_or_else(|| ApiError::not_found(format!("Sequence store {id} not found")))
}

fn detail(store: &Store, s: &StoreRow) -> Value {
    let tags: Vec<String> = from_json(&s.propagated_tags);
    json!({
        "arn": store.store_arn(&s.id),
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "eTagAlgorithmFamily": s.etag_family,
        "fallbackLocation": s.fallback_location,
        "propagatedSetLevelTags": tags,
        "s3Access": {
            "s3Uri": format!("s3://local-readset-store/{}/readSet/", s.id),
            "accessLogLocation": s.access_log_location,
        },
        "sseConfig": { "type": s.sse_type },
        "status": s.status,
        "creationTime": iso(s.creation_time),
        "updateTime": iso(s.update_time),
    })
}

fn check_propagated(tags: &Option<Vec<String>>) -> ApiResult<()> {
    if let Some(t) = tags {
        if t.len() > 50 {
            return Err(ApiError::validation("propagatedSetLevelTags has more than 50 items"));
        }
        for k in t {
            v::text("propagatedSetLevelTags item", k, 1, 128)?;
        }
    }
    Ok(())
}

/// `POST /sequencestore`
pub async fn create(State(st): State<Shared>, JsonBody(req): JsonBody<CreateRequest>) -> ApiResult<Json<Value>> {
    let name = req.name.as_deref().ok_or_else(|| ApiError::validation("name is required"))?;
    v::text("name", name, 1, 127)?;
    v::opt_text("description", &req.description, 1, 255)?;
    v::opt_text("clientToken", &req.client_token, 1, 127)?;
    let family = req.etag_family.clone().unwrap_or_else(|| "MD5up".into());
    v::one_of("eTagAlgorithmFamily", &family, ETAG_FAMILIES)?;
    if let Some(f) = &req.fallback_location {
        if !f.is_empty() {
            v::s3_uri("fallbackLocation", f)?;
        }
    }
    check_propagated(&req.propagated_set_level_tags)?;
    let tags = req.tags.clone().unwrap_or_default();
    v::tags("tags", &tags)?;
    let access_log = req.s3_access_config.as_ref().and_then(|c| c.access_log_location.clone());
    if let Some(a) = &access_log {
        v::s3_uri("s3AccessConfig.accessLogLocation", a)?;
    }
    let sse_type = match req.sse_config.as_ref() {
        Some(c) => {
            let t = c.kind.clone().ok_or_else(|| ApiError::validation("sseConfig.type is required"))?;
            v::one_of("sseConfig.type", &t, &["KMS"])?;
            if let Some(k) = &c.key_arn {
                v::arn("sseConfig.keyArn", k, 20, 2048)?;
            }
            t
        }
        None => "KMS".into(),
    };

    let id = {
        let conn = st.db.lock();
        if let Some(token) = &req.client_token {
            if let Some(existing) =
                optional(conn.query_row("SELECT id FROM stores WHERE client_token = ?1", [token], |r| r.get::<_, String>(0)))?
            {
                drop(conn);
                let s = load(&st, &existing)?;
                return Ok(out::json(detail(&st, &s)));
            }
        }
        let id = new_id();
        let now = now_ms();
        conn.execute(
            "INSERT INTO stores (id, name, description, etag_family, fallback_location, propagated_tags, access_log_location, sse_type, client_token, status, creation_time, update_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'ACTIVE', ?10, ?10)",
            params![
                id,
                name,
                req.description,
                family,
                req.fallback_location,
                to_json(&req.propagated_set_level_tags.clone().unwrap_or_default()),
                access_log,
                sse_type,
                req.client_token,
                now
            ],
        )?;
        super::tags::put_all(&conn, &st.store_arn(&id), &tags)?;
        id
    };
    let s = load(&st, &id)?;
    Ok(out::json(detail(&st, &s)))
}

/// `GET /sequencestore/{id}`
pub async fn get(State(st): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let s = load(&st, &id)?;
    Ok(out::json(detail(&st, &s)))
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListRequest {
    filter: Option<ListFilter>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListFilter {
    name: Option<String>,
    status: Option<String>,
    created_after: Option<Value>,
    created_before: Option<Value>,
    updated_after: Option<Value>,
    updated_before: Option<Value>,
}

/// `POST /sequencestores`
pub async fn list(
    State(st): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    JsonBody(req): JsonBody<ListRequest>,
) -> ApiResult<Json<Value>> {
    let page = Page::from_query(&q)?;
    let f = req.filter.unwrap_or_default();
    v::opt_text("filter.name", &f.name, 1, 127)?;
    if let Some(s) = &f.status {
        v::one_of("filter.status", s, &["CREATING", "ACTIVE", "UPDATING", "DELETING", "FAILED"])?;
    }
    let ca = v::timestamp("filter.createdAfter", &f.created_after)?;
    let cb = v::timestamp("filter.createdBefore", &f.created_before)?;
    let ua = v::timestamp("filter.updatedAfter", &f.updated_after)?;
    let ub = v::timestamp("filter.updatedBefore", &f.updated_before)?;
    let rows: Vec<StoreRow> = {
        let conn = st.db.lock();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM stores ORDER BY creation_time, id"))?;
        let all = stmt.query_map([], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        all
    };
    let rows: Vec<StoreRow> = rows
        .into_iter()
        .filter(|s| f.name.as_ref().is_none_or(|n| &s.name == n))
        .filter(|s| f.status.as_ref().is_none_or(|x| &s.status == x))
        .filter(|s| ca.is_none_or(|t| s.creation_time >= t) && cb.is_none_or(|t| s.creation_time <= t))
        .filter(|s| ua.is_none_or(|t| s.update_time >= t) && ub.is_none_or(|t| s.update_time <= t))
        .collect();
    let (rows, next) = page.cut(rows);
    let items: Vec<Value> = rows
        .iter()
        .map(|s| {
            let mut d = detail(&st, s);
            let m = d.as_object_mut().expect("object");
            m.remove("propagatedSetLevelTags");
            m.remove("s3Access");
            d
        })
        .collect();
    Ok(out::json(json!({ "sequenceStores": items, "nextToken": next })))
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRequest {
    client_token: Option<String>,
    description: Option<String>,
    fallback_location: Option<String>,
    name: Option<String>,
    propagated_set_level_tags: Option<Vec<String>>,
    s3_access_config: Option<S3AccessConfig>,
}

/// `PATCH /sequencestore/{id}`
pub async fn update(
    State(st): State<Shared>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateRequest>,
) -> ApiResult<Json<Value>> {
    load(&st, &id)?;
    v::opt_text("name", &req.name, 1, 127)?;
    v::opt_text("description", &req.description, 1, 255)?;
    v::opt_text("clientToken", &req.client_token, 1, 127)?;
    if let Some(f) = &req.fallback_location {
        if !f.is_empty() {
            v::s3_uri("fallbackLocation", f)?;
        }
    }
    check_propagated(&req.propagated_set_level_tags)?;
    let access_log = req.s3_access_config.as_ref().and_then(|c| c.access_log_location.clone());
    if let Some(a) = &access_log {
        v::s3_uri("s3AccessConfig.accessLogLocation", a)?;
    }
    {
        let conn = st.db.lock();
        let now = now_ms();
        if let Some(n) = &req.name {
            conn.execute("UPDATE stores SET name = ?1 WHERE id = ?2", params![n, id])?;
        }
        if let Some(d) = &req.description {
            conn.execute("UPDATE stores SET description = ?1 WHERE id = ?2", params![d, id])?;
        }
        if let Some(f) = &req.fallback_location {
            let f = (!f.is_empty()).then_some(f);
            conn.execute("UPDATE stores SET fallback_location = ?1 WHERE id = ?2", params![f, id])?;
        }
        if let Some(t) = &req.propagated_set_level_tags {
            conn.execute("UPDATE stores SET propagated_tags = ?1 WHERE id = ?2", params![to_json(t), id])?;
        }
        if let Some(a) = &access_log {
            conn.execute("UPDATE stores SET access_log_location = ?1 WHERE id = ?2", params![a, id])?;
        }
        conn.execute("UPDATE stores SET update_time = ?1 WHERE id = ?2", params![now, id])?;
    }
    let s = load(&st, &id)?;
    Ok(out::json(detail(&st, &s)))
}

/// `DELETE /sequencestore/{id}`: only an empty store can go.
pub async fn delete(State(st): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    load(&st, &id)?;
    let conn = st.db.lock();
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM readsets WHERE store_id = ?1", [&id], |r| r.get(0))?;
    if n > 0 {
        return Err(ApiError::conflict(format!(
            "Sequence store {id} still holds {n} read set(s); delete them first (BatchDeleteReadSet)"
        )));
    }
    conn.execute("DELETE FROM stores WHERE id = ?1", [&id])?;
    super::tags::delete_all(&conn, &st.store_arn(&id))?;
    Ok(Json(json!({})))
}
