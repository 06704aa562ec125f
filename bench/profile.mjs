// Where Chromium's CPU goes in an upload (issue 19, "Profile the rest"): the library's upload
// and raw PUTs of the same file through the demo, each run plain (CPU seconds per Chromium
// process type and thread, from /proc) and once under a Chromium trace with the V8 CPU profiler
// on (the functions and trace events behind them; dedicated workers are threads of the
// renderer, so the hash workers are in it too). Two plain references split the library's
// hashing from the rest: the file's parts hashed as the upload hashes them but not sent
// (hashBlob per part), and the SHA-256 kernel alone on a buffer in memory.
//
//   node bench/profile.mjs [--bytes=N] [--part=N] [--concurrency=N] [--rounds=N] [--store=hex|base64] [--out=DIR]
//
// Defaults: a 1 GiB random file, 100 MiB parts, 4 at once, one round of plain runs (more
// rounds alternate the four and report medians), the store's hex part checksums.
// Prints markdown tables; writes trace-library.json, trace-raw.json (load them in DevTools'
// Performance panel or ui.perfetto.dev), summary.md and summary.json into --out (default: a
// new temp dir). This finds where time goes; it is not a benchmark: bench/run.mjs measures.
// Environment as bench/run.mjs: READSET_SERVER, READSET_PKG, CHROME_BIN.
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startDemoServer, stop, writeRandomFile } from './load.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const log = (...a) => console.error('profile:', ...a);

// ---------- arguments ----------

const USAGE = 'usage: node bench/profile.mjs [--bytes=N] [--part=N] [--concurrency=N] [--rounds=N] [--store=hex|base64] [--out=DIR]';
function parseArgs(argv) {
  const o = { bytes: GiB, part: 100 * MiB, concurrency: 4, rounds: 1, store: 'hex', out: null };
  for (const a of argv) {
    const m = a.match(/^--(bytes|part|concurrency|rounds|store|out)=(.+)$/);
    if (!m) throw new Error(`unknown argument ${a}\n${USAGE}`);
    const [, k, v] = m;
    if (k === 'store') {
      if (v !== 'hex' && v !== 'base64') throw new Error(`--store must be hex or base64, not ${v}`);
      o.store = v;
    } else if (k === 'out') o.out = resolve(v);
    else {
      if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) throw new Error(`--${k} must be a positive integer, not ${v}`);
      o[k] = Number(v);
    }
  }
  return o;
}
const A = parseArgs(process.argv.slice(2));

const SERVER = [process.env.READSET_SERVER, join(ROOT, '.bin/readset-server'), join(ROOT, 'target/debug/readset-server')].filter(Boolean).find((p) => existsSync(p));
if (!SERVER) throw new Error('readset-server not found: build it or set READSET_SERVER');
const PKG = process.env.READSET_PKG ?? join(ROOT, 'pkg');
if (!existsSync(join(PKG, 'readset_upload_bg.wasm'))) throw new Error(`no wasm package in ${PKG}: build it or set READSET_PKG`);

const CHUNK = 4 * MiB; // the library's default chunkSize
// A generous bound: 2 MB/s is far below anything this machine does.
const UPLOAD_TIMEOUT_MS = Math.max(120_000, (A.bytes / 2e6) * 1000);
/** `p`, or an error naming `what` after `ms`. */
function within(ms, what, p) {
  let timer;
  const t = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish in ${Math.round(ms / 1000)} s`)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// ---------- Chromium's processes and threads (/proc) ----------

// Chromium's child processes rewrite their title, so arguments may be separated by spaces.
const cmdline = (pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/); } catch { return []; } };
const ppid = (pid) => { try { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]); } catch { return 0; } };
/** `[comm, utime + stime in ticks of 1/100 s]` from a /proc stat file, or null once gone. */
function statTicks(path) {
  try {
    const s = readFileSync(path, 'utf8');
    const close = s.lastIndexOf(')');
    const f = s.slice(close + 2).split(' ');
    return [s.slice(s.indexOf('(') + 1, close), Number(f[11]) + Number(f[12])];
  } catch { return null; }
}

/** The process type Chromium gives `pid` on its command line: browser, renderer, gpu-process,
 *  utility (network), utility (storage), zygote, ... */
function processType(pid, browserPid) {
  const c = cmdline(pid);
  const type = (c.find((a) => a.startsWith('--type=')) ?? '').slice(7);
  if (!type) return pid === browserPid ? 'browser' : (c[0] ?? '?').split('/').pop();
  if (type !== 'utility') return type;
  const sub = (c.find((a) => a.startsWith('--utility-sub-type=')) ?? '').slice(19);
  return `utility (${sub.replace(/\.mojom\..*$/, '') || '?'})`;
}

/** The Chromium browser process carrying `marker` and every process below it, with types. */
function chromiumTree(marker) {
  const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const browser = pids.find((p) => { const c = cmdline(p); return c.includes(marker) && !c.some((a) => a.startsWith('--type=')); });
  if (!browser) return new Map();
  const parent = new Map(pids.map((p) => [p, ppid(p)]));
  const tree = new Map();
  for (const p of pids) {
    let q = p;
    for (let i = 0; i < 10 && q > 1; i++, q = parent.get(q) ?? 0) if (q === browser) { tree.set(p, processType(p, browser)); break; }
  }
  return tree;
}

/** Watches the CPU ticks of every thread of `pids()` (with `typeOf(pid)`) from now until
 *  `stop()`, reading /proc every 250 ms so threads that end (idle workers) are counted up to
 *  their last reading. `stop()` gives CPU seconds per process type and per (type, thread name). */
function cpuWatch(pids, typeOf) {
  const base = new Map(); // pid/tid -> ticks at start (threads alive at start)
  const last = new Map(); // pid/tid -> { type, comm, ticks }
  const procBase = new Map(), procLast = new Map(); // pid -> ticks of the whole process (dead threads included)
  const read = (first) => {
    for (const pid of pids()) {
      const p = statTicks(`/proc/${pid}/stat`);
      if (p) { if (first) procBase.set(pid, p[1]); procLast.set(pid, { type: typeOf(pid), ticks: p[1] }); }
      let tids = [];
      try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
      for (const tid of tids) {
        const t = statTicks(`/proc/${pid}/task/${tid}/stat`);
        if (!t) continue;
        const key = `${pid}/${tid}`;
        if (first) base.set(key, t[1]);
        // A process's main thread carries the process's name (chromium); say which it is.
        last.set(key, { type: typeOf(pid), comm: Number(tid) === pid ? 'main thread' : t[0], ticks: t[1] });
      }
    }
  };
  read(true);
  const timer = setInterval(() => read(false), 250);
  return {
    stop() {
      clearInterval(timer);
      read(false);
      const byType = {}, byThread = new Map();
      for (const [pid, { type, ticks }] of procLast) byType[type] = (byType[type] ?? 0) + (ticks - (procBase.get(pid) ?? 0)) / 100;
      for (const [key, { type, comm, ticks }] of last) {
        const k = `${type} | ${comm}`;
        byThread.set(k, (byThread.get(k) ?? 0) + (ticks - (base.get(key) ?? 0)) / 100);
      }
      return { byType, byThread: Object.fromEntries([...byThread].filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1])) };
    },
  };
}

// ---------- the trace ----------

// Categories: the V8 sampling profiler (every isolate, so workers too), DevTools' timeline
// events (XHR, FunctionCall, GC, postMessage and friends), top-level tasks of every thread,
// V8 and Blink internals, IndexedDB.
const CATEGORIES = ['-*', 'disabled-by-default-v8.cpu_profiler', 'devtools.timeline', 'disabled-by-default-devtools.timeline',
  'toplevel', 'v8', 'v8.execute', 'disabled-by-default-v8.gc', 'blink', 'IndexedDB'];
// Trace events worth a table of their own, whatever their rank.
const INTERESTING = /xhr|progress|functioncall|gc|scaveng|clone|serializ|postmessage|indexeddb|idb|blob|evaluatescript|compile|wasm|fetch|resource|timer|microtask/i;

/** Function index -> export name, from the wasm module's export section: without a name
 *  section (a release build) V8 names wasm functions by index only. */
function wasmExportNames(bytes) {
  const names = new Map();
  let p = 8;
  const u32 = () => { let r = 0, s = 0, b; do { b = bytes[p++]; r += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return r; };
  while (p < bytes.length) {
    const id = bytes[p++], size = u32(), end = p + size;
    if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const len = u32(), name = Buffer.from(bytes.subarray(p, p + len)).toString('utf8');
        p += len;
        const kind = bytes[p++], index = u32();
        if (kind === 0) names.set(index, name);
      }
    }
    p = end;
  }
  return names;
}
let wasmExports = new Map(); // of the package copy the run serves

/** A call frame as `name` and `where`, URLs shortened and wasm functions by index named by
 *  their export where they have one. */
function frameName(cf) {
  let name = cf.functionName || '(anonymous)';
  const m = name.match(/^\$?func(\d+)$|^wasm-function\[(\d+)\]$/);
  if (m) { const ex = wasmExports.get(Number(m[1] ?? m[2])); if (ex) name += ` (export ${ex})`; }
  const url = cf.url ?? '';
  let where = '';
  if (url.startsWith('wasm://') || url.endsWith('.wasm')) where = `${url.split('/').pop()} @0x${(cf.columnNumber ?? 0).toString(16)}`;
  else if (url.startsWith('blob:')) where = `blob (worker):${(cf.lineNumber ?? 0) + 1}`;
  else if (url) where = `${url.replace(/^https?:\/\/127\.0\.0\.1:\d+/, '')}:${(cf.lineNumber ?? 0) + 1}`;
  return { name, where };
}

/** Per thread, sampled time and top functions from the ProfileChunk events, and trace events
 *  by total duration. */
function analyse(trace) {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const threadName = new Map(), processName = new Map();
  for (const e of events) {
    if (e.ph !== 'M') continue;
    if (e.name === 'thread_name') threadName.set(`${e.pid}:${e.tid}`, e.args?.name);
    if (e.name === 'process_name') processName.set(e.pid, e.args?.name);
  }
  const label = (pid, tid) => `${processName.get(pid) ?? `pid ${pid}`} / ${threadName.get(`${pid}:${tid}`) ?? `tid ${tid}`}`;

  // CPU profiles: one per isolate (thread), keyed by pid and id; chunks carry nodes and samples.
  const profiles = new Map();
  for (const e of events) {
    if (e.ph !== 'P' || (e.name !== 'Profile' && e.name !== 'ProfileChunk')) continue;
    const key = `${e.pid}:${e.id}`;
    if (!profiles.has(key)) profiles.set(key, { pid: e.pid, tid: e.tid, nodes: new Map(), samples: [], deltas: [] });
    const pr = profiles.get(key);
    if (e.name === 'Profile') { pr.tid = e.tid; continue; }
    const d = e.args?.data ?? {};
    for (const n of d.cpuProfile?.nodes ?? []) pr.nodes.set(n.id, n);
    for (const s of d.cpuProfile?.samples ?? []) pr.samples.push(s);
    for (const t of d.timeDeltas ?? []) pr.deltas.push(t);
  }
  const threads = new Map(); // label -> { busyMs, idleMs, programMs, gcMs, samples, profiles }
  const fns = new Map(); // label | name | where -> { thread, name, where, selfMs, callers: Map }
  for (const pr of profiles.values()) {
    const th = label(pr.pid, pr.tid);
    const t = threads.get(th) ?? { thread: th, busyMs: 0, jsMs: 0, programMs: 0, gcMs: 0, idleMs: 0, samples: 0, profiles: 0 };
    threads.set(th, t);
    t.profiles++;
    // Sample i lasts until sample i + 1 (as DevTools counts it); the last one gets nothing.
    let ts = 0;
    const stamps = pr.deltas.map((d) => (ts += d));
    for (let i = 0; i < pr.samples.length; i++) {
      const ms = i + 1 < stamps.length ? Math.max(0, stamps[i + 1] - stamps[i]) / 1000 : 0;
      const node = pr.nodes.get(pr.samples[i]);
      const cf = node?.callFrame ?? { functionName: '(unknown)' };
      t.samples++;
      if (cf.functionName === '(idle)') { t.idleMs += ms; continue; }
      t.busyMs += ms;
      if (cf.functionName === '(program)') t.programMs += ms;
      else if (cf.functionName === '(garbage collector)') t.gcMs += ms;
      else t.jsMs += ms;
      const { name, where } = frameName(cf);
      const key = `${th}|${name}|${where}`;
      const f = fns.get(key) ?? { thread: th, name, where, selfMs: 0, callers: new Map() };
      fns.set(key, f);
      f.selfMs += ms;
      // Up to three callers, nearest first: wasm functions without names are told apart by theirs.
      const chain = [];
      for (let n = node; chain.length < 3 && n?.parent !== undefined;) {
        n = pr.nodes.get(n.parent);
        if (!n || n.callFrame.functionName === '(root)') break;
        chain.push(frameName(n.callFrame).name);
      }
      const callers = chain.join(' < ');
      f.callers.set(callers, (f.callers.get(callers) ?? 0) + ms);
    }
  }
  const functions = [...fns.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, 50).map((f) => ({
    thread: f.thread, name: f.name, where: f.where, selfMs: f.selfMs,
    shareOfThread: f.selfMs / (threads.get(f.thread).busyMs || 1),
    callers: [...f.callers].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '',
  }));

  // Trace events: complete ('X') events and begin/end pairs, per name and thread; a thread's
  // top-level events (nothing around them) add up to how busy the thread was.
  const byName = new Map();
  const perThread = new Map(); // pid:tid -> [{ ts, end, tdur }]
  const open = new Map(); // pid:tid -> stack of 'B' events
  const add = (e, dur, tdur) => {
    const th = label(e.pid, e.tid);
    const key = `${e.name}|${th}`;
    const x = byName.get(key) ?? { name: e.name, cat: e.cat, thread: th, count: 0, wallMs: 0, threadMs: 0 };
    byName.set(key, x);
    x.count++; x.wallMs += dur / 1000; x.threadMs += (tdur ?? 0) / 1000;
    const k = `${e.pid}:${e.tid}`;
    if (!perThread.has(k)) perThread.set(k, []);
    perThread.get(k).push({ ts: e.ts, end: e.ts + dur, tdur: tdur ?? 0 });
  };
  for (const e of events) {
    if (e.ph === 'X') add(e, e.dur ?? 0, e.tdur);
    else if (e.ph === 'B') { const k = `${e.pid}:${e.tid}`; if (!open.has(k)) open.set(k, []); open.get(k).push(e); }
    else if (e.ph === 'E') {
      const b = open.get(`${e.pid}:${e.tid}`)?.pop();
      if (b) add(b, e.ts - b.ts, b.tts !== undefined && e.tts !== undefined ? e.tts - b.tts : undefined);
    }
  }
  const busy = [];
  for (const [k, xs] of perThread) {
    xs.sort((a, b) => a.ts - b.ts || b.end - a.end);
    let until = -Infinity, wall = 0, cpu = 0;
    for (const x of xs) if (x.ts >= until) { wall += x.end - x.ts; cpu += x.tdur; until = x.end; }
    const [pid, tid] = k.split(':').map(Number);
    busy.push({ thread: label(pid, tid), topLevelWallMs: wall / 1000, topLevelThreadMs: cpu / 1000 });
  }
  const all = [...byName.values()].sort((a, b) => b.wallMs - a.wallMs);
  return {
    threads: [...threads.values()].sort((a, b) => b.busyMs - a.busyMs),
    functions,
    events: all.slice(0, 60),
    interesting: all.filter((x) => INTERESTING.test(x.name)).slice(0, 200),
    topLevel: busy.filter((b) => b.topLevelWallMs > 0).sort((a, b) => b.topLevelThreadMs - a.topLevelThreadMs || b.topLevelWallMs - a.topLevelWallMs),
    counts: { events: events.length, profiles: profiles.size },
  };
}

/** The median of each figure of several runs of one contender, with the spread of the total. */
function medianRun(xs) {
  const median = (vs) => { const v = [...vs].sort((a, b) => a - b); const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
  const keyed = (get) => {
    const keys = new Set(xs.flatMap((x) => Object.keys(get(x))));
    return Object.fromEntries([...keys].map((k) => [k, median(xs.map((x) => get(x)[k] ?? 0))]).sort((a, b) => b[1] - a[1]));
  };
  const totals = xs.map((x) => x.chromiumCpu);
  return {
    label: xs[0].label, bytes: xs[0].bytes, rounds: xs.length, ms: median(xs.map((x) => x.ms)), serverCpu: median(xs.map((x) => x.serverCpu)),
    chromiumCpu: median(totals), chromiumCpuMin: Math.min(...totals), chromiumCpuMax: Math.max(...totals),
    cpu: { byType: keyed((x) => x.cpu.byType), byThread: keyed((x) => x.cpu.byThread) }, runs: xs,
  };
}

// ---------- output ----------

const f1 = (x) => (x === undefined || x === null || Number.isNaN(x) ? '' : x.toFixed(1));
const f2 = (x) => (x === undefined || x === null || Number.isNaN(x) ? '' : x.toFixed(2));
const cell = (s) => String(s).replace(/\|/g, '\\|');
function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}


// ---------- the run ----------

const work = mkdtempSync(join(tmpdir(), 'readset-profile-'));
const out = A.out ?? mkdtempSync(join(tmpdir(), 'readset-profile-out-'));
mkdirSync(out, { recursive: true });
const marker = `--readset-profile=${process.pid}-${Date.now()}`;
let server, browser, pkgInfo;
// Interrupted: stop what this started (Playwright closes Chromium itself) and remove the work dir.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    try { server?.kill('SIGTERM'); } catch { /* gone */ }
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
}
try {
  const www = join(work, 'www'), pkg = join(work, 'pkg');
  mkdirSync(www);
  for (const f of readdirSync(join(HERE, 'pages'))) copyFileSync(join(HERE, 'pages', f), join(www, f));
  copyFileSync(join(HERE, 'node_modules/hash-wasm/dist/index.umd.min.js'), join(www, 'hash-wasm.umd.min.js'));
  // A copy of the package: a rebuild during the run cannot mix two builds.
  cpSync(PKG, pkg, { recursive: true });
  const wasm = readFileSync(join(pkg, 'readset_upload_bg.wasm'));
  wasmExports = wasmExportNames(wasm);
  pkgInfo = { dir: PKG, wasmSha256: createHash('sha256').update(wasm).digest('hex'), wasmModified: statSync(join(PKG, 'readset_upload_bg.wasm')).mtime.toISOString() };
  log(`work dir ${work}; writing ${A.bytes} bytes`);
  const file = writeRandomFile(join(work, 'profile.bam'), A.bytes);

  const demo = startDemoServer(SERVER, ['--listen', '127.0.0.1:0', '--store-listen', '127.0.0.1:0', '--data', join(work, 'data'),
    '--www', www, '--pkg', pkg, '--part-checksums', A.store]);
  server = demo.child;
  const { pageUrl } = await demo.started;

  browser = await chromium.launch({
    executablePath: process.env.CHROME_BIN ?? '/usr/bin/chromium', timeout: 60_000,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', marker],
  });
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) problems.push(`${m.text()} (${m.location().url})`);
  });
  await page.goto(`${pageUrl}/index.html`, { timeout: 30_000 });
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 }).catch((e) => {
    throw new Error(`bench page did not load: ${e.message}\n${problems.join('\n')}`);
  });
  await page.setInputFiles('#file', file, { timeout: 60_000 });

  /** Runs `fn` (which resolves to `{ ms, ... }` measured in the page) and measures around it
   *  the CPU seconds per Chromium process type and thread, and readset-server's. */
  const measure = async (label, bytes, fn) => {
    const typeOf = (() => { let tree = chromiumTree(marker); return (pid) => tree.get(pid) ?? (tree = chromiumTree(marker)).get(pid) ?? '?'; })();
    const watch = cpuWatch(() => [...chromiumTree(marker).keys()], typeOf);
    const s0 = statTicks(`/proc/${server.pid}/stat`)?.[1] ?? 0;
    const x = await within(UPLOAD_TIMEOUT_MS, label, fn());
    const cpu = watch.stop();
    const serverCpu = ((statTicks(`/proc/${server.pid}/stat`)?.[1] ?? 0) - s0) / 100;
    const chromiumCpu = Object.values(cpu.byType).reduce((a, b) => a + b, 0);
    log(`${label}: ${(bytes / 1e6 / (x.ms / 1000)).toFixed(0)} MB/s, Chromium ${chromiumCpu.toFixed(1)} CPU s`);
    return { label, bytes, ms: x.ms, parts: x.parts, longestTaskMs: x.longestTaskMs, chromiumCpu, cpu, serverCpu };
  };
  const upload = {
    library: () => page.evaluate(([p, c]) => window.uploadLibrary(p, c), [A.part, A.concurrency]),
    raw: () => page.evaluate(([p, c]) => window.uploadRaw(p, c), [A.part, A.concurrency]),
  };
  const NAMES = { library: 'library upload', raw: 'raw PUTs' };

  // Plain runs, for CPU seconds without the tracing's own cost. Besides the two uploads, two
  // references that split the library's hashing from the rest: the SHA-256 kernel alone (the
  // library's Hasher on the main thread over a buffer in memory, 4 MiB updates, as the workers
  // update) and the file's parts hashed as the upload hashes them but not uploaded (hashBlob
  // per part, in the library's own way: today its worker pool reads each part, copies it into
  // wasm memory and hashes it).
  // With --rounds above 1 the four alternate, the order flipping every round, and the tables
  // show medians.
  const kernelBytes = Math.min(A.bytes, 256 * MiB);
  const contenders = {
    library: () => measure(`${NAMES.library}, plain`, A.bytes, upload.library),
    raw: () => measure(`${NAMES.raw}, plain`, A.bytes, upload.raw),
    hashParts: () => measure('hashBlob per part, no upload', A.bytes,
      () => page.evaluate(([p, c]) => window.hashPartsOnce('library', 'SHA-256', p, c), [A.part, CHUNK])),
    kernel: async () => {
      await page.evaluate((n) => window.makeBuffer(n), kernelBytes);
      try {
        return await measure('SHA-256 kernel alone (main thread, in memory)', kernelBytes,
          () => page.evaluate((c) => window.hashOnce('library', 'SHA-256', c), CHUNK));
      } finally { await page.evaluate(() => window.makeBuffer(0)); } // frees the buffer
    },
  };
  const rounds = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let r = 0; r < A.rounds; r++) {
    const order = Object.keys(contenders);
    for (const k of r % 2 ? order.reverse() : order) rounds[k].push(await contenders[k]());
  }
  const plain = Object.fromEntries(Object.entries(rounds).map(([k, xs]) => [k, medianRun(xs)]));

  const traced = {};
  const analysis = {};
  for (const which of ['library', 'raw']) {
    await within(30_000, 'startTracing', browser.startTracing(page, { categories: CATEGORIES }));
    let buf;
    try {
      traced[which] = await measure(`${NAMES[which]}, traced`, A.bytes, upload[which]);
    } finally {
      buf = await within(180_000, 'stopTracing', browser.stopTracing());
    }
    const path = join(out, `trace-${which}.json`);
    writeFileSync(path, buf);
    log(`${which} trace: ${(buf.length / MiB).toFixed(1)} MiB in ${path}`);
    analysis[which] = analyse(JSON.parse(buf.toString('utf8')));
  }
  if (problems.length) log(`page errors:\n${problems.join('\n')}`);

  // ---------- the summary ----------
  const all = [plain.library, plain.raw, plain.hashParts, plain.kernel, traced.library, traced.raw];
  const perGiB = (x, sec) => sec / (x.bytes / GiB);
  const types = [...new Set(all.flatMap((x) => Object.keys(x.cpu.byType)))].filter((t) => all.some((x) => perGiB(x, x.cpu.byType[t] ?? 0) >= 0.01)).sort();
  const lines = [];
  lines.push(`# Profile of one upload, ${(A.bytes / MiB).toFixed(0)} MiB in ${(A.part / MiB).toFixed(0)} MiB parts, ${A.concurrency} at once, store checksums ${A.store}`);
  lines.push('', `Package ${pkgInfo.dir}, wasm ${pkgInfo.wasmSha256.slice(0, 12)} of ${pkgInfo.wasmModified}.`);
  lines.push(`Chromium ${browser.version()}; ${A.rounds > 1 ? `${A.rounds} rounds` : 'single runs'}, not a benchmark (bench/run.mjs measures). CPU seconds (user + system, /proc) per GiB of input.`, '');
  const spread = (x) => (x.rounds > 1 ? ` (${f2(perGiB(x, x.chromiumCpuMin))}..${f2(perGiB(x, x.chromiumCpuMax))})` : '');
  if (A.rounds > 1) lines.push(`Plain runs: medians of ${A.rounds} alternating rounds; total Chromium CPU with its min..max.`, '');
  lines.push(table(['run', 'MB/s', 'wall s', 'Chromium CPU s/GiB', ...types.map((t) => `${t} s/GiB`), 'readset-server s/GiB'],
    all.map((x) => [x.label, (x.bytes / 1e6 / (x.ms / 1000)).toFixed(0), f1(x.ms / 1000), f2(perGiB(x, x.chromiumCpu)) + spread(x),
      ...types.map((t) => f2(perGiB(x, x.cpu.byType[t] ?? 0))), f2(perGiB(x, x.serverCpu))])));
  const rest = perGiB(plain.library, plain.library.chromiumCpu) - perGiB(plain.raw, plain.raw.chromiumCpu) - perGiB(plain.hashParts, plain.hashParts.chromiumCpu);
  lines.push('', `Library minus raw PUTs minus hashBlob per part (plain runs): ${f2(rest)} s/GiB of Chromium CPU that is neither hashing, reading for the hash, nor what any upload costs.`);

  lines.push('', '## CPU per thread, plain runs (/proc, read every 250 ms; threads of one name summed; s/GiB)', '');
  const cols = [plain.library, plain.raw, plain.hashParts, plain.kernel];
  const tcpu = (x, k) => perGiB(x, x.cpu.byThread[k] ?? 0);
  const threadKeys = [...new Set(cols.flatMap((x) => Object.keys(x.cpu.byThread)))].sort((a, b) => tcpu(plain.library, b) - tcpu(plain.library, a));
  lines.push(table(['process / thread', 'library upload', 'raw PUTs', 'hashBlob per part', 'kernel alone', 'library - raw - hashBlob'],
    threadKeys.slice(0, 15).map((k) => [k.replace(' | ', ' / '), ...cols.map((x) => f2(tcpu(x, k))), f2(tcpu(plain.library, k) - tcpu(plain.raw, k) - tcpu(plain.hashParts, k))])));

  for (const which of ['library', 'raw']) {
    const a = analysis[which];
    lines.push('', `## ${which} (traced): V8 samples per thread (ms of wall time between samples; busy = all but (idle), so a thread waiting for a core counts as busy)`, '');
    lines.push(table(['thread', 'busy', 'JS + wasm', '(program)', '(garbage collector)', '(idle)', 'samples'],
      a.threads.filter((t) => t.busyMs > 0).map((t) => [t.thread, f1(t.busyMs), f1(t.jsMs), f1(t.programMs), f1(t.gcMs), f1(t.idleMs), t.samples])));
    lines.push('', `## ${which} (traced): busiest threads by their top-level trace events (ms)`, '');
    lines.push(table(['thread', 'thread time', 'wall time'], a.topLevel.slice(0, 12).map((t) => [t.thread, f1(t.topLevelThreadMs), f1(t.topLevelWallMs)])));
    const nf = which === 'library' ? 20 : 10;
    lines.push('', `## ${which} (traced): top ${nf} functions by self time`, '');
    lines.push(table(['thread', 'function', 'where', 'self ms', '% of thread busy', 'callers (most time)'],
      a.functions.slice(0, nf).map((f) => [f.thread, f.name, f.where, f1(f.selfMs), (100 * f.shareOfThread).toFixed(1), f.callers])));
    const ne = which === 'library' ? 25 : 15;
    lines.push('', `## ${which} (traced): top ${ne} trace events by total duration (nested events count in their parents too)`, '');
    lines.push(table(['event', 'category', 'thread', 'count', 'wall ms', 'thread ms'],
      a.events.slice(0, ne).map((e) => [e.name, e.cat, e.thread, e.count, f1(e.wallMs), f1(e.threadMs)])));
  }
  lines.push('', '## Events of interest (XHR, progress, messages, GC, IndexedDB, Blob, tasks), library against raw PUTs', '');
  const rawEv = new Map(analysis.raw.interesting.map((e) => [`${e.name}|${e.thread}`, e]));
  lines.push(table(['event', 'thread', 'library count', 'library wall ms', 'raw count', 'raw wall ms'],
    analysis.library.interesting.slice(0, 30).map((e) => { const r = rawEv.get(`${e.name}|${e.thread}`); return [e.name, e.thread, e.count, f1(e.wallMs), r?.count ?? 0, f1(r?.wallMs ?? 0)]; })));
  const text = lines.join('\n');
  console.log(text);
  writeFileSync(join(out, 'summary.md'), `${text}\n`);
  writeFileSync(join(out, 'summary.json'), JSON.stringify({
    args: A, package: pkgInfo, chromium: browser.version(), categories: CATEGORIES, plain, traced, analysis,
  }, null, 1));
  console.log(`\nTraces and summary in ${out}`);
} finally {
  await browser?.close().catch(() => {});
  if (server) await within(10_000, 'readset-server stop', stop(server)).catch(() => server.kill('SIGKILL'));
  rmSync(work, { recursive: true, force: true });
}
