// The in-browser half of ./run bench. run.mjs calls these functions with page.evaluate and
// times nothing itself: every figure is measured here with performance.now().
import init, { Hasher, hashBlob, uploadReadSet } from './pkg/readset_upload.js';

const MiB = 1024 * 1024;
await init();
const config = await (await fetch('/demo-config.json')).json();

// Longest main-thread task while an upload runs (PerformanceObserver 'longtask', >= 50 ms only,
// so 0 means "none of 50 ms or more").
let longest = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) longest = Math.max(longest, e.duration);
}).observe({ type: 'longtask', buffered: false });

// What the longest task was (issue 19: a 62-97 ms task in 1-2 of 10 uploads per run, not
// explained). Long Animation Frame entries (Chromium 123+) name the scripts that ran in a
// frame of 50 ms or more, with their durations: a frame whose scripts sum to far less than
// its duration was not our code running (the thread was descheduled, or the engine itself).
let longestFrame = null;
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (longestFrame && e.duration <= longestFrame.ms) continue;
      const scripts = [...(e.scripts ?? [])].sort((x, y) => y.duration - x.duration);
      longestFrame = {
        ms: Math.round(e.duration),
        blockingMs: Math.round(e.blockingDuration ?? 0),
        scriptMs: Math.round(scripts.reduce((n, x) => n + x.duration, 0)),
        styleAndLayoutMs: Math.round(e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0),
        scripts: scripts.slice(0, 3).map((x) => ({
          ms: Math.round(x.duration), invoker: x.invoker, invokerType: x.invokerType,
          fn: x.sourceFunctionName, source: String(x.sourceURL ?? '').split('/').pop(), forcedLayoutMs: Math.round(x.forcedStyleAndLayoutDuration ?? 0),
        })),
      };
    }
  }).observe({ type: 'long-animation-frame', buffered: false });
} catch { /* an engine without Long Animation Frames: longestFrame stays null */ }

let buffer = null;
/** Fills the shared buffer that every hashing contender reads (random, so nothing compresses). */
window.makeBuffer = (bytes) => {
  buffer = new Uint8Array(bytes);
  for (let at = 0; at < bytes; at += 65536) crypto.getRandomValues(buffer.subarray(at, Math.min(at + 65536, bytes)));
  return bytes;
};

const hashWasmFactory = { 'MD5': () => hashwasm.createMD5(), 'SHA-256': () => hashwasm.createSHA256(), 'SHA-512': () => hashwasm.createSHA512() };

/** Hashes the buffer with one contender; chunked contenders get `chunk` bytes at a time. */
window.hashOnce = async (impl, alg, chunk) => {
  const t0 = performance.now();
  let hex;
  if (impl === 'library') {
    const h = new Hasher(alg);
    for (let at = 0; at < buffer.length; at += chunk) h.update(buffer.subarray(at, at + chunk));
    hex = h.digestHex();
    h.free();
  } else if (impl === 'hash-wasm') {
    const h = await hashWasmFactory[alg]();
    h.init();
    for (let at = 0; at < buffer.length; at += chunk) h.update(buffer.subarray(at, at + chunk));
    hex = h.digest('hex');
  } else if (impl === 'webcrypto') {
    const d = new Uint8Array(await crypto.subtle.digest(alg, buffer));
    hex = Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
  } else throw new Error(`unknown contender ${impl}`);
  return { ms: performance.now() - t0, hex };
};

const file = () => {
  const f = document.getElementById('file').files[0];
  if (!f) throw new Error('no file chosen');
  return f;
};

/** The ETag pipeline on the chosen .fastq.gz, as the uploader runs it: `hashBlob` streams the
 *  file through a worker (read in chunks, gunzip, hash). */
window.etagOnce = async (family, chunk) => {
  const f = file();
  const t0 = performance.now();
  const out = await hashBlob(f, `FASTQ_${family}`, { chunkSize: chunk });
  if (!out.inWorker) throw new Error('the ETag was not computed in a worker');
  return { ms: performance.now() - t0, hex: out.hex, uncompressedBytes: out.uncompressedBytes };
};

/** Per-part hashing of the chosen file, as an uploader needs it: every `partSize` slice gets
 *  its own digest. library: all parts handed to `hashBlob` at once (the worker pool, one per
 *  core, reads and hashes them in parallel). hash-wasm: one thread, parts in turn, read in
 *  `chunk` slices. webcrypto: one-shot `digest` of each whole part read into memory, with as
 *  many parts at once as there are cores. */
window.hashPartsOnce = async (impl, alg, partSize, chunk, oneShotMax = null) => {
  const f = file();
  const parts = [];
  for (let at = 0; at < f.size; at += partSize) parts.push(f.slice(at, Math.min(f.size, at + partSize)));
  const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
  const t0 = performance.now();
  let hexes, webCrypto = false;
  if (impl === 'library') {
    // oneShotMax: the library's largest blob for WebCrypto (null: its default, 8 MiB).
    const opts = oneShotMax === null ? { chunkSize: chunk } : { chunkSize: chunk, _oneShotMaxBytes: oneShotMax };
    const outs = await Promise.all(parts.map((p) => hashBlob(p, alg, opts)));
    if (outs.some((o) => !o.inWorker)) throw new Error('a part was not hashed in a worker');
    hexes = outs.map((o) => o.hex);
    webCrypto = outs.every((o) => o.webCrypto);
  } else if (impl === 'hash-wasm') {
    hexes = [];
    const h = await hashWasmFactory[alg]();
    for (const p of parts) {
      h.init();
      for (let at = 0; at < p.size; at += chunk) h.update(new Uint8Array(await p.slice(at, at + chunk).arrayBuffer()));
      hexes.push(h.digest('hex'));
    }
  } else if (impl === 'webcrypto') {
    hexes = new Array(parts.length);
    let next = 0;
    const lane = async () => { while (next < parts.length) { const i = next++; hexes[i] = hex(await crypto.subtle.digest(alg, await parts[i].arrayBuffer())); } };
    await Promise.all(Array.from({ length: Math.min(navigator.hardwareConcurrency || 2, parts.length) }, lane));
  } else throw new Error(`unknown contender ${impl}`);
  return { ms: performance.now() - t0, hex: hexes.join(','), webCrypto };
};

const meta = (tag) => ({ sourceFileType: 'UBAM', name: `bench ${tag}`, subjectId: 'bench', sampleId: 'bench' });

/** The library: a full uploadReadSet (create, hash, PUT parts, complete) of the chosen file. */
window.uploadLibrary = async (partSize, concurrency) => {
  longest = 0;
  longestFrame = null;
  const t0 = performance.now();
  let partsDoneAt = 0;
  const r = await uploadReadSet({
    endpoint: config.endpoint, token: config.token, sequenceStoreId: config.sequenceStoreId,
    ...meta('library'), files: [file()], partSize, concurrency, waitForActive: false,
    onProgress: (p) => { if (!partsDoneAt && p.phase === 'completing') partsDoneAt = performance.now(); },
  });
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 100)); // let the observer deliver the last entries
  // verifiedParts: parts whose store checksum was compared with their SHA-256.
  return { ms, partsMs: (partsDoneAt || performance.now()) - t0, parts: r.parts, longestTaskMs: longest, longestFrame, readSetId: r.readSetId,
    verifiedParts: r.verifiedParts, hashing: r.hashing };
};

async function omics(method, path, body, extraHeaders = {}) {
  const resp = await fetch(config.endpoint + path, {
    method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${config.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extraHeaders },
  });
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${await resp.text()}`);
  return resp.status === 204 ? {} : resp.json().catch(() => ({}));
}

/** The transport limit: create an upload, PUT the same Blob slices with no hashing at the same
 *  concurrency through the same proxy, then abort. Timed from create to the last part. */
window.uploadRaw = async (partSize, concurrency) => {
  const f = file();
  const store = `/sequencestore/${config.sequenceStoreId}`;
  const t0 = performance.now();
  // The proxy's grant for the upload goes with every call on it, as the library sends it.
  const { uploadId, uploadGrant } = await omics('POST', `${store}/upload`, meta('raw'));
  const grant = uploadGrant ? { 'x-readset-upload-grant': uploadGrant } : {};
  const parts = Math.ceil(f.size / partSize);
  let next = 0, sent = 0;
  const put = async (n) => {
    const resp = await fetch(`${config.endpoint}${store}/upload/${uploadId}/part?partNumber=${n + 1}&partSource=SOURCE1`, {
      method: 'PUT', body: f.slice(n * partSize, Math.min(f.size, (n + 1) * partSize)),
      headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/octet-stream', ...grant },
    });
    if (!resp.ok) throw new Error(`part ${n + 1}: ${resp.status} ${await resp.text()}`);
    sent++;
  };
  const lane = async () => { while (next < parts) await put(next++); };
  await Promise.all(Array.from({ length: Math.min(concurrency, parts) }, lane));
  const ms = performance.now() - t0;
  await omics('DELETE', `${store}/upload/${uploadId}/abort`, undefined, grant);
  return { ms, parts: sent };
};

window.benchReady = true;

/** What a portal would write instead: the official @aws-sdk/client-omics (bundled by run.mjs),
 *  SigV4 straight to the store, the same Blob slices at the same concurrency, no hashing of its
 *  own beyond what the SDK does; create, PUT every part, then abort (no complete). */
window.uploadSdk = async (store, partSize, concurrency) => {
  const sdk = await import('./aws-sdk-omics.js');
  const f = file();
  const client = new sdk.OmicsClient({
    region: store.region, endpoint: store.url, disableHostPrefix: true,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
  });
  const t0 = performance.now();
  const { uploadId } = await client.send(new sdk.CreateMultipartReadSetUploadCommand({ sequenceStoreId: config.sequenceStoreId, ...meta('sdk') }));
  const parts = Math.ceil(f.size / partSize);
  let next = 0, sent = 0;
  const lane = async () => {
    while (next < parts) {
      const n = next++;
      await client.send(new sdk.UploadReadSetPartCommand({
        sequenceStoreId: config.sequenceStoreId, uploadId, partSource: 'SOURCE1', partNumber: n + 1,
        payload: f.slice(n * partSize, Math.min(f.size, (n + 1) * partSize)),
      }));
      sent++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, parts) }, lane));
  const ms = performance.now() - t0;
  await client.send(new sdk.AbortMultipartReadSetUploadCommand({ sequenceStoreId: config.sequenceStoreId, uploadId }));
  return { ms, parts: sent };
};
