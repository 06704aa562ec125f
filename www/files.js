// Grouping dropped files into read sets: R1/R2 FASTQ mates are paired by name, the file type is
// inferred from the extension. Pure functions, so the page and the tests share them.

const FASTQ = /\.(fastq|fq)\.gz$/i;

/** The HealthOmics file type for a file name, or null when the extension is not supported. */
export function inferFileType(name) {
  if (FASTQ.test(name)) return 'FASTQ';
  if (/\.cram$/i.test(name)) return 'CRAM';
  if (/\.ubam$/i.test(name) || /\.unmapped\.bam$/i.test(name)) return 'UBAM';
  if (/\.bam$/i.test(name)) return 'BAM';
  return null;
}

// Mate markers, most specific first: `_R1`/`_R2` (optionally followed by `_001` etc.), then `_1`/`_2`.
const MATE = [/^(.*)([_.-])R([12])((?:[_.-]\d+)?)\.(fastq|fq)\.gz$/i, /^(.*)([_.-])([12])\.(fastq|fq)\.gz$/i];

/** Splits a FASTQ name into { key, mate } where mates share the key; null when no marker. */
export function mateOf(name) {
  for (const re of MATE) {
    const m = name.match(re);
    if (m) {
      const mate = Number(m[3]);
      const rest = re === MATE[0] ? `${m[1]}${m[2]}R#${m[4]}` : `${m[1]}${m[2]}#`;
      return { key: rest.toLowerCase(), mate };
    }
  }
  return null;
}

/** The read set name proposed for a file or pair: the name without mate marker and extension. */
export function baseName(name) {
  return name
    .replace(/\.(fastq|fq)\.gz$|\.(u?bam|cram)$/i, '')
    .replace(/([_.-])R?[12]((?:[_.-]\d+)?)$/i, '$2')
    .replace(/[_.-]+$/, '') || name;
}

/**
 * Groups files into read set candidates: `{ files: [r1, r2?], fileType, name, error? }`.
 * FASTQ files with matching R1/R2 (or _1/_2) names become pairs; everything else stands alone.
 * Files with an unsupported extension get an `error` the page shows.
 */
export function groupFiles(files) {
  const groups = [];
  const mates = new Map();
  for (const file of files) {
    const fileType = inferFileType(file.name);
    if (fileType === 'FASTQ') {
      const m = mateOf(file.name);
      if (m) {
        const slot = mates.get(m.key) ?? { files: [null, null], fileType, name: baseName(file.name) };
        if (!mates.has(m.key)) { mates.set(m.key, slot); groups.push(slot); }
        if (slot.files[m.mate - 1] === null) { slot.files[m.mate - 1] = file; continue; }
      }
    }
    groups.push({
      files: [file],
      fileType,
      name: baseName(file.name),
      ...(fileType ? {} : { error: `${file.name}: unsupported file type (expected .fastq.gz, .fq.gz, .bam, .ubam or .cram)` }),
    });
  }
  // A mate without its partner is uploaded alone.
  return groups.map((g) => (g.files.includes(null) ? { ...g, files: g.files.filter(Boolean) } : g));
}
