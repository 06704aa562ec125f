//! Which HealthOmics operations the browser may reach, and how each is checked.
//!
//! A request path under `/omics/` is matched against the read-set operations the library needs;
//! everything else is denied. IDs and query parameters are validated, and the upstream path is
//! rebuilt from the validated pieces only, so nothing the caller sends can reach another path
//! or host.

use axum::http::Method;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::error::ProxyError;

/// The browser-facing prefix in front of the HealthOmics REST paths.
pub const API_PREFIX: &str = "/omics";
/// Largest part HealthOmics accepts (100 MiB).
pub const MAX_PART_BYTES: u64 = 104_857_600;

/// How a request body is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    Empty,
    /// A small JSON body, buffered up to the cap and signed with its SHA-256.
    Json,
    /// A part: streamed with its `Content-Length`, signed as `UNSIGNED-PAYLOAD`.
    Part,
}

/// The HealthOmics operations the proxy forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant is the HealthOmics operation of the same name.
pub enum Operation {
    GetSequenceStore,
    CreateMultipartReadSetUpload,
    UploadReadSetPart,
    CompleteMultipartReadSetUpload,
    AbortMultipartReadSetUpload,
    ListMultipartReadSetUploads,
    ListReadSetUploadParts,
    ListReadSets,
    GetReadSetMetadata,
    GetReadSetImportJob,
    ListReadSetImportJobs,
    StartReadSetImportJob,
    GetReadSetExportJob,
    ListReadSetExportJobs,
    StartReadSetExportJob,
    GetReadSetActivationJob,
    ListReadSetActivationJobs,
    StartReadSetActivationJob,
}

/// The largest `CompleteMultipartReadSetUpload` body the proxy accepts: both sources' 10,000
/// parts (the API's maximum), 256 bytes each, which holds the longest entry the API allows
/// (`checksum` of 100 characters, `partNumber`, `partSource`) with room for escapes and spaces.
/// Only an upload's creator gets this far (its grant is checked before the body is read).
pub const MAX_COMPLETE_JSON_BODY: usize = 2 * 10_000 * 256;

impl Operation {
    /// The endpoint host prefix of the operation on AWS (`storage-` or `control-storage-`).
    pub fn host_prefix(self) -> &'static str {
        match self {
            Self::UploadReadSetPart | Self::CompleteMultipartReadSetUpload => "storage-",
            _ => "control-storage-",
        }
    }

    /// Whether the operation changes anything (these get an audit line).
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Self::CreateMultipartReadSetUpload
                | Self::UploadReadSetPart
                | Self::CompleteMultipartReadSetUpload
                | Self::AbortMultipartReadSetUpload
                | Self::StartReadSetImportJob
                | Self::StartReadSetExportJob
                | Self::StartReadSetActivationJob
        )
    }

    /// How the operation's body is handled.
    pub fn body_kind(self) -> BodyKind {
        match self {
            Self::GetSequenceStore
            | Self::AbortMultipartReadSetUpload
            | Self::GetReadSetMetadata
            | Self::GetReadSetImportJob
            | Self::GetReadSetExportJob
            | Self::GetReadSetActivationJob => BodyKind::Empty,
            Self::UploadReadSetPart => BodyKind::Part,
            _ => BodyKind::Json,
        }
    }

    /// The largest JSON request body the proxy reads for this operation, given the operator's
    /// `--max-json-body` (`configured`). `CompleteMultipartReadSetUpload` lists every part of
    /// the upload, so it may always be as large as [`MAX_COMPLETE_JSON_BODY`]: with the 64 KiB
    /// default alone an upload of more than about 690 parts could never be completed.
    pub fn json_body_cap(self, configured: usize) -> usize {
        match self {
            Self::CompleteMultipartReadSetUpload => configured.max(MAX_COMPLETE_JSON_BODY),
            _ => configured,
        }
    }

    /// Query parameters the operation accepts.
    fn query_params(self) -> &'static [&'static str] {
        match self {
            Self::UploadReadSetPart => &["partNumber", "partSource"],
            Self::ListMultipartReadSetUploads
            | Self::ListReadSetUploadParts
            | Self::ListReadSets
            | Self::ListReadSetImportJobs
            | Self::ListReadSetExportJobs
            | Self::ListReadSetActivationJobs => &["maxResults", "nextToken"],
            _ => &[],
        }
    }
}

/// A request the policy allows, with its upstream path rebuilt from validated parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedRequest {
    /// The operation.
    pub operation: Operation,
    /// The sequence store it acts on.
    pub store_id: String,
    /// The HealthOmics path and query (without the `/omics` prefix), safe to append to a host.
    pub path_and_query: String,
    /// The ID in the path besides the store's, with its name (`uploadId`, `readSetId`, `jobId`).
    pub resource: Option<(&'static str, String)>,
}

impl AllowedRequest {
    /// The upload this request acts on (parts, list parts, complete, abort).
    pub fn upload_id(&self) -> Option<&str> {
        self.resource.as_ref().filter(|(name, _)| *name == "uploadId").map(|(_, id)| id.as_str())
    }
}

/// One segment of a route template.
enum Seg {
    Lit(&'static str),
    /// An ID, checked against `[0-9]+` and length 10..36; the name is used in error messages.
    Id(&'static str),
}

use Seg::{Id, Lit};

/// The routes: method, template (after `/sequencestore/{storeId}`), operation.
const ROUTES: &[(Method, &[Seg], Operation)] = &[
    (Method::GET, &[], Operation::GetSequenceStore),
    (Method::POST, &[Lit("upload")], Operation::CreateMultipartReadSetUpload),
    (Method::PUT, &[Lit("upload"), Id("uploadId"), Lit("part")], Operation::UploadReadSetPart),
    (Method::POST, &[Lit("upload"), Id("uploadId"), Lit("complete")], Operation::CompleteMultipartReadSetUpload),
    (Method::DELETE, &[Lit("upload"), Id("uploadId"), Lit("abort")], Operation::AbortMultipartReadSetUpload),
    (Method::POST, &[Lit("uploads")], Operation::ListMultipartReadSetUploads),
    (Method::POST, &[Lit("upload"), Id("uploadId"), Lit("parts")], Operation::ListReadSetUploadParts),
    (Method::POST, &[Lit("readsets")], Operation::ListReadSets),
    (Method::GET, &[Lit("readset"), Id("readSetId"), Lit("metadata")], Operation::GetReadSetMetadata),
    (Method::GET, &[Lit("importjob"), Id("jobId")], Operation::GetReadSetImportJob),
    (Method::POST, &[Lit("importjobs")], Operation::ListReadSetImportJobs),
    (Method::POST, &[Lit("importjob")], Operation::StartReadSetImportJob),
    (Method::GET, &[Lit("exportjob"), Id("jobId")], Operation::GetReadSetExportJob),
    (Method::POST, &[Lit("exportjobs")], Operation::ListReadSetExportJobs),
    (Method::POST, &[Lit("exportjob")], Operation::StartReadSetExportJob),
    (Method::GET, &[Lit("activationjob"), Id("jobId")], Operation::GetReadSetActivationJob),
    (Method::POST, &[Lit("activationjobs")], Operation::ListReadSetActivationJobs),
    (Method::POST, &[Lit("activationjob")], Operation::StartReadSetActivationJob),
];

/// Characters kept as-is in a query value; everything else is percent-encoded (SigV4's rule).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Matches `method` and the raw request `path` (with its `/omics` prefix) and `query` against
/// the allowed operations.
///
/// Errors: 400 for a malformed path, ID or query; 403 for any operation not in the list.
pub fn classify(method: &Method, path: &str, query: Option<&str>) -> Result<AllowedRequest, ProxyError> {
    let rest = path
        .strip_prefix(API_PREFIX)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(|| ProxyError::AccessDenied(format!("only paths under {API_PREFIX}/ are served")))?;
    // Only letters, digits and single slashes: no `..`, no `%`-escapes, no empty segments, so the
    // path cannot be reinterpreted upstream.
    if let Some(bad) = rest.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '/')) {
        return Err(ProxyError::Validation(format!(
            "the path may contain only letters, digits and `/` (found {bad:?})"
        )));
    }
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(ProxyError::Validation("the path has an empty segment (`//` or a trailing `/`)".into()));
    }
    let denied = || ProxyError::AccessDenied(format!("{method} {API_PREFIX}/{} is not an operation this proxy allows", redact_ids(&segments)));
    let [first, store_id, tail @ ..] = segments.as_slice() else {
        return Err(denied());
    };
    if *first != "sequencestore" {
        return Err(denied());
    }
    let (route, ids) = ROUTES
        .iter()
        .filter(|(m, _, _)| m == method)
        .find_map(|route| match_template(route.1, tail).map(|ids| (route, ids)))
        .ok_or_else(denied)?;
    let operation = route.2;
    check_id("sequenceStoreId", store_id)?;
    for (name, value) in &ids {
        check_id(name, value)?;
    }
    let query = check_query(operation, query)?;
    let mut path_and_query = format!("/{}", segments.join("/"));
    if !query.is_empty() {
        path_and_query.push('?');
        path_and_query.push_str(&query);
    }
    let resource = ids.first().map(|(name, id)| (*name, (*id).to_owned()));
    Ok(AllowedRequest { operation, store_id: (*store_id).to_owned(), path_and_query, resource })
}

/// Path segments for messages, with anything that is not a route literal replaced by `{id}`.
fn redact_ids(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|s| if s.bytes().all(|b| b.is_ascii_lowercase()) && s.len() <= 20 { *s } else { "{id}" })
        .collect::<Vec<_>>()
        .join("/")
}

fn match_template<'a>(template: &[Seg], tail: &[&'a str]) -> Option<Vec<(&'static str, &'a str)>> {
    if template.len() != tail.len() {
        return None;
    }
    let mut ids = Vec::new();
    for (seg, value) in template.iter().zip(tail) {
        match seg {
            Lit(lit) if lit == value => {}
            Lit(_) => return None,
            Id(name) => ids.push((*name, *value)),
        }
    }
    Some(ids)
}

/// HealthOmics IDs: `[0-9]+`, 10 to 36 characters.
fn check_id(name: &str, value: &str) -> Result<(), ProxyError> {
    if (10..=36).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ProxyError::Validation(format!("{name} must be 10 to 36 digits")))
    }
}

/// Validates the query parameters of `operation` and returns them re-encoded.
fn check_query(operation: Operation, query: Option<&str>) -> Result<String, ProxyError> {
    let allowed = operation.query_params();
    let mut seen: Vec<(&'static str, String)> = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(raw_key)?;
        let Some(&name) = allowed.iter().find(|a| **a == key) else {
            return Err(ProxyError::Validation(if allowed.is_empty() {
                "this operation takes no query parameters".into()
            } else {
                format!("unknown query parameter; allowed: {}", allowed.join(", "))
            }));
        };
        if seen.iter().any(|(k, _)| *k == name) {
            return Err(ProxyError::Validation(format!("query parameter {name} is given twice")));
        }
        let value = decode(raw_value)?;
        check_query_value(name, &value)?;
        seen.push((name, value));
    }
    if operation == Operation::UploadReadSetPart {
        for required in ["partNumber", "partSource"] {
            if !seen.iter().any(|(k, _)| *k == required) {
                return Err(ProxyError::Validation(format!("query parameter {required} is required")));
            }
        }
    }
    Ok(seen
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect::<Vec<_>>()
        .join("&"))
}

fn decode(raw: &str) -> Result<String, ProxyError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ProxyError::Validation("a query parameter is not valid UTF-8".into()))
}

fn check_query_value(name: &str, value: &str) -> Result<(), ProxyError> {
    let ok = match name {
        "partNumber" => value.parse::<u32>().is_ok_and(|n| (1..=10_000).contains(&n)) && !value.starts_with('0'),
        "partSource" => value == "SOURCE1" || value == "SOURCE2",
        "maxResults" => value.len() <= 4 && value.parse::<u32>().is_ok_and(|n| n >= 1) && !value.starts_with('0'),
        "nextToken" => (1..=6144).contains(&value.chars().count()) && !value.chars().any(char::is_control),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(ProxyError::Validation(match name {
        "partNumber" => "partNumber must be an integer from 1 to 10000".into(),
        "partSource" => "partSource must be SOURCE1 or SOURCE2".into(),
        "maxResults" => "maxResults must be a positive integer".into(),
        "nextToken" => "nextToken must be 1 to 6144 printable characters".into(),
        _ => format!("bad value for {name}"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_upload_maps_to_storage_prefix_and_keeps_query() {
        let r = classify(&Method::PUT, "/omics/sequencestore/1234567890/upload/9876543210/part", Some("partNumber=3&partSource=SOURCE2")).unwrap();
        assert_eq!(r.operation, Operation::UploadReadSetPart);
        assert_eq!(r.operation.host_prefix(), "storage-");
        assert_eq!(r.store_id, "1234567890");
        assert_eq!(r.path_and_query, "/sequencestore/1234567890/upload/9876543210/part?partNumber=3&partSource=SOURCE2");
        assert_eq!(r.upload_id(), Some("9876543210"));
    }

    #[test]
    fn next_token_is_reencoded_strictly() {
        let r = classify(&Method::POST, "/omics/sequencestore/1234567890/readsets", Some("nextToken=a%2Bb%2F%3D&maxResults=5")).unwrap();
        assert_eq!(r.operation.host_prefix(), "control-storage-");
        assert_eq!(r.path_and_query, "/sequencestore/1234567890/readsets?nextToken=a%2Bb%2F%3D&maxResults=5");
    }

    #[test]
    fn every_route_has_the_documented_prefix() {
        let storage: Vec<_> = ROUTES.iter().map(|r| r.2).filter(|o| o.host_prefix() == "storage-").collect();
        assert_eq!(storage, vec![Operation::UploadReadSetPart, Operation::CompleteMultipartReadSetUpload]);
    }

    #[test]
    fn denied_and_malformed_requests() {
        let cases: &[(Method, &str, Option<&str>, u16)] = &[
            (Method::DELETE, "/omics/sequencestore/1234567890", None, 403),
            (Method::GET, "/omics/sequencestore/1234567890/readset/1234567890", None, 403),
            (Method::POST, "/omics/sequencestore/1234567890/readset/batch/delete", None, 403),
            (Method::GET, "/omics/tags/arn", None, 403),
            (Method::GET, "/omics/sequencestore/12345/readset/1234567890/metadata", None, 400),
            (Method::GET, "/omics/sequencestore/../1234567890", None, 400),
            (Method::GET, "/omics/sequencestore/%2e%2e/1234567890", None, 400),
            (Method::GET, "/omics/sequencestore//1234567890", None, 400),
            (Method::PUT, "/omics/sequencestore/1234567890/upload/1234567890/part", Some("partNumber=0&partSource=SOURCE1"), 400),
            (Method::PUT, "/omics/sequencestore/1234567890/upload/1234567890/part", Some("partNumber=1"), 400),
            (Method::PUT, "/omics/sequencestore/1234567890/upload/1234567890/part", Some("partNumber=1&partSource=SOURCE1&x=1"), 400),
            (Method::PUT, "/omics/sequencestore/1234567890/upload/1234567890/part", Some("partNumber=1&partNumber=2&partSource=SOURCE1"), 400),
            (Method::GET, "/omics/sequencestore/1234567890", Some("x-id=1"), 400),
        ];
        for (method, path, query, status) in cases {
            let err = classify(method, path, *query).expect_err(path);
            assert_eq!(err.status().as_u16(), *status, "{method} {path} {query:?}: {err}");
        }
    }
}
