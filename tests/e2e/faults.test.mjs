// Uploads through injected faults: 10% of part uploads answered 500/503 and the store
// throttled to 5 part requests per second (429 + Retry-After), 5% of connections dropped
// mid-body. Every upload must complete and every stored read set must equal its source file
// byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startDemo, launchBrowser, openPage } from './harness.mjs';
import { PAGES, fastqGz, tempDir, stats, waitFor, readSetBytes } from './upload-helpers.mjs';

test('with 10% part failures, throttling and dropped connections, three parallel uploads complete and store exactly the source bytes', async () => {
  const demo = await startDemo(['--www', PAGES, '--fault-part-error-rate', '0.1', '--fault-throttle-rps', '5', '--fault-drop-rate', '0.05']);
  const browser = await launchBrowser();
  try {
    const dir = tempDir();
    const paths = [1, 2, 3].map((n) => fastqGz(dir, `f${n}.fastq.gz`, 15000, n));
    const page = await openPage(browser, `${demo.pageUrl}/index.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
    await page.setInputFiles('#f', paths);
    // A generous retry budget: with 10% failures and throttling a part may need several tries.
    await page.evaluate(() => window.startUploads({ retry: { maxAttempts: 20, baseDelayMs: 100, maxDelayMs: 2000 } }));
    await waitFor('the uploads to finish', () => page.evaluate(() => window.allDone()), { tries: 1200, everyMs: 250 });
    const results = await page.evaluate(() => window.results());
    for (const [i, r] of results.entries()) {
      assert.equal(r.ok, true, `upload ${i}: ${r.code} ${r.message}`);
      assert.equal(r.status, 'ACTIVE');
      assert.ok(readSetBytes(demo.dataDir, r.readSetId).equals(readFileSync(paths[i])), `read set ${i} equals its source`);
    }
    const s = await stats(demo.storeUrl);
    assert.ok(s.injected.errors > 0, `faults were injected: ${JSON.stringify(s)}`);
    assert.ok(s.injected.throttled > 0, `throttling happened: ${JSON.stringify(s)}`);
    assert.ok(s.partRequests > s.partsStored, 'failed attempts were retried');
    // Nothing is left behind as an open upload.
    const open = await page.evaluate(() => window.listAbandoned());
    assert.deepEqual(open.filter((u) => u.onServer), []);
  } finally {
    await browser.close();
    await demo.stop();
  }
});

test('a part attempt with no progress for stallTimeoutMs is aborted and retried', async () => {
  // Every part answer is held back 3 s by the store: with a 500 ms stall timeout each attempt
  // is cut off, retried once, and the upload then fails naming the stall.
  const demo = await startDemo(['--www', PAGES, '--fault-latency-ms', '3000']);
  const browser = await launchBrowser();
  try {
    const path = fastqGz(tempDir(), 'stall.fastq.gz', 200, 5);
    const page = await openPage(browser, `${demo.pageUrl}/index.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
    await page.setInputFiles('#f', [path]);
    await page.evaluate(() => window.startUploads({ stallTimeoutMs: 500, concurrency: 1, retry: { maxAttempts: 2, baseDelayMs: 10 } }));
    await waitFor('the upload to give up', () => page.evaluate(() => window.allDone()), { tries: 400, everyMs: 100 });
    const [r] = await page.evaluate(() => window.results());
    assert.equal(r.ok, false);
    assert.equal(r.code, 'network');
    assert.match(r.message, /no upload progress for 500 ms/);
    const s = await waitFor('both attempts to reach the store', async () => {
      const st = await stats(demo.storeUrl);
      return st.partRequests >= 2 ? st : null;
    }, { tries: 100, everyMs: 100 });
    assert.equal(s.partRequests, 2, 'one attempt and one retry');
  } finally {
    await browser.close();
    await demo.stop();
  }
});

test('two uploads on one page share its request queue: at 3 requests per second against a store allowing 5, nothing is throttled and both complete', async () => {
  const demo = await startDemo(['--www', PAGES, '--fault-throttle-rps', '5']);
  const browser = await launchBrowser();
  try {
    const dir = tempDir();
    const paths = [1, 2].map((n) => fastqGz(dir, `q${n}.fastq.gz`, 4000, 20 + n));
    const page = await openPage(browser, `${demo.pageUrl}/index.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
    await page.setInputFiles('#f', paths);
    await page.evaluate(() => window.lib.configureRequestQueue({ requestsPerSecond: 3 }));
    await page.evaluate(() => window.startUploads({ concurrency: 4 }));
    await waitFor('the uploads to finish', () => page.evaluate(() => window.allDone()), { tries: 1200, everyMs: 250 });
    const results = await page.evaluate(() => window.results());
    for (const [i, r] of results.entries()) {
      assert.equal(r.ok, true, `upload ${i}: ${r.code} ${r.message}`);
      assert.ok(readSetBytes(demo.dataDir, r.readSetId).equals(readFileSync(paths[i])), `read set ${i} equals its source`);
    }
    const s = await stats(demo.storeUrl);
    assert.equal(s.injected.throttled, 0, `the page stayed within the store's rate: ${JSON.stringify(s)}`);
    assert.equal(s.partRequests, s.partsStored, 'every part was sent once');
    assert.ok(s.partsStored >= 6, `enough parts to exceed the rate without the queue: ${s.partsStored}`);
  } finally {
    await browser.close();
    await demo.stop();
  }
});
