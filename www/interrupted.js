// Interrupted uploads from both sources: the multipart uploads the store holds that nobody is
// completing (a closed tab, a lost connection), matched by the library (`listAbandonedUploads`)
// with the records this browser saved in IndexedDB. A matched upload says which files it needs
// and how far it got ("sample_R1.fastq.gz + sample_R2.fastq.gz, 37 of 80 parts sent"); choosing
// those files again resumes it at once, and other files are refused before anything is sent.
// The store's own part list stays the truth: parts it holds with a matching checksum are not
// sent again. A record whose upload the store no longer has can be forgotten.

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
    let uploads;
    try {
      uploads = await this.ctx.lib.listAbandonedUploads(this.ctx.config);
    } catch (e) {
      this.message.className = 'error';
      this.message.textContent = `Could not list the uploads in progress: ${explain(e)}`;
      return;
    }
    const mine = this.ctx.transfers.activeUploadIds();
    uploads = uploads.filter((u) => !mine.has(u.uploadId));
    const live = uploads.filter((u) => u.onServer);
    const gone = uploads.filter((u) => !u.onServer);
    this.message.className = '';
    this.message.textContent = live.length ? `${live.length} interrupted upload${live.length === 1 ? '' : 's'}.` : 'No interrupted uploads.';
    this.list.replaceChildren(...live.map((u) => this.card(u)), ...gone.map((u) => this.goneCard(u)));
  }

  /** What this browser remembers of an upload: its files and how far it got. */
  localFacts(rec) {
    if (!rec) return h('p', { class: 'muted local' }, 'Started in another browser or before this page kept records: choose the same files to resume.');
    const total = rec.files.reduce((n, f) => n + Math.max(1, Math.ceil(f.size / rec.partSize)), 0);
    const names = rec.files.map((f) => f.name).join(' + ');
    return h('p', { class: 'local', dataset: { partsConfirmed: String(rec.partsConfirmed), partsPlanned: String(total) } },
      h('strong', {}, names), `, ${rec.partsConfirmed} of ${total} parts sent (${bytes(rec.bytesConfirmed)} of ${bytes(rec.files.reduce((n, f) => n + f.size, 0))}). `,
      `Choose ${rec.files.length === 2 ? 'these two files' : 'this file'} again to go on.`);
  }

  /** A record saved here whose upload the store no longer has (completed elsewhere, aborted, expired). */
  goneCard(u) {
    const msg = h('p', { role: 'status' });
    const card = h('li', { class: 'card gone', dataset: { uploadId: u.uploadId, gone: 'true' } },
      h('h3', {}, `${u.local?.name ?? 'Unnamed'} `, h('span', { class: 'muted' }, '(no longer on the server)')),
      this.localFacts(u.local),
      h('p', { class: 'muted' }, 'The store no longer holds this upload, so it cannot be resumed.'),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: async () => {
        try {
          await this.ctx.lib.abortUpload({ ...this.ctx.config, uploadId: u.uploadId });
          card.remove();
        } catch (e) {
          msg.textContent = `Could not forget it: ${explain(e)}`;
        }
      } }, 'Forget')),
      msg);
    return card;
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
      this.localFacts(u.local),
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

  async resume(u, files, card, msg) {
    if (files.length === 0) return;
    // R1 first, whatever order the picker gives.
    files.sort((a, b) => (mateOf(a.name)?.mate ?? 0) - (mateOf(b.name)?.mate ?? 0));
    if (u.local) {
      // The record knows the files: names, sizes, modification times and edge hashes.
      let found;
      try {
        found = await this.ctx.lib.findResumableUploads({ files, ...this.ctx.config });
      } catch (e) {
        msg.className = 'error';
        msg.textContent = `Could not check the files: ${explain(e)}`;
        return;
      }
      if (!found.some((r) => r.uploadId === u.uploadId)) {
        const want = u.local.files.map((f) => `${f.name} (${bytes(f.size)})`).join(' + ');
        const got = files.map((f) => `${f.name} (${bytes(f.size)})`).join(' + ');
        msg.className = 'error';
        msg.dataset.refused = 'true';
        msg.textContent = `These are not the files of this upload: it needs ${want}, you chose ${got}. Nothing was sent.`;
        return;
      }
    }
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
