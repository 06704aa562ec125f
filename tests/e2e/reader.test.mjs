// The Blob reader shared by the hash workers and the main-thread fallback (src/web/reader.js),
// run in Node, whose Blob streams are byte streams like Chromium's: every byte arrives once, in
// order, by BYOB reads or (for a stream that is not a byte stream, as in WebKit) a default reader
// copied into one reused buffer, in chunks of the asked size on both paths; a read that never
// settles is cancelled and reading resumes at the same offset, on both paths.
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

/** A Blob-like whose streams are not byte streams (no BYOB reader, as in WebKit) and arrive in
 *  pieces of `piece` bytes; `streams.n` counts the streams opened (1 + restarts). */
function plainBlob(bytes, piece) {
  const blob = new Blob([bytes]);
  const streams = { n: 0 };
  const pieces = (b) => {
    const whole = b.stream().pipeThrough(new TransformStream({
      transform(c, ctl) { for (let i = 0; i < c.length; i += piece) ctl.enqueue(c.slice(i, i + piece)); },
    }));
    return whole;
  };
  const wrap = (b) => ({ size: b.size, slice: (...a) => wrap(b.slice(...a)), stream: () => { streams.n++; return pieces(b); } });
  return { blob: wrap(blob), streams };
}

for (const piece of [1000, 65536, 200_000]) {
  test(`without BYOB (stream pieces of ${piece} bytes) reading honours the chunk size and reuses one buffer`, async () => {
    const { blob } = plainBlob(data, piece);
    assert.throws(() => blob.stream().getReader({ mode: 'byob' }));
    const sizes = [];
    const buffers = new Set();
    const h = createHash('sha256');
    for await (const bytes of byobChunks(blob, 65536, 3000, { restarts: 0 }, 0)) {
      sizes.push(bytes.length);
      buffers.add(bytes.buffer);
      h.update(bytes);
    }
    assert.equal(h.digest('hex'), sha(data));
    const full = Math.floor(data.length / 65536);
    assert.deepEqual(sizes, [...Array(full).fill(65536), data.length - full * 65536], 'every chunk is 64 KiB but the last');
    assert.equal(buffers.size, 1, 'one buffer for the whole read');
  });
}

test('a Blob with BYOB reads is read without them when noByob is set, with the same chunks', async () => {
  const sizes = [];
  const h = createHash('sha256');
  for await (const bytes of byobChunks(new Blob([data]), 65536, 3000, { restarts: 0 }, 0, true)) {
    sizes.push(bytes.length);
    h.update(bytes);
  }
  assert.equal(h.digest('hex'), sha(data));
  assert.equal(sizes.length, Math.ceil(data.length / 65536));
  assert.ok(sizes.slice(0, -1).every((n) => n === 65536));
});

test('without BYOB, reads that never settle are cancelled and reading resumes after the last byte read', async () => {
  const { blob, streams } = plainBlob(data, 10_000);
  const stats = { restarts: 0 };
  const h = createHash('sha256');
  let n = 0;
  for await (const bytes of byobChunks(blob, 65536, 20, stats, 5)) {
    assert.ok(bytes.length <= 65536);
    h.update(bytes);
    n += bytes.length;
  }
  assert.equal(h.digest('hex'), sha(data));
  assert.equal(n, data.length);
  assert.ok(stats.restarts >= 10, `restarted ${stats.restarts} times`);
  assert.equal(streams.n, stats.restarts + 2, 'the BYOB probe, the first stream, and a fresh one per restart');
});

test('without BYOB, a blob that ends early is an error', async () => {
  const { blob } = plainBlob(data, 65536);
  const lying = { ...blob, size: blob.size + 10 };
  await assert.rejects(collect(lying, 65536), /the file ended at byte 3145851 of 3145861/);
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
