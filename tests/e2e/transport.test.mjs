// The two transports (issue 22): JSON API calls go over `fetch` (gloo-net), part bodies over
// XMLHttpRequest (the only one that reports upload progress). Checked from the browser's own
// Resource Timing entries of a real upload through the demo proxy, and for the failures only a
// `fetch` path has: a JSON call whose connection is dropped is retried, and one that never gets
// an answer fails as `network` after its attempts, with nothing hidden in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { startDemo, launchBrowser, openPage } from './harness.mjs';
import { PAGES, fastqGz, tempDir, waitFor, readSetBytes } from './upload-helpers.mjs';

/** A loopback HTTP server answering CORS preflights, with `handle(req, res, n)` for the rest
 *  (n counts the non-preflight requests, from 1). */
async function jsonServer(handle) {
  const seen = [];
  const server = createServer((req, res) => {
    const cors = {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Headers': 'authorization, content-type',
      'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE',
    };
    // `Connection: close`: every request comes on a new connection. A browser resends a
    // request by itself when a kept-alive connection it reused closes without an answer,
    // which would blur the attempt count.
    if (req.method === 'OPTIONS') { res.writeHead(204, { ...cors, Connection: 'close' }); res.end(); return; }
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body, contentType: req.headers['content-type'], authorization: req.headers.authorization });
      handle(req, res, seen.length, cors);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

test('an upload sends its JSON calls with fetch and its part bodies with XMLHttpRequest', async () => {
  const demo = await startDemo(['--www', PAGES]);
  const browser = await launchBrowser();
  try {
    const path = fastqGz(tempDir(), 'transport.fastq.gz', 6000, 41);
    const parts = Math.ceil(readFileSync(path).length / 65536);
    const page = await openPage(browser, `${demo.pageUrl}/index.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
    await page.setInputFiles('#f', [path]);
    await page.evaluate(() => window.startUploads());
    await waitFor('the upload to finish', () => page.evaluate(() => window.allDone()), { tries: 600, everyMs: 250 });
    const [r] = await page.evaluate(() => window.results());
    assert.equal(r.ok, true, `${r.code} ${r.message}`);
    assert.ok(readSetBytes(demo.dataDir, r.readSetId).equals(readFileSync(path)), 'the read set equals the source');

    const calls = await page.evaluate(() => {
      const endpoint = new URL(window.cfg.endpoint, location.href).href;
      return performance.getEntriesByType('resource')
        .filter((e) => e.name.startsWith(endpoint))
        .map((e) => ({ path: new URL(e.name).pathname, via: e.initiatorType }));
    });
    const isPart = (c) => /\/part$/.test(c.path);
    const partCalls = calls.filter(isPart);
    const jsonCalls = calls.filter((c) => !isPart(c));
    assert.equal(partCalls.length, parts, `one PUT per part: ${JSON.stringify(calls)}`);
    assert.deepEqual([...new Set(partCalls.map((c) => c.via))], ['xmlhttprequest'], 'part bodies go over XHR (upload progress)');
    assert.ok(jsonCalls.some((c) => /\/upload$/.test(c.path)), `CreateMultipartReadSetUpload was seen: ${JSON.stringify(jsonCalls)}`);
    assert.ok(jsonCalls.some((c) => /\/complete$/.test(c.path)), 'CompleteMultipartReadSetUpload was seen');
    assert.deepEqual([...new Set(jsonCalls.map((c) => c.via))], ['fetch'], `JSON calls go over fetch: ${JSON.stringify(jsonCalls)}`);
    assert.deepEqual(page.problems.filter((p) => p.startsWith('pageerror') || p.startsWith('request failed')), [], 'no uncaught errors or failed requests');
  } finally {
    await browser.close();
    await demo.stop();
  }
});

test('a JSON call whose connection drops is retried; one that never gets an answer fails as network after its attempts', async () => {
  const demo = await startDemo(['--www', PAGES]);
  const browser = await launchBrowser();
  // First ListReadSets: the connection is closed without an answer. Second: a real answer.
  const flaky = await jsonServer((req, res, n, cors) => {
    if (n === 1) { req.socket.destroy(); return; }
    res.writeHead(200, { ...cors, 'Content-Type': 'application/json', Connection: 'close' });
    res.end(JSON.stringify({ readSets: [] }));
  });
  // Every request: the connection is closed without an answer.
  const dead = await jsonServer((req) => req.socket.destroy());
  try {
    const page = await openPage(browser, `${demo.pageUrl}/index.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
    const call = (endpoint) => page.evaluate(async (endpoint) => {
      const client = new window.lib.SequenceStoreClient({
        endpoint, token: 'tok', sequenceStoreId: '1234567890', retry: { maxAttempts: 3, baseDelayMs: 20, jitter: false },
      });
      try { return { ok: true, value: await client.listReadSets() }; } catch (e) { return { ok: false, code: e.code, message: e.message, attempts: e.attempts, retryable: e.retryable }; }
    }, endpoint);

    const got = await call(flaky.url);
    assert.equal(got.ok, true, `${got.code} ${got.message}`);
    assert.deepEqual(got.value.readSets ?? [], []);
    assert.equal(flaky.seen.length, 2, 'dropped once, answered the second time');
    for (const s of flaky.seen) {
      assert.equal(s.method, 'POST');
      assert.match(s.url, /^\/sequencestore\/1234567890\/readsets/);
      assert.equal(s.authorization, 'Bearer tok', 'the bearer token is sent');
      assert.equal(s.contentType, 'application/json');
    }

    const failed = await call(dead.url);
    assert.equal(failed.ok, false);
    assert.equal(failed.code, 'network');
    assert.equal(failed.attempts, 3, 'the error names its attempts');
    assert.equal(dead.seen.length, 3, `three attempts reached the server, no more: ${JSON.stringify(dead.seen)}`);
    assert.match(failed.message, /POST http:\/\/127\.0\.0\.1:\d+\/sequencestore\/1234567890\/readsets.* failed: network error/);
  } finally {
    await flaky.close();
    await dead.close();
    await browser.close();
    await demo.stop();
  }
});
