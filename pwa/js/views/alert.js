// One alert (R6, R7): upper torso, camera face and watch-list photo side by side, the facts,
// and for officers the outcome buttons. Officers only ever reach confirmed alerts (R5: the
// API answers 404 otherwise). The commander may place or release a legal hold (R14).

import {api} from '../api.js';
import {h, put, shot, categoryBadge, clock, when, OUTCOMES, outcomeLabel, message, say} from '../dom.js';
import {receipt, receiptsOf, takenText} from '../receipts.js';

// How often an officer's open alert asks who is responding.
const TAKEN_MS = 3000;

export function renderAlert(main, [id], ctx) {
  const role = ctx.me.role;
  const back = role === 'officer' ? '#/alerts' : role === 'operator' ? '#/console' : '#/deployments';
  const body = h('div', {}, h('p', {text: 'Loading the alert…'}));
  main.append(h('p', {class: 'back'}, h('a', {href: back, class: 'button', text: '← Back'})), body);

  let timer = 0;
  async function load() {
    let alert;
    try {
      alert = await api(`/api/alerts/${encodeURIComponent(id)}`);
    } catch (err) {
      put(body, h('section', {class: 'panel'}, h('h1', {text: 'Alert not available'}),
        h('p', {text: err.status === 404 ? 'This alert does not exist or has not been confirmed.'
                                        : err.message})));
      return;
    }
    const facts = [
      ['Category', categoryBadge(alert.category)],
      ['Camera', alert.camera_id],
      ['Seen at', `${clock(alert.captured_at)} (${when(alert.captured_at)})`],
      ['Confirmed at', alert.decided_at ? clock(alert.decided_at) : '—'],
      ['Outcome', alert.outcome ? outcomeLabel(alert.outcome) : 'Not recorded yet'],
    ];
    if (role !== 'officer') {
      facts.push(['State', alert.state], ['Score', alert.score.toFixed(3)],
                 ['Decided by', alert.decided_by || '—'], ['Legal hold', alert.hold ? 'Yes' : 'No']);
    }
    put(body,
      h('h1', {id: 'alert-h'}, 'Alert ', categoryBadge(alert.category),
        h('span', {class: 'sub', text: ` camera ${alert.camera_id} · ${clock(alert.captured_at)}`})),
      h('div', {class: 'shots'},
        shot(alert.images.torso, `Upper-torso image from camera ${alert.camera_id}`, 'Upper torso (clothing)'),
        shot(alert.images.face, `Face seen by camera ${alert.camera_id}`, 'Face from the camera'),
        shot(alert.images.watchlist, 'Watch-list photo', 'Watch-list photo')),
      role === 'officer' ? responding(alert) : null,
      role === 'officer' ? outcomes(alert) : null,
      h('dl', {class: 'facts panel'}, ...facts.flatMap(([k, v]) => [h('dt', {text: k}), h('dd', {}, v)])),
      role === 'commander' ? hold(alert) : null);
  }

  /** "Responding": the other officers see the alert is taken; who is, updated live. */
  function responding(alert) {
    if (ctx.me.device_id) receipt(alert.id, 'opened').catch(() => {});
    const msg = message();
    const takenLine = h('p', {id: 'taken', class: 'taken', 'aria-live': 'polite',
                              text: 'No one is responding yet.'});
    const button = h('button', {type: 'button', class: 'primary', id: 'responding',
      text: 'Responding', 'aria-pressed': 'false',
      onclick: async () => {
        say(msg, 'Telling the others…');
        try {
          await receipt(alert.id, 'responding');
          button.setAttribute('aria-pressed', 'true');
          say(msg, 'The others see you are responding.', 'ok');
          await refresh();
        } catch (err) { say(msg, `Not sent: ${err.message}`, 'error'); }
      }});
    if (!ctx.me.device_id) {
      button.disabled = true;
      say(msg, 'Only an enrolled device can say it is responding.');
    }
    const refresh = async () => {
      try {
        const view = (await receiptsOf(alert.deployment_id, alert.id)).get(alert.id);
        takenLine.textContent = takenText(view) || 'No one is responding yet.';
        if (view?.responding.includes(ctx.me.user)) button.setAttribute('aria-pressed', 'true');
      } catch { /* offline: the next poll */ }
    };
    const poll = async () => {
      await refresh();
      if (takenLine.isConnected) timer = setTimeout(poll, TAKEN_MS);
    };
    timer = setTimeout(poll, 0);
    return h('section', {class: 'panel', 'aria-labelledby': 'respond-h'},
      h('h2', {id: 'respond-h', text: 'Who is responding'}), takenLine,
      h('div', {class: 'row'}, button), msg);
  }

  function outcomes(alert) {
    const msg = message();
    const buttons = OUTCOMES.map(([code, label]) => h('button', {
      type: 'button', text: label, 'aria-pressed': String(alert.outcome === code),
      dataset: {outcome: code},
      onclick: async () => {
        say(msg, 'Saving…');
        try {
          const saved = await api(`/api/alerts/${encodeURIComponent(alert.id)}/outcome`,
                                  {method: 'POST', body: {outcome: code}});
          for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.outcome === saved.outcome));
          say(msg, `Outcome recorded: ${outcomeLabel(saved.outcome)}.`, 'ok');
        } catch (err) { say(msg, `Not saved: ${err.message}`, 'error'); }
      }}));
    return h('section', {class: 'panel', 'aria-labelledby': 'outcome-h'},
      h('h2', {id: 'outcome-h', text: 'Record the outcome'}),
      h('div', {class: 'outcomes', role: 'group', 'aria-labelledby': 'outcome-h'}, buttons), msg);
  }

  function hold(alert) {
    const msg = message();
    const reason = h('input', {id: 'hold-reason', maxlength: '100', placeholder: 'Case or complaint reference'});
    const act = async (path, payload) => {
      try {
        await api(`/api/alerts/${encodeURIComponent(alert.id)}/${path}`, {method: 'POST', body: payload});
        await load();
      } catch (err) { say(msg, err.message, 'error'); }
    };
    return h('section', {class: 'panel', 'aria-labelledby': 'hold-h'},
      h('h2', {id: 'hold-h', text: 'Legal hold (R14)'}),
      alert.hold
        ? h('button', {type: 'button', text: 'Release the hold', onclick: () => act('release')})
        : h('div', {}, h('label', {for: 'hold-reason', text: 'Reference (no names)'}), reason,
            h('div', {class: 'row'}, h('button', {type: 'button', text: 'Place on hold',
              onclick: () => act('hold', {reason: reason.value})}))),
      msg);
  }

  load();
  return () => clearTimeout(timer);
}
