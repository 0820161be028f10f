// The deployment picker (issue 13): when several deployments are live, the officer's alert
// list and the operator's console follow the one picked here. The choice is remembered on
// this device for the session (localStorage, cleared at logout with everything else, kept
// across a reload); a picked deployment that is no longer live falls back to the newest live
// one. Which deployments may be picked is the server's answer to GET /api/deployments
// (api.js liveDeployments): the picker offers nothing else.

import {liveDeployments} from './api.js';
import {h} from './dom.js';

const KEY = 'pinchpoint.deployment';
const listeners = new Set();

/** The id picked on this device, or null. */
export function pickedId() {
  try { return localStorage.getItem(KEY); } catch { return null; }
}

/** The deployment to follow among `live` (newest first): the picked one, else the newest. */
export function choose(live) {
  const id = pickedId();
  return live.find((d) => d.id === id) || live[0] || null;
}

/** The live deployments and the one to follow. */
export async function followed() {
  const live = await liveDeployments();
  return {live, deployment: choose(live)};
}

/** Remember `id` and tell every listener (the alert stream, the open screen). */
export function pick(id) {
  try { localStorage.setItem(KEY, id); } catch { /* storage disabled: this page only */ }
  for (const fn of [...listeners]) fn(id);
}

/** Put back a pick that survived a wipe of web storage (forget.js) while still live. */
export function keep(id, live) {
  if (id && live.includes(id)) {
    try { localStorage.setItem(KEY, id); } catch { /* storage disabled */ }
  }
}

/** Listen to picks; returns the unsubscribe. */
export function onPick(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The picker: a labelled select of the live deployments, hidden when fewer than two are
 * live; `update(live, current)` redraws it when they changed, `has(id)`: one of them. */
export function picker() {
  const select = h('select', {id: 'deployment-pick', onchange: () => pick(select.value)});
  const el = h('label', {class: 'picker hidden', for: 'deployment-pick'},
    h('span', {text: 'Deployment '}), select);
  let shown = '';
  let ids = new Set();
  function update(live, current) {
    ids = new Set(live.map((d) => d.id));
    el.classList.toggle('hidden', live.length < 2);
    const key = `${live.map((d) => `${d.id}:${d.name}`).join('|')}>${current?.id || ''}`;
    if (key === shown) return;
    shown = key;
    select.replaceChildren(...live.map((d) => h('option', {value: d.id,
      text: `${d.name} — ${d.location}`})));
    if (current) select.value = current.id;
  }
  /** Whether `id` is one of the live deployments it offers. */
  const has = (id) => ids.has(id);
  return {el, update, has};
}
