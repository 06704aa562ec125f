//! Seven Bridges forwarding: `/sbg/v2/...` to `--sbg-api`, with the `X-SBG-Auth-Token` added
//! here so it never reaches a browser.
//!
//! Callers authenticate like for HealthOmics (`Authorization: Bearer`); a JWT's `projects`
//! claim (or a static token's `projects`) lists the projects they may use (`"*"`: any). Only
//! the upload calls and the files reads an uploader needs are allowed. The project is checked
//! without keeping state: at init from the body (`project`, or the `parent` folder's project
//! as the upstream reports it); for calls on an upload, from the upload's details fetched
//! upstream first; for files, from the file's details. These checks cost one extra API call
//! against the Seven Bridges rate limit for every call on an upload or file.
//!
//! Everything else of the browser's request is dropped (an incoming `X-SBG-Auth-Token`
//! included); the upstream's status, JSON body and `X-RateLimit-*` / `Retry-After` headers are
//! passed back unchanged.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::auth::Principal;
use super::error::ProxyError;
use super::handler::read_capped;
use super::ProxyState;

/// The prefix of the routes this module serves.
pub const PREFIX: &str = "/sbg/v2";
/// Largest upstream answer read to check a project (upload or file details), in bytes.
const MAX_DETAILS_BYTES: usize = 1024 * 1024;
/// Upstream answer headers passed to the browser.
const PASSED_HEADERS: &[&str] = &["content-type", "x-total-matching-query", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"];

/// Where Seven Bridges calls go and the token they carry.
#[derive(Clone)]
pub struct SbgUpstream {
    /// API base such as `http://127.0.0.1:8081/v2` or `https://cavatica-api.sbgenomics.com/v2`,
    /// without trailing `/`.
    pub api: String,
    /// The `X-SBG-Auth-Token` added to every forwarded call.
    pub token: String,
}

impl std::fmt::Debug for SbgUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SbgUpstream").field("api", &self.api).field("token", &"<redacted>").finish()
    }
}

impl SbgUpstream {
    /// Checks `api` (an http(s) URL without query) and `token` (printable, non-empty).
    pub fn new(api: &str, token: &str) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(api).with_context(|| format!("--sbg-api `{api}` is not a URL"))?;
        anyhow::ensure!(matches!(url.scheme(), "http" | "https"), "--sbg-api `{api}` must be http:// or https://");
        anyhow::ensure!(url.query().is_none() && url.fragment().is_none(), "--sbg-api `{api}` must not have a query");
        anyhow::ensure!(url.username().is_empty() && url.password().is_none(), "--sbg-api `{api}` must not hold user info");
        let token = token.trim();
        anyhow::ensure!(!token.is_empty(), "the Seven Bridges token is empty");
        anyhow::ensure!(HeaderValue::from_str(token).is_ok(), "the Seven Bridges token is not printable ASCII");
        Ok(Self { api: api.trim_end_matches('/').to_owned(), token: token.to_owned() })
    }

    /// Reads the token from `path` (surrounding whitespace ignored), refusing a file group or
    /// others can read ([`crate::secrets::read_file`]).
    pub fn from_token_file(api: &str, path: &std::path::Path) -> anyhow::Result<Self> {
        let token = crate::secrets::read_file(path, "Seven Bridges token")?;
        let token = String::from_utf8(token).map_err(|_| anyhow::anyhow!("the Seven Bridges token file {} is not UTF-8", path.display()))?;
        Self::new(api, &token).with_context(|| format!("Seven Bridges token file {}", path.display()))
    }

    /// The token from `file` (`--sbg-token-file`) or else from the environment variable
    /// READSET_SBG_TOKEN; an error when neither or both are given.
    pub fn from_token_file_or_env(api: &str, file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        use crate::secrets::{text_from_file_or_env, ENV_SBG_TOKEN};
        if let Some(path) = file {
            anyhow::ensure!(std::env::var_os(ENV_SBG_TOKEN).is_none(), "give the Seven Bridges token with --sbg-token-file or with {ENV_SBG_TOKEN}, not both");
            return Self::from_token_file(api, path);
        }
        let token = text_from_file_or_env(None, "--sbg-token-file", ENV_SBG_TOKEN, "Seven Bridges token")?
            .ok_or_else(|| anyhow::anyhow!("--sbg-api needs the Seven Bridges token: --sbg-token-file FILE (chmod 600) or {ENV_SBG_TOKEN}"))?;
        Self::new(api, &token).with_context(|| format!("the Seven Bridges token in {ENV_SBG_TOKEN}"))
    }
}

/// Whether `principal` may use `project` (`"*"` in its list allows any).
pub fn project_allowed(principal: &Principal, project: &str) -> bool {
    principal.projects.iter().any(|p| p == "*" || p == project)
}

/// What an allowed call needs checked before it is forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Init: the project comes from the body.
    Init,
    /// A call on this upload: its project comes from the upload's details.
    Upload(String),
    /// A read of this file: its project comes from the file's details.
    File(String),
    /// `GET /files?project=`: the project is in the query.
    Project(String),
}

/// An allowed call: what to check, whether it carries a JSON body, the upstream path + query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// What to check.
    pub scope: Scope,
    /// Whether a JSON body is read and forwarded.
    pub json_body: bool,
    /// Path below the API base, starting with `/`, with the allowed query.
    pub path_and_query: String,
}

fn id_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn project_ok(s: &str) -> bool {
    s.split_once('/').is_some_and(|(o, p)| {
        let part = |x: &str| !x.is_empty() && x.len() <= 128 && x.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        part(o) && part(p)
    })
}

/// The query pairs, refusing any key not in `allowed` and percent-escapes in keys.
fn query_pairs(query: Option<&str>, allowed: &[&str]) -> Result<Vec<(String, String)>, ProxyError> {
    let Some(q) = query.filter(|q| !q.is_empty()) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for (k, v) in reqwest::Url::parse(&format!("http://x/?{q}")).map_err(|_| ProxyError::Validation("malformed query".into()))?.query_pairs() {
        if !allowed.contains(&k.as_ref()) {
            return Err(ProxyError::AccessDenied(format!("the query parameter `{k}` is not allowed here")));
        }
        // A policy reads these values: a repeated key could mean one thing here and another
        // upstream (`?project=allowed&project=other`).
        if out.iter().any(|(seen, _): &(String, String)| seen == k.as_ref()) {
            return Err(ProxyError::Validation(format!("the query parameter `{k}` is given more than once")));
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

fn with_query(path: String, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return path;
    }
    let mut ser = reqwest::Url::parse("http://x/").expect("static URL");
    ser.query_pairs_mut().extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    format!("{path}?{}", ser.query().unwrap_or(""))
}

/// Matches a call under [`PREFIX`] against the allowed upload and files calls.
///
/// One trailing `/` is accepted (the official Seven Bridges client reports parts with
/// `POST .../part/`): it is removed before the call is matched, and the call is forwarded
/// without it, so the path checked is the path forwarded. Errors: 403 for any other call or
/// query parameter, 400 for a malformed ID.
pub fn classify(method: &Method, path: &str, query: Option<&str>) -> Result<Allowed, ProxyError> {
    let rest = path.strip_prefix(PREFIX).and_then(|r| r.strip_prefix('/')).unwrap_or("");
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segments: Vec<&str> = rest.split('/').collect();
    let denied = || ProxyError::AccessDenied(format!("{method} {PREFIX}/... is not a Seven Bridges call this proxy allows (only uploads and file reads)"));
    let bad_id = |what: &str| ProxyError::Validation(format!("the {what} in the path is not a valid ID"));
    let (scope, json_body, allowed_query): (Scope, bool, &[&str]) = match (method, segments.as_slice()) {
        (&Method::POST, ["upload", "multipart"]) => (Scope::Init, true, &["overwrite"]),
        (m, ["upload", "multipart", id, tail @ ..]) => {
            if !id_ok(id) {
                return Err(bad_id("upload ID"));
            }
            let (body, q): (bool, &[&str]) = match (m, tail) {
                (&Method::GET, []) => (false, &["list_parts"]),
                (&Method::POST, []) => (true, &[]),
                (&Method::DELETE, []) => (false, &[]),
                (&Method::POST, ["part"]) => (true, &[]),
                (&Method::GET, ["part", n]) if !n.is_empty() && n.len() <= 5 && n.bytes().all(|b| b.is_ascii_digit()) => (false, &[]),
                (&Method::POST, ["complete"]) => (false, &[]),
                _ => return Err(denied()),
            };
            (Scope::Upload((*id).to_owned()), body, q)
        }
        (&Method::GET, ["files"]) => {
            let pairs = query_pairs(query, &["project", "offset", "limit"])?;
            let project = pairs.iter().find(|(k, _)| k == "project").map(|(_, v)| v.clone()).unwrap_or_default();
            if !project_ok(&project) {
                return Err(ProxyError::Validation("GET /files needs `?project=owner/project`".into()));
            }
            return Ok(Allowed { scope: Scope::Project(project), json_body: false, path_and_query: with_query("/files".into(), &pairs) });
        }
        (&Method::GET, ["files", id, tail @ ..]) if matches!(tail, [] | ["download_info"]) => {
            if !id_ok(id) {
                return Err(bad_id("file ID"));
            }
            (Scope::File((*id).to_owned()), false, &[])
        }
        _ => return Err(denied()),
    };
    let pairs = query_pairs(query, allowed_query)?;
    Ok(Allowed { scope, json_body, path_and_query: with_query(format!("/{rest}"), &pairs) })
}

/// Why a call is not forwarded: the proxy's own refusal, or the upstream's answer to a lookup.
enum Refusal {
    Proxy(ProxyError),
    Upstream(Response),
}

impl From<ProxyError> for Refusal {
    fn from(e: ProxyError) -> Self {
        Self::Proxy(e)
    }
}

/// Handles one browser request under `/sbg/v2/`.
pub(crate) async fn handle(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    match proxy(&state, request).await {
        Ok(response) => response,
        Err(Refusal::Proxy(e)) => e.into_response(),
        Err(Refusal::Upstream(r)) => r,
    }
}

async fn proxy(state: &ProxyState, request: Request) -> Result<Response, Refusal> {
    let Some(upstream) = &state.sbg else {
        return Err(ProxyError::AccessDenied("Seven Bridges forwarding is not configured on this proxy (see --sbg-api)".into()).into());
    };
    let (parts, body) = request.into_parts();
    let principal = state.auth.authenticate(&parts.headers).await?;
    let allowed = classify(&parts.method, parts.uri.path(), parts.uri.query())?;
    state.rate_limiter.check(&principal.owner_id())?;
    let body = if allowed.json_body {
        let bytes = read_capped(body, state.max_json_body).await?;
        if !bytes.is_empty() {
            super::json::check_strict(&bytes)?;
        }
        Some(bytes)
    } else {
        None
    };
    let project = match &allowed.scope {
        Scope::Init => init_project(state, upstream, body.as_deref().unwrap_or_default()).await?,
        Scope::Project(p) => p.clone(),
        Scope::Upload(id) => details_project(state, upstream, &format!("/upload/multipart/{id}"), "upload").await?,
        Scope::File(id) => details_project(state, upstream, &format!("/files/{id}"), "file").await?,
    };
    if !project_allowed(&principal, &project) {
        return Err(ProxyError::AccessDenied(format!("this token does not allow Seven Bridges project {project}")).into());
    }
    tracing::info!(sub = %principal.sub, method = %parts.method, project = %project, "sbg allowed");
    let response = send(state, upstream, parts.method, &allowed.path_and_query, body).await?;
    Ok(relay(response)?)
}

/// The project an init body names, or the project of its `parent` folder.
async fn init_project(state: &ProxyState, upstream: &SbgUpstream, body: &[u8]) -> Result<String, Refusal> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| ProxyError::Validation("init needs a JSON body".into()))?;
    match (v.get("project").and_then(|p| p.as_str()), v.get("parent").and_then(|p| p.as_str())) {
        (Some(p), None) => Ok(p.to_owned()),
        (None, Some(parent)) if id_ok(parent) => details_project(state, upstream, &format!("/files/{parent}"), "parent folder").await,
        (None, Some(_)) => Err(ProxyError::Validation("`parent` is not a valid folder ID".into()).into()),
        _ => Err(ProxyError::Validation("init needs exactly one of `project` and `parent`".into()).into()),
    }
}

/// Reads `path` upstream and returns its `project`; an upstream refusal (404 for an upload
/// that is unknown or finished, 401, 429 ...) is passed back to the browser as it came.
async fn details_project(state: &ProxyState, upstream: &SbgUpstream, path: &str, what: &str) -> Result<String, Refusal> {
    let response = send(state, upstream, Method::GET, path, None).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = read_limited(response).await?;
    if !status.is_success() {
        tracing::info!(status = status.as_u16(), what, "sbg project lookup refused upstream");
        return Err(Refusal::Upstream(passed(status, &headers, bytes)));
    }
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| ProxyError::BadGateway(format!("the {what} details are not JSON")))?;
    v.get("project")
        .and_then(|p| p.as_str())
        .map(str::to_owned)
        .ok_or_else(|| ProxyError::BadGateway(format!("the {what} details name no project")).into())
}

/// An upstream answer already read, rebuilt for the browser.
fn passed(status: StatusCode, headers: &axum::http::HeaderMap, body: Bytes) -> Response {
    let mut response = (status, body).into_response();
    for name in PASSED_HEADERS {
        for value in headers.get_all(*name) {
            response.headers_mut().append(HeaderName::from_static(name), value.clone());
        }
    }
    response
}

async fn read_limited(response: reqwest::Response) -> Result<Bytes, ProxyError> {
    if response.content_length().is_some_and(|l| l > MAX_DETAILS_BYTES as u64) {
        return Err(ProxyError::BadGateway("the upstream answer is too large".into()));
    }
    let bytes = response.bytes().await.map_err(|_| ProxyError::BadGateway("the upstream answer could not be read".into()))?;
    if bytes.len() > MAX_DETAILS_BYTES {
        return Err(ProxyError::BadGateway("the upstream answer is too large".into()));
    }
    Ok(bytes)
}

async fn send(state: &ProxyState, upstream: &SbgUpstream, method: Method, path_and_query: &str, body: Option<Bytes>) -> Result<reqwest::Response, ProxyError> {
    let url = format!("{}{path_and_query}", upstream.api);
    let mut builder = state
        .client
        .request(method, &url)
        .header("x-sbg-auth-token", &upstream.token)
        .header("accept", "application/json")
        .timeout(state.upstream_timeout.max(Duration::from_secs(1)));
    if let Some(b) = body {
        builder = builder.header("content-type", "application/json").body(b);
    }
    builder.send().await.map_err(|e| {
        tracing::warn!(error = %e, "sbg upstream request failed");
        if e.is_timeout() {
            ProxyError::GatewayTimeout("Seven Bridges did not answer in time".into())
        } else {
            ProxyError::BadGateway("Seven Bridges cannot be reached".into())
        }
    })
}

fn relay(upstream: reqwest::Response) -> Result<Response, ProxyError> {
    let mut response = Response::builder().status(upstream.status());
    for name in PASSED_HEADERS {
        for value in upstream.headers().get_all(*name) {
            response = response.header(HeaderName::from_static(name), value.clone());
        }
    }
    response.body(Body::from_stream(upstream.bytes_stream())).map_err(|_| ProxyError::Internal("the proxy could not relay the answer".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(method: Method, path: &str, query: Option<&str>) -> Allowed {
        classify(&method, path, query).unwrap()
    }

    #[test]
    fn upload_and_file_read_calls_are_allowed_with_their_scope() {
        assert_eq!(ok(Method::POST, "/sbg/v2/upload/multipart", Some("overwrite=true")).path_and_query, "/upload/multipart?overwrite=true");
        let d = ok(Method::GET, "/sbg/v2/upload/multipart/abc", Some("list_parts=true"));
        assert_eq!((d.scope, d.path_and_query.as_str()), (Scope::Upload("abc".into()), "/upload/multipart/abc?list_parts=true"));
        assert!(ok(Method::POST, "/sbg/v2/upload/multipart/abc/part", None).json_body);
        assert!(!ok(Method::GET, "/sbg/v2/upload/multipart/abc/part/12", None).json_body);
        assert!(ok(Method::POST, "/sbg/v2/upload/multipart/abc", None).json_body);
        ok(Method::DELETE, "/sbg/v2/upload/multipart/abc", None);
        ok(Method::POST, "/sbg/v2/upload/multipart/abc/complete", None);
        assert_eq!(ok(Method::GET, "/sbg/v2/files/f1/download_info", None).scope, Scope::File("f1".into()));
        assert_eq!(ok(Method::GET, "/sbg/v2/files", Some("project=a%2Fb&limit=5")).scope, Scope::Project("a/b".into()));
    }

    #[test]
    fn a_trailing_slash_is_checked_like_the_path_without_it_and_forwarded_without_it() {
        for (m, p, q) in [
            (Method::POST, "/sbg/v2/upload/multipart", Some("overwrite=true")),
            (Method::GET, "/sbg/v2/upload/multipart/abc", Some("list_parts=true")),
            (Method::POST, "/sbg/v2/upload/multipart/abc", None),
            (Method::DELETE, "/sbg/v2/upload/multipart/abc", None),
            (Method::POST, "/sbg/v2/upload/multipart/abc/part", None),
            (Method::GET, "/sbg/v2/upload/multipart/abc/part/12", None),
            (Method::POST, "/sbg/v2/upload/multipart/abc/complete", None),
            (Method::GET, "/sbg/v2/files", Some("project=a%2Fb")),
            (Method::GET, "/sbg/v2/files/f1", None),
            (Method::GET, "/sbg/v2/files/f1/download_info", None),
        ] {
            assert_eq!(ok(m.clone(), &format!("{p}/"), q), ok(m.clone(), p, q), "{m} {p}/");
            assert!(!ok(m.clone(), &format!("{p}/"), q).path_and_query.contains("/?"), "{m} {p}/");
        }
        // The slash changes nothing that a check looks at: what is refused stays refused.
        for (m, p, q, status) in [
            (Method::GET, "/sbg/v2/user/", None, StatusCode::FORBIDDEN),
            (Method::DELETE, "/sbg/v2/files/f1/", None, StatusCode::FORBIDDEN),
            (Method::GET, "/sbg/v2/upload/multipart/", None, StatusCode::FORBIDDEN),
            (Method::POST, "/sbg/v2/upload/multipart/", Some("fields=all"), StatusCode::FORBIDDEN),
            (Method::GET, "/sbg/v2/upload/multipart/abc/part/1/x/", None, StatusCode::FORBIDDEN),
            (Method::GET, "/sbg/v2/upload/multipart/abc/part/", None, StatusCode::FORBIDDEN),
            (Method::GET, "/sbg/v2/files/", None, StatusCode::BAD_REQUEST),
            (Method::GET, "/sbg/v2/upload/multipart/../", None, StatusCode::BAD_REQUEST),
            (Method::POST, "/sbg/v2/upload/multipart/abc/part//", None, StatusCode::FORBIDDEN),
            (Method::GET, "/sbg/v2/upload/multipart//", None, StatusCode::BAD_REQUEST),
        ] {
            assert_eq!(classify(&m, p, q).unwrap_err().status(), status, "{m} {p}");
        }
    }

    #[test]
    fn other_calls_queries_and_odd_ids_are_refused() {
        for (m, p, q) in [
            (Method::GET, "/sbg/v2/user", None),
            (Method::DELETE, "/sbg/v2/files/f1", None),
            (Method::GET, "/sbg/v2/upload/multipart", None),
            (Method::POST, "/sbg/v2/upload/multipart", Some("fields=all")),
            (Method::GET, "/sbg/v2/upload/multipart/abc/part/1/x", None),
            (Method::GET, "/sbg/v2/projects/a/b", None),
        ] {
            assert_eq!(classify(&m, p, q).unwrap_err().status(), StatusCode::FORBIDDEN, "{m} {p}");
        }
        assert_eq!(classify(&Method::GET, "/sbg/v2/upload/multipart/..", None).unwrap_err().status(), StatusCode::BAD_REQUEST);
        assert_eq!(classify(&Method::GET, "/sbg/v2/files", None).unwrap_err().status(), StatusCode::BAD_REQUEST);
        for q in ["project=a%2Fb&project=c%2Fd", "project=a%2Fb&limit=1&limit=2", "project=a%2Fb&project=a%2Fb"] {
            let e = classify(&Method::GET, "/sbg/v2/files", Some(q)).unwrap_err();
            assert_eq!((e.status(), e.message().contains("more than once")), (StatusCode::BAD_REQUEST, true), "{q}: {e}");
        }
        let e = classify(&Method::GET, "/sbg/v2/upload/multipart/abc", Some("list_parts=true&list_parts=false")).unwrap_err();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn projects_claim_lists_projects_and_star_allows_any() {
        let p = |projects: &[&str]| Principal::new("i", "u", super::super::StoreScope::Any, projects.iter().map(|s| s.to_string()).collect());
        assert!(project_allowed(&p(&["a/b"]), "a/b"));
        assert!(!project_allowed(&p(&["a/b"]), "a/c"));
        assert!(!project_allowed(&p(&[]), "a/b"));
        assert!(project_allowed(&p(&["*"]), "x/y"));
    }

    #[test]
    fn the_token_is_redacted_in_debug_output() {
        let u = SbgUpstream::new("http://127.0.0.1:1/v2/", "secret-token").unwrap();
        assert_eq!(u.api, "http://127.0.0.1:1/v2");
        assert!(!format!("{u:?}").contains("secret-token"));
        assert!(SbgUpstream::new("ftp://x", "t").is_err());
        assert!(SbgUpstream::new("http://x/v2", " ").is_err());
    }
}
