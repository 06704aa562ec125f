import { readFileSync, readdirSync } from 'node:fs';
import { startDemo, launchBrowser, openPage } from '/work/main/tests/e2e/harness.mjs';
const mode = process.argv[2];
const size = Number(process.argv[3] ?? 4);
const demo = await startDemo(['--www', '/work/main/tests/e2e/pages']);
const browser = await launchBrowser();
const page = await openPage(browser, `${demo.pageUrl}/index.html`);
await page.waitForFunction(() => window.ready === true);
let parts = {};
const rss = () => {
  let t = 0; const cur = {};
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { const c = readFileSync(`/proc/${d}/cmdline`, 'utf8'); if (c.includes('--type=renderer') && !c.includes('top-chrome-webui')) { const s = readFileSync(`/proc/${d}/status`, 'utf8'); t += Number(s.match(/VmRSS:\s+(\d+)/)[1]) / 1024; for (const k of ['RssAnon', 'RssShmem', 'RssFile']) cur[k] = (cur[k] ?? 0) + Number(s.match(new RegExp(k + ':\\s+(\\d+)'))[1]) / 1024; } } catch {}
  }
  if (t > (parts.t ?? 0)) parts = { t, ...cur };
  return t;
};
await page.setInputFiles('#f', [`/tmp/dbg/big${size}.bam`]);
const idle = rss();
let peak = 0;
const timer = setInterval(() => { peak = Math.max(peak, rss()); }, 50);
const t0 = Date.now();
await page.evaluate(async (mode) => {
  const f = document.getElementById('f').files[0];
  const P = 100 * 1024 * 1024;
  if (mode === 'raw') {
    const store = `/sequencestore/${window.cfg.sequenceStoreId}`;
    const h = { authorization: `Bearer ${window.cfg.token}` };
    const { uploadId } = await (await fetch(window.cfg.endpoint + store + '/upload', { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ sourceFileType: 'UBAM', name: 'x', subjectId: 's', sampleId: 's' }) })).json();
    const n = Math.ceil(f.size / P); let next = 0;
    const lane = async () => { while (next < n) { const i = next++; const r = await fetch(`${window.cfg.endpoint}${store}/upload/${uploadId}/part?partNumber=${i + 1}&partSource=SOURCE1`, { method: 'PUT', headers: h, body: f.slice(i * P, Math.min(f.size, (i + 1) * P)) }); if (!r.ok) throw new Error(await r.text()); } };
    await Promise.all([lane(), lane(), lane(), lane()]);
    return;
  }
  if (mode === 'hash') {
    const n = Math.ceil(f.size / P);
    await Promise.all(Array.from({ length: n }, (_, i) => window.lib.hashBlob(f.slice(i * P, Math.min(f.size, (i + 1) * P)), 'SHA-256')));
    return;
  }
  await new window.lib.ReadSetUploader({ ...window.cfg, sourceFileType: 'UBAM', name: 'big', subjectId: 's', sampleId: 's', files: [f], partSize: P, waitForActive: false, hashInWorkers: mode !== 'main' }).start();
}, mode);
clearInterval(timer);
console.log(mode, size, 'GiB: idle', idle.toFixed(0), 'peak', peak.toFixed(0), 'MiB; s', (Date.now() - t0) / 1000, JSON.stringify(parts));
await browser.close(); await demo.stop();
