// A tiny element builder, so the page's modules stay plain DOM without a framework.

/**
 * `h('button', {class: 'x', onclick: fn, 'aria-label': '...'}, 'text', child)`: creates an
 * element; `on*` attributes become listeners, `false`/`null` attributes are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** A unique id for label/for pairs. */
let counter = 0;
export const uid = (prefix) => `${prefix}-${++counter}`;

/** A labelled form field: `{wrap, input}`; `input` is an <input>, <select> or <textarea>. */
export function field(label, input, hint) {
  input.id ||= uid('f');
  const err = h('span', { class: 'field-error', id: `${input.id}-err`, 'aria-live': 'polite' });
  const help = hint ? h('small', { id: `${input.id}-help` }, hint) : null;
  input.setAttribute('aria-describedby', help ? `${err.id} ${help.id}` : err.id);
  const wrap = h('div', { class: 'field' }, h('label', { for: input.id }, label), input, help, err);
  return { wrap, input, err };
}
