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
    /// One part (up to 100 MiB) of a read set's file, as it was uploaded: patient data leaving
    /// the store, so it is granted only by name (see [`crate::proxy::access`]).
    GetReadSet,
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
            Self::UploadReadSetPart | Self::CompleteMultipartReadSetUpload | Self::GetReadSet => "storage-",
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

    /// Whether each call gets an audit line: the mutating operations, and [`Self::GetReadSet`]
    /// (every part of patient data that leaves the store is recorded: who, which read set).
    pub fn is_audited(self) -> bool {
        self.is_mutating() || self == Self::GetReadSet
    }

    /// How the operation's body is handled.
    pub fn body_kind(self) -> BodyKind {
        match self {
            Self::GetSequenceStore
            | Self::AbortMultipartReadSetUpload
            | Self::GetReadSetMetadata
            | Self::GetReadSet
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
            Self::GetReadSet => &["file", "partNumber"],
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
    (Method::GET, &[Lit("readset"), Id("readSetId")], Operation::GetReadSet),
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
    // GetReadSet's `file` is optional in the API (the store picks SOURCE1); `partNumber` is not.
    let required: &[&str] = match operation {
        Operation::UploadReadSetPart => &["partNumber", "partSource"],
        Operation::GetReadSet => &["partNumber"],
        _ => &[],
    };
    for required in required {
        if !seen.iter().any(|(k, _)| k == required) {
            return Err(ProxyError::Validation(format!("query parameter {required} is required")));
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

/// Whether `value` is a decimal integer in `range` written canonically: digits only (no sign,
/// no spaces), no leading zero. (`str::parse` alone would take `+1`.)
fn canonical_integer(value: &str, range: std::ops::RangeInclusive<u32>) -> bool {
    !value.is_empty()
        && value.len() <= 5
        && value.bytes().all(|b| b.is_ascii_digit())
        && !value.starts_with('0')
        && value.parse::<u32>().is_ok_and(|n| range.contains(&n))
}

fn check_query_value(name: &str, value: &str) -> Result<(), ProxyError> {
    let ok = match name {
        "partNumber" => canonical_integer(value, 1..=10_000),
        "partSource" => value == "SOURCE1" || value == "SOURCE2",
        "file" => matches!(value, "SOURCE1" | "SOURCE2" | "INDEX"),
        "maxResults" => value.len() <= 4 && canonical_integer(value, 1..=9999),
        "nextToken" => (1..=6144).contains(&value.chars().count()) && !value.chars().any(char::is_control),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(ProxyError::Validation(match name {
        "partNumber" => "partNumber must be an integer from 1 to 10000, in digits without sign or leading zeros".into(),
        "partSource" => "partSource must be SOURCE1 or SOURCE2".into(),
        "file" => "file must be SOURCE1, SOURCE2 or INDEX".into(),
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
        assert_eq!(storage, vec![Operation::UploadReadSetPart, Operation::CompleteMultipartReadSetUpload, Operation::GetReadSet]);
    }

    #[test]
    fn denied_and_malformed_requests() {
        let cases: &[(Method, &str, Option<&str>, u16)] = &[
            (Method::DELETE, "/omics/sequencestore/1234567890", None, 403),
            (Method::PUT, "/omics/sequencestore/1234567890/readset/1234567890", Some("partNumber=1"), 403),
            (Method::GET, "/omics/sequencestore/1234567890/readset/1234567890/part", Some("partNumber=1"), 403),
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
            (Method::PUT, "/omics/sequencestore/1234567890/upload/1234567890/part", Some("partNumber=%2B1&partSource=SOURCE1"), 400),
            (Method::POST, "/omics/sequencestore/1234567890/readsets", Some("maxResults=+5"), 400),
        ];
        for (method, path, query, status) in cases {
            let err = classify(method, path, *query).expect_err(path);
            assert_eq!(err.status().as_u16(), *status, "{method} {path} {query:?}: {err}");
        }
    }

    const READ_SET: &str = "/omics/sequencestore/1234567890/readset/9876543210";

    #[test]
    fn get_read_set_maps_to_storage_prefix_with_its_two_parameters() {
        let r = classify(&Method::GET, READ_SET, Some("file=INDEX&partNumber=10000")).unwrap();
        assert_eq!(r.operation, Operation::GetReadSet);
        assert_eq!(r.operation.host_prefix(), "storage-");
        assert_eq!(r.operation.body_kind(), BodyKind::Empty);
        assert!(r.operation.is_audited() && !r.operation.is_mutating());
        assert_eq!(r.store_id, "1234567890");
        assert_eq!(r.resource, Some(("readSetId", "9876543210".to_owned())));
        assert_eq!(r.upload_id(), None);
        assert_eq!(r.path_and_query, "/sequencestore/1234567890/readset/9876543210?file=INDEX&partNumber=10000");
        // Parameters are forwarded in the order given, re-encoded; `file` is optional (the
        // API's default, SOURCE1, is the store's to apply).
        let r = classify(&Method::GET, READ_SET, Some("partNumber=2&file=SOURCE2")).unwrap();
        assert_eq!(r.path_and_query, "/sequencestore/1234567890/readset/9876543210?partNumber=2&file=SOURCE2");
        let r = classify(&Method::GET, READ_SET, Some("partNumber=1")).unwrap();
        assert_eq!(r.path_and_query, "/sequencestore/1234567890/readset/9876543210?partNumber=1");
        // Percent-encoded names and values are decoded, checked, and sent in one canonical form.
        let r = classify(&Method::GET, READ_SET, Some("%66ile=SOURCE%31&partNumber=%33")).unwrap();
        assert_eq!(r.path_and_query, "/sequencestore/1234567890/readset/9876543210?file=SOURCE1&partNumber=3");
    }

    #[test]
    fn get_read_set_refuses_every_other_parameter_shape_with_a_precise_message() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            (READ_SET, Some("file=SOURCE3&partNumber=1"), "file must be SOURCE1, SOURCE2 or INDEX"),
            (READ_SET, Some("file=source1&partNumber=1"), "file must be SOURCE1, SOURCE2 or INDEX"),
            (READ_SET, Some("file=&partNumber=1"), "file must be SOURCE1, SOURCE2 or INDEX"),
            (READ_SET, Some("file=SOURCE1&file=SOURCE2&partNumber=1"), "query parameter file is given twice"),
            (READ_SET, Some("partNumber=0"), "partNumber must be an integer from 1 to 10000"),
            (READ_SET, Some("partNumber=01"), "partNumber must be an integer from 1 to 10000"),
            (READ_SET, Some("partNumber=+1"), "partNumber must be an integer from 1 to 10000"),
            (READ_SET, Some("partNumber=-1"), "partNumber must be an integer from 1 to 10000"),
            (READ_SET, Some("partNumber=10001"), "partNumber must be an integer from 1 to 10000"),
            (READ_SET, Some("partNumber=1.0"), "partNumber must be an integer from 1 to 10000"),
            (READ_SET, Some("partNumber=%201"), "partNumber must be an integer from 1 to 10000"),
            (READ_SET, Some("partNumber=4294967297"), "partNumber must be an integer from 1 to 10000"),
            (READ_SET, Some("partNumber"), "partNumber must be an integer from 1 to 10000"),
            (READ_SET, Some("partNumber=1&partNumber=2"), "query parameter partNumber is given twice"),
            (READ_SET, Some("partNumber=1&partNumber=1"), "query parameter partNumber is given twice"),
            (READ_SET, Some("file=SOURCE1&partNumber=1&x-id=GetObject"), "unknown query parameter; allowed: file, partNumber"),
            (READ_SET, Some("partSource=SOURCE1&partNumber=1"), "unknown query parameter; allowed: file, partNumber"),
            (READ_SET, Some("PartNumber=1"), "unknown query parameter; allowed: file, partNumber"),
            (READ_SET, Some("file=SOURCE1"), "query parameter partNumber is required"),
            (READ_SET, None, "query parameter partNumber is required"),
            (READ_SET, Some("&&"), "query parameter partNumber is required"),
            (READ_SET, Some("partNumber=%FF"), "not valid UTF-8"),
            ("/omics/sequencestore/1234567890/readset/98765", Some("partNumber=1"), "readSetId must be 10 to 36 digits"),
            ("/omics/sequencestore/1234567890/readset/9876543210987654321098765432109876543", Some("partNumber=1"), "readSetId must be 10 to 36 digits"),
            ("/omics/sequencestore/1234567890/readset/batch", Some("partNumber=1"), "readSetId must be 10 to 36 digits"),
            ("/omics/sequencestore/1234567890/readset/9876543210x", Some("partNumber=1"), "readSetId must be 10 to 36 digits"),
            ("/omics/sequencestore/123/readset/9876543210", Some("partNumber=1"), "sequenceStoreId must be 10 to 36 digits"),
            ("/omics/sequencestore/1234567890/readset/9876543210/", Some("partNumber=1"), "empty segment"),
            ("/omics/sequencestore/1234567890/readset/98765%2E43210", Some("partNumber=1"), "only letters, digits and `/`"),
        ];
        for (path, query, message) in cases {
            let err = classify(&Method::GET, path, *query).expect_err(path);
            assert_eq!(err.status().as_u16(), 400, "{path} {query:?}: {err}");
            assert!(err.message().contains(message), "{path} {query:?}: {:?} lacks {message:?}", err.message());
        }
        // Another method on the read set's path is no operation at all.
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::HEAD] {
            let err = classify(&method, READ_SET, Some("partNumber=1")).expect_err("denied");
            assert_eq!(err.status().as_u16(), 403, "{method}");
        }
    }
}
