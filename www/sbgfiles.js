// The Seven Bridges project's files (name, size, created), read with the library's
// `SevenBridgesClient.files()` iterator one page of 50 at a time: "Show more" reads on.

import { h } from './dom.js';
import { bytes, when, explain } from './format.js';

const PAGE = 50;

export class SbgFiles {
  /** `sbg`: `{endpoint, project}` from demo-config.json; `token`: the demo user's. */
  constructor(lib, sbg, token) {
    this.section = document.getElementById('sbg-files');
    this.body = document.querySelector('#sbg-table tbody');
    this.message = document.getElementById('sbg-message');
    this.more = document.getElementById('sbg-more');
    this.sbg = sbg;
    if (!sbg) return;
    this.client = new lib.SevenBridgesClient({ endpoint: sbg.endpoint, token });
    this.section.hidden = false;
    document.getElementById('sbg-project').textContent = sbg.project;
    document.getElementById('sbg-refresh').addEventListener('click', () => this.refresh());
    this.more.addEventListener('click', () => this.page());
  }

  async refresh() {
    if (!this.sbg) return;
    this.iterator = this.client.files({ project: this.sbg.project, limit: PAGE })[Symbol.asyncIterator]();
    this.body.replaceChildren();
    this.count = 0;
    await this.page();
  }

  /** Reads the next PAGE files. */
  async page() {
    // A refresh meanwhile replaces the iterator: this page then stops drawing.
    const it = this.iterator;
    this.more.disabled = true;
    this.message.className = '';
    let done = false;
    try {
      for (let i = 0; i < PAGE; i += 1) {
        const r = await it.next();
        if (this.iterator !== it) return;
        if (r.done) { done = true; break; }
        this.body.append(this.row(r.value));
        this.count += 1;
      }
    } catch (e) {
      if (this.iterator !== it) return;
      this.message.className = 'error';
      this.message.textContent = `Could not list the project's files: ${explain(e)}`;
      return;
    } finally {
      this.more.disabled = false;
    }
    this.more.hidden = done;
    this.message.textContent = this.count ? `${this.count} file${this.count === 1 ? '' : 's'}${done ? '' : ' so far'}.` : 'The project holds no files yet.';
  }

  row(f) {
    return h('tr', { dataset: { fileId: f.id } },
      h('td', { 'data-label': 'Name' }, f.name),
      h('td', { 'data-label': 'Size' }, bytes(f.size)),
      h('td', { 'data-label': 'Created' }, when(f.created_on)),
      h('td', { 'data-label': 'ID' }, h('code', {}, f.id)));
  }
}
