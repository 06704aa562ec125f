// Reading a Blob in bounded chunks without garbage, shared by the hash workers (pool.rs
// prepends this file, minus `export`, to hash_worker.js) and the main-thread fallback (a
// wasm-bindgen snippet: `forEachChunk`). Only `byobChunks` and `forEachChunk` are exported.
'use strict';

const MAX_RESTARTS = 50; // in a row without a byte read in between

/** Chunks of `blob`, read by a BYOB reader into one reused `chunk`-byte buffer: no garbage per
 *  read. (`slice().arrayBuffer()` or a default reader allocate a buffer per read, and a busy
 *  worker collects them so late that the renderer grew with the file size: +500 MiB for 4 GiB.)
 *  In Chromium 156 a BYOB read on a multi-GiB file sometimes never settles; a watchdog cancels
 *  a read pending for `stallMs` (the job's, default 3000) and reading restarts at the same
 *  offset on a fresh stream (a local read of a few MiB takes milliseconds). `stats.restarts`
 *  counts the restarts. */
export async function* byobChunks(blob, chunk, stallMs, stats, stallEvery) {
  if (!byobSupported(blob)) {
    yield* defaultChunks(blob);
    return;
  }
  let at = 0;
  let buf = new ArrayBuffer(chunk);
  let reader = null;
  let since = 0; // when the pending read started (0: none pending)
  let stalled = false;
  let reads = 0;
  let unhang = null; // settles a simulated hung read (tests)
  const dog = setInterval(() => {
    if (since && performance.now() - since > stallMs && reader) {
      stalled = true;
      reader.cancel().catch(() => {});
      if (unhang) unhang();
    }
  }, Math.min(1000, stallMs));
  try {
    let inARow = 0;
    let lastAt = -1;
    while (at < blob.size) {
      inARow = at === lastAt ? inARow + 1 : 0;
      lastAt = at;
      if (inARow > MAX_RESTARTS) throw new Error(`reading stalled ${MAX_RESTARTS} times in a row at byte ${at}`);
      stalled = false;
      reader = blob.slice(at).stream().getReader({ mode: 'byob' });
      for (;;) {
        since = performance.now();
        // Tests simulate Chromium's hung read on every `stallEvery`-th read: a read that
        // settles only when the watchdog cancels it.
        const pending = stallEvery && ++reads % stallEvery === 0
          ? new Promise((resolve) => { unhang = () => resolve({ done: true }); })
          : reader.read(new Uint8Array(buf, 0, buf.byteLength));
        const r = await pending.catch((e) => {
          if (stalled) return null;
          throw e;
        });
        since = 0;
        unhang = null;
        if (stalled) { // cancelled by the watchdog: restart here
          stats.restarts++;
          buf = new ArrayBuffer(chunk);
          break;
        }
        if (r.done) {
          if (at < blob.size) throw new Error(`the file ended at byte ${at} of ${blob.size} (was it changed?)`);
          return;
        }
        yield r.value;
        at += r.value.length;
        buf = r.value.buffer;
      }
    }
  } finally {
    clearInterval(dog);
    if (reader) reader.cancel().catch(() => {});
  }
}

/** Whether `blob.stream()` is a byte stream (a BYOB reader can be had). Browsers whose Blob
 *  streams are not (older Safari and Firefox) read with a default reader instead. */
function byobSupported(blob) {
  try {
    const reader = blob.slice(0, 0).stream().getReader({ mode: 'byob' });
    reader.cancel().catch(() => {});
    return true;
  } catch {
    return false;
  }
}

/** Chunks of `blob` from a default reader (a new buffer per chunk, collected by the GC). */
async function* defaultChunks(blob) {
  const reader = blob.stream().getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** The main-thread fallback's loop: calls `onChunk(bytes)` for each chunk in order (the view is
 *  reused by the next read, so copy what you keep). Reading stops when `onChunk` returns false
 *  or once `ctl.stopped` is set (the caller went away: `onChunk` is never called again).
 *  Resolves to the number of stalled reads restarted. */
export async function forEachChunk(blob, chunk, stallMs, ctl, onChunk) {
  const stats = { restarts: 0 };
  for await (const bytes of byobChunks(blob, chunk, stallMs, stats, 0)) {
    if (ctl.stopped || onChunk(bytes) === false) break;
  }
  return stats.restarts;
}
