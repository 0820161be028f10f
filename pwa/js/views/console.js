// The operator's console (R4, R5, R21): the candidate queue (one item per person: repeated
// sightings of one watch-list entry are one episode, decided once, issue 15; its sightings
// listed under the faces), both faces large side by side,
// one-tap Confirm / Reject with a reason code, keyboard shortcuts, the camera-health strip and
// the blue-list test events kept apart (they never reach officers). When several deployments
// are live the operator picks the one to work (pick.js): its queue, receipts and test events.

import {api} from '../api.js';
import {followed, onPick, picker} from '../pick.js';
import {openFeed} from '../feed.js';
import {h, put, shot, categoryBadge, categoryLabel, clock, REJECT_REASONS, message, say} from '../dom.js';
import {sound} from '../alarm.js';
import {healthStrip} from './health.js';
import {receiptsOf} from '../receipts.js';

// How often the console asks the devices' receipts of the confirmed alerts.
const RECEIPTS_MS = 2000;
const PATHS = {mqtt: 'MQTT', webpush: 'Web Push', feed: 'live feed'};

export function renderConsole(main, _params, ctx) {
  let deployment = null;
  let queue = [];          // candidates, oldest first
  let selected = 0;
  let picking = false;     // the reject-reason picker is open
  let busy = false;
  let ofTotal = null;      // the "of N" of the heading, updated without redrawing the faces
  const [strip, stopHealth] = healthStrip();
  const where = h('p', {class: 'where', text: 'Looking for the live deployment…'});
  const choice = picker();
  const count = h('h2', {id: 'queue-h', text: 'Queue'});
  const list = h('ul', {class: 'queue', 'aria-labelledby': 'queue-h'});
  const decide = h('section', {class: 'decide panel', 'aria-labelledby': 'cand-h'});
  const tests = h('ul', {class: 'results'});
  const receiptsBody = h('tbody', {});
  const msg = message();
  const shortcuts = h('p', {class: 'shortcuts'}, 'Keys: ', h('kbd', {text: 'C'}), ' confirm · ',
    h('kbd', {text: 'R'}), ' reject · ', h('kbd', {text: '1'}), '–', h('kbd', {text: '5'}),
    ' reason · ', h('kbd', {text: 'J'}), '/', h('kbd', {text: 'K'}), ' next/previous · ',
    h('kbd', {text: 'Esc'}), ' cancel');
  main.append(
    h('div', {class: 'head'}, h('h1', {text: 'Operator console'}), where, choice.el, strip),
    h('div', {class: 'console'},
      h('div', {}, count, list),
      h('div', {}, decide, msg)),
    h('section', {class: 'panel receipts', 'aria-labelledby': 'receipts-h'},
      h('h2', {id: 'receipts-h', text: 'Confirmed alerts on officers’ devices'}),
      // scrolls sideways on a phone rather than widening the page
      h('div', {class: 'scroll-x', role: 'region', tabindex: '0', 'aria-labelledby': 'receipts-h'},
        h('table', {class: 'receipts'},
          h('thead', {}, h('tr', {},
            ...['Alert', 'Officer (device)', 'Delivered', 'Opened', 'Responding'].map(
              (t) => h('th', {scope: 'col', text: t})))),
          receiptsBody))),
    h('section', {class: 'panel tests', 'aria-labelledby': 'tests-h'},
      h('h2', {id: 'tests-h', text: 'Blue-list test events (never sent to officers)'}), tests));

  const current = () => queue[selected] || null;
  const sightingsEl = h('section', {class: 'episode', 'aria-live': 'polite'});

  function renderQueue() {
    count.textContent = `Queue (${queue.length})`;
    if (ofTotal) ofTotal.textContent = ` of ${queue.length} `;
    put(list, ...queue.map((c, i) => h('li', {},
      h('button', {type: 'button', 'aria-current': String(i === selected), dataset: {id: c.id},
                   'aria-label': `Candidate ${i + 1}: ${categoryLabel(c.category)}, camera ${c.camera_id}, `
                                 + `${clock(c.captured_at)}, score ${c.score.toFixed(3)}${c.late ? ', arrived late' : ''}`,
                   onclick: () => { selected = i; picking = false; render(); }},
        h('span', {text: `${clock(c.captured_at)} · ${c.camera_id}${c.seen_again ? ' · seen again' : ''}`
                         + (c.waiting > 1 ? ` · ${c.waiting} sightings` : '')}),
        c.late ? h('span', {class: 'late', text: 'late'}) : null,
        h('span', {text: c.score.toFixed(3)})))));
  }

  function renderDecision() {
    const c = current();
    if (!c) {
      ofTotal = null;
      put(decide, h('h2', {id: 'cand-h', text: 'No candidates waiting'}),
        h('p', {text: 'New candidates appear here as soon as the cameras raise them.'}));
      return;
    }
    const confirmBtn = h('button', {type: 'button', class: 'confirm', id: 'confirm',
      'aria-keyshortcuts': 'C', disabled: busy, onclick: confirm}, 'Confirm ', h('kbd', {text: 'C'}));
    const rejectBtn = h('button', {type: 'button', class: 'reject', id: 'reject',
      'aria-keyshortcuts': 'R', 'aria-expanded': String(picking), disabled: busy,
      onclick: () => { picking = !picking; renderDecision(); }}, 'Reject… ', h('kbd', {text: 'R'}));
    const reasons = picking ? h('fieldset', {class: 'reasons'},
      h('legend', {text: 'Why reject? (no notes about the person)'}),
      ...REJECT_REASONS.map(([code, label], i) => h('button', {type: 'button', dataset: {reason: code},
        'aria-keyshortcuts': String(i + 1), disabled: busy, onclick: () => reject(code)},
        h('kbd', {text: String(i + 1)}), ` ${label}`)),
      h('button', {type: 'button', text: 'Cancel', onclick: () => { picking = false; renderDecision(); }}))
      : null;
    put(decide,
      h('div', {class: 'cand-head'},
        h('h2', {id: 'cand-h'}, `Candidate ${selected + 1}`,
          ofTotal = h('span', {text: ` of ${queue.length} `}), categoryBadge(c.category)),
        h('span', {class: 'score', text: `Score ${c.score.toFixed(3)}`}),
        h('span', {text: `camera ${c.camera_id} · ${clock(c.captured_at)}`}),
        // an edge's candidate queued while its link was down: the person may have moved on
        c.late ? h('span', {class: 'late', text: 'Arrived late: captured '
                                                + `${clock(c.captured_at)}, received ${clock(c.created_at)}`}) : null,
        c.seen_again ? h('span', {class: 'seen-again', text: 'Seen again: the person is already '
          + 'alerted; Confirm sends officers an update of that alert'}) : null),
      h('div', {class: 'pair'},
        shot(c.images.face, `Face seen by camera ${c.camera_id}`, `Camera ${c.camera_id}`),
        shot(c.images.watchlist, 'Watch-list photo of the candidate match', 'Watch-list photo')),
      h('div', {class: 'actions'}, confirmBtn, rejectBtn), reasons, shortcuts, sightingsEl);
    if (picking) reasons.querySelector('button').focus();
    if (sightingsEl.dataset.for !== c.id) { sightingsEl.replaceChildren(); sightingsEl.dataset.for = c.id; }
    fillSightings(c, sightingsEl);
  }

  function render() { renderQueue(); renderDecision(); }

  async function decideOn(path, body, done) {
    const c = current();
    if (!c || busy) return;
    busy = true;
    for (const b of decide.querySelectorAll('button')) b.disabled = true;
    try {
      await api(`/api/candidates/${encodeURIComponent(c.id)}/${path}`, {method: 'POST', body});
      say(msg, done, 'ok');
      drop(c.id);
      // the episode's other sightings were decided with it (issue 15): the queue is refetched
      if (c.episode_id && !c.seen_again) load();
    } catch (err) {
      say(msg, `Not saved: ${err.message}`, 'error');
      if (err.status === 409 || err.status === 404) drop(c.id);  // decided elsewhere
    } finally {
      busy = false;
      picking = false;
      render();
    }
  }
  const confirm = () => decideOn('confirm', undefined, 'Confirmed: officers are alerted.');
  const reject = (reason) => decideOn('reject', {reason}, 'Rejected: nothing was sent to officers.');

  function drop(id) {
    const i = queue.findIndex((c) => c.id === id);
    if (i < 0) return;
    queue.splice(i, 1);
    if (selected > i || selected >= queue.length) selected = Math.max(0, selected - 1);
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.('input, textarea, select')) return;
    const key = event.key.toLowerCase();
    if (key === 'j' || key === 'k') {
      if (!queue.length) return;
      selected = Math.min(queue.length - 1, Math.max(0, selected + (key === 'j' ? 1 : -1)));
      picking = false;
      render();
    } else if (key === 'c' && !picking) confirm();
    else if (key === 'r') { picking = !picking; renderDecision(); }
    else if (picking && key >= '1' && key <= String(REJECT_REASONS.length)) reject(REJECT_REASONS[Number(key) - 1][0]);
    else if (key === 'escape' && picking) { picking = false; renderDecision(); }
    else return;
    event.preventDefault();
  }
  document.addEventListener('keydown', onKey);

  async function load() {
    try {
      const {live, deployment: followedNow} = await followed();
      choice.update(live, followedNow);
      if (followedNow?.id !== deployment?.id) { queue = []; selected = 0; receiptsShown = ''; }
      deployment = followedNow;
      if (!deployment) {
        where.textContent = 'No deployment is live.';
        queue = [];
        render();
        return;
      }
      where.textContent = `${deployment.name} — ${deployment.location}`;
      const q = encodeURIComponent(deployment.id);
      const keep = current()?.id;
      queue = collapse(await api(`/api/candidates?deployment_id=${q}`));
      selected = Math.max(0, queue.findIndex((c) => c.id === keep));
      render();
      const events = await api(`/api/deployments/${q}/test-events`);
      put(tests, ...events.reverse().map(testRow));
      if (!events.length) put(tests, h('li', {text: 'No test events yet.'}));
    } catch (err) {
      where.textContent = `Could not load the queue: ${err.message}`;
    }
  }

  /** One queue item per undecided episode (its first waiting sighting stands for it: deciding
   * it decides them all), each seen-again sighting of a confirmed one on its own (issue 15). */
  function collapse(candidates) {
    const out = [];
    for (const c of candidates) {
      const same = !c.seen_again && c.episode_id
        && out.find((x) => !x.seen_again && x.episode_id === c.episode_id);
      if (same) same.waiting = (same.waiting || 1) + 1; else out.push(c);
    }
    return out;
  }

  /** Every sighting of the shown candidate's episode: camera, time, crop. */
  async function fillSightings(c, el) {
    if (!c.episode_id || !deployment) return;
    let ep;
    try {
      ep = await api(`/api/deployments/${encodeURIComponent(deployment.id)}/episodes/${encodeURIComponent(c.episode_id)}`);
    } catch { return; }
    if (current()?.id !== c.id) return;
    if (ep.sightings.length < 2) { el.replaceChildren(); return; }  // the faces above say it all
    put(el, h('h3', {id: 'sightings-h', text: `Episode: ${ep.sightings.length} sighting${ep.sightings.length === 1 ? '' : 's'}`
        + (ep.state === 'confirmed' ? ' (officers alerted)' : '')}),
      h('ol', {class: 'sightings', 'aria-labelledby': 'sightings-h'}, ...ep.sightings.map((x) =>
        h('li', {dataset: {id: x.id, state: x.state}},
          shot(x.images.face, `Face seen by camera ${x.camera_id} at ${clock(x.captured_at)}`),
          h('span', {text: `camera ${x.camera_id} · ${clock(x.captured_at)} · ${x.state}`})))));
  }

  const testRow = (t) => h('li', {class: 'ok', dataset: {id: t.alert_id || t.id}},
    `${clock(t.captured_at)} · camera ${t.camera_id} · score ${Number(t.score).toFixed(3)} · blue-list volunteer detected`);

  // another live deployment's events: not this console's (its picker shows it)
  const elsewhere = (data) => deployment && data.deployment_id
    && data.deployment_id !== deployment.id && choice.has(data.deployment_id);

  async function candidate(data) {
    if (elsewhere(data)) return;
    if (!deployment || data.deployment_id !== deployment.id) { await load(); return; }
    if (queue.some((c) => c.id === data.alert_id)) return;
    let c;
    try { c = await api(`/api/alerts/${encodeURIComponent(data.alert_id)}`); } catch { return; }
    if (c.state !== 'candidate' || queue.some((x) => x.id === c.id)) return;
    const same = !c.seen_again && c.episode_id
      && queue.find((x) => !x.seen_again && x.episode_id === c.episode_id);
    if (same) {  // the same person again: one more sighting of the episode already queued
      same.waiting = (same.waiting || 1) + 1;
      if (current() === same) renderDecision(); else renderQueue();
      return;
    }
    queue.push(c);  // appended: the one on screen stays where it is
    if (queue.length === 1) render(); else renderQueue();
    sound();
  }

  function decision(data) {
    const decided = queue.find((c) => c.id === data.alert_id);
    if (!decided) return;
    if (decided.episode_id && !decided.seen_again) { load(); return; }  // decided with its episode
    const shown = current()?.id;
    drop(data.alert_id);
    if (current()?.id === shown) renderQueue(); else render();
  }

  function test(data) {
    if (elsewhere(data)) return;
    if (tests.querySelector(`[data-id="${CSS.escape(data.alert_id)}"]`)) return;
    if (!tests.querySelector('[data-id]')) tests.replaceChildren();
    tests.prepend(testRow(data));
  }

  /** Per confirmed alert, per officer's device: delivered (by which path), opened, responding. */
  let receiptsTimer = 0;
  let receiptsShown = '';
  async function receipts() {
    clearTimeout(receiptsTimer);
    if (deployment) {
      try {
        const q = encodeURIComponent(deployment.id);
        const [alerts, views] = await Promise.all([
          api(`/api/alerts?deployment_id=${q}&state=confirmed`), receiptsOf(deployment.id)]);
        alerts.sort((a, b) => b.captured_at.localeCompare(a.captured_at));
        const stamp = (iso, extra = '') => (iso ? `${clock(iso)}${extra}` : '—');
        const rows = alerts.flatMap((a) => {
          const devices = views.get(a.id)?.devices || [];
          const what = `Camera ${a.camera_id} · ${clock(a.captured_at)}`;
          if (!devices.length) {
            return [h('tr', {dataset: {alert: a.id}}, h('td', {text: what}),
              h('td', {colspan: '4', text: 'No officer device takes this deployment'}))];
          }
          return devices.map((d) => h('tr', {dataset: {alert: a.id, device: d.device_id}},
            h('td', {text: what}), h('td', {text: `${d.user} (${d.label || d.device_id})`}),
            h('td', {class: 'delivered', text: stamp(d.delivered_at, d.path ? ` via ${PATHS[d.path]}` : '')}),
            h('td', {class: 'opened', text: stamp(d.opened_at)}),
            h('td', {class: 'responding', text: stamp(d.responding_at)})));
        });
        if (!rows.length) rows.push(h('tr', {}, h('td', {colspan: '5', text: 'No confirmed alerts yet.'})));
        // redrawn only when something changed (the operator may be reading it)
        const shown = rows.map((r) => r.textContent + (r.dataset.device || '')).join('|');
        if (shown !== receiptsShown) { receiptsShown = shown; put(receiptsBody, ...rows); }
      } catch { /* offline: the next round */ }
    }
    if (receiptsBody.isConnected) receiptsTimer = setTimeout(receipts, RECEIPTS_MS);
  }

  render();
  load().then(receipts);
  const offPick = onPick(() => { load().then(receipts); });
  const close = openFeed({candidate, decision, test, resync: load, open: load}, ctx.setStatus,
                         ctx.stillLoggedIn);
  return () => {
    close(); stopHealth(); clearTimeout(receiptsTimer); offPick();
    document.removeEventListener('keydown', onKey);
  };
}
