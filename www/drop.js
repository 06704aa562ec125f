// Files from a drop: plain files, and the files inside dropped folders (walked recursively).

function readAll(reader) {
  // readEntries returns at most 100 entries per call: call until it returns none.
  return new Promise((resolve, reject) => {
    const out = [];
    const next = () => reader.readEntries((batch) => {
      if (batch.length === 0) resolve(out);
      else { out.push(...batch); next(); }
    }, reject);
    next();
  });
}

async function walk(entry, out) {
  if (entry.isFile) {
    out.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
  } else if (entry.isDirectory) {
    for (const child of await readAll(entry.createReader())) await walk(child, out);
  }
}

/** The files of a DataTransfer, folders included. */
export async function filesFromDrop(dataTransfer) {
  const entries = [...(dataTransfer.items ?? [])]
    .filter((i) => i.kind === 'file')
    .map((i) => (typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null));
  if (entries.length === 0 || entries.some((e) => !e) || !entries.some((e) => e.isDirectory)) {
    return [...dataTransfer.files];
  }
  const out = [];
  for (const e of entries) await walk(e, out);
  return out;
}
