// Step 3 of the page: one card per upload with its progress (bytes, MB/s, time left, parts),
// a part map (one cell per part: waiting, hashing, sending, retrying, done) and a throughput
// sparkline, pause / resume / cancel, and the result (read set id, status, ETag verified or not).
// Several uploads run at once; each has its own ReadSetUploader.

import { h } from './dom.js';
import { bytes, rate, timeLeft, explain } from './format.js';
import { PartMap, Sparkline } from './pictures.js';

/** The library's default part size (HealthOmics' largest); Seven Bridges' server picks its own. */
const DEFAULT_PART_SIZE = 100 * 1024 * 1024;
const SBG_PART_SIZE = 5 * 1024 * 1024;

const PHASES = {
  preparing: 'Preparing',
  uploading: 'Uploading',
  completing: 'Completing the upload',
  processing: 'The store is processing the read set',
  verifying: 'Verifying the ETag',
  done: 'Done',
};

/**
 * The upload cards; `start(job)` with `{files, fileType, meta, uploadId?, target?}`; `target`
 * `"sbg"` sends the one file of `files` to the Seven Bridges project of `this.sbg`
 * (`{endpoint, project}` from demo-config.json).
 */
export class Transfers {
  /**
   * `lib`: the package module; `options()`: connection + advanced options for every upload;
   * `changed()`: called when an upload ends (to refresh the viewer).
   */
  constructor(list, empty, lib, options, changed) {
    Object.assign(this, { list, empty, lib, options, changed });
    this.running = new Map(); // the uploads under way, so the interrupted list leaves them out
    this.clear = document.getElementById('clear-finished');
    this.clear.addEventListener('click', () => {
      for (const c of this.list.querySelectorAll('[data-upload-state="done"], [data-upload-state="cancelled"]')) c.remove();
      this.clear.hidden = true;
      this.empty.hidden = this.list.children.length > 0;
    });
  }

  /** Upload IDs this page is uploading right now. */
  activeUploadIds() {
    return new Set([...this.running.values()].map((t) => t.uploader?.uploadId).filter(Boolean));
  }

  start(job) {
    const t = { job, state: 'running' };
    const title = h('h3', {}, `${job.meta.name} `, h('span', { class: 'muted' }, `(${job.fileType}, ${job.files.map((f) => f.name).join(' + ')})`));
    t.phase = h('p', { class: 'phase', role: 'status', 'aria-live': 'polite' }, job.uploadId ? 'Resuming…' : 'Starting…');
    t.bar = h('progress', { max: 1, value: 0, 'aria-label': `Upload progress of ${job.meta.name}` });
    t.stats = h('p', { class: 'stats' });
    // Parts per source, from the sizes (a part numbered beyond widens the map).
    const partSize = job.target === 'sbg' ? SBG_PART_SIZE : this.options().partSize ?? DEFAULT_PART_SIZE;
    const count = (f) => (f ? Math.max(1, Math.ceil(f.size / partSize)) : 0);
    t.map = new PartMap({ SOURCE1: count(job.files[0]), SOURCE2: count(job.files[1]) }, job.meta.name);
    t.spark = new Sparkline(job.meta.name);
    t.pause = h('button', { type: 'button', class: 'secondary', onclick: () => this.togglePause(t) }, 'Pause');
    t.cancel = h('button', { type: 'button', class: 'danger', onclick: () => this.cancel(t) }, 'Cancel');
    t.result = h('div', { class: 'result', 'aria-live': 'polite' });
    t.card = h('li', { class: 'card transfer', dataset: { uploadState: 'running', partsDone: '0' } },
      title, t.phase, t.bar, h('div', { class: 'stats-row' }, t.stats, t.spark.el), t.map.el, h('div', { class: 'actions' }, t.pause, t.cancel), t.result);
    this.list.prepend(t.card);
    this.empty.hidden = true;
    this.run(t);
    return t;
  }

  async run(t) {
    const { job } = t;
    try {
      t.uploader = job.target === 'sbg' ? this.sevenBridges(t) : new this.lib.ReadSetUploader({
        ...this.options(),
        sourceFileType: job.fileType,
        ...job.meta,
        files: job.files,
        ...(job.uploadId ? { uploadId: job.uploadId } : {}),
        onProgress: (p) => this.progress(t, p),
      });
    } catch (e) {
      return this.failed(t, e);
    }
    this.running.set(t, t);
    try {
      const r = await t.uploader.start();
      this.done(t, r);
    } catch (e) {
      this.failed(t, e);
    } finally {
      this.running.delete(t);
      this.clear.hidden = !this.list.querySelector('[data-upload-state="done"], [data-upload-state="cancelled"]');
      this.changed();
    }
  }

  /** A Seven Bridges uploader for the card's one file; the project's part size rules apply. */
  sevenBridges(t) {
    const { token, concurrency } = this.options();
    return new this.lib.SevenBridgesUploader({
      endpoint: this.sbg.endpoint,
      token,
      project: this.sbg.project,
      name: t.job.files[0].name,
      file: t.job.files[0],
      ...(concurrency ? { concurrency } : {}),
      ...(t.job.uploadId ? { uploadId: t.job.uploadId } : {}),
      onProgress: (p) => this.progress(t, p),
    });
  }

  progress(t, p) {
    if (p.changed) t.map.set(p.changed);
    if (p.phase === 'uploading') t.spark.add(p.throughput);
    t.bar.max = p.bytesTotal || 1;
    t.bar.value = p.bytesUploaded;
    const phase = p.paused ? 'Paused' : PHASES[p.phase] ?? p.phase;
    if (t.phase.textContent !== phase) t.phase.textContent = phase;
    t.stats.textContent = `${bytes(p.bytesUploaded)} of ${bytes(p.bytesTotal)} · ${rate(p.throughput)} · ${timeLeft(p.bytesTotal - p.bytesUploaded, p.throughput)} left · parts ${p.partsDone} of ${p.partsTotal}`;
    t.card.dataset.partsDone = String(p.partsDone);
    t.card.dataset.partsTotal = String(p.partsTotal);
    if (p.uploadId) t.card.dataset.uploadId = p.uploadId;
    // Pause makes sense while parts are being sent, not once the store has them all.
    t.pause.disabled = !(p.phase === 'preparing' || p.phase === 'uploading');
  }

  togglePause(t) {
    if (t.state === 'running') {
      t.uploader?.pause();
      t.state = 'paused';
      t.pause.textContent = 'Resume';
      t.phase.textContent = 'Paused';
    } else if (t.state === 'paused') {
      t.uploader?.resume();
      t.state = 'running';
      t.pause.textContent = 'Pause';
      t.phase.textContent = PHASES.uploading;
    }
    t.card.dataset.uploadState = t.state;
  }

  async cancel(t) {
    t.cancel.disabled = true;
    t.pause.disabled = true;
    t.phase.textContent = 'Cancelling…';
    try {
      await t.uploader?.abort();
    } catch (e) {
      t.result.replaceChildren(h('p', { class: 'error' }, `The upload stopped, but the store could not be told: ${explain(e)}`));
    }
  }

  done(t, r) {
    if (t.job.target === 'sbg') return this.doneSevenBridges(t, r);
    t.state = 'done';
    t.card.dataset.uploadState = 'done';
    t.card.dataset.readSetId = r.readSetId;
    t.card.dataset.etag = r.etag?.status ?? 'unchecked';
    const hashing = r.hashing ?? { inWorkers: 0, onMainThread: 0 };
    t.card.dataset.hashing = hashing.onMainThread ? 'main-thread' : 'workers';
    t.bar.value = t.bar.max;
    t.map.allDone();
    t.phase.textContent = 'Done';
    t.stats.textContent = `${bytes(r.bytes)} uploaded · parts ${r.parts} of ${r.parts}`;
    t.pause.remove();
    t.cancel.remove();
    const etag = r.etag?.status === 'verified'
      ? h('span', { class: 'badge ok' }, 'ETag verified')
      : h('span', { class: 'badge' }, r.etag?.status === 'mismatch' ? 'ETag mismatch' : 'ETag not checked');
    t.result.replaceChildren(h('dl', { class: 'facts' },
      h('dt', {}, 'Read set'), h('dd', { class: 'readset-id' }, r.readSetId),
      h('dt', {}, 'Status'), h('dd', {}, badge(r.status)),
      h('dt', {}, 'ETag'), h('dd', {}, etag, r.etag?.stored?.source1 ? h('code', { class: 'etag' }, ` ${r.etag.stored.source1}${r.etag.stored.source2 ? ` / ${r.etag.stored.source2}` : ''}`) : null),
      h('dt', {}, 'Parts'), h('dd', {}, `${r.parts} (${bytes(r.bytes)})`),
      h('dt', {}, 'Part checksums'), h('dd', { class: 'verified-parts' }, r.verifiedParts
        ? `${r.verifiedParts} of ${r.parts} verified (SHA-256)`
        : 'not checked: the store\'s checksums are opaque (as AWS\'s); the ETag covers FASTQ'),
      h('dt', {}, 'Hashing'), h('dd', {}, hashing.onMainThread
        ? `on the page's thread (${hashing.onMainThread} of ${hashing.inWorkers + hashing.onMainThread} jobs)`
        : `in Web Workers (${hashing.inWorkers} jobs)`)));
  }

  doneSevenBridges(t, r) {
    t.state = 'done';
    t.card.dataset.uploadState = 'done';
    t.card.dataset.fileId = r.fileId;
    t.bar.value = t.bar.max;
    t.map.allDone();
    t.phase.textContent = 'Done';
    t.stats.textContent = `${bytes(r.bytes)} uploaded · parts ${r.parts} of ${r.parts}`;
    t.pause.remove();
    t.cancel.remove();
    t.result.replaceChildren(h('dl', { class: 'facts' },
      h('dt', {}, 'File'), h('dd', { class: 'file-id' }, r.fileId),
      h('dt', {}, 'Project'), h('dd', {}, this.sbg.project),
      h('dt', {}, 'Parts'), h('dd', {}, `${r.parts} of ${bytes(r.partSize)} (${bytes(r.bytes)})`)));
  }

  failed(t, e) {
    const aborted = e?.code === 'aborted';
    t.state = aborted ? 'cancelled' : 'failed';
    t.card.dataset.uploadState = t.state;
    t.card.dataset.errorCode = e?.code ?? 'error';
    t.phase.textContent = aborted ? 'Cancelled' : 'Failed';
    t.pause.remove();
    t.cancel.remove();
    const retry = !aborted && e?.uploadId && e.code !== 'invalid_input'
      ? h('button', { type: 'button', onclick: () => { t.card.remove(); this.start({ ...t.job, uploadId: e.uploadId }); } }, 'Resume this upload')
      : null;
    t.result.replaceChildren(h('p', { class: aborted ? 'muted' : 'error', role: aborted ? null : 'alert' }, explain(e)), retry);
  }
}

/** A status badge: ACTIVE green, failures red, work in progress amber. */
export function badge(status) {
  const tone = /^(ACTIVE|COMPLETED)$/.test(status) ? 'ok'
    : /FAILED|DELETED|CANCELLED/.test(status) ? 'bad'
      : /PROCESSING|PROGRESS|SUBMITTED|ACTIVATING|DELETING|CANCELLING/.test(status) ? 'busy' : '';
  return h('span', { class: `badge ${tone}`, dataset: { status } }, status ?? '–');
}
