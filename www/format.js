// Numbers and errors in words a lab scientist reads: sizes, rates, durations, and what to do
// when something fails. Pure functions, unit-tested in tests/e2e/page-format.test.mjs.

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** 1234567 -> "1.2 MB" (decimal units, as transfer rates are usually given). */
export function bytes(n) {
  if (!Number.isFinite(n) || n < 0) return '–';
  let i = 0;
  while (n >= 1000 && i < UNITS.length - 1) { n /= 1000; i += 1; }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${UNITS[i]}`;
}

/** Bytes per second -> "5.1 MB/s". */
export const rate = (bps) => (bps > 0 ? `${bytes(bps)}/s` : '–');

/** Seconds -> "1 h 02 min", "3 min 05 s", "42 s"; "–" when unknown. */
export function duration(s) {
  if (!Number.isFinite(s) || s < 0) return '–';
  s = Math.round(s);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  if (hh) return `${hh} h ${String(mm).padStart(2, '0')} min`;
  if (mm) return `${mm} min ${String(ss).padStart(2, '0')} s`;
  return `${ss} s`;
}

/** Time left from the bytes still to send and the current throughput. */
export const timeLeft = (remaining, bps) => (bps > 0 ? duration(remaining / bps) : '–');

/** An ISO time -> the user's local date and time. */
export function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

// What the user can do about each error code of the library (ReadSetUploadError.code).
const ADVICE = {
  invalid_input: 'Correct the highlighted value and start again.',
  validation: 'The service refused a value: check the metadata and files, then start again.',
  auth: 'Your sign-in has expired or was not accepted: reload the page and try again.',
  forbidden: 'You are not allowed to use this sequence store: ask your administrator for access.',
  not_found: 'The sequence store or upload no longer exists: reload the page.',
  quota: 'The store has reached a quota: ask your administrator, or remove old read sets.',
  throttled: 'The service is busy: wait a minute, then resume.',
  network: 'The connection was lost: check your network, then resume (parts already sent are kept).',
  server: 'The service had a problem: resume in a few minutes (parts already sent are kept).',
  aborted: 'The upload was cancelled.',
  checksum_mismatch: 'A part arrived damaged twice: check your connection and resume.',
  etag_mismatch: 'The stored data differs from your file: upload the file again; if it happens again, the file may be changing on disk.',
  upload_failed: 'The service could not import the files: check that they are valid for the chosen file type.',
  timeout: 'The read set is still being processed: check its status in the table later.',
  protocol: 'The service gave an answer this page cannot read (or the data is not what its type says): reload the page and try again.',
  job_failed: 'The job did not finish: read its message under Jobs, correct the cause and start it again.',
  missing_report_header: 'The storage does not expose a header the upload must report: ask the administrator to fix its CORS settings.',
};

/** An error (ReadSetUploadError, or any Error) in words: "what happened. what to do." */
export function explain(e) {
  if (!e) return '';
  const message = (e.message || String(e)).replace(/\s+$/, '');
  const advice = ADVICE[e.code];
  if (!advice) return message;
  if (e.code === 'aborted') return advice;
  return `${message.replace(/\.$/, '')}. ${advice}`;
}
