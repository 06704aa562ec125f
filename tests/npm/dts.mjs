// Small readers of the package's declarations (readset_upload.d.ts), for the checks in
// npm.test.mjs. TypeScript 7's compiler has no JavaScript API, so these scan the text: comments
// and string literals are blanked first, then brackets are tracked.

/** The text with comments and string literals replaced by spaces (offsets kept). */
export function blankCommentsAndStrings(text) {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, (m) => m.replace(/[^\n]/g, ' '));
}

/** The names the declarations export: `export function|class|interface|type|const|enum NAME`, plus `default`. */
export function exportedNames(dts) {
  const code = blankCommentsAndStrings(dts);
  const names = [...code.matchAll(/^export\s+(?:declare\s+)?(?:function|class|interface|type|const|let|enum)\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
  if (/^export\s+default\b/m.test(code)) names.push('default');
  return [...new Set(names)].sort();
}

/**
 * Every parameter name in the declarations (functions, methods, constructors, function types):
 * an identifier at the start of an item directly inside `( ... )`, followed by `:` or `?:`.
 * Object-literal keys inside a parameter's type are not parameters and are skipped.
 */
export function parameterNames(dts) {
  const code = blankCommentsAndStrings(dts);
  const names = [];
  const stack = [];
  let atItemStart = false;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if ('({[<'.includes(c)) {
      // `=>` and comparison `<` do not occur in declarations except as generics.
      stack.push(c);
      atItemStart = c === '(';
    } else if (')}]>'.includes(c)) {
      if (c === '>' && code[i - 1] === '=') continue; // the arrow of a function type
      stack.pop();
      atItemStart = false;
    } else if (c === ',') {
      atItemStart = stack.at(-1) === '(';
    } else if (/\s/.test(c)) {
      continue;
    } else if (atItemStart) {
      const m = /^(?:\.\.\.)?([A-Za-z_$][\w$]*)\s*\??\s*:/.exec(code.slice(i));
      if (m) names.push(m[1]);
      atItemStart = false;
    }
  }
  return names;
}

/** The names usage.ts imports from 'readset-upload' (`default` for the default import). */
export function importedNames(source) {
  const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ' ');
  const names = [];
  for (const m of code.matchAll(/import\s+(?:type\s+)?([\s\S]*?)\s+from\s+['"]readset-upload['"]/g)) {
    let clause = m[1].trim();
    const braces = /\{([\s\S]*)\}/.exec(clause);
    if (braces) {
      for (const item of braces[1].split(',').map((s) => s.trim()).filter(Boolean)) {
        names.push(item.replace(/^type\s+/, '').split(/\s+as\s+/)[0].trim());
      }
      clause = clause.slice(0, braces.index).replace(/,\s*$/, '').trim();
    }
    if (clause && !clause.startsWith('*')) names.push('default');
  }
  return [...new Set(names)].sort();
}
