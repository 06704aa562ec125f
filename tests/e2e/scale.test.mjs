// Scale at the API's limits, in the browser against a real `readset-server demo` (proxy + local
// store): the largest file HealthOmics takes (10,000 parts of 100 MiB per source, as a sparse
// file never read whole), one byte more, and an upload of 10,000 parts resumed after a reload
// at about part 5,000. Small parts keep the 10,000-part run to a minute on two cores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, ftruncateSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startDemo, launchBrowser, openPage, chromiumOnly } from './harness.mjs';
import { PAGES, tempDir, stats, waitFor, readSetBytes } from './upload-helpers.mjs';

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;
const MAX_PART = 100 * MiB;

/** A sparse file of `size` bytes (ftruncate, as `truncate -s` does): nothing is written. */
function sparse(path, size) {
  const fd = openSync(path, 'w');
  try { ftruncateSync(fd, size); } finally { closeSync(fd); }
  return path;
}

async function ready(page) {
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
}

test('the largest file the API allows (10,000 x 100 MiB, sparse) is planned and started, and one byte more is refused before any request', async () => {
  const demo = await startDemo(['--www', PAGES]);
  const browser = await launchBrowser();
  const dir = tempDir();
  try {
    const largest = sparse(join(dir, 'largest.ubam'), MAX_PARTS * MAX_PART);
    const over = sparse(join(dir, 'over.ubam'), MAX_PARTS * MAX_PART + 1);
    const page = await openPage(browser, `${demo.pageUrl}/index.html`);
    await ready(page);
    await page.setInputFiles('#f', [over, largest]);

    // The options are checked when the uploader is made: it throws, and nothing is started.
    const refused = await page.evaluate(() => {
      try {
        window.startUploads({ sourceFileType: 'UBAM', partSize: 100 * 1024 * 1024 }, 0);
        return { made: true };
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    });
    assert.equal(refused.code, 'invalid_input', JSON.stringify(refused));
    assert.equal(await page.evaluate(() => window.uploads.length), 0);
    assert.match(refused.message, /1048576000001 bytes needs 10001 parts of 104857600 bytes; at most 10000/);
    assert.equal((await stats(demo.storeUrl)).partRequests, 0, 'no part was sent');
    assert.deepEqual(await page.evaluate(() => window.listAbandoned()), [], 'no upload was created');

    await page.evaluate(() => {
      window.progress = { partsTotal: 0, bytesTotal: 0 };
      window.startUploads({
        sourceFileType: 'UBAM', partSize: 100 * 1024 * 1024, concurrency: 2,
        onProgress: (p) => { window.progress = { partsTotal: p.partsTotal, bytesTotal: p.bytesTotal }; },
      }, 1);
    });
    // The store answers the first parts (each hashed from the sparse file's zeros), then abort.
    await waitFor('the first parts stored', async () => (await stats(demo.storeUrl)).partsStored >= 2, { tries: 600, everyMs: 100 });
    const progress = await page.evaluate(() => window.progress);
    assert.equal(progress.partsTotal, MAX_PARTS);
    assert.equal(progress.bytesTotal, MAX_PARTS * MAX_PART);
    await page.evaluate(() => window.uploads[0].up.abort());
    await waitFor('the abort', () => page.evaluate(() => window.allDone()), { tries: 300, everyMs: 100 });
    const [aborted] = await page.evaluate(() => window.results());
    assert.equal(aborted.code, 'aborted', aborted.message);
    assert.ok((await stats(demo.storeUrl)).partRequests < 10, 'only the first parts were sent');
    assert.deepEqual((await page.evaluate(() => window.listAbandoned())).filter((u) => u.onServer), [], 'the upload was aborted on the server');
  } finally {
    await browser.close();
    await demo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Run in one engine: it is about the library's and the servers' bookkeeping at 10,000 parts, which
// is the same code in every engine, and it takes a minute or two on two cores.
test('an upload of 10,000 parts completes after a reload at about part 5,000, sending only the parts the server lacks',
  chromiumOnly('one engine is enough for the 10,000-part bookkeeping (same code everywhere) and it takes minutes'), async () => {
  const demo = await startDemo(['--www', PAGES]);
  const browser = await launchBrowser();
  const dir = tempDir();
  try {
    const PART = 4096;
    const path = join(dir, 'many.ubam');
    // Random bytes behind the gzip signature: the store checks a BAM's leading bytes only.
    const bytes = randomBytes(MAX_PARTS * PART);
    bytes[0] = 0x1f;
    bytes[1] = 0x8b;
    writeFileSync(path, bytes);
    const opts = { sourceFileType: 'UBAM', partSize: PART, concurrency: 8, resume: 'auto' };
    const page = await openPage(browser, `${demo.pageUrl}/index.html`);
    await ready(page);
    await page.setInputFiles('#f', [path]);
    await page.evaluate((o) => window.startUploads(o), opts);
    const firstId = await waitFor('the upload id', () => page.evaluate(() => window.uploadIds()[0]));
    await waitFor('half the parts stored', async () => (await stats(demo.storeUrl)).partsStored >= MAX_PARTS / 2, { tries: 2400, everyMs: 100 });

    await page.reload();
    await ready(page);
    await page.setInputFiles('#f', [path]);
    const onServer = await page.evaluate((id) => window.serverParts(id), firstId);
    assert.ok(onServer.length >= MAX_PARTS / 2 && onServer.length < MAX_PARTS, `the reload landed mid-upload (${onServer.length} parts held)`);
    // The saved record counts what this browser saw confirmed (constant size, however many parts).
    const [saved] = await page.evaluate(() => window.findResumable());
    assert.equal(saved.uploadId, firstId);
    assert.ok(saved.partsConfirmed > 0 && saved.partsConfirmed <= onServer.length, `${saved.partsConfirmed} counted, ${onServer.length} held`);
    assert.equal(saved.bytesConfirmed, saved.partsConfirmed * PART);
    assert.equal(saved.parts, undefined, 'no per-part list in the record');
    const before = (await stats(demo.storeUrl)).partRequests;
    await page.evaluate((o) => window.startUploads(o), opts);
    await waitFor('the resumed upload to finish', () => page.evaluate(() => window.allDone()), { tries: 2400, everyMs: 250 });
    const [r] = await page.evaluate(() => window.results());
    assert.equal(r.ok, true, `${r.code} ${r.message}`);
    assert.equal(r.uploadId, firstId, 'the same upload was continued');
    assert.equal(r.parts, MAX_PARTS);
    const sent = (await stats(demo.storeUrl)).partRequests - before;
    assert.equal(sent, MAX_PARTS - onServer.length, `sent ${sent} parts after the reload; the server held ${onServer.length}`);
    assert.ok(readSetBytes(demo.dataDir, r.readSetId).equals(readFileSync(path)), 'the read set equals the source');
  } finally {
    await browser.close();
    await demo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
