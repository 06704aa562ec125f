// The demo page: imports the package the way a portal would, and wires the page's parts.
import * as lib from '/pkg/readset_upload.js';
import { Candidates } from './candidates.js';
import { filesFromDrop } from './drop.js';
import { Transfers } from './transfers.js';
import { Interrupted } from './interrupted.js';
import { ReadSets } from './readsets.js';
import { Jobs } from './jobs.js';
import { SbgFiles } from './sbgfiles.js';

const $ = (id) => document.getElementById(id);
const status = $('status');

async function loadConfig() {
  const res = await fetch('/demo-config.json');
  if (!res.ok) throw new Error(`GET /demo-config.json answered ${res.status}`);
  return res.json();
}

let config;
try {
  [config] = await Promise.all([loadConfig(), lib.default()]);
  status.textContent = `readset-upload ${lib.version()} loaded.`;
} catch (e) {
  status.textContent = `The page could not start: ${e.message ?? e}. Is readset-server demo still running? Reload the page once it is.`;
  status.className = 'error';
  throw e;
}

const connection = { endpoint: config.endpoint, token: config.token, sequenceStoreId: config.sequenceStoreId };
const client = new lib.SequenceStoreClient(connection);

// Upload target. Seven Bridges appears only when demo-config.json has an `sbg` entry.
// For target "sbg" each chosen file becomes one Seven Bridges file (pairs are a HealthOmics idea).
const target = $('target');
if (config.sbg) {
  target.append(new Option(`Seven Bridges${config.sbg.project ? ` project ${config.sbg.project}` : ''}`, 'sbg'));
  target.disabled = false;
}
$('target-info').textContent = `store ${config.sequenceStoreId}`;
target.addEventListener('change', () => {
  $('target-info').textContent = target.value === 'sbg' ? `project ${config.sbg.project ?? ''}` : `store ${config.sequenceStoreId}`;
});

/** Options every upload gets: the connection and the Advanced settings. */
function uploadOptions() {
  const kib = Number($('part-size').value);
  const concurrency = Number($('concurrency').value);
  return {
    ...connection,
    ...(kib > 0 ? { partSize: Math.round(kib * 1024) } : {}),
    ...(concurrency >= 1 && concurrency <= 32 ? { concurrency: Math.round(concurrency) } : {}),
  };
}

const ctx = { config: connection, client, lib };
const transfers = new Transfers($('transfer-list'), $('no-transfers'), lib, uploadOptions, () => {
  readSets.refresh();
  interrupted.refresh();
  sbgFiles.refresh();
});
ctx.transfers = transfers;
const interrupted = new Interrupted(ctx);
const readSets = new ReadSets(ctx);
const jobs = new Jobs(ctx);
const sbgFiles = new SbgFiles(lib, config.sbg, config.token);
ctx.jobsChanged = () => jobs.refresh();
ctx.readSetsChanged = () => readSets.refresh();

transfers.sbg = config.sbg ?? null;
function startUpload(job) {
  if (target.value === 'sbg') {
    for (const file of job.files) transfers.start({ ...job, files: [file], target: 'sbg' });
    return;
  }
  transfers.start(job);
}

// Picking files: drop zone (files and folders), file picker, folder picker.
const pickMessage = $('pick-message');
const candidates = new Candidates($('candidates'), $('no-candidates'), $('upload-all'), startUpload);
function add(files) {
  const skipped = candidates.add(files);
  pickMessage.textContent = skipped.length ? `Skipped: ${skipped.join('; ')}.` : '';
  document.querySelector('#candidates form input[name="subjectId"]')?.focus();
}
const zone = $('dropzone');
zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', async (e) => {
  e.preventDefault();
  zone.classList.remove('over');
  add(await filesFromDrop(e.dataTransfer));
});
zone.addEventListener('click', () => $('file-picker').click());
zone.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('file-picker').click(); } });
// Dropping next to the zone should not navigate away from the page (and lose the uploads).
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());
for (const id of ['file-picker', 'folder-picker']) {
  $(id).addEventListener('change', (e) => { add([...e.target.files]); e.target.value = ''; });
}
window.addEventListener('beforeunload', (e) => { if (transfers.running.size) e.preventDefault(); });

await Promise.all([readSets.first(), jobs.refresh(), interrupted.refresh(), sbgFiles.refresh()]);
document.body.dataset.ready = 'true';
