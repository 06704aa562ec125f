// The Blob reader shared by the hash workers and the main-thread fallback (src/web/reader.js),
// run in Node, whose Blob streams are byte streams like Chromium's: every byte arrives once, in
// order, by BYOB reads or (for a stream that is not a byte stream) a default reader; a read that
// never settles is cancelled and reading resumes at the same offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { byobChunks, forEachChunk } from '../../src/web/reader.js';

const data = randomBytes(3 * 1024 * 1024 + 123);
const sha = (b) => createHash('sha256').update(b).digest('hex');

async function collect(blob, chunk, stallMs = 3000, stallEvery = 0, bounded = true) {
  const stats = { restarts: 0 };
  const h = createHash('sha256');
  let n = 0;
  for await (const bytes of byobChunks(blob, chunk, stallMs, stats, stallEvery)) {
    if (bounded) assert.ok(bytes.length <= chunk, `a chunk of ${bytes.length} bytes exceeds ${chunk}`);
    h.update(bytes);
    n += bytes.length;
  }
  return { hex: h.digest('hex'), n, restarts: stats.restarts };
}

test('BYOB reads deliver every byte once, in order, in chunks of at most the buffer size', async () => {
  const r = await collect(new Blob([data]), 65536);
  assert.deepEqual(r, { hex: sha(data), n: data.length, restarts: 0 });
});

test('a blob whose stream is not a byte stream is read with a default reader', async () => {
  // A Blob-like whose stream() has no BYOB reader (as in browsers without byte Blob streams).
  const blob = new Blob([data]);
  const plain = {
    size: blob.size,
    slice: (...a) => ({ stream: () => new ReadableStream({ start(c) { c.close(); } }) }),
    stream: () => blob.stream().pipeThrough(new TransformStream()),
  };
  assert.throws(() => plain.stream().getReader({ mode: 'byob' }));
  const r = await collect(plain, 65536, 3000, 0, false); // chunks are the stream's own sizes
  assert.equal(r.hex, sha(data));
  assert.equal(r.n, data.length);
});

test('reads that never settle are cancelled and reading resumes at the same offset', async () => {
  const r = await collect(new Blob([data]), 65536, 20, 5);
  assert.equal(r.hex, sha(data));
  assert.equal(r.n, data.length);
  assert.ok(r.restarts >= Math.floor(data.length / 65536 / 5) - 1, `restarted ${r.restarts} times`);
});

test('a blob that ends early is an error, not a short digest', async () => {
  const blob = new Blob([data]);
  const lying = { size: blob.size + 10, slice: (a) => blob.slice(a) };
  await assert.rejects(collect(lying, 65536), /the file ended at byte 3145851 of 3145861/);
});

test('forEachChunk stops when its callback says so, or when ctl.stopped is set', async () => {
  let calls = 0;
  await forEachChunk(new Blob([data]), 65536, 3000, {}, () => ++calls < 3);
  assert.equal(calls, 3);
  const ctl = {};
  calls = 0;
  await forEachChunk(new Blob([data]), 65536, 3000, ctl, () => { calls++; ctl.stopped = true; return true; });
  assert.equal(calls, 1);
});
