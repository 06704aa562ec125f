// Helpers for the resume and fault tests (see resume.test.mjs, faults.test.mjs).
import init, * as lib from '/pkg/readset_upload.js';

await init();
const cfg = await (await fetch('/demo-config.json')).json();
const conn = { endpoint: cfg.endpoint, token: cfg.token, sequenceStoreId: cfg.sequenceStoreId };
const files = () => [...document.getElementById('f').files];

window.lib = lib;
window.cfg = conn;
window.uploads = [];

/** Starts one uploader per selected file (or only file `index`); results land in window.uploads. */
window.startUploads = (opts = {}, index = null) => {
  const chosen = index === null ? files() : [files()[index]];
  for (const file of chosen) {
    const up = new lib.ReadSetUploader({
      ...conn, sourceFileType: 'FASTQ', name: file.name, subjectId: 'subj', sampleId: 'samp',
      files: [file], partSize: 65536, ...opts,
    });
    const entry = { up, done: false, result: null };
    up.start().then((r) => { entry.result = { ok: true, ...r }; }, (e) => { entry.result = { ok: false, code: e.code, message: e.message }; })
      .finally(() => { entry.done = true; });
    window.uploads.push(entry);
  }
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
