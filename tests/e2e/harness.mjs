// Shared harness for the browser end-to-end tests: starts a real `readset-server demo` on
// free loopback ports with a fresh data folder, and a headless browser from the system:
// Chromium, or Firefox ESR (over WebDriver BiDi) when READSET_BROWSER=firefox.
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
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

/** Opens a page (in a new context of `browser`, or in the given context) that records console
 *  errors and uncaught exceptions into `page.problems`. */
export async function openPage(browserOrContext, url) {
  const page = await browserOrContext.newPage();
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => page.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(url);
  return page;
}

// ---------------------------------------------------------------------------------------------
// The production path offline (issue 20): `readset-server store` on TLS under the AWS host
// names, with a test CA from `readset-server dev-cert`, and `readset-server proxy --upstream aws
// --region us-east-1` resolving those names to it (`--upstream-resolve`) and trusting the CA
// (`--upstream-ca`). The page is served from its own origin, as a portal's would be.

/** The HealthOmics names the proxy calls in us-east-1, by host prefix. */
export const AWS_HOSTS = {
  'control-storage-': 'control-storage-omics.us-east-1.amazonaws.com',
  'storage-': 'storage-omics.us-east-1.amazonaws.com',
  'tags-': 'tags-omics.us-east-1.amazonaws.com',
};
const STORE_KEY = { id: 'AKIDLOCALREADSETSTORE', secret: 'local-readset-store-secret-do-not-use-in-production' };

function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/** Runs a readset-server subcommand, keeping its output for error messages. */
function runServer(args, env = {}) {
  const child = spawn(SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.out = '';
  child.stdout.on('data', (d) => { child.out += d; });
  child.stderr.on('data', (d) => { child.out += d; });
  return child;
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/** One HTTPS request trusting `ca`, to `addr` ("127.0.0.1:PORT") for the name `host` (SNI and
 *  Host); resolves to { status, headers, body }. */
export function httpsRequest({ ca, addr, host, method = 'GET', path, headers = {}, body = '' }) {
  const [hostname, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    const req = https.request({ hostname, port: Number(port), servername: host.split(':')[0], method, path, ca, headers: { host, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} https://${host}${path}: no answer in 20 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** SigV4 (service omics, us-east-1) headers for a JSON request to `host`, with the store's
 *  published local keys; written here from the algorithm so the store's check is tested
 *  against a second implementation. */
export function sigv4Headers(method, host, path, body) {
  const sha = (s) => createHash('sha256').update(s).digest('hex');
  const hmac = (k, s) => createHmac('sha256', k).update(s).digest();
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const scope = `${amzDate.slice(0, 8)}/us-east-1/omics/aws4_request`;
  const headers = { 'content-type': 'application/json', host, 'x-amz-content-sha256': sha(body), 'x-amz-date': amzDate };
  const names = Object.keys(headers).sort();
  const canonical = [method, path, '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), sha(body)].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha(canonical)].join('\n');
  let key = `AWS4${STORE_KEY.secret}`;
  for (const part of scope.split('/')) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${STORE_KEY.id}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}

async function waitUntil(what, check, child) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${what}: readset-server exited with ${child.exitCode}:\n${child.out}`);
    try { if (await check()) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not up after 200 tries:\n${child.out}`);
}

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css' };

/** Starts the AWS-shaped path; resolves to { pageUrl, storeAddr, dataDir, ca, local(path),
 *  stop }. `storeArgs` go to `readset-server store` (faults). `dataDir/store` is the store's
 *  data, as with startDemo, so readSetBytes(dataDir, id) works. */
export async function startAwsPath(storeArgs = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'readset-aws-'));
  const certDir = join(dataDir, 'certs');
  const dev = runServer(['dev-cert', '--out', certDir, '--region', 'us-east-1']);
  const devCode = await new Promise((r) => dev.once('exit', r));
  if (devCode !== 0) throw new Error(`dev-cert failed:\n${dev.out}`);
  const ca = readFileSync(join(certDir, 'ca.pem'));
  const [storePort, proxyPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
  const storeAddr = `127.0.0.1:${storePort}`;
  const store = runServer(['store', '--listen', storeAddr, '--data', join(dataDir, 'store'),
    '--tls-cert', join(certDir, 'cert.pem'), '--tls-key', join(certDir, 'key.pem'),
    ...Object.values(AWS_HOSTS).flatMap((h) => ['--host', h]), ...storeArgs]);
  const children = [store];
  const servers = [];
  const stop = async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    for (const c of children) await stopChild(c);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const local = async (path) => JSON.parse((await httpsRequest({ ca, addr: storeAddr, host: `localhost:${storePort}`, path })).body);
    await waitUntil('the TLS store', async () => (await local('/_local/stats')).partRequests !== undefined, store);
    const body = JSON.stringify({ name: 'aws-path e2e', eTagAlgorithmFamily: 'MD5up' });
    const created = await httpsRequest({ ca, addr: storeAddr, host: AWS_HOSTS['control-storage-'], method: 'POST', path: '/sequencestore',
      headers: sigv4Headers('POST', AWS_HOSTS['control-storage-'], '/sequencestore', body), body });
    if (created.status !== 200) throw new Error(`CreateSequenceStore: ${created.status} ${created.body}`);
    const sequenceStoreId = JSON.parse(created.body).id;

    // The page server: the test pages, the package, and the page's connection settings.
    const token = `aws-path-${randomBytes(12).toString('hex')}`;
    const tokens = join(dataDir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify([{ token, sub: 'e2e', stores: [sequenceStoreId] }]), { mode: 0o600 });
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    const pkg = process.env.READSET_PKG ?? new URL('../../pkg', import.meta.url).pathname;
    const pages = new URL('./pages', import.meta.url).pathname;
    const pageServer = http.createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      if (path === '/demo-config.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ endpoint: `${proxyUrl}/omics`, token, sequenceStoreId }));
      }
      if (path === '/favicon.ico') { res.writeHead(204); return res.end(); }
      const file = path.startsWith('/pkg/') ? join(pkg, path.slice(5)) : join(pages, path);
      if (path.includes('..') || !existsSync(file)) { res.writeHead(404); return res.end(); }
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
    });
    servers.push(pageServer);
    await new Promise((r) => pageServer.listen(0, '127.0.0.1', r));
    const pageUrl = `http://127.0.0.1:${pageServer.address().port}`;

    const proxy = runServer(['proxy', '--listen', `127.0.0.1:${proxyPort}`, '--upstream', 'aws', '--region', 'us-east-1',
      '--upstream-ca', join(certDir, 'ca.pem'),
      ...Object.values(AWS_HOSTS).flatMap((h) => ['--upstream-resolve', `${h}=${storeAddr}`]),
      '--tokens', tokens, '--allow-origin', pageUrl, '--rate-limit-per-sec', '0'],
    { AWS_ACCESS_KEY_ID: STORE_KEY.id, AWS_SECRET_ACCESS_KEY: STORE_KEY.secret, AWS_SESSION_TOKEN: '', AWS_PROFILE: '',
      AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' });
    children.push(proxy);
    await waitUntil('the AWS-mode proxy', async () => (await fetch(`${proxyUrl}/health`)).ok, proxy);
    return { pageUrl, storeAddr, dataDir, ca, local, sequenceStoreId, proxyLogs: () => proxy.out, storeLogs: () => store.out, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
