// Import, export and activation jobs of the store, each with a timeline of the states this page
// saw it in; read through the library's job iterators, and refreshed every 2 s while any job is
// still moving (bounded, paused while the tab is hidden).

import { h } from './dom.js';
import { when, explain } from './format.js';
import { badge } from './transfers.js';
import { jobTimeline } from './pictures.js';
import { Poller } from './poller.js';

const KINDS = [
  ['export', 'Export jobs', 'exportJobs'],
  ['activation', 'Activation jobs', 'activationJobs'],
  ['import', 'Import jobs', 'importJobs'],
];
const MOVING = new Set(['SUBMITTED', 'IN_PROGRESS', 'CANCELLING']);
/** At most this many jobs of each kind are shown (the newest; the service lists oldest first). */
const SHOWN = 200;

export class Jobs {
  constructor(ctx) {
    this.ctx = ctx;
    this.root = document.getElementById('job-tables');
    this.message = document.getElementById('jobs-message');
    this.history = new Map(); // job id -> [{status, at}] as observed
    this.live = new Poller(() => this.refresh({ live: true }), 2000, 900);
    document.getElementById('jobs-refresh').addEventListener('click', () => this.refresh());
    ctx.jobSeen = (kind, job) => this.seen(job);
  }

  /** Notes `job`'s status, once per change, with the time it was first seen. */
  seen(job) {
    const seen = this.history.get(job.id) ?? [];
    if (seen.at(-1)?.status !== job.status) {
      // Before this page saw it, the job was SUBMITTED at its creation time.
      if (seen.length === 0 && job.status !== 'SUBMITTED') seen.push({ status: 'SUBMITTED', at: Date.parse(job.creationTime) || Date.now() });
      // A job that ended before this page saw it: its last state began no later than its end.
      const ended = job.completionTime ? Date.parse(job.completionTime) : NaN;
      const at = job.status === 'SUBMITTED' ? Date.parse(job.creationTime) || Date.now() : Math.min(Date.now(), Number.isNaN(ended) ? Infinity : ended);
      seen.push({ status: job.status, at });
      this.history.set(job.id, seen);
    }
  }

  /** Reloads the three lists; keeps polling while a job is running. */
  async refresh({ live = false } = {}) {
    // Only the latest answer may draw: a slow listing must not redraw over a newer one.
    const seq = (this.seq = (this.seq ?? 0) + 1);
    let lists;
    try {
      lists = await Promise.all(KINDS.map(async ([, , method]) => {
        const jobs = [];
        for await (const j of this.ctx.client[method]({ maxResults: 100 })) {
          jobs.push(j);
          if (jobs.length > SHOWN) jobs.shift();
        }
        return jobs;
      }));
    } catch (e) {
      if (seq !== this.seq) return;
      this.message.className = 'error';
      this.message.textContent = `Could not list the jobs: ${explain(e)}`;
      if (live) this.live.keep();
      else this.live.start();
      return;
    }
    if (seq !== this.seq) return;
    for (const j of lists.flat()) this.seen(j);
    this.root.replaceChildren(...KINDS.map(([kind, title], i) => this.table(kind, title, lists[i])));
    const moving = lists.flat().filter((j) => MOVING.has(j.status)).length;
    this.message.className = '';
    this.message.textContent = moving ? `${moving} job${moving === 1 ? ' is' : 's are'} running; refreshing every 2 seconds.` : '';
    if (moving && live) this.live.keep();
    else if (moving) this.live.start();
    else this.live.stop();
    if (!moving && this.hadMoving) this.ctx.readSetsChanged(); // an import or activation may have changed read sets
    this.hadMoving = moving > 0;
  }

  table(kind, title, jobs) {
    const sorted = [...jobs].sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)));
    return h('div', { class: 'job-kind', dataset: { kind } },
      h('h3', {}, title),
      sorted.length === 0 ? h('p', { class: 'muted' }, 'None.') : h('div', { class: 'table-wrap' }, h('table', { class: 'stack' },
        h('caption', { class: 'visually-hidden' }, title),
        h('thead', {}, h('tr', {}, ['Job', 'Status', 'Timeline', 'Created', 'Completed', kind === 'export' ? 'Destination' : 'Message'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, sorted.map((j) => h('tr', { dataset: { jobId: j.id } },
          h('td', { 'data-label': 'Job' }, h('code', {}, j.id)),
          h('td', { 'data-label': 'Status' }, badge(j.status)),
          h('td', { 'data-label': 'Timeline' }, jobTimeline(j, this.history.get(j.id) ?? [])),
          h('td', { 'data-label': 'Created' }, when(j.creationTime)),
          h('td', { 'data-label': 'Completed' }, when(j.completionTime)),
          h('td', { 'data-label': kind === 'export' ? 'Destination' : 'Message' }, kind === 'export' ? h('code', {}, j.destination ?? '–') : (j.statusMessage ?? '–'))))))));
  }
}
