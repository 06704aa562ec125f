//! Input checks of the HealthOmics reference, each failing with a ValidationException that
//! names the field, plus the JSON body and query helpers the handlers share.

use std::collections::HashMap;

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::{ApiError, ApiResult};

/// Largest part body HealthOmics accepts (100 MiB).
pub const MAX_PART_SIZE: u64 = 104_857_600;

/// Checks an ID (`[0-9]+`, 10..36 chars).
pub fn id(field: &str, value: &str) -> ApiResult<()> {
    if value.len() < 10 || value.len() > 36 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(format!(
            "{field} `{value}` is not valid: it must be 10 to 36 digits (pattern [0-9]+)"
        )));
    }
    Ok(())
}

/// Checks a free-text field: `min..=max` characters, none a control character (the
/// reference's `[\p{L}|\p{M}|\p{Z}|\p{S}|\p{N}|\p{P}]+`).
pub fn text(field: &str, value: &str, min: usize, max: usize) -> ApiResult<()> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ApiError::validation(format!(
            "{field} must be {min} to {max} characters long, got {n}"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::validation(format!("{field} must not contain control characters")));
    }
    Ok(())
}

/// [`text`] for an optional field.
pub fn opt_text(field: &str, value: &Option<String>, min: usize, max: usize) -> ApiResult<()> {
    match value {
        Some(v) => text(field, v, min, max),
        None => Ok(()),
    }
}

/// Checks a value against a closed list of valid values.
pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> ApiResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "{field} `{value}` is not valid; valid values: {}",
            allowed.join(" | ")
        )))
    }
}

/// Checks an ARN field (`arn:.+`, `min..=max` chars).
pub fn arn(field: &str, value: &str, min: usize, max: usize) -> ApiResult<()> {
    text(field, value, min, max)?;
    if !value.starts_with("arn:") || value.len() < 5 {
        return Err(ApiError::validation(format!("{field} `{value}` is not an ARN (arn:...)")));
    }
    Ok(())
}

/// Checks an S3 URI (`s3://bucket/...`, bucket 3..63 of `[a-z0-9.-]`).
pub fn s3_uri(field: &str, value: &str) -> ApiResult<()> {
    let bad = || ApiError::validation(format!("{field} `{value}` is not an s3://bucket/key URI"));
    let rest = value.strip_prefix("s3://").ok_or_else(bad)?;
    let bucket = rest.split('/').next().unwrap_or("");
    let ok = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.'])
        && !rest.split('/').any(|seg| seg == "..")
        && rest.len() <= 1024 + 64;
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Checks a tag map: at most 50 entries, keys 1..128, values 0..256 characters.
pub fn tags(field: &str, tags: &HashMap<String, String>) -> ApiResult<()> {
    if tags.len() > 50 {
        return Err(ApiError::validation(format!("{field} has {} entries; at most 50", tags.len())));
    }
    for (k, v) in tags {
        text(&format!("{field} key"), k, 1, 128)?;
        if v.chars().count() > 256 {
            return Err(ApiError::validation(format!("{field} value of `{k}` is longer than 256 characters")));
        }
    }
    Ok(())
}

/// `maxResults` and `nextToken` of a list operation, parsed and checked.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Rows to return (1..=100; 100 when absent).
    pub limit: usize,
    /// Rows to skip (from `nextToken`).
    pub offset: usize,
}

impl Page {
    /// Reads `maxResults` (1..=100) and `nextToken` from the query string.
    pub fn from_query(q: &HashMap<String, String>) -> ApiResult<Page> {
        let limit = match q.get("maxResults") {
            None => 100,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if (1..=100).contains(&n) => n as usize,
                _ => {
                    return Err(ApiError::validation(format!(
                        "maxResults `{s}` is out of range: it must be an integer from 1 to 100"
                    )))
                }
            },
        };
        let offset = match q.get("nextToken") {
            None => 0,
            Some(t) => t
                .strip_prefix("page-")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| ApiError::validation(format!("nextToken `{t}` was not issued by this store")))?,
        };
        Ok(Page { limit, offset })
    }

    /// Cuts one page out of `rows` and returns it with the next token, if any rows remain.
    pub fn cut<T>(self, rows: Vec<T>) -> (Vec<T>, Option<String>) {
        let total = rows.len();
        let page: Vec<T> = rows.into_iter().skip(self.offset).take(self.limit).collect();
        let next = (self.offset + self.limit < total).then(|| format!("page-{}", self.offset + self.limit));
        (page, next)
    }
}

/// A query parameter that must be an integer in `min..=max`.
pub fn int_param(q: &HashMap<String, String>, field: &str, min: i64, max: i64) -> ApiResult<i64> {
    let s = q.get(field).ok_or_else(|| ApiError::validation(format!("{field} is required")))?;
    match s.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::validation(format!("{field} `{s}` is out of range: it must be an integer from {min} to {max}"))),
    }
}

/// A JSON request body; an empty body reads as `{}`. Malformed JSON or a wrong field type is a
/// ValidationException whose message names the problem (serde names the field).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = bytes::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::validation(format!("could not read the request body: {e}")))?;
        let slice: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &bytes };
        serde_json::from_slice(slice)
            .map(JsonBody)
            .map_err(|e| ApiError::validation(format!("request body is not valid: {e}")))
    }
}

/// A timestamp in a request body: ISO-8601 string or epoch seconds; returned as epoch ms.
pub fn timestamp(field: &str, v: &Option<serde_json::Value>) -> ApiResult<Option<i64>> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_f64()
            .map(|f| Some((f * 1000.0) as i64))
            .ok_or_else(|| ApiError::validation(format!("{field} is not a timestamp"))),
        Some(serde_json::Value::String(s)) => super::clock::parse_ms(s)
            .map(Some)
            .ok_or_else(|| ApiError::validation(format!("{field} `{s}` is not an ISO-8601 timestamp"))),
        Some(_) => Err(ApiError::validation(format!("{field} is not a timestamp"))),
    }
}
