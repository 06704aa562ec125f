// Helpers for the resume and fault tests (see resume.test.mjs, faults.test.mjs, sbg.test.mjs).
import init, * as lib from '/pkg/readset_upload.js';

await init();
const demo = await (await fetch('/demo-config.json')).json();
const sbg = demo.sbg;
const conn = { endpoint: demo.endpoint, token: demo.token, sequenceStoreId: demo.sequenceStoreId };
const files = () => [...document.getElementById('f').files];

window.lib = lib;
window.cfg = conn;
window.uploads = [];

/** One uploader of `sources` (one file, or a FASTQ pair); its result lands in window.uploads. */
function startOne(sources, opts) {
  const up = new lib.ReadSetUploader({
    ...conn, sourceFileType: 'FASTQ', name: sources[0].name, subjectId: 'subj', sampleId: 'samp',
    files: sources, partSize: 65536, ...opts,
  });
  const entry = { up, done: false, result: null };
  up.start().then((r) => { entry.result = { ok: true, ...r }; }, (e) => { entry.result = { ok: false, code: e.code, message: e.message }; })
    .finally(() => { entry.done = true; });
  window.uploads.push(entry);
}
/** Starts one uploader per selected file (or only file `index`); results land in window.uploads. */
window.startUploads = (opts = {}, index = null) => {
  const chosen = index === null ? files() : [files()[index]];
  for (const file of chosen) startOne([file], opts);
};
/** Starts one paired upload of the two selected files (mate 1 as SOURCE1, mate 2 as SOURCE2). */
window.startPaired = (opts = {}) => startOne(files(), opts);
/** Starts one Seven Bridges upload per selected file; progress changes land in `entry.seen`. */
window.startSbg = (opts = {}) => {
  for (const file of files()) {
    const entry = { up: null, done: false, result: null, seen: [] };
    const onProgress = (p) => { if (p.changed) entry.seen.push(`${p.changed.number}:${p.changed.state}:${p.changed.attempts}`); };
    entry.up = new lib.SevenBridgesUploader({ endpoint: sbg.endpoint, token: demo.token, project: sbg.project, file, onProgress, ...opts });
    entry.up.start().then((r) => { entry.result = { ok: true, ...r }; }, (e) => { entry.result = { ok: false, code: e.code, message: e.message, attempts: e.attempts }; })
      .finally(() => { entry.done = true; });
    window.uploads.push(entry);
  }
};
window.seen = () => window.uploads.map((u) => u.seen);
const sbgApi = async (path) => (await fetch(`${sbg.endpoint}${path}`, { headers: { Authorization: `Bearer ${demo.token}` } })).json();
/** Part numbers Seven Bridges lists as reported for an upload. */
window.sbgReported = async (uploadId) => ((await sbgApi(`/upload/multipart/${uploadId}?list_parts=true`)).parts ?? []).map((p) => p.part_number);
/** Hex SHA-256 of a stored Seven Bridges file. */
window.sbgFileSha256 = async (fileId) => {
  const info = await sbgApi(`/files/${fileId}/download_info`);
  const bytes = await (await fetch(info.url)).arrayBuffer();
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
};
window.results = () => window.uploads.map((u) => u.result);
window.allDone = () => window.uploads.every((u) => u.done);
window.uploadIds = () => window.uploads.map((u) => u.up.uploadId ?? null);
window.findResumable = () => lib.findResumableUploads({ files: files(), ...conn });
window.listAbandoned = () => lib.listAbandonedUploads(conn);
window.abortUpload = (uploadId) => lib.abortUpload({ ...conn, uploadId });
/** Parts the server holds for SOURCE1 of an upload (all pages). */
window.serverParts = async (uploadId) => {
  const client = new lib.SequenceStoreClient(conn);
  let parts = [];
  let nextToken;
  for (let i = 0; i < 200; i++) {
    const page = await client.listUploadParts(uploadId, 'SOURCE1', { maxResults: 100, ...(nextToken ? { nextToken } : {}) });
    parts = parts.concat(page.parts ?? []);
    nextToken = page.nextToken;
    if (!nextToken) break;
  }
  return parts.map((p) => p.partNumber);
};
window.ready = true;
