// Hashing in Web Workers: part checksums and FASTQ ETags are computed by the worker pool (the
// upload result counts where each hash job ran), parts are hashed only against a store whose
// checksums can be checked, the answers equal the main-thread fallback's,
// bad gzip found by a worker stops the upload before Complete, a page whose CSP forbids workers
// still uploads (main thread), an aborted upload leaves the pool usable, and hashBlob (the same
// pool for portals) answers as WebCrypto and node do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { startDemo, launchBrowser, openPage } from './harness.mjs';
import { PAGES, fastqGz, tempDir, waitFor, readSetBytes } from './upload-helpers.mjs';

async function upload(page, path, opts = {}) {
  await page.evaluate(() => { window.uploads = []; });
  await page.setInputFiles('#f', [path]);
  await page.evaluate((o) => window.startUploads(o), opts);
  await waitFor('the upload to finish', () => page.evaluate(() => window.allDone()), { tries: 1200, everyMs: 100 });
  return (await page.evaluate(() => window.results()))[0];
}

async function open(browser, demo, file = 'index.html') {
  const page = await openPage(browser, `${demo.pageUrl}/${file}`);
  page.warnings = [];
  page.on('console', (m) => { if (m.type() === 'warning') page.warnings.push(m.text()); });
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
  return page;
}

/** Runs `fn(demo, browser)` against a fresh demo (serving the test pages) and browser, then stops both. */
async function withDemo(extraArgs, fn) {
  const demo = await startDemo(['--www', PAGES, ...extraArgs]);
  const browser = await launchBrowser();
  try {
    await fn(demo, browser);
  } finally {
    await browser.close();
    await demo.stop();
  }
}

test('parts and the FASTQ ETag are hashed in workers, with the same answers as the main thread', async () => {
  await withDemo([], async (demo, browser) => {
    const path = fastqGz(tempDir(), 'workers.fastq.gz', 12000, 21);
    const parts = Math.ceil(readFileSync(path).length / 65536);
    const page = await open(browser, demo);

    const w = await upload(page, path);
    assert.equal(w.ok, true, `${w.code} ${w.message}`);
    assert.equal(w.parts, parts);
    assert.deepEqual(w.hashing, { inWorkers: parts + 1, onMainThread: 0 }, 'every part and the ETag ran in a worker');
    assert.equal(w.verifiedParts, parts, 'the store returns hex SHA-256: every part was checked');
    assert.equal(w.etag.status, 'verified');
    assert.ok(readSetBytes(demo.dataDir, w.readSetId).equals(readFileSync(path)), 'the read set equals the source');

    const m = await upload(page, path, { hashInWorkers: false });
    assert.equal(m.ok, true, `${m.code} ${m.message}`);
    assert.deepEqual(m.hashing, { inWorkers: 0, onMainThread: parts + 1 });
    assert.equal(m.etag.status, 'verified');
    assert.deepEqual(m.etag.computed, w.etag.computed, 'workers and main thread compute the same ETag');
    assert.deepEqual(m.partList.map((p) => p.checksum), w.partList.map((p) => p.checksum), 'and the same part checksums');
    assert.deepEqual(page.problems.filter((p) => p.startsWith('pageerror')), [], 'no uncaught errors');
  });
});

test('against a store whose part checksums are opaque (the AWS case) no part is hashed, the ETag still proves the FASTQ, and verifyPartChecksums: true refuses', async () => {
  await withDemo(['--part-checksums', 'base64'], async (demo, browser) => {
    const path = fastqGz(tempDir(), 'opaque.fastq.gz', 12000, 31);
    const parts = Math.ceil(readFileSync(path).length / 65536);
    const page = await open(browser, demo);
    const r = await upload(page, path);
    assert.equal(r.ok, true, `${r.code} ${r.message}`);
    assert.equal(r.parts, parts);
    assert.deepEqual(r.hashing, { inWorkers: 1, onMainThread: 0 }, 'one hash job: the ETag');
    assert.equal(r.verifiedParts, 0);
    assert.ok(r.partList.every((p) => /^[A-Za-z0-9+/]{43}=$/.test(p.checksum)), 'Complete got the store\'s base64 checksums back');
    assert.equal(r.etag.status, 'verified');
    assert.ok(readSetBytes(demo.dataDir, r.readSetId).equals(readFileSync(path)), 'the read set equals the source');

    const v = await upload(page, path, { verifyPartChecksums: true, retry: { maxAttempts: 2, baseDelayMs: 10 } });
    assert.equal(v.ok, false);
    assert.equal(v.code, 'checksum_mismatch');
    assert.match(v.message, /the store returned checksum [A-Za-z0-9+/]{43}= for part \d+ of SOURCE1, but the part's SHA-256 is [0-9a-f]{64}/);
    const sets = await page.evaluate(() => new window.lib.SequenceStoreClient(window.cfg).listReadSets());
    assert.deepEqual((sets.readSets ?? []).map((s) => s.id), [r.readSetId], 'the refused upload made no read set');
  });
});

test('a FASTQ whose gzip breaks mid-file fails with invalid_input from the worker and is never completed', async () => {
  await withDemo([], async (demo, browser) => {
    const good = readFileSync(fastqGz(tempDir(), 'good.fastq.gz', 12000, 5));
    const bad = Buffer.concat([good.subarray(0, 200_000), Buffer.alloc(100_000, 0x55), good.subarray(300_000)]);
    const path = join(tempDir(), 'broken.fastq.gz');
    writeFileSync(path, bad);
    const page = await open(browser, demo);
    const r = await upload(page, path);
    assert.equal(r.ok, false);
    assert.equal(r.code, 'invalid_input');
    assert.match(r.message, /SOURCE1: the FASTQ is not valid gzip/);
    const sets = await page.evaluate(() => new window.lib.SequenceStoreClient(window.cfg).listReadSets());
    assert.deepEqual(sets.readSets ?? [], [], 'no read set was created');
  });
});

test('a page whose Content-Security-Policy forbids workers hashes on the main thread and still verifies', async () => {
  await withDemo([], async (demo, browser) => {
    const path = fastqGz(tempDir(), 'csp.fastq.gz', 6000, 8);
    const parts = Math.ceil(readFileSync(path).length / 65536);
    const page = await open(browser, demo, 'csp.html');
    const r = await upload(page, path);
    assert.equal(r.ok, true, `${r.code} ${r.message}`);
    assert.deepEqual(r.hashing, { inWorkers: 0, onMainThread: parts + 1 });
    assert.equal(r.etag.status, 'verified');
    const ours = page.warnings.filter((t) => t.startsWith('readset-upload'));
    assert.equal(ours.length, 1, `the library warned once: ${ours}`);
    assert.match(ours[0], /hashing on the main thread/);

    // Aborting while the page's thread hashes stops the reader cleanly (no stray callback).
    const big = fastqGz(tempDir(), 'csp-abort.fastq.gz', 30000, 9);
    await page.evaluate(() => { window.uploads = []; });
    await page.setInputFiles('#f', [big]);
    await page.evaluate(() => window.startUploads({ concurrency: 1 }));
    await waitFor('the upload id', () => page.evaluate(() => window.uploadIds()[0]));
    await page.evaluate(() => window.uploads[0].up.abort());
    await waitFor('the abort', () => page.evaluate(() => window.allDone()));
    assert.equal((await page.evaluate(() => window.results()))[0].code, 'aborted');
    await new Promise((r) => setTimeout(r, 500));
    // Firefox logs each CSP-blocked worker itself, as a script error ("The page's settings
    // blocked a worker script (worker-src) ..."), which reaches WebDriver BiDi (so Playwright's
    // `pageerror`) whatever the page does: it is not thrown at the page (no `error` event on
    // window; the worker's own error event, which the pool handles, sees it). Anything else is.
    const blocked = (p) => /^pageerror: The page.s settings blocked a worker script \(worker-src\)/.test(p);
    assert.deepEqual(page.problems.filter((p) => p.startsWith('pageerror') && !blocked(p)), [], 'no uncaught errors');
    assert.equal(page.warnings.filter((t) => t.startsWith('readset-upload')).length, 1, 'still one warning');
  });
});

test('after an upload is aborted mid-way, the next upload still hashes in workers', async () => {
  await withDemo(['--fault-latency-ms', '200'], async (demo, browser) => {
    const path = fastqGz(tempDir(), 'abort.fastq.gz', 12000, 13);
    const page = await open(browser, demo);
    await page.setInputFiles('#f', [path]);
    await page.evaluate(() => window.startUploads({ concurrency: 2 }));
    await waitFor('the upload id', () => page.evaluate(() => window.uploadIds()[0]));
    await page.evaluate(() => window.uploads[0].up.abort());
    await waitFor('the abort', () => page.evaluate(() => window.allDone()));
    assert.equal((await page.evaluate(() => window.results()))[0].code, 'aborted');

    const r = await upload(page, path, { concurrency: 2 });
    assert.equal(r.ok, true, `${r.code} ${r.message}`);
    assert.equal(r.hashing.onMainThread, 0);
    assert.equal(r.hashing.inWorkers, r.parts + 1);
  });
});

test('hashBlob hashes in a worker, agrees with WebCrypto, node and the main thread, and refuses bad arguments', { timeout: 180_000 }, async () => {
  await withDemo([], async (demo, browser) => {
    const path = fastqGz(tempDir(), 'blob.fastq.gz', 8000, 3);
    const page = await open(browser, demo);
    await page.setInputFiles('#f', [path]);
    const r = await page.evaluate(async () => {
      const f = document.getElementById('f').files[0];
      const { hashBlob } = window.lib;
      const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
      const code = (p) => p.then(() => 'resolved', (e) => `${e.code}: ${e.message}`);
      return {
        worker: await hashBlob(f, 'SHA-256', { chunkSize: 65536 }),
        kernel: await hashBlob(f, 'SHA-256', { chunkSize: 65536, _oneShotMaxBytes: 0 }),
        sha512: await hashBlob(f, 'SHA-512'),
        sha512Kernel: await hashBlob(f, 'SHA-512', { _oneShotMaxBytes: 0 }),
        main: await hashBlob(f, 'SHA-256', { inWorker: false }),
        webcrypto: hex(await crypto.subtle.digest('SHA-256', await f.arrayBuffer())),
        md5: await hashBlob(f, 'MD5'),
        etag: await hashBlob(f, 'FASTQ_MD5up'),
        notGzip: await code(hashBlob(new Blob(['@r\nACGT\n+\nIIII\n']), 'FASTQ_SHA256up')),
        unknown: await code(hashBlob(f, 'CRC32')),
        badChunk: await code(hashBlob(f, 'MD5', { chunkSize: 10 })),
        badStall: await code(hashBlob(f, 'MD5', { readStallMs: 0 })),

      };
  });
  const bytes = readFileSync(path);
  const fastq = gunzipSync(bytes);
  assert.equal(r.worker.inWorker, true);
  assert.equal(r.main.inWorker, false);
  assert.equal(r.worker.hex, r.webcrypto);
  assert.equal(r.main.hex, r.webcrypto);
  // A blob of at most 8 MiB is hashed by WebCrypto in the worker; the streaming wasm kernel
  // (forced by the benchmark's hook, and always on the main thread) gives the same digests.
  assert.deepEqual([r.worker.webCrypto, r.kernel.webCrypto, r.main.webCrypto], [true, false, false]);
  assert.equal(r.kernel.hex, r.webcrypto);
  assert.deepEqual([r.sha512.webCrypto, r.sha512Kernel.webCrypto], [true, false]);
  assert.equal(r.sha512.hex, createHash('sha512').update(bytes).digest('hex'));
  assert.equal(r.sha512Kernel.hex, r.sha512.hex);
  assert.equal(r.md5.webCrypto, false, 'WebCrypto has no MD5');
  assert.equal(r.md5.hex, createHash('md5').update(bytes).digest('hex'));
  assert.deepEqual(r.etag, { hex: createHash('md5').update(fastq).digest('hex'), inWorker: true, readRestarts: 0, webCrypto: false, uncompressedBytes: fastq.length });
  assert.match(r.notGzip, /^invalid_input: .*not valid gzip/);
  assert.match(r.unknown, /^invalid_input: unknown algorithm "CRC32"/);
  assert.match(r.badChunk, /^invalid_input: `chunkSize` must be 1 KiB to 64 MiB/);
  assert.match(r.badStall, /^invalid_input: `readStallMs` must be 1 to 3600000/);

  // A read that never settles (Chromium's BYOB reads sometimes do) is cancelled after
  // readStallMs and reading restarts at the same offset. The test hook hangs every 9th read:
  // every hang must be recovered from, and the digest must not change.
  const big = join(tempDir(), 'random.bin');
  writeFileSync(big, randomBytes(6 << 20));
  await page.setInputFiles('#f', [big]);
  const restarted = await page.evaluate(() => window.lib.hashBlob(document.getElementById('f').files[0], 'SHA-256',
    { readStallMs: 50, chunkSize: 65536, _stallEveryNthRead: 9 }));
  assert.equal(restarted.hex, createHash('sha256').update(readFileSync(big)).digest('hex'));
  assert.ok(restarted.readRestarts >= (6 << 20) / 65536 / 9 - 1, `restarted ${restarted.readRestarts} times`);
  assert.equal(restarted.webCrypto, false, 'the stall hook tests the streaming reader');

  // Above 8 MiB the worker streams the blob through the kernel, whatever the algorithm.
  const nine = join(tempDir(), 'nine.bin');
  writeFileSync(nine, randomBytes(9 << 20));
  await page.setInputFiles('#f', [nine]);
  const large = await page.evaluate(() => window.lib.hashBlob(document.getElementById('f').files[0], 'SHA-256'));
  assert.deepEqual([large.inWorker, large.webCrypto], [true, false]);
  assert.equal(large.hex, createHash('sha256').update(readFileSync(nine)).digest('hex'));
  });
});

test('the pool trusts navigator.hardwareConcurrency only so far (at most 8; WebKit\'s rounded 4 counts as 2) and keeps one core for the page', async () => {
  await withDemo([], async (demo, browser) => {
    const path = join(tempDir(), 'cores.bin');
    writeFileSync(path, randomBytes(1 << 20));
    const want = createHash('sha256').update(readFileSync(path)).digest('hex');
    // [reported cores, navigator.vendor, shared workers expected for 12 parallel hashBlob calls]
    const cases = [[64, 'Google Inc.', 7], [4, 'Google Inc.', 3], [2, 'Google Inc.', 1], [4, 'Apple Computer, Inc.', 1], [8, 'Apple Computer, Inc.', 7]];
    for (const [cores, vendor, workers] of cases) {
      const context = await browser.newContext();
      await context.addInitScript(([cores, vendor]) => {
        Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => cores, configurable: true });
        Object.defineProperty(Navigator.prototype, 'vendor', { get: () => vendor, configurable: true });
        const Real = window.Worker;
        window.workersStarted = 0;
        window.Worker = class extends Real {
          constructor(...args) { super(...args); window.workersStarted++; }
        };
      }, [cores, vendor]);
      const page = await context.newPage();
      await page.goto(`${demo.pageUrl}/index.html`);
      await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
      await page.setInputFiles('#f', [path]);
      const r = await page.evaluate(async () => {
        const f = document.getElementById('f').files[0];
        const all = await Promise.all(Array.from({ length: 12 }, () => window.lib.hashBlob(f, 'SHA-256', { chunkSize: 65536 })));
        return { hexes: [...new Set(all.map((a) => a.hex))], inWorker: all.every((a) => a.inWorker), started: window.workersStarted };
      });
      assert.deepEqual(r, { hexes: [want], inWorker: true, started: workers }, `hardwareConcurrency ${cores}, vendor ${vendor}`);
      await context.close();
    }
  });
});

// The chunk sizes and the one reused buffer of this path are checked in reader.test.mjs.
test('reading without BYOB (WebKit\'s only path, forced here in every engine): workers and the main thread agree with BYOB reads, and hung reads restart', async () => {
  await withDemo([], async (demo, browser) => {
    const path = join(tempDir(), 'nobyob.bin');
    writeFileSync(path, randomBytes(6 << 20));
    const want = createHash('sha256').update(readFileSync(path)).digest('hex');
    const page = await open(browser, demo);
    await page.setInputFiles('#f', [path]);
    const r = await page.evaluate(async () => {
      const f = document.getElementById('f').files[0];
      const { hashBlob } = window.lib;
      return {
        byob: await hashBlob(f, 'SHA-256', { chunkSize: 65536 }),
        worker: await hashBlob(f, 'SHA-256', { chunkSize: 65536, _noByob: true }),
        main: await hashBlob(f, 'SHA-256', { chunkSize: 65536, _noByob: true, inWorker: false }),
        hung: await hashBlob(f, 'SHA-256', { chunkSize: 65536, _noByob: true, readStallMs: 50, _stallEveryNthRead: 2 }),
      };
    });
    for (const k of ['byob', 'worker', 'main', 'hung']) assert.equal(r[k].hex, want, k);
    assert.equal(r.worker.inWorker, true);
    assert.equal(r.main.inWorker, false);
    assert.equal(r.worker.readRestarts, 0);
    // Every 2nd read hangs. Reads are the engine's own pieces (Chromium: 2 MiB, Firefox: as much
    // as it has), so the count varies; the second read (at worst the one that would say "done")
    // always hangs, and each hang must be recovered from (the digest above).
    assert.ok(r.hung.readRestarts >= 1, `restarted ${r.hung.readRestarts} times`);
    assert.deepEqual(page.problems.filter((p) => p.startsWith('pageerror')), [], 'no uncaught errors');
  });
});
