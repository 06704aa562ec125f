//! The HealthOmics target: CreateMultipartReadSetUpload (or the upload's part list on
//! resume), parts PUT to a fixed URL per part and judged by their returned checksum, then
//! CompleteMultipartReadSetUpload with the confirmed parts, the wait for ACTIVE and the ETag
//! check. Also the JSON client every HealthOmics call goes through ([`OmicsClient`]), which
//! keeps the signing proxy's upload grants.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use futures::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;

use super::call::Api;
use super::control::Control;
use super::driver::{Confirmations, Opened, Refused, Target};
use super::io::{Body, HttpRequest, HttpResponse, Io, Net, Phase, Saved};
use super::queue::Priority;
use crate::complete::{assemble, Confirmed};
use crate::error::{Error, ErrorKind};
use crate::etag::{Etag, EtagFamily};
use crate::omics::{self, CompletePart, CompleteResponse, CreateUploadResponse, ListPartsResponse, Page, ReadSetEtag, ReadSetMetadata, Request, SequenceStore, UploadPartResponse};
use crate::plan::{Part, Source};
use crate::validate::{should_compare, ValidUpload};

/// Pages of ListMultipartReadSetUploads read at most to find one upload's grant.
const GRANT_LOOKUP_PAGES: usize = 20;

/// Where and how HealthOmics calls go: endpoint, token, store; plus the upload grants the
/// signing proxy hands out (see [`omics::UPLOAD_GRANT_HEADER`]), learnt from Create and
/// ListMultipartReadSetUploads answers or given back from a resume record, and sent with every
/// call on that upload. A call on an upload whose grant is unknown first looks it up in the
/// caller's own in-progress uploads.
#[derive(Debug)]
pub struct OmicsClient {
    /// API base URL without trailing `/`.
    pub endpoint: String,
    /// Bearer token.
    pub token: Option<String>,
    /// The sequence store all calls address.
    pub store_id: String,
    /// Upload grants by upload ID (empty: looked up and not found).
    grants: RefCell<BTreeMap<String, String>>,
}

impl OmicsClient {
    /// A client of `store_id` at `endpoint`.
    pub fn new(endpoint: String, token: Option<String>, store_id: String) -> Self {
        OmicsClient { endpoint, token, store_id, grants: RefCell::default() }
    }

    /// Remembers the proxy's grant for `upload_id` (from a resume record).
    pub fn remember_grant(&self, upload_id: &str, grant: &str) {
        self.grants.borrow_mut().insert(upload_id.to_owned(), grant.to_owned());
    }

    /// The grant known for `upload_id`, if any.
    pub fn grant(&self, upload_id: &str) -> Option<String> {
        self.grants.borrow().get(upload_id).filter(|g| !g.is_empty()).cloned()
    }

    fn learn_grants(&self, body: &str) {
        let found = omics::upload_grants(body);
        if !found.is_empty() {
            self.grants.borrow_mut().extend(found);
        }
    }

    /// The HTTP request of `req`, with `grant` when given.
    pub fn http(&self, req: &Request, grant: Option<&str>) -> HttpRequest {
        let mut http = HttpRequest::api(&self.endpoint, self.token.as_deref(), req);
        if let Some(g) = grant {
            http.headers.push((omics::UPLOAD_GRANT_HEADER.to_owned(), g.to_owned()));
        }
        http
    }

    async fn exchange<I: Net>(&self, api: &Api<'_, I>, req: &Request, grant: Option<&str>, priority: Priority) -> Result<String, Error> {
        let body = api.exchange(&self.http(req, grant), priority).await?.ok_body(req.operation)?;
        self.learn_grants(&body);
        Ok(body)
    }

    /// The grant of `upload_id`, looked up in the caller's in-progress uploads when not known
    /// yet. `None` when the endpoint hands out none (no proxy) or the upload is not listed.
    pub async fn ensure_grant<I: Net>(&self, api: &Api<'_, I>, upload_id: &str) -> Result<Option<String>, Error> {
        if let Some(g) = self.grants.borrow().get(upload_id) {
            // An empty entry: looked up before and not found; don't list again for every call.
            return Ok(Some(g.clone()).filter(|g| !g.is_empty()));
        }
        let mut page = Page { max_results: Some(100), next_token: None };
        for _ in 0..GRANT_LOOKUP_PAGES {
            let req = omics::list_uploads(&self.store_id, &page);
            let body = api.retrying(|| self.exchange(api, &req, None, Priority::Create)).await?;
            if let Some(g) = self.grant(upload_id) {
                return Ok(Some(g));
            }
            match crate::json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v.get("nextToken")?.as_str().map(str::to_owned)) {
                Some(t) => page.next_token = Some(t),
                None => break,
            }
        }
        self.grants.borrow_mut().insert(upload_id.to_owned(), String::new());
        Ok(None)
    }

    /// Sends `req` once; a call on an upload carries the upload's grant (looked up first when
    /// unknown), and a remembered grant the proxy no longer accepts is looked up again once.
    pub async fn send_once<I: Net>(&self, api: &Api<'_, I>, req: &Request, priority: Priority) -> Result<String, Error> {
        let Some(id) = &req.upload_id else { return self.exchange(api, req, None, priority).await };
        let remembered = self.grant(id).is_some();
        let grant = self.ensure_grant(api, id).await?;
        match self.exchange(api, req, grant.as_deref(), priority).await {
            // Its key was rotated, or it was a per-process key and the proxy restarted: the
            // caller's upload list hands out the current one.
            Err(e) if remembered && e.kind == ErrorKind::Forbidden => {
                self.grants.borrow_mut().remove(id);
                match self.ensure_grant(api, id).await? {
                    Some(fresh) if grant.as_deref() != Some(fresh.as_str()) => self.exchange(api, req, Some(&fresh), priority).await,
                    _ => Err(e),
                }
            }
            outcome => outcome,
        }
    }

    /// Sends `req`, retrying per the policy; returns the 2xx body.
    pub async fn call<I: Net>(&self, api: &Api<'_, I>, req: &Request, priority: Priority) -> Result<String, Error> {
        api.retrying(|| self.send_once(api, req, priority)).await
    }
}

/// The outcome of the ETag comparison.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EtagReport {
    /// `verified`, `mismatch`, or `unchecked` (not FASTQ, `verifyEtag: false`, or the store
    /// reported no ETag).
    pub status: &'static str,
    /// The read set's ETag algorithm, as the store reports it.
    pub algorithm: Option<String>,
    /// ETags computed while uploading (`source2` for pairs).
    pub computed: Option<ReadSetEtag>,
    /// ETags reported by `GetReadSetMetadata`.
    pub stored: Option<ReadSetEtag>,
}

/// Hash jobs (one per part, one per FASTQ source for its ETag) by where they ran.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HashingReport {
    /// Jobs a Web Worker ran.
    pub in_workers: u32,
    /// Jobs the main thread ran (`hashInWorkers: false`, or workers unavailable on the page).
    pub on_main_thread: u32,
}

/// What a HealthOmics upload resolves with.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadResult {
    /// The new read set.
    pub read_set_id: String,
    /// The multipart upload that created it.
    pub upload_id: String,
    /// Read set status when the promise resolved (`ACTIVE`, or `PROCESSING_UPLOAD` with
    /// `waitForActive: false`).
    pub status: String,
    /// Number of parts completed.
    pub parts: usize,
    /// The parts as sent to Complete.
    pub part_list: Vec<CompletePart>,
    /// Bytes uploaded (all sources).
    pub bytes: u64,
    /// The ETag check.
    pub etag: EtagReport,
    /// Where the hashes were computed: jobs run in Web Workers and on the main thread.
    pub hashing: HashingReport,
    /// Parts whose checksum from the store was compared with their SHA-256 and matched (sent
    /// now, or listed on resume): every part against a store with hex SHA-256 checksums (the
    /// local store) or with `verifyPartChecksums: true`; 0 where checksums are opaque (AWS).
    pub verified_parts: usize,
}

/// A read set upload into a HealthOmics sequence store.
pub struct HealthOmics {
    /// The checked options.
    pub v: ValidUpload,
    /// The JSON client (and the proxy's grants).
    pub client: OmicsClient,
    family: Cell<Option<EtagFamily>>,
    etags: RefCell<[Option<Etag>; 2]>,
    verified: Cell<usize>,
}

fn source_index(s: Source) -> usize {
    match s {
        Source::Source1 => 0,
        Source::Source2 => 1,
    }
}

impl HealthOmics {
    /// The target of a checked upload.
    pub fn new(v: ValidUpload) -> Self {
        let client = OmicsClient::new(v.endpoint.clone(), v.token.clone(), v.store_id.clone());
        HealthOmics { v, client, family: Cell::new(None), etags: RefCell::new([None, None]), verified: Cell::new(0) }
    }

    /// Resume: every page of ListReadSetUploadParts for every source. Parts whose size differs
    /// from the plan are not trusted (they are sent again); parts beyond the plan refuse the
    /// resume, since completion would have to leave them out.
    async fn server_parts<I: Io>(&self, api: &Api<'_, I>, upload_id: &str) -> Result<Confirmations<String>, Error> {
        let mut out = Confirmations::new();
        for plan in &self.v.plans {
            let source = plan[0].source;
            let mut page = Page { max_results: Some(100), next_token: None };
            // A page holds at least one part, and there are at most 10,000 per source.
            for _ in 0..=crate::plan::MAX_PARTS {
                let req = omics::list_upload_parts(&self.v.store_id, upload_id, source, None, &page);
                let body = self.client.call(api, &req, Priority::Create).await?;
                let resp: ListPartsResponse = omics::parse(req.operation, &body)?;
                for p in resp.parts {
                    let Some(planned) = plan.get((p.part_number as usize).wrapping_sub(1)) else {
                        return Err(Error::invalid_input(format!(
                            "upload {upload_id} holds {} part {} but the file is planned in {} parts: resume with the partSize the upload was started with",
                            source, p.part_number, plan.len()
                        )));
                    };
                    if p.part_size.is_none_or(|s| s == planned.len()) {
                        out.insert((source, p.part_number), p.checksum);
                    }
                }
                match resp.next_token {
                    Some(t) if !t.is_empty() => page.next_token = Some(t),
                    _ => break,
                }
            }
        }
        Ok(out)
    }

    async fn wait_for_active<I: Io>(&self, api: &Api<'_, I>, read_set_id: &str) -> Result<ReadSetMetadata, Error> {
        let deadline = api.io.now_ms() + self.v.active_timeout_ms as f64;
        let base = self.v.poll_interval_ms;
        let mut interval = base;
        let req = omics::get_read_set_metadata(&self.v.store_id, read_set_id);
        loop {
            let body = self.client.call(api, &req, Priority::Complete).await?;
            let meta: ReadSetMetadata = omics::parse(req.operation, &body)?;
            match meta.status.as_str() {
                "PROCESSING_UPLOAD" => {}
                "UPLOAD_FAILED" | "DELETING" | "DELETED" => {
                    return Err(Error::new(
                        ErrorKind::UploadFailed,
                        format!("read set {read_set_id} ended {}: {}", meta.status, meta.status_message.as_deref().unwrap_or("no status message")),
                    ))
                }
                _ => return Ok(meta),
            }
            if api.io.now_ms() + interval as f64 > deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "read set {read_set_id} was still PROCESSING_UPLOAD after {} ms; it may still become ACTIVE: check it later with getReadSetMetadata",
                        self.v.active_timeout_ms
                    ),
                ));
            }
            api.control.unless_aborted(api.io.sleep(interval)).await?;
            interval = (interval * 3 / 2).min(base * 10);
        }
    }

    fn check_etag(&self, meta: Option<&ReadSetMetadata>) -> Result<EtagReport, Error> {
        let stored = meta.and_then(|m| m.etag.clone());
        let algorithm = stored.as_ref().and_then(|s| s.algorithm.clone());
        let etags = self.etags.borrow();
        let computed = etags[0].as_ref().map(|e1| ReadSetEtag {
            algorithm: Some(e1.algorithm.to_string()),
            source1: Some(e1.hex.clone()),
            source2: etags[1].as_ref().map(|e| e.hex.clone()),
        });
        let (Some(c), Some(s)) = (&computed, &stored) else {
            return Ok(EtagReport { status: "unchecked", algorithm, computed, stored });
        };
        if s.source1.is_none() {
            return Ok(EtagReport { status: "unchecked", algorithm, computed, stored });
        }
        let mut problems = Vec::new();
        if s.algorithm.is_some() && s.algorithm != c.algorithm {
            problems.push(format!(
                "the store used {} but {} was computed",
                s.algorithm.as_deref().unwrap_or("?"),
                c.algorithm.as_deref().unwrap_or("?")
            ));
        }
        for (name, mine, theirs) in [("SOURCE1", &c.source1, &s.source1), ("SOURCE2", &c.source2, &s.source2)] {
            let same = match (mine, theirs) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (None, None) => true,
                _ => false,
            };
            if !same {
                problems.push(format!(
                    "{name}: computed {} while uploading, the store holds {}",
                    mine.as_deref().unwrap_or("nothing"),
                    theirs.as_deref().unwrap_or("nothing")
                ));
            }
        }
        if problems.is_empty() {
            Ok(EtagReport { status: "verified", algorithm, computed, stored })
        } else {
            Err(Error::new(ErrorKind::EtagMismatch, format!("ETag mismatch: {}", problems.join("; "))))
        }
    }
}

impl Target for HealthOmics {
    type Confirmation = String;
    type Attempt = ();
    type Output = UploadResult;

    async fn prepare<I: Io>(&self, api: &Api<'_, I>) -> Result<(), Error> {
        api.io.check_contents().await?;
        if !self.v.verify_etag {
            return Ok(());
        }
        let body = self.client.call(api, &omics::get_sequence_store(&self.v.store_id), Priority::Create).await?;
        let store = omics::parse::<SequenceStore>("GetSequenceStore", &body)?;
        let family = EtagFamily::from_store(store.etag_algorithm_family.as_deref()).ok_or_else(|| {
            Error::new(
                ErrorKind::Protocol,
                format!("unknown eTagAlgorithmFamily {:?}: set verifyEtag: false to upload without the check", store.etag_algorithm_family),
            )
            .in_operation("GetSequenceStore")
        })?;
        self.family.set(Some(family));
        Ok(())
    }

    async fn open<I: Io>(&self, api: &Api<'_, I>, resume: Option<&Saved>) -> Result<Opened<String>, Error> {
        let parts: Vec<Part> = self.v.plans.iter().flatten().copied().collect();
        if let Some(r) = resume {
            if let Some(g) = &r.grant {
                self.client.remember_grant(&r.upload_id, g);
            }
            let listed = self.server_parts(api, &r.upload_id).await?;
            return Ok(Opened { upload_id: r.upload_id.clone(), parts, listed });
        }
        let req = omics::create_upload(&self.v.store_id, &self.v.create);
        let body = self.client.call(api, &req, Priority::Create).await?;
        let upload_id = omics::parse::<CreateUploadResponse>(req.operation, &body)?.upload_id;
        Ok(Opened { upload_id, parts, listed: Confirmations::new() })
    }

    fn saved(&self, upload_id: &str) -> Saved {
        Saved { upload_id: upload_id.to_owned(), grant: self.client.grant(upload_id) }
    }

    fn checks_sha256(&self, checksum: &String) -> bool {
        should_compare(self.v.verify_parts, checksum)
    }

    fn check_sha256(&self, part: &Part, checksum: &String, sha256: &str) -> Result<(), Error> {
        if checksum.eq_ignore_ascii_case(sha256) {
            self.verified.set(self.verified.get() + 1);
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::ChecksumMismatch,
            format!(
                "the store returned checksum {checksum} for part {} of {}, but the part's SHA-256 is {sha256}: the bytes were altered in transit",
                part.number, part.source
            ),
        )
        .in_operation("UploadReadSetPart"))
    }

    async fn part_request<I: Io>(&self, _api: &Api<'_, I>, upload_id: &str, part: &Part) -> Result<(HttpRequest, ()), Error> {
        let req = omics::upload_part(&self.v.store_id, upload_id, part.source, part.number);
        let mut http = self.client.http(&req, self.client.grant(upload_id).as_deref());
        http.body = Body::Part(*part);
        Ok((http, ()))
    }

    fn judge(&self, _part: &Part, _: &(), response: HttpResponse) -> Result<String, Refused> {
        const OP: &str = "UploadReadSetPart";
        let body = response.ok_body(OP)?;
        Ok(omics::parse::<UploadPartResponse>(OP, &body)?.checksum)
    }

    async fn confirmed<I: Io>(&self, api: &Api<'_, I>, _upload_id: &str, part: &Part, _checksum: &String, _left: usize) -> Result<(), Error> {
        api.io.save_part(part).await;
        Ok(())
    }

    async fn salvage<I: Io>(&self, _api: &Api<'_, I>, _upload_id: &str) {}

    async fn alongside<I: Io>(&self, api: &Api<'_, I>) -> Result<(), Error> {
        // FASTQ ETags stream through workers of their own while the parts upload; completion
        // waits for them, so a FASTQ that is not valid gzip is never completed.
        let Some(family) = self.family.get() else { return Ok(()) };
        let mut jobs: FuturesUnordered<_> = self
            .v
            .plans
            .iter()
            .map(|p| p[0].source)
            .map(|s| async move { (s, api.io.fastq_etag(s, family).await) })
            .collect();
        while let Some((s, etag)) = jobs.next().await {
            self.etags.borrow_mut()[source_index(s)] = Some(etag?);
        }
        Ok(())
    }

    async fn finish<I: Io>(&self, api: &Api<'_, I>, control: &Control, upload_id: &str, _parts: &[Part], confirmed: &Confirmations<String>) -> Result<UploadResult, Error> {
        let planned: Vec<(Source, u32)> = self.v.plans.iter().map(|p| (p[0].source, p.len() as u32)).collect();
        let mut c = Confirmed::new();
        for ((s, n), checksum) in confirmed {
            c.insert(*s, *n, checksum.clone());
        }
        let parts = assemble(&c, &planned)?;
        let body = self.client.call(api, &omics::complete_upload(&self.v.store_id, upload_id, &parts), Priority::Complete).await?;
        let read_set_id = omics::parse::<CompleteResponse>("CompleteMultipartReadSetUpload", &body)?.read_set_id;
        // The upload is gone from the server now: nothing left to resume.
        api.io.forget(upload_id).await;

        let waits = api.with_control(control);
        let meta = if self.v.wait_for_active {
            api.io.phase(Phase::Processing);
            Some(self.wait_for_active(&waits, &read_set_id).await.map_err(|e| e.for_read_set(&read_set_id))?)
        } else {
            None
        };
        api.io.phase(Phase::Verifying);
        let etag = self.check_etag(meta.as_ref()).map_err(|e| e.for_read_set(&read_set_id))?;
        api.io.phase(Phase::Done);
        let (in_workers, on_main_thread) = api.io.hash_jobs();
        Ok(UploadResult {
            read_set_id,
            upload_id: upload_id.to_owned(),
            status: meta.map(|m| m.status).unwrap_or_else(|| "PROCESSING_UPLOAD".to_string()),
            parts: parts.len(),
            part_list: parts,
            bytes: self.v.total_bytes(),
            etag,
            hashing: HashingReport { in_workers, on_main_thread },
            verified_parts: self.verified.get(),
        })
    }

    async fn abort<I: Io>(&self, api: &Api<'_, I>, upload_id: &str) -> Result<(), Error> {
        self.client.call(api, &omics::abort_upload(&self.v.store_id, upload_id), Priority::Complete).await.map(|_| ())
    }
}
