// Interrupted uploads: multipart uploads the store holds that nobody is completing (a closed
// tab, a lost connection). Each shows its parts; Abort discards it, Resume asks for the same
// file(s) again and continues it with a new ReadSetUploader (`uploadId`): parts the store holds
// with a matching checksum are not sent again.
//
// HOOK(resume-state): the library is gaining a resume state in IndexedDB (file names, sizes,
// part plan per uploadId). When it lands, use it here to show which local files each upload
// needs and to pre-check the re-selected files; the list itself comes from the server.

import { h, uid } from './dom.js';
import { bytes, when, explain } from './format.js';
import { mateOf } from './files.js';

export class Interrupted {
  /** `ctx.transfers` runs resumed uploads; `ctx.client` lists and aborts. */
  constructor(ctx) {
    this.ctx = ctx;
    this.list = document.getElementById('interrupted-list');
    this.message = document.getElementById('interrupted-message');
    document.getElementById('interrupted-refresh').addEventListener('click', () => this.refresh());
  }

  async refresh() {
    let uploads = [];
    try {
      let nextToken;
      // Bounded: at most 10 pages of 100.
      for (let i = 0; i < 10; i += 1) {
        const a = await this.ctx.client.listUploads({ maxResults: 100, ...(nextToken ? { nextToken } : {}) });
        uploads.push(...(a.uploads ?? []));
        nextToken = a.nextToken;
        if (!nextToken) break;
      }
    } catch (e) {
      this.message.className = 'error';
      this.message.textContent = `Could not list the uploads in progress: ${explain(e)}`;
      return;
    }
    const mine = this.ctx.transfers.activeUploadIds();
    uploads = uploads.filter((u) => !mine.has(u.uploadId));
    this.message.className = '';
    this.message.textContent = uploads.length ? `${uploads.length} interrupted upload${uploads.length === 1 ? '' : 's'}.` : 'No interrupted uploads.';
    this.list.replaceChildren(...uploads.map((u) => this.card(u)));
  }

  card(u) {
    const parts = h('p', { class: 'muted' }, 'Counting parts…');
    const msg = h('p', { role: 'status' });
    const pickId = uid('resume');
    const picker = h('input', { id: pickId, type: 'file', multiple: true, class: 'visually-hidden', accept: '.gz,.bam,.ubam,.cram' });
    const paired = u.sourceFileType === 'FASTQ' ? ' (both R1 and R2 for a pair)' : '';
    const abort = h('button', { type: 'button', class: 'danger', onclick: () => this.abort(u, card, msg) }, 'Abort');
    const card = h('li', { class: 'card', dataset: { uploadId: u.uploadId } },
      h('h3', {}, `${u.name ?? 'Unnamed'} `, h('span', { class: 'muted' }, `(${u.sourceFileType})`)),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Upload'), h('dd', {}, h('code', {}, u.uploadId)),
        h('dt', {}, 'Subject / sample'), h('dd', {}, `${u.subjectId ?? '–'} / ${u.sampleId ?? '–'}`),
        h('dt', {}, 'Started'), h('dd', {}, when(u.creationTime))),
      parts,
      h('div', { class: 'actions' }, picker, h('label', { class: 'button', for: pickId }, `Resume: choose the file${paired ? 's' : ''} again${paired}`), abort),
      msg);
    picker.addEventListener('change', () => this.resume(u, [...picker.files], card, msg));
    this.countParts(u, parts);
    return card;
  }

  async countParts(u, out) {
    try {
      const sources = u.sourceFileType === 'FASTQ' ? ['SOURCE1', 'SOURCE2'] : ['SOURCE1'];
      const found = [];
      for (const s of sources) {
        let nextToken;
        for (let i = 0; i < 100; i += 1) {
          const a = await this.ctx.client.listUploadParts(u.uploadId, s, { maxResults: 100, ...(nextToken ? { nextToken } : {}) });
          found.push(...(a.parts ?? []));
          nextToken = a.nextToken;
          if (!nextToken) break;
        }
      }
      const size = found.reduce((n, p) => n + (p.partSize ?? 0), 0);
      const bySource = sources.map((s) => `${s}: ${found.filter((p) => p.partSource === s).map((p) => p.partNumber).sort((a, b) => a - b).join(', ') || 'none'}`);
      out.textContent = `${found.length} part${found.length === 1 ? '' : 's'} stored (${bytes(size)}). ${bySource.join('; ')}.`;
      out.dataset.parts = String(found.length);
    } catch (e) {
      out.textContent = `Could not list the parts: ${explain(e)}`;
    }
  }

  resume(u, files, card, msg) {
    if (files.length === 0) return;
    // R1 first, whatever order the picker gives.
    files.sort((a, b) => (mateOf(a.name)?.mate ?? 0) - (mateOf(b.name)?.mate ?? 0));
    const meta = Object.fromEntries(['name', 'subjectId', 'sampleId', 'referenceArn', 'description', 'generatedFrom', 'tags']
      .filter((k) => u[k] !== undefined && u[k] !== null).map((k) => [k, u[k]]));
    msg.textContent = '';
    card.remove();
    this.ctx.transfers.start({ files, fileType: u.sourceFileType, meta, uploadId: u.uploadId });
  }

  async abort(u, card, msg) {
    msg.textContent = 'Aborting…';
    try {
      await this.ctx.client.abortUpload(u.uploadId);
      card.remove();
      this.message.textContent = `Upload ${u.uploadId} aborted; its parts were discarded.`;
    } catch (e) {
      msg.className = 'error';
      msg.textContent = `Could not abort: ${explain(e)}`;
    }
  }
}
