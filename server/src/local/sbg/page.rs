//! Pagination as the platform does it: `offset` and `limit` in the query; answers
//! `{href, items, links}` where `links` holds `next`/`prev` page links, with the total in the
//! `X-Total-Matching-Query` header (which sevenbridges-python reads on every list).

use std::collections::HashMap;

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::error::SbgError;

/// The header that carries the number of items all pages hold together.
pub const TOTAL_HEADER: &str = "x-total-matching-query";

/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: u64 = 50;
/// The largest `limit` accepted (the platform's).
pub const MAX_LIMIT: u64 = 100;

/// A page request.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Items skipped.
    pub offset: u64,
    /// Items at most.
    pub limit: u64,
}

impl Page {
    /// Reads `offset` and `limit` from the query.
    pub fn from_query(q: &HashMap<String, String>) -> Result<Self, SbgError> {
        let num = |key: &str, default: u64| -> Result<u64, SbgError> {
            match q.get(key) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .map_err(|_| SbgError::bad_request(format!("`{key}` must be a whole number >= 0, got `{v}`"))),
            }
        };
        let offset = num("offset", 0)?;
        let limit = num("limit", DEFAULT_LIMIT)?;
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(SbgError::bad_request(format!("`limit` must be 1..={MAX_LIMIT}, got {limit}")));
        }
        Ok(Self { offset, limit })
    }

    /// `{href, items, links}` for this page of `total` items at `base` (a URL whose query,
    /// if any, does not hold offset/limit yet).
    pub fn envelope(&self, base: &str, items: Vec<Value>, total: u64) -> Value {
        let sep = if base.contains('?') { '&' } else { '?' };
        let at = |offset: u64| format!("{base}{sep}offset={offset}&limit={}", self.limit);
        let mut links = Vec::new();
        if self.offset + self.limit < total {
            links.push(json!({"href": at(self.offset + self.limit), "rel": "next", "method": "GET"}));
        }
        if self.offset > 0 {
            links.push(json!({"href": at(self.offset.saturating_sub(self.limit)), "rel": "prev", "method": "GET"}));
        }
        json!({"href": at(self.offset), "items": items, "links": links})
    }

    /// The answer for this page: [`Page::envelope`] as JSON, `X-Total-Matching-Query: total`.
    pub fn answer(&self, base: &str, items: Vec<Value>, total: u64) -> Response {
        ([(TOTAL_HEADER, total.to_string())], Json(self.envelope(base, items, total))).into_response()
    }
}
