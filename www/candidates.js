// Step 2 of the page: the read sets about to be uploaded, one form each. Files are grouped by
// files.js (R1/R2 pairing, type from the extension); the user can swap, split or re-pair
// mates, change the type, and fill in the metadata, checked by rules.js on every keystroke.

import { h, field, uid } from './dom.js';
import { groupFiles } from './files.js';
import { bytes } from './format.js';
import { checkReadSet, parseTags } from './rules.js';

const TYPES = ['FASTQ', 'BAM', 'CRAM', 'UBAM'];
const FIELDS = [
  ['name', 'Read set name', 'input', '1 to 127 characters.'],
  ['subjectId', 'Subject', 'input', 'The individual the sample comes from.'],
  ['sampleId', 'Sample', 'input', 'The sample sequenced.'],
  ['referenceArn', 'Reference (ARN)', 'input', 'Required for BAM and CRAM: the reference the reads are aligned to.'],
  ['description', 'Description', 'textarea', 'Optional, up to 255 characters.'],
  ['tags', 'Tags', 'textarea', 'Optional: one key=value per line.'],
];

/** The candidate list: `add(files)`, and `onUpload(candidate)` is called when one is started. */
export class Candidates {
  constructor(root, empty, uploadAll, onUpload) {
    this.root = root;
    this.empty = empty;
    this.uploadAll = uploadAll;
    this.onUpload = onUpload;
    this.items = [];
    uploadAll.addEventListener('click', () => {
      for (const c of [...this.items]) this.submit(c, false);
    });
  }

  /** Adds files (from a drop or a picker); returns messages about files that were skipped. */
  add(files) {
    const known = new Set(this.items.flatMap((c) => c.files.map(key)));
    const fresh = files.filter((f) => !known.has(key(f)));
    const skipped = [];
    for (const g of groupFiles(fresh)) {
      if (g.error) { skipped.push(g.error); continue; }
      this.items.push({ id: uid('rs'), files: g.files, fileType: g.fileType, name: g.name, subjectId: '', sampleId: '', referenceArn: '', description: '', tags: '', touched: new Set() });
    }
    this.render();
    return skipped;
  }

  render() {
    this.root.replaceChildren(...this.items.map((c) => this.card(c)));
    this.empty.hidden = this.items.length > 0;
    this.uploadAll.hidden = this.items.length < 2;
  }

  card(c) {
    const legendId = `${c.id}-legend`;
    const errors = () => checkReadSet(c);
    const msgs = {};
    const show = (all = false) => {
      const e = errors();
      for (const [k, span] of Object.entries(msgs)) {
        const text = (all || c.touched.has(k) || k === 'files' || k === 'fileType') ? (e[k] ?? '') : '';
        span.err.textContent = text;
        span.input?.setAttribute('aria-invalid', text ? 'true' : 'false');
      }
      return e;
    };

    // Files and pairing.
    const fileRows = c.files.map((f, i) => h('li', {}, h('span', { class: 'mate' }, c.files.length === 2 ? `R${i + 1}` : 'File'), ' ', h('span', { class: 'fname' }, f.name), ' ', h('span', { class: 'muted' }, `(${bytes(f.size)})`)));
    const tools = [];
    if (c.files.length === 2) {
      tools.push(h('button', { type: 'button', class: 'secondary', onclick: () => { c.files.reverse(); this.render(); } }, 'Swap R1/R2'));
      tools.push(h('button', { type: 'button', class: 'secondary', onclick: () => this.split(c) }, 'Split pair'));
    } else if (c.fileType === 'FASTQ') {
      const others = this.items.filter((o) => o !== c && o.files.length === 1 && o.fileType === 'FASTQ');
      if (others.length) {
        const sel = h('select', { id: `${c.id}-pair` }, h('option', { value: '' }, 'Choose the R2 file…'), ...others.map((o) => h('option', { value: o.id }, o.files[0].name)));
        sel.addEventListener('change', () => { if (sel.value) this.pair(c, this.items.find((o) => o.id === sel.value)); });
        tools.push(h('span', { class: 'field inline' }, h('label', { for: sel.id }, 'Pair with'), sel));
      }
    }
    tools.push(h('button', { type: 'button', class: 'secondary', onclick: () => this.remove(c) }, 'Remove'));
    const filesErr = { err: h('p', { class: 'field-error', 'aria-live': 'polite' }) };
    msgs.files = filesErr;

    const typeSel = h('select', {}, ...TYPES.map((t) => h('option', { value: t, selected: t === c.fileType }, t)));
    typeSel.addEventListener('change', () => { c.fileType = typeSel.value; this.render(); });
    const type = field('File type', typeSel);
    msgs.fileType = type;

    const inputs = FIELDS.filter(([k]) => k !== 'referenceArn' || c.fileType === 'BAM' || c.fileType === 'CRAM').map(([k, label, tag, hint]) => {
      const input = h(tag, { name: k, autocomplete: 'off', rows: tag === 'textarea' ? 2 : null, required: ['name', 'subjectId', 'sampleId', 'referenceArn'].includes(k) });
      input.value = c[k];
      input.addEventListener('input', () => { c[k] = input.value; c.touched.add(k); show(); });
      const f = field(label, input, hint);
      f.wrap.classList.add(`f-${k}`);
      msgs[k] = f;
      return f.wrap;
    });

    const start = h('button', { type: 'submit' }, c.files.length === 2 ? 'Upload pair' : 'Upload');
    const form = h('form', { class: 'candidate', 'aria-labelledby': legendId, dataset: { candidate: c.id }, novalidate: true },
      h('fieldset', {},
        h('legend', { id: legendId }, `${c.fileType ?? 'Read set'}: ${c.name}`),
        h('ul', { class: 'files' }, fileRows),
        h('div', { class: 'tools' }, tools),
        filesErr.err,
        h('div', { class: 'grid' }, type.wrap, ...inputs),
        h('div', { class: 'actions' }, start)));
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.submit(c, true, show, form); });
    c.show = show;
    c.form = form;
    queueMicrotask(() => show());
    return form;
  }

  submit(c, focus, show = c.show, form = c.form) {
    const e = show(true);
    if (Object.keys(e).length) {
      if (focus) form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    this.items = this.items.filter((o) => o !== c);
    this.render();
    const tags = parseTags(c.tags).tags;
    this.onUpload({
      files: c.files,
      fileType: c.fileType,
      meta: {
        name: c.name.trim(), subjectId: c.subjectId.trim(), sampleId: c.sampleId.trim(),
        ...(c.referenceArn && (c.fileType === 'BAM' || c.fileType === 'CRAM') ? { referenceArn: c.referenceArn.trim() } : {}),
        ...(c.description ? { description: c.description } : {}),
        ...(Object.keys(tags).length ? { tags } : {}),
      },
    });
  }

  split(c) {
    const [r1, r2] = c.files;
    const i = this.items.indexOf(c);
    const twin = { ...c, id: uid('rs'), files: [r2], name: r2.name.replace(/\.(fastq|fq)\.gz$/i, ''), touched: new Set() };
    c.files = [r1];
    this.items.splice(i + 1, 0, twin);
    this.render();
  }

  pair(c, other) {
    c.files = [c.files[0], other.files[0]];
    this.items = this.items.filter((o) => o !== other);
    this.render();
  }

  remove(c) {
    this.items = this.items.filter((o) => o !== c);
    this.render();
  }
}

const key = (f) => `${f.webkitRelativePath || f.name}\u0000${f.size}\u0000${f.lastModified}`;
