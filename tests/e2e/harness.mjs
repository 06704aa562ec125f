// Shared harness for the browser end-to-end tests: starts a real `readset-server demo` on
// free loopback ports with a fresh data folder, and a headless browser from the system:
// Chromium, or Firefox ESR (over WebDriver BiDi) when READSET_BROWSER=firefox.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, firefox } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic',
];

const SERVER = process.env.READSET_SERVER ?? new URL('../../target/debug/readset-server', import.meta.url).pathname;

/** Starts `readset-server demo` on port 0; resolves to { pageUrl, storeUrl, dataDir, stop }. */
export async function startDemo(extraArgs = []) {
  // Flags given in extraArgs win over these defaults; a given --data folder is kept on stop.
  const given = (flag) => extraArgs.includes(flag);
  const ownData = !given('--data');
  const dataDir = ownData ? mkdtempSync(join(tmpdir(), 'readset-e2e-')) : extraArgs[extraArgs.indexOf('--data') + 1];
  const args = ['demo', ...extraArgs];
  if (!given('--listen')) args.push('--listen', '127.0.0.1:0');
  if (!given('--store-listen')) args.push('--store-listen', '127.0.0.1:0');
  if (ownData) args.push('--data', dataDir);
  if (process.env.READSET_WWW && !given('--www')) args.push('--www', process.env.READSET_WWW);
  if (process.env.READSET_PKG) args.push('--pkg', process.env.READSET_PKG);
  const child = spawn(SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const urls = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`readset-server did not start in 20 s:\n${out}\n${err}`)), 20_000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`readset-server exited with ${code}:\n${err}`)); });
    child.stdout.on('data', (d) => {
      out += d;
      const page = out.match(/open (http:\/\/127\.0\.0\.1:\d+)/);
      const store = out.match(/local store: (http:\/\/127\.0\.0\.1:\d+)/);
      if (page && store) { clearTimeout(timer); resolve({ pageUrl: page[1], storeUrl: store[1] }); }
    });
  });
  return {
    ...urls,
    dataDir,
    logs: () => err,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      if (ownData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The engine the suite runs in: READSET_BROWSER, `chromium` (default) or `firefox`. */
export const BROWSER = process.env.READSET_BROWSER || 'chromium';
if (!['chromium', 'firefox'].includes(BROWSER)) throw new Error(`READSET_BROWSER must be chromium or firefox, not ${JSON.stringify(BROWSER)}`);

/** For tests that cannot run outside Chromium: `test(name, chromiumOnly('why'), fn)` skips
 *  them, saying why, in other engines. */
export function chromiumOnly(why) {
  return BROWSER === 'chromium' ? {} : { skip: `Chromium only: ${why}` };
}

/** Launches the system Chromium (or Firefox ESR, see BROWSER) headless. */
export function launchBrowser() {
  if (BROWSER === 'firefox') {
    return firefox.launch({ channel: 'moz-firefox', executablePath: process.env.FIREFOX_BIN ?? '/usr/bin/firefox-esr', headless: true });
  }
  return chromium.launch({ executablePath: process.env.CHROME_BIN ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** Opens a page that records console errors and uncaught exceptions into `page.problems`. */
export async function openPage(browser, url) {
  const page = await browser.newPage();
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => page.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(url);
  return page;
}
