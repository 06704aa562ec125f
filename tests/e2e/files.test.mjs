// Unit tests of the demo page's file grouping (www/files.js): pairing mates, inferring types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupFiles, inferFileType, baseName } from '../../www/files.js';

const f = (name) => ({ name });
const names = (g) => g.files.map((x) => x.name);

test('R1/R2 and _1/_2 FASTQ mates are paired whatever the order they arrive in', () => {
  const groups = groupFiles([f('S1_L001_R2_001.fastq.gz'), f('sample7_1.fq.gz'), f('S1_L001_R1_001.fastq.gz'), f('sample7_2.fq.gz')]);
  assert.equal(groups.length, 2);
  assert.deepEqual(names(groups[0]), ['S1_L001_R1_001.fastq.gz', 'S1_L001_R2_001.fastq.gz']);
  assert.deepEqual(names(groups[1]), ['sample7_1.fq.gz', 'sample7_2.fq.gz']);
  assert.equal(groups[0].fileType, 'FASTQ');
  assert.equal(groups[0].name, 'S1_L001_001');
  assert.equal(groups[1].name, 'sample7');
});

test('a mate without its partner, and different samples, stay separate', () => {
  const groups = groupFiles([f('a_R1.fastq.gz'), f('b_R2.fastq.gz')]);
  assert.deepEqual(groups.map(names), [['a_R1.fastq.gz'], ['b_R2.fastq.gz']]);
});

test('types are inferred from the extension and unsupported files get an error', () => {
  assert.equal(inferFileType('x.bam'), 'BAM');
  assert.equal(inferFileType('x.unmapped.bam'), 'UBAM');
  assert.equal(inferFileType('x.ubam'), 'UBAM');
  assert.equal(inferFileType('x.CRAM'), 'CRAM');
  assert.equal(inferFileType('x.fastq'), null);
  const [g] = groupFiles([f('notes.txt')]);
  assert.equal(g.fileType, null);
  assert.match(g.error, /notes\.txt: unsupported file type/);
  assert.equal(baseName('NA12878.cram'), 'NA12878');
});
