//! Which host each operation is served on, as on AWS: HealthOmics splits its storage API over
//! `control-storage-omics.R.amazonaws.com`, `storage-omics.R.amazonaws.com` (part upload,
//! complete, part download) and `tags-omics.R.amazonaws.com` (the `endpoint.hostPrefix` of each
//! operation in the service model; the AWS SDKs prepend it).
//!
//! When a request's `Host` is such an AWS name and one the store answers to (`--host
//! storage-omics.us-east-1.amazonaws.com` and friends, behind a resolver that points those
//! names at it), an operation on another prefix's host is refused before its signature is
//! looked at, with 400 `InvalidAction` (the reference's Common Errors: "The action or
//! operation requested is invalid"; what AWS itself answers there is unconfirmed: its other
//! front ends do not know the operation at all). Loopback and other names are not checked:
//! one store answers every operation there, as before.
//!
//! Every request that passed the SigV4 check is counted by operation and `Host` (the one the
//! signature was verified against): `GET /_local/hosts` shows the counts, so a test can prove
//! that each operation reached the host its prefix names.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::{ApiError, ErrorKind};

/// The host prefix of a HealthOmics endpoint (`{prefix}omics.{region}.amazonaws.com`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// `control-storage-`: stores, upload control, listings, metadata, jobs.
    ControlStorage,
    /// `storage-`: part bodies (UploadReadSetPart, CompleteMultipartReadSetUpload, GetReadSet).
    Storage,
    /// `tags-`: ListTagsForResource, TagResource, UntagResource.
    Tags,
}

impl Prefix {
    /// The prefix as written before `omics.`: `control-storage-`, `storage-` or `tags-`.
    pub fn as_str(self) -> &'static str {
        match self {
            Prefix::ControlStorage => "control-storage-",
            Prefix::Storage => "storage-",
            Prefix::Tags => "tags-",
        }
    }
}

/// The operation a store request is, with its host prefix from the service model; `None` for
/// a path the store does not serve (the router answers 404 for those).
pub fn operation(method: &Method, path: &str) -> Option<(&'static str, Prefix)> {
    use Prefix::{ControlStorage as C, Storage as S, Tags as T};
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = method.as_str();
    let op = match (m, segs.as_slice()) {
        ("POST", ["sequencestore"]) => ("CreateSequenceStore", C),
        ("POST", ["sequencestores"]) => ("ListSequenceStores", C),
        ("GET", ["sequencestore", _]) => ("GetSequenceStore", C),
        ("PATCH", ["sequencestore", _]) => ("UpdateSequenceStore", C),
        ("DELETE", ["sequencestore", _]) => ("DeleteSequenceStore", C),
        ("POST", ["sequencestore", _, "upload"]) => ("CreateMultipartReadSetUpload", C),
        ("PUT", ["sequencestore", _, "upload", _, "part"]) => ("UploadReadSetPart", S),
        ("POST", ["sequencestore", _, "upload", _, "complete"]) => ("CompleteMultipartReadSetUpload", S),
        ("DELETE", ["sequencestore", _, "upload", _, "abort"]) => ("AbortMultipartReadSetUpload", C),
        ("POST", ["sequencestore", _, "uploads"]) => ("ListMultipartReadSetUploads", C),
        ("POST", ["sequencestore", _, "upload", _, "parts"]) => ("ListReadSetUploadParts", C),
        ("POST", ["sequencestore", _, "readsets"]) => ("ListReadSets", C),
        ("POST", ["sequencestore", _, "readset", "batch", "delete"]) => ("BatchDeleteReadSet", C),
        ("GET", ["sequencestore", _, "readset", _, "metadata"]) => ("GetReadSetMetadata", C),
        ("GET", ["sequencestore", _, "readset", _]) => ("GetReadSet", S),
        ("POST", ["sequencestore", _, "importjob"]) => ("StartReadSetImportJob", C),
        ("GET", ["sequencestore", _, "importjob", _]) => ("GetReadSetImportJob", C),
        ("POST", ["sequencestore", _, "importjobs"]) => ("ListReadSetImportJobs", C),
        ("POST", ["sequencestore", _, "exportjob"]) => ("StartReadSetExportJob", C),
        ("GET", ["sequencestore", _, "exportjob", _]) => ("GetReadSetExportJob", C),
        ("POST", ["sequencestore", _, "exportjobs"]) => ("ListReadSetExportJobs", C),
        ("POST", ["sequencestore", _, "activationjob"]) => ("StartReadSetActivationJob", C),
        ("GET", ["sequencestore", _, "activationjob", _]) => ("GetReadSetActivationJob", C),
        ("POST", ["sequencestore", _, "activationjobs"]) => ("ListReadSetActivationJobs", C),
        ("GET", ["tags", _]) => ("ListTagsForResource", T),
        ("POST", ["tags", _]) => ("TagResource", T),
        ("DELETE", ["tags", _]) => ("UntagResource", T),
        _ => return None,
    };
    Some(op)
}

/// For a `Host` of the form `{prefix}omics.{region}.amazonaws.com[:port]`, the prefix (possibly
/// empty or one the store does not serve, like `analytics-`); `None` for any other name.
pub fn aws_host_prefix(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(']') && port.bytes().all(|b| b.is_ascii_digit()) => name.to_owned(),
        _ => host,
    };
    let name = name.strip_suffix('.').unwrap_or(&name);
    let rest = name.strip_suffix(".amazonaws.com")?;
    let (first, _region) = rest.split_once('.')?;
    first.strip_suffix("omics").map(str::to_owned)
}

/// What reached the store, by (operation, Host): requests that passed SigV4, and requests
/// refused for arriving on another prefix's host.
#[derive(Debug)]
pub(crate) struct HostLog {
    /// The names the store answers to: only on those is the prefix checked (any other Host is
    /// the SigV4 check's to refuse).
    hosts: crate::hosts::AllowedHosts,
    verified: Mutex<BTreeMap<(String, String), u64>>,
    wrong_host: Mutex<BTreeMap<(String, String), u64>>,
}

impl HostLog {
    pub(crate) fn new(hosts: crate::hosts::AllowedHosts) -> Arc<Self> {
        Arc::new(Self { hosts, verified: Mutex::default(), wrong_host: Mutex::default() })
    }
}

fn host_of(req: &Request) -> Option<String> {
    req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned)
}

fn bump(map: &Mutex<BTreeMap<(String, String), u64>>, op: &str, host: &str) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    *map.entry((op.to_owned(), host.to_owned())).or_default() += 1;
}

/// Middleware before the SigV4 check: on an AWS host name the store answers to, an operation
/// must arrive on the host of its prefix (else 400 `InvalidAction`).
pub(crate) async fn route_by_host(State(log): State<Arc<HostLog>>, req: Request, next: Next) -> Response {
    let host = host_of(&req);
    let found = operation(req.method(), req.uri().path());
    if let (Some(host), Some((op, prefix))) = (host.as_deref().filter(|h| log.hosts.allows(h)), found) {
        if let Some(got) = aws_host_prefix(host) {
            if got != prefix.as_str() {
                bump(&log.wrong_host, op, host);
                tracing::warn!(operation = op, host, expected_prefix = prefix.as_str(), "operation refused on another endpoint's host");
                let right = format!("{}{}", prefix.as_str(), host.strip_prefix(got.as_str()).unwrap_or(host));
                return ApiError::new(
                    ErrorKind::InvalidAction,
                    format!("{op} is not served on {host}; its endpoint is {right} (host prefix `{}`)", prefix.as_str()),
                )
                .into_response();
            }
        }
    }
    next.run(req).await
}

/// Middleware after the SigV4 check: counts the request by operation and the `Host` its
/// signature was verified with.
pub(crate) async fn record_verified(State(log): State<Arc<HostLog>>, req: Request, next: Next) -> Response {
    if let (Some(host), Some((op, _))) = (host_of(&req), operation(req.method(), req.uri().path())) {
        bump(&log.verified, op, &host);
        tracing::info!(operation = op, host = %host, "SigV4 verified for this Host");
    }
    next.run(req).await
}

/// `GET /_local/hosts`: `{"verified": [{"operation", "host", "count"}], "wrong_host": [...]}`
/// (local store only, unauthenticated, read-only).
pub(crate) async fn hosts(State(log): State<Arc<HostLog>>) -> Json<serde_json::Value> {
    let list = |map: &Mutex<BTreeMap<(String, String), u64>>| {
        let map = map.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|((op, host), n)| serde_json::json!({"operation": op, "host": host, "count": n}))
            .collect::<Vec<_>>()
    };
    Json(serde_json::json!({"verified": list(&log.verified), "wrong_host": list(&log.wrong_host)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_the_service_model() {
        let put = Method::PUT;
        assert_eq!(operation(&put, "/sequencestore/1234567890/upload/1234567890/part"), Some(("UploadReadSetPart", Prefix::Storage)));
        assert_eq!(operation(&Method::POST, "/sequencestore/1/upload/2/complete").unwrap().1, Prefix::Storage);
        assert_eq!(operation(&Method::GET, "/sequencestore/1/readset/2").unwrap(), ("GetReadSet", Prefix::Storage));
        assert_eq!(operation(&Method::GET, "/sequencestore/1/readset/2/metadata").unwrap().1, Prefix::ControlStorage);
        assert_eq!(operation(&Method::POST, "/sequencestore/1/upload").unwrap().1, Prefix::ControlStorage);
        assert_eq!(operation(&Method::DELETE, "/sequencestore/1/upload/2/abort").unwrap().1, Prefix::ControlStorage);
        assert_eq!(operation(&Method::GET, "/tags/arn%3Aaws").unwrap(), ("ListTagsForResource", Prefix::Tags));
        assert_eq!(operation(&Method::GET, "/nothing"), None);
    }

    #[test]
    fn only_aws_names_have_a_prefix() {
        assert_eq!(aws_host_prefix("storage-omics.us-east-1.amazonaws.com").as_deref(), Some("storage-"));
        assert_eq!(aws_host_prefix("Control-Storage-Omics.us-east-1.amazonaws.com:443").as_deref(), Some("control-storage-"));
        assert_eq!(aws_host_prefix("omics.us-east-1.amazonaws.com.").as_deref(), Some(""));
        assert_eq!(aws_host_prefix("127.0.0.1:8081"), None);
        assert_eq!(aws_host_prefix("localhost"), None);
        assert_eq!(aws_host_prefix("s3.us-east-1.amazonaws.com"), None);
        assert_eq!(aws_host_prefix("store.internal:8443"), None);
    }
}
