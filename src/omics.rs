//! HealthOmics storage requests and responses as plain data.
//!
//! A [`Request`] is what to send (operation name, method, path, query, JSON body); the boundary
//! module turns it into an HTTP call against `{endpoint}` (the proxy's `/omics` prefix, or any
//! HealthOmics-compatible endpoint). Responses are parsed into the few typed structs the upload
//! engine needs; listing responses are handed to JS unchanged (they are already camelCase JSON).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::plan::Source;

/// HTTP methods used by the storage API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// One HealthOmics call, without the endpoint and credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The operation name, used in errors (e.g. `CreateMultipartReadSetUpload`).
    pub operation: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Path below the endpoint, starting with `/`; segments already percent-encoded.
    pub path: String,
    /// Query parameters, unencoded.
    pub query: Vec<(&'static str, String)>,
    /// JSON body, if any (part uploads carry a binary body added by the transport instead).
    pub body: Option<Value>,
    /// The upload this call acts on (parts, list parts, complete, abort): the transport sends
    /// the upload's grant with it (see [`UPLOAD_GRANT_HEADER`]).
    pub upload_id: Option<String>,
}

/// Request header carrying an upload's grant: the signing proxy hands one out for each upload
/// its caller creates (`uploadGrant` in the CreateMultipartReadSetUpload and
/// ListMultipartReadSetUploads answers) and requires it on every call on that upload, so only
/// the user who created an upload can send its parts, list them, complete it or abort it.
/// A HealthOmics endpoint without the proxy ignores it.
pub const UPLOAD_GRANT_HEADER: &str = "x-readset-upload-grant";

/// The `(uploadId, uploadGrant)` pairs in a CreateMultipartReadSetUpload answer (one) or a
/// ListMultipartReadSetUploads answer (one per listed upload the proxy granted). Answers from
/// an endpoint without the proxy carry none; malformed bodies give none.
pub fn upload_grants(body: &str) -> Vec<(String, String)> {
    let Ok(v) = crate::json::from_str::<Value>(body) else { return Vec::new() };
    let pair = |item: &Value| match (item.get("uploadId").and_then(Value::as_str), item.get("uploadGrant").and_then(Value::as_str)) {
        (Some(id), Some(grant)) if !grant.is_empty() => Some((id.to_owned(), grant.to_owned())),
        _ => None,
    };
    match v.get("uploads").and_then(Value::as_array) {
        Some(items) => items.iter().filter_map(pair).collect(),
        None => pair(&v).into_iter().collect(),
    }
}

impl Request {
    fn new(operation: &'static str, method: Method, path: String) -> Self {
        Request { operation, method, path, query: Vec::new(), body: None, upload_id: None }
    }

    fn on_upload(mut self, upload_id: &str) -> Self {
        self.upload_id = Some(upload_id.to_owned());
        self
    }

    fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn with_page(mut self, page: &Page) -> Self {
        if let Some(n) = page.max_results {
            self.query.push(("maxResults", n.to_string()));
        }
        if let Some(t) = &page.next_token {
            self.query.push(("nextToken", t.clone()));
        }
        self
    }

    /// The full URL under `endpoint` (a trailing `/` on the endpoint is ignored).
    pub fn url(&self, endpoint: &str) -> String {
        let mut url = format!("{}{}", endpoint.trim_end_matches('/'), self.path);
        for (i, (k, v)) in self.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(&encode(v));
        }
        url
    }

    /// The JSON body as text, if any.
    pub fn body_text(&self) -> Option<String> {
        self.body.as_ref().map(Value::to_string)
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Pagination of a listing call.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Page {
    /// Items per page (1..=100 for HealthOmics).
    pub max_results: Option<u32>,
    /// The `nextToken` of the previous page.
    pub next_token: Option<String>,
}

/// Body of `CreateMultipartReadSetUpload` (the read set metadata).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUpload {
    /// `FASTQ`, `BAM`, `CRAM` or `UBAM`.
    pub source_file_type: String,
    /// Read set name.
    pub name: String,
    /// Subject ID.
    pub subject_id: String,
    /// Sample ID.
    pub sample_id: String,
    /// Reference ARN (required for BAM and CRAM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_arn: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the data came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_from: Option<String>,
    /// Tags of the read set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Idempotency token: the same token creates the upload once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

/// One entry of the `CompleteMultipartReadSetUpload` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletePart {
    /// The part's source.
    pub part_source: Source,
    /// The part number.
    pub part_number: u32,
    /// The checksum the service returned for the part, unchanged.
    pub checksum: String,
}

fn store_path(store: &str) -> String {
    format!("/sequencestore/{}", encode(store))
}

fn upload_path(store: &str, upload_id: &str) -> String {
    format!("{}/upload/{}", store_path(store), encode(upload_id))
}

/// `CreateMultipartReadSetUpload`.
pub fn create_upload(store: &str, body: &CreateUpload) -> Request {
    let body = serde_json::to_value(body).expect("plain struct serializes");
    Request::new("CreateMultipartReadSetUpload", Method::Post, format!("{}/upload", store_path(store))).with_body(body)
}

/// `UploadReadSetPart` (the transport adds the part bytes as the body).
pub fn upload_part(store: &str, upload_id: &str, source: Source, number: u32) -> Request {
    let mut r = Request::new("UploadReadSetPart", Method::Put, format!("{}/part", upload_path(store, upload_id))).on_upload(upload_id);
    r.query.push(("partNumber", number.to_string()));
    r.query.push(("partSource", source.as_str().to_string()));
    r
}

/// `CompleteMultipartReadSetUpload` with `parts` (see [`crate::complete::assemble`]).
pub fn complete_upload(store: &str, upload_id: &str, parts: &[CompletePart]) -> Request {
    Request::new("CompleteMultipartReadSetUpload", Method::Post, format!("{}/complete", upload_path(store, upload_id)))
        .on_upload(upload_id)
        .with_body(serde_json::json!({ "parts": parts }))
}

/// `AbortMultipartReadSetUpload`.
pub fn abort_upload(store: &str, upload_id: &str) -> Request {
    Request::new("AbortMultipartReadSetUpload", Method::Delete, format!("{}/abort", upload_path(store, upload_id))).on_upload(upload_id)
}

/// `ListMultipartReadSetUploads` (in-progress uploads).
pub fn list_uploads(store: &str, page: &Page) -> Request {
    Request::new("ListMultipartReadSetUploads", Method::Post, format!("{}/uploads", store_path(store))).with_page(page)
}

/// `ListReadSetUploadParts` for one source; `filter` is `{createdAfter?, createdBefore?}`.
pub fn list_upload_parts(store: &str, upload_id: &str, source: Source, filter: Option<Value>, page: &Page) -> Request {
    let mut body = serde_json::json!({ "partSource": source });
    if let Some(f) = filter {
        body["filter"] = f;
    }
    Request::new("ListReadSetUploadParts", Method::Post, format!("{}/parts", upload_path(store, upload_id)))
        .on_upload(upload_id)
        .with_page(page)
        .with_body(body)
}

/// `ListReadSets`; `filter` is a HealthOmics `ReadSetFilter` object.
pub fn list_read_sets(store: &str, filter: Option<Value>, page: &Page) -> Request {
    Request::new("ListReadSets", Method::Post, format!("{}/readsets", store_path(store)))
        .with_page(page)
        .with_body(filter_body(filter))
}

/// `GetReadSetMetadata`.
pub fn get_read_set_metadata(store: &str, read_set_id: &str) -> Request {
    Request::new("GetReadSetMetadata", Method::Get, format!("{}/readset/{}/metadata", store_path(store), encode(read_set_id)))
}

/// `GetSequenceStore`.
pub fn get_sequence_store(store: &str) -> Request {
    Request::new("GetSequenceStore", Method::Get, store_path(store))
}

/// The three kinds of read set jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Import from S3 (`importjobs`).
    Import,
    /// Export to S3 (`exportjobs`).
    Export,
    /// Activation of archived read sets (`activationjobs`).
    Activation,
}

impl JobKind {
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            JobKind::Import => ("ListReadSetImportJobs", "GetReadSetImportJob", "import"),
            JobKind::Export => ("ListReadSetExportJobs", "GetReadSetExportJob", "export"),
            JobKind::Activation => ("ListReadSetActivationJobs", "GetReadSetActivationJob", "activation"),
        }
    }
}

/// `ListReadSet{Import,Export,Activation}Jobs`; `filter` is `{createdAfter?, createdBefore?, status?}`.
pub fn list_jobs(store: &str, kind: JobKind, filter: Option<Value>, page: &Page) -> Request {
    let (op, _, seg) = kind.names();
    Request::new(op, Method::Post, format!("{}/{seg}jobs", store_path(store)))
        .with_page(page)
        .with_body(filter_body(filter))
}

/// `GetReadSet{Import,Export,Activation}Job`.
pub fn get_job(store: &str, kind: JobKind, job_id: &str) -> Request {
    let (_, op, seg) = kind.names();
    Request::new(op, Method::Get, format!("{}/{seg}job/{}", store_path(store), encode(job_id)))
}

/// A job's status once it will not change any more: [`JobState::Succeeded`] for `COMPLETED`
/// and `COMPLETED_WITH_FAILURES` (the job's per-source statuses tell which failed),
/// [`JobState::Failed`] for `FAILED` and `CANCELLED`, [`JobState::Running`] for anything else
/// (`SUBMITTED`, `IN_PROGRESS`, `CANCELLING`, and any status this library does not know yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Still moving: poll again.
    Running,
    /// Done; some sources may have failed (`COMPLETED_WITH_FAILURES`).
    Succeeded,
    /// Failed or cancelled.
    Failed,
}

impl JobState {
    /// The state of a job whose `status` field reads `status`.
    pub fn of(status: &str) -> Self {
        match status {
            "COMPLETED" | "COMPLETED_WITH_FAILURES" => JobState::Succeeded,
            "FAILED" | "CANCELLED" => JobState::Failed,
            _ => JobState::Running,
        }
    }
}

impl JobKind {
    /// The kind named `name` (`"import"`, `"export"`, `"activation"`), as JS passes it.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "import" => Some(JobKind::Import),
            "export" => Some(JobKind::Export),
            "activation" => Some(JobKind::Activation),
            _ => None,
        }
    }

    /// `"import"`, `"export"` or `"activation"`.
    pub fn name(self) -> &'static str {
        self.names().2
    }

    /// The key of a listing answer's job array (`importJobs`, ...).
    pub fn list_key(self) -> &'static str {
        match self {
            JobKind::Import => "importJobs",
            JobKind::Export => "exportJobs",
            JobKind::Activation => "activationJobs",
        }
    }
}

/// `{readSetId}` entries of an export or activation job's `sources`.
fn read_set_sources(read_set_ids: &[String]) -> Value {
    Value::Array(read_set_ids.iter().map(|id| serde_json::json!({ "readSetId": id })).collect())
}

fn with_optional(mut body: Value, key: &str, value: Option<&str>) -> Value {
    if let Some(v) = value {
        body[key] = Value::String(v.to_owned());
    }
    body
}

/// `StartReadSetExportJob`: copies `read_set_ids` to `destination` (`s3://bucket/prefix/`).
/// `role_arn` may be left out: the signing proxy fills in the one its operator configured (and
/// refuses any other, and any destination outside its configured prefixes).
pub fn start_export_job(store: &str, read_set_ids: &[String], destination: &str, role_arn: Option<&str>, client_token: Option<&str>) -> Request {
    let body = serde_json::json!({ "destination": destination, "sources": read_set_sources(read_set_ids) });
    let body = with_optional(with_optional(body, "roleArn", role_arn), "clientToken", client_token);
    Request::new("StartReadSetExportJob", Method::Post, format!("{}/exportjob", store_path(store))).with_body(body)
}

/// `StartReadSetActivationJob`: makes archived read sets `ACTIVE` again.
pub fn start_activation_job(store: &str, read_set_ids: &[String], client_token: Option<&str>) -> Request {
    let body = with_optional(serde_json::json!({ "sources": read_set_sources(read_set_ids) }), "clientToken", client_token);
    Request::new("StartReadSetActivationJob", Method::Post, format!("{}/activationjob", store_path(store))).with_body(body)
}

/// `StartReadSetImportJob` with `sources` (HealthOmics `StartReadSetImportJobSourceItem`
/// objects, checked by [`check_import_sources`]); `role_arn` as for [`start_export_job`].
pub fn start_import_job(store: &str, sources: Value, role_arn: Option<&str>, client_token: Option<&str>) -> Request {
    let body = with_optional(with_optional(serde_json::json!({ "sources": sources }), "roleArn", role_arn), "clientToken", client_token);
    Request::new("StartReadSetImportJob", Method::Post, format!("{}/importjob", store_path(store))).with_body(body)
}

/// Fields of an import source item (`StartReadSetImportJobSourceItem`).
const IMPORT_SOURCE_KEYS: &[&str] =
    &["sourceFiles", "sourceFileType", "subjectId", "sampleId", "referenceArn", "name", "description", "generatedFrom", "tags"];

/// Checks the `sources` of an import job before any call: 1 to 100 items, each with
/// `sourceFiles.source1` (and optionally `source2`) as `s3://` URIs, a known `sourceFileType`,
/// `subjectId` and `sampleId`, a `referenceArn` for BAM and CRAM, and no unknown field.
pub fn check_import_sources(sources: &Value) -> Result<(), Error> {
    let bad = |i: usize, what: String| Error::invalid_input(format!("import `sources[{i}]`: {what}"));
    let items = sources.as_array().ok_or_else(|| Error::invalid_input("import `sources` must be an array of source items"))?;
    if items.is_empty() || items.len() > 100 {
        return Err(Error::invalid_input(format!("import `sources` must hold 1 to 100 items (got {})", items.len())));
    }
    for (i, item) in items.iter().enumerate() {
        let obj = item.as_object().ok_or_else(|| bad(i, "must be an object".into()))?;
        if let Some(k) = obj.keys().find(|k| !IMPORT_SOURCE_KEYS.contains(&k.as_str())) {
            return Err(bad(i, format!("unknown field `{k}`; expected one of: {}", IMPORT_SOURCE_KEYS.join(", "))));
        }
        let text = |key: &str| obj.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
        let file_type = text("sourceFileType").ok_or_else(|| bad(i, "`sourceFileType` is required (FASTQ, BAM, CRAM or UBAM)".into()))?;
        if !matches!(file_type, "FASTQ" | "BAM" | "CRAM" | "UBAM") {
            return Err(bad(i, format!("`sourceFileType` must be FASTQ, BAM, CRAM or UBAM (got {file_type:?})")));
        }
        for key in ["subjectId", "sampleId"] {
            if text(key).is_none() {
                return Err(bad(i, format!("`{key}` is required")));
            }
        }
        if matches!(file_type, "BAM" | "CRAM") && text("referenceArn").is_none() {
            return Err(bad(i, format!("`referenceArn` is required for {file_type}")));
        }
        let files = obj.get("sourceFiles").and_then(Value::as_object).ok_or_else(|| bad(i, "`sourceFiles` must be {source1, source2?}".into()))?;
        if let Some(k) = files.keys().find(|k| !matches!(k.as_str(), "source1" | "source2")) {
            return Err(bad(i, format!("unknown field `sourceFiles.{k}`; expected source1, source2")));
        }
        for (key, required) in [("source1", true), ("source2", false)] {
            match files.get(key) {
                None if !required => {}
                Some(Value::String(uri)) if uri.starts_with("s3://") && uri.len() > 5 => {}
                other => return Err(bad(i, format!("`sourceFiles.{key}` must be an s3:// URI (got {})", other.map_or("nothing".into(), Value::to_string)))),
            }
        }
    }
    Ok(())
}

/// `GetReadSet`: the bytes of part `part_number` (1-based; 100 MiB parts) of a read set's
/// `file` (`SOURCE1`, `SOURCE2` or `INDEX`), on the `storage-` host like part uploads.
pub fn get_read_set(store: &str, read_set_id: &str, file: &str, part_number: u32) -> Request {
    let mut r = Request::new("GetReadSet", Method::Get, format!("{}/readset/{}", store_path(store), encode(read_set_id)));
    r.query.push(("file", file.to_owned()));
    r.query.push(("partNumber", part_number.to_string()));
    r
}

fn filter_body(filter: Option<Value>) -> Value {
    match filter {
        Some(f) => serde_json::json!({ "filter": f }),
        None => serde_json::json!({}),
    }
}

/// Response of `CreateMultipartReadSetUpload` (the fields the engine uses).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUploadResponse {
    /// The new upload's ID.
    pub upload_id: String,
}

/// Response of `UploadReadSetPart`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UploadPartResponse {
    /// Opaque identifier of the stored part, sent back unchanged on completion.
    pub checksum: String,
}

/// Response of `CompleteMultipartReadSetUpload`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompleteResponse {
    /// The read set created by the upload.
    pub read_set_id: String,
}

/// A read set's semantic hashes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ReadSetEtag {
    /// e.g. `FASTQ_MD5up`.
    pub algorithm: Option<String>,
    /// ETag of source 1.
    pub source1: Option<String>,
    /// ETag of source 2.
    pub source2: Option<String>,
}

/// Response of `GetReadSetMetadata` (the fields the engine uses).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadSetMetadata {
    /// Read set ID.
    pub id: String,
    /// `PROCESSING_UPLOAD`, `ACTIVE`, `UPLOAD_FAILED`, ...
    pub status: String,
    /// Why the status is what it is (set for `UPLOAD_FAILED`).
    pub status_message: Option<String>,
    /// The read set's ETags, once computed.
    pub etag: Option<ReadSetEtag>,
}

/// Response of `GetSequenceStore` (the fields the engine uses).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SequenceStore {
    /// Store ID.
    pub id: String,
    /// `MD5up` (the default when absent), `SHA256up` or `SHA512up`.
    #[serde(rename = "eTagAlgorithmFamily")]
    pub etag_algorithm_family: Option<String>,
}

/// One part listed by `ListReadSetUploadParts`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedPart {
    /// Part number.
    pub part_number: u32,
    /// Part source.
    pub part_source: Source,
    /// The checksum the service holds for it.
    pub checksum: String,
    /// Part size in bytes.
    pub part_size: Option<u64>,
}

/// Response of `ListReadSetUploadParts`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPartsResponse {
    /// This page's parts.
    #[serde(default)]
    pub parts: Vec<ListedPart>,
    /// Token for the next page; absent on the last page.
    pub next_token: Option<String>,
}

/// Parses a 2xx response body of `operation`; an unreadable body is a `protocol` error.
pub fn parse<T: DeserializeOwned>(operation: &'static str, body: &str) -> Result<T, Error> {
    crate::json::from_str(body).map_err(|e| {
        Error::new(ErrorKind::Protocol, format!("unexpected response body: {e}")).in_operation(operation)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_on_an_upload_name_it_so_its_grant_is_sent() {
        let page = Page::default();
        for r in [
            upload_part("1234567890", "5555555555", Source::Source1, 1),
            complete_upload("1234567890", "5555555555", &[]),
            abort_upload("1234567890", "5555555555"),
            list_upload_parts("1234567890", "5555555555", Source::Source2, None, &page),
        ] {
            assert_eq!(r.upload_id.as_deref(), Some("5555555555"), "{}", r.operation);
        }
        assert_eq!(list_uploads("1234567890", &page).upload_id, None);
    }

    #[test]
    fn upload_grants_are_read_from_create_and_list_answers() {
        assert_eq!(upload_grants(r#"{"uploadId":"1111111111","uploadGrant":"g1","tags":{}}"#), vec![("1111111111".into(), "g1".into())]);
        let list = r#"{"uploads":[{"uploadId":"1111111111","uploadGrant":"g1"},{"uploadId":"2222222222"},{"uploadId":"3333333333","uploadGrant":"g3"}],"nextToken":"x"}"#;
        assert_eq!(upload_grants(list), vec![("1111111111".into(), "g1".into()), ("3333333333".into(), "g3".into())]);
        assert!(upload_grants(r#"{"uploadId":"1111111111"}"#).is_empty(), "no proxy, no grant");
        assert!(upload_grants("not json").is_empty());
        assert!(upload_grants(r#"{"uploadId":"1","uploadGrant":""}"#).is_empty());
    }

    #[test]
    fn create_upload_posts_metadata_in_camel_case_without_absent_fields() {
        let r = create_upload(
            "1234567890",
            &CreateUpload {
                source_file_type: "FASTQ".into(),
                name: "run 7".into(),
                subject_id: "subj".into(),
                sample_id: "samp".into(),
                client_token: Some("tok".into()),
                ..Default::default()
            },
        );
        assert_eq!(r.method, Method::Post);
        assert_eq!(r.url("http://h:1/omics/"), "http://h:1/omics/sequencestore/1234567890/upload");
        assert_eq!(
            r.body.unwrap(),
            serde_json::json!({"sourceFileType":"FASTQ","name":"run 7","subjectId":"subj","sampleId":"samp","clientToken":"tok"})
        );
    }

    #[test]
    fn upload_part_puts_with_part_number_and_source_in_the_query() {
        let r = upload_part("1234567890", "9876543210", Source::Source2, 17);
        assert_eq!(r.method, Method::Put);
        assert_eq!(
            r.url("http://h/omics"),
            "http://h/omics/sequencestore/1234567890/upload/9876543210/part?partNumber=17&partSource=SOURCE2"
        );
        assert!(r.body.is_none());
    }

    #[test]
    fn list_parts_sends_source_in_the_body_and_encodes_the_page_token() {
        let page = Page { max_results: Some(100), next_token: Some("a b/c=".into()) };
        let r = list_upload_parts("1234567890", "555", Source::Source1, None, &page);
        assert_eq!(r.url("e"), "e/sequencestore/1234567890/upload/555/parts?maxResults=100&nextToken=a%20b%2Fc%3D");
        assert_eq!(r.body_text().unwrap(), r#"{"partSource":"SOURCE1"}"#);
    }

    #[test]
    fn complete_and_abort_and_metadata_paths_follow_the_reference() {
        let parts = [CompletePart { part_source: Source::Source1, part_number: 1, checksum: "x".into() }];
        let c = complete_upload("1111111111", "2222222222", &parts);
        assert_eq!(c.path, "/sequencestore/1111111111/upload/2222222222/complete");
        assert_eq!(c.body.unwrap(), serde_json::json!({"parts":[{"partSource":"SOURCE1","partNumber":1,"checksum":"x"}]}));
        let a = abort_upload("1111111111", "2222222222");
        assert_eq!((a.method, a.path.as_str()), (Method::Delete, "/sequencestore/1111111111/upload/2222222222/abort"));
        assert_eq!(get_read_set_metadata("1111111111", "3333333333").path, "/sequencestore/1111111111/readset/3333333333/metadata");
        assert_eq!(get_sequence_store("1111111111").path, "/sequencestore/1111111111");
    }

    #[test]
    fn job_listings_use_their_own_paths_and_wrap_the_filter() {
        let r = list_jobs("1111111111", JobKind::Activation, Some(serde_json::json!({"status":"COMPLETED"})), &Page::default());
        assert_eq!(r.operation, "ListReadSetActivationJobs");
        assert_eq!(r.path, "/sequencestore/1111111111/activationjobs");
        assert_eq!(r.body_text().unwrap(), r#"{"filter":{"status":"COMPLETED"}}"#);
        assert_eq!(get_job("1111111111", JobKind::Import, "42").path, "/sequencestore/1111111111/importjob/42");
        assert_eq!(list_read_sets("1", None, &Page::default()).body_text().unwrap(), "{}");
    }

    #[test]
    fn responses_parse_and_garbage_is_a_protocol_error() {
        let m: ReadSetMetadata = parse(
            "GetReadSetMetadata",
            r#"{"id":"1234567890","status":"ACTIVE","etag":{"algorithm":"FASTQ_MD5up","source1":"ab","source2":"cd"},"fileType":"FASTQ"}"#,
        )
        .unwrap();
        assert_eq!(m.status, "ACTIVE");
        assert_eq!(m.etag.unwrap().source2.as_deref(), Some("cd"));
        let s: SequenceStore = parse("GetSequenceStore", r#"{"id":"1","eTagAlgorithmFamily":"SHA512up"}"#).unwrap();
        assert_eq!(s.etag_algorithm_family.as_deref(), Some("SHA512up"));
        let l: ListPartsResponse = parse(
            "ListReadSetUploadParts",
            r#"{"parts":[{"partNumber":2,"partSource":"SOURCE1","checksum":"c","partSize":5}],"nextToken":"t"}"#,
        )
        .unwrap();
        assert_eq!(l.parts[0].part_number, 2);
        let e = parse::<CompleteResponse>("CompleteMultipartReadSetUpload", "<html>").unwrap_err();
        assert_eq!((e.code(), e.operation), ("protocol", Some("CompleteMultipartReadSetUpload")));
    }

    #[test]
    fn job_starts_post_their_bodies_and_leave_the_role_to_the_proxy() {
        let ids = vec!["1111111111".to_string(), "2222222222".to_string()];
        let e = start_export_job("1234567890", &ids, "s3://b/p/", None, Some("t1"));
        assert_eq!((e.operation, e.method, e.path.as_str()), ("StartReadSetExportJob", Method::Post, "/sequencestore/1234567890/exportjob"));
        assert_eq!(e.body.unwrap(), serde_json::json!({"destination":"s3://b/p/","sources":[{"readSetId":"1111111111"},{"readSetId":"2222222222"}],"clientToken":"t1"}));
        let e = start_export_job("1", &ids[..1], "s3://b/p/", Some("arn:aws:iam::1:role/r"), None);
        assert_eq!(e.body.unwrap()["roleArn"], "arn:aws:iam::1:role/r");
        let a = start_activation_job("1", &ids[..1], None);
        assert_eq!((a.operation, a.path.as_str()), ("StartReadSetActivationJob", "/sequencestore/1/activationjob"));
        assert_eq!(a.body.unwrap(), serde_json::json!({"sources":[{"readSetId":"1111111111"}]}));
        let i = start_import_job("1", serde_json::json!([]), None, None);
        assert_eq!((i.operation, i.path.as_str(), i.body_text().unwrap()), ("StartReadSetImportJob", "/sequencestore/1/importjob", r#"{"sources":[]}"#.to_string()));
    }

    #[test]
    fn import_sources_are_checked_before_any_call() {
        let good = serde_json::json!([{"sourceFiles":{"source1":"s3://b/r1.fq.gz","source2":"s3://b/r2.fq.gz"},"sourceFileType":"FASTQ","subjectId":"s","sampleId":"x"}]);
        check_import_sources(&good).unwrap();
        let cases = [
            (serde_json::json!({}), "must be an array"),
            (serde_json::json!([]), "1 to 100 items (got 0)"),
            (serde_json::json!([{"sourceFiles":{"source1":"s3://b/k"},"sourceFileType":"VCF","subjectId":"s","sampleId":"x"}]), "must be FASTQ, BAM, CRAM or UBAM"),
            (serde_json::json!([{"sourceFiles":{"source1":"s3://b/k"},"sourceFileType":"BAM","subjectId":"s","sampleId":"x"}]), "`referenceArn` is required for BAM"),
            (serde_json::json!([{"sourceFiles":{"source1":"https://b/k"},"sourceFileType":"FASTQ","subjectId":"s","sampleId":"x"}]), "`sourceFiles.source1` must be an s3:// URI"),
            (serde_json::json!([{"sourceFiles":{"source1":"s3://b/k"},"sourceFileType":"FASTQ","sampleId":"x"}]), "`subjectId` is required"),
            (serde_json::json!([{"sourceFiles":{"source1":"s3://b/k"},"sourceFileType":"FASTQ","subjectId":"s","sampleId":"x","roleArn":"r"}]), "unknown field `roleArn`"),
        ];
        for (sources, want) in cases {
            let e = check_import_sources(&sources).unwrap_err();
            assert_eq!(e.code(), "invalid_input");
            assert!(e.message.contains(want), "{sources}: {}", e.message);
        }
    }

    #[test]
    fn job_states_follow_the_reference_statuses() {
        for s in ["SUBMITTED", "IN_PROGRESS", "CANCELLING", "SOMETHING_NEW"] {
            assert_eq!(JobState::of(s), JobState::Running, "{s}");
        }
        assert_eq!(JobState::of("COMPLETED"), JobState::Succeeded);
        assert_eq!(JobState::of("COMPLETED_WITH_FAILURES"), JobState::Succeeded);
        assert_eq!(JobState::of("FAILED"), JobState::Failed);
        assert_eq!(JobState::of("CANCELLED"), JobState::Failed);
        assert_eq!(JobKind::parse("export").map(JobKind::list_key), Some("exportJobs"));
        assert_eq!(JobKind::parse("Export"), None);
    }

    #[test]
    fn get_read_set_names_the_file_and_part() {
        let r = get_read_set("1234567890", "5555555555", "SOURCE2", 3);
        assert_eq!(r.url("http://h/omics"), "http://h/omics/sequencestore/1234567890/readset/5555555555?file=SOURCE2&partNumber=3");
        assert_eq!((r.operation, r.method, r.upload_id), ("GetReadSet", Method::Get, None));
    }
}
