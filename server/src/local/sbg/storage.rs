//! The storage side the signed URLs point at: `PUT` a part, `GET` a file. No token: the URL's
//! signature is the authorisation. Errors are S3-shaped XML, like the storage the real
//! platform's part URLs point at.

use std::collections::HashMap;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;

use super::db::{PartRow, StorePart};
use super::error::StorageError;
use super::part_url::{self, Signed};
use super::{clock, ids, AppState, PART_HEADER};

/// A file that is removed when dropped, unless kept: nothing half-written stays behind
/// whatever way a request ends.
struct Scratch {
    path: Option<PathBuf>,
}

impl Scratch {
    fn keep(mut self) {
        self.path = None;
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Reads `expires`, `nonce` and `signature` from the query, checks the signature covers
/// `method path`, then that the URL has not expired.
fn authorise(state: &AppState, method: &str, path: &str, q: &HashMap<String, String>, what: &str) -> Result<Signed, StorageError> {
    let (Some(expires), Some(nonce), Some(signature)) = (q.get("expires"), q.get("nonce"), q.get("signature")) else {
        return Err(StorageError::missing_auth(
            "This URL lacks `expires`, `nonce` or `signature`; use the URL exactly as the API returned it.",
        ));
    };
    let expires = expires.parse::<i64>().map_err(|_| StorageError::signature_mismatch(what))?;
    let signed = Signed { expires, nonce: nonce.clone(), signature: signature.clone() };
    if !state.signer.verify(method, path, &signed) {
        return Err(StorageError::signature_mismatch(what));
    }
    if clock::now_unix() >= expires {
        return Err(StorageError::expired(expires));
    }
    Ok(signed)
}

/// `PUT /v2/_storage/parts/{upload_id}/{part_number}?expires&nonce&signature`: stores the
/// body as the part (streamed to a scratch file, moved into place only when whole) and
/// answers `200` with `ETag: "<hex md5>"`.
pub async fn put_part(
    State(state): State<AppState>,
    Path((upload_id, raw_number)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, StorageError> {
    let Ok(n) = raw_number.parse::<u32>() else {
        return Err(StorageError::signature_mismatch(&format!("part `{raw_number}`")));
    };
    let what = format!("part {n} of upload {upload_id}");
    let signed = authorise(&state, "PUT", &part_url::part_path(&upload_id, n), &q, &what)?;
    if state.config.require_part_header
        && headers.get(PART_HEADER).and_then(|v| v.to_str().ok()) != Some(signed.nonce.as_str())
    {
        return Err(StorageError::missing_header(PART_HEADER));
    }
    if state.db.url_used(&signed.signature)? {
        return Err(StorageError::already_used());
    }
    let upload = match state.db.upload(&upload_id)? {
        Some(u) if ids::is_hex_id(&upload_id, 64) && n <= u.part_count => u,
        _ => return Err(StorageError::no_such_upload(&upload_id)),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > upload.part_size) {
        return Err(StorageError::too_large(upload.part_size));
    }

    let tmp_path = state.dirs.tmp.join(format!("{upload_id}-{n}-{}", signed.nonce));
    let mut scratch = Scratch { path: Some(tmp_path.clone()) };
    let mut file = tokio::fs::File::create(&tmp_path).await?;
    let mut md5 = Md5::new();
    let mut len: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            StorageError::incomplete(format!("The part body was cut off after {len} bytes ({e}); nothing was stored."))
        })?;
        len += chunk.len() as u64;
        if len > upload.part_size {
            return Err(StorageError::too_large(upload.part_size));
        }
        md5.update(&chunk);
        file.write_all(&chunk).await?;
    }
    if let Some(declared) = declared.filter(|d| *d != len) {
        return Err(StorageError::incomplete(format!(
            "Content-Length says {declared} bytes but {len} arrived; nothing was stored."
        )));
    }
    file.flush().await?;
    file.sync_all().await?;
    drop(file);

    let etag = hex::encode(md5.finalize());
    let rel = format!("parts/{upload_id}/{n}-{}", signed.nonce);
    let final_path = state.dirs.root.join(&rel);
    tokio::fs::create_dir_all(state.dirs.root.join("parts").join(&upload_id)).await?;
    tokio::fs::rename(&tmp_path, &final_path).await?;
    scratch.path = Some(final_path);
    let part = PartRow { part_number: n, size: len, etag: etag.clone(), file: rel, reported_etag: None };
    match state.db.store_part(&upload_id, &part, &signed.signature, signed.expires, clock::now_unix())? {
        StorePart::Stored { replaced_file } => {
            scratch.keep();
            if let Some(old) = replaced_file {
                super::uploads::remove_quietly(&state, [old]).await;
            }
        }
        StorePart::UploadGone => {
            drop(scratch);
            let _ = tokio::fs::remove_dir(state.dirs.root.join("parts").join(&upload_id)).await;
            return Err(StorageError::no_such_upload(&upload_id));
        }
        StorePart::UrlUsed => return Err(StorageError::already_used()),
    }
    tracing::debug!(upload_id, part = n, size = len, "sbg: part stored");
    Ok((StatusCode::OK, [(header::ETAG, format!("\"{etag}\""))]).into_response())
}

/// What a `Range` header asks of a file of `size` bytes, as S3 reads it: `Ok(None)` for the
/// whole file (no header, or one this store does not read: several ranges, other units,
/// malformed, which S3 also answers with the whole object), `Ok(Some((first, last)))` for one
/// range (inclusive, `last` clamped to the end), `Err` when it starts at or past the end.
fn byte_range(headers: &HeaderMap, size: u64) -> Result<Option<(u64, u64)>, StorageError> {
    let Some(spec) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Ok(None) };
    let num = |s: &str| if s.is_empty() { Ok(None) } else { s.parse::<u64>().map(Some).map_err(|_| ()) };
    let (Ok(first), Ok(last)) = (num(first.trim()), num(last.trim())) else { return Ok(None) };
    match (first, last) {
        (None, None) => Ok(None),
        (Some(f), Some(l)) if l < f => Ok(None),
        (Some(f), _) if f >= size => Err(StorageError::invalid_range(size)),
        (Some(f), l) => Ok(Some((f, l.map_or(size - 1, |l| l.min(size - 1))))),
        (None, Some(_)) if size == 0 => Ok(None),
        (None, Some(0)) => Err(StorageError::invalid_range(size)),
        (None, Some(n)) => Ok(Some((size - n.min(size), size - 1))),
    }
}

/// `GET /v2/_storage/files/{file_id}?expires&nonce&signature`: the file's bytes; one
/// `Range: bytes=first-last` (or `first-`, `-suffix`) gets `206` with `Content-Range`, as S3
/// answers (the official client downloads in ranged parts).
pub async fn download(
    State(state): State<AppState>,
    Path(file_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, StorageError> {
    authorise(&state, "GET", &part_url::file_path(&file_id), &q, &format!("file {file_id}"))?;
    let file = match state.db.file(&file_id)? {
        Some(f) if ids::is_hex_id(&file_id, 24) => f,
        _ => return Err(StorageError::no_such_file(&file_id)),
    };
    let size = file.size;
    let range = byte_range(&headers, size)?;
    let mut disk = tokio::fs::File::open(state.dirs.root.join("files").join(&file.id)).await?;
    // Quotes and non-ASCII would break the header; the name is only a hint to browsers.
    let hint: String = file.name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut response_headers = vec![
        (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
        (header::ACCEPT_RANGES, "bytes".to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{hint}\"")),
    ];
    let (status, body) = match range {
        None => {
            response_headers.push((header::CONTENT_LENGTH, size.to_string()));
            (StatusCode::OK, Body::from_stream(tokio_util::io::ReaderStream::new(disk)))
        }
        Some((first, last)) => {
            use tokio::io::{AsyncReadExt, AsyncSeekExt};
            disk.seek(std::io::SeekFrom::Start(first)).await?;
            let len = last - first + 1;
            response_headers.push((header::CONTENT_LENGTH, len.to_string()));
            response_headers.push((header::CONTENT_RANGE, format!("bytes {first}-{last}/{size}")));
            (StatusCode::PARTIAL_CONTENT, Body::from_stream(tokio_util::io::ReaderStream::new(disk.take(len))))
        }
    };
    let mut response = (status, body).into_response();
    for (name, value) in response_headers {
        response.headers_mut().insert(name, value.parse().map_err(|_| StorageError::internal("header value"))?);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, u16> {
        let mut h = HeaderMap::new();
        if let Some(v) = value {
            h.insert(header::RANGE, v.parse().unwrap());
        }
        byte_range(&h, size).map_err(|e| e.into_response().status().as_u16())
    }

    #[test]
    fn ranges_are_read_as_s3_reads_them() {
        assert_eq!(range(None, 10), Ok(None));
        assert_eq!(range(Some("bytes=0-4"), 10), Ok(Some((0, 4))));
        assert_eq!(range(Some("bytes=5-"), 10), Ok(Some((5, 9))));
        assert_eq!(range(Some("bytes=5-100"), 10), Ok(Some((5, 9))), "clamped to the end");
        assert_eq!(range(Some("bytes=-3"), 10), Ok(Some((7, 9))), "suffix");
        assert_eq!(range(Some("bytes=-30"), 10), Ok(Some((0, 9))), "suffix longer than the file");
        assert_eq!(range(Some("bytes=10-"), 10), Err(416));
        assert_eq!(range(Some("bytes=-0"), 10), Err(416));
        for ignored in ["bytes=0-1,3-4", "items=0-1", "bytes=x-1", "bytes=4-2", "bytes=", "bytes=-"] {
            assert_eq!(range(Some(ignored), 10), Ok(None), "{ignored}: the whole file");
        }
        assert_eq!(range(Some("bytes=-5"), 0), Ok(None), "an empty file is served whole");
    }
}
