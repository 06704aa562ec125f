// The service's rules for read set metadata, checked as the user types (the library checks
// them again before any network call). Pure functions, unit-tested in page-rules.test.mjs.

const EXTENSIONS = { FASTQ: ['.fastq.gz', '.fq.gz'], BAM: ['.bam'], CRAM: ['.cram'], UBAM: ['.bam', '.ubam'] };

function text(value, label, min, max) {
  const n = [...value].length;
  if (n < min || n > max) return min === 1 && n === 0 ? `${label} is required.` : `${label} must be ${min} to ${max} characters (it has ${n}).`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return `${label} must not contain line breaks or control characters.`;
  return null;
}

/**
 * Parses the tags field: one `key=value` per line (or separated by commas). Returns
 * `{tags, error}`; keys 1..128, values 0..256 characters.
 */
export function parseTags(input) {
  const tags = {};
  const items = input.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq < 0) return { tags, error: `Tag "${item}" needs the form key=value.` };
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (!key || [...key].length > 128) return { tags, error: `Tag key "${key}" must be 1 to 128 characters.` };
    if ([...value].length > 256) return { tags, error: `The value of tag "${key}" must be at most 256 characters.` };
    if (key in tags) return { tags, error: `Tag "${key}" is given twice.` };
    tags[key] = value;
  }
  return { tags, error: null };
}

/**
 * Checks a read set's metadata and files; returns `{field: message}` for every problem
 * (empty when it may be uploaded). Fields: fileType, files, name, subjectId, sampleId,
 * referenceArn, description, tags.
 */
export function checkReadSet({ fileType, files = [], name = '', subjectId = '', sampleId = '', referenceArn = '', description = '', tags = '' }) {
  const errors = {};
  const put = (k, msg) => { if (msg) errors[k] = msg; };
  if (!EXTENSIONS[fileType]) put('fileType', 'Choose the file type: FASTQ, BAM, CRAM or UBAM.');
  else {
    const bad = files.find((f) => !EXTENSIONS[fileType].some((x) => f.name.toLowerCase().endsWith(x)));
    if (bad) put('files', `${bad.name} is not a ${fileType} file name (expected ${EXTENSIONS[fileType].join(' or ')}).`);
    if (files.length === 2 && fileType !== 'FASTQ') put('files', 'Only FASTQ read sets have two files (R1 and R2): split the pair.');
  }
  if (files.length === 0) put('files', 'Add a file.');
  const empty = files.find((f) => f.size === 0);
  if (empty) put('files', `${empty.name} is empty.`);
  put('name', text(name, 'Name', 1, 127));
  put('subjectId', text(subjectId, 'Subject', 1, 127));
  put('sampleId', text(sampleId, 'Sample', 1, 127));
  if (fileType === 'BAM' || fileType === 'CRAM') {
    if (!referenceArn) put('referenceArn', `A reference is required for ${fileType}: give the ARN of the reference the reads are aligned to.`);
  }
  if (referenceArn) {
    put('referenceArn', text(referenceArn, 'Reference', 1, 127) ?? (referenceArn.startsWith('arn:') ? null : 'The reference must be an ARN starting with "arn:".'));
  }
  if (description) put('description', text(description, 'Description', 1, 255));
  put('tags', parseTags(tags).error);
  return errors;
}

/** Checks an export destination: `s3://bucket/prefix`, bucket 3..63 of a-z 0-9 . - */
export function checkS3Uri(uri) {
  const m = /^s3:\/\/([^/]+)(\/.*)?$/.exec(uri);
  if (!m) return 'The destination must look like s3://bucket/folder/.';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) return `"${m[1]}" is not a valid bucket name (3 to 63 lower-case letters, digits, dots or dashes).`;
  return null;
}
