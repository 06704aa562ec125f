// Unit tests of the demo page's pure helpers: the metadata rules checked as the user types
// (www/rules.js) and the numbers and error wording (www/format.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkReadSet, parseTags, checkS3Uri } from '../../www/rules.js';
import { bytes, duration, timeLeft, explain } from '../../www/format.js';

const fq = (name, size = 10) => ({ name, size });
const ok = { fileType: 'FASTQ', files: [fq('a_R1.fastq.gz'), fq('a_R2.fastq.gz')], name: 'a', subjectId: 's', sampleId: 'x' };

test('a complete FASTQ pair has no problems', () => {
  assert.deepEqual(checkReadSet(ok), {});
});

test('required fields, lengths and control characters are reported per field in words', () => {
  const e = checkReadSet({ ...ok, name: 'n'.repeat(128), subjectId: '', sampleId: 'a\tb', description: 'd'.repeat(256) });
  assert.equal(e.name, 'Name must be 1 to 127 characters (it has 128).');
  assert.equal(e.subjectId, 'Subject is required.');
  assert.match(e.sampleId, /control characters/);
  assert.match(e.description, /1 to 255 characters \(it has 256\)/);
  assert.equal(checkReadSet({ ...ok, name: 'ü'.repeat(127) }).name, undefined, 'characters, not bytes, are counted');
});

test('BAM and CRAM need a reference ARN; other types may not pair or use the wrong extension', () => {
  assert.match(checkReadSet({ ...ok, fileType: 'CRAM', files: [fq('x.cram')] }).referenceArn, /reference is required for CRAM/);
  assert.match(checkReadSet({ ...ok, fileType: 'BAM', files: [fq('x.bam')], referenceArn: 'ref-1' }).referenceArn, /ARN starting with "arn:"/);
  assert.deepEqual(checkReadSet({ ...ok, fileType: 'BAM', files: [fq('x.bam')], referenceArn: 'arn:aws:omics:us-east-1:1:referenceStore/1/reference/2' }), {});
  assert.match(checkReadSet({ ...ok, fileType: 'BAM', files: [fq('a_R1.fastq.gz')], referenceArn: 'arn:x' }).files, /not a BAM file name/);
  assert.match(checkReadSet({ ...ok, fileType: 'UBAM', files: [fq('a.bam'), fq('b.bam')] }).files, /Only FASTQ read sets have two files/);
  assert.match(checkReadSet({ ...ok, files: [fq('a_R1.fastq.gz', 0)] }).files, /a_R1\.fastq\.gz is empty/);
});

test('tags are key=value lines with the service limits', () => {
  assert.deepEqual(parseTags('project=p1\n run = 42 ,empty='), { tags: { project: 'p1', run: '42', empty: '' }, error: null });
  assert.match(parseTags('novalue').error, /key=value/);
  assert.match(parseTags(`${'k'.repeat(129)}=v`).error, /1 to 128/);
  assert.match(parseTags(`k=${'v'.repeat(257)}`).error, /at most 256/);
  assert.match(parseTags('a=1\na=2').error, /given twice/);
  assert.match(checkReadSet({ ...ok, tags: 'oops' }).tags, /key=value/);
});

test('export destinations must be s3 URIs with a valid bucket', () => {
  assert.equal(checkS3Uri('s3://my-bucket/exports/'), null);
  assert.match(checkS3Uri('/tmp/out'), /s3:\/\/bucket/);
  assert.match(checkS3Uri('s3://My_Bucket/x'), /not a valid bucket name/);
});

test('sizes, rates and durations read naturally', () => {
  assert.equal(bytes(0), '0 B');
  assert.equal(bytes(1_234_567), '1.23 MB');
  assert.equal(bytes(52_000_000), '52.0 MB');
  assert.equal(duration(42), '42 s');
  assert.equal(duration(185), '3 min 05 s');
  assert.equal(duration(3720), '1 h 02 min');
  assert.equal(timeLeft(1000, 0), '–', 'no time left estimate without a rate');
  assert.equal(timeLeft(10_000_000, 1_000_000), '10 s');
});

test('errors say what happened and what to do', () => {
  const e = Object.assign(new Error('UploadReadSetPart failed: connection reset'), { code: 'network' });
  assert.equal(explain(e), 'UploadReadSetPart failed: connection reset. The connection was lost: check your network, then resume (parts already sent are kept).');
  assert.equal(explain(Object.assign(new Error('x'), { code: 'aborted' })), 'The upload was cancelled.');
  assert.equal(explain(new Error('plain')), 'plain');
});
