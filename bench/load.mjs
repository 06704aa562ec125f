// The load run (`./run bench --only=load`, also part of the full run): many portal users at once
// through two proxy instances in front of one local store with its faults on.
//
// 8 users (distinct HS256 tokens, one browser context each, so each has its own IndexedDB),
// each with 2 concurrent uploads, the first through proxy A and the second through proxy B
// (both share one upload-grant key, as instances behind a load balancer do). The store answers
// 5 % of part uploads with 500/503, drops 2 % of connections mid-body and throttles parts to
// 10 per second. Checked: every upload completes, every stored read set equals its source byte
// for byte, each user's ListMultipartReadSetUploads (through either proxy) shows only that
// user's uploads, and another user's abort with a forged grant is refused while the upload
// goes on. Reported: each proxy's peak RSS against 64 MiB + 2 MiB per part in flight.
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

const MiB = 1024 * 1024;
const b64url = (b) => Buffer.from(b).toString('base64url');

/** An HS256 JWT as a portal backend mints it. */
export function mintJwt(secret, claims) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Starts a readset-server child; resolves once `ready(stdout)` returns a value. */
export function startChild(bin, args, env, ready, what) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 20 s:\n${err}`)), 20_000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited with ${code}:\n${err}`)); });
    child.stdout.on('data', (d) => {
      out += d;
      const v = ready(out);
      if (v) { clearTimeout(timer); resolve(v); }
    });
  });
  return { child, started, logs: () => err };
}

/** Starts `readset-server demo` with `args`; `started` resolves to `{ pageUrl, storeUrl }` from
 *  the lines it prints. */
export function startDemoServer(bin, args) {
  return startChild(bin, ['demo', ...args], {}, (out) => {
    const p = out.match(/open (http:\/\/127\.0\.0\.1:\d+)/), s = out.match(/local store: (http:\/\/127\.0\.0\.1:\d+)/);
    return p && s && { pageUrl: p[1], storeUrl: s[1] };
  }, 'readset-server demo');
}

export async function waitHealthy(url, what) {
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${url}/health`)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer /health in 20 s`);
}

export async function stop(child) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/**
 * Runs the load scenario. `S` sizes it: `{ users, uploadsPerUser, fileBytes, partSize,
 * concurrency }`. Returns `{ rows, details }`; `rows` are `[what, value, unit, limit?]`.
 */
export async function loadRun({ serverBin, pkgDir, pagesDir, work, browser, procStatus, log, S }) {
  const secret = randomBytes(48).toString('hex');
  const grantKey = join(work, 'grant.key');
  writeFileSync(grantKey, randomBytes(48).toString('hex'));
  chmodSync(grantKey, 0o600);
  const dataDir = join(work, 'load-data');
  const demo = startDemoServer(serverBin, ['--listen', '127.0.0.1:0', '--store-listen', '127.0.0.1:0', '--data', dataDir,
    '--www', pagesDir, '--pkg', pkgDir, '--fault-part-error-rate', '0.05', '--fault-drop-rate', '0.02', '--fault-throttle-rps', '10']);
  const children = [demo.child];
  try {
    const { pageUrl, storeUrl } = await demo.started;
    const { sequenceStoreId } = await (await fetch(`${pageUrl}/demo-config.json`)).json();
    // Two proxy instances: same upstream, same JWT secret and grant key, AWS keys of the local
    // store from the environment (the standard credential chain), never from argv.
    const proxies = [];
    for (const name of ['A', 'B']) {
      const port = await freePort();
      const p = startChild(serverBin, ['proxy', '--listen', `127.0.0.1:${port}`, '--upstream', storeUrl, '--allow-origin', pageUrl], {
        AWS_ACCESS_KEY_ID: 'AKIDLOCALREADSETSTORE', AWS_SECRET_ACCESS_KEY: 'local-readset-store-secret-do-not-use-in-production',
        AWS_REGION: 'us-east-1', READSET_JWT_SECRET: secret, READSET_UPLOAD_GRANT_KEY_FILE: grantKey,
      }, () => null, `proxy ${name}`);
      p.started.catch(() => {});
      children.push(p.child);
      const url = `http://127.0.0.1:${port}`;
      await waitHealthy(url, `proxy ${name}`);
      proxies.push({ name, url, pid: p.child.pid, endpoint: `${url}/omics`, logs: p.logs });
    }

    const users = Array.from({ length: S.users }, (_, i) => {
      const sub = `load-user-${i + 1}`;
      return { sub, token: mintJwt(secret, { sub, exp: Math.floor(Date.now() / 1000) + 3600, stores: [sequenceStoreId] }) };
    });
    // One file per upload: random bytes behind the gzip signature (the store checks a BAM's
    // leading bytes only).
    for (const [u, user] of users.entries()) {
      user.files = Array.from({ length: S.uploadsPerUser }, (_, k) => {
        const bytes = randomBytes(S.fileBytes);
        bytes[0] = 0x1f;
        bytes[1] = 0x8b;
        const path = join(work, `load-u${u + 1}-${k + 1}.ubam`);
        writeFileSync(path, bytes);
        return path;
      });
    }

    log(`load: ${S.users} users x ${S.uploadsPerUser} uploads of ${S.fileBytes / MiB} MiB through 2 proxies, faults on`);
    const t0 = Date.now();
    for (const user of users) {
      user.context = await browser.newContext();
      user.page = await user.context.newPage();
      await user.page.goto(`${pageUrl}/load.html`);
      await user.page.waitForFunction(() => window.loadReady === true, null, { timeout: 30_000 });
      await user.page.setInputFiles('#f', user.files);
    }
    for (const user of users) {
      for (let k = 0; k < S.uploadsPerUser; k++) {
        const proxy = proxies[k % proxies.length];
        await user.page.evaluate((o) => window.startUpload(o), {
          endpoint: proxy.endpoint, token: user.token, sequenceStoreId, index: k, partSize: S.partSize, concurrency: S.concurrency,
        });
      }
    }
    const peaks = proxies.map(() => 0);
    const sample = setInterval(() => proxies.forEach((p, i) => { peaks[i] = Math.max(peaks[i], procStatus(p.pid).rss); }), 100);

    // Isolation, while the uploads run: each user's list through either proxy holds only that
    // user's uploads; another user's abort is refused.
    for (const user of users) {
      user.ids = await waitUntil(`upload ids of ${user.sub}`, async () => {
        const ids = await user.page.evaluate(() => window.uploadIds());
        return ids.every(Boolean) && ids;
      });
    }
    let listsChecked = 0;
    let ownSeen = 0;
    const foreign = [];
    for (const user of users) {
      for (const proxy of proxies) {
        const r = await fetch(`${proxy.endpoint}/sequencestore/${sequenceStoreId}/uploads`, {
          method: 'POST', headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json', origin: pageUrl }, body: '{}',
        });
        if (!r.ok) throw new Error(`ListMultipartReadSetUploads for ${user.sub} through proxy ${proxy.name}: ${r.status} ${await r.text()}`);
        for (const u of (await r.json()).uploads ?? []) {
          if (user.ids.includes(u.uploadId)) ownSeen += 1;
          else foreign.push(`${user.sub} sees ${u.uploadId}`);
        }
        listsChecked += 1;
      }
    }
    const victim = users[0].ids[0];
    const abort = await fetch(`${proxies[1].endpoint}/sequencestore/${sequenceStoreId}/upload/${victim}/abort`, {
      method: 'DELETE', headers: { authorization: `Bearer ${users[1].token}`, 'x-readset-upload-grant': 'forged', origin: pageUrl },
    });

    for (const user of users) {
      await waitUntil(`${user.sub}'s uploads to finish`, () => user.page.evaluate(() => window.allDone()), { tries: 6000, everyMs: 100 });
    }
    const seconds = (Date.now() - t0) / 1000;
    clearInterval(sample);
    proxies.forEach((p, i) => { peaks[i] = Math.max(peaks[i], procStatus(p.pid).hwm); });

    let completed = 0;
    let identical = 0;
    const failures = [];
    for (const user of users) {
      const results = await user.page.evaluate(() => window.results());
      for (const [k, r] of results.entries()) {
        if (!r?.ok) { failures.push(`${user.sub} upload ${k + 1}: ${r?.code} ${r?.message}`); continue; }
        completed += 1;
        const stored = readFileSync(join(dataDir, 'store', 'readsets', r.readSetId, 'source1'));
        if (stored.equals(readFileSync(user.files[k]))) identical += 1;
        else failures.push(`${user.sub} upload ${k + 1}: stored read set ${r.readSetId} differs from its source`);
      }
      await user.context.close();
    }
    const stats = await (await fetch(`${storeUrl}/_local/stats`)).json();
    const total = S.users * S.uploadsPerUser;
    // Parts in flight per proxy: each upload sends at most `concurrency` parts at once.
    const inFlight = (total / proxies.length) * S.concurrency;
    const budget = 64 + 2 * inFlight;
    const details = {
      users: S.users, uploadsPerUser: S.uploadsPerUser, fileBytes: S.fileBytes, partSize: S.partSize, concurrency: S.concurrency, seconds,
      completed, identical, failures, foreign, listsChecked, ownSeen, foreignAbortStatus: abort.status, storeStats: stats,
      proxies: proxies.map((p, i) => ({ name: p.name, peakRss: peaks[i], inFlightMax: inFlight, budgetMiB: budget })),
    };
    const rows = [
      ['uploads completed', completed, `of ${total}`],
      ['stored read sets equal to their source', identical, `of ${total}`],
      ['part requests at the store (stored, injected errors, drops, throttled)', stats.partRequests,
        `(${stats.partsStored}, ${stats.injected.errors}, ${stats.injected.dropped}, ${stats.injected.throttled})`],
      [`lists checked (each user, both proxies): foreign uploads seen`, foreign.length, `in ${listsChecked} lists (own uploads seen: ${ownSeen})`],
      ['another user\'s abort (forged grant): HTTP status', abort.status, ''],
      ['wall time', seconds, 's'],
      ...proxies.map((p, i) => [`proxy ${p.name} peak RSS (${inFlight} parts in flight at most)`, peaks[i] / MiB, 'MiB', budget]),
    ];
    return { rows, details };
  } finally {
    for (const c of children.reverse()) await stop(c);
  }
}

async function waitUntil(what, check, { tries = 600, everyMs = 100 } = {}) {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`load run: timed out waiting for ${what}`);
}

/** A file of `bytes` real (not sparse) bytes: random blocks of 16 MiB, each made unique by a
 *  counter (shared by run.mjs and profile.mjs). */
export function writeRandomFile(path, bytes) {
  const block = Buffer.alloc(Math.min(bytes, 16 * 1024 * 1024));
  for (let at = 0; at < block.length; at += 65536) crypto.getRandomValues(block.subarray(at, Math.min(at + 65536, block.length)));
  const fd = openSync(path, 'w');
  try {
    for (let at = 0, i = 0; at < bytes; at += block.length, i++) {
      block.writeUInt32LE(i, 0);
      writeSync(fd, block, 0, Math.min(block.length, bytes - at));
    }
  } finally { closeSync(fd); }
  return path;
}
