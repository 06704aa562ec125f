//! The JS API for resuming across reloads: `findResumableUploads`, `listAbandonedUploads`,
//! `abortUpload`. The IndexedDB records (see [`super::persist`]) are hints; the server's
//! answers are the truth.

use js_sys::{Array, Promise, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{Blob, File};

use super::client::Client;
use super::control::Control;
use super::js_error::to_js;
use super::persist::{self, SavedUpload};
use crate::error::{Error, ErrorKind};
use crate::omics::{self, Page};
use crate::validate::check_id;

#[wasm_bindgen]
extern "C" {
    /// `FindResumableOptions` (TypeScript).
    #[wasm_bindgen(typescript_type = "FindResumableOptions")]
    pub type FindResumableArg;
    /// `ConnectionOptions` (TypeScript).
    #[wasm_bindgen(typescript_type = "ConnectionOptions")]
    pub type AbandonedArg;
    /// `AbortUploadOptions` (TypeScript).
    #[wasm_bindgen(typescript_type = "AbortUploadOptions")]
    pub type AbortUploadArg;
    /// `Promise<SavedUpload[]>`.
    #[wasm_bindgen(typescript_type = "Promise<SavedUpload[]>")]
    pub type SavedUploadsPromise;
    /// `Promise<AbandonedUpload[]>`.
    #[wasm_bindgen(typescript_type = "Promise<AbandonedUpload[]>")]
    pub type AbandonedPromise;
    /// `Promise<AbortUploadResult>`.
    #[wasm_bindgen(typescript_type = "Promise<AbortUploadResult>")]
    pub type AbortUploadPromise;
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection {
    endpoint: Option<String>,
    token: Option<String>,
    sequence_store_id: Option<String>,
    upload_id: Option<String>,
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn to_value<T: serde::Serialize>(v: &T) -> JsValue {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
}

fn connection(options: JsValue) -> Result<(Client, Connection), Error> {
    if !options.is_object() {
        return Err(Error::invalid_input("options must be an object"));
    }
    let c: Connection = serde_wasm_bindgen::from_value(options).map_err(|e| Error::invalid_input(format!("invalid options: {e}")))?;
    let endpoint = crate::validate::check_endpoint(c.endpoint.as_deref())?;
    let store = c.sequence_store_id.clone().ok_or_else(|| Error::invalid_input("`sequenceStoreId` is required"))?;
    check_id(&store, "sequenceStoreId")?;
    let client = Client::new(endpoint, c.token.clone(), store, Default::default());
    Ok((client, c))
}

/// The uploads saved in this browser for these files (same names, sizes, lastModified and
/// edge hashes), optionally only those for `endpoint` / `sequenceStoreId`. A portal calls it
/// when the user selects files, offers to resume, and then starts a `ReadSetUploader` with
/// `resume: true` (or passes the `uploadId`).
#[wasm_bindgen(js_name = findResumableUploads)]
pub fn find_resumable_uploads(options: FindResumableArg) -> SavedUploadsPromise {
    let options: JsValue = options.into();
    let p = future_to_promise(async move {
        let files = get(&options, "files");
        if !Array::is_array(&files) {
            return Err(to_js(&Error::invalid_input("`files` must be an array of File objects")));
        }
        let mut prints = Vec::new();
        for f in Array::from(&files).iter() {
            let Some(file) = f.dyn_ref::<File>() else {
                return Err(to_js(&Error::invalid_input("`files` must hold File objects")));
            };
            let blob: &Blob = file.as_ref();
            prints.push(persist::fingerprint(blob).await.map_err(|e| to_js(&e))?);
        }
        let endpoint = get(&options, "endpoint").as_string().map(|e| e.trim_end_matches('/').to_string());
        let store = get(&options, "sequenceStoreId").as_string();
        let found: Vec<SavedUpload> = persist::all()
            .await
            .map_err(|e| to_js(&e))?
            .into_iter()
            .filter(|r| r.files == prints && r.target.is_none())
            .filter(|r| endpoint.as_ref().is_none_or(|e| *e == r.endpoint))
            .filter(|r| store.as_ref().is_none_or(|s| *s == r.sequence_store_id))
            .collect();
        Ok(to_value(&found))
    });
    p.unchecked_into()
}

/// Every upload in progress in the store (ListMultipartReadSetUploads, all pages), each with
/// `onServer: true` and `local` (this browser's saved record, or null), followed by the records
/// saved here for this store whose upload the server no longer has (`onServer: false`).
#[wasm_bindgen(js_name = listAbandonedUploads)]
pub fn list_abandoned_uploads(options: AbandonedArg) -> AbandonedPromise {
    let options: JsValue = options.into();
    let p = future_to_promise(async move {
        let (client, _) = connection(options).map_err(|e| to_js(&e))?;
        let control = Control::default();
        let local: Vec<SavedUpload> = persist::all()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.target.is_none() && r.endpoint == client.endpoint && r.sequence_store_id == client.store_id)
            .collect();
        let out = Array::new();
        let mut on_server = Vec::new();
        let mut page = Page { max_results: Some(100), next_token: None };
        // Bounded: at most 1,000 pages of 100.
        for _ in 0..1_000 {
            let body = client.call(&control, &omics::list_uploads(&client.store_id, &page)).await.map_err(|e| to_js(&e))?;
            let v: serde_json::Value = crate::json::from_str(&body)
                .map_err(|_| to_js(&Error::new(ErrorKind::Protocol, "the answer is not JSON").in_operation("ListMultipartReadSetUploads")))?;
            for u in v["uploads"].as_array().cloned().unwrap_or_default() {
                let id = u["uploadId"].as_str().unwrap_or_default().to_string();
                let mut entry = u.clone();
                entry["onServer"] = true.into();
                entry["local"] = local.iter().find(|r| r.upload_id == id).map(|r| serde_json::to_value(r).unwrap_or_default()).unwrap_or_default();
                out.push(&to_value(&entry));
                on_server.push(id);
            }
            match v["nextToken"].as_str() {
                Some(t) if !t.is_empty() => page.next_token = Some(t.to_string()),
                _ => break,
            }
        }
        for r in local.iter().filter(|r| !on_server.contains(&r.upload_id)) {
            out.push(&to_value(&serde_json::json!({ "uploadId": r.upload_id, "onServer": false, "local": r })));
        }
        Ok(out.into())
    });
    p.unchecked_into()
}

/// Aborts an upload on the server (AbortMultipartReadSetUpload; one the server no longer has
/// counts as done) and deletes this browser's saved state of it. Resolves with
/// `{ abortedOnServer, localRecordsRemoved }`.
#[wasm_bindgen(js_name = abortUpload)]
pub fn abort_upload(options: AbortUploadArg) -> AbortUploadPromise {
    let options: JsValue = options.into();
    let p: Promise = future_to_promise(async move {
        let (client, c) = connection(options).map_err(|e| to_js(&e))?;
        let id = c.upload_id.ok_or_else(|| to_js(&Error::invalid_input("`uploadId` is required")))?;
        check_id(&id, "uploadId").map_err(|e| to_js(&e))?;
        let aborted = match client.call(&Control::default(), &omics::abort_upload(&client.store_id, &id)).await {
            Ok(_) => true,
            Err(e) if e.kind == ErrorKind::NotFound => false,
            Err(e) => return Err(to_js(&e)),
        };
        let removed = persist::remove_upload(&id).await.map_err(|e| to_js(&e))?;
        Ok(to_value(&serde_json::json!({ "abortedOnServer": aborted, "localRecordsRemoved": removed })))
    });
    p.unchecked_into()
}
