// Pictures where people would rather look than read: an upload's part map (one cell per part,
// coloured by state) and throughput sparkline, and a job's timeline of states. Each keeps its
// numbers in data attributes too, for assistive technology and the tests.

import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
};

/** Part states as the map shows them, with their colours (the legend says the same). */
export const PART_STATES = {
  waiting: ['Waiting', '#d0d4da'],
  hashing: ['Hashing', '#f2c14e'],
  sending: ['Sending', '#4a90d9'],
  retrying: ['Retrying', '#e8743b'],
  done: ['Done', '#2e9e5b'],
  failed: ['Failed', '#c62828'],
};
const CODE = Object.fromEntries(Object.keys(PART_STATES).map((k, i) => [k, i]));
const COLOURS = Object.values(PART_STATES).map(([, c]) => c);

/** The map's state for a library `PartState`. */
function shown(state) {
  switch (state) {
    case 'hashing': return 'hashing';
    case 'hashed': case 'uploading': return 'sending';
    case 'retrying': return 'retrying';
    case 'done': case 'skipped': return 'done';
    case 'failed': return 'failed';
    default: return 'waiting';
  }
}

/**
 * One cell per part of each source, on a canvas (10,000 parts draw in a few milliseconds).
 * `counts`: parts per source (`{SOURCE1: n, SOURCE2: m}`, estimated from the file sizes and part
 * size); a part numbered past its source's count widens the map.
 */
export class PartMap {
  constructor(counts, label) {
    this.counts = { ...counts };
    this.states = { SOURCE1: new Uint8Array(counts.SOURCE1 ?? 0), SOURCE2: new Uint8Array(counts.SOURCE2 ?? 0) };
    this.canvas = h('canvas', { class: 'part-map', role: 'img', 'aria-label': `Part map of ${label}` });
    this.legend = h('p', { class: 'legend' }, Object.values(PART_STATES).map(([name, colour]) =>
      h('span', {}, h('i', { style: `background:${colour}` }), name)));
    this.el = h('div', { class: 'part-map-box' }, this.canvas, this.legend);
    this.pending = false;
    this.draw();
  }

  /** Records `part.state` for `part` (`{source, number, state}`); redraws once per frame. */
  set(part) {
    const s = part.source === 'SOURCE2' ? 'SOURCE2' : 'SOURCE1';
    if (part.number > this.states[s].length) {
      const grown = new Uint8Array(part.number);
      grown.set(this.states[s]);
      this.states[s] = grown;
      this.counts[s] = part.number;
    }
    this.states[s][part.number - 1] = CODE[shown(part.state)];
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.draw(); });
    }
  }

  /** Every part done (the upload finished: events for parts found on the server may not come). */
  allDone() {
    for (const s of Object.values(this.states)) s.fill(CODE.done);
    this.draw();
  }

  /** Parts per map state, e.g. `{done: 37, waiting: 43, ...}`. */
  tally() {
    const t = Object.fromEntries(Object.keys(PART_STATES).map((k) => [k, 0]));
    const names = Object.keys(PART_STATES);
    for (const s of Object.values(this.states)) for (const c of s) t[names[c]] += 1;
    return t;
  }

  draw() {
    const rows = Object.values(this.states).filter((s) => s.length > 0);
    const total = rows.reduce((n, s) => n + s.length, 0);
    const width = 480;
    // Cells as large as fit: 12 px for a few parts, down to 2 px for 10,000 in two sources.
    const cell = Math.max(2, Math.min(12, Math.floor(Math.sqrt((width * 120) / Math.max(1, total)))));
    const perRow = Math.max(1, Math.floor(width / cell));
    const lines = rows.map((s) => Math.ceil(s.length / perRow));
    const gap = cell > 4 ? 1 : 0;
    const height = Math.max(cell, lines.reduce((n, l) => n + l * cell, 0) + (rows.length - 1) * cell);
    this.canvas.width = width;
    this.canvas.height = height;
    const g = this.canvas.getContext('2d');
    let y = 0;
    for (const [i, s] of rows.entries()) {
      for (let p = 0; p < s.length; p += 1) {
        g.fillStyle = COLOURS[s[p]];
        g.fillRect((p % perRow) * cell, y + Math.floor(p / perRow) * cell, cell - gap, cell - gap);
      }
      y += lines[i] * cell + cell;
    }
    const t = this.tally();
    this.canvas.dataset.done = String(t.done);
    this.canvas.dataset.total = String(total);
    this.canvas.setAttribute('aria-label', `${t.done} of ${total} parts done, ${t.sending} sending, ${t.retrying} retrying, ${t.waiting + t.hashing} waiting`);
  }
}

/** Upload throughput over the last minute, one sample per second at most. */
export class Sparkline {
  constructor(label) {
    this.samples = [];
    this.last = 0;
    this.line = svg('polyline', { fill: 'none', stroke: '#4a90d9', 'stroke-width': 1.5 });
    this.el = svg('svg', { class: 'sparkline', viewBox: '0 0 120 24', width: 120, height: 24, role: 'img', 'aria-label': `Throughput of ${label}` });
    this.el.append(this.line);
  }

  /** Adds `bytesPerSecond` (ignored when less than a second after the previous sample). */
  add(bytesPerSecond, now = performance.now()) {
    if (now - this.last < 1000 && this.samples.length) return;
    this.last = now;
    this.samples.push(bytesPerSecond || 0);
    if (this.samples.length > 60) this.samples.shift();
    const max = Math.max(1, ...this.samples);
    const step = 120 / 59;
    this.line.setAttribute('points', this.samples.map((v, i) => `${(i * step).toFixed(1)},${(23 - (v / max) * 22).toFixed(1)}`).join(' '));
    this.el.dataset.samples = String(this.samples.length);
  }
}

const JOB_COLOURS = {
  SUBMITTED: '#d0d4da', IN_PROGRESS: '#4a90d9', CANCELLING: '#e8743b', CANCELLED: '#9e9e9e',
  COMPLETED: '#2e9e5b', COMPLETED_WITH_FAILURES: '#f2c14e', FAILED: '#c62828',
};

/**
 * A job's states over time: `history` is `[{status, at}]` as the page observed them (the
 * service reports only the current state), starting at the job's `creationTime` and ending at
 * its `completionTime` (or now while it runs). One coloured segment per state.
 */
export function jobTimeline(job, history) {
  const start = Date.parse(job.creationTime) || history[0]?.at || Date.now();
  const end = Date.parse(job.completionTime ?? '') || Date.now();
  const span = Math.max(1, end - start);
  const points = history.length ? history : [{ status: job.status, at: start }];
  const el = svg('svg', { class: 'timeline', viewBox: '0 0 160 10', width: 160, height: 10, role: 'img' });
  const label = [];
  for (const [i, p] of points.entries()) {
    // Sightings after the job ended (a finished job first seen now) are drawn at its end.
    const from = i === 0 ? start : Math.min(end, Math.max(start, p.at));
    const to = i + 1 < points.length ? Math.min(end, Math.max(from, points[i + 1].at)) : end;
    const x = ((from - start) / span) * 160;
    const w = Math.max(2, ((to - from) / span) * 160);
    const rect = svg('rect', { x: x.toFixed(1), y: 0, width: w.toFixed(1), height: 10, fill: JOB_COLOURS[p.status] ?? '#bbb' });
    const title = svg('title');
    title.textContent = `${p.status} from ${new Date(from).toLocaleTimeString()}`;
    rect.append(title);
    el.append(rect);
    label.push(p.status);
  }
  el.dataset.states = label.join(' ');
  el.setAttribute('aria-label', `States: ${label.join(', then ')}`);
  return el;
}
