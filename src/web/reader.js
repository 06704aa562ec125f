// Reading a Blob in bounded chunks without garbage, shared by the hash workers (pool.rs
// prepends this file, minus `export`, to hash_worker.js) and the main-thread fallback (a
// wasm-bindgen snippet: `forEachChunk`). Only `byobChunks` and `forEachChunk` are exported.
'use strict';

const MAX_RESTARTS = 50; // in a row without a byte read in between

/** Chunks of `blob` of at most `chunk` bytes, in order, each byte once. Where `blob.stream()`
 *  is a byte stream (Chromium, Firefox) a BYOB reader reads into one reused `chunk`-byte
 *  buffer: no garbage per read. (`slice().arrayBuffer()` or a default reader allocate a buffer
 *  per read, and a busy worker collects them so late that the renderer grew with the file
 *  size: +500 MiB for 4 GiB.) Where it is not (WebKit, so Safari: no `ReadableStreamBYOBReader`),
 *  or when `noByob` is set (tests), a default reader's chunks, whatever their size, are copied
 *  into the same kind of reused `chunk`-byte buffer, which is yielded when full: the consumer
 *  sees the same chunk sizes and the same single buffer on both paths, and what the engine
 *  allocates per read is collected with nothing of ours holding on to it.
 *  In Chromium 156 a BYOB read on a multi-GiB file sometimes never settles; on both paths a
 *  watchdog cancels a read pending for `stallMs` (the job's, default 3000) and reading
 *  restarts after the last byte read, on a fresh stream (a local read of a
 *  few MiB takes milliseconds). `stats.restarts` counts the restarts. The yielded view is
 *  reused by the next read: copy what you keep. */
export async function* byobChunks(blob, chunk, stallMs, stats, stallEvery, noByob) {
  const byob = !noByob && byobSupported(blob);
  let at = 0; // bytes yielded
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
    let fill = 0; // default reader: bytes read into buf, not yet yielded (kept across restarts)
    while (at + fill < blob.size || fill) {
      const from = at + fill;
      inARow = from === lastAt ? inARow + 1 : 0;
      lastAt = from;
      if (inARow > MAX_RESTARTS) throw new Error(`reading stalled ${MAX_RESTARTS} times in a row at byte ${from}`);
      stalled = false;
      const stream = blob.slice(from).stream();
      reader = byob ? stream.getReader({ mode: 'byob' }) : stream.getReader();
      for (;;) {
        since = performance.now();
        // Tests simulate Chromium's hung read on every `stallEvery`-th read: a read that
        // settles only when the watchdog cancels it.
        const pending = stallEvery && ++reads % stallEvery === 0
          ? new Promise((resolve) => { unhang = () => resolve({ done: true }); })
          : byob ? reader.read(new Uint8Array(buf, 0, buf.byteLength)) : reader.read();
        const r = await pending.catch((e) => {
          if (stalled) return null;
          throw e;
        });
        since = 0;
        unhang = null;
        if (stalled) { // cancelled by the watchdog: restart after the last byte read
          stats.restarts++;
          if (byob) buf = new ArrayBuffer(chunk); // the cancelled read may still own it
          break;
        }
        if (byob) {
          if (r.done) break;
          yield r.value;
          at += r.value.length;
          buf = r.value.buffer;
          continue;
        }
        if (r.done) {
          if (fill) {
            yield new Uint8Array(buf, 0, fill);
            at += fill;
            fill = 0;
          }
          break;
        }
        const v = r.value;
        for (let off = 0; off < v.length;) {
          const n = Math.min(chunk - fill, v.length - off);
          new Uint8Array(buf, fill, n).set(v.subarray(off, off + n));
          fill += n;
          off += n;
          if (fill === chunk) {
            yield new Uint8Array(buf);
            at += chunk;
            fill = 0;
          }
        }
      }
      if (!stalled) {
        if (at < blob.size) throw new Error(`the file ended at byte ${at} of ${blob.size} (was it changed?)`);
        return;
      }
    }
  } finally {
    clearInterval(dog);
    if (reader) reader.cancel().catch(() => {});
  }
}

/** Whether `blob.stream()` is a byte stream (a BYOB reader can be had). WebKit's Blob streams
 *  (Safari, WebKitGTK 2.50) are not: `ReadableStreamBYOBReader` is undefined there. */
function byobSupported(blob) {
  try {
    const reader = blob.slice(0, 0).stream().getReader({ mode: 'byob' });
    reader.cancel().catch(() => {});
    return true;
  } catch {
    return false;
  }
}

/** The main-thread fallback's loop: calls `onChunk(bytes)` for each chunk in order (the view is
 *  reused by the next read, so copy what you keep). Reading stops when `onChunk` returns false
 *  or once `ctl.stopped` is set (the caller went away: `onChunk` is never called again).
 *  `noByob` (tests) reads with a default reader even where a BYOB one exists. Resolves to the
 *  number of stalled reads restarted. */
export async function forEachChunk(blob, chunk, stallMs, ctl, onChunk, noByob) {
  const stats = { restarts: 0 };
  for await (const bytes of byobChunks(blob, chunk, stallMs, stats, 0, noByob)) {
    if (ctl.stopped || onChunk(bytes) === false) break;
  }
  return stats.restarts;
}
