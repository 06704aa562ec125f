// The read set viewer: ListReadSets with its filters and pagination, and a detail panel
// (GetReadSetMetadata) from which an export or an activation job is started.

import { h, field } from './dom.js';
import { bytes, when, explain } from './format.js';
import { checkS3Uri } from './rules.js';
import { badge } from './transfers.js';
import { startExportJob, startActivationJob } from './omics-jobs.js';

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

  refresh() { return this.load(this.page); }

  async load(page) {
    const { filter, maxResults } = this.filter();
    // Only the latest request may draw the table: answers can arrive out of order.
    const seq = (this.seq = (this.seq ?? 0) + 1);
    this.message.textContent = 'Loading…';
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
    this.detail.replaceChildren(h('p', { role: 'status' }, 'Loading…'));
    let m;
    try {
      m = await this.ctx.client.getReadSetMetadata(id);
    } catch (e) {
      this.detail.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Could not load read set ${id}: ${explain(e)}`));
      return;
    }
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
        h('thead', {}, h('tr', {}, ['File', 'Size', 'Part size', 'Parts', 'Location'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, files.map(([k, f]) => h('tr', {},
          h('td', { 'data-label': 'File' }, k), h('td', { 'data-label': 'Size' }, bytes(f.contentLength)),
          h('td', { 'data-label': 'Part size' }, bytes(f.partSize)), h('td', { 'data-label': 'Parts' }, String(f.totalParts ?? '–')),
          h('td', { 'data-label': 'Location' }, h('code', {}, f.s3Access?.s3Uri ?? '–'))))))),
      this.jobForms(m));
    this.detail.focus();
  }

  jobForms(m) {
    const dest = field('Export destination', h('input', { value: `s3://readset-exports/${m.id}/`, autocomplete: 'off' }), 'An S3 folder: s3://bucket/folder/');
    const role = field('IAM role ARN', h('input', { value: 'arn:aws:iam::123456789012:role/HealthOmicsExport', autocomplete: 'off' }), 'The role HealthOmics assumes to write there.');
    const msg = h('p', { role: 'status', class: 'job-message' });
    const exportForm = h('form', { class: 'job-form', 'aria-label': 'Export this read set' },
      h('div', { class: 'grid' }, dest.wrap, role.wrap),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Start export'),
        h('button', { type: 'button', class: 'secondary', onclick: () => this.activate(m, msg) }, 'Start activation')),
      h('small', {}, 'Activation brings an archived read set back to ACTIVE, so it can be read or exported.'),
      msg);
    dest.input.addEventListener('input', () => { dest.err.textContent = checkS3Uri(dest.input.value) ?? ''; });
    exportForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const bad = checkS3Uri(dest.input.value);
      dest.err.textContent = bad ?? '';
      role.err.textContent = role.input.value.startsWith('arn:') ? '' : 'The role must be an ARN starting with "arn:".';
      if (bad || role.err.textContent) return;
      msg.className = 'job-message';
      msg.textContent = 'Starting the export…';
      try {
        const job = await startExportJob(this.ctx.config, { readSetIds: [m.id], destination: dest.input.value, roleArn: role.input.value });
        msg.textContent = `Export job ${job.id} started (${job.status}); follow it under Jobs.`;
        this.ctx.jobsChanged();
      } catch (err) {
        msg.className = 'job-message error';
        msg.textContent = `The export could not start: ${explain(err)}`;
      }
    });
    return h('section', { class: 'job-box', 'aria-label': 'Export or activate' }, h('h4', {}, 'Export or activate'), exportForm);
  }

  async activate(m, msg) {
    msg.className = 'job-message';
    msg.textContent = 'Starting the activation…';
    try {
      const job = await startActivationJob(this.ctx.config, { readSetIds: [m.id] });
      msg.textContent = `Activation job ${job.id} started (${job.status}); follow it under Jobs.`;
      this.ctx.jobsChanged();
    } catch (err) {
      msg.className = 'job-message error';
      msg.textContent = `The activation could not start: ${explain(err)}`;
    }
  }
}
