// Resume after a page reload, and abort: the store counts part requests (GET /_local/stats),
// and the stored read set is compared byte for byte with the source file. Part uploads are
// slowed by --fault-latency-ms so the reload (or the server restart) lands mid-upload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { startDemo, launchBrowser, openPage } from './harness.mjs';
import { PAGES, fastqGz, tempDir, stats, waitFor, readSetBytes } from './upload-helpers.mjs';

async function ready(page) {
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
}

test('after a reload mid-upload, selecting the same file again sends only the parts the server lacks', async () => {
  const demo = await startDemo(['--www', PAGES, '--fault-latency-ms', '150']);
  const browser = await launchBrowser();
  try {
    const path = fastqGz(tempDir(), 'reload.fastq.gz', 15000, 7);
    const total = Math.ceil(readFileSync(path).length / 65536);
    const page = await openPage(browser, `${demo.pageUrl}/index.html`);
    await ready(page);
    await page.setInputFiles('#f', [path]);
    await page.evaluate(() => window.startUploads({ resume: 'auto', concurrency: 2 }));
    const firstId = await waitFor('the upload id', () => page.evaluate(() => window.uploadIds()[0]));
    await waitFor('some parts stored', async () => (await stats(demo.storeUrl)).partsStored >= 5);
    assert.ok((await stats(demo.storeUrl)).partsStored < total, 'the reload must land mid-upload');

    await page.reload();
    await ready(page);
    await page.setInputFiles('#f', [path]);
    const saved = await page.evaluate(() => window.findResumable());
    assert.equal(saved.length, 1, 'the upload is offered for resuming');
    assert.equal(saved[0].uploadId, firstId);
    const onServer = await page.evaluate((id) => window.serverParts(id), firstId);
    // The record counts the parts this browser saw confirmed (never more than the server holds).
    assert.ok(saved[0].partsConfirmed > 0 && saved[0].partsConfirmed <= onServer.length, `${saved[0].partsConfirmed} counted, ${onServer.length} held`);
    assert.ok(saved[0].bytesConfirmed > (saved[0].partsConfirmed - 1) * 65536 && saved[0].bytesConfirmed <= saved[0].partsConfirmed * 65536);
    const before = (await stats(demo.storeUrl)).partRequests;

    await page.evaluate(() => window.startUploads({ resume: 'auto', concurrency: 2 }));
    await waitFor('the resumed upload to finish', () => page.evaluate(() => window.allDone()), { tries: 1200, everyMs: 250 });
    const [r] = await page.evaluate(() => window.results());
    assert.equal(r.ok, true, `${r.code} ${r.message}`);
    assert.equal(r.uploadId, firstId, 'the same upload was continued');
    assert.equal(r.parts, total);
    const sent = (await stats(demo.storeUrl)).partRequests - before;
    assert.equal(sent, total - onServer.length, `sent ${sent} parts after the reload; the server held ${onServer.length} of ${total}`);
    assert.ok(readSetBytes(demo.dataDir, r.readSetId).equals(readFileSync(path)), 'the read set equals the source');
    assert.deepEqual(await page.evaluate(() => window.findResumable()), [], 'a completed upload leaves no local state');
  } finally {
    await browser.close();
    await demo.stop();
  }
});

test('aborting leaves no upload on the server and no local state, and abortUpload clears a saved upload', async () => {
  const demo = await startDemo(['--www', PAGES, '--fault-latency-ms', '150']);
  const browser = await launchBrowser();
  try {
    const path = fastqGz(tempDir(), 'abort.fastq.gz', 15000, 9);
    const page = await openPage(browser, `${demo.pageUrl}/index.html`);
    await ready(page);
    await page.setInputFiles('#f', [path]);
    await page.evaluate(() => window.startUploads({ resume: 'auto', concurrency: 2 }));
    const id = await waitFor('the upload id', () => page.evaluate(() => window.uploadIds()[0]));
    await waitFor('some parts stored', async () => (await stats(demo.storeUrl)).partsStored >= 2);
    await page.evaluate(() => window.uploads[0].up.abort());
    await waitFor('start() to reject', () => page.evaluate(() => window.allDone()));
    assert.equal((await page.evaluate(() => window.results()))[0].code, 'aborted');
    const listed = await page.evaluate(() => window.listAbandoned());
    assert.deepEqual(listed.filter((u) => u.uploadId === id), [], 'neither the server nor this browser keeps the upload');
    assert.deepEqual(await page.evaluate(() => window.findResumable()), []);

    // An upload left behind by a reload: listed with its local state, then aborted by id.
    await page.evaluate(() => window.startUploads({ resume: 'auto', concurrency: 2 }));
    const second = await waitFor('the second upload id', () => page.evaluate(() => window.uploadIds()[1]));
    await page.reload();
    await ready(page);
    await page.setInputFiles('#f', [path]);
    const abandoned = await waitFor('the abandoned upload to be listed', async () => {
      const l = await page.evaluate(() => window.listAbandoned());
      return l.find((u) => u.uploadId === second && u.onServer && u.local);
    }, { tries: 50, everyMs: 200 });
    assert.equal(abandoned.local.uploadId, second);
    const out = await page.evaluate((u) => window.abortUpload(u), second);
    assert.deepEqual(out, { abortedOnServer: true, localRecordsRemoved: 1 });
    assert.deepEqual((await page.evaluate(() => window.listAbandoned())).filter((u) => u.uploadId === second), []);
    assert.deepEqual(await page.evaluate(() => window.findResumable()), []);
  } finally {
    await browser.close();
    await demo.stop();
  }
});

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

test('stopping and restarting the server mid-upload still ends in a complete, correct read set', async () => {
  const [pagePort, storePort] = [await freePort(), await freePort()];
  const data = tempDir();
  const args = ['--www', PAGES, '--listen', `127.0.0.1:${pagePort}`, '--store-listen', `127.0.0.1:${storePort}`,
    '--data', data, '--token', 'restart-test-token', '--fault-latency-ms', '150'];
  let demo = await startDemo(args);
  const browser = await launchBrowser();
  try {
    const path = fastqGz(tempDir(), 'restart.fastq.gz', 15000, 11);
    const page = await openPage(browser, `${demo.pageUrl}/index.html`);
    await ready(page);
    await page.setInputFiles('#f', [path]);
    // Retries must outlast the restart: up to 30 attempts, at most 2 s apart.
    await page.evaluate(() => window.startUploads({ concurrency: 2, retry: { maxAttempts: 30, baseDelayMs: 200, maxDelayMs: 2000 } }));
    await waitFor('some parts stored', async () => (await stats(demo.storeUrl)).partsStored >= 5);
    await demo.stop();
    demo = await startDemo(args);
    await waitFor('the upload to finish', () => page.evaluate(() => window.allDone()), { tries: 1200, everyMs: 250 });
    const [r] = await page.evaluate(() => window.results());
    assert.equal(r.ok, true, `${r.code} ${r.message}`);
    assert.equal(r.status, 'ACTIVE');
    assert.ok(readSetBytes(data, r.readSetId).equals(readFileSync(path)), 'the read set equals the source');
  } finally {
    await browser.close();
    await demo.stop();
    rmSync(data, { recursive: true, force: true });
  }
});

test('while the browser is offline parts wait for the network instead of spending their retries', async () => {
  const demo = await startDemo(['--www', PAGES, '--fault-latency-ms', '150']);
  const browser = await launchBrowser();
  try {
    const path = fastqGz(tempDir(), 'offline.fastq.gz', 15000, 13);
    const page = await openPage(browser, `${demo.pageUrl}/index.html`);
    await ready(page);
    await page.setInputFiles('#f', [path]);
    // Two attempts 10 ms apart: without offline waiting, going offline would fail the upload at once.
    await page.evaluate(() => window.startUploads({ concurrency: 2, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 } }));
    await waitFor('some parts stored', async () => (await stats(demo.storeUrl)).partsStored >= 3);
    await page.context().setOffline(true);
    assert.equal(await page.evaluate(() => navigator.onLine), false);
    // Offline for 20 polls of 100 ms: the upload must still be waiting, not failed.
    for (let i = 0; i < 20; i++) {
      assert.equal(await page.evaluate(() => window.allDone()), false, `the upload ended while offline: ${JSON.stringify(await page.evaluate(() => window.results()))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.context().setOffline(false);
    await waitFor('the upload to finish', () => page.evaluate(() => window.allDone()), { tries: 1200, everyMs: 250 });
    const [r] = await page.evaluate(() => window.results());
    assert.equal(r.ok, true, `${r.code} ${r.message}`);
    assert.ok(readSetBytes(demo.dataDir, r.readSetId).equals(readFileSync(path)), 'the read set equals the source');
  } finally {
    await browser.close();
    await demo.stop();
  }
});
