// The force-wide view (issue 13): every deployment of the store this console uses (with a
// shared PostgreSQL, every console's), its state, cameras and the edge each is on,
// candidates, confirmed alerts, outcomes and when its data falls due (GET /api/force). For the
// technical lead, the commander and the admin; counts and states only, as the server sends.

import {api} from '../api.js';
import {h, put, when, outcomeLabel} from '../dom.js';

const EVERY_MS = 5000;
const COLUMNS = ['Deployment', 'State', 'Cameras', 'Candidates', 'Waiting', 'Confirmed',
                 'Rejected', 'Outcomes', 'On hold', 'Retention due'];

function cameras(d) {
  if (!d.cameras.length) return '—';
  return d.cameras.map((c) => (c.edge ? `${c.camera_id} (${c.edge})` : c.camera_id)).join(', ');
}

function outcomes(d) {
  const parts = Object.entries(d.outcomes).map(([o, n]) => `${outcomeLabel(o)}: ${n}`);
  return parts.length ? parts.join('; ') : '—';
}

function due(d) {
  if (d.retention_due) return when(d.retention_due);
  return d.state === 'live' || d.state === 'authorised' || d.state === 'draft'
    ? '30 days after it ends' : '—';
}

function row(d) {
  const cells = [
    h('th', {scope: 'row'}, h('a', {href: `#/deployments/${encodeURIComponent(d.deployment_id)}`,
                                    text: d.name}), h('br'), h('small', {text: d.location})),
    h('td', {}, h('span', {class: `badge state-${d.state}`, text: d.state})),
    h('td', {dataset: {field: 'cameras'}, text: cameras(d)}),
    ...[['candidates', d.candidates], ['pending', d.pending], ['confirmed', d.confirmed],
        ['rejected', d.rejected]].map(([field, n]) => h('td', {class: 'n', dataset: {field}, text: String(n)})),
    h('td', {dataset: {field: 'outcomes'}, text: outcomes(d)}),
    h('td', {class: 'n', dataset: {field: 'held'}, text: String(d.held)}),
    h('td', {dataset: {field: 'retention_due'}, text: due(d)}),
  ];
  return h('tr', {dataset: {deployment: d.deployment_id}}, ...cells);
}

export function renderForce(main) {
  const body = h('tbody', {}, h('tr', {}, h('td', {colspan: String(COLUMNS.length), text: 'Loading…'})));
  const note = h('p', {class: 'where', role: 'status'});
  main.append(h('section', {class: 'panel force', 'aria-labelledby': 'force-h'},
    h('h1', {id: 'force-h', text: 'Force-wide view'}),
    h('p', {text: 'Every deployment on this store, with its cameras and the edge each is on. '
                 + 'Counts and states only: no image, no watch-list entry.'}),
    note,
    h('div', {class: 'scroll-x', role: 'region', tabindex: '0', 'aria-labelledby': 'force-h'},
      h('table', {class: 'force'},
        h('caption', {class: 'sr-only', text: 'Deployments, oldest first'}),
        h('thead', {}, h('tr', {}, ...COLUMNS.map((t) => h('th', {scope: 'col', text: t})))),
        body))));
  let timer = 0;
  let shown = '';
  async function poll() {
    try {
      const rows = await api('/api/force');
      const text = JSON.stringify(rows);
      if (text !== shown) {  // redrawn only when something changed (someone may be reading)
        shown = text;
        put(body, ...(rows.length ? rows.map(row)
          : [h('tr', {}, h('td', {colspan: String(COLUMNS.length), text: 'No deployments yet.'}))]));
      }
      const live = rows.filter((d) => d.state === 'live').length;
      note.textContent = `${rows.length} deployment${rows.length === 1 ? '' : 's'}, ${live} live.`;
    } catch (err) {
      note.textContent = `Could not load the force-wide view: ${err.message}`;
    }
    if (body.isConnected) timer = setTimeout(poll, EVERY_MS);
  }
  poll();
  return () => clearTimeout(timer);
}
