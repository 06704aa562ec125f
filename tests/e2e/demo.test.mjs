// The demo page served by `readset-server demo` loads the wasm package cleanly.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startDemo, launchBrowser, openPage } from './harness.mjs';

let demo;
let browser;
before(async () => { demo = await startDemo(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await demo?.stop(); });

test('the demo page loads the wasm package without console errors', async () => {
  const page = await openPage(browser, demo.pageUrl);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  const cargoVersion = readFileSync(new URL('../../Cargo.toml', import.meta.url), 'utf8').match(/^version = "(.+)"/m)[1];
  assert.equal(await page.textContent('#status'), `readset-upload ${cargoVersion} loaded.`);
  assert.deepEqual(page.problems, []);
});

test('the package is served with the wasm MIME type', async () => {
  const res = await fetch(`${demo.pageUrl}/pkg/readset_upload_bg.wasm`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/wasm');
});
