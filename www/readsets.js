// The read set viewer: ListReadSets with its filters and pagination, and a detail panel
// (GetReadSetMetadata) with a preview of the data (first reads, or the BAM header), downloads
// of each file, and export and activation jobs started and followed through the library.
// Read sets still being processed (PROCESSING_UPLOAD, ACTIVATING) refresh until they settle.

import { h, field } from './dom.js';
import { bytes, when, explain } from './format.js';
import { checkS3Uri } from './rules.js';
import { badge } from './transfers.js';
import { Poller } from './poller.js';

/** Read set states that change by themselves: the table and the detail follow them. */
const MOVING = new Set(['PROCESSING_UPLOAD', 'ACTIVATING', 'DELETING']);

/** The viewer; `refresh()` reloads the current page. */
export class ReadSets {
  constructor(ctx) {
    this.ctx = ctx;
    this.form = document.getElementById('filters');
    this.body = document.querySelector('#readset-table tbody');
    this.message = document.getElementById('readsets-message');
    this.detail = document.getElementById('detail');
    this.prev = document.getElementById('page-prev');
    this.next = document.getElementById('page-next');
    this.info = document.getElementById('page-info');
    this.tokens = [undefined]; // nextToken of each page seen; tokens[i] opens page i
    this.page = 0;
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.first(); });
    this.form.addEventListener('reset', () => setTimeout(() => this.first()));
    this.form.addEventListener('change', () => this.first());
    this.prev.addEventListener('click', () => this.load(this.page - 1));
    this.next.addEventListener('click', () => this.load(this.page + 1));
    // Bounded live refresh: every 2 s while a listed read set moves, paused while the tab is
    // hidden, given up after 900 runs (30 minutes) until the user loads the table again.
    this.live = new Poller(() => this.refresh({ quiet: true }), 2000, 900);
  }

  filter() {
    const d = Object.fromEntries(new FormData(this.form));
    const filter = {};
    for (const k of ['status', 'name', 'sampleId', 'subjectId', 'creationType']) if (d[k]?.trim()) filter[k] = d[k].trim();
    for (const k of ['createdAfter', 'createdBefore']) if (d[k]) filter[k] = new Date(d[k]).toISOString();
    return { filter, maxResults: Number(d.maxResults) || 25 };
  }

  first() {
    this.tokens = [undefined];
    return this.load(0);
  }

  refresh(opts) { return this.load(this.page, opts); }

  async load(page, { quiet = false } = {}) {
    const { filter, maxResults } = this.filter();
    // Only the latest request may draw the table: answers can arrive out of order.
    const seq = (this.seq = (this.seq ?? 0) + 1);
    if (!quiet) this.message.textContent = 'Loading…';
    let answer;
    try {
      answer = await this.ctx.client.listReadSets({ filter, maxResults, ...(this.tokens[page] ? { nextToken: this.tokens[page] } : {}) });
      if (seq !== this.seq) return;
    } catch (e) {
      if (seq !== this.seq) return;
      this.message.textContent = `Could not list the read sets: ${explain(e)}`;
      this.message.className = 'error';
      return;
    }
    this.page = page;
    this.tokens[page + 1] = answer.nextToken;
    this.tokens.length = page + 2;
    const sets = answer.readSets ?? [];
    this.body.replaceChildren(...sets.map((r) => this.row(r)));
    const filtered = Object.keys(filter).length > 0;
    this.message.className = '';
    this.message.textContent = sets.length ? `${sets.length} read set${sets.length === 1 ? '' : 's'} on page ${page + 1}${filtered ? ' (filtered)' : ''}.`
      : filtered ? 'No read sets match these filters.' : 'The store holds no read sets yet.';
    this.prev.disabled = page === 0;
    this.next.disabled = !answer.nextToken;
    this.info.textContent = `Page ${page + 1}`;
    const moving = sets.filter((r) => MOVING.has(r.status));
    if (moving.length) {
      // A user's load begins a series; the live refreshes continue it until it runs out.
      if (quiet) this.live.keep();
      else this.live.start();
      if (this.live.active) this.message.textContent += ` ${moving.length} still changing; refreshing every 2 seconds.`;
    } else {
      this.live.stop();
    }
    // The open detail follows its read set while it moves.
    if (this.shown && !this.detail.hidden) {
      const r = sets.find((x) => x.id === this.shown.id);
      if (r && r.status !== this.shown.status) this.show(r.id);
    }
  }

  row(r) {
    const open = h('button', { type: 'button', class: 'secondary', 'aria-label': `Details of ${r.name ?? r.id}`, onclick: () => this.show(r.id) }, 'Details');
    return h('tr', { dataset: { readSetId: r.id } },
      h('td', { 'data-label': 'Name' }, r.name ?? '–'),
      h('td', { 'data-label': 'Status' }, badge(r.status)),
      h('td', { 'data-label': 'Type' }, r.fileType),
      h('td', { 'data-label': 'Subject' }, r.subjectId ?? '–'),
      h('td', { 'data-label': 'Sample' }, r.sampleId ?? '–'),
      h('td', { 'data-label': 'Created' }, when(r.creationTime)),
      h('td', { 'data-label': 'ID' }, h('code', {}, r.id)),
      h('td', {}, open));
  }

  async show(id) {
    this.detail.hidden = false;
    if (this.shown?.id !== id) this.detail.replaceChildren(h('p', { role: 'status' }, 'Loading…'));
    let m;
    try {
      m = await this.ctx.client.getReadSetMetadata(id);
    } catch (e) {
      this.detail.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Could not load read set ${id}: ${explain(e)}`));
      return;
    }
    this.shown = { id: m.id, status: m.status };
    if (MOVING.has(m.status)) this.live.start();
    const info = m.sequenceInformation ?? {};
    const files = Object.entries(m.files ?? {}).filter(([, f]) => f);
    const facts = [
      ['ID', h('code', {}, m.id)], ['Status', badge(m.status)], ['Status message', m.statusMessage],
      ['File type', m.fileType], ['Subject', m.subjectId], ['Sample', m.sampleId], ['Reference', m.referenceArn],
      ['Description', m.description], ['Created', when(m.creationTime)], ['Created by', m.creationType],
      ['ETag', m.etag ? h('span', { class: 'etag' }, `${m.etag.algorithm ?? ''} ${[m.etag.source1, m.etag.source2].filter(Boolean).join(' / ')}`) : null],
      ['Reads', info.totalReadCount?.toLocaleString()], ['Bases', info.totalBaseCount?.toLocaleString()],
      ['Alignment', info.alignment], ['Generated from', info.generatedFrom],
    ].filter(([, v]) => v !== undefined && v !== null && v !== '');
    const close = h('button', { type: 'button', class: 'secondary', onclick: () => { this.detail.hidden = true; } }, 'Close');
    this.detail.replaceChildren(
      h('div', { class: 'detail-head' }, h('h3', { id: 'detail-h' }, `Read set ${m.name ?? m.id}`), close),
      h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('div', { class: 'table-wrap' }, h('table', { class: 'files-table stack' },
        h('caption', {}, 'Files'),
        h('thead', {}, h('tr', {}, ['File', 'Size', 'Part size', 'Parts', 'Location', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, files.map(([k, f]) => h('tr', { dataset: { file: k } },
          h('td', { 'data-label': 'File' }, k), h('td', { 'data-label': 'Size' }, bytes(f.contentLength)),
          h('td', { 'data-label': 'Part size' }, bytes(f.partSize)), h('td', { 'data-label': 'Parts' }, String(f.totalParts ?? '–')),
          h('td', { 'data-label': 'Location' }, h('code', {}, f.s3Access?.s3Uri ?? '–')),
          h('td', {}, m.status === 'ACTIVE' ? this.downloadButton(m, k, f) : null)))))),
      this.previewBox(m),
      this.jobForms(m));
    if (!this.detail.contains(document.activeElement)) this.detail.focus();
  }

  /** Preview: the first reads of each FASTQ mate, or the BAM/uBAM/CRAM header. */
  previewBox(m) {
    const out = h('div', { class: 'preview', 'aria-live': 'polite' });
    const go = h('button', { type: 'button', class: 'secondary', disabled: m.status !== 'ACTIVE' }, 'Show a preview');
    go.addEventListener('click', async () => {
      go.disabled = true;
      out.replaceChildren(h('p', { role: 'status' }, 'Reading the start of the data…'));
      try {
        const p = await this.ctx.client.previewReadSet(m.id, { maxReads: 4 });
        out.replaceChildren(...this.previewView(p));
        out.dataset.ready = 'true';
      } catch (e) {
        out.replaceChildren(h('p', { class: 'error', role: 'alert' }, `No preview: ${explain(e)}`));
        out.dataset.error = e.code ?? 'error';
      } finally {
        go.disabled = false;
      }
    });
    return h('section', { class: 'job-box', 'aria-label': 'Preview' }, h('h4', {}, 'Preview'),
      m.status === 'ACTIVE' ? null : h('small', {}, `Available once the read set is ACTIVE (now ${m.status}).`), go, out);
  }

  previewView(p) {
    const fetched = h('small', {}, `Read ${bytes(p.bytesFetched)} of compressed data.`);
    if (p.fastq) {
      return [...p.fastq.map((s) => h('div', { class: 'mate', dataset: { source: s.source } },
        h('h5', {}, s.source === 'SOURCE1' ? 'Mate 1 (SOURCE1)' : 'Mate 2 (SOURCE2)'),
        h('pre', { class: 'reads' }, s.reads.map((r) => `@${r.name}\n${r.sequence}\n+\n${r.quality}`).join('\n')),
        s.complete ? null : h('small', {}, `The file holds only ${s.reads.length} read${s.reads.length === 1 ? '' : 's'}.`))), fetched];
    }
    const hd = p.header;
    const lines = [hd.hd, ...hd.readGroups, ...hd.programs].filter(Boolean);
    return [h('dl', { class: 'facts header-facts' },
      h('dt', {}, 'Format'), h('dd', {}, hd.format),
      h('dt', {}, 'References (@SQ)'), h('dd', { class: 'sq-count' }, String(hd.referenceCount)),
      h('dt', {}, 'Read groups (@RG)'), h('dd', {}, String(hd.readGroups.length)),
      h('dt', {}, 'Programs (@PG)'), h('dd', {}, String(hd.programs.length))),
    h('pre', { class: 'header-lines' }, lines.join('\n')), fetched];
  }

  /**
   * Download one file: streamed to a file the user picks where the browser has the File System
   * Access API (Chromium), else gathered into a Blob (up to the library's 512 MiB default) and
   * saved through a link.
   */
  downloadButton(m, key, f) {
    const file = key.toUpperCase();
    const name = `${m.name ?? m.id}_${key}${m.fileType === 'FASTQ' ? '.fastq.gz' : m.fileType === 'CRAM' ? '.cram' : '.bam'}`;
    const status = h('span', { class: 'download-status', role: 'status' });
    const bar = h('progress', { max: f.contentLength || 1, value: 0, hidden: true, 'aria-label': `Download of ${key}` });
    const button = h('button', { type: 'button', class: 'secondary', dataset: { download: file } }, 'Download');
    button.addEventListener('click', async () => {
      let writable;
      if (window.showSaveFilePicker && !this.ctx.noFilePicker) {
        try {
          writable = await (await window.showSaveFilePicker({ suggestedName: name })).createWritable();
        } catch (e) {
          if (e.name === 'AbortError') return; // the user closed the picker
          writable = undefined;
        }
      }
      button.disabled = true;
      bar.hidden = false;
      status.textContent = 'Downloading…';
      try {
        const r = await this.ctx.client.downloadReadSet(m.id, {
          file, ...(writable ? { writable } : {}), onProgress: (p) => { bar.value = p.bytesDownloaded; },
        });
        bar.value = bar.max;
        status.textContent = `${bytes(r.bytes)} saved${r.etag.verified ? ', ETag verified' : ''}.`;
        status.dataset.verified = String(r.etag.verified);
        if (r.blob) {
          const url = URL.createObjectURL(r.blob);
          const a = h('a', { href: url, download: name, hidden: true });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60_000);
        }
      } catch (e) {
        status.textContent = `The download failed: ${explain(e)}`;
        status.dataset.error = e.code ?? 'error';
      } finally {
        button.disabled = false;
      }
    });
    return h('span', { class: 'download' }, button, bar, status);
  }

  jobForms(m) {
    const dest = field('Export destination', h('input', { value: `s3://readset-exports/${m.id}/`, autocomplete: 'off' }), 'An S3 folder: s3://bucket/folder/. The proxy allows its configured folders and fills in the role the job runs as.');
    const msg = h('p', { role: 'status', class: 'job-message' });
    const exportForm = h('form', { class: 'job-form', 'aria-label': 'Export this read set' },
      h('div', { class: 'grid' }, dest.wrap),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Start export'),
        h('button', { type: 'button', class: 'secondary', onclick: () => this.startJob('activation', msg, { readSetIds: [m.id] }) }, 'Start activation')),
      h('small', {}, 'Activation brings an archived read set back to ACTIVE, so it can be read or exported.'),
      msg);
    dest.input.addEventListener('input', () => { dest.err.textContent = checkS3Uri(dest.input.value) ?? ''; });
    exportForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const bad = checkS3Uri(dest.input.value);
      dest.err.textContent = bad ?? '';
      if (!bad) this.startJob('export', msg, { readSetIds: [m.id], destination: dest.input.value });
    });
    return h('section', { class: 'job-box', 'aria-label': 'Export or activate' }, h('h4', {}, 'Export or activate'), exportForm);
  }

  /** Starts a job through the library and follows it to its end (`waitForJob`). */
  async startJob(kind, msg, options) {
    const title = kind === 'export' ? 'Export' : 'Activation';
    msg.className = 'job-message';
    msg.textContent = `Starting the ${kind}…`;
    let job;
    try {
      job = kind === 'export' ? await this.ctx.client.startExportJob(options) : await this.ctx.client.startActivationJob(options);
    } catch (err) {
      msg.className = 'job-message error';
      msg.textContent = `The ${kind} could not start: ${explain(err)}`;
      return;
    }
    msg.dataset.jobId = job.id;
    msg.textContent = `${title} job ${job.id} started (${job.status}).`;
    this.ctx.jobsChanged();
    try {
      const done = await this.ctx.client.waitForJob(job.id, {
        kind,
        onProgress: (j) => { msg.textContent = `${title} job ${job.id}: ${j.status}.`; this.ctx.jobSeen?.(kind, j); },
      });
      msg.textContent = `${title} job ${job.id}: ${done.status}.`;
      msg.dataset.jobStatus = done.status;
    } catch (err) {
      msg.className = 'job-message error';
      msg.textContent = `${title} job ${job.id}: ${explain(err)}`;
      msg.dataset.jobStatus = err.code;
    }
    this.ctx.jobsChanged();
    if (kind === 'activation') this.refresh();
  }
}
