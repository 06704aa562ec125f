//! Upload ownership: only the principal (`iss` + `sub`) that created a multipart upload may send
//! its parts, list them, complete it or abort it, and ListMultipartReadSetUploads shows callers
//! only their own uploads.
//!
//! Two marks, neither kept in the proxy's memory, so the rule holds across restarts and across
//! any number of instances behind a load balancer (they share the grant key):
//!
//! - At Create the proxy writes the tag [`OWNER_TAG`] = [`Principal::owner_id`] on the upload
//!   (a caller cannot set it, and no operation the proxy forwards can change tags later), and
//!   binds the caller's `clientToken` to the owner, so an idempotent retry of another user's
//!   Create cannot hand that user's upload to this caller. ListMultipartReadSetUploads answers
//!   are filtered on the tag.
//! - The Create answer (and each listed upload) carries an `uploadGrant`: an HMAC-SHA256 under
//!   the proxy's grant key of (store, upload ID, owner). Calls on an upload must send it in
//!   [`GRANT_HEADER`]; the proxy recomputes it for the calling principal, so another user's
//!   grant, or a grant for another upload or store, is refused. Checking costs no upstream
//!   call, which matters for parts (10 TPS per account).

use std::sync::Arc;

use anyhow::Context;
use axum::http::HeaderMap;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::auth::Principal;
use super::error::ProxyError;

/// Tag key recording an upload's owner; reserved: a Create naming it is refused.
pub const OWNER_TAG: &str = "readset-upload:owner";
/// Tags a caller may set at Create (HealthOmics' 50 less the owner tag).
pub const MAX_CALLER_TAGS: usize = 49;
/// Request header carrying an upload's grant.
pub const GRANT_HEADER: &str = "x-readset-upload-grant";
/// Shortest accepted grant key, in bytes.
pub const MIN_GRANT_KEY_BYTES: usize = 32;
/// Domain separation of the grant MAC, so the key can never produce another protocol's MAC.
const GRANT_CONTEXT: &[u8] = b"readset-upload upload grant v1\n";

/// Mints and checks upload grants.
#[derive(Clone)]
pub struct UploadGrants {
    key: Arc<Vec<u8>>,
    /// Whether the key was generated at start (grants then die with the process).
    ephemeral: bool,
}

impl std::fmt::Debug for UploadGrants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadGrants").field("key", &"<redacted>").field("ephemeral", &self.ephemeral).finish()
    }
}

impl UploadGrants {
    /// Grants under `key` (at least [`MIN_GRANT_KEY_BYTES`] bytes). Every instance serving the
    /// same users must use the same key.
    pub fn new(key: &[u8]) -> anyhow::Result<Self> {
        anyhow::ensure!(
            key.len() >= MIN_GRANT_KEY_BYTES,
            "the upload grant key has {} bytes; use at least {MIN_GRANT_KEY_BYTES} random bytes",
            key.len()
        );
        Ok(Self { key: Arc::new(key.to_vec()), ephemeral: false })
    }

    /// Grants under a fresh random key: valid only while this process runs, on this instance.
    pub fn ephemeral() -> Self {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).expect("operating system random number generator failed");
        Self { key: Arc::new(key), ephemeral: true }
    }

    /// Whether the key is per process (no `--upload-grant-key-file`).
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }

    fn mac(&self, store_id: &str, upload_id: &str, owner: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(GRANT_CONTEXT);
        // Fixed-form fields (digits, hex) joined by a separator none of them can contain.
        for field in [store_id, upload_id, owner] {
            mac.update(field.as_bytes());
            mac.update(b"\n");
        }
        mac
    }

    /// The grant of `upload_id` in `store_id` for the principal named `owner`
    /// ([`Principal::owner_id`]): 64 hex digits.
    pub fn grant(&self, store_id: &str, upload_id: &str, owner: &str) -> String {
        hex::encode(self.mac(store_id, upload_id, owner).finalize().into_bytes())
    }

    /// Whether `presented` is the grant of `upload_id` in `store_id` for `owner` (constant
    /// time).
    pub fn verify(&self, store_id: &str, upload_id: &str, owner: &str, presented: &str) -> bool {
        let Ok(bytes) = hex::decode(presented) else { return false };
        self.mac(store_id, upload_id, owner).verify_slice(&bytes).is_ok()
    }
}

/// Reads the grant key from `path` (mode 600): the raw bytes, one trailing newline ignored.
pub fn read_key_file(path: &std::path::Path) -> anyhow::Result<UploadGrants> {
    let key = super::auth::read_secret_file(path, "upload grant key")?;
    UploadGrants::new(&key).with_context(|| format!("upload grant key file {}", path.display()))
}

/// Refuses a call on `upload_id` unless it carries this principal's grant for it.
pub fn check_grant(headers: &HeaderMap, grants: &UploadGrants, store_id: &str, upload_id: &str, principal: &Principal) -> Result<(), ProxyError> {
    let mut values = headers.get_all(GRANT_HEADER).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(ProxyError::AccessDenied(format!(
            "calls on upload {upload_id} need its `{GRANT_HEADER}` header (exactly once): the `uploadGrant` this proxy returned when the upload was created"
        )));
    };
    let presented = value.to_str().unwrap_or("");
    if grants.verify(store_id, upload_id, &principal.owner_id(), presented) {
        Ok(())
    } else {
        Err(ProxyError::AccessDenied(format!(
            "upload {upload_id} was not created by this user, or its `{GRANT_HEADER}` is not the one this proxy issued for it"
        )))
    }
}

fn json_object(body: &[u8], what: &str) -> Result<Map<String, Value>, ProxyError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ProxyError::Validation(format!("the {what} must be a JSON object"))),
    }
}

/// The Create body to forward: the owner tag added, the `clientToken` bound to the owner.
pub fn prepare_create(body: &[u8], principal: &Principal) -> Result<Bytes, ProxyError> {
    let mut map = json_object(body, "CreateMultipartReadSetUpload body")?;
    let owner = principal.owner_id();
    let tags = map.entry("tags").or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(tags) = tags else {
        return Err(ProxyError::Validation("`tags` must be an object of string values".into()));
    };
    if tags.keys().any(|k| k.eq_ignore_ascii_case(OWNER_TAG)) {
        return Err(ProxyError::Validation(format!("the tag key `{OWNER_TAG}` is reserved: the proxy sets it to the upload's owner")));
    }
    // HealthOmics takes at most 50 tags; the owner tag is one of them.
    if tags.len() >= MAX_CALLER_TAGS + 1 {
        return Err(ProxyError::Validation(format!(
            "a read set takes at most {MAX_CALLER_TAGS} tags through this proxy (it adds `{OWNER_TAG}` as the 50th); this one has {}",
            tags.len()
        )));
    }
    tags.insert(OWNER_TAG.into(), Value::String(owner.clone()));
    if let Some(token) = map.get_mut("clientToken") {
        let Value::String(t) = token else {
            return Err(ProxyError::Validation("`clientToken` must be a string".into()));
        };
        // Same token from the same user: same upload (idempotent); from another user: another.
        let mut h = Sha256::new();
        h.update(owner.as_bytes());
        h.update(b"\n");
        h.update(t.as_bytes());
        *t = hex::encode(h.finalize());
    }
    Ok(Bytes::from(Value::Object(map).to_string()))
}

/// The Create answer for the browser: `uploadGrant` added.
pub fn finish_create(body: &[u8], grants: &UploadGrants, store_id: &str, principal: &Principal) -> Result<Bytes, ProxyError> {
    let mut map = json_object(body, "upstream's CreateMultipartReadSetUpload answer").map_err(|_| bad_upstream())?;
    let id = map.get("uploadId").and_then(Value::as_str).ok_or_else(bad_upstream)?.to_owned();
    map.insert("uploadGrant".into(), Value::String(grants.grant(store_id, &id, &principal.owner_id())));
    Ok(Bytes::from(Value::Object(map).to_string()))
}

/// The ListMultipartReadSetUploads answer for the browser: only this principal's uploads, each
/// with its `uploadGrant`. (A page may so come back shorter than `maxResults`, or empty with a
/// `nextToken`: callers page on.)
pub fn filter_uploads(body: &[u8], grants: &UploadGrants, store_id: &str, principal: &Principal) -> Result<Bytes, ProxyError> {
    let mut map = json_object(body, "upstream's ListMultipartReadSetUploads answer").map_err(|_| bad_upstream())?;
    let owner = principal.owner_id();
    let uploads = match map.remove("uploads") {
        None => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(bad_upstream()),
    };
    let mine: Vec<Value> = uploads
        .into_iter()
        .filter_map(|item| {
            let Value::Object(mut item) = item else { return None };
            let owned = item.get("tags").and_then(|t| t.get(OWNER_TAG)).and_then(Value::as_str) == Some(owner.as_str());
            let id = item.get("uploadId").and_then(Value::as_str)?.to_owned();
            owned.then(|| {
                item.insert("uploadGrant".into(), Value::String(grants.grant(store_id, &id, &owner)));
                Value::Object(item)
            })
        })
        .collect();
    map.insert("uploads".into(), Value::Array(mine));
    Ok(Bytes::from(Value::Object(map).to_string()))
}

fn bad_upstream() -> ProxyError {
    ProxyError::BadGateway("the upstream's answer is not the JSON this operation returns".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::StoreScope;

    fn user(sub: &str) -> Principal {
        Principal::new("https://idp.example", sub, StoreScope::Any, vec![])
    }

    #[test]
    fn a_grant_is_bound_to_store_upload_and_owner() {
        let g = UploadGrants::new(&[7u8; 32]).unwrap();
        let a = user("alice").owner_id();
        let grant = g.grant("1111111111", "2222222222", &a);
        assert_eq!(grant.len(), 64);
        assert!(g.verify("1111111111", "2222222222", &a, &grant));
        assert!(!g.verify("1111111111", "2222222222", &user("bob").owner_id(), &grant), "another user");
        assert!(!g.verify("1111111111", "3333333333", &a, &grant), "another upload");
        assert!(!g.verify("9999999999", "2222222222", &a, &grant), "another store");
        assert!(!UploadGrants::new(&[8u8; 32]).unwrap().verify("1111111111", "2222222222", &a, &grant), "another key");
        assert!(!g.verify("1111111111", "2222222222", &a, "zz"), "not hex");
        assert!(UploadGrants::new(&[1u8; 31]).is_err());
    }

    #[test]
    fn same_subject_from_another_issuer_is_another_owner() {
        let a = Principal::new("https://idp-a.example", "u1", StoreScope::Any, vec![]);
        let b = Principal::new("https://idp-b.example", "u1", StoreScope::Any, vec![]);
        assert_ne!(a.owner_id(), b.owner_id());
        // Moving a separator between issuer and subject makes another owner.
        let c = Principal::new("iss\na", "b", StoreScope::Any, vec![]);
        let d = Principal::new("iss", "a\nb", StoreScope::Any, vec![]);
        assert_ne!(c.owner_id(), d.owner_id());
    }

    #[test]
    fn a_create_with_fifty_tags_is_refused_before_the_owner_tag_would_overflow_it() {
        let tags: Map<String, Value> = (0..50).map(|i| (format!("k{i}"), Value::String("v".into()))).collect();
        let body = serde_json::json!({ "tags": tags }).to_string();
        let err = prepare_create(body.as_bytes(), &user("alice")).unwrap_err();
        assert!(err.message().contains("at most 49 tags") && err.message().contains("has 50"), "{err}");
        let ok: Map<String, Value> = (0..49).map(|i| (format!("k{i}"), Value::String("v".into()))).collect();
        let v: Value = serde_json::from_slice(&prepare_create(serde_json::json!({ "tags": ok }).to_string().as_bytes(), &user("a")).unwrap()).unwrap();
        assert_eq!(v["tags"].as_object().unwrap().len(), 50);
    }

    #[test]
    fn create_gets_the_owner_tag_and_an_owner_bound_client_token() {
        let out = prepare_create(br#"{"name":"r","tags":{"k":"v"},"clientToken":"t1"}"#, &user("alice")).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["tags"]["k"], "v");
        assert_eq!(v["tags"][OWNER_TAG], user("alice").owner_id());
        let bob: Value = serde_json::from_slice(&prepare_create(br#"{"clientToken":"t1"}"#, &user("bob")).unwrap()).unwrap();
        assert_ne!(v["clientToken"], bob["clientToken"], "another user's retry must not find alice's upload");
        let again: Value = serde_json::from_slice(&prepare_create(br#"{"clientToken":"t1"}"#, &user("alice")).unwrap()).unwrap();
        assert_eq!(v["clientToken"], again["clientToken"], "the same user's retry stays idempotent");
        let err = prepare_create(br#"{"tags":{"readset-upload:OWNER":"x"}}"#, &user("bob")).unwrap_err();
        assert!(err.message().contains("reserved"), "{err}");
        assert_eq!(prepare_create(b"[1]", &user("bob")).unwrap_err().status().as_u16(), 400);
        assert_eq!(prepare_create(br#"{"tags":[]}"#, &user("bob")).unwrap_err().status().as_u16(), 400);
    }

    #[test]
    fn listing_keeps_only_the_callers_uploads_with_their_grants() {
        let g = UploadGrants::new(&[7u8; 32]).unwrap();
        let (a, b) = (user("alice"), user("bob"));
        let body = serde_json::json!({
            "uploads": [
                {"uploadId": "1000000001", "tags": {OWNER_TAG: a.owner_id()}},
                {"uploadId": "1000000002", "tags": {OWNER_TAG: b.owner_id()}},
                {"uploadId": "1000000003", "tags": {}},
                {"uploadId": "1000000004"},
            ],
            "nextToken": "n",
        })
        .to_string();
        let v: Value = serde_json::from_slice(&filter_uploads(body.as_bytes(), &g, "1111111111", &a).unwrap()).unwrap();
        let uploads = v["uploads"].as_array().unwrap();
        assert_eq!(uploads.len(), 1);
        assert_eq!(uploads[0]["uploadId"], "1000000001");
        assert!(g.verify("1111111111", "1000000001", &a.owner_id(), uploads[0]["uploadGrant"].as_str().unwrap()));
        assert_eq!(v["nextToken"], "n");
    }
}
