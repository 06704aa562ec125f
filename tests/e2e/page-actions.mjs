// What a user does on the demo page, shared by the page tests (page.test.mjs, viewer.test.mjs).
import { openPage } from './harness.mjs';

const WAIT = { timeout: 60_000 };

/** Opens "Advanced" like a user and sets the part size (KiB) and the parts sent at once. */
export async function advanced(p, { partKib = 64, concurrency = 4 } = {}) {
  if (!(await p.$eval('details.advanced', (d) => d.open))) await p.click('details.advanced summary');
  await p.fill('#part-size', String(partKib));
  await p.fill('#concurrency', String(concurrency));
}

/**
 * Leaves an interrupted upload behind, as a closed tab does: in a new tab (of `browserOrContext`:
 * a browser gives a fresh profile, a context shares its IndexedDB) the store accepts two parts,
 * then the network "hangs"; the user pauses and closes the tab. Returns its uploadId.
 */
export async function interruptedUpload(browserOrContext, pageUrl, paths, subject, sample) {
  const tab = await openPage(browserOrContext, pageUrl);
  await tab.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  let accepted = 0;
  await tab.route('**/upload/*/part?*', (route) => { if (accepted < 2) { accepted += 1; route.continue(); } });
  await advanced(tab, { concurrency: 1 });
  await tab.setInputFiles('#file-picker', paths);
  const form = tab.locator('#candidates form');
  await form.locator('[name="subjectId"]').fill(subject);
  await form.locator('[name="sampleId"]').fill(sample);
  await form.locator('button[type="submit"]').click();
  const card = await tab.waitForSelector('.transfer[data-parts-done="2"]', WAIT);
  const uploadId = await card.getAttribute('data-upload-id');
  await tab.click('.transfer button:has-text("Pause")');
  await tab.close();
  return uploadId;
}
