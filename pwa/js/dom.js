// Tiny DOM helpers: build elements without innerHTML, so no server text is ever parsed as HTML.

/** h('button', {class: 'primary', onclick: f, 'aria-label': 'x'}, 'text', child…) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function put(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const CATEGORIES = {
  wanted: 'Wanted', risk_of_harm: 'Risk of harm', area_condition: 'Area condition',
  vulnerable_missing: 'Vulnerable / missing', blue: 'Blue list (test)',
};
export const categoryLabel = (c) => CATEGORIES[c] || c;

export const OUTCOMES = [
  ['not_stopped', 'Not stopped'],
  ['stopped_identity_confirmed', 'Stopped, identity confirmed'],
  ['stopped_not_the_person', 'Stopped, not the person'],
  ['arrested', 'Arrested'],
  ['other_action', 'Other action'],
];
export const outcomeLabel = (o) => (OUTCOMES.find(([k]) => k === o) || [o, o])[1];

export const REJECT_REASONS = [
  ['not_the_person', 'Not the person'],
  ['poor_image', 'Poor image'],
  ['duplicate', 'Duplicate'],
  ['not_relevant', 'Not relevant'],
  ['other', 'Other'],
];

/** A badge for a category. */
export const categoryBadge = (c) => h('span', {class: `badge cat-${c}`, text: categoryLabel(c)});

/** 14:02:07 (local time) for an ISO timestamp. */
export function clock(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleTimeString('en-GB', {hour: '2-digit', minute: '2-digit', second: '2-digit'});
}

/** 1 Mar 2026, 14:02 */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString('en-GB', {day: 'numeric', month: 'short', year: 'numeric',
                                    hour: '2-digit', minute: '2-digit'});
}

/** A fixed-size image frame (reserves its space before the picture arrives) with a caption.
 * The cookie authenticates the request; the API answers with Cache-Control: no-store (R24). */
export function shot(src, alt, caption) {
  const img = h('img', {src, alt, decoding: 'async', draggable: 'false'});
  return h('figure', {class: 'shot'}, h('div', {class: 'frame'}, img),
           caption ? h('figcaption', {text: caption}) : null);
}

/** A message line (role=status) whose text can be set later. */
export function message() {
  return h('p', {class: 'msg', role: 'status', 'aria-live': 'polite'});
}

export function say(el, text, kind = '') {
  el.textContent = text;
  el.className = `msg ${kind}`;
}
