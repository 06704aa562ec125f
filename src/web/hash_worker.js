// The hash worker of readset-upload (a classic worker started from a Blob URL by
// src/web/pool.rs). It instantiates the package's own WebAssembly.Module, sent by the page,
// with every wasm-bindgen import stubbed: it only calls the kernel's raw `rsu_*` exports
// (src/kernel.rs), which import nothing. It reads Blob slices itself (byobChunks, from
// src/web/reader.js, prepended to this source by pool.rs) and copies them into one reused wasm
// buffer, so the page's main thread neither reads nor hashes part bytes.
//
// A SHA-256 or SHA-512 job marked oneShot (a small blob, see pool.rs ONE_SHOT_MAX_BYTES) is
// read whole and hashed by WebCrypto where the worker has crypto.subtle (a secure context).
//
// page -> worker  {type:'init', module} | {type:'job', id, blob, kind, chunk, stallMs, stallEvery, noByob, oneShot} | {type:'cancel', id}
// worker -> page  {type:'ready'} | {type:'failed', message}
//                 {type:'progress', id, bytes} | {type:'done', id, text, restarts, webCrypto}
//                 {type:'error', id, message, read, at} | {type:'cancelled', id}
'use strict';

let ready = null;   // Promise of the kernel exports
const cancelled = new Set();
const OUT_CAP = 4096; // bytes for a result or an error message
const PROGRESS_EVERY = 8 << 20; // bytes between progress messages to the page

function stubImports(module) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== 'function') throw new Error(`unexpected ${imp.kind} import ${imp.module}.${imp.name}`);
    (imports[imp.module] ??= {})[imp.name] = () => {
      throw new Error(`readset-upload hash worker: ${imp.name} is not available here`);
    };
  }
  return imports;
}

async function start(module) {
  const instance = await WebAssembly.instantiate(module, stubImports(module));
  const k = instance.exports;
  for (const f of ['rsu_alloc', 'rsu_free', 'rsu_hasher_new', 'rsu_hasher_update', 'rsu_hasher_finish', 'rsu_hasher_drop']) {
    if (typeof k[f] !== 'function') throw new Error(`the wasm module has no ${f} export`);
  }
  return { k, buf: 0, cap: 0, out: k.rsu_alloc(OUT_CAP) };
}

/** Wasm memory for `n` bytes of input, grown only when a read is larger than any before. */
function room(s, n) {
  if (n > s.cap) {
    if (s.cap) s.k.rsu_free(s.buf, s.cap);
    s.cap = Math.max(n, 1 << 20);
    s.buf = s.k.rsu_alloc(s.cap);
  }
  return s.buf;
}

const ONE_SHOT = { 2: 'SHA-256', 3: 'SHA-512' }; // kernel kinds WebCrypto computes the same

/** The whole blob in memory, one WebCrypto digest: lowercase hex, as the kernel writes it. */
async function oneShot({ id, blob, kind }) {
  let bytes;
  try {
    bytes = await blob.arrayBuffer();
  } catch (e) {
    return postMessage({ type: 'error', id, message: `${e && e.name}: ${e && e.message}`, read: true, at: 0 });
  }
  if (cancelled.delete(id)) return postMessage({ type: 'cancelled', id });
  const d = new Uint8Array(await crypto.subtle.digest(ONE_SHOT[kind], bytes));
  let text = '';
  for (const b of d) text += (b < 16 ? '0' : '') + b.toString(16);
  postMessage({ type: 'progress', id, bytes: bytes.byteLength });
  postMessage({ type: 'done', id, text, restarts: 0, webCrypto: true });
}

async function run(s, { id, blob, kind, chunk, stallMs, stallEvery, noByob, oneShot: small }) {
  if (small && ONE_SHOT[kind] && self.crypto && crypto.subtle) return oneShot({ id, blob, kind });
  const stats = { restarts: 0 };
  const { k } = s;
  const h = k.rsu_hasher_new(kind);
  if (!h) return postMessage({ type: 'error', id, message: `unknown hash kind ${kind}`, read: false });
  let at = 0;
  let unreported = 0;
  try {
    for await (const bytes of byobChunks(blob, chunk, stallMs || 3000, stats, stallEvery || 0, !!noByob)) {
      if (cancelled.delete(id)) {
        k.rsu_hasher_drop(h);
        return postMessage({ type: 'cancelled', id });
      }
      const p = room(s, bytes.length);
      new Uint8Array(k.memory.buffer, p, bytes.length).set(bytes);
      k.rsu_hasher_update(h, p, bytes.length);
      at += bytes.length;
      unreported += bytes.length;
      if (unreported >= PROGRESS_EVERY) {
        postMessage({ type: 'progress', id, bytes: unreported });
        unreported = 0;
      }
    }
  } catch (e) {
    k.rsu_hasher_drop(h);
    return postMessage({ type: 'error', id, message: `${e && e.name}: ${e && e.message}`, read: true, at });
  }
  cancelled.delete(id);
  if (unreported) postMessage({ type: 'progress', id, bytes: unreported });
  const n = k.rsu_hasher_finish(h, s.out, OUT_CAP);
  const text = new TextDecoder().decode(new Uint8Array(k.memory.buffer, s.out, Math.abs(n)).slice());
  if (n >= 0) postMessage({ type: 'done', id, text, restarts: stats.restarts });
  else postMessage({ type: 'error', id, message: text, read: false });
}

onmessage = async (e) => {
  const m = e.data;
  if (m.type === 'init') {
    ready = start(m.module);
    try {
      await ready;
      postMessage({ type: 'ready' });
    } catch (err) {
      postMessage({ type: 'failed', message: String(err && err.message || err) });
    }
  } else if (m.type === 'cancel') {
    cancelled.add(m.id);
  } else if (m.type === 'job') {
    let s;
    try { s = await ready; } catch (err) {
      return postMessage({ type: 'error', id: m.id, message: `hash worker failed to start: ${err && err.message}`, read: false });
    }
    await run(s, m);
  }
};
