// Import, export and activation jobs of the store, with their states; polled every 2 s while
// any job is still moving.

import { h } from './dom.js';
import { when, explain } from './format.js';
import { badge } from './transfers.js';

const KINDS = [
  ['export', 'Export jobs', 'listExportJobs', 'exportJobs'],
  ['activation', 'Activation jobs', 'listActivationJobs', 'activationJobs'],
  ['import', 'Import jobs', 'listImportJobs', 'importJobs'],
];
const MOVING = new Set(['SUBMITTED', 'IN_PROGRESS', 'CANCELLING']);
const POLL_MS = 2000;

export class Jobs {
  constructor(ctx) {
    this.ctx = ctx;
    this.root = document.getElementById('job-tables');
    this.message = document.getElementById('jobs-message');
    this.timer = null;
    document.getElementById('jobs-refresh').addEventListener('click', () => this.refresh());
  }

  /** Reloads the three lists; keeps polling while a job is running. */
  async refresh() {
    clearTimeout(this.timer);
    let lists;
    try {
      lists = await Promise.all(KINDS.map(([, , method, key]) => this.ctx.client[method]({ maxResults: 100 }).then((a) => a[key] ?? [])));
    } catch (e) {
      this.message.className = 'error';
      this.message.textContent = `Could not list the jobs: ${explain(e)}`;
      this.timer = setTimeout(() => this.refresh(), POLL_MS * 5);
      return;
    }
    this.root.replaceChildren(...KINDS.map(([kind, title], i) => this.table(kind, title, lists[i])));
    const moving = lists.flat().filter((j) => MOVING.has(j.status)).length;
    this.message.className = '';
    this.message.textContent = moving ? `${moving} job${moving === 1 ? ' is' : 's are'} running; refreshing every 2 seconds.` : '';
    if (moving) this.timer = setTimeout(() => this.refresh(), POLL_MS);
    else if (this.hadMoving) this.ctx.readSetsChanged(); // an import or activation may have changed read sets
    this.hadMoving = moving > 0;
  }

  table(kind, title, jobs) {
    const sorted = [...jobs].sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)));
    return h('div', { class: 'job-kind', dataset: { kind } },
      h('h3', {}, title),
      sorted.length === 0 ? h('p', { class: 'muted' }, 'None.') : h('div', { class: 'table-wrap' }, h('table', { class: 'stack' },
        h('caption', { class: 'visually-hidden' }, title),
        h('thead', {}, h('tr', {}, ['Job', 'Status', 'Created', 'Completed', kind === 'export' ? 'Destination' : 'Message'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, sorted.map((j) => h('tr', { dataset: { jobId: j.id } },
          h('td', { 'data-label': 'Job' }, h('code', {}, j.id)),
          h('td', { 'data-label': 'Status' }, badge(j.status)),
          h('td', { 'data-label': 'Created' }, when(j.creationTime)),
          h('td', { 'data-label': 'Completed' }, when(j.completionTime)),
          h('td', { 'data-label': kind === 'export' ? 'Destination' : 'Message' }, kind === 'export' ? h('code', {}, j.destination ?? '–') : (j.statusMessage ?? '–'))))))));
  }
}
