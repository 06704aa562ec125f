import { readFileSync } from 'node:fs';
import { startDemo, launchBrowser, openPage } from '/work/main/tests/e2e/harness.mjs';
const demo = await startDemo(['--www', '/work/main/tests/e2e/pages']);
const browser = await launchBrowser();
const page = await openPage(browser, `${demo.pageUrl}/index.html`);
await page.waitForFunction(() => window.ready === true);
await page.setInputFiles('#f', ['/tmp/dbg/big1.bam']);
await page.evaluate(() => { window.longest = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.longest.push([Math.round(e.startTime), Math.round(e.duration)]); }).observe({ type: 'longtask' }); });
await browser.startTracing(page, { path: '/tmp/dbg/trace.json', categories: ['devtools.timeline', 'v8', 'disabled-by-default-devtools.timeline', 'blink', 'toplevel'] });
const t = await page.evaluate(async () => {
  const f = document.getElementById('f').files[0];
  const t0 = performance.now();
  await new window.lib.ReadSetUploader({ ...window.cfg, sourceFileType: 'UBAM', name: 'big', subjectId: 's', sampleId: 's', files: [f], partSize: 100 * 1024 * 1024, waitForActive: false, onProgress: () => {} }).start();
  return { t0: Math.round(t0), longest: window.longest };
});
await browser.stopTracing();
console.log(JSON.stringify(t));
await browser.close(); await demo.stop();
const tr = JSON.parse(readFileSync('/tmp/dbg/trace.json', 'utf8'));
const ev = tr.traceEvents ?? tr;
const names = new Map();
for (const e of ev) if (e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args.name);
const main = ev.filter((e) => names.get(`${e.pid}:${e.tid}`) === 'CrRendererMain');
const t00 = Math.min(...main.filter((e) => e.ts).map((e) => e.ts)); const tEnd = Math.max(...main.filter((e) => e.ts).map((e) => e.ts)); console.log('trace span ms', (tEnd - t00) / 1000);
const long = main.filter((e) => e.ph === 'X' && e.name === 'RunTask' && e.dur > 15000);
for (const l of long) {
  const kids = main.filter((e) => e.ph === 'X' && e.ts >= l.ts && e.ts + (e.dur ?? 0) <= l.ts + l.dur && e !== l && (e.dur ?? 0) > 2000);
  console.log('at', ((l.ts - t00) / 1000).toFixed(0), 'long task', (l.dur / 1000).toFixed(1), 'ms:', kids.map((k) => `${k.name}(${(k.dur / 1000).toFixed(1)}${k.args?.data?.functionName ? ' ' + k.args.data.functionName : ''}${k.args?.data?.url ? ' ' + k.args.data.url.slice(-40) : ''})`).join('\n   '));
}
